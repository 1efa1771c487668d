"""iOS call history (``CallHistory.storedata``, a Core Data SQLite store): phone, FaceTime and
third-party (CallKit) calls such as WhatsApp's.

Where it is: ``/private/var/mobile/Library/CallHistoryDB/CallHistory.storedata`` (iOS 8 and
later), with ``CallHistoryTemp.storedata`` beside it, which can hold records too and has the same
table; from a full-file-system extraction or an encrypted backup (research formats.md §2.2,
paths as iLEAPP ``scripts/artifacts/callHistory.py`` reads them). The pre-iOS 8
``call_history.db`` (table ``call``) is a different format and is not read here.

What is read, table ``ZCALLRECORD``, one event per row located ``sqlite:ZCALLRECORD/Z_PK=N``:
``ZDATE`` (seconds, possibly fractional, since 2001-01-01 UTC: when the call started; 0 or empty
is rejected as "not recorded"); ``ZDURATION`` (seconds, a float: the whole seconds become
``duration_s``, a fractional value is kept exact in details); ``ZADDRESS`` (the other party's
number or e-mail address; stored as a BLOB by some versions, then decoded as UTF-8, as iLEAPP
strips its ``b'…'`` wrapper); ``ZORIGINATED`` (1 outgoing, 0 incoming); ``ZANSWERED`` (1 answered,
0 not); ``ZCALLTYPE`` (1 phone, 8 FaceTime video, 16 FaceTime audio, 0 third-party app);
``ZSERVICE_PROVIDER`` (``com.apple.Telephony``, ``com.apple.FaceTime`` or an app's bundle id such
as ``net.whatsapp.WhatsApp``), all kept verbatim in details; ``ZDISCONNECTED_CAUSE`` kept verbatim
and not decoded (formats.md notes its meanings are community decodes only); ``ZNAME`` (the name
the phone showed), ``ZISO_COUNTRY_CODE``, ``ZLOCATION``, ``ZUNIQUE_ID``. Columns an older store
lacks are read as empty.

Call status (derived, and noted on each event): outgoing answered → ``answered``; outgoing not
answered → ``unanswered``; incoming answered → ``answered``; incoming not answered → ``missed``
(iLEAPP: missed = incoming and ``ZANSWERED`` 0). iOS records no separate rejected or
voicemail status here.

Platform: ``phone`` for telephony and FaceTime (the service in details). A call made through an
app is given the app's platform where the bundle id is a known one (WhatsApp and WhatsApp
Business, Telegram, Messenger, Instagram, Snapchat, Discord) and the address is written with that
platform's scheme (``whatsapp:+447700900123``): for these apps ``ZADDRESS`` is the app's own
handle for the person, often a phone number; an unknown app's calls stay ``phone`` with the bundle
id in details. An empty address is the ``tel:Unknown`` identifier.

A store cut short (an interrupted copy) is read up to the cut, the source saying how much is
missing (:func:`courseline.parsers._sqlite.open_database`); the pre-iOS 8 ``call_history.db``
and ``ZFACE_TIME_DATA`` are not read.

Not checked on a real file: no licensed ``CallHistory.storedata`` sample exists (formats.md §2.2
and §7: the one public database found is a real person's case data). The columns and codes follow
iLEAPP ``callHistory.py`` and formats.md §2.2 and were checked on synthetic stores built by the
tests only. The third-party bundle ids above are the apps' well-known ids, written from general
knowledge: neither they nor the form of those apps' ``ZADDRESS`` values were checked against a
source or a real call history.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from typing import Any

from courseline.parsers import SourceFile
from courseline.parsers._phone import APPLE_EPOCH, epoch_time, owner_side_of, phone_identifier
from courseline.parsers._sqlite import (
    Row,
    SQLiteParser,
    as_int,
    open_database,
    required,
    safe_row,
)
from courseline.timeline.event import Event, Reject, SourceNote, bounded, clean_text

CALL_COLUMNS = ["Z_PK", "ZDATE", "ZDURATION", "ZADDRESS", "ZORIGINATED", "ZANSWERED", "ZCALLTYPE",
                "ZSERVICE_PROVIDER", "ZDISCONNECTED_CAUSE", "ZNAME", "ZISO_COUNTRY_CODE",
                "ZLOCATION", "ZUNIQUE_ID"]
CALL_TYPES = {0: "third-party app", 1: "phone", 8: "FaceTime video", 16: "FaceTime audio"}
# Apps whose calls iOS records through CallKit, by bundle id: platform (event.PLATFORMS) and the
# identifier scheme of their handles (timeline.identity.PLATFORM_SCHEMES).
APP_PLATFORMS = {
    "net.whatsapp.whatsapp": "whatsapp",
    "net.whatsapp.whatsappsmb": "whatsapp",
    "ph.telegra.telegraph": "telegram",
    "com.facebook.messenger": "facebook",
    "com.burbn.instagram": "instagram",
    "com.toyopagroup.picaboo": "snapchat",
    "com.hammerandchisel.discord": "discord",
}


class IosCallHistoryParser(SQLiteParser):
    NAME = "ios-callhistory"
    DATA_FORMAT = "iOS call history (CallHistory.storedata)"
    VERSION = "1"
    REQUIRED_TABLES = required(zcallrecord="z_pk zdate zduration zaddress zoriginated zanswered")

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        try:
            with open_database(source) as (db, notes):
                yield from notes
                sql = db.select("ZCALLRECORD", CALL_COLUMNS, order_by="Z_PK")
                for row in db.rows(sql, "ZCALLRECORD", key="Z_PK"):
                    yield row if isinstance(row, Reject) else _call_record(
                        safe_row(row, frozenset({"ZADDRESS"})))
        except sqlite3.DatabaseError as error:
            yield Reject("sqlite", f"the database could not be opened: {error}")


def _call_record(row: Row) -> Event | Reject:
    locator = f"sqlite:ZCALLRECORD/Z_PK={row['Z_PK']}"
    time = epoch_time(row["ZDATE"], APPLE_EPOCH, "s", "ZCALLRECORD.ZDATE (Apple epoch s)")
    if time.value is None:
        return Reject(locator, f"ZDATE is {row['ZDATE']!r}: the call's time was not recorded "
                               "(0 or empty) or is not a usable Apple-epoch time")
    notes: list[str] = []
    details: dict[str, Any] = {}
    direction, status = _direction_and_status(row, notes)
    duration = _duration(row["ZDURATION"], details, notes)
    platform, scheme = _platform(row, details)
    other = _other_party(row["ZADDRESS"], scheme, notes)
    for column, key in (("ZNAME", "contact_name"), ("ZLOCATION", "location"),
                        ("ZISO_COUNTRY_CODE", "iso_country_code"), ("ZUNIQUE_ID", "unique_id")):
        if row[column] not in (None, ""):
            details[key] = row[column]
    if row["ZDISCONNECTED_CAUSE"] is not None:
        details["disconnected_cause"] = row["ZDISCONNECTED_CAUSE"]
    incoming = direction == "incoming"
    if direction == "unknown":
        details["other_party"] = other   # which side it is on cannot be told
    return Event(
        kind="call", platform=platform, time=time, locator=locator, direction=direction,
        sender=other if incoming else None,
        recipients=[other] if direction == "outgoing" else [],
        owner_side=owner_side_of(direction),
        call_status=status, duration_s=duration, details=details, notes=notes,
    )


def _direction_and_status(row: Row, notes: list[str]) -> tuple[str, str | None]:
    originated, answered = as_int(row["ZORIGINATED"]), as_int(row["ZANSWERED"])
    direction = {1: "outgoing", 0: "incoming"}.get(originated, "unknown")  # type: ignore[arg-type]
    if direction == "unknown":
        notes.append(f"ZORIGINATED is {row['ZORIGINATED']!r}: the direction is unknown")
    if answered not in (0, 1):
        notes.append(f"ZANSWERED is {row['ZANSWERED']!r}: the call status is unknown")
        return direction, None
    if direction == "unknown":
        if answered:
            notes.append("call status 'answered' from ZANSWERED=1")
            return direction, "answered"
        return direction, None
    status = {("outgoing", 1): "answered", ("outgoing", 0): "unanswered",
              ("incoming", 1): "answered", ("incoming", 0): "missed"}[(direction, answered)]
    notes.append(f"call status '{status}' derived from ZORIGINATED={originated} "
                 f"({direction}) and ZANSWERED={answered}")
    return direction, status


def _duration(value: object, details: dict[str, Any], notes: list[str]) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        notes.append(f"ZDURATION {value!r} is not a number of seconds")
        return None
    if not math.isfinite(number) or number < 0:
        notes.append(f"ZDURATION {value!r} is not a usable duration")
        return None
    if not number.is_integer():
        details["duration_exact_s"] = number
        notes.append(f"duration_s is the whole seconds of ZDURATION {number}")
    return int(number)


def _platform(row: Row, details: dict[str, Any]) -> tuple[str, str | None]:
    """The event's platform and the identifier scheme of the address (None: tel:/email:)."""
    provider = row["ZSERVICE_PROVIDER"]
    call_type = as_int(row["ZCALLTYPE"])
    if provider not in (None, ""):
        details["service"] = provider
    if row["ZCALLTYPE"] is not None:
        named = CALL_TYPES.get(call_type) if call_type is not None else None
        details["call_type"] = named or f"type {row['ZCALLTYPE']}"
        details["zcalltype"] = row["ZCALLTYPE"]
    if call_type == 8:
        details["video"] = True
    app = str(provider or "").strip().lower()
    if app in APP_PLATFORMS:
        platform = APP_PLATFORMS[app]
        return platform, platform
    return "phone", None


def _other_party(address: object, scheme: str | None, notes: list[str]) -> str:
    if isinstance(address, bytes):
        decoded = address.decode("utf-8", "replace")
        if "\ufffd" in decoded:
            notes.append("ZADDRESS is a BLOB that is not valid UTF-8; undecodable bytes were "
                         "replaced")
        else:
            notes.append("ZADDRESS is stored as a BLOB; it was decoded as UTF-8")
        address = decoded
    written = bounded(clean_text(str(address)).strip())[0] if address is not None else ""
    if not written:
        return phone_identifier(None)
    if scheme is not None:
        return f"{scheme}:{written}"
    return phone_identifier(written)
