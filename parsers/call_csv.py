"""Call and text logs in CSV: carrier "download call history" / itemised-bill exports, phone
call-log export apps, and the Google Voice history CSV.

Format (research formats.md §2.4): there is no standard, and no licensed carrier CSV fixture was
found. This parser therefore reads a CSV in one of two ways:

* **Recognised headings.** The header row (one of the first :data:`MAX_PREAMBLE_LINES` lines, so a
  title or account line above it is allowed) holds a time column and a number column from the
  synonym tables below (:data:`SYNONYMS`, compared case-insensitively with everything but letters
  and digits removed: ``Date/Time``, ``date_time`` and ``DATE TIME`` are one heading), or a
  known whole layout (:data:`KNOWN_LAYOUTS`): the Google Voice history CSV written by
  Mutual-Aid-Medford-and-Somerville/google-voice-history (``src/google_voice_history.py``
  ``CALL_FIELDS``, sample ``tests/takeout.csv`` at commit 3acca5f: ``timestamp,date,time,type,
  contact_id,contact_name,call_duration,message_days,message_count``; its ``timestamp`` is the
  UTC time from the Takeout file name, ``date``/``time`` the local time on 12-hour clock,
  ``contact_id`` an anonymising hash of the number or name, so that layout carries no number).
  A bare ``Number`` heading is too common in other CSVs (invoices, orders) to claim a file on its
  own: it needs a duration, direction, kind or contact-name column beside it
  (:data:`WEAK_NUMBER_HEADINGS`). courseline's own ``timeline.csv`` is never claimed.
* **A column mapping from the case file** (``sample.options``: ``columns = {time = "Heading",
  number = "Heading", …}`` and optionally ``time_format``) for any other layout. Allowed keys are
  :data:`FIELDS`; ``time`` (or ``date`` + ``clock``) and ``number`` (or ``from`` + ``to``) are
  required; ``status`` (a separate answered/missed column) and ``name`` (the contact name shown)
  are optional extras beyond the brief's list. With a mapping the parser claims (high
  :attr:`CallCsvParser.PRIORITY`) a text file whose header holds the mapped headings, and any
  text file named ``.csv``/``.tsv`` or typed as CSV, so that a mapped heading the header lacks,
  or an unknown key, is one reject (locator ``source``) naming what is missing, the headings
  found and how many lines were left unread; other text files of the source (an mbox beside the
  CSV in the same folder) are left to their parsers.

Reading: the file is decoded as UTF-16 when it starts with a UTF-16 byte-order mark (Excel's
"Unicode text"), else as UTF-8 (a BOM is skipped) when the whole file is valid UTF-8, else as
cp1252 (Excel's "CSV" on Windows); the delimiter is the most frequent of ``,`` ``;`` and tab on the
header line. The file is streamed (two passes when the day/month order must be decided, never
held whole); a physical line over :data:`MAX_LINE_CHARS` or a field over
:data:`MAX_CSV_FIELD_CHARS` stops the reading with a reject naming the line.

Times: ISO 8601 (``2024-03-02 21:14:05``, ``T``, fractions, ``Z``/``UTC``/``±hh:mm``), year-first
with ``/`` or ``.``, numeric day/month dates (``02/03/2024 21:14``), English month names
(``2 Mar 2024 9:14 PM``, ``Mar 2, 2024``), 12- or 24-hour clocks, Unix seconds or milliseconds
(10 or 13 digits), or exactly ``time_format`` when the case file gives it. A time with an offset is
basis ``offset``, with ``Z``/``UTC``/``GMT`` ``utc``, without a zone ``local`` (naive: the core reads
it in the source's zone). Precision is what is written: ``ms``/``s``/``min``/``day``. Separate
date and clock columns are joined with a space before reading (``time_format`` then applies to
the joined text). The day/month order of numeric dates is decided from the whole file: a row with
a first number over 12 makes the file day-first, one with a second number over 12 month-first;
when rows disagree, each row that says its own order is read so and the others are rejected; when
no row decides, day-first is assumed (courseline's users are in day-first regions) and a source
note names the ``time_format`` option that overrides it.

Calls and texts: a type/direction value is read word by word through :data:`TYPE_WORDS` and
:data:`TYPE_PHRASES` (``Incoming``, ``Outgoing call``, ``MO SMS``, ``Missed``, ``Dialled``,
``Rejected``, ``Blocked``, ``Voicemail``, Google Voice ``Placed``/``Received``/``Text`` …); a kind
column or a type value that says SMS/text makes the row an ``sms`` (MMS an ``mms``), a data
session row (``GPRS``, ``Data``) is rejected as not a call or text. An outgoing call without a
status is ``answered`` when it lasted more than 0 s and ``unanswered`` at 0 s (noted); an
incoming call without a status is ``answered``, except at 0 s where the status is left empty
(noted). Unrecognised values give direction ``unknown`` with the value kept in ``details.type``.
With one number column the other party is the sender (incoming) or recipient (outgoing) and
``owner_side`` names the other side, which the core fills with the source's owner; when the
direction is unknown the party is kept in
``details.other_party`` only (it cannot be placed on either side). With ``from``/``to`` columns
both sides are written as the file gives them and ``owner_side`` is left empty: the core derives
the direction from the owner's identifiers when the file does not say it. Withheld/private/
restricted/anonymous/unknown written as the number become the shared ``tel:Withheld`` /
``tel:Unknown`` identifiers; an Excel text guard (``="07700…"`` or a leading ``'``) is removed.
Durations: seconds (``125``, ``125.0``, ``125 s``), ``mm:ss``, ``h:mm:ss``, ``1h 2m 5s``; a heading
that says minutes (``Duration (mins)``) multiplies by 60. Columns the parser does not use are kept
in ``details.other_columns`` (cost, cell id …), at most :data:`MAX_OTHER_COLUMNS` values of
:data:`MAX_OTHER_CHARS` characters. Used fields are cut at ``MAX_FIELD_CHARS`` (10,000), a text
column at ``MAX_TEXT_CHARS`` like every message body, with the ``truncated`` flag.

Clocks: a time is marked as written by the device's clock (the case file's clock offset for the
source applies). A carrier's records are timed by the network, not the phone: for a carrier
export leave the source's ``clock_offset_seconds`` at 0. The parser cannot tell the two apart.

Locators: ``csv:row=N`` with N the 1-based data row (the header is row 0; blank rows count, so
that N matches a spreadsheet's row numbering less one), followed by ``,line=L`` (the 1-based
physical line where the row starts) whenever L is not N + 1 — a title above the header or a
quoted field spanning lines. Every data row is an event or a reject (too few fields for a used
column, an unreadable time, no number); rows whose fields are all empty are not records and are
counted in a source note.

Checked on real data: none — no licensed carrier or app call CSV exists (formats.md §2.4). The
Google Voice layout follows the google-voice-history code and its test CSV (read at the commit
above, not copied: Hippocratic licence); the conformance test checks that no file of
``realworld/`` (which holds an Instagram ``datetime,author,message`` CSV) is claimed. Every other
claim here was checked on synthetic files only (tests/parsers/test_call_csv.py).
"""

