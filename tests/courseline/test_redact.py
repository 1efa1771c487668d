"""The redacted copy: non-parties masked consistently, parties shown, nothing original left over.

Everyone here is invented: numbers from Ofcom's drama range (07700 900000–900999, 020 7946 0xxx),
addresses at example.org / example.net.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from courseline.casefile import Person, load_case
from courseline.demo import write_demo_case
from courseline.pipeline import CasePipeline
from courseline.redact import LIMITS, Redactor
from courseline.timeline.identity import normalise, parse_written
from tests_support import read_jsonl


def _person(key: str, role: str, name: str, *identifiers: str) -> Person:
    return Person(key=key, role=role, name=name, identifiers=identifiers,
                  normalised=tuple(parse_written(i, "GB") for i in identifiers))


PERSONS = (
    _person("victim", "victim", "Sam Taylor", "tel:07700 900123", "email:sam.taylor@example.org",
            "name:Sam Taylor", "instagram:sam_t"),
    _person("suspect", "suspect", "Chris Walker", "tel:+44 7700 900456",
            "email:chris.walker@example.net", "name:Chris Walker"),
    _person("sister", "witness", "Jo Taylor", "email:jo.taylor@example.org", "tel:07700 900321",
            "name:Jo Taylor", "instagram:jotay_99"),
    _person("colleague", "third-party", "Will Baker", "tel:07700 900654",
            "email:will.baker@example.org"),
)
WITNESS_FORMS = ("07700 900321", "+44 7700 900321", "07700900321", "+447700900321",
                 "jo.taylor@example.org", "Jo Taylor", "jotay_99")


def _row(seq: int, sender: str | None, recipients: list[str], text: str | None = None,
         **extra) -> dict:
    """A timeline row as ``timeline.jsonl`` holds it, persons tied as the seal ties them."""
    directory = {str(i): p.key for p in PERSONS for i in p.normalised}

    def person_of(ident: str | None) -> str | None:
        return directory.get(str(normalise(ident, "GB"))) if ident else None

    row = {
        "attachments": [], "call_status": None, "details": {}, "direction": "incoming",
        "direction_basis": "owner", "duration_s": None, "event_id": f"{seq:064x}",
        "flags": [], "kind": "sms", "location": None, "notes": [],
        "occurred_utc": f"2024-09-{seq:02d}T20:00:00Z", "owner_side": "recipients",
        "platform": "phone", "precision": "s",
        "provenance": [{"exhibit": "AO/1", "locator": f"sqlite:sms/_id={seq}",
                        "parser": "android-mmssms", "parser_version": "1",
                        "path": "exports/sam-android/mmssms.db", "source_sha256": "ab" * 32}],
        "recipient_persons": [person_of(r) for r in recipients], "recipients": recipients,
        "sender": sender, "sender_person": person_of(sender), "seq": seq, "subject": None,
        "text": text, "time_basis": "utc", "time_flags": [], "time_raw": str(1725220800000 + seq),
        "time_readings": [], "time_source": "sms.date (Unix ms)", "time_uncorrected_utc": None,
        "time_zone": None, "chain": f"{seq:064x}"[::-1],
    }
    row.update(extra)
    return row


@pytest.fixture
def redactor() -> Redactor:
    return Redactor(PERSONS)


# -- parties ---------------------------------------------------------------------------------------

def test_parties_are_shown_as_they_are(redactor):
    text = ("Sam Taylor, it's Chris Walker. Ring me on 07700 900456 or +44 7700 900456, "
            "write to chris.walker@example.net, or to Sam at SAM.TAYLOR@example.org. @sam_t")
    row = _row(1, "tel:+447700900456", ["tel:+447700900123"], text, subject="Sam")
    out = redactor.row(row)
    for name in ("sender", "recipients", "sender_person", "recipient_persons", "text", "subject"):
        assert out[name] == row[name], name
    assert redactor.person("victim") == "victim" and redactor.person_name("victim") == "Sam Taylor"
    assert redactor.identifier("tel:07700 900123") == "tel:07700 900123"
    assert redactor.identifier("owner:victim") == "owner:victim"
    assert redactor.public_summary() == []


# -- the witness, everywhere ---------------------------------------------------------------------

def test_witness_is_masked_in_every_field_and_every_written_form(redactor):
    text = ("Jo Taylor's numbers: 07700 900321, +44 7700 900321, 07700900321. "
            "Mail jo.taylor@example.org or JO.TAYLOR@EXAMPLE.ORG. Jo, call me. JO TAYLOR. @jotay_99")
    row = _row(2, "tel:+447700900456", ["tel:+447700900321", "email:jo.taylor@example.org"],
               text, subject="For Jo Taylor", notes=["who it was: Jo Taylor"])
    out = redactor.row(row)
    assert out["recipients"] == ["tel:[Witness A, number 1]", "email:[Witness A, address 1]"]
    assert out["recipient_persons"] == ["Witness A", "Witness A"]
    assert out["sender"] == "tel:+447700900456" and out["sender_person"] == "suspect"
    assert out["text"] == (
        "[Witness A]'s numbers: [Witness A, number 1], [Witness A, number 1], "
        "[Witness A, number 1]. Mail [Witness A, address 1] or [Witness A, address 1]. "
        "[Witness A], call me. [Witness A]. @[Witness A, handle 1]")
    assert out["subject"] == "For [Witness A]"
    assert out["notes"] == ["who it was: [Witness A]"]
    shown = json.dumps(out)
    for form in WITNESS_FORMS:
        assert form.lower() not in shown.lower(), form
    assert not re.search(r"\bJo\b", shown) and "sister" not in shown


def test_witness_as_sender_and_as_owner(redactor):
    out = redactor.row(_row(3, "tel:+447700900321", ["owner:sister"], "Leave us alone, Chris."))
    assert out["sender"] == "tel:[Witness A, number 1]" and out["sender_person"] == "Witness A"
    assert out["recipients"] == ["owner:[Witness A]"]
    assert out["text"] == "Leave us alone, Chris."


def test_identifiers_as_written_in_the_case_file(redactor):
    assert redactor.identifier("tel:07700 900321") == "tel:[Witness A, number 1]"
    assert redactor.identifier("whatsapp:+44 7700 900321") == "whatsapp:[Witness A, number 1]"
    assert redactor.identifier("name:JO TAYLOR") == "name:[Witness A]"
    assert redactor.identifier("instagram:JoTay_99") == "instagram:[Witness A, handle 1]"
    assert redactor.identifier("tel:Withheld") == "tel:Withheld"
    assert redactor.person("sister") == "Witness A" == redactor.person_name("sister")
    assert redactor.person("colleague") == "Third party B" == redactor.person_name("colleague")
    assert redactor.identifier("email:Will.Baker@example.org") == "email:[Third party B, address 1]"
    assert redactor.person(None) is None and redactor.identifier(None) is None


# -- consistency ---------------------------------------------------------------------------------

def test_the_same_original_gets_the_same_pseudonym_across_fields_and_rows(redactor):
    rows = [
        _row(4, "tel:+447700900789", ["tel:+447700900123"], "New number. Answer."),
        _row(5, "tel:+447700900123", ["tel:+447700900321"],
             "He's texting from 07700 900789 now, and 020 7946 0000 too."),
        _row(6, "tel:02079460000", ["tel:+447700900123"], "Ring +44 7700 900789 back."),
        _row(7, "email:just.talk.to.me@example.net", ["email:sam.taylor@example.org"],
             "Reply to Just.Talk.To.Me@example.net"),
    ]
    out = [redactor.row(r) for r in rows]
    assert out[0]["sender"] == "tel:[number 1]"
    assert out[1]["text"] == "He's texting from [number 1] now, and [number 2] too."
    assert out[1]["recipients"] == ["tel:[Witness A, number 1]"]
    assert out[2]["sender"] == "tel:[number 2]" and out[2]["text"] == "Ring [number 1] back."
    assert out[3]["sender"] == "email:[address 1]" and out[3]["text"] == "Reply to [address 1]"
    assert redactor.identifier("tel:07700 900789") == "tel:[number 1]"
    assert redactor.text("07700 900789") == "[number 1]"


def test_unknown_handles_and_display_names_are_masked_and_learned(redactor):
    rows = [
        _row(8, "instagram:chris.w.83", ["owner:victim"], "Found you here too",
             platform="instagram", kind="message"),
        _row(9, "name:Chris.W.83", ["name:Sam Taylor"], "Don't block @chris.w.83 again, @sam_t",
             platform="instagram", kind="message"),
        _row(10, "telegram:user5550001", ["owner:victim"], "I am user5550001 on here. @stranger",
             platform="telegram", kind="message"),
        _row(11, "name:Dave", ["name:Sam Taylor"], "Dave here", platform="whatsapp"),
    ]
    out = [redactor.row(r) for r in rows]
    assert out[0]["sender"] == "instagram:[handle 1]"
    assert out[1]["sender"] == "name:[handle 1]"
    assert out[1]["text"] == "Don't block @[handle 1] again, @sam_t"
    assert redactor.text("chrisw83 / chris_w_83 / CHRIS.W.83") == "[handle 1] / [handle 1] / [handle 1]"
    assert out[2]["sender"] == "telegram:[handle 2]"
    assert out[2]["text"] == "I am [handle 2] on here. @[handle 3]"
    # A plain one-word display name is masked as an identifier; in text it could be any word.
    assert out[3]["sender"] == "name:[name 1]" and out[3]["text"] == "Dave here"


def test_withheld_and_unknown_callers_stay(redactor):
    for ident in ("tel:Withheld", "tel:Unknown", "tel:Payphone"):
        assert redactor.identifier(ident) == ident
    assert redactor.identifier("tel:HSBC") == "tel:[other 1]"     # a sender ID: not a party's


# -- what text() takes for a number, and what it does not ----------------------------------------

def test_dates_times_amounts_and_references_are_not_numbers(redactor):
    text = ("On 01.02.2024, 01-02-2024, 2024-09-20 and 12/10/2024 at 07:30 and 20:30, ref "
            "12345678, SPO 0001/2024, £1,250.00, from 192.0.2.11, number 14 at 2, 0800 tomorrow.")
    assert redactor.text(text) == text


def test_name_words_alone(redactor):
    # "Jo" is short: masked only with a capital. "Taylor" is also the victim's: masked only as
    # part of the full name. "Will" and "Baker" are ordinary words: capitalised only.
    assert redactor.text("Jo, tell Sam. jo says hi. JO!") == "[Witness A], tell Sam. jo says hi. [Witness A]!"
    assert redactor.text("Sam Taylor and Mrs Taylor") == "Sam Taylor and Mrs Taylor"
    assert redactor.text("Will Baker said I will ask the baker.") == \
        "[Third party B] said I will ask the baker."
    assert redactor.text("Jo\nTaylor") == "[Witness A]"
    assert redactor.text("JoTaylor, jo_taylor, Jo.Taylor") == "[Witness A], [Witness A], [Witness A]"
    assert redactor.text("to Jo. Taylor said") == "to [Witness A]. Taylor said"   # a sentence ends
    assert redactor.text("Joanne and Jo's car") == "Joanne and [Witness A]'s car"


def test_a_name_word_two_non_parties_share_names_both():
    persons = (*PERSONS[:2], _person("a", "witness", "Alex Smith"),
               _person("b", "third-party", "Alex Brown-Okafor"))
    redactor = Redactor(persons)
    assert redactor.text("Alex Smith, Alex, Okafor") == \
        "[Witness A], [Witness A or Third party B], [Third party B]"


# -- paths, attachments, details -----------------------------------------------------------------

def test_paths_and_attachment_names_lose_non_parties_names_and_numbers(redactor):
    row = _row(12, "tel:+447700900456", ["tel:+447700900321"], None, attachments=[
        {"name": "Jo_Taylor passport.jpg", "sha256": "cd" * 32, "size": 10, "media_type": "image/jpeg"},
        {"name": "IMG-20240920-WA0003.jpg", "sha256": "ef" * 32, "size": 11, "media_type": "image/jpeg"},
        {"name": "07700900321.vcf", "sha256": "01" * 32, "size": 12, "media_type": "text/vcard"},
    ], provenance=[
        {"exhibit": "AO/6", "locator": "sqlite:message/ROWID=2", "parser": "ios-sms",
         "parser_version": "1", "path": "exports/jo-iphone/Library/SMS/sms.db",
         "source_sha256": "12" * 32},
        {"exhibit": "AO/7", "locator": "line:4", "parser": "whatsapp", "parser_version": "1",
         "path": "exports/JoTaylor/WhatsApp Chat with Chris Walker.txt", "source_sha256": "34" * 32},
    ])
    out = redactor.row(row)
    assert [a["name"] for a in out["attachments"]] == [
        "[Witness A] passport.jpg", "IMG-20240920-WA0003.jpg", "[Witness A, number 1].vcf"]
    assert [a["sha256"] for a in out["attachments"]] == [a["sha256"] for a in row["attachments"]]
    assert [p["path"] for p in out["provenance"]] == [
        "exports/[Witness A]-iphone/Library/SMS/sms.db",
        "exports/[Witness A]/WhatsApp Chat with Chris Walker.txt"]
    assert [p["exhibit"] for p in out["provenance"]] == ["AO/6", "AO/7"]
    assert redactor.path("exports/sam-android/PXL_20240809_231230.jpg") == \
        "exports/sam-android/PXL_20240809_231230.jpg"


def test_details_are_withheld_and_logged_and_the_row_given_is_not_changed(redactor):
    details = {"from_header": "Jo Taylor <jo.taylor@example.org>", "message_id": "<x@example.org>"}
    row = _row(13, "email:chris.walker@example.net", ["email:jo.taylor@example.org"],
               "Tell your sister.", details=details, platform="email", kind="email")
    before = copy.deepcopy(row)
    out = redactor.row(row)
    assert row == before
    assert "details" not in out and out["withheld"] == ["details"]
    assert "jo.taylor" not in json.dumps(out)
    withheld = redactor.log()["withheld"]
    assert withheld == [{"event_id": row["event_id"], "seq": 13, "field": "details",
                         "keys": ["from_header", "message_id"]}]
    assert redactor.withheld_events == 1


def test_what_and_when_are_never_altered(redactor):
    row = _row(14, "tel:+447700900321", ["tel:+447700900123"], "07700 900321",
               flags=["deleted"], location={"lat": 51.5, "lon": -0.3, "accuracy_m": None,
                                            "basis": "gps"})
    out = redactor.row(row)
    for name in ("event_id", "seq", "chain", "occurred_utc", "precision", "time_basis",
                 "time_raw", "time_flags", "time_source", "kind", "platform", "direction",
                 "flags", "call_status", "duration_s", "location"):
        assert out[name] == row[name], name
    assert list(out)[:len(row) - 1] == [k for k in row if k != "details"]


def test_masking_twice_changes_nothing(redactor):
    row = _row(15, "tel:+447700900789", ["tel:+447700900321", "owner:sister"],
               "Jo Taylor, 07700 900321, 07700 900789, jo.taylor@example.org, @jotay_99",
               provenance=[{"exhibit": "AO/6", "locator": "line:1", "parser": "signal",
                            "parser_version": "1", "path": "exports/jo-signal/Chris Walker.txt",
                            "source_sha256": "56" * 32}])
    once = redactor.row(row)
    assert redactor.row(once) == once


# -- determinism and the log -----------------------------------------------------------------------

def _rows() -> list[dict]:
    return [
        _row(1, "tel:+447700900456", ["tel:+447700900321"], "Tell Jo Taylor. Ring 07700 900999."),
        _row(2, "tel:+447700900999", ["tel:+447700900123"], "Or 07700 900888, @someone"),
        _row(3, "email:x.y@example.net", ["email:jo.taylor@example.org"], "x.y@example.net",
             details={"to_header": "jo.taylor@example.org"}),
    ]


def test_two_redactors_fed_the_same_rows_give_the_same_bytes():
    first, second = Redactor(PERSONS), Redactor(PERSONS)
    a = json.dumps([first.row(r) for r in _rows()], sort_keys=True)
    b = json.dumps([second.row(r) for r in _rows()], sort_keys=True)
    assert a == b
    assert json.dumps(first.log(), sort_keys=True) == json.dumps(second.log(), sort_keys=True)
    assert first.public_summary() == second.public_summary()


SEEDED_RUN = """
import json, sys
from courseline.casefile import Person
from courseline.redact import Redactor
from courseline.timeline.identity import parse_written

