"""The demo case's phones: Sam's Android phone, her SMS Backup & Restore files, and her sister
Jo's iPhone. Written deterministically, in the layouts the real apps and extraction tools use.

What they show: Chris texts and calls Sam from his known number, then, blocked, from a new
number (07700 900789) that no one has tied to him yet, and with his number withheld; a night of
calls in a burst; contact after the order is served; messages to Jo asking her to pass things on
(indirect contact); an iMessage he edited and one he unsent. Sam's backup (taken on 30 September)
holds the same texts and calls as her phone's databases up to that day, so they merge.
Everything is synthetic: Ofcom drama numbers and example.org addresses.
"""

from __future__ import annotations

import plistlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

from courseline.parsers.ios_sms import encode_typedstream_text

BST = timezone(timedelta(hours=1))
GMT = timezone.utc
APPLE_EPOCH = datetime(2001, 1, 1, tzinfo=GMT)

SAM = "+447700900123"
CHRIS = "+447700900456"
CHRIS_NEW = "+447700900789"
JO = "+447700900321"
BACKUP_TAKEN = datetime(2024, 9, 30, 20, 0, 0, tzinfo=BST)

ANDROID = "exports/sam-android"
TELEPHONY = f"{ANDROID}/data/user_de/0/com.android.providers.telephony"
CONTACTS = f"{ANDROID}/data/data/com.android.providers.contacts/databases"
BACKUP = "exports/sam-sms-backup"
IPHONE = "exports/jo-iphone"

SOURCES_TOML = f'''
[[source]]
path = "{ANDROID}"
owner = "victim"
exhibit = "DEMO/4"

[[source]]
path = "{BACKUP}"
owner = "victim"
exhibit = "DEMO/5"

[[source]]
path = "{IPHONE}"
owner = "sister"
exhibit = "DEMO/6"
'''

# A 1x1 PNG: the picture in Chris's MMS, so an attachment is hashed from the phone and the backup.
CAR_PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63606060f80f000104010080bbd15b0000000049454e44ae426082")


@dataclass(frozen=True)
class Text:
    when: datetime
    other: str
    incoming: bool
    body: str


@dataclass(frozen=True)
class Call:
    when: datetime
    number: str           # "" with presentation 2: withheld
    android_type: int     # 1 incoming, 2 outgoing, 3 missed, 5 rejected, 6 blocked
    duration: int = 0
    presentation: int = 1


def _texts() -> list[Text]:
    return [
        Text(datetime(2024, 8, 5, 20, 11, 3, tzinfo=BST), CHRIS, True, "Did you get my email?"),
        Text(datetime(2024, 8, 5, 20, 30, 0, tzinfo=BST), CHRIS, False,
             "Please don't text me, Chris."),
        Text(datetime(2024, 8, 11, 1, 12, 45, tzinfo=BST), CHRIS, True,
             "I can see your window from here."),
        Text(datetime(2024, 8, 21, 23, 5, 10, tzinfo=BST), CHRIS, True,
             "You can't ignore me forever 😡"),
        Text(datetime(2024, 9, 3, 0, 40, 2, tzinfo=BST), CHRIS, True,
             "Heard about the order. Doesn't change anything."),
        Text(datetime(2024, 9, 20, 22, 14, 30, tzinfo=BST), CHRIS_NEW, True,
             "Blocked me again? New number. Answer."),
        Text(datetime(2024, 9, 21, 6, 2, 0, tzinfo=BST), CHRIS_NEW, True,
             "I'll be at the station at 8."),
        Text(datetime(2024, 9, 21, 6, 30, 0, tzinfo=BST), JO, False,
             "He's texting from a new number now. 07700 900789."),
        Text(datetime(2024, 10, 12, 19, 0, 0, tzinfo=BST), CHRIS_NEW, True,
             "Happy birthday Sam. I remembered."),
    ]


PHOTO_MMS = Text(datetime(2024, 9, 22, 21, 40, 0, tzinfo=BST), CHRIS_NEW, True,
                 "Still the blue one.")