from __future__ import annotations

import codecs
import csv
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from courseline.collectors.identify import UTF16_BOMS, Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import SPACES
from courseline.parsers._dates import (
    DAY_FIRST,
    ENGLISH_MONTHS,
    MONTH_FIRST,
    Order,
    OrderEvidence,
    decide_order,
)
from courseline.parsers._phone import (
    PAYPHONE,
    UNIX_EPOCH,
    UNKNOWN_NUMBER,
    WITHHELD,
    epoch_time,
    phone_identifier,
    unix_seconds_or_ms,
)
from courseline.parsers._text import head_text
from courseline.timeline.event import (
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    Event,
    RawTime,
    Reject,
    SourceNote,
    bounded,
    clean_text,
)

# -- limits --------------------------------------------------------------------------------------

MAX_PREAMBLE_LINES = 5             # the header may follow a title or account line or two
MAX_LINE_CHARS = 4 * 1024 * 1024   # one physical line; longer stops the reading (memory bound)
MAX_CSV_FIELD_CHARS = 4 * 1024 * 1024  # one field, even across lines (an unclosed quote)
MAX_OTHER_COLUMNS = 40             # unused columns kept in details
MAX_OTHER_CHARS = 1_000            # per unused column value
MAX_NOTED_ROWS = 10                # row numbers listed in a source note
MAX_TIME_CHARS = 100               # a longer "time" is not one (and regexes stay cheap)
MAX_DURATION_CHARS = 40
CHUNK_BYTES = 1024 * 1024

# -- the fields and their headings ---------------------------------------------------------------

# What a case-file mapping may name. Beyond the brief's keys: "status" (a separate answered/missed
# column, read with direction and kind) and "name" (the contact name the phone or account showed,
# kept in details).
FIELDS = ("time", "date", "clock", "number", "from", "to", "duration", "direction", "kind",
          "status", "text", "name")


def heading_key(heading: str) -> str:
    """How headings are compared: case-folded, letters and digits only."""
    return "".join(ch for ch in heading.casefold() if ch.isalnum())


def _keys(*headings: str) -> tuple[str, ...]:
    return tuple(heading_key(h) for h in headings)


# Synonyms per field, best first: when a header has two (``Other party`` and ``MSISDN``), the
# earlier one in the list wins. ``time`` is a column holding date and time together; ``date`` and
# ``clock`` are the halves a file may split it into. A lone ``date`` or ``clock`` column is read as
# the whole time (exports often call a full date-time "Date" or "Start time").
SYNONYMS: dict[str, tuple[str, ...]] = {
    "time": _keys("date/time", "datetime", "date and time", "date & time", "date time",
                  "timestamp", "time stamp", "call date/time", "call date and time",
                  "call datetime", "start date/time", "start datetime", "call start",
                  "start date and time", "event time", "connection time"),
    "date": _keys("date", "call date", "start date", "event date"),
    "clock": _keys("time", "call time", "start time", "time of call", "start"),
    # The other party. MSISDN comes last: in carrier records it is often the subscriber.
    "number": _keys("number", "phone number", "phone", "phone no", "telephone",
                    "telephone number", "other party", "other party number", "other number",
                    "remote number", "remote party", "contact number", "from/to", "to/from",
                    "number called/calling", "msisdn"),
    "from": _keys("from", "from number", "caller", "calling number", "calling party",
                  "originating number", "a number", "a party", "source number"),
    "to": _keys("to", "to number", "callee", "called number", "called party", "number called",
                "number dialled", "number dialed", "dialled number", "dialed number",
                "destination", "destination number", "b number", "b party"),
    "duration": _keys("duration", "duration (s)", "duration (seconds)", "duration (secs)",
                      "duration (sec)", "duration (hh:mm:ss)", "duration (mm:ss)",
                      "call duration", "call_duration", "seconds", "length", "call length",
                      "duration (mins)", "duration (minutes)", "duration (min)", "minutes"),
    # A header with both "Direction" and "Type" gives Direction to direction and Type to kind;
    # their values are read together (read_type), so a lone "Type" may say either.
    "direction": _keys("direction", "call direction", "in/out", "incoming/outgoing", "type",
                       "call type", "event type", "record type"),
    "kind": _keys("kind", "service", "service type", "call or text", "category", "type",
                  "call type", "event type", "record type"),
    "status": _keys("status", "call status", "result", "call result", "outcome"),
    "text": _keys("message", "text", "body", "content", "message text", "sms text"),
    "name": _keys("name", "contact", "contact name", "caller name", "contact_name"),
}
# A bare "Number" also heads invoice and order CSVs: it claims a file only with support.
WEAK_NUMBER_HEADINGS = frozenset(_keys("number", "phone"))
SUPPORTING_FIELDS = ("duration", "direction", "kind", "status", "name")
# Duration headings whose values are minutes.
MINUTE_HEADINGS = frozenset(_keys("duration (mins)", "duration (minutes)", "duration (min)",
                                  "minutes"))
# A lone from/to heading reads as the other party's number only when it says it is a number:
# bare "From" or "To" columns are too vague.
LONE_PARTY_EXCLUDED = frozenset(_keys("from", "to"))
# courseline's own timeline.csv starts with these headings: never read it back as a call log.
OWN_OUTPUT_HEADINGS = _keys("seq", "event_id", "occurred_utc")


@dataclass(frozen=True)
class KnownLayout:
    """A whole layout recognised by its exact headings (all of ``signature`` present)."""

    name: str
    signature: frozenset[str]
    columns: Mapping[str, str]      # field -> heading key
    platform: str = "phone"
    party_from_name: bool = False   # no number column: the name (or nothing) is the other party
    note: str = ""


