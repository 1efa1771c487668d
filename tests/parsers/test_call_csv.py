"""Carrier and phone CSV call logs (parsers/call_csv.py): recognised layouts, case-file mappings,
times and the day/month order, directions and statuses, encodings, and hostile input.

Synthetic data only: numbers in the Ofcom drama range 07700 900000-900999, names invented.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, parser_for
from courseline.parsers._phone import UNKNOWN_NUMBER, WITHHELD
from courseline.parsers.call_csv import (
    MAX_LINE_CHARS, CallCsvParser, read_duration, read_time, read_type,
)
from courseline.timeline.event import MAX_FIELD_CHARS, Event, Reject, SourceNote
from tests_support import checked, events, only_event, rejects, source_notes as notes

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"


# -- helpers ---------------------------------------------------------------------------------------

def source_for(tmp_path: Path, data: bytes | str, name: str = "calls.csv",
               options: dict[str, Any] | None = None) -> SourceFile:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    sample = sample_file(path, name)
    if options is not None:
        sample = replace(sample, options=options)
    return SourceFile(path=path, case_path=f"exports/{name}", name=name, sample=sample)


def claimed(tmp_path: Path, data: bytes | str, options: dict[str, Any] | None = None) -> bool:
    return CallCsvParser.recognises(source_for(tmp_path, data, options=options).sample)


def parse(tmp_path: Path, data: bytes | str, options: dict[str, Any] | None = None,
          name: str = "calls.csv") -> list[Event | Reject | SourceNote]:
    return checked(CallCsvParser().parse(source_for(tmp_path, data, name, options)))


# -- recognised layouts ----------------------------------------------------------------------------

PHONE_APP = (
    "Name,Number,Date,Duration,Type\n"
    "Alex,07700 900123,2024-03-02 21:14:05,65,Incoming\n"
    ",+447700900124,2024-03-02 21:20:00,0,Outgoing\n"
    "Alex,07700 900123,2024-03-02 22:01:30,,Missed\n"
    ",Withheld,2024-03-03 08:00:00,0,Rejected\n"
)


def test_phone_export_app_layout(tmp_path):
    assert claimed(tmp_path, PHONE_APP)
    records = parse(tmp_path, PHONE_APP)
    assert not rejects(records)
    first, second, third, fourth = events(records)
    assert (first.kind, first.platform, first.direction, first.call_status) == \
        ("call", "phone", "incoming", "answered")
    assert first.sender == "tel:07700 900123" and first.recipients == []
    assert first.owner_side == "recipients" and first.duration_s == 65
    assert first.time.value == datetime(2024, 3, 2, 21, 14, 5)
    assert (first.time.basis, first.time.precision) == ("local", "s")
    assert first.time.source == "CSV column 'Date'"
    assert first.locator == "csv:row=1"
    assert first.details["contact_name"] == "Alex" and first.details["type"] == "Incoming"
    assert (second.direction, second.recipients, second.owner_side) == \
        ("outgoing", ["tel:+447700900124"], "sender")
    assert second.call_status == "unanswered"
    assert any("derived" in n and "0 s" in n for n in second.notes)
    assert (third.direction, third.call_status, third.duration_s) == ("incoming", "missed", None)
    assert (fourth.call_status, fourth.sender) == ("rejected", WITHHELD)
    assert fourth.details["number_as_written"] == "Withheld"
    assert any("Number" in n and "Date" in n for n in notes(records))


CARRIER = (
    "Itemised call history for account 0000 (synthetic)\n"
    "\n"
    "Call Date,Call Time,Other Party,Duration (hh:mm:ss),Direction,Cost\n"
    "25/03/2024,21:14:05,07700900123,00:01:05,MO,0.10\n"
    "26/03/2024,09:00:00,07700900125,1:02:03,MT,\n"
)


def test_carrier_layout_with_title_lines_and_split_date_and_time(tmp_path):
    assert claimed(tmp_path, CARRIER)
    records = parse(tmp_path, CARRIER)
    first, second = events(records)
    assert first.time.raw == "25/03/2024 21:14:05"
    assert first.time.value == datetime(2024, 3, 25, 21, 14, 5)
    assert first.time.source == "CSV columns 'Call Date' + 'Call Time'"
    assert first.direction == "outgoing" and first.recipients == ["tel:07700900123"]
    assert first.duration_s == 65 and first.call_status == "answered"
    assert first.details["duration"] == "00:01:05"
    assert first.details["other_columns"] == {"Cost": "0.10"}
    # Header on line 3: data row 1 is physical line 4, and the locator says so.
    assert first.locator == "csv:row=1,line=4" and second.locator == "csv:row=2,line=5"
    assert second.direction == "incoming" and second.duration_s == 3723
    assert any("line(s) above the header" in n and "Itemised call history" in n
               for n in notes(records))


FROM_TO = (
    "Start Time,Calling Number,Called Number,Duration (s),Call Type\n"
    "2024-03-02T21:14:05+00:00,07700900123,07700900124,30,Voice\n"
    "2024-03-02T22:14:05Z,07700900124,07700900123,0,Missed\n"
)


def test_from_and_to_columns_leave_the_owner_side_to_the_core(tmp_path):
    assert claimed(tmp_path, FROM_TO)
    first, second = events(parse(tmp_path, FROM_TO))
    assert first.sender == "tel:07700900123" and first.recipients == ["tel:07700900124"]
    assert first.owner_side is None and first.direction == "unknown"
    assert first.call_status is None and first.duration_s == 30
    assert first.time.basis == "offset" and first.time.value.utcoffset() == timedelta(0)
    assert second.time.basis == "utc"
    assert (second.direction, second.call_status) == ("incoming", "missed")
    assert second.owner_side is None and second.sender == "tel:07700900124"


SMS_LOG = (
    "Date/Time;Phone Number;Type;Message\n"
    "2024-03-02 21:14;07700900123;SMS received;\"Where are you?\nAnswer me\"\n"
    "2024-03-02 21:15;07700900123;Text sent;leave me alone\n"
    "2024-03-02 21:16;07700900123;Outgoing call;\n"
)


def test_sms_rows_semicolon_delimiter_and_multi_line_text(tmp_path):
    assert claimed(tmp_path, SMS_LOG)
    records = parse(tmp_path, SMS_LOG)
    first, second, third = events(records)
    assert (first.kind, first.direction, first.text) == ("sms", "incoming", "Where are you?\nAnswer me")
    assert first.call_status is None and first.duration_s is None
    assert first.time.precision == "min"
    assert (second.kind, second.direction, second.recipients) == ("sms", "outgoing", ["tel:07700900123"])
    # The quoted text spans two lines: row 2 starts on line 4, not 3.
    assert second.locator == "csv:row=2,line=4" and third.locator == "csv:row=3,line=5"
    assert third.kind == "call" and third.direction == "outgoing"
    assert any("semicolon" in n for n in notes(records))


GOOGLE_VOICE = (
    "timestamp,date,time,type,contact_id,contact_name,call_duration,message_days,message_count\n"
    "2020-05-14T15:47:49+00:00,2020-05-14,11:47 AM,Text,0a1b2c3d4e,Person B,,4,4\n"
    "2020-06-12T14:41:25+00:00,2020-06-12,10:41 AM,Received,,,00:04:45,,\n"
    "2020-08-19T12:03:42+00:00,2020-08-19,08:03 AM,Missed,1a2b3c4d5e,,,,\n"
    "2020-08-19T18:01:58+00:00,2020-08-19,02:01 PM,Placed,2b3c4d5e6f,Person C,00:00:24,,\n"
    "2020-08-19T19:31:21+00:00,2020-08-19,03:31 PM,Voicemail,3c4d5e6f7a,,00:00:25,,\n"
)


def test_google_voice_history_layout(tmp_path):
    assert claimed(tmp_path, GOOGLE_VOICE)
    records = parse(tmp_path, GOOGLE_VOICE)
    text, received, missed, placed, voicemail = events(records)
    assert all(e.platform == "google-voice" for e in events(records))
    assert any("Google Voice history" in n for n in notes(records))
    assert (text.kind, text.direction) == ("sms", "unknown")
    assert text.details["other_party"] == "name:Person B"
    assert text.details["other_columns"]["message_count"] == "4"
    assert text.time.value == datetime(2020, 5, 14, 15, 47, 49, tzinfo=UTC)
    assert (received.direction, received.call_status, received.duration_s) == \
        ("incoming", "answered", 285)
    assert received.sender == UNKNOWN_NUMBER
    assert (missed.call_status, missed.details["other_columns"]["contact_id"]) == \
        ("missed", "1a2b3c4d5e")
    assert (placed.direction, placed.recipients, placed.call_status) == \
        ("outgoing", ["name:Person C"], "answered")
    assert voicemail.call_status == "voicemail" and voicemail.duration_s == 25


# -- not claimed -----------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    "Date,Amount\n2024-01-01,12.00\n",
    "Date,Number,Amount\n2024-01-01,INV-0001,12.00\n",     # an invoice number
    "datetime,author,message,weekday\n2024-01-01 10:00,A,hi,Monday\n",
    "Name,Phone,Email\nAlex,07700900123,alex@example.org\n",  # a contact list: no time
    "just some text, with a comma\nand another line\n",
])
def test_other_csv_files_are_not_claimed(tmp_path, data):
    assert not claimed(tmp_path, data)


TIMELINE_CSV = ("seq,event_id,occurred_utc,occurred_local,precision,time_basis,time_raw,"
                "time_source,time_zone,time_flags,time_readings,time_uncorrected_utc,kind,"
                "platform,direction,direction_basis,sender,sender_person,recipients,"
                "recipient_persons,subject,text,call_status,duration_s\n"
                "1,ab,2024-03-02T21:14:05Z,x,s,utc,x,x,x,,,,call,phone,incoming,source,"
                "tel:+447700900123,,,,,,answered,65\n")


def test_courselines_own_timeline_csv_is_not_claimed(tmp_path):
    assert not claimed(tmp_path, TIMELINE_CSV)
    mapping = {"columns": {"time": "occurred_utc", "number": "sender"}}
    assert not claimed(tmp_path, TIMELINE_CSV, mapping)


def test_a_mapping_leaves_other_text_files_of_the_source_alone(tmp_path):
    """A mapped source may be a folder: its mbox or chat text is not a CSV with the wrong
    headings, but a file named .csv is (and gets the reject saying so)."""
    mapping = {"columns": {"time": "Zeitpunkt", "number": "Gegenstelle"}}
    mbox = ("From x@example.net Sat Mar  2 21:14:05 2024\nFrom: x@example.net\n"
            "To: a@example.org, b@example.org\nDate: Sat, 02 Mar 2024 21:14:05 +0000\n\nhi\n")

    def claimed_as(name: str, data: str) -> bool:
        return CallCsvParser.recognises(source_for(tmp_path, data, name, mapping).sample)

    assert not claimed_as("mail.mbox", mbox)
    assert not claimed_as("notes.txt", "Date,Amount\n2024-01-01,3\n")
    assert claimed_as("calls.txt", ODD)          # its header holds the mapped headings
    assert claimed_as("export.csv", "Date,Amount\n2024-01-01,3\n")  # named CSV: read, rejected


def test_binary_and_html_files_are_not_claimed_even_with_a_mapping(tmp_path):
    mapping = {"columns": {"time": "When", "number": "Who"}}
    assert not claimed(tmp_path, b"SQLite format 3\x00" + b"\x00" * 200, mapping)
    assert not claimed(tmp_path, "<!DOCTYPE html><html><body>a,b,c</body></html>\n", mapping)


# -- a mapping from the case file -------------------------------------------------------------------

ODD = ("Wann|Wer\n"  # a title line without a delimiter
       "Zeitpunkt,Gegenstelle,Sekunden,Richtung\n"
       "02.03.2024 21:14:05,07700 900123,12,abgehend\n"
       "02.03.2024 21:20:00,07700 900124,0,ankommend\n")
ODD_MAPPING = {"columns": {"time": "Zeitpunkt", "number": "Gegenstelle", "duration": "Sekunden",
                           "direction": "Richtung"},
               "time_format": "%d.%m.%Y %H:%M:%S"}


def test_a_mapping_claims_and_reads_any_layout(tmp_path):
    assert not claimed(tmp_path, ODD)
    assert claimed(tmp_path, ODD, ODD_MAPPING)
    source = source_for(tmp_path, ODD, options=ODD_MAPPING)
    assert parser_for(source.sample) is CallCsvParser
    records = parse(tmp_path, ODD, ODD_MAPPING)
    first, second = events(records)
    assert first.time.value == datetime(2024, 3, 2, 21, 14, 5) and first.time.basis == "local"
    assert first.duration_s == 12 and first.locator == "csv:row=1,line=3"
    assert second.duration_s == 0 and second.locator == "csv:row=2,line=4"
    # German direction words are not in the table: kept verbatim, direction unknown.
    assert first.direction == "unknown" and first.details["type"] == "abgehend"
    assert first.details["other_party"] == "tel:07700 900123"
    assert any("not recognised" in n for n in first.notes)
    assert any("time_format" in n for n in notes(records))


def test_a_mapping_matches_headings_without_regard_to_case_and_spaces(tmp_path):
    data = "  DATE ,Caller,Callee\n2024-03-02 21:14:05,07700900123,07700900124\n"
    records = parse(tmp_path, data, {"columns": {"time": "date", "from": "CALLER",
                                                 "to": "callee"}})
    event = only_event(records)
    assert event.sender == "tel:07700900123" and event.recipients == ["tel:07700900124"]


def test_a_mapping_with_both_time_and_date_is_refused(tmp_path):
    data = "Date,Time,Caller,Callee\n2024-03-02,21:14:05,07700900123,07700900124\n"
    mapping = {"columns": {"time": "Date", "date": "Date", "clock": "Time", "from": "Caller",
                           "to": "Callee"}}
    (reject,) = rejects(parse(tmp_path, data, mapping))
    assert reject.locator == "source" and "both time and date/clock" in reject.reason


def test_a_mapping_with_date_and_clock_columns(tmp_path):
    data = "Tag,Uhr,Nr\n02.03.2024,21:14,07700900123\n"
    records = parse(tmp_path, data, {"columns": {"date": "Tag", "clock": "Uhr", "number": "Nr"}})
    event = only_event(records)
    assert event.time.value == datetime(2024, 3, 2, 21, 14) and event.time.precision == "min"


def test_a_mapped_heading_missing_from_the_file_is_one_reject_naming_it(tmp_path):
    mapping = {"columns": {"time": "Zeitpunkt", "number": "Rufnummer"}}
    records = parse(tmp_path, ODD, mapping)
    assert events(records) == []
    (reject,) = rejects(records)
    assert reject.locator == "source"
    assert "'Rufnummer'" in reject.reason and "'Zeitpunkt'" not in reject.reason.split(";")[0]
    assert "'Gegenstelle'" in reject.reason  # the headings found
    assert "3 further non-blank line(s) were not read" in reject.reason


def test_unknown_mapping_keys_are_a_reject_naming_them_and_the_allowed_keys(tmp_path):
    mapping = {"columns": {"time": "Zeitpunkt", "number": "Gegenstelle", "caller_name": "Wer"}}
    assert claimed(tmp_path, ODD, mapping)
    (reject,) = rejects(parse(tmp_path, ODD, mapping))
    assert reject.locator == "source"
    assert "'caller_name'" in reject.reason
    assert "time, date, clock, number, from, to, duration, direction" in reject.reason


def test_a_mapping_without_time_or_number_is_a_reject(tmp_path):
    (reject,) = rejects(parse(tmp_path, ODD, {"columns": {"time": "Zeitpunkt"}}))
    assert "needs" in reject.reason and "number" in reject.reason


# -- times -----------------------------------------------------------------------------------------

def _dated(values: list[str]) -> str:
    return "Date,Number,Type\n" + "".join(f"{v},07700900123,in\n" for v in values)


def test_day_first_is_decided_from_the_whole_file(tmp_path):
    data = _dated(["03/04/2024 10:00", "04/04/2024 10:00", "05/04/2024 10:00",
                   "06/04/2024 10:00", "25/03/2024 10:00"])
    records = parse(tmp_path, data)
    found = events(records)
    assert [e.time.value.date().isoformat() for e in found] == \
        ["2024-04-03", "2024-04-04", "2024-04-05", "2024-04-06", "2024-03-25"]
    assert all(not any("assumed" in n for n in e.notes) for e in found)
    (order,) = [n for n in notes(records) if "day/month" in n]
    assert "day first, decided from the file" in order and "row 5" in order


def test_month_first_is_decided_from_the_whole_file(tmp_path):
    found = events(parse(tmp_path, _dated(["03/04/2024 10:00", "03/25/2024 10:00"])))
    assert [e.time.value.date().isoformat() for e in found] == ["2024-03-04", "2024-03-25"]


def test_an_undecidable_file_is_read_day_first_and_says_so(tmp_path):
    records = parse(tmp_path, _dated(["03/04/2024 10:00", "05/06/2024 10:00:00", "07/07/2024"]))
    found = events(records)
    assert [e.time.value.date().isoformat() for e in found] == \
        ["2024-04-03", "2024-06-05", "2024-07-07"]
    (order,) = [n for n in notes(records) if "day/month" in n]
    assert "ASSUMED day first" in order and "time_format" in order
    assert "2 row(s)" in order  # 07/07 reads the same either way
    assert any("assumed" in n for n in found[0].notes)
    assert not any("assumed" in n for n in found[2].notes)
    assert found[2].time.precision == "day"


def test_a_file_with_both_orders_rejects_only_the_rows_that_cannot_tell(tmp_path):
    records = parse(tmp_path, _dated(["25/03/2024 10:00", "03/25/2024 10:00",
                                      "03/04/2024 10:00"]))
    assert [e.time.value.date().isoformat() for e in events(records)] == \
        ["2024-03-25", "2024-03-25"]
    (reject,) = rejects(records)
    assert reject.locator == "csv:row=3" and "day/month order cannot be decided" in reject.reason
    assert any("rows disagree" in n for n in notes(records))


def test_time_format_overrides_the_guess(tmp_path):
    data = _dated(["03/04/2024 10:00"])
    event = only_event(parse(tmp_path, data, {"time_format": "%m/%d/%Y %H:%M"}))
    assert event.time.value == datetime(2024, 3, 4, 10, 0)


@pytest.mark.parametrize("text, value, basis, precision", [
    ("2024-03-02 21:14:05", datetime(2024, 3, 2, 21, 14, 5), "local", "s"),
    ("2024-03-02T21:14", datetime(2024, 3, 2, 21, 14), "local", "min"),
    ("2024-03-02T21:14:05.250Z", datetime(2024, 3, 2, 21, 14, 5, 250000, tzinfo=UTC),
     "utc", "ms"),
    ("2024-03-02 21:14:05 +0100", datetime(2024, 3, 2, 21, 14, 5,
                                           tzinfo=timezone(timedelta(hours=1))), "offset", "s"),
    ("2024-03-02T21:14:05-05:00", datetime(2024, 3, 2, 21, 14, 5,
                                           tzinfo=timezone(timedelta(hours=-5))), "offset", "s"),
    ("2024/03/02 21:14:05", datetime(2024, 3, 2, 21, 14, 5), "local", "s"),
    ("2 Mar 2024 9:14 PM", datetime(2024, 3, 2, 21, 14), "local", "min"),
    ("Sat, 02 Mar 2024 21:14:05 GMT", datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC),
     "utc", "s"),
    ("March 2, 2024 at 9:14:05\u202fPM", datetime(2024, 3, 2, 21, 14, 5), "local", "s"),
    ("12/03/24 00:05", datetime(2024, 3, 12, 0, 5), "local", "min"),
])
def test_time_layouts(text, value, basis, precision):
    read = read_time(text, "day-first")
    assert (read.value, read.basis, read.precision) == (value, basis, precision)


@pytest.mark.parametrize("text", ["yesterday", "2024-13-02 10:00", "31/02/2024 10:00",
                                  "2024-03-02 25:00", "2024-03-02 21:14 BST", "13 PM"])
def test_unreadable_times_raise(text):
    with pytest.raises(ValueError):
        read_time(text, "day-first")


def test_unix_times(tmp_path):
    data = "Timestamp,Number,Type\n1709414045,07700900123,in\n1709414045123,07700900123,out\n"
    first, second = events(parse(tmp_path, data))
    assert first.time.value == datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)
    assert second.time.precision == "ms" and second.time.basis == "utc"


# -- durations, directions, numbers --------------------------------------------------------------

@pytest.mark.parametrize("text, factor, expected", [
    ("65", 1, 65), ("65.0", 1, 65), ("01:05", 1, 65), ("00:01:05", 1, 65), ("1:00:00", 1, 3600),
    ("1m 5s", 1, 65), ("65 sec", 1, 65), ("2", 60, 120), ("1.5", 60, 90),
    ("-3", 1, None), ("01:75", 1, None), ("a while", 1, None), ("9" * 50, 1, None),
])
def test_durations(text, factor, expected):
    assert read_duration(text, factor) == expected


@pytest.mark.parametrize("value, direction, status, kind", [
    ("Incoming", "incoming", None, None),
    ("Received", "incoming", None, None),
    ("MT", "incoming", None, None),
    ("Outgoing Call", "outgoing", None, "call"),
    ("Dialled", "outgoing", None, None),
    ("dialed", "outgoing", None, None),
    ("MO", "outgoing", None, None),
    ("Placed", "outgoing", None, None),
    ("Missed", "incoming", "missed", None),
    ("Missed call", "incoming", "missed", "call"),
    ("Rejected", "incoming", "rejected", None),
    ("Declined", "incoming", "rejected", None),
    ("Blocked", "incoming", "blocked", None),
    ("Voicemail", "incoming", "voicemail", None),
    ("Voice mail", "incoming", "voicemail", None),
    ("Outgoing, no answer", "outgoing", "unanswered", None),
    ("SMS in", "incoming", None, "sms"),
    ("MO SMS", "outgoing", None, "sms"),
    ("Text", "unknown", None, "sms"),
    ("MMS received", "incoming", None, "mms"),
    ("GPRS", "unknown", None, "data"),
    ("in/out", "unknown", None, None),
    ("Forwarded", "unknown", None, None),
])
def test_type_values(value, direction, status, kind):
    reading = read_type(value)
    assert (reading.direction, reading.status, reading.kind) == (direction, status, kind)


def test_incoming_call_of_zero_seconds_has_no_status(tmp_path):
    data = "Date,Number,Duration,Type\n2024-03-02 10:00,07700900123,0,Incoming\n"
    event = only_event(parse(tmp_path, data))
    assert event.call_status is None and any("0 s" in n for n in event.notes)


def test_unknown_type_keeps_the_value_and_the_party(tmp_path):
    data = "Date,Number,Duration,Type\n2024-03-02 10:00,07700900123,5,Forwarded\n"
    event = only_event(parse(tmp_path, data))
    assert event.direction == "unknown" and event.details["type"] == "Forwarded"
    assert event.sender is None and event.recipients == [] and event.owner_side is None
    assert event.details["other_party"] == "tel:07700900123"
    assert any("'Forwarded' not recognised" in n for n in event.notes)


@pytest.mark.parametrize("written, identifier", [
    ("Withheld", WITHHELD), ("PRIVATE NUMBER", WITHHELD), ("Restricted", WITHHELD),
    ("anonymous", WITHHELD), ("Unknown", UNKNOWN_NUMBER), ("-2", WITHHELD),
    ('="07700900123"', "tel:07700900123"), ("'07700900123", "tel:07700900123"),
])
def test_numbers_without_a_caller_id_and_excel_guards(tmp_path, written, identifier):
    data = f'Date,Number,Type\n2024-03-02 10:00,"{written.replace(chr(34), chr(34) * 2)}",in\n'
    assert only_event(parse(tmp_path, data)).sender == identifier


def test_data_rows_and_bad_rows_are_rejected_never_dropped(tmp_path):
    data = ("Date,Number,Duration,Type\n"
            "2024-03-02 10:00,07700900123,5,in\n"
            "2024-03-02 10:01,07700900123\n"          # too few fields
            "not a date,07700900123,5,in\n"           # unreadable time
            "2024-03-02 10:02,,5,in\n"                # no number
            ",,,\n"                                   # blank: not a record
            "2024-03-02 10:03,07700900123,0,GPRS\n"   # a data session
            "Total,,,5\n")                            # a trailer
    records = parse(tmp_path, data)
    assert [e.locator for e in events(records)] == ["csv:row=1"]
    reasons = {r.locator: r.reason for r in rejects(records)}
    assert set(reasons) == {"csv:row=2", "csv:row=3", "csv:row=4", "csv:row=6", "csv:row=7"}
    assert "2 field(s)" in reasons["csv:row=2"]
    assert "unreadable time 'not a date'" in reasons["csv:row=3"]
    assert "no number" in reasons["csv:row=4"]
    assert "data-session" in reasons["csv:row=6"]
    assert any("1 blank row(s) skipped (data rows 5)" in n for n in notes(records))


def test_long_fields_are_cut_and_flagged(tmp_path):
    data = ("Date,Number,Type,Notes\n"
            f"2024-03-02 10:00,07700900123,{'in ' * 4000},{'n' * 20_000}\n")
    event = only_event(parse(tmp_path, data))
    assert "truncated" in event.flags
    assert len(event.details["type"]) == MAX_FIELD_CHARS
    assert len(event.details["other_columns"]["Notes"]) == 1_000


def test_no_direction_column_keeps_the_party_in_details(tmp_path):
    data = "Date,Phone Number\n2024-03-02 10:00,07700900123\n"
    event = only_event(parse(tmp_path, data))
    assert event.direction == "unknown" and event.details["other_party"] == "tel:07700900123"
    assert any("no type or direction column" in n for n in event.notes)


# -- encodings and delimiters ----------------------------------------------------------------------

def test_cp1252_file(tmp_path):
    data = "Date;Number;Type;Name\r\n2024-03-02 10:00;07700900123;in;Zoë Café\r\n".encode("cp1252")
    records = parse(tmp_path, data)
    assert only_event(records).details["contact_name"] == "Zoë Café"
    assert any("cp1252" in n for n in notes(records))


def test_utf8_file_with_a_byte_order_mark(tmp_path):
    data = "\ufeffDate,Number,Type,Name\n2024-03-02 10:00,07700900123,in,Zoë\n".encode("utf-8")
    assert claimed(tmp_path, data)
    records = parse(tmp_path, data)
    assert only_event(records).details["contact_name"] == "Zoë"
    assert any("byte-order mark" in n for n in notes(records))


def test_utf16_tab_separated_file(tmp_path):
    data = "Date\tNumber\tType\r\n2024-03-02 10:00\t07700900123\tout\r\n".encode("utf-16")
    assert claimed(tmp_path, data)
    records = parse(tmp_path, data)
    assert only_event(records).recipients == ["tel:07700900123"]
    assert any("tab-separated" in n for n in notes(records))


# -- hostile input ---------------------------------------------------------------------------------

def test_an_unclosed_quote_is_a_reject_that_names_the_lines(tmp_path, hang_guard):
    data = ("Date,Number,Type\n2024-03-02 10:00,07700900123,in\n"
            '2024-03-02 10:01,"07700900123,in\n2024-03-02 10:02,07700900123,in\n')
    with hang_guard():
        records = parse(tmp_path, data)
    assert len(events(records)) == 1
    (reject,) = rejects(records)
    assert reject.locator == "csv:row=2" and "line 3 to line 4" in reject.reason


def test_an_overlong_line_stops_the_reading_with_a_reject(tmp_path, hang_guard):
    data = ("Date,Number,Type\n2024-03-02 10:00,07700900123,in\n"
            + "x" * (MAX_LINE_CHARS + 10) + "\n2024-03-02 10:02,07700900123,in\n")
    with hang_guard():
        records = parse(tmp_path, data)
    assert len(events(records)) == 1
    (reject,) = rejects(records)
    assert reject.locator == "csv:row=2" and "rest of the file was not read" in reject.reason


def test_nul_bytes_and_garbage_do_not_raise(tmp_path, hang_guard):
    data = b"Date,Number,Type\n2024-03-02 10:00,0770\x00900123,in\n\xff\xfe\x00,\x00\n"
    with hang_guard():
        records = parse(tmp_path, data)
    assert len(events(records)) + len(rejects(records)) == 2


def test_parsing_is_deterministic(tmp_path):
    first = parse(tmp_path, CARRIER)
    second = parse(tmp_path, CARRIER)
    assert first == second


# -- real samples ----------------------------------------------------------------------------------

def test_no_real_sample_is_claimed():
    """No licensed call CSV exists (formats.md §2.4); the corpus holds other CSV and text files
    (an Instagram ``datetime,author,message`` CSV, WhatsApp text) that must not be claimed."""
    if not REALWORLD.is_dir():
        pytest.skip(f"real-world samples not found at {REALWORLD}")
    files = sorted(p for p in REALWORLD.rglob("*") if p.is_file())
    assert any(p.suffix == ".csv" for p in files)
    claimed_files = [p.relative_to(REALWORLD).as_posix() for p in files
                     if CallCsvParser.recognises(sample_file(p))]
    assert claimed_files == []
