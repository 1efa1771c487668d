"""The command line as the walkthroughs used it: messages, warnings and exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

from courseline.demo import write_demo_case
from tests_support import read_jsonl, run_cli


def write_eml(path: Path, date: str | None, subject: str = "hello") -> Path:
    """A small e-mail, written as raw bytes (EmailMessage would rewrite a hostile Date)."""
    lines = ["From: x@example.net", "To: a@example.org", f"Subject: {subject}"]
    if date is not None:
        lines.append(f"Date: {date}")
    lines += ["Content-Type: text/plain; charset=utf-8", "", "Where were you last night?", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\n".join(lines).encode())
    return path


def new_case(tmp_path: Path) -> Path:
    case = tmp_path / "case"
    assert run_cli("init", case).exit_code == 0
    with (case / "case.toml").open("a") as handle:
        handle.write('\n[[person]]\nkey = "victim"\nrole = "victim"\nidentifiers = ["email:a@example.org"]\n')
    return case


def test_run_with_a_malformed_identifier_creates_nothing(tmp_path):
    eml = write_eml(tmp_path / "in" / "a.eml", "Mon, 05 Aug 2024 10:00:00 +0100")
    case = tmp_path / "case"
    result = run_cli("run", eml, "--case", case, "--victim", "a@example.org")
    assert result.exit_code == 1
    assert "--victim 'a@example.org'" in result.output and "no scheme" in result.output
    assert not case.exists()


def test_paths_with_square_brackets_are_printed_as_written(tmp_path):
    folder = tmp_path / "lower[gmail]x" / "[/x]"
    write_eml(folder / "a.eml", "Mon, 05 Aug 2024 10:00:00 +0100")
    case = new_case(tmp_path)
    result = run_cli("add", case, tmp_path / "lower[gmail]x", "--owner", "victim")
    assert result.exit_code == 0, result.output
    assert "lower[gmail]x" in result.output


def test_add_says_when_a_collected_export_has_changed(tmp_path):
    eml = write_eml(tmp_path / "in" / "a.eml", "Mon, 05 Aug 2024 10:00:00 +0100")
    case = new_case(tmp_path)
    assert run_cli("add", case, eml, "--owner", "victim").exit_code == 0
    assert "already a source" in run_cli("add", case, eml, "--owner", "victim").output
    write_eml(eml, "Mon, 05 Aug 2024 10:00:00 +0100", subject="changed")
    again = run_cli("add", case, eml, "--owner", "victim")
    assert "has changed: its sha256 is now" in again.output
    assert "keeps the version collected" in again.output


def test_add_without_an_owner_warns(tmp_path):
    eml = write_eml(tmp_path / "in" / "a.eml", "Mon, 05 Aug 2024 10:00:00 +0100")
    result = run_cli("add", new_case(tmp_path), eml)
    assert result.exit_code == 0
    assert "have no owner" in result.output


def test_unreadable_records_need_a_look_on_every_build(tmp_path):
    folder = tmp_path / "in"
    write_eml(folder / "good.eml", "Mon, 05 Aug 2024 10:00:00 +0100")
    write_eml(folder / "undated.eml", None)
    write_eml(folder / "unreadable.eml", "yesterday")
    case = new_case(tmp_path)
    assert run_cli("add", case, folder, "--owner", "victim").exit_code == 0
    for _ in range(2):  # the second build parses nothing again, and still says so
        result = run_cli("build", case)
        assert result.exit_code == 3, result.output
        assert "Needs a look (2)" in result.output
    manifest = json.loads((case / "out" / "manifest.json").read_text())
    reasons = {s["path"].rsplit("/", 1)[-1]: [r["reason"] for r in s["rejects"]]
               for s in manifest["sources"]}
    assert "cannot be placed in time" in reasons["undated.eml"][0]
    assert "the Date header 'yesterday' could not be read" in reasons["unreadable.eml"][0]
    assert all(s["records"] == s["events"] + s["rejected"] for s in manifest["sources"])
    assert run_cli("report", case).exit_code == 3


def test_a_source_clock_offset_does_not_move_email_times(tmp_path):
    folder = write_demo_case(tmp_path / "case")
    toml = folder / "case.toml"
    toml.write_text(toml.read_text().replace('exhibit = "DEMO/1"',
                                             'exhibit = "DEMO/1"\nclock_offset_seconds = 3600'))
    assert run_cli("build", folder).exit_code == 0
    rows = read_jsonl(folder / "out" / "timeline.jsonl")
    assert not any("clock-corrected" in r["time_flags"] for r in rows)
    first = next(r for r in rows if r["subject"] == "Saw you today")
    assert first["occurred_utc"] == "2024-08-03T18:02:11Z"


def test_automatic_exhibits_differ_by_order_but_nothing_else(tmp_path):
    exports = write_demo_case(tmp_path / "src") / "exports"
    timelines = []
    for name, order in (("one", ["takeout", "saved-emails.zip"]), ("two", ["saved-emails.zip", "takeout"])):
        case = tmp_path / name
        assert run_cli("init", case).exit_code == 0
        for item in order:
            assert run_cli("add", case, exports / item).exit_code == 0
        assert run_cli("build", case).exit_code == 0
        rows = read_jsonl(case / "out" / "timeline.jsonl")
        for row in rows:
            row.pop("chain")
            for entry in row["provenance"]:
                entry.pop("exhibit")
            row["provenance"].sort(key=json.dumps)
        timelines.append(rows)
    assert timelines[0] == timelines[1]


def test_run_with_an_unknown_owner_fails(tmp_path):
    eml = write_eml(tmp_path / "in" / "a.eml", "Mon, 05 Aug 2024 10:00:00 +0100")
    result = run_cli("run", eml, "--case", tmp_path / "case", "--victim", "email:a@example.org",
                     "--owner", "bob")
    assert result.exit_code == 1 and "--owner 'bob' is not a person" in result.output


def test_init_refuses_an_empty_exhibit_prefix(tmp_path):
    result = run_cli("init", tmp_path / "case", "--exhibit-prefix", "")
    assert result.exit_code == 1 and "exhibit_prefix must be" in result.output
    assert not (tmp_path / "case" / "case.toml").exists()


def test_a_same_size_change_in_a_collected_folder_is_noticed(tmp_path):
    eml = write_eml(tmp_path / "in" / "a.eml", "Mon, 05 Aug 2024 10:00:00 +0100", subject="aaaa")
    case = new_case(tmp_path)
    assert run_cli("add", case, eml.parent, "--owner", "victim").exit_code == 0
    write_eml(eml, "Mon, 05 Aug 2024 10:00:00 +0100", subject="bbbb")
    result = run_cli("add", case, eml.parent, "--owner", "victim")
    assert result.exit_code == 3
    assert "0 file(s) added, 0 removed and 1 changed" in result.output


def test_emoji_codes_in_names_are_printed_as_written(tmp_path):
    eml = write_eml(tmp_path / "in" / "x:smile:y.eml", "Mon, 05 Aug 2024 10:00:00 +0100")
    result = run_cli("add", new_case(tmp_path), eml, "--owner", "victim")
    assert "x:smile:y.eml" in result.output


def test_diary_template_writes_the_template_once(tmp_path):
    case = tmp_path / "case"
    assert run_cli("init", case).exit_code == 0
    result = run_cli("diary-template", case)
    assert result.exit_code == 0, result.output
    assert (case / "diary-template.csv").is_file()
    assert "incident_date,incident_time,how_sure" in (case / "diary-template.csv").read_text()
    again = run_cli("diary-template", case)
    assert again.exit_code == 1 and "already exists" in again.output