KNOWN_LAYOUTS = (
    KnownLayout(
        name="Google Voice history CSV (google-voice-history)",
        signature=frozenset(_keys("timestamp", "type", "contact_id", "contact_name",
                                  "call_duration")),
        columns={"time": "timestamp", "direction": "type", "duration": "callduration",
                 "name": "contactname"},
        platform="google-voice",
        party_from_name=True,
        note=("the google-voice-history tool replaces each number by an anonymised contact_id "
              "(kept in details); a 'Text' row stands for a whole text conversation, first "
              "message at its time"),
    ),
)

# -- what a type value means ---------------------------------------------------------------------


@dataclass(frozen=True)
class Meaning:
    """What one word of a type/direction/kind value says. None: the word does not say it."""

    direction: str | None = None
    status: str | None = None
    kind: str | None = None       # "call", "sms", "mms", or "data" (not a call or text)
    implied: bool = False         # the direction follows from the status, another word may win


INCOMING, OUTGOING = Meaning("incoming"), Meaning("outgoing")
TYPE_WORDS: dict[str, Meaning] = {
    **dict.fromkeys(("incoming", "in", "inbound", "received", "receive", "mt", "incomming",
                     "terminated", "terminating"), INCOMING),
    **dict.fromkeys(("outgoing", "out", "outbound", "dialled", "dialed", "placed", "made", "mo",
                     "sent", "originated", "originating"), OUTGOING),
    "missed": Meaning("incoming", "missed", implied=True),
    **dict.fromkeys(("rejected", "declined", "refused"),
                    Meaning("incoming", "rejected", implied=True)),
    **dict.fromkeys(("blocked", "barred"), Meaning("incoming", "blocked", implied=True)),
    **dict.fromkeys(("voicemail", "vm"), Meaning("incoming", "voicemail", implied=True)),
    "answered": Meaning(status="answered"),
    "unanswered": Meaning(status="unanswered"),
    # Google Voice "Recorded": a call that was connected and recorded; it does not say who called.
    "recorded": Meaning(status="answered"),
    **dict.fromkeys(("sms", "text", "texts", "txt", "msg"), Meaning(kind="sms")),
    "mms": Meaning(kind="mms"),
    **dict.fromkeys(("call", "calls", "voice", "video", "phone"), Meaning(kind="call")),
    **dict.fromkeys(("data", "gprs", "internet", "wap", "lte", "umts"), Meaning(kind="data")),
}
# Phrases read before single words (their words would mean something else alone).
TYPE_PHRASES: dict[str, Meaning] = {
    "voice mail": Meaning("incoming", "voicemail", implied=True),
    "voice message": Meaning("incoming", "voicemail", implied=True),
    "no answer": Meaning(status="unanswered"),
    "not answered": Meaning(status="unanswered"),
    "answered externally": Meaning("incoming", "answered"),
    "answered elsewhere": Meaning("incoming", "answered"),
    "text message": Meaning(kind="sms"),
}
# Words written in the number column for a caller without one.
NUMBER_WORDS: dict[str, str] = {
    **dict.fromkeys(("withheld", "number withheld", "private", "private number", "restricted",
                     "anonymous", "hidden", "no caller id", "blocked"), WITHHELD),
    **dict.fromkeys(("unknown", "unknown number", "unavailable", "not available"),
                    UNKNOWN_NUMBER),
    **dict.fromkeys(("payphone", "pay phone"), PAYPHONE),
}

# -- times ---------------------------------------------------------------------------------------

_CLOCK = (r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})"
          r"(?:[:.](?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
          r"(?:\s*(?P<ampm>[ap]\.?\s?m\.?))?")
_ZONE = r"(?:\s*(?P<zone>z|utc|gmt|[+-]\d{2}(?::?\d{2})?))?"
_MONTH_NAME = r"(?P<monthname>[a-z]{3,9})\.?"
_WEEKDAY = r"(?:[a-z]{3,9},?\s+)?"
DATE_FORMS = {
    "ymd": r"(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})",
    "numeric": r"(?P<first>\d{1,2})(?P<sep>[-/.])(?P<second_part>\d{1,2})(?P=sep)"
               r"(?P<year>\d{4}|\d{2})",
    "day-month-name": _WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?[\s-]+" + _MONTH_NAME
                      + r"[\s,-]+(?P<year>\d{4})",
    "month-name-day": _WEEKDAY + _MONTH_NAME + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+"
                      r"(?P<year>\d{4})",
}
TIME_PATTERNS = {
    form: re.compile(rf"{date}(?:(?:\s*,\s*|\s+|t)(?:at\s+)?{_CLOCK})?{_ZONE}", re.IGNORECASE)
    for form, date in DATE_FORMS.items()
}
_EPOCH = re.compile(r"\d{10}(?:\d{3})?")
UTC_WORDS = {"z", "utc", "gmt"}



@dataclass(frozen=True)
class TimeRead:
    value: datetime
    basis: str
    precision: str


def _zone_of(text: str | None) -> tuple[timezone | None, str]:
    if not text:
        return None, "local"
    if text.lower() in UTC_WORDS:
        return UTC, "utc"
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"offset {text!r} out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes)), "offset"


def _year(text: str) -> int:
    # Two-digit years as strptime reads them: 69-99 are 1900s, 00-68 2000s.
    number = int(text)
    if len(text) == 2:
        return number + (1900 if number >= 69 else 2000)
    return number


def _clock_of(match: re.Match[str]) -> tuple[int, int, int, int, str]:
    """Hour, minute, second, microsecond and precision of the clock part ("day" without one)."""
    if match.group("hour") is None:
        return 0, 0, 0, 0, "day"
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    ampm = (match.group("ampm") or "").lower().replace(".", "").replace(" ", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} with {ampm.upper()}")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    second = int(match.group("second") or 0)
    fraction = match.group("fraction")
    micro = int((fraction + "000000")[:6]) // 1000 * 1000 if fraction else 0
    precision = "ms" if fraction else ("s" if match.group("second") else "min")
    return hour, minute, second, micro, precision


def numeric_date_parts(text: str) -> tuple[int, int] | None:
    """The two leading numbers of a numeric day/month date, or None for any other form."""
    match = TIME_PATTERNS["numeric"].fullmatch(text.strip().translate(SPACES))
    if not match:
        return None
    return int(match.group("first")), int(match.group("second_part"))


