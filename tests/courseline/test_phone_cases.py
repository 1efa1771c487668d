"""Phone sources through the whole pipeline: merging a carrier's call log with the phone's,
and what a user is told when a phone source cannot be attributed or read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests_support import read_jsonl, run_cli

CASE = """\
[case]
reference = "PHONE-1"
[[person]]
key = "victim"
role = "victim"
identifiers = ["tel:07700 900123"]
[[person]]
key = "suspect"
role = "suspect"
identifiers = ["tel:07700 900456"]
[[order]]
kind = "spo"
protects = "victim"
against = "suspect"
served = "2024-09-01T00:00:00+01:00"
no_contact = true
"""
T0 = 1_725_487_840_000   # 2024-09-04T22:10:40Z


def call_log(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE calls (_id INTEGER PRIMARY KEY, number TEXT, date INTEGER, "
                 "duration INTEGER, type INTEGER, presentation INTEGER DEFAULT 1)")
    conn.executemany("INSERT INTO calls (_id, number, date, duration, type) VALUES (?, ?, ?, ?, ?)",
                     [(1, "07700 900456", T0, 0, 5),            # rejected on the phone
                      (2, "07700 900456", T0 + 50_000, 0, 3)])  # missed, 50 s later
    conn.commit()
    conn.close()


def case_with(tmp_path: Path, sources: str) -> Path:
    case = tmp_path / "case"
    case.mkdir()
    (case / "case.toml").write_text(CASE + sources, encoding="utf-8")
    return case


def test_the_carriers_record_of_a_call_merges_with_the_phones(tmp_path):
    case = case_with(tmp_path, '[[source]]\npath = "phone"\nowner = "victim"\n\n'
                               '[[source]]\npath = "carrier.csv"\nowner = "victim"\n')
    call_log(case / "phone" / "calllog.db")
    # The network logs both calls to the minute, calls the first "missed", and times it 1 s.
    (case / "carrier.csv").write_text(
        "Date,Time,Number,Direction,Duration\n"
        "04/09/2024,23:10,07700 900456,Missed,1\n"
        "04/09/2024,23:11,07700 900456,Missed,0\n"
        "25/09/2024,09:00,07700 900999,Incoming,30\n", encoding="utf-8")
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output
    rows = read_jsonl(case / "out" / "timeline.jsonl")
    calls = [r for r in rows if r["sender"] == "tel:+447700900456"]
    assert len(calls) == 2                      # one event per call, not four
    assert all(len(r["provenance"]) == 2 for r in calls)
    assert [r["call_status"] for r in calls] == ["rejected", "missed"]   # the phone's, finer
    conduct = json.loads((case / "out" / "conduct.json").read_text())
    assert list(conduct["breach_counts"].values()) == [2]


def test_a_phone_without_an_owner_needs_a_look(tmp_path):
    case = case_with(tmp_path, '[[source]]\npath = "phone"\n')
    call_log(case / "phone" / "calllog.db")
    result = run_cli("build", case)
    assert result.exit_code == 3
    assert "no owner" in result.output and 'owner = "KEY"' in result.output


def test_a_csv_no_parser_reads_points_to_the_column_mapping(tmp_path):
    case = case_with(tmp_path, '[[source]]\npath = "odd.csv"\nowner = "victim"\n')
    (case / "odd.csv").write_text("When it was,Who\n2024-09-04 23:10,07700 900456\n",
                                  encoding="utf-8")
    result = run_cli("build", case)
    assert result.exit_code == 3
    assert "map its columns" in result.output


def test_a_mapping_mistake_is_shown_on_the_screen_with_its_reason(tmp_path):
    case = case_with(tmp_path, '[[source]]\npath = "odd.csv"\nowner = "victim"\n'
                               'columns = {time = "When it was", number = "Caller"}\n')
    (case / "odd.csv").write_text("When it was,Who\n2024-09-04 23:10,07700 900456\n",
                                  encoding="utf-8")
    result = run_cli("build", case)
    assert result.exit_code == 3
    assert "Caller" in result.output and "headings found" in result.output


def test_an_unknown_key_in_a_column_mapping_stops_with_the_line(tmp_path):
    case = case_with(tmp_path, '[[source]]\npath = "odd.csv"\n'
                               'columns = {time = "When it was", phone = "Who"}\n')
    result = run_cli("build", case)
    assert result.exit_code == 1
    assert "line 19" in result.output and "'phone'" in result.output


def test_a_number_no_network_issues_needs_a_look(tmp_path):
    case = case_with(tmp_path, "")
    text = (case / "case.toml").read_text().replace('"tel:07700 900456"',
                                                    '"tel:07700 900456", "tel:07911 12345"')
    (case / "case.toml").write_text(text)
    result = run_cli("build", case)
    assert result.exit_code == 3
    assert "tel:07911 12345 is not a number any network issues" in result.output
    assert "07700 900456" not in result.output   # drama numbers are never doubted


def test_run_takes_a_reference(tmp_path):
    case = case_with(tmp_path, '[[source]]\npath = "phone"\nowner = "victim"\n')
    call_log(case / "phone" / "calllog.db")
    new = tmp_path / "new"
    result = run_cli("run", case / "phone", "--case", new, "--reference", "OP-9/24",
                     "--victim", "tel:07700 900123")
    assert result.exit_code == 0, result.output
    assert '"OP-9/24"' in (new / "case.toml").read_text()


def test_calls_that_differ_in_outcome_or_are_timed_only_to_the_day_stay_apart(tmp_path):
    case = case_with(tmp_path, '[[source]]\npath = "phone"\nowner = "victim"\n\n'
                               '[[source]]\npath = "carrier.csv"\nowner = "victim"\n')
    call_log(case / "phone" / "calllog.db")
    # An answered half-hour call at 23:10 is not the phone's rejected call; a call the network
    # logs only by its day merges with nothing.
    (case / "carrier.csv").write_text(
        "Date,Time,Number,Direction,Duration\n"
        "04/09/2024,23:10,07700 900456,Incoming,1800\n", encoding="utf-8")
    (case / "day.csv").write_text("Date,Number,Direction,Duration\n"
                                  "04/09/2024,07700 900456,Missed,0\n", encoding="utf-8")
    text = (case / "case.toml").read_text() + '\n[[source]]\npath = "day.csv"\nowner = "victim"\n'
    (case / "case.toml").write_text(text)
    assert run_cli("build", case).exit_code == 0
    rows = read_jsonl(case / "out" / "timeline.jsonl")
    calls = [r for r in rows if r["sender"] == "tel:+447700900456"]
    assert len(calls) == 4 and all(len(r["provenance"]) == 1 for r in calls)


def test_a_call_log_naming_both_sides_needs_no_owner(tmp_path):
    case = case_with(tmp_path, '[[source]]\npath = "bill.csv"\n'
                               'columns = {time = "When", from = "A", to = "B"}\n')
    (case / "bill.csv").write_text("When,A,B\n2024-09-04 23:10,07700 900456,07700 900123\n",
                                   encoding="utf-8")
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output
    assert "no owner" not in result.output
