"""iOS CallHistory.storedata parser, on synthetic Core Data stores built here from the documented
schema (formats.md §2.2, iLEAPP callHistory.py). No real store is available to check against.
Synthetic people only: numbers in the Ofcom drama range, addresses at example.org."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import parser_for
from courseline.parsers.ios_calls import IosCallHistoryParser
from courseline.parsers.ios_sms import IosSmsParser
from courseline.timeline.event import MAX_FIELD_CHARS, Event, Reject, SourceNote, canonical_json
from tests_support import checked, events, rejects, source_file

SUSPECT = "+447700900123"
OTHER = "07700 900456"
APPLE_EPOCH_UNIX = 978307200
WHEN_S = 1709414045 - APPLE_EPOCH_UNIX          # 2024-03-02 21:14:05 UTC
WHEN = datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)

# The Core Data store of iOS 13-17 as iLEAPP reads it (columns not read by the parser included,
# so that the test sees a realistic table).
SCHEMA = """
CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
    ZANSWERED INTEGER, ZCALL_CATEGORY INTEGER, ZCALLTYPE INTEGER, ZDISCONNECTED_CAUSE INTEGER,
    ZFACE_TIME_DATA BLOB, ZHANDLE_TYPE INTEGER, ZNUMBER_AVAILABILITY INTEGER,
    ZORIGINATED INTEGER, ZREAD INTEGER, ZJUNKCONFIDENCE INTEGER, ZDATE TIMESTAMP,
    ZDURATION FLOAT, ZADDRESS VARCHAR, ZDEVICE_ID VARCHAR, ZISO_COUNTRY_CODE VARCHAR,
    ZLOCATION VARCHAR, ZNAME VARCHAR, ZSERVICE_PROVIDER VARCHAR, ZUNIQUE_ID VARCHAR);
CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER,
    Z_MAX INTEGER);
