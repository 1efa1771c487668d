"""iOS sms.db / macOS chat.db parser: synthetic databases built here (iOS 16-like schema, synthetic
people only: numbers in the Ofcom drama range, addresses at example.org) and the real plaso
``chat.db`` sample when the team's ``realworld/`` folder is beside the checkout."""

from __future__ import annotations

import hashlib
import plistlib
import shutil
import sqlite3
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, parser_for
from courseline.parsers.ios_sms import (
    IosSmsParser,
    TypedstreamError,
    encode_typedstream_text,
    typedstream_text,
)
from courseline.timeline.event import MAX_FIELD_CHARS, Event, Reject, SourceNote, canonical_json
from tests_support import checked, events, rejects, source_file, source_notes

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"
PLASO_CHAT_DB = REALWORLD / "ios" / "sms" / "plaso_imessage_chat.db"

SUSPECT = "+447700900123"
VICTIM_FRIEND = "+447700900456"
SUSPECT_MAIL = "x.suspect@example.org"
APPLE_EPOCH_UNIX = 978307200
# 2024-03-02 21:14:05 UTC in Apple seconds and nanoseconds.
WHEN_S = 1709414045 - APPLE_EPOCH_UNIX
WHEN_NS = WHEN_S * 1_000_000_000 + 250_000_000
WHEN = datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)

SCHEMA = """
CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL,
    country TEXT, service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT);
CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
    style INTEGER, state INTEGER, chat_identifier TEXT, service_name TEXT, room_name TEXT,
    display_name TEXT);
CREATE TABLE chat_handle_join (chat_id INTEGER, handle_id INTEGER, UNIQUE(chat_id, handle_id));
CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER, message_date INTEGER DEFAULT 0,
    PRIMARY KEY (chat_id, message_id));
CREATE TABLE chat_recoverable_message_join (chat_id INTEGER, message_id INTEGER,
    delete_date INTEGER, ck_sync_state INTEGER DEFAULT 0, PRIMARY KEY (chat_id, message_id));
CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
    created_date INTEGER DEFAULT 0, filename TEXT, uti TEXT, mime_type TEXT,
    transfer_state INTEGER DEFAULT 0, is_outgoing INTEGER DEFAULT 0, transfer_name TEXT,
    total_bytes INTEGER DEFAULT 0);
CREATE TABLE message_attachment_join (message_id INTEGER, attachment_id INTEGER,
    UNIQUE(message_id, attachment_id));
CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
    text TEXT, replace INTEGER DEFAULT 0, service_center TEXT, handle_id INTEGER DEFAULT 0,
    subject TEXT, country TEXT, attributedBody BLOB, version INTEGER DEFAULT 0,
    type INTEGER DEFAULT 0, service TEXT, account TEXT, error INTEGER DEFAULT 0, date INTEGER,
    date_read INTEGER, date_delivered INTEGER, is_from_me INTEGER DEFAULT 0,
    is_system_message INTEGER DEFAULT 0, cache_roomnames TEXT, item_type INTEGER DEFAULT 0,
    other_handle INTEGER DEFAULT 0, group_title TEXT, group_action_type INTEGER DEFAULT 0,
    share_status INTEGER DEFAULT 0, share_direction INTEGER DEFAULT 0,
    associated_message_guid TEXT, associated_message_type INTEGER DEFAULT 0,
    associated_message_emoji TEXT, reply_to_guid TEXT, thread_originator_guid TEXT,
    date_edited INTEGER DEFAULT 0, date_retracted INTEGER DEFAULT 0,
    message_summary_info BLOB, is_spam INTEGER DEFAULT 0);
CREATE TABLE deleted_messages (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, guid TEXT NOT NULL);
"""


# -- builders -------------------------------------------------------------------------------------

def ts_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x8000:
        return b"\x81" + struct.pack("<h", n)
    return b"\x82" + struct.pack("<i", n)


def typedstream(text: str, mutable: bool = False) -> bytes:
    """An NSAttributedString archive laid out as iOS writes attributedBody (the plaso sample's
    layout: header, class chain, NSString with its '+' value, then the attribute dictionary)."""
    data = text.encode("utf-8")
    classes = (b"\x84\x84\x84\x19NSMutableAttributedString\x00\x84\x84\x12NSAttributedString\x00"
               b"\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x0fNSMutableString\x01"
               b"\x84\x84\x08NSString\x01\x95" if mutable else
               b"\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92"
               b"\x84\x84\x84\x08NSString\x01\x94")
    attributes = (b"\x86\x84\x02iI\x01" + ts_length(len(text)) +
                  b"\x92\x84\x84\x84\x0cNSDictionary\x00\x95\x84\x01i\x01\x92\x84\x98\x98"
                  b"\x1d__kIMMessagePartAttributeName\x86\x92\x84\x84\x84\x08NSNumber\x00"
                  b"\x84\x84\x07NSValue\x00\x95\x84\x01*\x84\x9b\x9b\x00\x86\x86\x86")
    return (b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@" + classes + b"\x84\x01+"
            + ts_length(len(data)) + data + attributes)


