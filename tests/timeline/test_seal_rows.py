"""The sealed row is made by inserting keys into the record's canonical text: it must be exactly
the canonical JSON of the whole row, whatever the record holds."""

from __future__ import annotations

import json

import pytest

from courseline.timeline.event import canonical_json
from courseline.timeline.identity import Directory, normalise
from courseline.timeline.seal import _row_text, _row_text_slowly, _Stored

DIRECTORY = Directory({"victim": [normalise("tel:07700 900123", "GB")],
                       "suspect": [normalise("email:x@example.net", "GB")]})
BASE = {
    "attachments": [], "call_status": None, "details": {}, "direction": "incoming",
    "direction_basis": "source", "duration_s": None, "flags": [], "kind": "sms",
    "location": None, "notes": [], "occurred_utc": "2024-08-30T06:40:00.000Z",
    "owner_side": "recipients", "platform": "phone", "precision": "ms",
    "recipients": ["tel:+447700900123"], "sender": "email:x@example.net", "subject": None,
    "text": "hello", "time_basis": "utc", "time_flags": [], "time_raw": "1725000000000",
    "time_readings": [], "time_source": "sms.date", "time_uncorrected_utc": None,
    "time_zone": None,
}
TRICKY = [
    {},
    {"recipients": []},
    {"recipients": ["name:a]b", 'name:quote " here', "tel:+447700900123"]},
    {"recipients": ["tel:Bank],", 'tel:x\\],"', "tel:]"]},
    {"sender": None},
    {"sender": 'name:,"subject":'},
    {"details": {"flags": ["x"], "recipients": ["y"], "sender": "z", "subject": "s",
                 "nested": {"flags": [], ",\"flags\":[": 1}}},
    {"text": ',"flags":[,"recipients":[,"sender":,"subject":', "subject": '],"sender":'},
    {"location": {"lat": 1.5, "lon": -0.25, "accuracy_m": None, "basis": "gps"}},
    {"repeat": 2},
    {"attachments": [{"name": "a.png", "sha256": "0" * 64, "size": 3, "media_type": "image/png"}]},
    {"notes": ['"flags"', ",\"recipients\":["], "flags": ["edited", "unsent"]},
]


@pytest.mark.parametrize("change", TRICKY)
def test_the_spliced_row_is_the_canonical_row(change):
    record = {**BASE, **change}
    stored = _Stored("e" * 64, canonical_json(record),
                     sorted([canonical_json({"exhibit": "A/2", "locator": "x"}),
                             canonical_json({"exhibit": "A/1", "locator": "y"})]))
    fast = _row_text(stored, 7, DIRECTORY)
    assert fast == _row_text_slowly(stored, 7, DIRECTORY)
    row = json.loads(fast)
    assert row["seq"] == 7 and row["event_id"] == "e" * 64
    assert [p["exhibit"] for p in row["provenance"]] == ["A/1", "A/2"]


def test_persons_are_filled_from_the_directory():
    stored = _Stored("e" * 64, canonical_json(BASE), [canonical_json({"exhibit": "A/1"})])
    row = json.loads(_row_text(stored, 1, DIRECTORY))
    assert row["sender_person"] == "suspect" and row["recipient_persons"] == ["victim"]


def test_csv_fields_follow_the_columns(built_demo):
    """Each CSV line is what the csv module writes for the row's values, column by column, with
    formula-like cells neutralised and the chain last."""
    import csv
    import io

    from courseline.timeline.seal import CSV_COLUMNS, _csv_fields
    from courseline.timeline.timeutil import civil_time

    derived = {
        "occurred_local": lambda r: civil_time(r["occurred_utc"], "Europe/London"),
        "exhibits": lambda r: "; ".join(f"{p['exhibit']} {p['path']} {p['locator']}"
                                        for p in r["provenance"]),
        "recipient_persons": lambda r: "; ".join(p or "" for p in r["recipient_persons"]),
    }
    joined = {"time_flags", "time_readings", "recipients", "flags", "notes"}

    def cell(value) -> str:
        if value is None or value == [] or value == {}:
            return ""
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) \
            if isinstance(value, (list, dict)) else str(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

    csv_text = (built_demo / "out" / "timeline.csv").read_bytes().decode("utf-8").split("\r\n", 1)[1]
    written = iter(csv.reader(io.StringIO(csv_text, newline="")))
    with (built_demo / "out" / "timeline.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            expected = [cell(derived[c](row) if c in derived else
                             "; ".join(map(str, row[c])) if c in joined else row.get(c))
                        for c in CSV_COLUMNS]
            buffer = io.StringIO(newline="")
            csv.writer(buffer, lineterminator="\r\n").writerow(expected)
            chain = row.pop("chain")
            civil = civil_time(row["occurred_utc"], "Europe/London")
            provenance = canonical_json(row["provenance"])
            assert ",".join(_csv_fields(row, civil, provenance)) + f",{chain}\r\n" == buffer.getvalue()
            assert next(written) == expected


@pytest.mark.parametrize("cells", [
    ["a", "b"], ["", ""], ["x,y", 'say "hi"', "line\nbreak", "cr\rhere", "crlf\r\n"],
    ["'=1+1", " spaced ", "\x00nul", "ünï", '"', ",", ""], ['{"a":[1,2]}', "[]", "tel:+44"],
])
def test_csv_lines_are_what_the_csv_module_writes(cells):
    import csv
    import io

    from courseline.timeline.seal import csv_line

    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    assert csv_line(cells) == buffer.getvalue()
