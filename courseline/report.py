"""Rendering the report from the sealed outputs, with the templates in ``report_templates/``.

Everything shown comes from ``out/`` (timeline, manifest, conduct), the case file, the reviewer
annotations and the case's audit log of collection, so the report can be made again from them and
compared (``courseline verify`` does). Every value is escaped by Jinja2's autoescape, and a
Content-Security-Policy forbids fetches and any resource not in the file; the one script (the
chronology's pager and filter) is allowed by its hash.

Views, from the same data and templates:

* ``full``: every section, the chronology in full;
* ``spo``: the summary an application for a Stalking Protection Order needs (parties, orders,
  the pattern, possible breaches, the events a reviewer marked);
* either of them *redacted* (:mod:`courseline.redact`): identifiers of people who are not parties
  masked with consistent pseudonyms, the key to them written apart for the disclosure officer.

The HTML carries the chronology as data that its script shows a page at a time (a case of
100,000 events would otherwise be one enormous table); the PDF, made by WeasyPrint from the same
templates, has the whole chronology as an appendix.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from courseline import __version__
from courseline.annotations import TAGS, AnnotationLog
from courseline.casefile import Case
from courseline.pipeline import DB_FILE, OUTPUT_FILES
from courseline.redact import LIMITS as REDACTION_LIMITS, Redactor
from courseline.report_templates import charts
from courseline.timeline.analysis import analyse
from courseline.timeline.conduct import order_label
from courseline.timeline.db import CaseDB
from courseline.timeline.seal import PendingOutputs, read_timeline
from courseline.timeline.timeutil import civil_clock, format_utc

EXCERPT_CHARS = 2_000
MAX_LISTED = 200                   # rows of a list in a section; the rest are counted
SECTIONS = {
    "full": (("summary", "Summary"), ("pattern", "The pattern"),
             ("orders", "Orders and possible breaches"), ("persons", "Persons and identifiers"),
             ("times", "How times are shown"), ("places", "Places"),
             ("diary", "The victim's diary"),
             ("apps", "Installed apps and stalkerware indicators"),
             ("annotations", "Reviewer annotations"), ("chronology", "Chronology"),
             ("exhibits", "Exhibits and per-source accounting"),
             ("continuity", "Continuity statement (draft)"),
             ("method", "Method, version and known limitations")),
    "spo": (("summary", "Summary"), ("pattern", "The pattern"),
            ("orders", "Orders and possible breaches"), ("persons", "The parties"),
            ("keyevents", "Annotated events and possible breaches"),
            ("times", "How times are shown"),
            ("method", "Method, version and known limitations")),
}


@dataclass(frozen=True)
class View:
    """Which report: its sections, whether identifiers are masked, HTML or PDF."""

    name: str = "full"
    redacted: bool = False
    pdf: bool = False

    @property
    def stem(self) -> str:
        return "report" + ("" if self.name == "full" else f"-{self.name}") + \
            ("-redacted" if self.redacted else "")


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("courseline.report_templates", ""),
                      autoescape=select_autoescape(["html", "j2"], default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["script_json"] = script_json
    return env


def _asset(name: str) -> str:
    return resources.files("courseline.report_templates").joinpath(name).read_text("utf-8")


def _css(seal: str) -> str:
    """The style sheet, with the seal in every printed page's margin (it is hex: safe in CSS)."""
    return _asset("report.css") + (
        '@page { @bottom-center { content: "Seal (SHA-256 chain) %s \\B7  page " '
        'counter(page) " of " counter(pages); } }\n' % seal)


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def content_security_policy(css: str, script: str | None) -> str:
    scripts = f"script-src 'sha256-{_digest(script)}'; " if script else ""
    return (f"default-src 'none'; {scripts}style-src 'sha256-{_digest(css)}'; img-src data:; "
            f"base-uri 'none'; form-action 'none'")