def read_time(text: str, order: str | None) -> TimeRead:
    """A time in one of the layouts of the module docstring. ``order`` is the file's day/month
    order for numeric dates (None: the file does not decide it and this row must). Raises
    ValueError with the reason."""
    cleaned = " ".join(text.translate(SPACES).split())
    for form, pattern in TIME_PATTERNS.items():
        match = pattern.fullmatch(cleaned)
        if match:
            break
    else:
        raise ValueError("not a date and time in a layout courseline reads")
    if form == "numeric":
        first, second = int(match.group("first")), int(match.group("second_part"))
        row_order = DAY_FIRST if first > 12 else MONTH_FIRST if second > 12 else None
        if first == second:
            row_order = row_order or DAY_FIRST  # the same either way
        chosen = row_order or order
        if chosen is None:
            raise ValueError("the day/month order cannot be decided: this file has rows "
                             "written both ways; give time_format for this source")
        day, month = (first, second) if chosen == DAY_FIRST else (second, first)
    elif form == "ymd":
        day, month = int(match.group("day")), int(match.group("month"))
    else:
        name = match.group("monthname").lower()
        if name not in ENGLISH_MONTHS:
            raise ValueError(f"unknown month name {match.group('monthname')!r}")
        day, month = int(match.group("day")), ENGLISH_MONTHS[name]
    hour, minute, second, micro, precision = _clock_of(match)
    tzinfo, basis = _zone_of(match.group("zone"))
    value = datetime(_year(match.group("year")), month, day, hour, minute, second, micro,
                     tzinfo=tzinfo)
    return TimeRead(value, basis, precision)


def format_precision(layout: str) -> str:
    if "%f" in layout:
        return "ms"
    if any(code in layout for code in ("%S", "%T", "%X", "%c")):
        return "s"
    if any(code in layout for code in ("%M", "%R", "%H", "%I")):
        return "min"
    return "day"


def read_formatted_time(text: str, layout: str) -> TimeRead:
    """A time read with the case file's strptime layout."""
    value = datetime.strptime(" ".join(text.translate(SPACES).split()), layout)
    if value.tzinfo is None:
        return TimeRead(value, "local", format_precision(layout))
    basis = "utc" if value.utcoffset() == timedelta(0) and re.search(
        r"(?i)(z|utc|gmt)\s*$", text.strip()) else "offset"
    return TimeRead(value, basis, format_precision(layout))


# -- the plan of a file --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How the rows of one file are read: its encoding, header, and which column holds what."""

    encoding: str
    decode_errors: str               # "strict" for UTF-8 checked whole, else "replace"
    delimiter: str
    header_line: int                 # 0-based physical line of the header
    headings: tuple[str, ...]
    columns: Mapping[str, int]       # field -> column index
    layout: str
    platform: str = "phone"
    party_from_name: bool = False
    layout_note: str = ""

    def heading(self, name: str) -> str:
        return self.headings[self.columns[name]]

    @property
    def duration_factor(self) -> int:
        if "duration" in self.columns and heading_key(self.heading("duration")) in MINUTE_HEADINGS:
            return 60
        return 1


@dataclass(frozen=True)
class HeaderLine:
    line: int
    delimiter: str
    headings: tuple[str, ...]


DELIMITERS = (",", ";", "\t")


def sniff_delimiter(line: str) -> str | None:
    """The most frequent of comma, semicolon and tab on a header line (comma wins ties)."""
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else None


def header_lines(lines: Iterable[str]) -> Iterator[HeaderLine]:
    """The lines that could be a header: the first few, each split on its own delimiter."""
    for number, line in enumerate(lines):
        if number >= MAX_PREAMBLE_LINES:
            return
        delimiter = sniff_delimiter(line)
        if delimiter is None:
            continue
        try:
            headings = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
        except csv.Error:
            continue
        yield HeaderLine(number, delimiter, tuple(h.strip() for h in headings))


def is_own_output(headings: tuple[str, ...]) -> bool:
    return tuple(heading_key(h) for h in headings[:3]) == OWN_OUTPUT_HEADINGS


@dataclass(frozen=True)
class Resolved:
    columns: dict[str, int]
    layout: str
    platform: str = "phone"
    party_from_name: bool = False
    note: str = ""


def _first_of(keys: list[str], synonyms: tuple[str, ...], taken: set[int]) -> int | None:
    for synonym in synonyms:
        for index, key in enumerate(keys):
            if key == synonym and index not in taken:
                return index
    return None


def resolve_known_layout(keys: list[str]) -> Resolved | None:
    for layout in KNOWN_LAYOUTS:
        if layout.signature <= set(keys):
            return Resolved({name: keys.index(key) for name, key in layout.columns.items()},
                            layout.name, layout.platform, layout.party_from_name, layout.note)
    return None


def resolve_by_synonyms(keys: list[str]) -> Resolved | None:
    """Columns found through :data:`SYNONYMS`, or None when the header is not a call log's."""
    columns: dict[str, int] = {}
    taken: set[int] = set()

    def take(name: str, index: int | None) -> None:
        if index is not None:
            columns[name] = index
            taken.add(index)

    take("time", _first_of(keys, SYNONYMS["time"], taken))
    if "time" not in columns:
        date = _first_of(keys, SYNONYMS["date"], taken)
        clock = _first_of(keys, SYNONYMS["clock"], taken)
        if date is not None and clock is not None:
            take("date", date)
            take("clock", clock)
        else:
            take("time", date if date is not None else clock)
    if "time" not in columns and "date" not in columns:
        return None
    take("number", _first_of(keys, SYNONYMS["number"], taken))
    if "number" not in columns:
        sender = _first_of(keys, SYNONYMS["from"], taken)
        recipient = _first_of(keys, SYNONYMS["to"], taken)
        if sender is not None and recipient is not None:
            take("from", sender)
            take("to", recipient)
        else:
            lone = sender if sender is not None else recipient
            if lone is None or keys[lone] in LONE_PARTY_EXCLUDED:
                return None
            take("number", lone)
    for name in ("duration", "direction", "kind", "status", "text", "name"):
        take(name, _first_of(keys, SYNONYMS[name], taken))
    if ("number" in columns and keys[columns["number"]] in WEAK_NUMBER_HEADINGS
            and not any(name in columns for name in SUPPORTING_FIELDS)):
        return None
    return Resolved(columns, "recognised headings")


