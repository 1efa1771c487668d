"""The whole pipeline as a user runs it, on generated cases."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html import unescape
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from courseline.casefile import load_case
from courseline.demo import NEW_ADDRESS, write_demo_case
from courseline.pipeline import CasePipeline
from courseline.timeline.records import NOT_HASHED
from tests_support import killed_pool, make_writable, read_jsonl, run_cli

# 15 e-mails (4 saved twice), Sam's phone (10 texts, 18 calls) and its backup (9 and 17 of them
# again), Jo's iPhone (5 messages, 3 calls), the chat exports (22 events), Sam's diary (3) and two
# pictures with no time of their own (undated media: the MMS picture and the WhatsApp photo),
# Sam's photo of the car (1) and the apps on her phone (4).
DEMO_EVENTS = 83


def test_demo_builds_a_sealed_timeline_with_merges_breaches_and_flags(built_demo):
    out = built_demo / "out"
    for name in ("timeline.jsonl", "timeline.csv", "manifest.json", "conduct.json", "report.html"):
        assert (out / name).is_file(), name
    rows = read_jsonl(out / "timeline.jsonl")
    manifest = json.loads((out / "manifest.json").read_text())
    conduct = json.loads((out / "conduct.json").read_text())
    assert len(rows) == DEMO_EVENTS == manifest["seal"]["events"]
    # 15 messages in the mbox; 4 of them also saved as .eml files, 4 in the laptop's
    # Thunderbird folders and 1 saved from Outlook as .msg: 7 merged across sources.
    mail = [r for r in rows if r["platform"] == "email"]
    assert len(mail) == 15
    assert sum(len(r["provenance"]) > 1 for r in mail) == 7
    exhibits = {r["subject"]: {p["exhibit"] for p in r["provenance"]} for r in mail}
    assert exhibits["Same hour twice"] == {"DEMO/1", "DEMO/2"}
    assert exhibits["Your car"] == {"DEMO/1", "DEMO/2", "DEMO/16"}
    assert exhibits["Piece of paper"] == {"DEMO/1", "DEMO/15"}
    # The message with no Date header falls back to the mbox From_ line, in the repeated hour.
    undated = next(r for r in rows if r["subject"] == "(sent without a date)")
    assert undated["time_basis"] == "assumed" and "ambiguous" in undated["time_flags"]
    assert len(undated["time_readings"]) == 2
    # 01:30 BST comes before 01:20 GMT on the night the clocks go back.
    order = [r["subject"] for r in rows]
    assert order.index("Clocks go back tonight") < order.index("Same hour twice")
    # Possible breaches: the suspect's known addresses writing to the victim after service.
    # Two e-mails, a text and a blocked call from the suspect's known identifiers after service,
    # and eight WhatsApp messages and calls from the name Sam's phone shows for him.
    assert conduct["breach_counts"] == {"SPO 0001/2024": 12}
    assert conduct["repeated_breaches"] == ["SPO 0001/2024"]
    assert {c["platform"] for c in conduct["possible_indirect_contact"]} == {
        "email", "phone", "signal", "facebook"}
    assert all(c["to"] == ["sister"] for c in conduct["possible_indirect_contact"])
    pair = next(p for p in conduct["pairs"] if (p["from"], p["to"]) == ("suspect", "victim"))
    assert pair["events"] == 26
    assert pair["by_platform"] == {"email": 8, "phone": 10, "whatsapp": 8}
    # The new address is not tied to anyone yet, and shows up.
    unknown = {u["identifier"]: u for u in manifest["unknown_identifiers"]}
    assert unknown[f"email:{NEW_ADDRESS}"]["events"] == 4
    # Direction comes from the owner's identifiers or the Gmail label.
    sent = next(r for r in rows if r["subject"] == "Please stop contacting me")
    assert sent["direction"] == "outgoing" and sent["sender_person"] == "victim"
    # Every file is listed, including one no parser reads and the archive itself.
    paths = {s["path"]: s for s in manifest["sources"]}
    assert paths["exports/takeout/archive_browser.html"]["parser"] is None
    assert paths["exports/saved-emails.zip"]["format"] == "archive"
    assert sum(1 for p in paths if p.startswith("exports/saved-emails.zip!")) == 4
    attachment = next(r for r in rows if r["subject"] == "Your car")["attachments"][0]
    assert attachment["media_type"] == "image/png" and attachment["name"] == "car.png"


def test_demo_whatsapp_chat_is_attributed_and_its_photo_hashed(built_demo):
    rows = [r for r in read_jsonl(built_demo / "out" / "timeline.jsonl")
            if r["platform"] == "whatsapp"]
    assert len(rows) == 10
    notice, *messages = rows
    assert notice["details"]["notice"] == "encryption notice" and notice["sender"] is None
    assert {(r["direction"], r["sender_person"]) for r in messages} == {
        ("incoming", "suspect"), ("outgoing", "victim")}
    photo = next(r for r in messages if r["attachments"])
    # Named .jpg by WhatsApp, a PNG by its content; hashed from the file beside the chat.
    assert photo["attachments"][0]["name"] == "IMG-20240920-WA0003.jpg"
    assert photo["attachments"][0]["media_type"] == "image/png"
    assert [r["call_status"] for r in messages if r["kind"] == "call"] == ["missed"] * 3
    assert [r["flags"] for r in messages if r["flags"]] == [["deleted"], ["edited"]]
    # The phone's wall clock, read in the source's zone: 23:11 BST is 22:11 UTC.
    assert messages[0]["occurred_utc"] == "2024-09-20T22:11:00Z"
    assert messages[0]["time_basis"] == "local" and messages[0]["precision"] == "min"
    # 01:30 on the night the clocks go back happened twice: both readings kept, flagged.
    twice = next(r for r in messages if r["text"].startswith("Clocks go back tonight"))
    assert twice["time_flags"] == ["ambiguous"]
    assert twice["time_readings"] == ["2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z"]


def test_demo_channel_hopping_shows_on_one_timeline(built_demo):
    """Blocked, Chris turns up on Instagram under a new account and on Telegram: each lands on
    the timeline, and the identities nothing ties to him yet are listed for a look."""
    out = built_demo / "out"
    rows = read_jsonl(out / "timeline.jsonl")
    manifest = json.loads((out / "manifest.json").read_text())
    request = next(r for r in rows if r["kind"] == "friend-request")
    assert (request["platform"], request["sender"], request["recipient_persons"]) == (
        "instagram", "instagram:chris.w.83", ["victim"])
    instagram = [r for r in rows if r["platform"] == "instagram" and r["kind"] == "message"]
    # Meta's mojibake repaired, and said.
    assert any("café" in r["text"] for r in instagram)
    assert any("mojibake" in note for r in instagram for note in r["notes"])
    telegram = [r for r in rows if r["platform"] == "telegram"]
    assert [r["kind"] for r in telegram] == ["message", "call", "message"]
    assert telegram[1]["call_status"] == "missed" and telegram[1]["recipient_persons"] == ["victim"]
    unknown = {u["identifier"] for u in manifest["unknown_identifiers"]}
    assert {"instagram:chris.w.83", "name:chris.w.83", "telegram:user5550001"} <= unknown
    messenger = [r for r in rows if r["platform"] == "facebook"]
    assert [(r["sender_person"], r["recipient_persons"]) for r in messenger] == [
        ("suspect", ["sister"]), ("suspect", ["sister"]), ("sister", ["suspect"])]
    signal = [r for r in rows if r["platform"] == "signal"]
    assert [(r["sender_person"], r["recipient_persons"]) for r in signal] == [
        ("suspect", ["sister"]), ("sister", ["suspect"])]


def test_demo_phones_are_attributed_merged_and_timed(built_demo):
    out = built_demo / "out"
    rows = read_jsonl(out / "timeline.jsonl")
    manifest = json.loads((out / "manifest.json").read_text())
    by_path = {s["path"].rsplit("/", 1)[-1]: s for s in manifest["sources"]}
    assert by_path["mmssms.db"]["parser"] == "android-mmssms" and by_path["mmssms.db"]["events"] == 10
    assert by_path["calllog.db"]["events"] == 18
    assert by_path["sms-20240930200000.xml"]["events"] == 9
    assert by_path["calls-20240930200000.xml"]["events"] == 17
    assert by_path["sms.db"]["parser"] == "ios-sms" and by_path["sms.db"]["events"] == 5
    assert by_path["CallHistory.storedata"]["events"] == 3
    assert all(s["rejected"] == 0 for s in manifest["sources"])
    # The phone's databases and its backup hold the same 26 records up to the backup: merged.
    both = [r for r in rows if {p["exhibit"] for p in r["provenance"]} == {"DEMO/4", "DEMO/5"}]
    assert len(both) == 26
    picture = next(r for r in rows if r["kind"] == "mms")
    assert len(picture["provenance"]) == 2 and picture["attachments"][0]["media_type"] == "image/png"
    # The device owner fills the side of each record the phone leaves out.
    first = next(r for r in rows if r["text"] == "Did you get my email?")
    assert first["sender_person"] == "suspect" and first["recipient_persons"] == ["victim"]
    assert first["owner_side"] == "recipients" and first["direction"] == "incoming"
    # Withheld calls and the suspect's new number are listed, unattributed.
    unknown = {u["identifier"]: u for u in manifest["unknown_identifiers"]}
    assert unknown["tel:Withheld"]["events"] == 10
    assert unknown["tel:+447700900789"]["events"] == 5
    assert unknown["tel:+447700900789"]["first_utc"] == "2024-09-20T21:14:30.000Z"
    # A burst: twelve calls in an hour on the night of 27 August.
    night = [r for r in rows if r["kind"] == "call" and r["occurred_utc"].startswith("2024-08-27T0")]
    assert len(night) == 12
    # Jo's iPhone: nanosecond dates, text kept only in attributedBody, an edit and an unsend.
    edited = next(r for r in rows if "edited" in r["flags"])
    assert edited["text"] == "She'll see." and "She'll regret it." in json.dumps(edited["details"])
    assert any("unsent" in r["flags"] for r in rows)
    assert any("nanoseconds" in note for note in by_path["sms.db"]["parser_notes"])
    facetime = next(r for r in rows if r["sender"] == "email:chris.walker@example.net"
                    and r["kind"] == "call")
    assert facetime["call_status"] == "missed" and facetime["recipient_persons"] == ["sister"]


def test_report_is_self_contained_and_escapes_content(built_demo):
    html = (built_demo / "out" / "report.html").read_text()
    # Nothing to fetch: the one address left is the SVG namespace, a name that is never fetched.
    bare = html.replace("<!DOCTYPE html>", "").replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"(?i)(https?:)?//[a-z0-9]", bare)
    # One script, the chronology's pager, allowed by its hash (test_report.py checks it); the
    # messages travel as JSON data in which no "<" is left to open an element.
    assert html.lower().count("<script") == 2 and '<script type="application/json"' in html
    data = html.split('id="chronology-data">')[1].split("</script>")[0]
    assert "<" not in data and "\\u003cscript\\u003ealert(" in data
    assert "default-src 'none'" in unescape(html)
    assert 'style="' not in html  # inline style attributes would be blocked by the policy
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in unescape(html)  # the browser will apply the sheet
    assert "&#34;" not in style and "&quot;" not in style
    seal = json.loads((built_demo / "out" / "manifest.json").read_text())["seal"]["value"]
    assert html.count(seal) >= 2  # the running footer on every printed page, and the page string


def test_rebuilding_in_another_folder_is_byte_identical(built_demo, tmp_path):
    other = tmp_path / "again"
    write_demo_case(other)
    assert run_cli("build", other).exit_code == 0
    for name in ("timeline.jsonl", "manifest.json", "conduct.json", "timeline.csv"):
        assert (other / "out" / name).read_bytes() == (built_demo / "out" / name).read_bytes(), name


def test_sources_added_in_another_order_give_the_same_outputs(built_demo, tmp_path):
    other = tmp_path / "reordered"
    write_demo_case(other)
    text = (other / "case.toml").read_text()
    head, _, sources = text.partition("[[source]]")
    blocks = ["[[source]]" + b for b in sources.split("[[source]]")]
    (other / "case.toml").write_text(head + "".join(reversed(blocks)))
    # Collect them one at a time, in the reversed order, as separate `add`-like steps.
    case = load_case(other)
    with CasePipeline(case) as pipeline:
        for entry in case.sources:
            pipeline.collect_entry(entry)
        pipeline.build()
    for name in ("timeline.jsonl", "manifest.json", "conduct.json"):
        assert (other / "out" / name).read_bytes() == (built_demo / "out" / name).read_bytes(), name


def test_verify_passes_on_an_untouched_case(demo_copy):
    result = run_cli("verify", demo_copy)
    assert result.exit_code == 0, result.output
    assert "byte-identical" in result.output and "Verified" in result.output


def test_verify_fails_after_one_byte_of_evidence_changes(demo_copy):
    manifest = json.loads((demo_copy / "out" / "manifest.json").read_text())
    sha = next(s["sha256"] for s in manifest["sources"] if s["parser"] == "mbox")
    stored = demo_copy / "evidence" / sha[:2] / sha
    make_writable(stored)
    data = bytearray(stored.read_bytes())
    data[200] ^= 0x01
    stored.write_bytes(bytes(data))
    result = run_cli("verify", demo_copy)
    assert result.exit_code == 1
    assert "no longer matches the sha256 recorded" in result.output
    assert "All mail Including Spam and Trash.mbox" in result.output


def test_a_changed_copy_is_found_when_a_new_export_holds_the_same_file(demo_copy, tmp_path):
    """The same file in a new export finds its copy already in the store: that copy is not
    taken on trust because this build collected the file again."""
    mbox = demo_copy / "exports/takeout/Mail/All mail Including Spam and Trash.mbox"
    again = tmp_path / "second-takeout" / mbox.name
    again.parent.mkdir()
    again.write_bytes(mbox.read_bytes())
    sha = hashlib.sha256(again.read_bytes()).hexdigest()
    stored = demo_copy / "evidence" / sha[:2] / sha
    make_writable(stored)
    data = bytearray(stored.read_bytes())
    data[200] ^= 0x01
    stored.write_bytes(bytes(data))
    with (demo_copy / "case.toml").open("a") as handle:
        handle.write(f'\n[[source]]\npath = "{again.parent}"\nowner = "victim"\n')
    result = run_cli("build", demo_copy)
    assert result.exit_code != 0
    assert "no longer matches the sha256 recorded" in result.output


def test_verify_fails_after_one_event_row_changes(demo_copy):
    with sqlite3.connect(demo_copy / "case.sqlite") as db:
        db.execute("UPDATE events SET record = replace(record, 'Answer me Sam', 'Answer me Tom') "
                   "WHERE record LIKE '%Answer me Sam%'")
    result = run_cli("verify", demo_copy)
    assert result.exit_code == 1
    assert "the stored event" in result.output and "was changed" in result.output


def test_verify_fails_after_one_timeline_line_changes(demo_copy):
    path = demo_copy / "out" / "timeline.jsonl"
    path.write_text(path.read_text().replace("I drove past at 2", "I drove past at 3"))
    result = run_cli("verify", demo_copy)
    assert result.exit_code == 1
    assert "does not match its chain value" in result.output


def test_verify_fails_after_one_audit_entry_changes(demo_copy):
    with sqlite3.connect(demo_copy / "case.sqlite") as db:
        db.execute("UPDATE audit SET entry = replace(entry, 'DC 0000 Demo Examiner', 'Someone else') "
                   "WHERE seq = 2")
    result = run_cli("verify", demo_copy)
    assert result.exit_code == 1
    assert "audit entry 2 was changed" in result.output


def test_report_refuses_when_evidence_no_longer_matches(demo_copy):
    manifest = json.loads((demo_copy / "out" / "manifest.json").read_text())
    sha = next(s["sha256"] for s in manifest["sources"] if s["parser"] == "eml")
    stored = demo_copy / "evidence" / sha[:2] / sha
    make_writable(stored)
    stored.write_bytes(stored.read_bytes() + b"x")
    before = (demo_copy / "out" / "timeline.jsonl").read_bytes()
    result = run_cli("report", demo_copy)
    assert result.exit_code == 1
    assert "no longer matches" in result.output and "no report was made" in result.output
    assert "DEMO/2" in result.output  # the exhibit is named
    assert (demo_copy / "out" / "timeline.jsonl").read_bytes() == before


def test_build_refuses_to_parse_an_evidence_copy_that_changed(demo_copy):
    manifest = json.loads((demo_copy / "out" / "manifest.json").read_text())
    sha = next(s["sha256"] for s in manifest["sources"] if s["parser"] == "mbox")
    stored = demo_copy / "evidence" / sha[:2] / sha
    make_writable(stored)
    stored.write_bytes(stored.read_bytes().replace(b"Answer me Sam", b"IGNORING Sam"))
    result = run_cli("build", demo_copy)
    assert result.exit_code == 1 and "nothing was built" in result.output
    toml = demo_copy / "case.toml"  # a new zone makes the mbox be parsed again: still refused
    toml.write_text(toml.read_text().replace('exhibit = "DEMO/1"', 'exhibit = "DEMO/1"\ntimezone = "UTC"'))
    result = run_cli("build", demo_copy)
    assert result.exit_code == 1 and "nothing was built" in result.output
    assert b"IGNORING" not in (demo_copy / "out" / "timeline.jsonl").read_bytes()


@pytest.mark.parametrize("name, old, new", [
    ("conduct.json", '"SPO 0001/2024": 12', '"SPO 0001/2024": 0'),
    ("timeline.csv", "I drove past at 2", "I drove past at 3"),
    ("report.html", "I drove past at 2", "I drove past at 3"),
    ("manifest.json", '"rejected": 0', '"rejected": 1'),
])
def test_verify_fails_when_any_output_is_edited(demo_copy, name, old, new):
    path = demo_copy / "out" / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    result = run_cli("verify", demo_copy)
    assert result.exit_code == 1
    assert f"out/{name} differs from a fresh re-parse" in result.output


def test_verify_fails_when_a_stored_event_is_rewritten_with_a_matching_id(demo_copy):
    with sqlite3.connect(demo_copy / "case.sqlite") as db:
        row_id, record = db.execute("SELECT id, record FROM events WHERE record LIKE '%I drove past at 2%'").fetchone()
        forged = record.replace("I drove past at 2", "I drove past at 3")
        db.execute("UPDATE events SET record = ?, event_id = ? WHERE id = ?",
                   (forged, hashlib.sha256(forged.encode()).hexdigest(), row_id))
    result = run_cli("verify", demo_copy)
    assert result.exit_code == 1
    assert "case.sqlite holds events of exports/takeout/Mail/All mail Including Spam and Trash.mbox " \
        "that a fresh parse does not give (the same number, 15," in result.output


def test_the_verifying_document_script_checks_a_case(demo_copy, tmp_path):
    document = (Path(__file__).resolve().parents[2] / "courseline" / "docs" / "VERIFYING.md").read_text()
    script = re.search(r"<!-- verify-script-start -->\n```python\n(.*?)```", document, re.S).group(1)
    path = tmp_path / "check_case.py"
    path.write_text(script)
    passing = subprocess.run([sys.executable, "-I", str(path), str(demo_copy)],
                             capture_output=True, text=True)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "ALL CHECKS PASSED" in passing.stdout
    notes = demo_copy / "annotations.jsonl"
    demo_marks = len(notes.read_text().splitlines())      # the demo's reviewer marked some
    assert f"annotations checked: {demo_marks}" in passing.stdout
    first_event = json.loads((demo_copy / "out" / "timeline.jsonl").open().readline())["event_id"]
    for tag in ("contacting", "threat"):
        assert run_cli("annotate", demo_copy, first_event, "--tag", tag, "--by", "DC 1").exit_code == 0
    annotated = subprocess.run([sys.executable, "-I", str(path), str(demo_copy)],
                               capture_output=True, text=True)
    assert annotated.returncode == 0
    assert f"annotations checked: {demo_marks + 2}" in annotated.stdout
    *earlier, last = notes.read_text().splitlines(keepends=True)
    notes.write_text("".join(earlier) + last.replace('"threat"', '"blocked"'))
    tampered = subprocess.run([sys.executable, "-I", str(path), str(demo_copy)],
                              capture_output=True, text=True)
    assert tampered.returncode == 1
    assert f"annotations.jsonl line {demo_marks + 2}" in tampered.stdout
    timeline = demo_copy / "out" / "timeline.jsonl"
    timeline.write_text(timeline.read_text().replace("Piece of paper", "Piece of cake"))
    failing = subprocess.run([sys.executable, "-I", str(path), str(demo_copy)],
                             capture_output=True, text=True)
    assert failing.returncode == 1 and "event_id does not match" in failing.stdout


def test_the_verifying_document_names_the_fields_the_code_leaves_out_of_event_ids():
    document = (Path(__file__).resolve().parents[2] / "courseline" / "docs" / "VERIFYING.md").read_text()
    listed = re.search(r"NOT_HASHED = (\(.*?\))", document).group(1)
    assert eval(listed) == NOT_HASHED  # a literal tuple of strings, from our own document


def test_run_makes_a_case_from_exports_in_one_command(tmp_path):
    exports = write_demo_case(tmp_path / "src") / "exports"
    case = tmp_path / "new-case"
    result = run_cli("run", exports / "takeout", exports / "saved-emails.zip", "--case", case,
                     "--victim", "email:sam.taylor@example.org",
                     "--suspect", "email:chris.walker@example.net")
    assert result.exit_code == 0, result.output
    assert (case / "out" / "report.html").is_file()
    manifest = json.loads((case / "out" / "manifest.json").read_text())
    assert manifest["seal"]["events"] == 15
    # Sources outside the case folder show by name, never by a machine-specific path.
    assert all(not s["path"].startswith("/") for s in manifest["sources"])
    assert {s["exhibit"] for s in manifest["sources"]} == {"EXH/1", "EXH/2"}


def test_init_add_build_step_by_step(tmp_path):
    exports = write_demo_case(tmp_path / "src") / "exports"
    case = tmp_path / "case"
    assert run_cli("init", case, "--reference", "OP-9/24", "--exhibit-prefix", "AO").exit_code == 0
    with (case / "case.toml").open("a") as handle:
        handle.write('\n[[person]]\nkey = "victim"\nrole = "victim"\n'
                     'identifiers = ["email:sam.taylor@example.org"]\n')
    added = run_cli("add", case, exports / "saved-emails.zip", "--owner", "victim")
    assert added.exit_code == 0, added.output
    assert "AO/1" in added.output
    bad_owner = run_cli("add", case, exports / "takeout", "--owner", "nobody")
    assert bad_owner.exit_code == 1 and "not a person" in bad_owner.output
    built = run_cli("build", case)
    assert built.exit_code == 0, built.output
    assert "Timeline sealed: 4 events" in built.output
    again = run_cli("init", case)
    assert again.exit_code == 1 and "already exists" in again.output


def test_a_bad_case_file_is_reported_with_its_line(tmp_path):
    (tmp_path / "case.toml").write_text('[case]\nreference = "x"\ncolour = "blue"\n')
    result = run_cli("build", tmp_path)
    assert result.exit_code == 1
    assert "line 3" in result.output and "unknown key 'colour'" in result.output


def test_hostile_archive_is_refused_and_nothing_is_written_outside(tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    with zipfile.ZipFile(exports / "evil.zip", "w") as archive:
        archive.writestr("../../escaped.txt", b"outside")
        archive.writestr("/etc/evil.txt", b"absolute")
        archive.writestr("fine.txt", b"inside")
    case = tmp_path / "case"
    before = sorted(p for p in tmp_path.rglob("*"))
    result = run_cli("run", exports / "evil.zip", "--case", case,
                     "--victim", "email:a@example.org")
    assert result.exit_code == 3, result.output
    assert "path traversal" in result.output or "escape" in result.output
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
    new = [p for p in tmp_path.rglob("*") if p not in before]
    assert all(case in p.parents or p == case for p in new)
    manifest = json.loads((case / "out" / "manifest.json").read_text())
    assert len(manifest["refused"]) == 2
    assert any(s["path"].endswith("evil.zip!fine.txt") for s in manifest["sources"])


def test_interrupted_parse_leaves_no_half_source_and_the_next_build_carries_on(tmp_path, monkeypatch):
    folder = write_demo_case(tmp_path / "case")
    from courseline.parsers import mbox

    original = mbox.MboxParser.parse

    def interrupted(self, source):
        for number, item in enumerate(original(self, source)):
            if number == 5:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(mbox.MboxParser, "parse", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with CasePipeline(load_case(folder)) as pipeline:
            pipeline.build()
    with sqlite3.connect(folder / "case.sqlite") as db:
        counts = db.execute("SELECT s.parser, s.parse_key IS NULL, COUNT(e.id) FROM sources s "
                            "LEFT JOIN events e ON e.source_id = s.id WHERE s.parser = 'mbox' "
                            "GROUP BY s.id").fetchall()
    assert counts == [("mbox", 1, 0)]
    monkeypatch.setattr(mbox.MboxParser, "parse", original)
    assert run_cli("build", folder).exit_code == 0
    assert len(read_jsonl(folder / "out" / "timeline.jsonl")) == DEMO_EVENTS


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run([sys.executable, "-m", "courseline", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and "courseline demo" in result.stdout


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_verify_writes_nothing_into_the_case(demo_copy):
    before = _snapshot(demo_copy)
    assert run_cli("verify", demo_copy).exit_code == 0
    assert _snapshot(demo_copy) == before


def test_verify_reports_a_source_not_yet_collected_and_collects_nothing(demo_copy, tmp_path):
    extra = tmp_path / "later.eml"
    extra.write_bytes(b"From: x@example.net\nTo: sam.taylor@example.org\n"
                      b"Date: Mon, 02 Dec 2024 10:00:00 +0000\n\nagain\n")
    with (demo_copy / "case.toml").open("a") as handle:
        handle.write(f'\n[[source]]\npath = "{extra}"\nowner = "victim"\n')
    evidence_before = sorted((demo_copy / "evidence").rglob("*"))
    result = run_cli("verify", demo_copy)
    assert result.exit_code == 1
    assert "not yet collected" in result.output and "run `courseline build`" in result.output
    assert sorted((demo_copy / "evidence").rglob("*")) == evidence_before


def test_verify_explains_a_report_made_before_the_last_build(demo_copy):
    toml = demo_copy / "case.toml"
    toml.write_text(toml.read_text().replace('name = "Jo Taylor"', 'name = "Joanna Taylor"')
                    .replace('"email:jo.taylor@example.org"', '"email:jo.taylor@example.org", '
                                                              '"email:just.talk.to.me@example.net"'))
    assert run_cli("build", demo_copy).exit_code == 0
    result = run_cli("verify", demo_copy)
    assert result.exit_code == 1
    assert "report.html was made from another build" in result.output
    assert "run `courseline report`" in result.output


@pytest.mark.parametrize("workers", [2, 5])
def test_worker_processes_give_the_same_bytes_as_one_process(built_demo, tmp_path, monkeypatch,
                                                             workers):
    """Sources read by several processes, and the timeline written in stretches by several
    (cut between merged events and the events they absorbed), give the bytes of one process."""
    import courseline.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pipeline_module, "PARALLEL_SEAL_MIN_EVENTS", 0)
    folder = write_demo_case(tmp_path / "case")
    with CasePipeline(load_case(folder), workers=workers) as pipeline:
        result = pipeline.build()
    assert result.events == DEMO_EVENTS
    for name in ("timeline.jsonl", "timeline.csv", "manifest.json", "conduct.json"):
        assert (folder / "out" / name).read_bytes() == (built_demo / "out" / name).read_bytes(), name


@pytest.mark.parametrize("workers", [2, 3])
def test_small_sources_read_from_both_ends_give_the_same_bytes(built_demo, tmp_path, monkeypatch,
                                                               workers):
    """Many small sources (a camera roll) are read by worker processes from the last and by
    the build from the first; the case gets the rows in its own order all the same."""
    import courseline.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "PARALLEL_MIN_SOURCES", 2)
    monkeypatch.setattr(pipeline_module, "WORKER_BATCH_SOURCES", 2)
    read_by_workers = []
    store = pipeline_module.CasePipeline._store_read_by_worker

    def noted(self, future, scratch, unit):
        read_by_workers.extend(source.case_path for source, _, _ in unit)
        return store(self, future, scratch, unit)
    monkeypatch.setattr(pipeline_module.CasePipeline, "_store_read_by_worker", noted)
    folder = write_demo_case(tmp_path / "case")
    with CasePipeline(load_case(folder), workers=workers) as pipeline:
        result = pipeline.build()
    assert result.events == DEMO_EVENTS and read_by_workers
    for name in ("timeline.jsonl", "timeline.csv", "manifest.json", "conduct.json"):
        assert (folder / "out" / name).read_bytes() == (built_demo / "out" / name).read_bytes(), name


def test_small_sources_are_read_here_when_the_workers_are_killed(built_demo, tmp_path,
                                                                monkeypatch):
    import courseline.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "PARALLEL_MIN_SOURCES", 2)
    monkeypatch.setattr(pipeline_module, "worker_pool", killed_pool)
    folder = write_demo_case(tmp_path / "case")
    with CasePipeline(load_case(folder), workers=2) as pipeline:
        assert pipeline.build().events == DEMO_EVENTS
    assert (folder / "out" / "timeline.jsonl").read_bytes() == \
        (built_demo / "out" / "timeline.jsonl").read_bytes()


def test_demo_diary_entries_are_matched_with_the_records_that_corroborate_them(built_demo):
    conduct = json.loads((built_demo / "out" / "conduct.json").read_text())
    outside, calls, station = conduct["diary"]
    # Written at the time; the e-mail "I'm outside" and his call that night, by the same person.
    assert (outside["day"], outside["who"], outside["written_days_after"]) == ("2024-08-10", "suspect", 0)
    # Her photo from the window (in person, at her home), then his e-mail and his call.
    assert [(c["kind"], c["because"]) for c in outside["corroborated_by"]] == [
        ("media", ["same channel", "same place"]), ("email", ["same channel", "same person"]),
        ("call", ["same channel", "same person"])]
    # The night of the calls: every call of that night, and his e-mail, are listed.
    assert calls["corroborating"] == 13
    assert sum(c["kind"] == "call" for c in calls["corroborated_by"]) == 12
    # Written weeks later, tied only by the new number nobody has tied to him yet.
    assert station["written_days_after"] == 24 and station["who"] is None
    assert {tuple(c["because"]) for c in station["corroborated_by"]} == {("same account",)}
    # Diary entries are recollections: the figures of contact do not count them.
    rows = read_jsonl(built_demo / "out" / "timeline.jsonl")
    diary = [r for r in rows if r["kind"] == "diary"]
    assert len(diary) == 3 and all(r["time_basis"] == "recalled" for r in diary)
    assert any("written 24 days after the incident" in n for n in diary[2]["notes"])
    report = (built_demo / "out" / "report.html").read_text()
    assert "The victim's diary" in unescape(report) and "24 days later" in report


def test_demo_photo_is_near_the_victims_home_and_an_app_matches_an_indicator(built_demo):
    conduct = json.loads((built_demo / "out" / "conduct.json").read_text())
    (home,) = conduct["places"]
    (near,) = home["near"]
    assert (home["place"], near["kind"], near["distance_m"]) == ("Sam Taylor's home", "media", 50)
    assert near["occurred_utc"] == "2024-08-09T23:12:30Z" and near["exhibits"] == ["DEMO/13"]
    # The photo also corroborates the diary entry of that night, by its place.
    outside = conduct["diary"][0]
    assert ["same channel", "same place"] in [c["because"] for c in outside["corroborated_by"]]
    found = conduct["stalkerware_indicators"]
    assert found["file"] == "demo-indicators.yaml" and found["entries"] == 2
    (match,) = found["matches"]
    assert match["package"] == "com.example.trackmate"
    assert match["matches"][0]["indicator"] == "TrackMate (demo)"
    assert match["matches"][0]["file_sha256"] == found["sha256"]
    manifest = json.loads((built_demo / "out" / "manifest.json").read_text())
    photo = next(s for s in manifest["sources"] if s["path"].endswith(".jpg") and "PXL" in s["path"])
    assert any("measured clock offset" in n and "+2 s" in n for n in photo["parser_notes"])
    report = (built_demo / "out" / "report.html").read_text()
    assert "Installed apps matching stalkerware indicators" in report
    assert "com.example.trackmate" in report and "Near Sam Taylor" in report


def test_undated_records_come_last_with_no_time_and_say_why(built_demo):
    rows = read_jsonl(built_demo / "out" / "timeline.jsonl")
    undated = [r for r in rows if r["occurred_utc"] is None]
    assert len(undated) == 2 and rows[-2:] == undated
    for row in undated:
        assert row["time_flags"] == ["undated"] and row["precision"] is None
        assert row["kind"] == "media" and row["attachments"][0]["sha256"]
        assert any("no time when the picture was taken" in n for n in row["notes"])
    report = (built_demo / "out" / "report.html").read_text()
    assert "the source gives this record no time" in report


def test_a_missing_indicator_file_stops_the_build_naming_it(demo_copy):
    toml = demo_copy / "case.toml"
    toml.write_text(toml.read_text().replace('"demo-indicators.yaml"', '"nowhere.yaml"'))
    result = run_cli("build", demo_copy)
    assert result.exit_code == 1
    assert "stalkerware_indicators = 'nowhere.yaml'" in result.output and "could not be read" in result.output