def script_json(value: Any) -> Markup:
    """JSON safe inside a ``<script type="application/json">`` element: nothing in it can end the
    element or open a comment, whatever the messages say."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)


# -- what the templates are given -------------------------------------------------------------

class Labels:
    """How persons and times are written in one report."""

    def __init__(self, case: Case, redactor: Redactor):
        self.zone = case.info.timezone
        self.clock = civil_clock(self.zone)
        self.redactor = redactor
        self.names = {p.key: p for p in case.persons}

    def local(self, utc: str | None) -> str:
        return self.clock.local(utc)[0] if utc else "—"

    def person(self, key: str | None) -> str:
        if not key:
            return "—"
        person = self.names.get(key)
        if person is None:
            return self.redactor.person(key) or key
        return f"{self.redactor.person_name(key)} ({person.role})"

    def identifier(self, ident: str | None) -> str:
        return self.redactor.identifier(ident) or "—"

    def text(self, text: str | None) -> str:
        return self.redactor.text(text) or ""

    def path(self, path: str | None) -> str:
        return self.redactor.path(path) or ""


def _orders(case: Case, conduct: dict[str, Any], labels: "Labels") -> list[dict[str, Any]]:
    breaches: dict[str, int] = conduct["breach_counts"]
    found = []
    for index, order in enumerate(case.orders):
        label = order_label(order, index)
        found.append({
            "label": labels.text(label), "key": label, "kind": order.kind,
            "protects": order.protects, "against": order.against,
            "served_local": labels.local(format_utc(order.served, "s")),
            "expires_local": labels.local(format_utc(order.expires, "s")) if order.expires else None,
            "terms": [labels.text(term) for term in order.terms],
            "breach_count": breaches.get(label, 0)})
    return found


def _marks(annotations: Iterable[Any], labels: Labels) -> dict[str, list[dict[str, Any]]]:
    """Each annotated event's annotations, as the chronology shows them."""
    found: dict[str, list[dict[str, Any]]] = {}
    for a in annotations:
        found.setdefault(a.event_id, []).append({
            "seq": a.seq, "tags": list(a.tags), "note": labels.text(a.note),
            "by": labels.text(a.by), "time_utc": a.time_utc})
    return found


