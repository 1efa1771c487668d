"""iOS Messages database (``sms.db``) and macOS Messages (``chat.db``, the same schema): SMS,
iMessage and RCS messages, reactions (tapbacks) and the conversation's system rows.

Where it is: ``/private/var/mobile/Library/SMS/sms.db`` on the phone (an iTunes/Finder backup
stores it as ``3d/3d0d7e5fb2ce288813306e4d4636395e047a3d28``), attachments under
``Library/SMS/Attachments/``; on a Mac ``~/Library/Messages/chat.db`` and
``~/Library/Messages/Attachments/`` (research formats.md §3.2).

What is read:

* ``message``: one event per row, located ``sqlite:message/ROWID=N``. ``date`` counts from
  2001-01-01 UTC (Apple's epoch) in **seconds before iOS 11 / macOS 10.13 and nanoseconds after**;
  the unit is decided per value by its size (iLEAPP ``scripts/artifacts/sms.py``: above 10^15 it
  is nanoseconds) and the decision is stated once for the source. ``date`` 0 means "not
  recorded" (imessage-exporter#266 shows it as 2001-01-01): such a row is rejected with the reason.
  ``is_from_me`` gives the direction; ``service`` (``SMS``, ``iMessage``, ``RCS``) is kept
  verbatim and decides the kind: ``sms`` for SMS (iOS also files MMS under ``SMS``), ``message``
  otherwise. ``date_read`` and ``date_delivered`` are kept in details.
* The other party: ``handle_id`` → ``handle.id`` (a phone number or an e-mail address). The
  conversation: ``chat_message_join`` (or ``chat_recoverable_message_join`` for a message in
  Recently Deleted) → ``chat``; its members from ``chat_handle_join``. A group conversation lists
  its members as recipients (as the database lists them when extracted, which is noted), and keeps
  ``chat_identifier`` and ``display_name`` in details. Without ``chat_handle_join`` the chat is
  found from ``message.cache_roomnames`` (``chat.room_name``) and its members are not known.
* Text: ``message.text``; when it is empty, the text of the ``attributedBody`` column, an
  ``NSAttributedString`` archived in Apple's old ``NSArchiver`` "typedstream" format, read by the
  small bounded reader below (:func:`typedstream_text`); the event says so in a note.
* Edits and unsends (iOS 16 / macOS 13 and later): ``date_edited`` → flag ``edited``,
  ``date_retracted`` → flag ``unsent`` (iOS sets ``date_edited`` on an unsend too, so an unsent
  message is also ``edited`` only when it has an edit history). ``message_summary_info`` is a
  binary property list: ``ec`` maps a message part to the list of its versions (``d``:
  Apple-epoch seconds, ``t``: the version's text as a typedstream), ``rp`` lists the parts that
  were unsent (retracted). The
  versions are kept, bounded, in ``details["edit_history"]``; a non-empty ``rp`` also gives the
  ``unsent`` flag, because macOS 26 no longer sets ``date_retracted`` on Undo Send (nixfred/blip
  PR#32); a row with ``date_edited`` set, no text and no edit history is noted as possibly unsent.
  Key names follow imessage-exporter ``imessage-database/src/message_types/edited.rs``.
* Reactions (tapbacks): ``associated_message_type`` 2000-2007 (loved, liked, disliked, laughed,
  emphasized, questioned, emoji, sticker) and 3000-3007 (the same removed) become kind
  ``reaction`` with the type and the target's guid (``associated_message_guid`` without its
  ``p:N/`` or ``bp:`` prefix) in details (indexable-inc/index#953; imessage-exporter
  ``message_types/variants.rs``).
* System rows (``item_type`` ≠ 0, ``is_system_message``, ``group_action_type``): events of kind
  ``message`` whose details say what happened (participant added/removed/left, group renamed,
  photo changed, audio message kept, location sharing), decoded as imessage-exporter
  ``tables/messages/models/group_action.rs`` does; never dropped.
* Flags: ``is_spam`` → ``spam``; a message in ``chat_recoverable_message_join`` (iOS 16 Recently
  Deleted) → ``deleted`` with its ``delete_date``; an outgoing message with ``error`` ≠ 0 →
  ``failed`` (the code kept verbatim).
* Attachments: ``message_attachment_join`` → ``attachment`` (``filename``, ``mime_type``,
  ``transfer_name``, ``total_bytes``). The file is looked for in the export beside the database
  (``~/Library/SMS/Attachments/ab/12/GUID/IMG_1.jpg`` → ``Attachments/ab/12/GUID/IMG_1.jpg``
  relative to ``sms.db``'s folder): when found it is hashed (streamed, any size); when not, it is
  listed in ``details["attachments_not_in_export"]`` as recorded, never given a made-up hash. An
  attachment row linked to no message the table holds is rejected with the reason (its message
  was deleted).
* Damage: a file cut short (an interrupted copy) is read up to the cut, the source saying how
  much is missing, and rows SQLite decodes from a zero-filled page (ROWID 0, or not above the
  row before) are rejected, not made into events (both in :mod:`courseline.parsers._sqlite`).
* ``deleted_messages`` (older macOS): the number of guids it lists is stated for the source (the
  rows hold no content), and so is the number of ``chat_message_join`` rows that point at
  messages the ``message`` table no longer holds.

Not read: deleted rows in free pages or the write-ahead log (carving); ``payload_data``
(app balloons, link previews); reply threading (``thread_originator_guid``) beyond the guid;
the attachment files' own metadata.

Checked on real data: ``realworld/ios/sms/plaso_imessage_chat.db`` (log2timeline/plaso test data,
macOS Messages ``chat.db`` of about 2015, in write-ahead-log format without its log): 10
iMessages with ``date`` in seconds, handles that are numbers and e-mail addresses, 226 guids in
``deleted_messages``, ``chat_message_join`` rows for 225 messages the table no longer holds, and
one attachment (``sslsplit.der``) linked to one of them (message 21), which is rejected with that
reason. Every row has both ``text`` and ``attributedBody``: the typedstream reader gives exactly
``text`` for eight (curly quotes included); in rows 6 and 10 the sample's ``text`` says "Open
Office" where its ``attributedBody`` says "Microsoft Office" (the two columns of the sample
disagree), which is why a disagreement is shown rather than resolved (``text`` is shown, the
archive's string kept in ``details["attributed_body_text"]``, and a note says so).

Checked on synthetic databases only (no licensed iOS 16+ sample was found, formats.md §7):
nanosecond dates, attributedBody-only text, edits and unsends with ``message_summary_info``
(the macOS 26 form included), reactions, group chats, Recently Deleted, spam, attachments present
and absent, system rows, a file cut short. The reaction codes, system-row codes and
``message_summary_info`` keys come from imessage-exporter's code and tests, not a real iOS 16+
database.
"""