def resolve_headings(headings: tuple[str, ...]) -> Resolved | None:
    if is_own_output(headings):
        return None
    keys = [heading_key(h) for h in headings]
    return resolve_known_layout(keys) or resolve_by_synonyms(keys)


def find_recognised_header(lines: Iterable[str]) -> tuple[HeaderLine, Resolved] | None:
    for candidate in header_lines(lines):
        if is_own_output(candidate.headings):
            return None
        resolved = resolve_headings(candidate.headings)
        if resolved:
            return candidate, resolved
    return None


# -- a case-file mapping -------------------------------------------------------------------------


class MappingProblem(Exception):
    """The case file's column mapping does not fit the file (the reason is the message)."""


def check_mapping_keys(mapping: Mapping[str, Any]) -> None:
    unknown = sorted(map(str, set(mapping) - set(FIELDS)))
    if unknown:
        raise MappingProblem(
            f"the column mapping has unknown key(s) {', '.join(map(repr, unknown))}; allowed "
            f"keys: {', '.join(FIELDS)}")
    has_time = "time" in mapping or {"date", "clock"} <= set(mapping)
    has_party = "number" in mapping or {"from", "to"} <= set(mapping)
    if not (has_time and has_party):
        raise MappingProblem(
            "the column mapping needs a time (key time, or date and clock) and the other party "
            "(key number, or from and to)")
    if "time" in mapping and ({"date", "clock"} & set(mapping)):
        raise MappingProblem("the column mapping gives both time and date/clock; give one")
    if not all(isinstance(v, str) and v.strip() for v in mapping.values()):
        raise MappingProblem("the column mapping must map each key to a column heading")


def _match_heading(wanted: str, headings: tuple[str, ...]) -> int | None:
    """The column of a mapped heading: exact after trimming, else case-insensitive, else by
    :func:`heading_key`."""
    for compare in (lambda h: h.strip(), lambda h: h.strip().casefold(), heading_key):
        target = compare(wanted)
        for index, heading in enumerate(headings):
            if compare(heading) == target:
                return index
    return None


def resolve_mapping(mapping: Mapping[str, str], candidates: list[HeaderLine]
                    ) -> tuple[HeaderLine, Resolved]:
    """The header line holding every mapped heading, or MappingProblem naming what is missing."""
    check_mapping_keys(mapping)
    for candidate in candidates:
        if is_own_output(candidate.headings):
            raise MappingProblem("this is courseline's own timeline.csv output, not a source")
        found = {name: _match_heading(heading, candidate.headings)
                 for name, heading in mapping.items()}
        if all(index is not None for index in found.values()):
            columns = {name: index for name, index in found.items() if index is not None}
            return candidate, Resolved(columns, "case-file column mapping")
    shown = candidates[0].headings if candidates else ()
    missing = [heading for heading in mapping.values()
               if not shown or _match_heading(heading, shown) is None]
    raise MappingProblem(
        f"the column mapping names heading(s) {', '.join(map(repr, missing))} that the file's "
        f"header does not have; headings found: "
        f"{', '.join(map(repr, shown)) if shown else '(no delimited header line)'}")


# -- decoding ------------------------------------------------------------------------------------

# libmagic calls most CSV files text/plain; HTML, XML and scripts are text/* too and never ours.
TEXT_MEDIA = frozenset({"text/plain", "text/csv", "text/x-csv", "text/tab-separated-values",
                        "application/csv", "application/x-csv"})
CSV_NAMES = (".csv", ".tsv", ".tab")


def split_lines(text: str) -> list[str]:
    """Physical lines as a CSV reader sees them (not str.splitlines, which also splits on
    form feeds and Unicode separators)."""
    return re.split(r"\r\n|\r|\n", text)[:MAX_PREAMBLE_LINES]


@dataclass(frozen=True)
class Encoding:
    codec: str
    errors: str
    note: str | None


def file_encoding(path: Path) -> Encoding:
    """UTF-16 by BOM; UTF-8 when every byte of the file is valid UTF-8; else cp1252."""
    with path.open("rb") as handle:
        first = handle.read(4)
        if first.startswith(UTF16_BOMS):
            return Encoding("utf-16", "replace", "decoded as UTF-16 (byte-order mark); bytes that "
                                                 "are not valid UTF-16 are shown as U+FFFD")
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return Encoding("cp1252", "replace",
                            "the file is not valid UTF-8: decoded as Windows-1252 (cp1252); "
                            "bytes with no cp1252 character are shown as U+FFFD")
    if first.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", "strict", "decoded as UTF-8; the byte-order mark was skipped")
    return Encoding("utf-8", "strict", None)


class LineTooLong(Exception):
    pass


def bounded_lines(handle: TextIO, first_line: int = 1) -> Iterator[str]:
    """The physical lines of a text file, refusing any longer than :data:`MAX_LINE_CHARS`."""
    number = first_line
    while line := handle.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            raise LineTooLong(f"line {number} is longer than {MAX_LINE_CHARS:,} characters")
        yield line
        number += 1


def first_lines(path: Path, encoding: Encoding) -> list[str]:
    """The lines where a header may be, up to the first overlong one (the rows' reading reports
    that line)."""
    found: list[str] = []
    with path.open("r", encoding=encoding.codec, errors="replace", newline="") as handle:
        try:
            for line in bounded_lines(handle):
                found.append(line)
                if len(found) == MAX_PREAMBLE_LINES:
                    break
        except LineTooLong:
            pass
    return found


def _allow_large_fields() -> None:
    # Process-wide: only ever raised, never lowered, so other CSV readers keep working.
    if csv.field_size_limit() < MAX_CSV_FIELD_CHARS:
        csv.field_size_limit(MAX_CSV_FIELD_CHARS)


# -- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    number: int          # 1-based data row; the header is row 0
    line: int            # 1-based physical line where the row starts
    fields: list[str]
    last_line: int = 0   # where it ends, when a quoted field runs across lines

    @property
    def locator(self) -> str:
        return row_locator(self.number, self.line)

    @property
    def blank(self) -> bool:
        return not any(f.strip() for f in self.fields)


def row_locator(number: int, line: int) -> str:
    return f"csv:row={number}" if line == number + 1 else f"csv:row={number},line={line}"