def new_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    return conn


def add_handle(conn: sqlite3.Connection, ident: str, service: str = "iMessage") -> int:
    return conn.execute("INSERT INTO handle (id, service) VALUES (?, ?)",
                        (ident, service)).lastrowid


def add_chat(conn: sqlite3.Connection, identifier: str, handles: list[int], style: int = 45,
             display_name: str | None = None, room: str | None = None) -> int:
    chat = conn.execute("INSERT INTO chat (guid, style, chat_identifier, service_name, room_name, "
                        "display_name) VALUES (?, ?, ?, 'iMessage', ?, ?)",
                        (f"iMessage;-;{identifier}", style, identifier, room,
                         display_name)).lastrowid
    conn.executemany("INSERT INTO chat_handle_join VALUES (?, ?)", [(chat, h) for h in handles])
    return chat


_GUIDS = iter(range(1, 1_000_000))


def add_message(conn: sqlite3.Connection, chat: int | None = None, **columns: object) -> int:
    values = {"guid": f"00000000-0000-4000-8000-{next(_GUIDS):012d}", "date": WHEN_NS,
              "service": "iMessage", "is_from_me": 0, "handle_id": 0, **columns}
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    rowid = conn.execute(f"INSERT INTO message ({names}) VALUES ({marks})",
                         tuple(values.values())).lastrowid
    if chat is not None:
        conn.execute("INSERT INTO chat_message_join (chat_id, message_id) VALUES (?, ?)",
                     (chat, rowid))
    return rowid


def parse(path: Path, related: dict[str, Path] | None = None) -> list[Event | Reject | SourceNote]:
    source = source_file(path, f"exports/Library/SMS/{path.name}", related)
    return checked(IosSmsParser().parse(source))


def one(records: list, locator: str) -> Event:
    [found] = [r for r in events(records) if r.locator == locator]
    return found


@pytest.fixture
def db(tmp_path: Path):
    path = tmp_path / "sms.db"
    conn = new_db(path)
    yield path, conn
    conn.close()


# -- typedstream ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Where were you last night?",
    "I saw you at the station 🚉 — don’t ignore me",
    "x" * 200,          # 0x81 + two-byte length
    "é" * 40_000,       # 0x82 + four-byte length (80 000 bytes)
    "",
])
def test_typedstream_reader_reads_the_string_of_an_attributed_body(text: str) -> None:
    assert typedstream_text(typedstream(text)) == (text, True)
    assert typedstream_text(typedstream(text, mutable=True)) == (text, True)


@pytest.mark.parametrize("text", ["", "short", "’" * 100, "x" * 40_000])
def test_the_encoder_writes_what_the_reader_reads(text: str) -> None:
    assert typedstream_text(encode_typedstream_text(text)) == (text, True)


@pytest.mark.parametrize("blob, problem", [
    (b"", "not a typedstream"),
    (b"bplist00" + b"\x00" * 20, "not a typedstream"),
    (b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x08NSObject\x00", "no NSString"),
    (typedstream("hello world")[:typedstream("hello world").find(b"\x01+") + 6],
     "runs past the end"),
    (b"\x04\x0bstreamtyped\x84\x84\x08NSString\x01\x94\x84\x01+", "ends before"),
    (b"\x04\x0bstreamtyped\x84\x84\x08NSString\x01\x94\x84\x01+\x83abc", "unexpected encoding"),
    (b"\x04\x0bstreamtyped\x84\x84\x08NSString\x01\x94\x84\x01+\x81\xff\xff", "runs past"),
    (b"\x04\x0bstreamtyped\x84\x84\x08NSString" + b"\x00" * 40 + b"\x01+\x03abc",
     "followed by its"),
])
def test_typedstream_reader_refuses_what_it_cannot_read(blob: bytes, problem: str) -> None:
    with pytest.raises(TypedstreamError, match=problem):
        typedstream_text(blob)


def test_typedstream_reader_replaces_invalid_utf8_and_says_so() -> None:
    blob = typedstream("ab").replace(b"\x02ab", b"\x02a\xff")
    assert typedstream_text(blob) == ("a\ufffd", False)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=200))