def _calls() -> list[Call]:
    night = datetime(2024, 8, 27, 1, 55, 0, tzinfo=BST)
    burst = [Call(night + timedelta(minutes=5 * n), "" if n % 3 else CHRIS,
                  3 if n % 3 else 5, presentation=2 if n % 3 else 1) for n in range(12)]
    return [
        Call(datetime(2024, 8, 10, 0, 20, 14, tzinfo=BST), CHRIS, 3),
        Call(datetime(2024, 8, 18, 18, 2, 0, tzinfo=BST), JO, 2, duration=312),
        *burst,
        Call(datetime(2024, 9, 4, 23, 10, 40, tzinfo=BST), CHRIS, 6),
        Call(datetime(2024, 9, 25, 2, 15, 0, tzinfo=BST), "", 3, presentation=2),
        Call(datetime(2024, 9, 25, 2, 17, 30, tzinfo=BST), "", 3, presentation=2),
        Call(datetime(2024, 10, 3, 21, 0, 5, tzinfo=BST), CHRIS_NEW, 1, duration=8),
    ]


def _settle(path: Path) -> None:
    """Make a database written here the same bytes on any machine: its header records the
    version of the SQLite library that last wrote it (offset 96), which is informational only."""
    data = bytearray(path.read_bytes())
    data[96:100] = (3_040_000).to_bytes(4, "big")
    path.write_bytes(bytes(data))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# -- Sam's Android phone ---------------------------------------------------------------------------

