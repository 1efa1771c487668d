"""Android telephony database (``mmssms.db``): text messages (SMS) and picture messages (MMS).

Where it is: ``/data/data/com.android.providers.telephony/databases/mmssms.db`` (``user_de/0`` on
Android 7+), with ``mmssms.db-wal`` beside it and MMS parts under ``../app_parts/``; from a
full-file-system extraction (e.g. Cellebrite, Magnet, ``adb`` on a rooted device). Read by
research formats.md §3.1.

What is read (AOSP ``Telephony.Sms`` and ``Telephony.Mms``, as ALEAPP
``scripts/artifacts/smsmms.py`` reads them):

* ``sms``: ``_id``, ``thread_id``, ``address`` (the other party), ``date`` (Unix **milliseconds**,
  written by the phone's clock when the message was sent or received), ``date_sent`` (for a
  received message, the network's time stamp; 0 when unknown), ``type`` (1 inbox, 2 sent, 3 draft,
  4 outbox, 5 failed, 6 queued; other values, which some makers add, are kept as written),
  ``body``, ``subject``, ``status``, ``read``, ``service_center``, ``sub_id`` (which SIM).
* ``pdu`` (one row per MMS): ``date`` and ``date_sent`` in Unix **seconds**, ``msg_box`` (the same
  codes as ``sms.type``), ``sub`` (subject), ``m_type``; ``addr``: the MMS's addresses with their
  role (137 from, 151 to, 130 cc, 129 bcc; Android writes ``insert-address-token`` as the sender
  of the owner's own MMS); ``part``: text parts (``text``) and attachments, whose bytes are in the
  file named by ``_data`` (``…/app_parts/PART_…``). An attachment whose file is in the export is
  hashed; one that is not is listed in ``details`` with its name and type, never given a made-up
  hash. SMIL parts only lay out the slides and are not shown.

Not read: deleted rows (Android deletes them outright; recovering them from free pages or the log
is carving, which this parser does not do), RCS chats (kept by Google Messages in its own
database), and the ``threads`` and ``canonical_addresses`` tables (the addresses they hold are in
``sms.address`` and ``addr`` already).

Checked on real data: ``realworld/android/sms/plaso_mmssms.db`` (log2timeline/plaso test data, an
Android emulator, 2013): 9 SMS, ``date_sent`` 0 on sent messages, the same number written
``1 555-521-5554`` and ``15555215554`` (one identifier after normalisation with region US); its
``pdu`` table is empty, so the MMS reading was checked on synthetic databases only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from courseline.parsers import SourceFile, hashed_attachment
from courseline.parsers._phone import (
    UNIX_EPOCH,
    epoch_time,
    owner_side_of,
    phone_identifier,
    sms_box,
)
from courseline.parsers._sqlite import (
    Database,
    Row,
    SQLiteParser,
    open_database,
    required,
    safe_row,
    safe_value,
)
from courseline.timeline.event import (
    MAX_TEXT_CHARS,
    Event,
    Reject,
    SourceNote,
    bounded,
)

SMS_COLUMNS = ["_id", "thread_id", "address", "date", "date_sent", "type", "body", "subject",
               "status", "read", "service_center", "sub_id", "error_code"]
PDU_COLUMNS = ["_id", "thread_id", "date", "date_sent", "msg_box", "sub", "m_type", "read",
               "sub_id", "m_id"]
PART_COLUMNS = ["mid", "seq", "ct", "name", "cl", "fn", "_data", "text"]
ADDR_FROM, ADDR_TO, ADDR_CC, ADDR_BCC = 137, 151, 130, 129
OWN_ADDRESS = "insert-address-token"   # Android's placeholder for the owner's own number
MAX_PART_BYTES = 64 * 1024 * 1024      # an MMS part larger than this is not read into memory
_BODY = frozenset({"body"})             # bounded as message text, not as a field
_PART_TEXT = frozenset({"text"})


class AndroidMessagesParser(SQLiteParser):
    NAME = "android-mmssms"
    DATA_FORMAT = "Android messages database (mmssms.db)"
    VERSION = "1"
    REQUIRED_TABLES = required(sms="_id address date type body")

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        try:
            with open_database(source) as (db, notes):
                yield from notes
                yield from _messages(db)
                if db.has("pdu", "_id", "date", "msg_box"):
                    yield from _picture_messages(db, source)
        except sqlite3.DatabaseError as error:
            yield Reject("sqlite", f"the database could not be opened: {error}")


# -- SMS -------------------------------------------------------------------------------------------

def _messages(db: Database) -> Iterator[Event | Reject]:
    for row in db.rows(db.select("sms", SMS_COLUMNS, order_by="_id"), "sms", key="_id"):
        yield row if isinstance(row, Reject) else _sms_event(safe_row(row, unbounded=_BODY))


def _sms_event(row: Row) -> Event:
    box = sms_box(row["type"])
    other = phone_identifier(row["address"])
    text, cut = bounded(row["body"], MAX_TEXT_CHARS)
    details = {"thread_id": row["thread_id"], "box": box.name, "android_type": row["type"]}
    notes = []
    if box.direction == "unknown":
        # A maker's own type (Samsung and LG: 7 blocked, 8 scheduled…): which side the number is
        # on cannot be told, so it is kept here and not attributed.
        details["other_party"] = other
        notes.append(f"message type {row['type']!r} is not one Android defines: the direction "
                     f"and which side {other} is on are unknown")
    for name in ("status", "sub_id", "error_code"):
        if row[name] not in (None, -1, 0):
            details[name] = row[name]
    if row["service_center"]:
        details["service_center"] = row["service_center"]
    if row["date_sent"] not in (None, 0, "0"):
        details["date_sent_ms"] = row["date_sent"]
    return Event(
        kind="sms", platform="phone",
        time=epoch_time(row["date"], UNIX_EPOCH, "ms", "sms.date (Unix ms)"),
        locator=f"sqlite:sms/_id={row['_id']}",
        direction=box.direction,
        sender=other if box.direction == "incoming" else None,
        recipients=[other] if box.direction == "outgoing" else [],
        owner_side=owner_side_of(box.direction),
        subject=row["subject"] or None,
        text=text,
        flags=list(box.flags) + (["truncated"] if cut else []),
        details=details,
        notes=notes,
    )


# -- MMS -------------------------------------------------------------------------------------------

def _picture_messages(db: Database, source: SourceFile) -> Iterator[Event | Reject]:
    addresses, faults = db.lookup(
        db.select("addr", ["msg_id", "address", "type"], order_by="msg_id, rowid"), "addr")
    parts, part_faults = db.lookup(
        db.select("part", PART_COLUMNS, order_by="mid, seq, rowid"), "part")
    yield from faults
    yield from part_faults
    for row in db.rows(db.select("pdu", PDU_COLUMNS, order_by="_id"), "pdu", key="_id"):
        if isinstance(row, Reject):
            yield row
        else:
            yield _mms_event(safe_row(row), addresses.get(row["_id"], []),
                             parts.get(row["_id"], []), source)


def _mms_event(row: Row, addresses: list[sqlite3.Row], parts: list[sqlite3.Row],
               source: SourceFile) -> Event:
    box = sms_box(row["msg_box"])
    sender, recipients = _mms_parties(addresses)
    texts, attachments, missing, notes = [], [], [], []
    for part in (safe_row(row, unbounded=_PART_TEXT) for row in parts):
        kind = str(part["ct"] or "").lower()
        if kind == "application/smil":
            continue
        if kind.startswith("text/plain") and part["_data"] is None:
            texts.append(str(part["text"] or ""))
            continue
        found = _part_bytes(part, source, notes)
        name = part["name"] or part["cl"] or part["fn"]
        if found is None:
            missing.append({"name": name, "content_type": part["ct"]})
        else:
            attachments.append(hashed_attachment(name, found))
    text, cut = bounded("\n".join(texts) if texts else None, MAX_TEXT_CHARS)
    details = {"thread_id": row["thread_id"], "box": box.name, "android_msg_box": row["msg_box"],
               "m_type": row["m_type"]}
    if row["date_sent"] not in (None, 0, "0"):
        details["date_sent_s"] = row["date_sent"]
    if row["sub_id"] not in (None, -1):
        details["sub_id"] = row["sub_id"]
    if row["m_id"]:
        details["mms_message_id"] = row["m_id"]
    if missing:
        details["attachments_not_in_export"] = missing
    if sender is None and box.direction == "incoming":
        notes.append("the MMS names no sender")
    return Event(
        kind="mms", platform="phone",
        time=epoch_time(row["date"], UNIX_EPOCH, "s", "pdu.date (Unix seconds)"),
        locator=f"sqlite:pdu/_id={row['_id']}",
        direction=box.direction,
        sender=sender,
        recipients=recipients,
        owner_side=("sender" if sender is None and box.direction == "outgoing" else
                    "recipients" if not recipients and box.direction == "incoming" else None),
        subject=row["sub"] or None,
        text=text,
        attachments=attachments,
        flags=list(box.flags) + (["truncated"] if cut else []),
        details=details,
        notes=notes,
    )


def _mms_parties(addresses: list[sqlite3.Row]) -> tuple[str | None, list[str]]:
    sender = None
    recipients: list[str] = []
    for row in addresses:
        written = str(safe_value(row["address"]) or "").strip()
        if not written or written == OWN_ADDRESS:
            continue
        ident = phone_identifier(written)
        if row["type"] == ADDR_FROM:
            sender = ident
        elif row["type"] in (ADDR_TO, ADDR_CC, ADDR_BCC) and ident not in recipients:
            recipients.append(ident)
    return sender, recipients


def _part_bytes(part: Row, source: SourceFile, notes: list[str]) -> bytes | None:
    """The bytes of an MMS part, from its file in the export, or None when it is not there."""
    stored = part["_data"]
    if not stored:
        return None
    file_name = str(stored).replace("\\", "/").rsplit("/", 1)[-1]
    for relative in (f"../app_parts/{file_name}", f"app_parts/{file_name}", file_name):
        path = source.related(relative)
        if path is None:
            continue
        if path.stat().st_size > MAX_PART_BYTES:
            notes.append(f"part {file_name} is larger than {MAX_PART_BYTES} bytes and was not read")
            return None
        return path.read_bytes()
    return None