def test_typedstream_reader_never_fails_otherwise(noise: bytes, cut: int) -> None:
    for blob in (noise, b"\x04\x0bstreamtyped" + noise, typedstream("hello world")[:cut] + noise):
        try:
            text, _ = typedstream_text(blob)
        except TypedstreamError:
            continue
        assert len(text) <= len(blob)


# -- recognition ----------------------------------------------------------------------------------

def test_recognised_by_its_tables(db) -> None:
    path, conn = db
    conn.commit()
    assert parser_for(sample_file(path)) is IosSmsParser


def test_an_android_sms_database_is_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "mmssms.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sms (_id INTEGER PRIMARY KEY, address TEXT, date INTEGER, "
                     "type INTEGER, body TEXT)")
    assert not IosSmsParser.recognises(sample_file(path))


# -- messages -------------------------------------------------------------------------------------

def test_incoming_and_outgoing_messages_with_seconds_and_nanoseconds(db) -> None:
    path, conn = db
    suspect = add_handle(conn, SUSPECT)
    chat = add_chat(conn, SUSPECT, [suspect])
    add_message(conn, chat, text="You can't hide from me", handle_id=suspect, date=WHEN_NS,
                date_read=WHEN_NS + 60_000_000_000)
    add_message(conn, chat, text="Leave me alone", handle_id=suspect, is_from_me=1,
                date=WHEN_S + 30, service="SMS")
    add_message(conn, chat, text="Answer me", handle_id=suspect, date=WHEN_NS + 10**12,
                service="RCS")
    conn.commit()
    records = parse(path)
    assert rejects(records) == []
    first, second, third = events(records)

    assert (first.kind, first.platform, first.direction) == ("message", "phone", "incoming")
    assert first.time.value == datetime(2024, 3, 2, 21, 14, 5, 250000, tzinfo=UTC)
    assert first.time.source == "message.date (Apple epoch ns)"
    assert first.sender == f"tel:{SUSPECT}" and first.recipients == []
    assert first.owner_side == "recipients"
    assert first.text == "You can't hide from me"
    assert first.locator == "sqlite:message/ROWID=1"
    assert first.details["service"] == "iMessage"
    assert first.details["chat_identifier"] == SUSPECT
    assert first.details["date_read_utc"] == "2024-03-02T21:15:05.250000+00:00"

    assert (second.kind, second.direction, second.details["service"]) == ("sms", "outgoing", "SMS")
    assert second.time.value == datetime(2024, 3, 2, 21, 14, 35, tzinfo=UTC)
    assert second.time.source == "message.date (Apple epoch s)"
    assert second.sender is None and second.recipients == [f"tel:{SUSPECT}"]
    assert second.owner_side == "sender"

    assert (third.kind, third.details["service"]) == ("message", "RCS")
    assert source_notes(records) == [
        ("message.date read as nanoseconds for 2 rows and seconds for 1 row, counted from "
         "2001-01-01 UTC (by magnitude: above 10^15 is nanoseconds, as iOS 11 / macOS 10.13 and "
         "later write it)")]


def test_an_email_handle_is_an_email_identifier(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT_MAIL)
    add_message(conn, add_chat(conn, SUSPECT_MAIL, [handle]), text="hi", handle_id=handle)
    conn.commit()
    [event] = events(parse(path))
    assert event.sender == f"email:{SUSPECT_MAIL}"