from __future__ import annotations

import math
import plistlib
import posixpath
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from courseline.parsers import SourceFile
from courseline.parsers._chat import NOT_IN_EXPORT, related_attachment
from courseline.parsers._phone import (
    APPLE_EPOCH,
    apple_unit,
    epoch_time,
    owner_side_of,
    phone_identifier,
)
from courseline.parsers._sqlite import (
    Database,
    SQLiteParser,
    Row,
    as_int,
    open_database,
    required,
    safe_row,
    safe_value,
)
from courseline.timeline.event import (
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    Attachment,
    Event,
    Reject,
    SourceNote,
    bounded,
    clean_text,
)


MESSAGE_COLUMNS = [
    "ROWID", "guid", "text", "attributedBody", "handle_id", "subject", "service", "date",
    "date_read", "date_delivered", "is_from_me", "error", "item_type", "other_handle",
    "group_title", "group_action_type", "is_system_message", "share_status", "share_direction",
    "associated_message_guid", "associated_message_type", "associated_message_emoji",
    "cache_roomnames", "date_edited", "date_retracted", "message_summary_info", "is_spam",
    "thread_originator_guid", "reply_to_guid",
]
MESSAGE_BLOBS = frozenset({"attributedBody", "message_summary_info"})
ATTACHMENT_COLUMNS = ["ROWID", "filename", "mime_type", "transfer_name", "total_bytes"]
CHAT_COLUMNS = ["ROWID", "chat_identifier", "display_name", "room_name", "style", "service_name"]

GROUP_CHAT_STYLE = 43  # chat.style: 43 group, 45 one-to-one
REACTION_NAMES = ("loved", "liked", "disliked", "laughed", "emphasized", "questioned", "emoji",
                  "sticker")
MAX_SUMMARY_BYTES = 4 * 1024 * 1024   # a message_summary_info plist larger than this is not read
MAX_EDIT_VERSIONS = 64                # versions kept in details["edit_history"]
UNIT_NAMES = {"ns": "nanoseconds", "s": "seconds"}


# -- typedstream (NSArchiver) ---------------------------------------------------------------------
#
# An attributedBody is an NSAttributedString archived with NSArchiver: the header
# 04 0B "streamtyped" <system version>, then objects. Each class appears once by name after the
# tag 0x84 ("new"), as a length-prefixed string followed by its version. The string of the
# attributed string is the first object of class NSString (or NSMutableString, whose chain names
# NSString); its value is written with the type "+" (a type string 0x84 0x01 '+'), then the length
# of its UTF-8 bytes as a typedstream integer (one byte up to 0x7F; 0x81 then 2 bytes little-endian;
# 0x82 then 4 bytes), then the bytes. Layout as read in the plaso sample and described by
# imessage-exporter imessage-database/src/util/typedstream (after Apple's typedstream.h).

