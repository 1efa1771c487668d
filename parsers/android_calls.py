"""Android call log (``calls`` table of ``calllog.db``, Android 7 and later, or ``contacts2.db``).

Where it is: ``/data/data/com.android.providers.contacts/databases/calllog.db`` (Android 7+;
Samsung: ``com.samsung.android.providers.contacts``) or ``contacts2.db`` on older releases, from a
full-file-system extraction (research formats.md §2.1; paths as ALEAPP ``calllog.py`` lists them).

What is read (AOSP ``CallLog.Calls``): ``number``; ``date`` (Unix **milliseconds**, the phone's
clock, when the call started); ``duration`` (seconds); ``type`` (1 incoming, 2 outgoing, 3 missed,
4 voicemail, 5 rejected, 6 blocked, 7 answered on another device); ``presentation`` (1 allowed,
2 restricted = withheld, 3 unknown, 4 payphone; older releases wrote -1, -2, -3 in ``number``
instead); the SIM or account (``subscription_id``, ``phone_account_address``); ``name`` (the
contact name the phone showed) and ``geocoded_location``; ``features`` (bit 1: video call). One
row is one call, whatever its outcome: never a start and an end event. An outgoing call of 0 s is
``unanswered`` (Android keeps no separate status: the derivation is noted on the event).

Not read: ``voicemail_uri`` audio (a separate file), ``transcription`` text is kept in details
when present; deleted rows are not carved.

Checked on real data: ``realworld/android/calllog/plaso_contacts2.db`` (log2timeline/plaso test
data): 3 calls, types 3 (missed, 0 s), 2 (outgoing, 126 s) and 1 (incoming, 639 s); it has no
``presentation`` column. No licensed ``calllog.db`` was found (formats.md §2.1); its columns were
checked against the AOSP documentation only, on synthetic databases.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from courseline.parsers import SourceFile
from courseline.parsers._phone import (
    UNIX_EPOCH,
    call_type,
    epoch_time,
    owner_side_of,
    phone_identifier,
    seconds,
)
from courseline.parsers._sqlite import Row, SQLiteParser, open_database, required, safe_row
from courseline.timeline.event import MAX_FIELD_CHARS, Event, Reject, SourceNote, bounded

CALL_COLUMNS = ["_id", "number", "date", "duration", "type", "presentation", "name",
                "geocoded_location", "subscription_id", "phone_account_address", "features",
                "transcription", "countryiso"]
VIDEO_FEATURE = 1


class AndroidCallLogParser(SQLiteParser):
    NAME = "android-calllog"
    DATA_FORMAT = "Android call log (calllog.db, contacts2.db)"
    VERSION = "1"
    REQUIRED_TABLES = required(calls="_id number date duration type")

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        try:
            with open_database(source) as (db, notes):
                yield from notes
                for row in db.rows(db.select("calls", CALL_COLUMNS, order_by="_id"), "calls",
                                   key="_id"):
                    yield row if isinstance(row, Reject) else _call_event(safe_row(row))
        except sqlite3.DatabaseError as error:
            yield Reject("sqlite", f"the database could not be opened: {error}")


def _call_event(row: Row) -> Event | Reject:
    locator = f"sqlite:calls/_id={row['_id']}"
    duration = seconds(row["duration"])
    meaning, notes = call_type(row["type"], duration)
    if meaning is None:
        return Reject(locator, f"unknown call type {row['type']!r} (expected 1 to 7)")
    other = phone_identifier(row["number"], row["presentation"])
    details: dict = {"android_type": row["type"], "call_type": meaning.name}
    if row["presentation"] not in (None, 1):
        details["presentation"] = row["presentation"]
    for name in ("subscription_id", "phone_account_address", "countryiso"):
        if row[name] not in (None, ""):
            details[name] = row[name]
    for name in ("name", "geocoded_location", "transcription"):
        if row[name]:
            details["contact_name" if name == "name" else name] = bounded(str(row[name]),
                                                                          MAX_FIELD_CHARS)[0]
    try:
        if row["features"] is not None and int(row["features"]) & VIDEO_FEATURE:
            details["video"] = True
    except (TypeError, ValueError):
        pass
    if duration is None:
        notes.append(f"duration {row['duration']!r} is not a number of seconds")
    incoming = meaning.direction == "incoming"
    return Event(
        kind="call", platform="phone",
        time=epoch_time(row["date"], UNIX_EPOCH, "ms", "calls.date (Unix ms)"),
        locator=locator,
        direction=meaning.direction,
        sender=other if incoming else None,
        recipients=[] if incoming else [other],
        owner_side=owner_side_of(meaning.direction),
        call_status=meaning.status,
        duration_s=duration,
        details=details,
        notes=notes,
    )