def test_date_zero_is_rejected_with_the_reason(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    add_message(conn, text="no time", handle_id=handle, date=0)
    add_message(conn, text="no time either", handle_id=handle, date=None)
    add_message(conn, text="kept", handle_id=handle)
    add_message(conn, text="far future", handle_id=handle, date=1e300)
    add_message(conn, text="infinite", handle_id=handle, date=float("inf"))
    add_message(conn, text="words", handle_id=handle, date="yesterday")
    conn.commit()
    records = parse(path)
    zero, null, huge, infinite, words = rejects(records)
    assert [r.locator for r in (huge, infinite, words)] == [
        f"sqlite:message/ROWID={n}" for n in (4, 5, 6)]
    assert all("not a usable Apple-epoch time" in r.reason for r in (huge, infinite, words))
    assert zero.locator == "sqlite:message/ROWID=1" and "not recorded" in zero.reason
    assert null.locator == "sqlite:message/ROWID=2" and "not recorded" in null.reason
    assert [e.text for e in events(records)] == ["kept"]


def test_text_only_in_attributed_body(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    long_text = "I know where you live. " * 20
    add_message(conn, text=None, attributedBody=typedstream("I’m outside 👀"), handle_id=handle)
    add_message(conn, text="", attributedBody=typedstream(long_text, mutable=True),
                handle_id=handle)
    add_message(conn, text=None, attributedBody=b"\x04\x0bstreamtyped garbage", handle_id=handle)
    conn.commit()
    first, second, broken = events(parse(path))
    assert first.text == "I’m outside 👀"
    assert any("read from attributedBody" in n for n in first.notes)
    assert second.text == long_text
    assert broken.text is None
    assert any("attributedBody could not be read" in n for n in broken.notes)


def test_text_and_attributed_body_that_disagree_are_both_kept(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    add_message(conn, text="see you at 8", attributedBody=typedstream("see you at 9"),
                handle_id=handle)
    add_message(conn, text="same", attributedBody=typedstream("same"), handle_id=handle)
    conn.commit()
    differing, same = events(parse(path))
    assert differing.text == "see you at 8"
    assert differing.details["attributed_body_text"] == "see you at 9"
    assert "attributed_body_text" not in same.details and same.notes == []


def summary_info(**root: object) -> bytes:
    return plistlib.dumps(root, fmt=plistlib.FMT_BINARY)


def test_edited_message_keeps_its_history(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    info = summary_info(otr={"0": {"lo": 0, "le": 15}}, ec={"0": [
        {"d": WHEN_S, "t": typedstream("You will regret this")},
        {"d": WHEN_S + 60, "t": typedstream("Sorry, wrong chat")},
    ]})
    add_message(conn, text=None, attributedBody=typedstream("Sorry, wrong chat"),
                handle_id=handle, date_edited=WHEN_NS + 60 * 10**9, message_summary_info=info)
    conn.commit()
    [event] = events(parse(path))
    assert event.flags == ["edited"]
    assert event.text == "Sorry, wrong chat"
    assert event.details["date_edited_utc"] == "2024-03-02T21:15:05.250000+00:00"
    assert event.details["edit_history"] == [
        {"part": 0, "date": WHEN_S, "utc": "2024-03-02T21:14:05+00:00",
         "text": "You will regret this"},
        {"part": 0, "date": WHEN_S + 60, "utc": "2024-03-02T21:15:05+00:00",
         "text": "Sorry, wrong chat"},
    ]


def test_unsent_messages(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    # iOS 16: date_retracted set, the part listed in rp, no text left.
    add_message(conn, text=None, handle_id=handle, date_edited=WHEN_NS + 10**9,
                date_retracted=WHEN_NS + 10**9, message_summary_info=summary_info(rp=[0]))
    # macOS 26: Undo Send sets only date_edited and rp.
    add_message(conn, text=None, handle_id=handle, date_edited=WHEN_NS + 10**9,
                message_summary_info=summary_info(rp=[0], otr={"0": {}}))
    # date_edited alone, no text, no history: possibly unsent.
    add_message(conn, text=None, handle_id=handle, date_edited=WHEN_NS + 10**9)
    # A damaged summary is noted, not fatal.
    add_message(conn, text="hello", handle_id=handle, message_summary_info=b"bplist00\xff\x00")
    # Edited, then unsent: both.
    add_message(conn, text=None, handle_id=handle, date_edited=WHEN_NS + 2 * 10**9,
                date_retracted=WHEN_NS + 2 * 10**9, message_summary_info=summary_info(
                    rp=[0], ec={"0": [{"d": WHEN_S, "t": typedstream("first")},
                                      {"d": WHEN_S + 1, "t": typedstream("second")}]}))
    conn.commit()
    ios16, macos26, maybe, damaged, both = events(parse(path))
    assert ios16.flags == ["unsent"]
    assert ios16.details["unsent_parts"] == [0]
    assert "date_retracted_utc" in ios16.details
    assert macos26.flags == ["unsent"]
    assert any("macOS 26" in n and "rp" in n for n in macos26.notes)
    assert maybe.flags == ["edited"]
    assert any("may have been unsent" in n for n in maybe.notes)
    assert damaged.flags == [] and damaged.text == "hello"
    assert any("not a readable property list" in n for n in damaged.notes)
    assert both.flags == ["edited", "unsent"]
    assert [v["text"] for v in both.details["edit_history"]] == ["first", "second"]


def test_odd_edit_histories_are_read_safely(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    info = summary_info(rp=["0", 1], ec={
        "0": [{"d": float("inf"), "t": typedstream("a")}, {"d": "soon", "t": b"not an archive"},
              "not a dict"],
        "x" * 20_000: [{"t": typedstream("b")}],
        "1": "not a list",
    })
    add_message(conn, text=None, handle_id=handle, message_summary_info=info)
    many = summary_info(ec={"0": [{"d": WHEN_S + n, "t": typedstream(str(n))}
                                  for n in range(100)]})
    add_message(conn, text="many", handle_id=handle, message_summary_info=many)
    conn.commit()
    odd, crowded = events(parse(path))
    history = odd.details["edit_history"]
    assert [v["text"] for v in history] == ["a", None, "b"]
    assert history[0]["date"] is None and history[0]["utc"] is None
    assert len(history[2]["part"]) == MAX_FIELD_CHARS
    assert odd.details["unsent_parts"] == ["0", 1] and odd.flags == ["edited", "unsent"]
    assert any("could not be read" in n for n in odd.notes)
    assert any("not a dictionary" in n for n in odd.notes)
    assert any("not a list" in n for n in odd.notes)
    canonical_json(odd.details)
    assert len(crowded.details["edit_history"]) == 64
    assert any("36 more edit history entries were not kept" in n for n in crowded.notes)


def test_reactions(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    chat = add_chat(conn, SUSPECT, [handle])
    target = add_message(conn, chat, text="Leave me alone", is_from_me=1, handle_id=handle)
    target_guid = conn.execute("SELECT guid FROM message WHERE ROWID = ?", (target,)).fetchone()[0]
    add_message(conn, chat, text="Laughed at “Leave me alone”", handle_id=handle,
                associated_message_type=2003, associated_message_guid=f"p:0/{target_guid}")
    add_message(conn, chat, text="Removed a laugh from “Leave me alone”", handle_id=handle,
                associated_message_type=3003, associated_message_guid=f"p:0/{target_guid}")
    add_message(conn, chat, text="Reacted 😈 to “Leave me alone”", handle_id=handle,
                associated_message_type=2006, associated_message_guid=f"bp:{target_guid}",
                associated_message_emoji="😈")
    conn.commit()
    _, laugh, removed, emoji = events(parse(path))
    assert laugh.kind == "reaction" and laugh.direction == "incoming"
    assert laugh.sender == f"tel:{SUSPECT}"
    assert laugh.details["reaction"] == "laughed" and laugh.details["reaction_removed"] is False
    assert laugh.details["target_guid"] == target_guid
    assert laugh.details["associated_message_guid"] == f"p:0/{target_guid}"
    assert laugh.details["associated_message_type"] == 2003
    assert removed.kind == "reaction" and removed.details["reaction_removed"] is True
    assert emoji.details["reaction"] == "emoji" and emoji.details["reaction_emoji"] == "😈"
    assert emoji.details["target_guid"] == target_guid


def test_group_chat_members_are_the_recipients(db) -> None:
    path, conn = db
    suspect = add_handle(conn, SUSPECT)
    friend = add_handle(conn, VICTIM_FRIEND)
    mail = add_handle(conn, SUSPECT_MAIL)
    chat = add_chat(conn, "chat123456789", [suspect, friend, mail], style=43,
                    display_name="Old friends", room="chat123456789")
    add_message(conn, chat, text="Everyone should know what she did", handle_id=suspect)
    add_message(conn, chat, text="Stop this", is_from_me=1, handle_id=0)
    conn.commit()
    incoming, outgoing = events(parse(path))
    assert incoming.sender == f"tel:{SUSPECT}"
    assert incoming.recipients == [f"tel:{VICTIM_FRIEND}", f"email:{SUSPECT_MAIL}"]
    assert incoming.owner_side == "recipients"
    assert outgoing.sender is None
    assert outgoing.recipients == [f"tel:{SUSPECT}", f"tel:{VICTIM_FRIEND}",
                                   f"email:{SUSPECT_MAIL}"]
    for event in (incoming, outgoing):
        assert event.details["group_chat"] is True
        assert event.details["chat_identifier"] == "chat123456789"
        assert event.details["chat_display_name"] == "Old friends"
        assert any("chat_handle_join lists at extraction" in n for n in event.notes)


def test_group_chat_found_by_room_name_when_the_message_has_no_join_row(db) -> None:
    path, conn = db
    suspect = add_handle(conn, SUSPECT)
    friend = add_handle(conn, VICTIM_FRIEND)
    add_chat(conn, "chat42", [suspect, friend], style=43, room="chat42")
    add_message(conn, None, text="hi all", is_from_me=1, cache_roomnames="chat42")
    conn.commit()
    [event] = events(parse(path))
    assert event.recipients == [f"tel:{SUSPECT}", f"tel:{VICTIM_FRIEND}"]
    assert event.details["chat_identifier"] == "chat42"


def test_outgoing_message_without_any_party_names_an_unknown_recipient(db) -> None:
    path, conn = db
    add_message(conn, text="to whom?", is_from_me=1, handle_id=0)
    add_message(conn, text="from whom?", is_from_me=0, handle_id=77)
    conn.commit()
    outgoing, incoming = events(parse(path))
    assert outgoing.recipients == ["tel:Unknown"]
    assert incoming.sender == "tel:Unknown"
    assert any("handle_id 77 is not in the handle table" in n for n in incoming.notes)


def test_attachment_in_the_export_is_hashed_and_a_missing_one_is_listed(db, tmp_path) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    message = add_message(conn, text="\ufffc\ufffc", handle_id=handle)
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100)
    rows = [("~/Library/SMS/Attachments/ab/12/GUID-1/IMG_0001.jpg", "image/jpeg",
             "IMG_0001.jpg", 111),
            ("~/Library/SMS/Attachments/cd/34/GUID-2/voice.caf", "audio/x-caf",
             "Audio Message.caf", 5120)]
    for number, (filename, mime, name, size) in enumerate(rows, start=1):
        conn.execute("INSERT INTO attachment (guid, filename, mime_type, transfer_name, "
                     "total_bytes) VALUES (?, ?, ?, ?, ?)", (f"A{number}", filename, mime, name,
                                                             size))
        conn.execute("INSERT INTO message_attachment_join VALUES (?, ?)", (message, number))
    conn.commit()
    records = parse(path, {"Attachments/ab/12/GUID-1/IMG_0001.jpg": photo})
    assert rejects(records) == []
    [event] = events(records)
    [attachment] = event.attachments
    assert attachment.name == "IMG_0001.jpg"
    assert attachment.sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert attachment.size == 111 and attachment.media_type == "image/jpeg"
    assert event.details["attachments_not_in_export"] == [
        {"name": "Audio Message.caf", "mime_type": "audio/x-caf", "size": 5120,
         "filename": "~/Library/SMS/Attachments/cd/34/GUID-2/voice.caf"}]


def test_attachment_paths_that_climb_out_are_not_followed(db, tmp_path) -> None:
    path, conn = db
    message = add_message(conn, text="x", handle_id=add_handle(conn, SUSPECT))
    conn.execute("INSERT INTO attachment (guid, filename, transfer_name) VALUES "
                 "('A1', '~/Library/SMS/Attachments/../../../secret.db', 'secret.db')")
    conn.execute("INSERT INTO message_attachment_join VALUES (?, 1)", (message,))
    conn.commit()
    asked: list[str] = []
    source = SourceFile(path=path, case_path="exports/sms.db", name="sms.db",
                        sample=sample_file(path), related=lambda rel: asked.append(rel))
    [event] = [r for r in IosSmsParser().parse(source) if isinstance(r, Event)]
    assert asked == []
    assert event.details["attachments_not_in_export"][0]["name"] == "secret.db"


def test_attachment_of_a_deleted_message_is_rejected_with_the_reason(db) -> None:
    path, conn = db
    conn.execute("INSERT INTO attachment (guid, filename, mime_type, transfer_name, total_bytes) "
                 "VALUES ('A1', '~/Library/SMS/Attachments/x/y/G/a.png', 'image/png', 'a.png', 9)")
    conn.execute("INSERT INTO message_attachment_join VALUES (99, 1)")
    conn.execute("INSERT INTO deleted_messages (guid) VALUES ('G-1'), ('G-2')")
    conn.execute("INSERT INTO chat_message_join (chat_id, message_id) VALUES (1, 99)")
    conn.commit()
    records = parse(path)
    [reject] = rejects(records)
    assert reject.locator == "sqlite:attachment/ROWID=1"
    assert "'a.png' (image/png, 9 bytes as recorded)" in reject.reason
    assert "message ROWID 99" in reject.reason
    notes = source_notes(records)
    assert any("deleted_messages table lists 2 message guids" in n for n in notes)
    assert any("chat_message_join links 1 message ROWID that" in n and "99" in n for n in notes)


def test_system_rows_are_events_that_say_what_happened(db) -> None:
    path, conn = db
    suspect = add_handle(conn, SUSPECT)
    friend = add_handle(conn, VICTIM_FRIEND)
    chat = add_chat(conn, "chat7", [suspect, friend], style=43)
    add_message(conn, chat, text=None, handle_id=suspect, item_type=1, group_action_type=0,
                other_handle=friend)
    add_message(conn, chat, text=None, handle_id=suspect, item_type=2,
                group_title="She deserves it")
    add_message(conn, chat, text=None, handle_id=friend, item_type=3, group_action_type=0)
    add_message(conn, chat, text=None, handle_id=suspect, item_type=1, group_action_type=1,
                other_handle=friend)
    conn.commit()
    added, renamed, left, removed = events(parse(path))
    assert added.kind == "message" and added.details["system_event"] == "participant added"
    assert added.details["participant"] == f"tel:{VICTIM_FRIEND}"
    assert added.sender == f"tel:{SUSPECT}"
    assert renamed.details["system_event"] == "group renamed"
    assert renamed.details["group_title"] == "She deserves it"
    assert left.details["system_event"] == "participant left"
    assert removed.details["system_event"] == "participant removed"
    assert all(any("system row" in n for n in e.notes) for e in (added, renamed, left, removed))


def test_spam_recently_deleted_and_failed_flags(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    chat = add_chat(conn, SUSPECT, [handle])
    add_message(conn, chat, text="win a prize", handle_id=handle, is_spam=1)
    deleted = add_message(conn, None, text="deleted by the owner", handle_id=handle)
    conn.execute("INSERT INTO chat_recoverable_message_join (chat_id, message_id, delete_date) "
                 "VALUES (?, ?, ?)", (chat, deleted, WHEN_NS + 3600 * 10**9))
    add_message(conn, chat, text="did not go", handle_id=handle, is_from_me=1, error=22)
    conn.commit()
    spam, gone, failed = events(parse(path))
    assert spam.flags == ["spam"]
    assert gone.flags == ["deleted"]
    assert gone.details["delete_date_utc"] == "2024-03-02T22:14:05.250000+00:00"
    assert gone.details["chat_identifier"] == SUSPECT
    assert failed.flags == ["failed"] and failed.details["error"] == 22


def test_hostile_values_in_any_column_still_make_a_well_formed_event(db) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    conn.execute("UPDATE handle SET id = ? WHERE ROWID = ?", (SUSPECT.encode(), handle))
    add_message(conn, guid=b"\xff\xfe-guid", text="x", handle_id=handle, service=b"iMessage",
                error=float("inf"), reply_to_guid="r" * (MAX_FIELD_CHARS + 50),
                subject="s" * (MAX_FIELD_CHARS + 1))
    conn.commit()
    [event] = events(parse(path))
    assert event.sender == f"tel:{SUSPECT}"
    assert event.details["guid"] == "\ufffd\ufffd-guid"
    assert event.details["service"] == "iMessage"
    assert event.details["error"] == "inf"
    assert len(event.details["reply_to_guid"]) == MAX_FIELD_CHARS
    assert len(event.subject) == MAX_FIELD_CHARS
    canonical_json({"details": event.details, "subject": event.subject, "text": event.text})


def test_long_text_is_bounded(db, monkeypatch) -> None:
    import courseline.parsers.ios_sms as module
    monkeypatch.setattr(module, "MAX_TEXT_CHARS", 10)
    path, conn = db
    add_message(conn, text="a" * 50, handle_id=add_handle(conn, SUSPECT))
    conn.commit()
    [event] = events(parse(path))
    assert event.text == "a" * 10 and event.flags == ["truncated"]


def test_output_is_the_same_on_every_run(db, tmp_path) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    add_message(conn, add_chat(conn, SUSPECT, [handle]), text=None,
                attributedBody=typedstream("again"), handle_id=handle)
    conn.commit()
    assert repr(parse(path)) == repr(parse(path))


def test_older_schema_without_the_newer_tables_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "sms.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT, service TEXT);
            CREATE TABLE message (ROWID INTEGER PRIMARY KEY, guid TEXT, text TEXT,
                handle_id INTEGER, date INTEGER, is_from_me INTEGER, service TEXT);
            INSERT INTO handle VALUES (1, '+447700900123', 'SMS');
            INSERT INTO message VALUES (1, 'G1', 'old phone', 1, 300000000, 0, 'SMS');
        """)
    records = parse(path)
    assert rejects(records) == []
    [event] = events(records)
    assert (event.kind, event.text, event.sender) == ("sms", "old phone", f"tel:{SUSPECT}")
    assert event.time.value == datetime(2010, 7, 5, 5, 20, tzinfo=UTC)


def test_damaged_database_gives_the_events_before_the_fault_and_a_reject(db, tmp_path,
                                                                          hang_guard) -> None:
    path, conn = db
    handle = add_handle(conn, SUSPECT)
    chat = add_chat(conn, SUSPECT, [handle])
    for number in range(400):
        add_message(conn, chat, text=f"message {number} " + "x" * 400, handle_id=handle,
                    date=WHEN_S + number)
    conn.commit()
    conn.close()
    damaged = tmp_path / "damaged" / "sms.db"
    damaged.parent.mkdir()
    shutil.copyfile(path, damaged)
    with damaged.open("r+b") as handle_file:
        handle_file.truncate(damaged.stat().st_size // 2)
    with hang_guard():
        records = parse(damaged)
    read = events(records)
    assert 100 < len(read) < 400
    # The rows before the cut are read whole and in order; each is the row it says it is.
    assert [e.locator for e in read[:100]] == [f"sqlite:message/ROWID={n}" for n in range(1, 101)]
    for event in read:
        rowid = int(event.locator.rsplit("=", 1)[1])
        assert event.text.split()[1] == str(rowid - 1)
        assert event.time.raw == str(WHEN_S + rowid - 1)
    faults = rejects(records)
    assert any(r.locator == "sqlite:message" and "could not be read past row" in r.reason
               for r in faults)
    # Rows decoded from the half page at the cut are rejected, never made into events.
    assert all(r.reason for r in faults)
    assert any("damaged page" in r.reason for r in faults)
    assert any("was cut short" in n for n in source_notes(records))


def test_a_file_that_is_not_a_database_is_one_reject(tmp_path: Path) -> None:
    path = tmp_path / "sms.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    source = SourceFile(path=path, case_path="exports/sms.db", name="sms.db",
                        sample=sample_file(path))
    records = list(IosSmsParser().parse(source))
    assert records and all(isinstance(r, (Reject, SourceNote)) for r in records)


# -- the real sample ------------------------------------------------------------------------------

def real_sample() -> Path:
    if not PLASO_CHAT_DB.is_file():
        pytest.skip(f"real sample not found at {PLASO_CHAT_DB} (the team's shared realworld/ "
                    "folder is not next to this checkout)")
    return PLASO_CHAT_DB


def test_plaso_chat_db_conformance() -> None:
    path = real_sample()
    assert parser_for(sample_file(path)) is IosSmsParser
    records = parse(path)
    read = events(records)
    assert len(read) == 10
    assert [e.locator for e in read] == [f"sqlite:message/ROWID={n}" for n in range(1, 11)]
    assert all(e.kind == "message" and e.details["service"] == "iMessage" for e in read)
    assert [e.direction for e in read] == ["incoming", "outgoing", "incoming", "incoming",
                                           "outgoing", "outgoing", "incoming", "incoming",
                                           "outgoing", "outgoing"]
    # The one reject: the sample's only attachment belongs to message 21, which was deleted.
    [reject] = rejects(records)
    assert reject.locator == "sqlite:attachment/ROWID=1"
    assert "'sslsplit.der' (application/x-x509-ca-cert, 712 bytes as recorded)" in reject.reason
    assert "message ROWID 21" in reject.reason
    notes = source_notes(records)
    assert any(n.startswith("message.date read as seconds for 10 rows") for n in notes)
    assert any("deleted_messages table lists 226 message guids" in n for n in notes)
    assert any("chat_message_join links 225 message ROWIDs" in n for n in notes)

    # Hand-checked with sqlite3: datetime(469908586 + 978307200, 'unixepoch'), handle 1.
    first = read[0]
    assert first.time.raw == "469908586"
    assert first.time.value == datetime(2015, 11, 22, 18, 9, 46, tzinfo=UTC)
    assert first.sender == "tel:447775455555" and first.owner_side == "recipients"
    assert first.text.startswith("Hey Kenneth, it's Eireanne!")
    assert first.details["date_read_utc"] == "2015-11-22T18:13:22+00:00"
    assert first.details["chat_identifier"] == "+447775446518"
    eighth = read[7]
    assert eighth.sender == "email:xxxxxx2015@icloud.com"
    assert eighth.text == "Did you try to send me a message?"
    last = read[9]
    assert last.time.value == datetime(2015, 12, 2, 19, 24, 53, tzinfo=UTC)
    assert last.recipients == ["tel:447775455555"] and last.owner_side == "sender"


def test_plaso_chat_db_attributed_bodies_read_as_the_text_column() -> None:
    """Every row of the sample has both text and attributedBody. Eight agree exactly; in rows 6
    and 10 the sample's text column says 'Open Office' where attributedBody says 'Microsoft
    Office' (the test data was edited in one column only): the parser shows both."""
    path = real_sample()
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        rows = conn.execute("SELECT ROWID, text, attributedBody FROM message").fetchall()
    finally:
        conn.close()
    differing = {}
    for rowid, text, body in rows:
        archived, valid = typedstream_text(body)
        assert valid
        if archived != text:
            differing[rowid] = (text, archived)
    assert sorted(differing) == [6, 10]
    for text, archived in differing.values():
        assert archived == text.replace("Open Office", "Microsoft Office")
    read = events(parse(path))
    assert read[5].details["attributed_body_text"] == differing[6][1]
    assert "’" in read[5].text
