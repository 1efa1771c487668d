"""Android mmssms.db and call log: synthetic databases built here, and the real plaso samples."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, parser_for
from courseline.parsers._phone import WITHHELD
from courseline.parsers.android_calls import AndroidCallLogParser
from courseline.parsers.android_sms import AndroidMessagesParser
from courseline.timeline.event import Event, Reject, SourceNote
from courseline.timeline.identity import normalise
from tests_support import checked, events, source_file

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"
T0 = 1_725_000_000_000  # 2024-08-30T06:40:00Z in ms
SUSPECT = "07700 900456"

SMS_SCHEMA = """
CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, person INTEGER,
    date INTEGER, date_sent INTEGER DEFAULT 0, protocol INTEGER, read INTEGER DEFAULT 0,
    status INTEGER DEFAULT -1, type INTEGER, reply_path_present INTEGER, subject TEXT, body TEXT,
    service_center TEXT, locked INTEGER DEFAULT 0, sub_id INTEGER DEFAULT -1,
    error_code INTEGER DEFAULT 0, seen INTEGER DEFAULT 0);
CREATE TABLE pdu (_id INTEGER PRIMARY KEY, thread_id INTEGER, date INTEGER, date_sent INTEGER,
    msg_box INTEGER, read INTEGER, m_id TEXT, sub TEXT, sub_cs INTEGER, ct_t TEXT, m_type INTEGER,
    sub_id INTEGER DEFAULT -1);
CREATE TABLE addr (_id INTEGER PRIMARY KEY, msg_id INTEGER, contact_id INTEGER, address TEXT,
    type INTEGER, charset INTEGER);
CREATE TABLE part (_id INTEGER PRIMARY KEY, mid INTEGER, seq INTEGER DEFAULT 0, ct TEXT,
    name TEXT, chset INTEGER, cd TEXT, fn TEXT, cid TEXT, cl TEXT, ctt_s INTEGER, ctt_t TEXT,
    _data TEXT, text TEXT);
"""
CALLS_SCHEMA = """
CREATE TABLE calls (_id INTEGER PRIMARY KEY, number TEXT, presentation INTEGER DEFAULT 1,
    date INTEGER, duration INTEGER, subscription_id TEXT, type INTEGER, features INTEGER DEFAULT 0,
    name TEXT, geocoded_location TEXT, countryiso TEXT, transcription TEXT,
    phone_account_address TEXT);