TYPEDSTREAM_HEADER = b"\x04\x0bstreamtyped"
NSSTRING_CLASS = b"\x08NSString"      # the class name, with its length byte
STRING_TYPE = b"\x01+"                # a type string of one character, "+"
TYPE_SEARCH_WINDOW = 16               # bytes after the class name in which the type must appear
TAG_INT16, TAG_INT32 = 0x81, 0x82


class TypedstreamError(ValueError):
    """The archive is not a typedstream, or its string cannot be found or read."""


def _typedstream_length(blob: bytes, at: int) -> tuple[int, int]:
    """A non-negative typedstream integer at ``at``: (value, offset after it)."""
    if at >= len(blob):
        raise TypedstreamError("the archive ends before the string's length")
    tag = blob[at]
    if tag < 0x80:
        return tag, at + 1
    if tag == TAG_INT16 and at + 3 <= len(blob):
        return struct.unpack_from("<h", blob, at + 1)[0], at + 3
    if tag == TAG_INT32 and at + 5 <= len(blob):
        return struct.unpack_from("<i", blob, at + 1)[0], at + 5
    raise TypedstreamError(f"the string's length has an unexpected encoding (byte 0x{tag:02x})")


def typedstream_text(blob: bytes) -> tuple[str, bool]:
    """The string of an NSAttributedString typedstream, and whether its bytes were valid UTF-8
    (otherwise undecodable bytes were replaced). Raises TypedstreamError when it cannot be read.

    Bounded: one search for the class name, a fixed window for the type, and a length that must
    fit inside the archive; nothing is allocated beyond the archive's own size."""
    if not blob.startswith(TYPEDSTREAM_HEADER):
        raise TypedstreamError("not a typedstream archive (no 'streamtyped' header)")
    marker = blob.find(NSSTRING_CLASS, len(TYPEDSTREAM_HEADER))
    if marker < 0:
        raise TypedstreamError("the archive holds no NSString")
    after_class = marker + len(NSSTRING_CLASS)
    typed = blob.find(STRING_TYPE, after_class, after_class + TYPE_SEARCH_WINDOW)
    if typed < 0:
        raise TypedstreamError("the NSString is not followed by its '+' value")
    length, start = _typedstream_length(blob, typed + len(STRING_TYPE))
    if length < 0 or start + length > len(blob):
        raise TypedstreamError(f"the string's length {length} runs past the end of the archive "
                               f"({len(blob)} bytes)")
    data = blob[start:start + length]
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), False


def _typedstream_integer(value: int) -> bytes:
    if 0 <= value < 0x80:
        return bytes([value])
    if -0x8000 <= value < 0x8000:
        return bytes([TAG_INT16]) + struct.pack("<h", value)
    return bytes([TAG_INT32]) + struct.pack("<i", value)


def encode_typedstream_text(text: str) -> bytes:
    """An attributedBody for ``text`` in the layout iOS writes (header, NSAttributedString and
    NSString class chain, the '+' value, one attribute run naming message part 0): what the demo
    case and fixtures store, and what :func:`typedstream_text` reads back."""
    data = text.encode("utf-8")
    utf16_length = len(text.encode("utf-16-le")) // 2  # NSString lengths count UTF-16 units
    return (TYPEDSTREAM_HEADER + b"\x81\xe8\x03\x84\x01@"
            b"\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92"
            b"\x84\x84\x84" + NSSTRING_CLASS + b"\x01\x94\x84" + STRING_TYPE
            + _typedstream_integer(len(data)) + data
            + b"\x86\x84\x02iI\x01" + _typedstream_integer(utf16_length)
            + b"\x92\x84\x84\x84\x0cNSDictionary\x00\x95\x84\x01i\x01\x92\x84\x98\x98"
            b"\x1d__kIMMessagePartAttributeName\x86\x92\x84\x84\x84\x08NSNumber\x00"
            b"\x84\x84\x07NSValue\x00\x95\x84\x01*\x84\x9b\x9b\x00\x86\x86\x86")


# -- message_summary_info ------------------------------------------------------------------------