def read_rows(path: Path, plan: Plan) -> Iterator[Row | Reject]:
    """The data rows after the header; a reject and the end when the CSV cannot be read on."""
    _allow_large_fields()
    number, start = 0, plan.header_line + 2
    with path.open("r", encoding=plan.encoding, errors=plan.decode_errors,
                   newline="") as handle:
        lines = bounded_lines(handle)
        try:
            for _ in range(plan.header_line + 1):
                next(lines, None)
            reader = csv.reader(lines, delimiter=plan.delimiter)
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                number += 1
                end = plan.header_line + 1 + reader.line_num
                yield Row(number, start, fields, end if end > start else 0)
                start = end + 1
        except (csv.Error, LineTooLong, UnicodeDecodeError) as error:
            yield Reject(row_locator(number + 1, start),
                         f"the CSV cannot be read from line {start} on: {error}; the rest of "
                         f"the file was not read")


def count_lines_after(path: Path, encoding: Encoding, skip: int) -> int | None:
    """Non-blank physical lines after the first ``skip``, for a reject that leaves them unread."""
    try:
        with path.open("r", encoding=encoding.codec, errors="replace", newline="") as handle:
            return sum(1 for number, line in enumerate(bounded_lines(handle))
                       if number >= skip and line.strip())
    except (OSError, LineTooLong):
        return None


# -- the day/month order -------------------------------------------------------------------------


# -- values of a row -----------------------------------------------------------------------------


@dataclass
class RowValues:
    """The used fields of one row, bounded, and what bounding did."""

    values: dict[str, str]
    cut: list[str] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def row_values(row: Row, plan: Plan) -> RowValues:
    result = RowValues({})
    for name, index in plan.columns.items():
        limit = MAX_TEXT_CHARS if name == "text" else MAX_FIELD_CHARS
        text, cut = bounded(clean_text(row.fields[index].strip()), limit)
        result.values[name] = text or ""
        if cut:
            result.cut.append(plan.headings[index])
    return result


def other_columns(row: Row, plan: Plan) -> tuple[dict[str, str], bool]:
    """Non-empty values of the columns the event does not use, keyed by heading."""
    used = set(plan.columns.values())
    kept: dict[str, str] = {}
    cut_any = False
    for index, value in enumerate(row.fields):
        if index in used or not value.strip() or len(kept) >= MAX_OTHER_COLUMNS:
            continue
        heading = plan.headings[index] if index < len(plan.headings) else ""
        if not heading:
            heading = f"(column {index + 1})"
        if heading in kept:
            heading = f"{heading} (column {index + 1})"
        text, cut = bounded(clean_text(value.strip()), MAX_OTHER_CHARS)
        kept[heading] = text or ""
        cut_any = cut_any or cut
    return kept, cut_any


_EXCEL_FORMULA = re.compile(r'="(.*)"')


def number_as_written(text: str) -> tuple[str, str | None]:
    """The number without an Excel text guard, and a note when one was removed."""
    match = _EXCEL_FORMULA.fullmatch(text)
    if match:
        inner = match.group(1).strip()
        return inner, f"number written as the Excel formula {text!r}; read as {inner!r}"
    if text.startswith("'") and len(text) > 1 and (text[1].isdigit() or text[1] == "+"):
        return text[1:], (f"number written with a leading apostrophe (Excel text); read as "
                          f"{text[1:]!r}")
    return text, None


def party_identifier(text: str) -> str:
    words = " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())
    return NUMBER_WORDS.get(words) or phone_identifier(text)


_DURATION_UNITS = re.compile(
    r"(?:(?P<h>\d+)\s*h(?:ours?|rs?)?)?\s*(?:(?P<m>\d+)\s*m(?:in(?:ute)?s?)?)?\s*"
    r"(?:(?P<s>\d+)\s*s(?:ec(?:ond)?s?)?)?", re.IGNORECASE)


def read_duration(text: str, factor: int) -> int | None:
    """Whole seconds from seconds (or minutes, with ``factor`` 60), ``mm:ss``, ``h:mm:ss`` or
    ``1h 2m 3s``; None when it cannot be read."""
    text = text.strip()
    if len(text) > MAX_DURATION_CHARS:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return int(number * factor) if math.isfinite(number) and 0 <= number < 1e9 else None
    parts = text.split(":")
    if 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts):
        values = [int(p) for p in parts]
        if any(v >= 60 for v in values[1:]):
            return None
        hours, minutes, secs = ([0] + values) if len(values) == 2 else values
        return hours * 3600 + minutes * 60 + secs
    match = _DURATION_UNITS.fullmatch(text)
    if match and any(match.group(g) for g in "hms"):
        return (int(match.group("h") or 0) * 3600 + int(match.group("m") or 0) * 60
                + int(match.group("s") or 0))
    return None


@dataclass(frozen=True)
class TypeReading:
    direction: str
    status: str | None
    kind: str | None
    recognised: bool
    conflict: bool = False


def read_type(*values: str) -> TypeReading:
    """What type/direction/kind values say, through :data:`TYPE_PHRASES` and :data:`TYPE_WORDS`."""
    text = " ".join(re.sub(r"[^\w]+", " ", " ".join(values).casefold()).split())
    meanings: list[Meaning] = []
    for phrase, meaning in TYPE_PHRASES.items():
        if re.search(rf"\b{phrase}\b", text):
            meanings.append(meaning)
            text = re.sub(rf"\b{phrase}\b", " ", text)
    meanings.extend(TYPE_WORDS[word] for word in text.split() if word in TYPE_WORDS)
    explicit = {m.direction for m in meanings if m.direction and not m.implied}
    implied = {m.direction for m in meanings if m.direction and m.implied}
    directions = sorted(explicit or implied)  # an explicit word wins over a status's implication
    statuses = [m.status for m in meanings if m.status]
    kinds = {m.kind for m in meanings if m.kind}
    # The most specific kind wins: "MMS message" is an mms, "SMS call" (sic) a text.
    kind = next((k for k in ("data", "mms", "sms", "call") if k in kinds), None)
    return TypeReading(direction=directions[0] if len(directions) == 1 else "unknown",
                       status=statuses[0] if statuses else None, kind=kind,
                       recognised=bool(meanings), conflict=len(directions) > 1)


# -- the event of a row --------------------------------------------------------------------------