"""
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d2cd"
                    "3a0000000049454e44ae426082")


def source(path: Path, related: dict[str, Path] | None = None) -> SourceFile:
    return source_file(path, related=related)


def parse(parser, src: SourceFile) -> list[Event | Reject | SourceNote]:
    return checked(parser.parse(src))


def messages_db(path: Path, sms_rows: list[tuple], wal: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.executescript(SMS_SCHEMA)
    conn.executemany("INSERT INTO sms (_id, address, date, date_sent, type, body) "
                     "VALUES (?, ?, ?, ?, ?, ?)", sms_rows)
    conn.commit()
    return conn


# -- SMS -------------------------------------------------------------------------------------------

def test_sms_types_become_directions_and_flags(tmp_path):
    path = tmp_path / "mmssms.db"
    messages_db(path, [
        (1, SUSPECT, T0, T0 - 2000, 1, "Where are you?"),
        (2, SUSPECT, T0 + 1000, 0, 2, "Leave me alone."),
        (3, SUSPECT, T0 + 2000, 0, 3, "draft"),
        (4, SUSPECT, T0 + 3000, 0, 5, "could not send"),
        (5, SUSPECT, T0 + 4000, 0, 99, "a maker's own type"),
    ]).close()
    found = events(parse(AndroidMessagesParser(), source(path)))
    assert [e.direction for e in found] == ["incoming", "outgoing", "outgoing", "outgoing",
                                            "unknown"]
    first = found[0]
    assert first.kind == "sms" and first.sender == f"tel:{SUSPECT}" and first.recipients == []
    assert first.owner_side == "recipients"
    assert first.time.value.isoformat() == "2024-08-30T06:40:00+00:00"
    assert first.time.precision == "ms" and first.details["date_sent_ms"] == T0 - 2000
    assert first.locator == "sqlite:sms/_id=1"
    assert found[1].recipients == [f"tel:{SUSPECT}"] and found[1].owner_side == "sender"
    assert found[2].flags == ["draft"] and found[3].flags == ["failed"]
    assert found[4].details["box"] == "type 99"


def test_a_message_without_a_date_is_kept_as_a_reason_not_lost(tmp_path):
    path = tmp_path / "mmssms.db"
    messages_db(path, [(1, SUSPECT, 0, 0, 1, "no time")]).close()
    (event,) = events(parse(AndroidMessagesParser(), source(path)))
    assert event.time.value is None  # the pipeline turns this into a reject naming the field


def test_mms_with_text_and_a_picture_in_the_export(tmp_path):
    path = tmp_path / "mmssms.db"
    conn = messages_db(path, [])
    conn.execute("INSERT INTO pdu (_id, thread_id, date, date_sent, msg_box, m_type, sub) "
                 "VALUES (7, 3, 1725000000, 1724999990, 1, 132, 'look')")
    conn.executemany("INSERT INTO addr (msg_id, address, type) VALUES (?, ?, ?)",
                     [(7, "+447700900789", 137), (7, "+447700900123", 151)])
    conn.executemany("INSERT INTO part (mid, seq, ct, name, _data, text) VALUES (?, ?, ?, ?, ?, ?)",
                     [(7, -1, "application/smil", "smil.xml", None, "<smil/>"),
                      (7, 0, "text/plain", None, None, "Your car."),
                      (7, 1, "image/png", "car.png",
                       "/data/user_de/0/com.android.providers.telephony/app_parts/PART_1", None),
                      (7, 2, "image/jpeg", "gone.jpg",
                       "/data/user_de/0/com.android.providers.telephony/app_parts/PART_2", None)])
    conn.commit()
    conn.close()
    part = tmp_path / "PART_1"
    part.write_bytes(PNG)
    (event,) = events(parse(AndroidMessagesParser(), source(path, {"../app_parts/PART_1": part})))
    assert event.kind == "mms" and event.direction == "incoming"
    assert event.sender == "tel:+447700900789" and event.recipients == ["tel:+447700900123"]
    assert event.owner_side is None   # the MMS names both sides itself
    assert event.text == "Your car." and event.subject == "look"
    assert event.time.precision == "s" and event.time.value.timestamp() == 1725000000
    (picture,) = event.attachments
    assert picture.name == "car.png" and picture.media_type == "image/png"
    assert picture.size == len(PNG)
    assert event.details["attachments_not_in_export"] == [{"name": "gone.jpg",
                                                           "content_type": "image/jpeg"}]


def test_the_owners_own_mms_names_no_sender_so_the_owner_is_filled_in(tmp_path):
    path = tmp_path / "mmssms.db"
    conn = messages_db(path, [])
    conn.execute("INSERT INTO pdu (_id, date, msg_box, m_type) VALUES (1, 1725000000, 2, 128)")
    conn.executemany("INSERT INTO addr (msg_id, address, type) VALUES (?, ?, ?)",
                     [(1, "insert-address-token", 137), (1, SUSPECT, 151)])
    conn.commit()
    conn.close()
    (event,) = events(parse(AndroidMessagesParser(), source(path)))
    assert event.direction == "outgoing" and event.sender is None
    assert event.owner_side == "sender" and event.recipients == [f"tel:{SUSPECT}"]


def test_the_write_ahead_log_is_applied_and_the_evidence_untouched(tmp_path):
    folder = tmp_path / "live"
    folder.mkdir()
    live = folder / "mmssms.db"
    conn = messages_db(live, [(1, SUSPECT, T0, 0, 1, "in the database")], wal=True)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("INSERT INTO sms (_id, address, date, type, body) VALUES (2, ?, ?, 1, ?)",
                 (SUSPECT, T0 + 1, "only in the log"))
    conn.commit()
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    db, log = evidence / "mmssms.db", evidence / "log-copy"
    shutil.copyfile(live, db)
    shutil.copyfile(folder / "mmssms.db-wal", log)
    conn.close()
    for copy in (db, log):
        copy.chmod(0o444)
    before = {p.name: p.read_bytes() for p in evidence.iterdir()}
    items = parse(AndroidMessagesParser(), source(db, {"mmssms.db-wal": log}))
    assert [e.text for e in events(items)] == ["in the database", "only in the log"]
    (note,) = [i for i in items if isinstance(i, SourceNote)]
    assert "log mmssms.db-wal" in note.text and "was applied" in note.text
    assert {p.name: p.read_bytes() for p in evidence.iterdir()} == before  # nothing written

    without = parse(AndroidMessagesParser(), source(db))
    assert [e.text for e in events(without)] == ["in the database"]
    assert any("holds no mmssms.db-wal" in i.text for i in without if isinstance(i, SourceNote))


def test_a_damaged_database_gives_what_was_read_before_the_fault(tmp_path, hang_guard):
    path = tmp_path / "mmssms.db"
    rows = [(n, SUSPECT, T0 + n, 0, 1, f"message {n} " + "x" * 300) for n in range(1, 2001)]
    messages_db(path, rows).close()
    data = bytearray(path.read_bytes())
    # Overwrite a stretch of pages in the middle of the sms table with garbage.
    middle = len(data) // 2
    data[middle:middle + 40_000] = b"\xa5" * 40_000
    path.write_bytes(bytes(data))
    with hang_guard():
        items = parse(AndroidMessagesParser(), source(path))
    rejects = [i for i in items if isinstance(i, Reject)]
    assert rejects, "the damage must be reported"
    assert rejects[0].locator.startswith("sqlite:sms")
    assert "could not be read past row" in rejects[0].reason or "malformed" in rejects[0].reason
    assert 0 < len(events(items)) < 2000


def test_the_same_number_written_two_ways_is_one_identifier_after_normalisation():
    written = ["tel:1 555-521-5554", "tel:15555215554"]
    assert len({str(normalise(w, "US")) for w in written}) == 1
    assert len({str(normalise(w, "GB")) for w in written}) == 1   # not a GB number: digits kept


# -- calls ---------------------------------------------------------------------------------------

def calls_db(path: Path, rows: list[tuple]) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(CALLS_SCHEMA)
    conn.executemany("INSERT INTO calls (_id, number, presentation, date, duration, type, "
                     "subscription_id) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def test_every_call_type_and_presentation(tmp_path):
    path = tmp_path / "calllog.db"
    calls_db(path, [
        (1, SUSPECT, 1, T0, 61, 1, "1"),
        (2, SUSPECT, 1, T0 + 1, 0, 2, "1"),
        (3, SUSPECT, 1, T0 + 2, 125, 2, "2"),
        (4, "", 2, T0 + 3, 0, 3, "1"),
        (5, SUSPECT, 1, T0 + 4, 20, 4, "1"),
        (6, SUSPECT, 1, T0 + 5, 0, 5, "1"),
        (7, SUSPECT, 1, T0 + 6, 0, 6, "1"),
        (8, SUSPECT, 1, T0 + 7, 30, 7, "1"),
        (9, "-2", 1, T0 + 8, 0, 3, "1"),
        (10, SUSPECT, 1, T0 + 9, 0, 42, "1"),
    ])
    items = parse(AndroidCallLogParser(), source(path))
    found = events(items)
    assert [(e.direction, e.call_status) for e in found] == [
        ("incoming", "answered"), ("outgoing", "unanswered"), ("outgoing", "answered"),
        ("incoming", "missed"), ("incoming", "voicemail"), ("incoming", "rejected"),
        ("incoming", "blocked"), ("incoming", "answered"), ("incoming", "missed")]
    assert all(e.kind == "call" and e.platform == "phone" for e in found)
    assert found[0].duration_s == 61 and found[0].sender == f"tel:{SUSPECT}"
    assert found[0].owner_side == "recipients" and found[1].owner_side == "sender"
    assert "0 s" in found[1].notes[0]
    assert found[3].sender == WITHHELD and found[3].details["presentation"] == 2
    assert found[8].sender == WITHHELD                  # the old way: -2 in the number column
    assert found[7].details["call_type"] == "answered on another device"
    assert found[2].details["subscription_id"] == "2"
    (reject,) = [i for i in items if isinstance(i, Reject)]
    assert reject.locator == "sqlite:calls/_id=10" and "42" in reject.reason


def test_a_calls_table_is_recognised_in_either_database(tmp_path):
    path = tmp_path / "contacts2.db"
    calls_db(path, [])
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE raw_contacts (_id INTEGER PRIMARY KEY)")
    conn.close()
    assert parser_for(sample_file(path)) is AndroidCallLogParser
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE calls (_id INTEGER, who TEXT)").connection.close()
    assert parser_for(sample_file(other)) is None


# -- the real samples ------------------------------------------------------------------------------

needs_realworld = pytest.mark.skipif(not REALWORLD.is_dir(),
                                     reason=f"the real-world samples are not at {REALWORLD}")


@needs_realworld
def test_plaso_mmssms_db():
    path = REALWORLD / "android" / "sms" / "plaso_mmssms.db"
    assert parser_for(sample_file(path)) is AndroidMessagesParser
    items = parse(AndroidMessagesParser(), source(path))
    found = events(items)
    assert len(found) == 9 and len(items) == 9            # 9 SMS, no rejects, no notes
    assert [e.direction for e in found].count("outgoing") == 5
    first = found[0]
    assert first.text == "Yo Fred this is my new number."
    assert first.time.value.isoformat() == "2013-10-29T16:56:28.038000+00:00"
    assert found[2].details["date_sent_ms"] == 1383066340000
    # The peer is written "1 555-521-5554" and "15555215554": one identifier.
    peers = {str(normalise(e.sender or e.recipients[0], "US")) for e in found}
    assert peers == {"tel:+15555215554"}


@needs_realworld
def test_plaso_contacts2_db():
    path = REALWORLD / "android" / "calllog" / "plaso_contacts2.db"
    assert parser_for(sample_file(path)) is AndroidCallLogParser
    items = parse(AndroidCallLogParser(), source(path))
    found = events(items)
    assert len(found) == 3 and len(items) == 3
    assert [(e.call_status, e.duration_s) for e in found] == [
        ("missed", 0), ("answered", 126), ("answered", 639)]
    assert [e.direction for e in found] == ["incoming", "outgoing", "incoming"]
    assert found[0].details["contact_name"] == "Barney"
    assert found[0].time.value.isoformat() == "2013-11-06T21:17:16.690000+00:00"


def test_a_makers_own_message_type_attributes_the_number_to_no_side(tmp_path):
    path = tmp_path / "mmssms.db"
    messages_db(path, [(1, SUSPECT, T0, 0, 7, "blocked message")]).close()
    (event,) = events(parse(AndroidMessagesParser(), source(path)))
    assert event.direction == "unknown" and event.sender is None and event.recipients == []
    assert event.owner_side is None and event.details["other_party"] == f"tel:{SUSPECT}"


def test_rows_decoded_from_a_damaged_page_are_rejected_not_read(tmp_path):
    from courseline.parsers._sqlite import Database

    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE t (_id INTEGER, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (0, ""), (2, "b"), (2, "b")])
    rows = list(Database(conn).rows("SELECT _id, v FROM t ORDER BY rowid", "t", key="_id"))
    assert [r["v"] for r in rows if not isinstance(r, Reject)] == ["a", "b"]
    assert [r.locator for r in rows if isinstance(r, Reject)] == ["sqlite:t/after _id=1",
                                                                  "sqlite:t/after _id=2"]


def test_an_unreadable_database_needs_a_look(tmp_path):
    from tests_support import run_cli

    case = tmp_path / "case"
    assert run_cli("init", case).exit_code == 0
    broken = tmp_path / "mmssms.db"
    broken.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    assert run_cli("add", case, broken).exit_code == 0
    result = run_cli("build", case)
    assert result.exit_code == 3, result.output
    assert "no tables that could be read" in result.output
