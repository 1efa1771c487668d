// courseline report: the chronology's pager and filter. The rows come from the JSON data block
// written beside the table; cells are filled with textContent only, so nothing in a message can
// become markup. No request leaves the page (the Content-Security-Policy forbids it anyway).
(function () {
  "use strict";
  var PAGE = 100;
  var dataNode = document.getElementById("chronology-data");
  var body = document.getElementById("chronology-body");
  if (!dataNode || !body) { return; }
  var rows = JSON.parse(dataNode.textContent);
  var byId = Object.create(null);
  var haystacks = new Array(rows.length);
  rows.forEach(function (row, index) {
    byId[row.id] = index;
  });
  var shown = rows.map(function (_, index) { return index; });
  var page = 0;

  var text = document.getElementById("f-text");
  var kind = document.getElementById("f-kind");
  var platform = document.getElementById("f-platform");
  var flagged = document.getElementById("f-flagged");
  var marked = document.getElementById("f-marked");
  var count = document.getElementById("f-count");

  function haystack(index) {
    // Built when first searched: a case of 100,000 rows should not pay for it on opening.
    if (haystacks[index] === undefined) {
      var r = rows[index];
      haystacks[index] = [r.seq, r.id, r.when, r.utc, r.what, r.from, r.to.join(" "), r.call,
        r.subject, r.text, r.attachments.join(" "), r.notes.join(" "), r.exhibits.join(" "),
        r.marks.join(" "), r.flags.join(" "), r.time_flags.join(" ")].join("\n").toLowerCase();
    }
    return haystacks[index];
  }

  function fillOptions(select, key) {
    var seen = Object.create(null);
    rows.forEach(function (r) { seen[r[key]] = true; });
    Object.keys(seen).sort().forEach(function (value) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      select.appendChild(option);
    });
  }

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content !== undefined && content !== null) { node.textContent = String(content); }
    return node;
  }

  function flagsInto(cell, flags) {
    flags.forEach(function (flag) {
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(el("span", "flag", flag));
    });
  }

  function render(row) {
    var tr = document.createElement("tr");
    tr.id = "e-" + row.id;
    tr.appendChild(el("td", null, row.seq));

    var when = el("td");
    if (row.when) {
      when.appendChild(document.createTextNode(row.when));
      when.appendChild(document.createElement("br"));
      when.appendChild(el("span", "muted mono", row.utc));
    } else {
      when.appendChild(el("strong", null, "no time"));
    }
    when.appendChild(document.createElement("br"));
    when.appendChild(el("span", "muted", row.time_note));
    flagsInto(when, row.time_flags);
    if (row.readings.length) {
      when.appendChild(document.createElement("br"));
      when.appendChild(el("span", "note", "readings: " + row.readings.join(" or ")));
    }
    if (row.uncorrected) {
      when.appendChild(document.createElement("br"));
      when.appendChild(el("span", "note", "uncorrected: " + row.uncorrected));
    }
    tr.appendChild(when);

    var what = el("td", null, row.what);
    flagsInto(what, row.flags);
    tr.appendChild(what);

    var who = el("td", "mono", row.from);
    who.appendChild(document.createElement("br"));
    who.appendChild(document.createTextNode("→ " + row.to.join(", ")));
    tr.appendChild(who);

    var content = el("td");
    [row.call, row.subject].forEach(function (line) {
      if (line) {
        content.appendChild(el("strong", null, line));
        content.appendChild(document.createElement("br"));
      }
    });
    content.appendChild(el("div", "text", row.text));
    row.attachments.forEach(function (a) { content.appendChild(el("div", "muted", a)); });
    row.notes.forEach(function (n) { content.appendChild(el("div", "note", "note: " + n)); });
    row.marks.forEach(function (m) { content.appendChild(el("div", "mark", "reviewer: " + m)); });
    tr.appendChild(content);

    var exhibits = el("td");
    row.exhibits.forEach(function (p) { exhibits.appendChild(el("div", "mono", p)); });
    exhibits.appendChild(el("span", "hash muted", "id " + row.id.slice(0, 12)));
    tr.appendChild(exhibits);
    return tr;
  }

  function pagerInto(nav) {
    while (nav.firstChild) { nav.removeChild(nav.firstChild); }
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    function button(label, target, disabled) {
      var b = el("button", null, label);
      b.type = "button";
      b.disabled = disabled;
      b.addEventListener("click", function () { show(target); });
      nav.appendChild(b);
    }
    button("« first", 0, page === 0);
    button("‹ previous", page - 1, page === 0);
    nav.appendChild(el("span", null, " page " + (page + 1) + " of " + pages + " "));
    button("next ›", page + 1, page >= pages - 1);
    button("last »", pages - 1, page >= pages - 1);
  }

  function show(target) {
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    page = Math.min(Math.max(0, target), pages - 1);
    var fragment = document.createDocumentFragment();
    shown.slice(page * PAGE, (page + 1) * PAGE).forEach(function (index) {
      fragment.appendChild(render(rows[index]));
    });
    while (body.firstChild) { body.removeChild(body.firstChild); }
    body.appendChild(fragment);
    var first = shown.length ? page * PAGE + 1 : 0;
    var last = Math.min((page + 1) * PAGE, shown.length);
    count.textContent = "showing " + first + "–" + last + " of " + shown.length +
      " matching (" + rows.length + " in all)";
    pagerInto(document.getElementById("pager-top"));
    pagerInto(document.getElementById("pager-bottom"));
  }

  function filter() {
    var words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    var k = kind.value, p = platform.value, f = flagged.checked, m = marked.checked;
    shown = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (k && r.kind !== k) { continue; }
      if (p && r.platform !== p) { continue; }
      if (f && !(r.flags.length || r.time_flags.length)) { continue; }
      if (m && !r.marks.length) { continue; }
      if (words.length) {
        var hay = haystack(i);
        if (!words.every(function (w) { return hay.indexOf(w) !== -1; })) { continue; }
      }
      shown.push(i);
    }
    show(0);
  }

  function clearFilters() {
    text.value = ""; kind.value = ""; platform.value = "";
    flagged.checked = false; marked.checked = false;
  }

  function goToHash() {
    // Links elsewhere in the report point at #e-<event id>: open the page that holds it.
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (id.slice(0, 2) !== "e-" || !(id.slice(2) in byId)) { return; }
    var index = byId[id.slice(2)];
    var at = shown.indexOf(index);
    if (at === -1) { clearFilters(); filter(); at = shown.indexOf(index); }
    show(Math.floor(at / PAGE));
    var target = document.getElementById(id);
    if (target) {
      target.classList.add("target");
      target.scrollIntoView();
    }
  }

  fillOptions(kind, "kind");
  fillOptions(platform, "platform");
  var timer = null;
  text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(filter, 200);
  });
  [kind, platform, flagged, marked].forEach(function (input) {
    input.addEventListener("change", filter);
  });
  document.getElementById("chronology-filters").addEventListener("submit", function (event) {
    event.preventDefault();
    filter();
  });
  window.addEventListener("hashchange", goToHash);
  show(0);
  goToHash();
}());