def person(key, role, name, *ids):
    return Person(key, role, name, ids, tuple(parse_written(i, "GB") for i in ids))

persons = [person("v", "victim", "Sam Taylor", "tel:07700 900123"),
           person("a", "witness", "Ann Lee", "instagram:ann.lee.1", "tel:07700 900321"),
           person("b", "third-party", "Ann-Lee Brown", "name:Annie", "email:ab@example.org")]
rows = [{"event_id": str(i), "seq": i, "sender": s, "recipients": ["tel:+447700900123"],
         "text": t, "details": {"to": "x"}}
        for i, (s, t) in enumerate([("tel:+447700900999", "AnnLee, ann_lee, Ann Lee, Ann, Lee"),
                                    ("instagram:zed.9", "Annie and Ann-Lee Brown, 07700 900888"),
                                    ("name:Q R", "ann.lee.1 ab@example.org zed9 q r")])]
r = Redactor(persons, rows=rows)
print(json.dumps([[r.row(x) for x in rows], r.log(), r.public_summary()], sort_keys=True))
"""


def test_the_same_bytes_whatever_the_hash_seed():
    # Names that collide when written as one word, learned handles, shared words: nothing may
    # depend on the order Python happens to iterate a set in, which the hash seed changes.
    runs = [subprocess.run([sys.executable, "-c", SEEDED_RUN], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout
            for seed in ("1", "2", "3")]
    assert runs[0] == runs[1] == runs[2] and "[Witness A" in runs[0]


def test_primed_numbering_follows_the_timeline_not_the_order_of_calls():
    primed, unprimed = Redactor(PERSONS, rows=_rows()), Redactor(PERSONS)
    counts = {e["pseudonym"]: e["occurrences"] for e in primed.public_summary()}
    assert counts["number 1"] == 2 and counts["Witness A"] == 3   # text once, persons twice
    # Meeting the rows again (the HTML, then the PDF) does not count them twice.
    for row in _rows():
        primed.row(row)
    assert {e["pseudonym"]: e["occurrences"] for e in primed.public_summary()} == counts
    # Asked about the second number first, it still has the number it got in the timeline.
    assert primed.text("07700 900888") == "[number 2]"
    assert unprimed.text("07700 900888") == "[number 1]"
    assert primed.text("07700 900999") == "[number 1]"


def test_priming_masks_a_handle_written_in_text_before_it_is_first_an_identifier():
    rows = [_row(1, "tel:+447700900456", ["tel:+447700900123"], "I'm chris.w.83 on Instagram"),
            _row(2, "instagram:chris.w.83", ["owner:victim"], "Found you", platform="instagram")]
    primed = Redactor(PERSONS, rows=rows)
    assert primed.row(rows[0])["text"] == "I'm [handle 1] on Instagram"
    assert primed.row(rows[1])["sender"] == "instagram:[handle 1]"


def test_the_log_has_the_originals_and_the_public_summary_none(redactor):
    for row in _rows():
        redactor.row(row)
    log = redactor.log()
    by_label = {e["pseudonym"]: e for e in log["entries"]}
    assert by_label["Witness A"]["original"] == "Jo Taylor"
    assert by_label["Witness A"]["person_key"] == "sister"
    assert by_label["Witness A, number 1"]["original"] == "+447700900321"
    assert by_label["number 1"]["original"] == "+447700900999"
    assert by_label["number 1"]["forms"] == ["07700 900999", "tel:+447700900999"]
    assert by_label["address 1"]["original"] == "x.y@example.net"
    assert by_label["handle 1"]["original"] == "someone"
    assert [e["category"] for e in log["entries"]] == sorted(
        (e["category"] for e in log["entries"]),
        key=("person", "phone", "email", "handle", "name", "other").index)
    summary = redactor.public_summary()
    assert {"pseudonym", "category", "occurrences", "reason"} == set(summary[0])
    public = json.dumps(summary).lower()
    for original in ("jo taylor", "sister", "900321", "900999", "900888", "x.y@example.net",
                     "someone", "jo.taylor"):
        assert original not in public, original
    assert all(item["occurrences"] > 0 for item in summary)
    assert set(LIMITS) <= set(log["cautions"])


def test_the_unredacted_variant_changes_nothing():
    none = Redactor.none(PERSONS)
    row = _rows()[2]
    assert none.row(row) is row
    assert none.text("Jo Taylor 07700 900321") == "Jo Taylor 07700 900321"
    assert none.identifier("tel:+447700900321") == "tel:+447700900321"
    assert none.person("sister") == "sister" and none.person_name("sister") == "Jo Taylor"
    assert none.public_summary() == [] and none.log()["entries"] == []
    assert not none.active and Redactor(PERSONS).active


# -- hostile input -------------------------------------------------------------------------------

def test_a_hostile_text_completes_with_every_number_masked(redactor):
    numbers = "".join(f"ring 07700 900321 or 07700 900{i % 1000:03d}; " for i in range(3000))
    text = numbers + "1 " * 30_000 + "a" * 50_000 + "@" * 50_000 + "x@" * 20_000 + "a." * 50_000
    started = time.monotonic()
    out = redactor.text(text)
    assert time.monotonic() - started < 60
    assert "900321" not in out
    assert out.count("[Witness A, number 1]") == 3000 + 3   # and its own slot in the 1000
    # The victim's and the suspect's numbers stay; every other number went.
    assert set(re.findall(r"07700 900\d{3}", out)) == {"07700 900123", "07700 900456"}
    assert out.count("[Third party B, number 1]") == 3


# -- the demo case -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_case(tmp_path_factory) -> Path:
    """The demo case, built (a few seconds) but not reported: the report is not under test."""
    folder = write_demo_case(tmp_path_factory.mktemp("redact-demo") / "case")
    case = load_case(folder)
    with CasePipeline(case) as pipeline:
        for entry in case.sources:
            pipeline.collect_entry(entry)
        pipeline.build()
    return folder


def test_no_original_of_a_non_party_is_left_in_the_redacted_demo_timeline(demo_case):
    case = load_case(demo_case)
    rows = read_jsonl(demo_case / "out" / "timeline.jsonl")
    manifest = json.loads((demo_case / "out" / "manifest.json").read_text())
    redactor = Redactor(case.persons, region=case.info.region, rows=rows)
    redacted = [redactor.row(r) for r in rows]
    shown = json.dumps(redacted, ensure_ascii=False)

    originals = set()
    for person in case.persons:
        if person.role in ("victim", "suspect"):
            continue
        originals.add(person.name)
        originals.update(i.partition(":")[2] for i in person.identifiers)
        originals.update(i.value for i in person.normalised)
    for unknown in manifest["unknown_identifiers"]:
        if unknown["could_be_tied_to_a_person"]:
            originals.add(unknown["identifier"].partition(":")[2])
    assert {"Jo Taylor", "+447700900321", "07700 900321", "+447700900789",
            "just.talk.to.me@example.net", "chris.w.83", "user5550001"} <= originals
    lowered = shown.lower()
    for original in originals:
        assert original.lower() not in lowered, original
    assert "07700 900789" not in shown and "chrisw83" not in lowered
    assert not re.search(r"\bJo\b", shown) and "jo-" not in lowered
    for row in redacted:
        assert "details" not in row
        assert "sister" not in json.dumps([row["sender_person"], row["recipient_persons"],
                                           row["sender"], row["recipients"]])
    # The parties, the times and the seal are all still there.
    assert "Sam Taylor".lower() in lowered and "+447700900456" in shown
    assert [r["chain"] for r in redacted] == [r["chain"] for r in rows]
    assert [r["occurred_utc"] for r in redacted] == [r["occurred_utc"] for r in rows]
    public = json.dumps(redactor.public_summary()).lower()
    assert not any(o.lower() in public for o in originals)
    # The same timeline, fed again to a new redactor without priming, gives the same bytes.
    again = Redactor(case.persons, region=case.info.region)
    assert json.dumps([again.row(r) for r in rows], ensure_ascii=False) == shown