CREATE TABLE Z_METADATA (Z_VERSION INTEGER PRIMARY KEY, Z_UUID VARCHAR(255), Z_PLIST BLOB);
"""
TELEPHONY, FACETIME, WHATSAPP = "com.apple.Telephony", "com.apple.FaceTime", "net.whatsapp.WhatsApp"

_IDS = iter(range(1, 1_000_000))


def add_call(conn: sqlite3.Connection, **columns: object) -> int:
    values = {"Z_ENT": 2, "Z_OPT": 1, "ZDATE": float(WHEN_S), "ZDURATION": 0.0,
              "ZADDRESS": SUSPECT, "ZORIGINATED": 0, "ZANSWERED": 0, "ZCALLTYPE": 1,
              "ZSERVICE_PROVIDER": TELEPHONY, "ZDISCONNECTED_CAUSE": 0, "ZISO_COUNTRY_CODE": "gb",
              "ZUNIQUE_ID": f"5A0C0E3E-0000-4000-8000-{next(_IDS):012d}", **columns}
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    return conn.execute(f"INSERT INTO ZCALLRECORD ({names}) VALUES ({marks})",
                        tuple(values.values())).lastrowid


@pytest.fixture
def store(tmp_path: Path):
    path = tmp_path / "CallHistory.storedata"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    yield path, conn
    conn.close()


def parse(path: Path) -> list[Event | Reject | SourceNote]:
    source = source_file(path, f"exports/CallHistoryDB/{path.name}")
    return checked(IosCallHistoryParser().parse(source))


def test_recognised_by_its_table_and_not_confused_with_messages(store) -> None:
    path, conn = store
    conn.commit()
    assert parser_for(sample_file(path)) is IosCallHistoryParser
    assert not IosSmsParser.recognises(sample_file(path))


@pytest.mark.parametrize("originated, answered, direction, status", [
    (0, 1, "incoming", "answered"),
    (0, 0, "incoming", "missed"),
    (1, 1, "outgoing", "answered"),
    (1, 0, "outgoing", "unanswered"),
])
def test_direction_and_status(store, originated, answered, direction, status) -> None:
    path, conn = store
    add_call(conn, ZORIGINATED=originated, ZANSWERED=answered,
             ZDURATION=125.0 if answered else 0.0)
    conn.commit()
    records = parse(path)
    [call] = records
    assert isinstance(call, Event)
    assert (call.kind, call.platform, call.direction, call.call_status) == (
        "call", "phone", direction, status)
    assert call.locator == "sqlite:ZCALLRECORD/Z_PK=1"
    assert call.time.value == WHEN and call.time.source == "ZCALLRECORD.ZDATE (Apple epoch s)"
    assert call.duration_s == (125 if answered else 0)
    assert f"call status '{status}' derived from ZORIGINATED={originated} ({direction}) and " \
           f"ZANSWERED={answered}" in call.notes
    if direction == "incoming":
        assert call.sender == f"tel:{SUSPECT}" and call.recipients == []
        assert call.owner_side == "recipients"
    else:
        assert call.sender is None and call.recipients == [f"tel:{SUSPECT}"]
        assert call.owner_side == "sender"
    assert call.details["service"] == TELEPHONY
    assert call.details["call_type"] == "phone" and call.details["zcalltype"] == 1
    assert call.details["disconnected_cause"] == 0
    assert call.details["iso_country_code"] == "gb"


def test_fractional_time_and_duration(store) -> None:
    path, conn = store
    add_call(conn, ZDATE=WHEN_S + 0.5, ZDURATION=61.73, ZANSWERED=1)
    conn.commit()
    [call] = events(parse(path))
    assert call.time.value == datetime(2024, 3, 2, 21, 14, 5, 500000, tzinfo=UTC)
    assert call.time.precision == "ms"
    assert call.duration_s == 61
    assert call.details["duration_exact_s"] == 61.73
    assert any("whole seconds of ZDURATION 61.73" in n for n in call.notes)


def test_address_stored_as_a_blob_is_decoded(store) -> None:
    path, conn = store
    add_call(conn, ZADDRESS=SUSPECT.encode("utf-8"))
    add_call(conn, ZADDRESS=b"+4477009\xff00123")
    conn.commit()
    good, bad = events(parse(path))
    assert good.sender == f"tel:{SUSPECT}"
    assert any("BLOB; it was decoded as UTF-8" in n for n in good.notes)
    assert bad.sender == "tel:+4477009\ufffd00123"
    assert any("not valid UTF-8" in n for n in bad.notes)


def test_facetime_calls(store) -> None:
    path, conn = store
    add_call(conn, ZADDRESS="x.suspect@example.org", ZCALLTYPE=8, ZSERVICE_PROVIDER=FACETIME,
             ZANSWERED=1, ZDURATION=30.0)
    add_call(conn, ZADDRESS=SUSPECT, ZCALLTYPE=16, ZSERVICE_PROVIDER=FACETIME, ZORIGINATED=1)
    conn.commit()
    video, audio = events(parse(path))
    assert video.platform == "phone" and video.sender == "email:x.suspect@example.org"
    assert video.details["service"] == FACETIME
    assert video.details["call_type"] == "FaceTime video" and video.details["video"] is True
    assert audio.details["call_type"] == "FaceTime audio" and "video" not in audio.details
    assert audio.call_status == "unanswered" and audio.recipients == [f"tel:{SUSPECT}"]


def test_third_party_calls(store) -> None:
    path, conn = store
    add_call(conn, ZCALLTYPE=0, ZSERVICE_PROVIDER=WHATSAPP, ZADDRESS=SUSPECT, ZNAME="X Suspect")
    add_call(conn, ZCALLTYPE=0, ZSERVICE_PROVIDER="com.example.voip", ZADDRESS=OTHER,
             ZORIGINATED=1, ZANSWERED=1, ZDURATION=12.0)
    conn.commit()
    whatsapp, unknown_app = events(parse(path))
    assert whatsapp.platform == "whatsapp"
    assert whatsapp.sender == f"whatsapp:{SUSPECT}"
    assert whatsapp.call_status == "missed"
    assert whatsapp.details["service"] == WHATSAPP
    assert whatsapp.details["call_type"] == "third-party app"
    assert whatsapp.details["contact_name"] == "X Suspect"
    assert unknown_app.platform == "phone"
    assert unknown_app.recipients == [f"tel:{OTHER}"]
    assert unknown_app.details["service"] == "com.example.voip"


def test_empty_address_is_unknown(store) -> None:
    path, conn = store
    add_call(conn, ZADDRESS=None)
    add_call(conn, ZADDRESS="  ")
    add_call(conn, ZADDRESS="", ZSERVICE_PROVIDER=WHATSAPP)
    conn.commit()
    assert [c.sender for c in events(parse(path))] == ["tel:Unknown"] * 3


def test_calls_without_a_time_are_rejected(store) -> None:
    path, conn = store
    add_call(conn, ZDATE=0)
    add_call(conn, ZDATE=None)
    add_call(conn, ZDATE="soon")
    add_call(conn)
    add_call(conn, ZDATE=1e300)
    add_call(conn, ZDATE=float("-inf"))
    conn.commit()
    records = parse(path)
    assert [r.locator for r in rejects(records)] == [f"sqlite:ZCALLRECORD/Z_PK={n}"
                                                     for n in (1, 2, 3, 5, 6)]
    assert all("not recorded" in r.reason for r in rejects(records))
    assert [e.locator for e in events(records)] == ["sqlite:ZCALLRECORD/Z_PK=4"]


def test_odd_codes_are_kept_and_noted(store) -> None:
    path, conn = store
    add_call(conn, ZORIGINATED=None, ZANSWERED=1, ZCALLTYPE=2, ZDISCONNECTED_CAUSE=6,
             ZDURATION=-1.0)
    add_call(conn, ZORIGINATED=1, ZANSWERED=7)
    conn.commit()
    first, second = events(parse(path))
    assert first.direction == "unknown" and first.call_status == "answered"
    assert first.owner_side is None and first.sender is None
    assert first.details["call_type"] == "type 2" and first.details["disconnected_cause"] == 6
    assert first.duration_s is None
    assert any("not a usable duration" in n for n in first.notes)
    assert second.direction == "outgoing" and second.call_status is None
    assert any("ZANSWERED is 7" in n for n in second.notes)


def test_an_older_store_with_fewer_columns(tmp_path: Path) -> None:
    path = tmp_path / "CallHistory.storedata"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, "
                     "Z_OPT INTEGER, ZANSWERED INTEGER, ZORIGINATED INTEGER, ZDATE TIMESTAMP, "
                     "ZDURATION FLOAT, ZADDRESS VARCHAR)")
        conn.execute("INSERT INTO ZCALLRECORD VALUES (1, 2, 1, 1, 0, ?, 42.0, ?)",
                     (float(WHEN_S), SUSPECT))
    records = parse(path)
    assert rejects(records) == []
    [call] = events(records)
    assert (call.direction, call.call_status, call.duration_s) == ("incoming", "answered", 42)
    assert call.platform == "phone" and call.details == {}


def test_hostile_values_still_make_a_well_formed_event(store) -> None:
    path, conn = store
    add_call(conn, ZDISCONNECTED_CAUSE=b"\x00\xff", ZNAME="n" * (MAX_FIELD_CHARS + 9),
             ZSERVICE_PROVIDER=b"com.apple.Telephony", ZCALLTYPE=float("inf"),
             ZLOCATION=b"\xe2\x80")
    conn.commit()
    [call] = events(parse(path))
    assert call.details["disconnected_cause"] == "\x00\ufffd"
    assert len(call.details["contact_name"]) == MAX_FIELD_CHARS
    assert call.details["service"] == "com.apple.Telephony"
    assert call.details["call_type"] == "type inf"
    canonical_json({"details": call.details, "notes": call.notes})


def test_output_is_the_same_on_every_run(store) -> None:
    path, conn = store
    add_call(conn, ZDURATION=3.25, ZANSWERED=1)
    add_call(conn, ZSERVICE_PROVIDER=WHATSAPP, ZCALLTYPE=0)
    conn.commit()
    assert repr(parse(path)) == repr(parse(path))


def test_a_store_cut_short_gives_the_calls_before_the_cut(store, tmp_path, hang_guard) -> None:
    path, conn = store
    for number in range(3000):
        add_call(conn, ZDATE=float(WHEN_S + number), ZNAME=f"caller {number} " + "x" * 100)
    conn.commit()
    conn.close()
    damaged = tmp_path / "cut" / "CallHistory.storedata"
    damaged.parent.mkdir()
    shutil.copyfile(path, damaged)
    with damaged.open("r+b") as handle:
        handle.truncate(damaged.stat().st_size // 2)
    with hang_guard():
        records = parse(damaged)
    read = events(records)
    assert 100 < len(read) < 3000
    for call in read:
        number = int(call.locator.rsplit("=", 1)[1]) - 1
        assert call.details["contact_name"].split()[1] == str(number)
        assert call.time.value == datetime.fromtimestamp(APPLE_EPOCH_UNIX + WHEN_S + number, UTC)
    assert any(r.locator == "sqlite:ZCALLRECORD" and "could not be read past row" in r.reason
               for r in rejects(records))
    assert any(isinstance(r, SourceNote) and "was cut short" in r.text for r in records)


def test_a_file_that_is_not_a_database_is_one_reject(tmp_path: Path) -> None:
    path = tmp_path / "CallHistory.storedata"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    records = parse(path)
    assert records and all(isinstance(r, (Reject, SourceNote)) for r in records)
    assert rejects(records)