@dataclass
class EditSummary:
    """What ``message_summary_info`` says about edits and unsends."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    retracted_parts: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _apple_seconds_utc(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    moment = epoch_time(value, APPLE_EPOCH, apple_unit(value), "").value
    return moment.isoformat() if moment else None


def _part_order(key: object) -> tuple[int, str]:
    text = str(key)
    return (int(text), text) if text.isdigit() else (1 << 62, text)


def edit_summary(blob: bytes) -> EditSummary:
    """The edit history (``ec``) and unsent parts (``rp``) of a ``message_summary_info`` plist."""
    summary = EditSummary()
    if len(blob) > MAX_SUMMARY_BYTES:
        summary.notes.append(f"message_summary_info is {len(blob)} bytes, more than "
                             f"{MAX_SUMMARY_BYTES}: not read")
        return summary
    try:
        root = plistlib.loads(blob)
    except Exception as error:  # plistlib raises several types on damaged input
        summary.notes.append(f"message_summary_info is not a readable property list "
                             f"({type(error).__name__})")
        return summary
    if not isinstance(root, dict):
        summary.notes.append("message_summary_info is not a dictionary")
        return summary
    retracted = root.get("rp")
    if isinstance(retracted, list):
        summary.retracted_parts = [safe_value(p) for p in retracted[:MAX_EDIT_VERSIONS]
                                   if isinstance(p, (int, str)) and not isinstance(p, bool)]
    history = root.get("ec")
    if isinstance(history, dict):
        _read_versions(history, summary)
    return summary


def _read_versions(history: dict, summary: EditSummary) -> None:
    dropped = 0
    for part in sorted(history, key=_part_order):
        versions = history[part]
        if not isinstance(versions, list):
            summary.notes.append(f"edit history of part {part} is not a list")
            continue
        for version in versions:
            if len(summary.versions) >= MAX_EDIT_VERSIONS:
                dropped += 1
                continue
            if not isinstance(version, dict):
                summary.notes.append(f"an edit history entry of part {part} is not a dictionary")
                continue
            summary.versions.append(_version(part, version, summary.notes))
    if dropped:
        summary.notes.append(f"{dropped} more edit history entries were not kept "
                             f"(more than {MAX_EDIT_VERSIONS})")


def _version(part: object, version: dict, notes: list[str]) -> dict[str, Any]:
    date = version.get("d")
    usable_date = (isinstance(date, (int, float)) and not isinstance(date, bool)
                   and math.isfinite(date))
    entry: dict[str, Any] = {"part": _part_order(part)[0] if str(part).isdigit()
                             else safe_value(str(part)),
                             "date": date if usable_date else None,
                             "utc": _apple_seconds_utc(date) if usable_date else None,
                             "text": None}
    body = version.get("t")
    if isinstance(body, bytes):
        try:
            text, valid = typedstream_text(body)
        except TypedstreamError as error:
            notes.append(f"an edit history text (part {part}) could not be read: {error}")
        else:
            cut_text, cut = bounded(clean_text(text), MAX_FIELD_CHARS)
            entry["text"] = cut_text
            if cut:
                notes.append(f"an edit history text (part {part}) was cut to "
                             f"{MAX_FIELD_CHARS} characters")
            if not valid:
                notes.append(f"an edit history text (part {part}) was not valid UTF-8; "
                             "undecodable bytes were replaced")
    return entry


# -- the database ---------------------------------------------------------------------------------

@dataclass
class Conversation:
    """What the join tables say about the messages' chats, members and attachments."""

    handles: dict[int, str] = field(default_factory=dict)         # handle ROWID -> handle.id
    chats: dict[int, Row] = field(default_factory=dict)
    chats_by_room: dict[str, int] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)    # chat -> handle ROWIDs
    has_members_table: bool = False
    chat_of: dict[int, list[int]] = field(default_factory=dict)    # message -> chats
    recently_deleted: dict[int, tuple[int, object]] = field(default_factory=dict)
    attachments_of: dict[int, list[int]] = field(default_factory=dict)
    attachments: dict[int, Row] = field(default_factory=dict)


def _read_conversation(db: Database) -> tuple[Conversation, list[Reject]]:
    found = Conversation()
    faults: list[Reject] = []

    def pairs(table: str, first: str, second: str, extra: str = "") -> Iterator[sqlite3.Row]:
        if not db.has(table, first, second):
            return
        columns = [first, second] + ([extra] if extra else [])
        for row in db.rows(db.select(table, columns, order_by=f'"{first}", "{second}"'), table):
            if isinstance(row, Reject):
                faults.append(row)
            else:
                yield row

    for row in db.rows(db.select("handle", ["ROWID", "id"], order_by="ROWID"), "handle"):
        if isinstance(row, Reject):
            faults.append(row)
        else:
            found.handles[row["ROWID"]] = safe_value(row["id"])
    if db.has("chat", "ROWID"):
        for row in db.rows(db.select("chat", CHAT_COLUMNS, order_by="ROWID"), "chat"):
            if isinstance(row, Reject):
                faults.append(row)
                continue
            row = safe_row(row)
            found.chats[row["ROWID"]] = row
            if row["room_name"]:
                found.chats_by_room.setdefault(str(row["room_name"]), row["ROWID"])
    found.has_members_table = db.has("chat_handle_join", "chat_id", "handle_id")
    for row in pairs("chat_handle_join", "chat_id", "handle_id"):
        found.members.setdefault(row["chat_id"], []).append(row["handle_id"])
    for row in pairs("chat_message_join", "message_id", "chat_id"):
        found.chat_of.setdefault(row["message_id"], []).append(row["chat_id"])
    for row in pairs("chat_recoverable_message_join", "message_id", "chat_id", "delete_date"):
        found.recently_deleted.setdefault(row["message_id"],
                                          (row["chat_id"], safe_value(row["delete_date"])))
    for row in pairs("message_attachment_join", "message_id", "attachment_id"):
        found.attachments_of.setdefault(row["message_id"], []).append(row["attachment_id"])
    if db.has("attachment", "ROWID"):
        for row in db.rows(db.select("attachment", ATTACHMENT_COLUMNS, order_by="ROWID"),
                           "attachment"):
            if isinstance(row, Reject):
                faults.append(row)
            else:
                found.attachments[row["ROWID"]] = safe_row(row)
    return found, faults


