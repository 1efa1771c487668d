"""The victim's incident diary: the template courseline writes, filled in here by hand."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, parser_for
from courseline.parsers.diary import NAMES, VictimDiaryParser, write_template
from tests_support import events, rejects


def fill(folder: Path, rows: list[dict], name: str = "sam-diary.csv") -> Path:
    """The template as the CLI writes it, with rows added under its heading."""
    template = write_template(folder)[0]
    path = folder / name
    with template.open(encoding="utf-8", newline="") as source:
        text = source.read()
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        csv.DictWriter(handle, fieldnames=NAMES, lineterminator="\r\n").writerows(rows)
    return path


def parse(path: Path) -> list:
    sample = sample_file(path, path.name)
    assert parser_for(sample) is VictimDiaryParser
    items = list(VictimDiaryParser().parse(SourceFile(path, path.name, path.name, sample)))
    for item in events(items):
        item.check()
    return items


def test_a_filled_in_template_gives_diary_events_as_recalled(tmp_path):
    path = fill(tmp_path, [
        {"incident_date": "2024-08-10", "incident_time": "00:10", "how_sure": "exact",
         "written_at": "2024-08-10 08:05", "place": "Sam Taylor's home", "channel": "in person",
         "who": "Chris Walker", "what_happened": "He stood outside, looking up.",
         "threats": "\"You'll see\"", "crime_reference": "CR/1"},
        {},
        {"incident_date": "21/09/2024", "how_sure": "day only", "written_at": "2024-10-15",
         "account_used": "07700 900789", "what_happened": "At the station."},
    ])
    first, second = events(parse(path))
    assert (first.kind, first.platform, first.sender) == ("diary", "diary", "name:Chris Walker")
    assert first.time.value == datetime(2024, 8, 10, 0, 10)
    assert (first.time.basis, first.time.precision) == ("recalled", "min")
    assert first.text == "He stood outside, looking up."
    assert first.details["threats"] == "\"You'll see\"" and first.details["written_days_after"] == 0
    assert not any("written" in note and "days after" in note for note in first.notes)
    # A row with no time is a day's precision; written weeks later, it says so.
    assert second.time.value == datetime(2024, 9, 21) and second.time.precision == "day"
    assert second.sender == "tel:07700 900789"
    assert any("written 24 days after the incident" in note for note in second.notes)
    assert second.locator.startswith("row:")


def test_a_time_not_stated_as_exact_says_so(tmp_path):
    (found,) = events(parse(fill(tmp_path, [
        {"incident_date": "2024-08-27", "incident_time": "02:00", "how_sure": "about",
         "written_at": "2024-08-27 07:30", "what_happened": "Calls all night."}])))
    assert any("not stated as exact (how sure: about)" in note for note in found.notes)


@pytest.mark.parametrize("row, column", [
    ({"incident_date": "yesterday", "what_happened": "x"}, "incident_date"),
    ({"incident_date": "2024-02-30", "what_happened": "x"}, "incident_date"),
    ({"incident_date": "2024-02-03", "incident_time": "25:10", "what_happened": "x"},
     "incident_time"),
    ({"what_happened": "no date at all"}, "incident_date"),
])
def test_an_unreadable_row_is_a_reject_naming_the_row_and_column(tmp_path, row, column):
    items = parse(fill(tmp_path, [row]))
    (reject,) = rejects(items)
    assert reject.locator.startswith("row:") and reject.reason.startswith(f"{column}:")
    assert not events(items)


def test_the_template_is_refused_twice_and_not_taken_for_a_call_log(tmp_path):
    (template, *_) = write_template(tmp_path)
    with pytest.raises(FileExistsError):
        write_template(tmp_path)
    # The empty template is the diary's (no rows: no events), not a call log's.
    assert parser_for(sample_file(template, template.name)) is VictimDiaryParser
    assert parse(template) == []


def test_an_excel_diary_is_read_when_openpyxl_is_installed(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(NAMES))
    sheet.append([datetime(2024, 8, 10), "00:10", "exact", datetime(2024, 8, 10, 8, 5)]
                 + [None] * 5 + ["He stood outside."])
    path = tmp_path / "sam diary.xlsx"
    workbook.save(path)
    (found,) = events(parse(path))
    assert found.time.value == datetime(2024, 8, 10, 0, 10) and found.text == "He stood outside."
    assert found.details["written_days_after"] == 0 and found.locator == "row:2"