def _mmssms(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT,
            person INTEGER, date INTEGER, date_sent INTEGER DEFAULT 0, protocol INTEGER,
            read INTEGER DEFAULT 1, status INTEGER DEFAULT -1, type INTEGER, subject TEXT,
            body TEXT, service_center TEXT, locked INTEGER DEFAULT 0, sub_id INTEGER DEFAULT 1,
            error_code INTEGER DEFAULT 0, seen INTEGER DEFAULT 1);
        CREATE TABLE pdu (_id INTEGER PRIMARY KEY, thread_id INTEGER, date INTEGER,
            date_sent INTEGER DEFAULT 0, msg_box INTEGER, read INTEGER DEFAULT 1, m_id TEXT,
            sub TEXT, sub_cs INTEGER, ct_t TEXT, m_type INTEGER, sub_id INTEGER DEFAULT 1);
        CREATE TABLE addr (_id INTEGER PRIMARY KEY, msg_id INTEGER, contact_id INTEGER,
            address TEXT, type INTEGER, charset INTEGER);
        CREATE TABLE part (_id INTEGER PRIMARY KEY, mid INTEGER, seq INTEGER DEFAULT 0, ct TEXT,
            name TEXT, chset INTEGER, cd TEXT, fn TEXT, cid TEXT, cl TEXT, ctt_s INTEGER,
            ctt_t TEXT, _data TEXT, text TEXT);
    """)
    threads = {CHRIS: 1, CHRIS_NEW: 2, JO: 3}
    for number, text in enumerate(_texts(), 1):
        conn.execute(
            "INSERT INTO sms (_id, thread_id, address, date, date_sent, type, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (number, threads[text.other], text.other, _ms(text.when),
             _ms(text.when) - 3000 if text.incoming else 0, 1 if text.incoming else 2, text.body))
    stamp = int(PHOTO_MMS.when.timestamp())
    conn.execute("INSERT INTO pdu (_id, thread_id, date, date_sent, msg_box, m_id, m_type, ct_t) "
                 "VALUES (1, 2, ?, ?, 1, 'demo-mms-0001', 132, 'application/vnd.wap.multipart.related')",
                 (stamp, stamp - 4))
    conn.executemany("INSERT INTO addr (msg_id, address, type, charset) VALUES (1, ?, ?, 106)",
                     [(CHRIS_NEW, 137), (SAM, 151)])
    conn.executemany(
        "INSERT INTO part (mid, seq, ct, name, cl, _data, text) VALUES (1, ?, ?, ?, ?, ?, ?)",
        [(-1, "application/smil", "smil.xml", "smil.xml", None, "<smil><body/></smil>"),
         (0, "text/plain", None, "text_0.txt", None, PHOTO_MMS.body),
         (1, "image/png", "IMG_0412.png", "IMG_0412.png",
          "/data/user_de/0/com.android.providers.telephony/app_parts/PART_1727037600000", None)])
    conn.commit()
    conn.close()


def _calllog(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("""CREATE TABLE calls (_id INTEGER PRIMARY KEY, number TEXT,
        presentation INTEGER DEFAULT 1, date INTEGER, duration INTEGER, subscription_id TEXT,
        type INTEGER, features INTEGER DEFAULT 0, name TEXT, geocoded_location TEXT,
        countryiso TEXT, phone_account_address TEXT)""")
    for number, call in enumerate(_calls(), 1):
        conn.execute(
            "INSERT INTO calls (_id, number, presentation, date, duration, subscription_id, type, "
            "countryiso) VALUES (?, ?, ?, ?, ?, '1', ?, 'GB')",
            (number, call.number, call.presentation, _ms(call.when), call.duration,
             call.android_type))
    conn.commit()
    conn.close()


# -- Sam's SMS Backup & Restore files ------------------------------------------------------------

def _readable(moment: datetime) -> str:
    local = moment.astimezone(BST)
    return f"{local:%d %b %Y %H:%M:%S}"


def _sms_backup(texts: list[Text]) -> str:
    import base64
    kept = [t for t in texts if t.when < BACKUP_TAKEN]
    lines = ["<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>",
             '<?xml-stylesheet type="text/xsl" href="sms.xsl"?>',
             f'<smses count="{len(kept) + 1}" backup_set="demo-0001" '
             f'backup_date="{_ms(BACKUP_TAKEN)}" type="full">']
    for text in kept:
        # Emoji as the surrogate-pair character references the app writes.
        body = quoteattr(text.body)
        body = body.replace("😡", "&#55357;&#56865;")
        lines.append(
            f'  <sms protocol="0" address="{text.other}" date="{_ms(text.when)}" '
            f'type="{1 if text.incoming else 2}" subject="null" body={body} toa="null" '
            f'sc_toa="null" service_center="null" read="1" status="-1" locked="0" '
            f'date_sent="{_ms(text.when) - 3000 if text.incoming else 0}" sub_id="1" '
            f'readable_date="{_readable(text.when)}" contact_name="(Unknown)" />')
    stamp = _ms(PHOTO_MMS.when)
    picture = base64.b64encode(CAR_PHOTO).decode("ascii")
    lines += [
        f'  <mms date="{stamp}" date_sent="{stamp // 1000 - 4}" msg_box="1" '
        f'address="{CHRIS_NEW}" m_id="demo-mms-0001" sub="null" m_type="132" read="1" '
        f'sub_id="1" readable_date="{_readable(PHOTO_MMS.when)}" contact_name="(Unknown)">',
        "    <parts>",
        '      <part seq="-1" ct="application/smil" name="null" chset="null" cd="null" fn="null" '
        'cid="&lt;smil&gt;" cl="smil.xml" ctt_s="null" ctt_t="null" text="&lt;smil&gt;&lt;body/&gt;&lt;/smil&gt;" />',
        f'      <part seq="0" ct="text/plain" name="null" chset="106" cd="null" fn="null" '
        f'cid="&lt;text_0&gt;" cl="text_0.txt" ctt_s="null" ctt_t="null" text={quoteattr(PHOTO_MMS.body)} />',
        f'      <part seq="1" ct="image/png" name="IMG_0412.png" chset="null" cd="null" '
        f'fn="null" cid="&lt;img&gt;" cl="IMG_0412.png" ctt_s="null" ctt_t="null" '
        f'data="{picture}" />',
        "    </parts>",
        "    <addrs>",
        f'      <addr address="{CHRIS_NEW}" type="137" charset="106" />',
        f'      <addr address="{SAM}" type="151" charset="106" />',
        "    </addrs>",
        "  </mms>",
        "</smses>",
    ]
    return "\n".join(lines) + "\n"


def _calls_backup(calls: list[Call]) -> str:
    kept = [c for c in calls if c.when < BACKUP_TAKEN]
    lines = ["<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>",
             '<?xml-stylesheet type="text/xsl" href="calls.xsl"?>',
             f'<calls count="{len(kept)}" backup_set="demo-0001" backup_date="{_ms(BACKUP_TAKEN)}" '
             f'type="full">']
    for call in kept:
        lines.append(
            f'  <call number="{call.number}" duration="{call.duration}" date="{_ms(call.when)}" '
            f'type="{call.android_type}" presentation="{call.presentation}" subscription_id="1" '
            f'readable_date="{_readable(call.when)}" contact_name="(Unknown)" />')
    lines.append("</calls>")
    return "\n".join(lines) + "\n"


# -- Jo's iPhone -----------------------------------------------------------------------------------

def _apple_ns(moment: datetime) -> int:
    return int((moment - APPLE_EPOCH).total_seconds()) * 1_000_000_000


def _ios_sms(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,
            country TEXT, service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT);
        CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT, style INTEGER,
            state INTEGER, account_id TEXT, chat_identifier TEXT, service_name TEXT,
            room_name TEXT, display_name TEXT);
        CREATE TABLE chat_handle_join (chat_id INTEGER, handle_id INTEGER);
        CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER,
            message_date INTEGER DEFAULT 0);
        CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT NOT NULL,
            text TEXT, handle_id INTEGER DEFAULT 0, subject TEXT, service TEXT,
            date INTEGER, date_read INTEGER, date_delivered INTEGER, is_from_me INTEGER DEFAULT 0,
            is_read INTEGER DEFAULT 0, cache_has_attachments INTEGER DEFAULT 0,
            attributedBody BLOB, item_type INTEGER DEFAULT 0, associated_message_guid TEXT,
            associated_message_type INTEGER DEFAULT 0, date_edited INTEGER DEFAULT 0,
            date_retracted INTEGER DEFAULT 0, message_summary_info BLOB,
            is_system_message INTEGER DEFAULT 0, group_action_type INTEGER DEFAULT 0,
            cache_roomnames TEXT, is_spam INTEGER DEFAULT 0);
        CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT,
            created_date INTEGER, filename TEXT, uti TEXT, mime_type TEXT, transfer_name TEXT,
            total_bytes INTEGER);
        CREATE TABLE message_attachment_join (message_id INTEGER, attachment_id INTEGER);
    """)
    conn.executemany("INSERT INTO handle (ROWID, id, country, service) VALUES (?, ?, 'gb', ?)",
                     [(1, CHRIS, "iMessage"), (2, CHRIS_NEW, "SMS"), (3, "+447700900123", "iMessage")])
    conn.executemany("INSERT INTO chat (ROWID, guid, style, chat_identifier, service_name) "
                     "VALUES (?, ?, 45, ?, ?)",
                     [(1, f"iMessage;-;{CHRIS}", CHRIS, "iMessage"),
                      (2, f"SMS;-;{CHRIS_NEW}", CHRIS_NEW, "SMS")])
    conn.executemany("INSERT INTO chat_handle_join VALUES (?, ?)", [(1, 1), (2, 2)])
    edited_original = "She'll regret it."
    summary = plistlib.dumps({
        "ec": {"0": [{"d": _apple_ns(datetime(2024, 9, 8, 22, 30, 0, tzinfo=BST)) / 1e9,
                      "t": encode_typedstream_text(edited_original)},
                     {"d": _apple_ns(datetime(2024, 9, 8, 22, 33, 0, tzinfo=BST)) / 1e9,
                      "t": encode_typedstream_text("She'll see.")}]},
    }, fmt=plistlib.FMT_BINARY)
    rows = [
        # (rowid, guid, text, handle, service, when, from_me, attributedBody, edited, retracted, summary)
        (1, "DEMO-IM-1", "Did you get my email, Jo? Tell her she's wrong about me.", 1, "iMessage",
         datetime(2024, 9, 6, 9, 10, 0, tzinfo=BST), 0, None, None, None, None),
        (2, "DEMO-IM-2", "Leave us alone, Chris.", 1, "iMessage",
         datetime(2024, 9, 6, 9, 12, 30, tzinfo=BST), 1, None, None, None, None),
        # Text kept only in attributedBody, as iOS 16 and later often do.
        (3, "DEMO-IM-3", None, 1, "iMessage", datetime(2024, 9, 8, 22, 30, 0, tzinfo=BST), 0,
         encode_typedstream_text("She'll see."), datetime(2024, 9, 8, 22, 33, 0, tzinfo=BST),
         None, summary),
        (4, "DEMO-IM-4", None, 1, "iMessage", datetime(2024, 9, 8, 22, 31, 0, tzinfo=BST), 0,
         None, datetime(2024, 9, 8, 22, 32, 0, tzinfo=BST),
         datetime(2024, 9, 8, 22, 32, 0, tzinfo=BST), None),
        (5, "DEMO-SMS-5", "Tell Sam I'll be at the station.", 2, "SMS",
         datetime(2024, 9, 21, 7, 0, 0, tzinfo=BST), 0, None, None, None, None),
    ]
    for (rowid, guid, text, handle, service, when, mine, body, edited, retracted,
         info) in rows:
        conn.execute(
            "INSERT INTO message (ROWID, guid, text, handle_id, service, date, is_from_me, "
            "attributedBody, date_edited, date_retracted, message_summary_info) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rowid, guid, text, handle, service, _apple_ns(when), mine, body,
             _apple_ns(edited) if edited else 0, _apple_ns(retracted) if retracted else 0, info))
        conn.execute("INSERT INTO chat_message_join VALUES (?, ?, ?)",
                     (1 if handle == 1 else 2, rowid, _apple_ns(when)))
    conn.commit()
    conn.close()