class IosSmsParser(SQLiteParser):
    NAME = "ios-sms"
    DATA_FORMAT = "iOS Messages sms.db / macOS Messages chat.db (SMS, iMessage, RCS)"
    VERSION = "1"
    REQUIRED_TABLES = required(message="rowid guid text date is_from_me handle_id",
                               handle="rowid id")

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        try:
            with open_database(source) as (db, notes):
                yield from notes
                yield from self._read(db, source)
        except sqlite3.DatabaseError as error:
            yield Reject("sqlite", f"the database could not be opened: {error}")

    def _read(self, db: Database, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        conversation, faults = _read_conversation(db)
        yield from faults
        units: dict[str, int] = {}
        seen: set[int] = set()
        for row in db.rows(db.select("message", MESSAGE_COLUMNS, order_by="ROWID"), "message",
                           key="ROWID"):
            if isinstance(row, Reject):
                yield row
                continue
            seen.add(row["ROWID"])
            yield _message_record(safe_row(row, MESSAGE_BLOBS, frozenset({"text"})),
                                  conversation, source, units)
        yield from _orphan_attachments(conversation, seen)
        if units:
            yield SourceNote(_unit_note(units))
        yield from _deletion_notes(db, conversation, seen)


def _unit_note(units: dict[str, int]) -> str:
    counts = " and ".join(f"{UNIT_NAMES[unit]} for {count} row{'s' if count != 1 else ''}"
                          for unit, count in sorted(units.items(), key=lambda u: u[0] != "ns"))
    return (f"message.date read as {counts}, counted from 2001-01-01 UTC (by magnitude: above "
            f"10^15 is nanoseconds, as iOS 11 / macOS 10.13 and later write it)")


def _deletion_notes(db: Database, conversation: Conversation, seen: set[int]
                    ) -> Iterator[SourceNote | Reject]:
    if db.has("deleted_messages", "guid"):
        try:
            [(count,)] = db.conn.execute('SELECT count(*) FROM "deleted_messages"').fetchall()
        except sqlite3.DatabaseError as error:
            yield Reject("sqlite:deleted_messages", f"the table could not be counted ({error})")
        else:
            if count:
                yield SourceNote(
                    f"the deleted_messages table lists {count} message guid"
                    f"{'s' if count != 1 else ''} as deleted: the messages themselves are gone "
                    "and the table holds no content, sender or time for them")
    missing = sorted(m for m in conversation.chat_of if m not in seen)
    if missing:
        yield SourceNote(
            f"chat_message_join links {len(missing)} message "
            f"ROWID{'s' if len(missing) != 1 else ''} that the message table does not hold "
            f"(deleted messages, or rows past damage): {_id_list(missing)}")


def _id_list(ids: list[int], limit: int = 50) -> str:
    shown = ", ".join(str(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _orphan_attachments(conversation: Conversation, seen: set[int]) -> Iterator[Reject]:
    linked: dict[int, list[int]] = {}
    for message_id, attachment_ids in conversation.attachments_of.items():
        for attachment_id in attachment_ids:
            linked.setdefault(attachment_id, []).append(message_id)
    for attachment_id in sorted(conversation.attachments):
        messages = linked.get(attachment_id, [])
        if any(m in seen for m in messages):
            continue
        row = conversation.attachments[attachment_id]
        described = _attachment_summary(row)
        if messages:
            why = (f"is linked to message ROWID {_id_list(sorted(messages))}, which the message "
                   "table does not hold (the message was deleted, or lies past damage)")
        else:
            why = "is linked to no message"
        yield Reject(f"sqlite:attachment/ROWID={attachment_id}",
                     f"attachment {described} {why}; there is no message event to attach it to")


def _attachment_summary(row: Row) -> str:
    name = row["transfer_name"] or _base_name(row["filename"]) or "(no name)"
    facts = [str(v) for v in (row["mime_type"],) if v]
    if row["total_bytes"] not in (None, ""):
        facts.append(f"{row['total_bytes']} bytes as recorded")
    return f"{name!r}" + (f" ({', '.join(facts)})" if facts else "")


def _base_name(filename: object) -> str | None:
    if not filename:
        return None
    return str(filename).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or None


# -- one message ---------------------------------------------------------------------------------

def _message_record(row: Row, conversation: Conversation, source: SourceFile,
                    units: dict[str, int]) -> Event | Reject:
    locator = f"sqlite:message/ROWID={row['ROWID']}"
    raw_date = row["date"]
    unit = apple_unit(raw_date)
    time = epoch_time(raw_date, APPLE_EPOCH, unit, f"message.date (Apple epoch {unit})")
    if time.value is None:
        if _is_zero(raw_date):
            return Reject(locator, f"message.date is {raw_date!r}: the time was not recorded "
                                   "(Apple writes 0 for 'not set', which would read as "
                                   "2001-01-01)")
        return Reject(locator, f"message.date {raw_date!r} is not a usable Apple-epoch time")
    units[unit] = units.get(unit, 0) + 1

    notes: list[str] = []
    flags: list[str] = []
    details: dict[str, Any] = {"guid": row["guid"]}
    service = row["service"]
    if service not in (None, ""):
        details["service"] = service
    else:
        notes.append("message.service is empty; the message was taken as not SMS")
    kind = "sms" if str(service or "").strip().upper() == "SMS" else "message"

    direction = {1: "outgoing", 0: "incoming"}.get(as_int(row["is_from_me"]), "unknown")
    if direction == "unknown":
        notes.append(f"message.is_from_me is {row['is_from_me']!r}: the direction is unknown")
    sender, recipients = _parties(row, direction, conversation, details, notes)

    text = _message_text(row, details, notes)
    text, cut = bounded(text, MAX_TEXT_CHARS)
    if cut:
        flags.append("truncated")
    subject = str(row["subject"]) if row["subject"] else None

    _times(row, details)
    _edits(row, text, flags, details, notes)
    _status_flags(row, direction, conversation, flags, details, notes)
    reaction = _reaction(row, details)
    if reaction:
        kind = "reaction"
    else:
        _system_row(row, conversation, details, notes)
    attachments = _attachments(row["ROWID"], conversation, source, details, notes)
    for name in ("thread_originator_guid", "reply_to_guid"):
        if row[name]:
            details[name] = row[name]

    return Event(
        kind=kind, platform="phone", time=time, locator=locator, direction=direction,
        sender=sender, recipients=recipients,
        owner_side=owner_side_of(direction),
        subject=subject, text=text, attachments=attachments, flags=flags,
        details=details, notes=notes,
    )


def _is_zero(value: object) -> bool:
    try:
        return value is None or float(str(value).strip() or 0) == 0
    except ValueError:
        return False


def _parties(row: Row, direction: str, conversation: Conversation,
             details: dict[str, Any], notes: list[str]) -> tuple[str | None, list[str]]:
    """The sender (incoming) or recipients (outgoing) other than the owner; group members."""
    handle_id = as_int(row["handle_id"]) or 0
    handle = None
    if handle_id:
        handle = conversation.handles.get(handle_id)
        if handle is None:
            notes.append(f"message.handle_id {handle_id} is not in the handle table")
    members = _chat_members(row, conversation, details, notes)
    if direction == "incoming" or (direction == "unknown" and handle):
        sender = phone_identifier(handle)
        if handle is None:
            notes.append("the sender's handle is not recorded")
        return sender, [m for m in members if m != sender]
    recipients = members or ([phone_identifier(handle)] if handle else [])
    if not recipients:
        recipients = [phone_identifier(None)]
        notes.append("the recipient is not recorded (no handle and no chat members)")
    return None, recipients


def _chat_members(row: Row, conversation: Conversation, details: dict[str, Any],
                  notes: list[str]) -> list[str]:
    """The members of the message's chat as identifiers, with the chat's names in details."""
    message_id = row["ROWID"]
    chat_ids = list(conversation.chat_of.get(message_id, []))
    if not chat_ids and message_id in conversation.recently_deleted:
        chat_ids = [conversation.recently_deleted[message_id][0]]
    if not chat_ids and row["cache_roomnames"]:
        room = str(row["cache_roomnames"]).split(",")[0]
        if room in conversation.chats_by_room:
            chat_ids = [conversation.chats_by_room[room]]
        else:
            details["cache_roomnames"] = room
    if not chat_ids:
        return []
    if len(chat_ids) > 1:
        notes.append(f"the message is joined to {len(chat_ids)} chats "
                     f"({', '.join(map(str, chat_ids))}); the first was used")
    chat = conversation.chats.get(chat_ids[0])
    handle_ids = conversation.members.get(chat_ids[0], [])
    members = list(dict.fromkeys(phone_identifier(conversation.handles.get(h)) for h in handle_ids
                                 if conversation.handles.get(h)))
    group = len(members) > 1 or (chat is not None and as_int(chat["style"]) == GROUP_CHAT_STYLE)
    if chat is not None:
        if chat["chat_identifier"]:
            details["chat_identifier"] = chat["chat_identifier"]
        if chat["display_name"]:
            details["chat_display_name"] = bounded(clean_text(str(chat["display_name"])))[0]
    else:
        notes.append(f"chat ROWID {chat_ids[0]} is not in the chat table")
    if group:
        details["group_chat"] = True
        if members:
            notes.append("the group's members are those chat_handle_join lists at extraction, "
                         "not necessarily those of the time of the message")
        elif not conversation.has_members_table:
            notes.append("a group chat whose members this database does not list")
    return members


def _message_text(row: Row, details: dict[str, Any], notes: list[str]) -> str | None:
    body = row["attributedBody"]
    if body and not isinstance(body, bytes):
        body = str(body).encode("utf-8", "surrogateescape")
    if row["text"] not in (None, ""):
        text = clean_text(str(row["text"]))
        if body:
            _compare_with_body(text, body, details, notes)
        return text
    if not body:
        return None
    try:
        text, valid = typedstream_text(body)
    except TypedstreamError as error:
        notes.append(f"message.text is empty and attributedBody could not be read: {error}")
        return None
    notes.append("message.text is empty: the text was read from attributedBody (an "
                 "NSAttributedString typedstream archive)")
    if not valid:
        notes.append("the attributedBody text was not valid UTF-8; undecodable bytes were "
                     "replaced")
    return clean_text(text)


def _compare_with_body(text: str, body: bytes, details: dict[str, Any],
                       notes: list[str]) -> None:
    """The two copies of a message's text should agree; when they do not, both are shown."""
    try:
        archived, _ = typedstream_text(body)
    except TypedstreamError:
        return  # an attributedBody we cannot read says nothing against message.text
    archived = clean_text(archived)
    if archived != text:
        details["attributed_body_text"] = bounded(archived, MAX_FIELD_CHARS)[0]
        notes.append("message.text and the text in attributedBody differ; the text shown is "
                     "message.text, the other is kept in details")


def _utc(value: object) -> str | None:
    if value in (None, "", 0, "0"):
        return None
    moment = epoch_time(value, APPLE_EPOCH, apple_unit(value), "").value
    return moment.isoformat() if isinstance(moment, datetime) else None


def _times(row: Row, details: dict[str, Any]) -> None:
    for name in ("date_read", "date_delivered"):
        when = _utc(row[name])
        if when:
            details[f"{name}_utc"] = when


def _edits(row: Row, text: str | None, flags: list[str], details: dict[str, Any],
           notes: list[str]) -> None:
    edited_at, retracted_at = _utc(row["date_edited"]), _utc(row["date_retracted"])
    summary = EditSummary()
    if row["message_summary_info"]:
        blob = row["message_summary_info"]
        summary = edit_summary(blob if isinstance(blob, bytes) else str(blob).encode())
        notes.extend(summary.notes)
    if edited_at:
        details["date_edited_utc"] = edited_at
    if retracted_at:
        details["date_retracted_utc"] = retracted_at
    unsent = bool(retracted_at or summary.retracted_parts)
    # iOS sets date_edited on an unsend too: an unsent message is "edited" only when it has an
    # edit history (it was edited, then unsent).
    if summary.versions or (edited_at and not unsent):
        flags.append("edited")
        if not edited_at:
            notes.append("flag 'edited' from the edit history in message_summary_info "
                         "(message.date_edited is not set)")
    if summary.versions:
        details["edit_history"] = summary.versions
    if summary.retracted_parts:
        details["unsent_parts"] = summary.retracted_parts
    if unsent:
        flags.append("unsent")
        if not retracted_at:
            notes.append("flag 'unsent' from the retracted parts (rp) in message_summary_info: "
                         "message.date_retracted is not set (macOS 26 records Undo Send so)")
    elif edited_at and not text and not summary.versions:
        notes.append("message.date_edited is set, the text is empty and no edit history is "
                      "recorded: the message may have been unsent (macOS 26 no longer sets "
                      "date_retracted)")


def _status_flags(row: Row, direction: str, conversation: Conversation,
                  flags: list[str], details: dict[str, Any], notes: list[str]) -> None:
    if as_int(row["is_spam"]):
        flags.append("spam")
        details["is_spam"] = row["is_spam"]
    deleted = conversation.recently_deleted.get(row["ROWID"])
    if deleted is not None:
        flags.append("deleted")
        when = _utc(deleted[1])
        if when:
            details["delete_date_utc"] = when
        notes.append("flag 'deleted': the message is in chat_recoverable_message_join "
                     "(Recently Deleted)")
    if row["error"] not in (None, 0, "", "0"):
        details["error"] = row["error"]
    error = as_int(row["error"])
    if error and direction == "outgoing":
        flags.append("failed")
        notes.append(f"flag 'failed': an outgoing message with message.error {error}")


def _reaction(row: Row, details: dict[str, Any]) -> bool:
    code = as_int(row["associated_message_type"])
    if code is None or not (2000 <= code <= 2007 or 3000 <= code <= 3007):
        if code:
            details["associated_message_type"] = code
            if row["associated_message_guid"]:
                details["associated_message_guid"] = row["associated_message_guid"]
        return False
    removed = code >= 3000
    details["reaction"] = REACTION_NAMES[code % 1000]
    details["reaction_removed"] = removed
    details["associated_message_type"] = code
    target = row["associated_message_guid"]
    if target:
        details["associated_message_guid"] = target
        details["target_guid"] = _target_guid(str(target))
    if row["associated_message_emoji"]:
        details["reaction_emoji"] = bounded(clean_text(str(row["associated_message_emoji"])))[0]
    return True


def _target_guid(written: str) -> str:
    """``p:0/GUID`` (part 0 of a message) and ``bp:GUID`` (a balloon) name the message GUID."""
    if written.startswith("bp:"):
        return written[3:]
    if written.startswith("p:") and "/" in written:
        return written.split("/", 1)[1]
    return written


def _system_row(row: Row, conversation: Conversation, details: dict[str, Any],
                notes: list[str]) -> None:
    item_type = as_int(row["item_type"]) or 0
    action = as_int(row["group_action_type"]) or 0
    is_system = bool(as_int(row["is_system_message"]))
    if not (item_type or action or is_system):
        return
    details["item_type"] = row["item_type"]
    if action:
        details["group_action_type"] = row["group_action_type"]
    other_id = as_int(row["other_handle"]) or 0
    other = conversation.handles.get(other_id) if other_id else None
    described = _system_description(item_type, action,
                                    bool(other_id) and other_id == as_int(row["handle_id"]))
    if item_type == 2 and row["group_title"]:
        details["group_title"] = bounded(clean_text(str(row["group_title"])))[0]
    if item_type == 4:
        details["share_status"] = row["share_status"]
        details["share_direction"] = row["share_direction"]
    if other:
        details["participant"] = phone_identifier(other)
    elif other_id:
        details["other_handle"] = other_id
    details["system_event"] = described
    notes.append("a system row of the conversation (what happened in it), not a message "
                 "someone wrote")


def _system_description(item_type: int, action: int, own_handle: bool) -> str:
    if item_type == 1:
        if action == 0:
            return "participant changed their number" if own_handle else "participant added"
        return "participant removed" if action == 1 else f"membership change {action}"
    if item_type == 2:
        return "group renamed"
    if item_type == 3:
        return {0: "participant left", 1: "group photo changed", 2: "group photo removed",
                4: "chat background changed", 6: "chat background removed"}.get(
                    action, f"group action {action}")
    if item_type == 4:
        return "location sharing"
    if item_type == 5:
        return "audio message kept"
    return "system message" if item_type == 0 else f"item type {item_type}"


# -- attachments ----------------------------------------------------------------------------------

def _export_paths(filename: str) -> list[str]:
    """Where an attachment's file would be relative to the database's folder in the export."""
    path = filename.replace("\\", "/")
    candidates = []
    for anchor in ("/Library/SMS/", "/Library/Messages/"):
        at = path.find(anchor)
        if at >= 0:
            candidates.append(path[at + len(anchor):])
    if path.startswith("Attachments/"):
        candidates.append(path)
    safe = []
    for relative in candidates:
        parts = relative.split("/")
        if relative and ".." not in parts and "" not in parts:
            safe.append(posixpath.normpath(relative))
    return list(dict.fromkeys(safe))


def _attachments(message_id: int, conversation: Conversation, source: SourceFile,
                 details: dict[str, Any], notes: list[str]) -> list[Attachment]:
    found: list[Attachment] = []
    missing: list[dict[str, Any]] = []
    for attachment_id in conversation.attachments_of.get(message_id, []):
        row = conversation.attachments.get(attachment_id)
        if row is None:
            notes.append(f"attachment ROWID {attachment_id} is not in the attachment table")
            continue
        name = row["transfer_name"] or _base_name(row["filename"])
        hashed = _hash_from_export(row, name, source, notes)
        if hashed is not None:
            found.append(hashed)
        else:
            missing.append({"name": name, "mime_type": row["mime_type"],
                            "size": row["total_bytes"], "filename": row["filename"]})
    if missing:
        details["attachments_not_in_export"] = missing
    return found


def _hash_from_export(row: Row, name: str | None, source: SourceFile,
                      notes: list[str]) -> Attachment | None:
    if not row["filename"]:
        return None
    for relative in _export_paths(str(row["filename"])):
        attachment, status = related_attachment(source, relative, name)
        if status == NOT_IN_EXPORT:
            continue
        if attachment is None:
            notes.append(f"attachment {relative} is {status}")
        return attachment
    return None
