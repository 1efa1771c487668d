"""Reviewer annotations (issue 6): attributed, timed, kept apart from the evidence, hash-chained,
never changing the timeline or its seal, checked by `verify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from courseline.annotations import ANNOTATIONS_FILE, TAGS
from courseline.timeline.db import CaseDB
from tests_support import read_jsonl, run_cli

DATES = ["Mon, 05 Aug 2024 10:00:00 +0100", "Tue, 06 Aug 2024 23:10:00 +0100",
         "Wed, 07 Aug 2024 02:30:00 +0100"]


def write_eml(path: Path, date: str, subject: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\n".join(["From: x@example.net", "To: a@example.org", f"Subject: {subject}",
                                f"Date: {date}", "Content-Type: text/plain; charset=utf-8", "",
                                "Where were you last night?", ""]).encode())
    return path


@pytest.fixture
def built_case(tmp_path: Path) -> Path:
    """A built case of three e-mails from the suspect, with an examiner."""
    for number, date in enumerate(DATES):
        write_eml(tmp_path / "mail" / f"{number}.eml", date, f"message {number}")
    case = tmp_path / "case"
    result = run_cli("run", tmp_path / "mail", "--case", case, "--victim", "email:a@example.org",
                     "--suspect", "email:x@example.net")
    assert result.exit_code == 0, result.output
    toml = case / "case.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('examiner = ""',
                                                             'examiner = "DC 1 A. Officer"', 1),
                    encoding="utf-8")
    assert run_cli("report", case).exit_code == 0
    return case


def event_ids(case: Path) -> list[str]:
    return [row["event_id"] for row in read_jsonl(case / "out" / "timeline.jsonl")]


def annotations(case: Path) -> list[dict]:
    return read_jsonl(case / ANNOTATIONS_FILE)


def test_an_annotation_is_attributed_timed_chained_and_leaves_the_timeline_alone(built_case):
    timeline = (built_case / "out" / "timeline.jsonl").read_bytes()
    seal = json.loads((built_case / "out" / "manifest.json").read_text())["seal"]["value"]
    first, second, _ = event_ids(built_case)
    result = run_cli("annotate", built_case, first[:10], "--tag", "asked-to-stop", "--tag",
                     "Contacting", "--note", "Sam replied: stop messaging me")
    assert result.exit_code == 0, result.output
    assert run_cli("annotate", built_case, second, "--tag", "threat", "--by",
                   "DS 2 B. Reviewer").exit_code == 0
    made = annotations(built_case)
    assert [(a["seq"], a["event_id"], a["tags"], a["by"]) for a in made] == [
        (1, first, ["contacting", "asked-to-stop"], "DC 1 A. Officer"),   # the statute's order
        (2, second, ["threat"], "DS 2 B. Reviewer")]
    assert made[0]["note"] == "Sam replied: stop messaging me"
    assert all(a["seal"] == seal and a["time_utc"].endswith("Z") for a in made)
    assert made[0]["chain"] != made[1]["chain"]
    # The evidence is untouched: the timeline is byte for byte what it was, and so is its seal.
    assert (built_case / "out" / "timeline.jsonl").read_bytes() == timeline
    assert run_cli("build", built_case).exit_code == 0
    assert (built_case / "out" / "timeline.jsonl").read_bytes() == timeline
    with CaseDB(built_case / "case.sqlite", read_only=True) as db:
        actions = [json.loads(text)["action"] for _, text, _, _ in db.audit_rows()]
    assert actions.count("annotate") == 2
    listed = run_cli("annotate", built_case, "--list")
    assert "asked-to-stop" in listed.output and "DS 2 B. Reviewer" in listed.output
    # The report made before the annotations no longer shows the case as it is: verify says so.
    stale = run_cli("verify", built_case)
    assert stale.exit_code == 1
    assert "report.html was made before the latest annotations (it shows 0, the case has 2)" \
        in stale.output
    assert run_cli("report", built_case).exit_code == 0
    verified = run_cli("verify", built_case)
    assert verified.exit_code == 0, verified.output
    assert "annotations: 2, chain intact" in verified.output


@pytest.mark.parametrize("damage", ["changed", "removed", "reordered", "last-removed",
                                    "deleted"])
def test_verify_names_a_changed_removed_or_reordered_annotation(built_case, damage):
    ids = event_ids(built_case)
    for event_id in ids:
        assert run_cli("annotate", built_case, event_id, "--tag", "contacting").exit_code == 0
    path = built_case / ANNOTATIONS_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if damage == "changed":
        lines[1] = lines[1].replace('"contacting"', '"threat"')
    elif damage == "removed":
        del lines[1]
    elif damage == "reordered":
        lines[0], lines[1] = lines[1], lines[0]
    else:   # the audit log's last annotate entry records where the file ends
        del lines[1 if damage == "last-removed" else 0:]
    path.write_text("".join(lines), encoding="utf-8")
    said = ("annotations.jsonl line" if damage in ("changed", "removed", "reordered")
            else "annotations were removed or the file replaced")
    result = run_cli("verify", built_case)
    assert result.exit_code != 0
    assert said in " ".join(result.output.split())
    refused = run_cli("annotate", built_case, ids[0], "--tag", "threat")
    assert refused.exit_code != 0 and said in " ".join(refused.output.split())


@pytest.mark.parametrize("arguments, said", [
    (["--tag", "stalking"], "unknown tag(s) stalking; the tags are following, contacting"),
    (["--tag", "other-conduct"], "other-conduct needs a note"),
    ([], "give at least one tag or a note"),
])
def test_a_request_that_cannot_be_made_says_why_and_writes_nothing(built_case, arguments, said):
    result = run_cli("annotate", built_case, event_ids(built_case)[0], *arguments)
    assert result.exit_code != 0 and said in " ".join(result.output.split())
    assert not (built_case / ANNOTATIONS_FILE).exists()


@pytest.mark.parametrize("event, said", [
    ("1234", "is not an event id"),
    ("not-hex-at-all", "is not an event id"),
    ("0000000000", "no event 0000000000 in the timeline"),
])
def test_an_event_that_is_not_in_the_timeline_is_refused(built_case, event, said):
    result = run_cli("annotate", built_case, event, "--tag", "threat")
    assert result.exit_code != 0 and said in " ".join(result.output.split())


def test_annotating_needs_a_built_case_and_a_reviewer(tmp_path, built_case):
    case = tmp_path / "new"
    assert run_cli("init", case).exit_code == 0
    result = run_cli("annotate", case, "0" * 64, "--tag", "threat", "--by", "DC 1")
    assert result.exit_code != 0 and "has not been built yet" in result.output
    nobody = run_cli("annotate", built_case, event_ids(built_case)[0], "--tag", "threat",
                     "--by", " ")
    assert nobody.exit_code != 0 and "say who makes the annotation" in nobody.output


def test_a_csv_of_annotations_is_added_all_or_none(tmp_path, built_case):
    ids = event_ids(built_case)
    good = tmp_path / "reviewed.csv"
    good.write_text("event_id,tags,note,by\n"
                    f"{ids[0]},contacting;asked-to-stop,first reply,\n"
                    f"{ids[2][:12]},watching | loitering,outside the house,DS 2 B. Reviewer\n",
                    encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"event_id,tags\n{ids[1]},contacting\n{ids[1]},stalking\n", encoding="utf-8")
    refused = run_cli("annotate", built_case, "--import", bad)
    assert refused.exit_code != 0 and "bad.csv line 3: unknown tag(s) stalking" in \
        " ".join(refused.output.split())
    assert not (built_case / ANNOTATIONS_FILE).exists()
    assert run_cli("annotate", built_case, "--import", good).exit_code == 0
    assert [(a["event_id"], a["tags"], a["by"]) for a in annotations(built_case)] == [
        (ids[0], ["contacting", "asked-to-stop"], "DC 1 A. Officer"),
        (ids[2], ["loitering", "watching"], "DS 2 B. Reviewer")]


def test_every_tag_says_what_it_means():
    assert list(TAGS)[:7] == ["following", "contacting", "publishing", "monitoring", "loitering",
                              "interfering", "watching"]
    assert all(TAGS[tag].startswith(f"s.2A(3)({letter})") for tag, letter
               in zip(list(TAGS)[:7], "abcdefg"))


def test_a_csv_line_with_more_fields_than_its_header_is_refused(tmp_path, built_case):
    """An unquoted comma in a note shifted the columns: the note was cut and the next word
    taken for the reviewer."""
    path = tmp_path / "reviewed.csv"
    path.write_text(f"event_id,tags,note,by\n{event_ids(built_case)[0]},contacting,hello, world,"
                    f"DC 9\n", encoding="utf-8")
    result = run_cli("annotate", built_case, "--import", path)
    assert result.exit_code != 0 and "reviewed.csv line 2: more fields than the first line" in \
        " ".join(result.output.split())
    assert not (built_case / ANNOTATIONS_FILE).exists()


def test_only_events_of_the_sealed_timeline_can_be_annotated(built_case):
    """Events of a source taken out of the case file stay in the case database but are not in
    the timeline: they cannot be annotated, and an annotation on one fails verify."""
    from courseline.annotations import AnnotationError, AnnotationLog, Request

    with CaseDB(built_case / "case.sqlite") as db:
        first = db.conn.execute("SELECT id FROM sources ORDER BY id").fetchone()[0]
        others = [row[0] for row in db.conn.execute("SELECT id FROM sources WHERE id != ?",
                                                    (first,))]
        in_first = db.conn.execute("SELECT event_id FROM events WHERE source_id = ?",
                                   (first,)).fetchone()[0]
        with pytest.raises(AnnotationError, match="no event"):
            AnnotationLog(built_case).add(db, "seal", [Request(in_first, ("threat",), "", "DC 1")],
                                          others)