def _ios_calls(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
            ZANSWERED INTEGER, ZCALLTYPE INTEGER, ZDISCONNECTED_CAUSE INTEGER,
            ZFACE_TIME_DATA BLOB, ZNUMBER_AVAILABILITY INTEGER, ZORIGINATED INTEGER,
            ZREAD INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT, ZADDRESS VARCHAR,
            ZDEVICE_ID VARCHAR, ZISO_COUNTRY_CODE VARCHAR, ZLOCATION VARCHAR, ZNAME VARCHAR,
            ZSERVICE_PROVIDER VARCHAR, ZUNIQUE_ID VARCHAR);
        CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER,
            Z_MAX INTEGER);
        CREATE TABLE Z_METADATA (Z_VERSION INTEGER PRIMARY KEY, Z_UUID VARCHAR(255),
            Z_PLIST BLOB);
    """)
    calls = [
        (1, 1, 1, 0, datetime(2024, 9, 7, 21, 0, 12, tzinfo=BST), 45.2, CHRIS,
         "com.apple.Telephony"),
        (2, 0, 16, 0, datetime(2024, 9, 7, 21, 5, 40, tzinfo=BST), 0.0,
         "chris.walker@example.net", "com.apple.FaceTime"),
        (3, 0, 1, 0, datetime(2024, 9, 25, 2, 20, 0, tzinfo=BST), 0.0, "",
         "com.apple.Telephony"),
    ]
    for pk, answered, call_type, originated, when, duration, address, provider in calls:
        conn.execute(
            "INSERT INTO ZCALLRECORD (Z_PK, Z_ENT, Z_OPT, ZANSWERED, ZCALLTYPE, ZORIGINATED, "
            "ZDATE, ZDURATION, ZADDRESS, ZISO_COUNTRY_CODE, ZSERVICE_PROVIDER, ZUNIQUE_ID) "
            "VALUES (?, 2, 1, ?, ?, ?, ?, ?, ?, 'gb', ?, ?)",
            (pk, answered, call_type, originated, (when - APPLE_EPOCH).total_seconds(), duration,
             address, provider, f"DEMO-CALL-{pk:04d}"))
    conn.commit()
    conn.close()


def write_phone_exports(folder: Path) -> None:
    """Write the three phone exports under ``folder`` (the demo case folder)."""
    telephony = folder / TELEPHONY
    (telephony / "databases").mkdir(parents=True, exist_ok=True)
    (telephony / "app_parts").mkdir(parents=True, exist_ok=True)
    _mmssms(telephony / "databases" / "mmssms.db")
    _settle(telephony / "databases" / "mmssms.db")
    (telephony / "app_parts" / "PART_1727037600000").write_bytes(CAR_PHOTO)
    contacts = folder / CONTACTS
    contacts.mkdir(parents=True, exist_ok=True)
    _calllog(contacts / "calllog.db")
    _settle(contacts / "calllog.db")
    backup = folder / BACKUP
    backup.mkdir(parents=True, exist_ok=True)
    (backup / "sms-20240930200000.xml").write_text(_sms_backup(_texts()), encoding="utf-8")
    (backup / "calls-20240930200000.xml").write_text(_calls_backup(_calls()), encoding="utf-8")
    sms_folder = folder / IPHONE / "Library" / "SMS"
    sms_folder.mkdir(parents=True, exist_ok=True)
    _ios_sms(sms_folder / "sms.db")
    _settle(sms_folder / "sms.db")
    history = folder / IPHONE / "Library" / "CallHistoryDB"
    history.mkdir(parents=True, exist_ok=True)
    _ios_calls(history / "CallHistory.storedata")
    _settle(history / "CallHistory.storedata")