def time_of(values: RowValues, plan: Plan, order: Order, time_format: str | None
            ) -> tuple[RawTime, list[str]] | str:
    """The row's time, or the reason it cannot be read."""
    if "time" in plan.columns:
        raw, source = values.get("time"), f"CSV column {plan.heading('time')!r}"
    else:
        raw = f"{values.get('date')} {values.get('clock')}".strip()
        source = f"CSV columns {plan.heading('date')!r} + {plan.heading('clock')!r}"
    if not raw:
        return f"no time ({source} is empty)"
    if len(raw) > MAX_TIME_CHARS:
        return f"unreadable time in {source}: {len(raw):,} characters, not a time"
    notes: list[str] = []
    if time_format is None and _EPOCH.fullmatch(raw):
        unit = unix_seconds_or_ms(raw)
        return epoch_time(raw, UNIX_EPOCH, unit, f"{source} (Unix {unit})"), \
            [f"time read as Unix {'milliseconds' if unit == 'ms' else 'seconds'}"]
    try:
        if time_format is not None:
            read = read_formatted_time(raw, time_format)
        else:
            read = read_time(raw, order.value)
            parts = numeric_date_parts(raw)
            if order.assumed and parts and max(parts) <= 12 and parts[0] != parts[1]:
                notes.append("day/month order assumed (day first): this file does not show it")
    except ValueError as error:
        how = f"time_format {time_format!r}" if time_format else "courseline's layouts"
        return f"unreadable time {raw!r} in {source} ({how}): {error}"
    return RawTime(raw, read.value, read.basis, read.precision, source), notes


def row_event(row: Row, plan: Plan, order: Order, time_format: str | None) -> Event | Reject:
    width = max(plan.columns.values()) + 1
    if len(row.fields) < width:
        missing = [plan.headings[i] for i in sorted(plan.columns.values()) if i >= len(row.fields)]
        spans = (f" (the row runs from line {row.line} to line {row.last_line}: a quoted field "
                 f"spans lines, perhaps a quote left open)" if row.last_line else "")
        return Reject(row.locator, f"the row has {len(row.fields)} field(s), the header "
                                   f"{len(plan.headings)}: no value for column(s) "
                                   f"{', '.join(map(repr, missing))}{spans}")
    values = row_values(row, plan)
    timed = time_of(values, plan, order, time_format)
    if isinstance(timed, str):
        return Reject(row.locator, timed)
    when, notes = timed
    details: dict[str, Any] = {}
    flags: list[str] = []
    type_values = [values.get(n) for n in ("direction", "kind", "status") if values.get(n)]
    meaning = read_type(*type_values)
    if meaning.kind == "data":
        return Reject(row.locator, f"a data-session record ({' / '.join(type_values)!r}), not a "
                                   f"call or text: not read as an event")
    for name, key in (("direction", "type"), ("kind", "kind"), ("status", "status"),
                      ("name", "contact_name")):
        if values.get(name):
            details[key] = values.get(name)
    if type_values and not meaning.recognised:
        notes.append(f"type {' / '.join(type_values)!r} not recognised: direction unknown")
    elif meaning.conflict:
        notes.append(f"type {' / '.join(type_values)!r} names both directions: direction unknown")
    elif not {"direction", "kind", "status"} & set(plan.columns):
        notes.append("the file has no type or direction column")
    kind = meaning.kind if meaning.kind in ("sms", "mms") else "call"
    party = _parties(values, plan, row, meaning.direction, details, notes)
    if isinstance(party, Reject):
        return party
    sender, recipients, owner_side = party
    event = Event(kind=kind, platform=plan.platform, time=when, locator=row.locator,
                  direction=meaning.direction, sender=sender, recipients=recipients,
                  owner_side=owner_side, details=details, notes=notes, flags=flags)
    if values.get("text"):
        event.text = values.get("text")
    if kind == "call":
        _call_fields(event, values, plan, meaning)
    elif values.get("duration"):
        details["duration"] = values.get("duration")
    extra, extra_cut = other_columns(row, plan)
    if extra:
        details["other_columns"] = extra
    if extra_cut:
        notes.append(f"values of other columns over {MAX_OTHER_CHARS:,} characters were cut")
    if len(row.fields) > len(plan.headings):
        notes.append(f"the row has {len(row.fields)} fields, the header {len(plan.headings)}")
    if values.cut:
        flags.append("truncated")
        notes.append(f"column(s) {', '.join(map(repr, values.cut))} cut to their limit")
    if plan.party_from_name and kind == "sms":
        notes.append("a Google Voice history 'Text' row stands for a text conversation "
                     "(message_count messages), first message at this time; the messages "
                     "themselves are not in this CSV")
    return event


def _parties(values: RowValues, plan: Plan, row: Row, direction: str, details: dict[str, Any],
             notes: list[str]) -> tuple[str | None, list[str], str | None] | Reject:
    """Sender, recipients and owner side, or a reject when the row names no other party."""
    if "from" in plan.columns:
        if not values.get("from") and not values.get("to"):
            return Reject(row.locator, f"no number (columns {plan.heading('from')!r} and "
                                       f"{plan.heading('to')!r} are empty)")
        ends = []
        for name in ("from", "to"):
            written, note = number_as_written(values.get(name))
            if note:
                notes.append(note)
            ends.append(party_identifier(written) if written else UNKNOWN_NUMBER)
        return ends[0], [ends[1]], None
    if plan.party_from_name:
        name = values.get("name")
        other = f"name:{name}" if name else UNKNOWN_NUMBER
        if not name:
            notes.append("the row names no contact: the other party is unknown (the export "
                         "replaces numbers by an anonymised contact_id, kept in details)")
    else:
        written, note = number_as_written(values.get("number"))
        if not written:
            return Reject(row.locator, f"no number (column {plan.heading('number')!r} is empty)")
        if note:
            notes.append(note)
        other = party_identifier(written)
        if other in (WITHHELD, UNKNOWN_NUMBER, PAYPHONE):
            details["number_as_written"] = written
    if direction == "incoming":
        return other, [], "recipients"
    if direction == "outgoing":
        return None, [other], "sender"
    details["other_party"] = other
    notes.append("direction unknown: the other party is kept in details.other_party, not as "
                 "sender or recipient")
    return None, [], None