def chronology_row(row: dict[str, Any], labels: Labels,
                   marks: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One timeline row as the chronology shows it: the same dictionary feeds the HTML page's
    script and the PDF's table, so both show the same thing."""
    row = labels.redactor.row(row)
    when = row["occurred_utc"]
    if when:
        time_note = (f"as written: {_cut(row['time_raw'], 80)} ({row['time_basis']}"
                     f"{', ' + row['time_zone'] if row['time_zone'] else ''}; {row['time_source']})")
    else:
        time_note = ("the source gives this record no time: " + row["time_source"] +
                     (f" ({_cut(row['time_raw'], 80)})" if row["time_raw"] else ""))
    flags = list(row["flags"])
    if len(row["provenance"]) > 1:
        flags.append(f"merged ×{len(row['provenance'])}")
    recipients = [_who(ident, person) for ident, person in
                  zip(row["recipients"][:5], row["recipient_persons"][:5], strict=True)]
    if len(row["recipients"]) > 5:
        recipients.append(f"and {len(row['recipients']) - 5} more")
    call = None
    if row["kind"] == "call":
        call = "call " + (row["call_status"] or "(status not recorded)") + \
            (f", {row['duration_s']} s" if row["duration_s"] is not None else "")
    attachments = [f"attachment: {a.get('name') or '(no name)'} · {a.get('media_type')} · "
                   f"{a.get('size')} bytes · sha256 {a.get('sha256')}" for a in row["attachments"][:10]]
    if len(row["attachments"]) > 10:
        attachments.append(f"and {len(row['attachments']) - 10} more attachments "
                           f"(see timeline.jsonl)")
    what = row["kind"] if row["kind"] == row["platform"] else f"{row['kind']} · {row['platform']}"
    return {
        "seq": row["seq"], "id": row["event_id"],
        "when": labels.local(when) if when else None, "utc": when, "time_note": time_note,
        "time_flags": list(row["time_flags"]), "readings": list(row["time_readings"]),
        "uncorrected": row["time_uncorrected_utc"],
        "kind": row["kind"], "platform": row["platform"],
        "what": f"{what} · {row['direction']}", "flags": flags,
        "from": _who(row["sender"], row["sender_person"]), "to": recipients,
        "call": call, "subject": _cut(row["subject"], 200),
        "text": _cut(row["text"], EXCERPT_CHARS), "attachments": attachments,
        "notes": [_cut(note, 300) for note in row["notes"][:5]],
        "exhibits": [f"{p['exhibit']} · {p['path']} · {p['locator']}" for p in row["provenance"]],
        "exhibits_short": [f"{p['exhibit']} · {p['path'].rsplit('/', 1)[-1]} · {p['locator']}"
                           for p in row["provenance"]],
        "marks": [_mark_text(m, labels) for m in marks.get(row["event_id"], ())],
    }


def _who(ident: str | None, person: str | None) -> str:
    if not ident:
        return "—"
    return f"{ident} ({person})" if person else ident


def _mark_text(mark: dict[str, Any], labels: Labels) -> str:
    tags = ", ".join(mark["tags"]) or "(no tag)"
    note = f": {_cut(mark['note'], 300)}" if mark["note"] else ""
    return f"{tags}{note} (annotation {mark['seq']} by {mark['by']}, {labels.local(mark['time_utc'])})"


def _cut(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _collections(case: Case, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """From the audit log: when and from where each file now in the manifest was collected (its
    first collection with that hash), for the continuity statement."""
    wanted = {(s["path"], s["sha256"]) for s in sources}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    path = case.folder / DB_FILE
    if not path.exists():
        return []
    with CaseDB(path, read_only=True) as db:
        for _, text, _, _ in db.audit_rows():
            entry = json.loads(text)
            if entry["action"] != "collect":
                continue
            origin = entry["inputs"][0]["path"] if entry["inputs"] else None
            for output in entry["outputs"]:
                key = (output.get("path"), output.get("sha256"))
                if key in wanted and key not in found:
                    found[key] = {"time_utc": entry["time_utc"], "by": entry["examiner"],
                                  "from": origin}
    return [{**s, "collected": found.get((s["path"], s["sha256"]))} for s in sources]


def _output_hashes(out_dir: Path) -> list[dict[str, str]]:
    found = []
    for name in OUTPUT_FILES:
        path = out_dir / name
        if path.exists():
            found.append({"name": name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    return found


@dataclass
class ReportData:
    """Everything one case's reports show, read once and shared by every view."""

    case: Case
    out_dir: Path
    manifest: dict[str, Any]
    conduct: dict[str, Any]
    annotations: list[Any]
    analysis: dict[str, Any]
    sources: list[dict[str, Any]]          # the manifest's, each with when it was collected
    outputs: list[dict[str, str]]          # the build's outputs with their hashes

    @classmethod
    def read(cls, case: Case, out_dir: Path) -> "ReportData":
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        conduct = json.loads((out_dir / "conduct.json").read_text(encoding="utf-8"))
        annotations = AnnotationLog(case.folder).entries()
        analysis = analyse(read_timeline(out_dir / "timeline.jsonl"), zone=case.info.timezone,
                           persons=case.persons, annotations=annotations)
        return cls(case, out_dir, manifest, conduct, annotations, analysis,
                   _collections(case, manifest["sources"]), _output_hashes(out_dir))

    def rows(self) -> Iterator[dict[str, Any]]:
        return read_timeline(self.out_dir / "timeline.jsonl")

    def created_utc(self) -> str:
        """The PDF's date: when the last file in the manifest was collected, so that the same
        evidence gives the same bytes however often the report is made."""
        times = [s["collected"]["time_utc"] for s in self.sources if s["collected"]]
        return max(times) if times else "2000-01-01T00:00:00Z"


class ChronologyRows:
    """The chronology's rows as shown, read afresh from timeline.jsonl each time they are walked
    (a template may be rendered more than once from one context)."""

    def __init__(self, data: ReportData, labels: Labels):
        self.data, self.labels = data, labels
        self.marks = _marks(data.annotations, labels)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (chronology_row(row, self.labels, self.marks) for row in self.data.rows())


def _context(data: ReportData, view: View, redactor: Redactor) -> dict[str, Any]:
    case, manifest, conduct = data.case, data.manifest, data.conduct
    labels = Labels(case, redactor)
    sources = manifest["sources"]
    css = _css(manifest["seal"]["value"])
    script = None if view.pdf else _asset("report.js")
    pairs = {(p["from"], p["to"]): p for p in data.analysis["pairs"]}
    orders = _orders(case, conduct, labels)
    focus = [{**f, "pair": pairs.get((f["suspect"], f["victim"])),
              "reply": pairs.get((f["victim"], f["suspect"])),
              "orders": [o for o in orders
                         if o["against"] == f["suspect"] and o["protects"] == f["victim"]]}
             for f in data.analysis["focus"]]
    return {
        "view": view, "case": {"reference": case.info.reference, "examiner": case.info.examiner,
                               "timezone": case.info.timezone},
        "version": __version__, "css": Markup(css), "script": Markup(script) if script else None,
        "csp": content_security_policy(css, script), "seal": manifest["seal"],
        "counts": {"files": len(sources), "exhibits": len({s["exhibit"] for s in sources}),
                   "merged": sum(s["merged"] for s in sources),
                   "rejected": sum(s["rejected"] for s in sources)},
        "conduct": conduct, "analysis": data.analysis, "labels": labels, "r": redactor,
        "unknown": manifest["unknown_identifiers"], "persons": case.persons,
        "sections": SECTIONS[view.name] + ((("redaction", "Redaction"),) if view.redacted else ()),
        "breach_ids": frozenset(b["event_id"] for b in conduct["breaches"]),
        "orders": orders, "focus": focus, "missing_glyphs": None, "sources": data.sources,
        "refused": manifest["refused"], "outputs": data.outputs,
        "annotations": data.annotations, "tags": TAGS, "redaction_limits": REDACTION_LIMITS,
        "rows": ChronologyRows(data, labels), "charts": charts, "max_listed": MAX_LISTED,
    }


def render_html(data: ReportData, view: View, redactor: Redactor, handle: TextIO) -> None:
    """Write one view as HTML, streaming the chronology to the file."""
    stream = _environment().get_template("report.html.j2").generate(**_context(data, view, redactor))
    for chunk in stream:
        handle.write(chunk)


def render_report(case: Case, out_dir: Path, *, view: str = "full", redact: bool = False,
                  pdf: bool = False) -> list[Path]:
    """Write ``out_dir/report.html`` (or the view asked for), and its PDF when ``pdf``; return the
    files written. A redacted view also writes the key to its pseudonyms,
    ``out_dir/<view>.redaction-log.json``, which is for the disclosure officer and not to be disclosed."""
    data = ReportData.read(case, out_dir)
    outputs = PendingOutputs(out_dir)       # moved into place together, when all are written
    outputs.json("analysis.json", data.analysis)
    redactor = (Redactor(case.persons, region=case.info.region, rows=data.rows()) if redact
                else Redactor.none(case.persons))
    html_view = View(view, redact, pdf=False)
    render_html(data, html_view, redactor, outputs.open(f"{html_view.stem}.html"))
    if pdf:
        pdf_view = View(view, redact, pdf=True)
        render_pdf(data, pdf_view, redactor, outputs.reserve(f"{pdf_view.stem}.pdf"))
    if redact:
        outputs.json(f"{html_view.stem}.redaction-log.json", redactor.log())
    outputs.commit()
    return outputs.paths


def render_pdf(data: ReportData, view: View, redactor: Redactor, target: Path) -> None:
    """The PDF of a view: the same templates in print form, PDF/A-3b with the timeline (CSV) and
    the manifest attached. A character no installed font can draw would be an empty box (and is
    not allowed in PDF/A): it is written as its code point instead, and the report says so."""
    from courseline.pdf import describe_missing, mark_missing, missing_glyphs, write_pdf

    template = _environment().get_template("report.html.j2")
    context = _context(data, view, redactor)
    html = template.render(**context)
    try:
        missing = missing_glyphs(html)
    except FileNotFoundError:     # no fontconfig: WeasyPrint cannot lay out text either
        missing = {}
    if missing:
        html = template.render(**{**context, "missing_glyphs": describe_missing(missing)})
        html = mark_missing(html, missing)
    out_dir = data.out_dir
    # The unredacted timeline is not for disclosure: a redacted copy attaches nothing.
    attachments = [] if view.redacted else [out_dir / "timeline.csv", out_dir / "manifest.json"]
    write_pdf(html, target, attachments=attachments,
              title=f"Course-of-conduct report {data.case.info.reference}".strip(),
              created_utc=data.created_utc())
