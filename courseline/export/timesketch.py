"""Timesketch timelines: ``--format timesketch`` (JSONL) and ``--format timesketch-csv``.

Timesketch's import format ("Create timeline from JSONL or CSV file",
https://timesketch.org/guides/user/import-from-json-csv/) makes three fields mandatory:
``message``, ``datetime`` (ISO 8601, e.g. ``2015-07-24T19:01:01+00:00``) and ``timestamp_desc``
(what the time means); ``timestamp`` (microseconds since 1970) is optional, and any other field is
kept as an attribute of the event. Each event here has:

* ``message``: one line saying what happened (kind, direction, from, to, subject, text or call);
* ``datetime``: the UTC instant with its offset written, never a naive time (Timesketch reads a
  time without an offset as the server's local time), always in one shape,
  ``2024-08-03T18:02:11.000000+00:00``: Timesketch's CSV reader parses the column with pandas,
  which takes the layout of the first row and drops every row written otherwise (a time without
  milliseconds after one with them);
* ``timestamp``: the same instant in microseconds, an integer;
* ``timestamp_desc``: what the time is, by kind (:data:`TIME_MEANS`); ``time_source`` says
  which field of the source it came from;
* ``data_type`` (``courseline:<platform>:<kind>``) and ``exhibit`` for filtering, and every field
  of the timeline row under its own name (event_id, seq, chain, kind, platform, sender,
  recipients…). Objects whose keys come from the source (``details``, ``location``,
  ``attachments``, ``provenance``) are JSON text: Timesketch's search index would otherwise make
  a field of every key, and refuse an event whose key held text in one event and an object in
  another.

An event with no time (a screenshot without a date) has no place on a timeline, yet Timesketch
refuses an event without ``datetime``: it is placed at 1970-01-01T00:00:00.000000+00:00 with
``timestamp_desc`` saying so, and its ``occurred_utc`` stays empty.

The JSONL carries every row exactly (:func:`timeline_row` gives it back, and the seal is
recomputed from it). The CSV has the same columns, lists and objects as JSON text, but a cell
cannot tell an empty text from no text: its rows are tied to the seal by ``event_id`` and
``chain`` (see :mod:`courseline.export`). Its cells are written as they are, for Timesketch to
read: it is not a spreadsheet (open the disclosure schedule instead), so a text starting with
``=`` is not prefixed.

The Timesketch import client (PyPI ``timesketch-import-client``) is not used to test these
files: it needs ``timesketch-api-client`` and a server's sketch before it reads a file, and the
mandatory fields are checked by Timesketch's server. The tests check the documented fields and
read the CSV as the server's reader does (pandas, times parsed with ``to_datetime``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from courseline.export import SealedTimeline, call_summary, exhibit_labels
from courseline.timeline.event import canonical_json, read_json
from courseline.timeline.timeutil import instant_us, parse_utc

MANDATORY = ("message", "datetime", "timestamp_desc")
ADDED = ("message", "datetime", "timestamp", "timestamp_desc", "data_type", "exhibit")
JSON_TEXT = frozenset({"attachments", "details", "location", "provenance"})
MESSAGE_CHARS = 500
UNDATED_DATETIME = "1970-01-01T00:00:00.000000+00:00"
UNDATED_MEANS = "No time recorded (placed at 1970-01-01)"
TIME_MEANS = {
    "email": "Message sent",                    # the Date header: the sender's clock
    "sms": "Message sent or received",          # a phone records one or the other
    "mms": "Message sent or received",
    "message": "Message sent or received",
    "post": "Posted",
    "comment": "Comment posted",
    "reaction": "Reaction made",
    "friend-request": "Request made",
    "call": "Call started",
    "media": "Photo or video taken",
    "location": "Position recorded",
    "diary": "Incident (as recalled)",
    "app": "App installed",
    "account": "Account event",
}


def record(row: dict[str, Any]) -> dict[str, Any]:
    """A timeline row as a Timesketch event: the added fields, then the row's own."""
    utc = row["occurred_utc"]
    moment = parse_utc(utc) if utc else None
    event = {
        "message": message(row),
        "datetime": moment.isoformat(timespec="microseconds") if moment else UNDATED_DATETIME,
        "timestamp": instant_us(moment) if moment else 0,
        "timestamp_desc": TIME_MEANS.get(row["kind"], "Event time") if utc else UNDATED_MEANS,
        "data_type": f"courseline:{row['platform']}:{row['kind']}",
        "exhibit": exhibit_labels(row),
    }
    for key, value in row.items():
        event[key] = canonical_json(value) if key in JSON_TEXT and value is not None else value
    return event


def message(row: dict[str, Any]) -> str:
    """One line: what, which way, from and to, then what was said (or the call's outcome)."""
    head = row["kind"] if row["direction"] == "unknown" else f"{row['kind']} {row['direction']}"
    if row["sender"]:
        head += f" from {row['sender']}"
    if row["recipients"]:
        head += f" to {', '.join(row['recipients'])}"
    said = " | ".join(part for part in (row["subject"], row["text"], call_summary(row)) if part)
    line = " ".join((f"{head}: {said}" if said else head).split())
    return line if len(line) <= MESSAGE_CHARS else line[:MESSAGE_CHARS - 1] + "…"


def timeline_row(event: dict[str, Any]) -> dict[str, Any]:
    """The timeline row a Timesketch JSONL event carries (the inverse of :func:`record`)."""
    return {key: read_json(value) if key in JSON_TEXT and value is not None else value
            for key, value in event.items() if key not in ADDED}


def write_jsonl(sealed: SealedTimeline, target: Path) -> None:
    with target.open("w", encoding="utf-8", newline="\n") as handle:
        for row in sealed.rows():
            handle.write(canonical_json(record(row)) + "\n")


def write_csv(sealed: SealedTimeline, target: Path) -> None:
    """One heading line, then one event per line; CRLF line ends, UTF-8 without a byte-order
    mark (Timesketch reads the first column's name as written)."""
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = None
        for row in sealed.rows():
            event = record(row)
            if writer is None:
                writer = csv.DictWriter(handle, [*ADDED, *sorted(row)])
                writer.writeheader()
            writer.writerow({key: _cell(value) for key, value in event.items()})
        if writer is None:   # no events: the headings alone
            csv.writer(handle).writerow(ADDED)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return canonical_json(value)
    return str(value)