def _call_fields(event: Event, values: RowValues, plan: Plan, meaning: TypeReading) -> None:
    written = values.get("duration")
    duration = read_duration(written, plan.duration_factor) if written else None
    if written and duration is None:
        event.notes.append(f"duration {written!r} could not be read")
    if written and (duration is None or written != str(duration)):
        event.details["duration"] = written
    if duration is not None and plan.duration_factor != 1:
        event.notes.append(f"duration read in minutes (column {plan.heading('duration')!r})")
    event.duration_s = duration
    status = meaning.status
    if status is None and event.direction == "outgoing":
        if duration is None:
            event.notes.append("the file does not say whether the outgoing call was answered "
                               "and gives no duration")
        else:
            status = "answered" if duration > 0 else "unanswered"
            event.notes.append(f"call status {status!r} derived: an outgoing call lasting "
                               f"{duration} s")
    elif status is None and event.direction == "incoming":
        if duration == 0:
            event.notes.append("an incoming call of 0 s that the file does not call missed: "
                               "whether it was answered is not known")
        else:
            status = "answered"
    event.call_status = status


# -- the parser ----------------------------------------------------------------------------------


def _mapping_of(options: Mapping[str, Any]) -> Mapping[str, str] | None:
    columns = options.get("columns") if options else None
    return columns if isinstance(columns, Mapping) and columns else None


def claims_with_mapping(mapping: Mapping[str, str], sample: Sample, lines: list[str]) -> bool:
    """A source with a column mapping may be a folder holding other text files (an mbox, a chat
    export): a file is claimed when a header line holds the mapped headings, or when it is
    named or typed as a CSV, so that a mapping that does not fit it gets a reject saying why."""
    candidates = list(header_lines(lines))
    if not candidates or any(is_own_output(c.headings) for c in candidates):
        return False
    if sample.name.lower().endswith(CSV_NAMES) or sample.media_type != "text/plain":
        return True
    try:
        resolve_mapping(mapping, candidates)
    except MappingProblem:
        return False
    return True


class CallCsvParser(Parser):
    NAME = "call-csv"
    DATA_FORMAT = "Call/text log CSV (carrier, phone export app, Google Voice history)"
    VERSION = "1"
    # A CSV with a case-file mapping is this parser's by the examiner's word; without one the
    # recognition is strict (time and number headings), so winning over a vaguer parser is safe.
    PRIORITY = 50

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if sample.media_type not in TEXT_MEDIA and not sample.head.startswith(UTF16_BOMS):
            return False
        text = head_text(sample.head)
        if text is None:
            return False
        lines = split_lines(text)
        mapping = _mapping_of(sample.options)
        if mapping is not None:
            return claims_with_mapping(mapping, sample, lines)
        return find_recognised_header(lines) is not None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        try:
            yield from self._parse(source)
        except OSError as error:
            yield Reject("source", f"could not be read: {type(error).__name__}: {error}")

    def _parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        options = source.sample.options or {}
        time_format = options.get("time_format")
        encoding = file_encoding(source.path)
        first = first_lines(source.path, encoding)
        plan = self._plan(source, encoding, first, options)
        if isinstance(plan, Reject):
            yield plan
            return
        yield from self._source_notes(plan, encoding, first, time_format)
        order = Order(DAY_FIRST, False, None)
        if time_format is None:
            order = self._decide_order(source.path, plan)
            if order.note:
                yield SourceNote(order.note)
        blank: list[int] = []
        for row in read_rows(source.path, plan):
            if isinstance(row, Reject):
                yield row
            elif row.blank:
                blank.append(row.number)
            else:
                yield row_event(row, plan, order, time_format)
        if blank:
            shown = ", ".join(map(str, blank[:MAX_NOTED_ROWS]))
            if len(blank) > MAX_NOTED_ROWS:
                shown += " …"
            yield SourceNote(f"{len(blank)} blank row(s) skipped (data rows {shown})")

    def _plan(self, source: SourceFile, encoding: Encoding, first: list[str],
              options: Mapping[str, Any]) -> Plan | Reject:
        mapping = _mapping_of(options)
        candidates = list(header_lines(first))
        if mapping is not None:
            try:
                header, resolved = resolve_mapping(mapping, candidates)
            except MappingProblem as problem:
                left = count_lines_after(source.path, encoding, 1)
                unread = (f"the file's {left} further non-blank line(s) were not read"
                          if left is not None else "the file was not read")
                return Reject("source", f"{problem}; {unread}")
        else:
            found = find_recognised_header(first)
            if found is None:
                return Reject("source", "no call-log header found in the first "
                                        f"{MAX_PREAMBLE_LINES} lines (a time and a number "
                                        "column); give a column mapping in the case file")
            header, resolved = found
        return Plan(encoding=encoding.codec, decode_errors=encoding.errors,
                    delimiter=header.delimiter,
                    header_line=header.line, headings=header.headings,
                    columns=resolved.columns, layout=resolved.layout,
                    platform=resolved.platform, party_from_name=resolved.party_from_name,
                    layout_note=resolved.note)

    def _source_notes(self, plan: Plan, encoding: Encoding, first: list[str],
                      time_format: str | None) -> Iterator[SourceNote]:
        used = ", ".join(f"{name} = {plan.heading(name)!r}"
                         for name in FIELDS if name in plan.columns)
        delimiter = {",": "comma", ";": "semicolon", "\t": "tab"}[plan.delimiter]
        text = f"layout: {plan.layout} ({delimiter}-separated); columns used: {used}"
        if plan.layout_note:
            text += f"; {plan.layout_note}"
        yield SourceNote(text)
        if encoding.note:
            yield SourceNote(encoding.note)
        if time_format:
            yield SourceNote(f"times read with the case file's time_format {time_format!r}")
        if plan.header_line:
            above = " | ".join(bounded(clean_text(line.strip()), 200)[0] or ""
                               for line in first[:plan.header_line] if line.strip())
            yield SourceNote(f"{plan.header_line} line(s) above the header, not records: {above}")

    def _decide_order(self, path: Path, plan: Plan) -> Order:
        """First pass: what the numeric dates of the whole file say about day/month order."""
        evidence = OrderEvidence("row")
        for row in read_rows(path, plan):
            if isinstance(row, Reject) or row.blank:
                continue
            if "time" in plan.columns:
                index = plan.columns["time"]
                text = row.fields[index] if index < len(row.fields) else ""
            else:
                date, clock = plan.columns["date"], plan.columns["clock"]
                text = row.fields[date] if date < len(row.fields) else ""
                if clock < len(row.fields):
                    text = f"{text} {row.fields[clock]}"
            text = text[:200].strip()
            parts = numeric_date_parts(text)
            if parts is not None:
                evidence.add(row.number, text, *parts)
        return decide_order(evidence, 'time_format (e.g. time_format = "%m/%d/%Y %H:%M:%S")')
