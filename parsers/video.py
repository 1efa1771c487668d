"""Videos and voice recordings in ISO base media files: MP4, QuickTime MOV, 3GP and M4A.

Where they come from: a phone's camera roll (an iPhone's ``.MOV``, an Android phone's ``.mp4``),
a voice recorder app (an iPhone's Voice Memos ``.m4a``), a dashboard or doorbell camera, or a
video someone was sent. Each file is one ``media`` event (platform ``device``).

Recognised by content: an ``ftyp`` box first whose major brand is a movie's (``isom``, ``mp41``,
``mp42``, ``avc1``, ``qt  ``, ``3gp4``…``3g2c``, ``M4V ``, ``M4A ``…: HEIF image brands are
media.py's), or a classic QuickTime file without ``ftyp`` (first box ``moov``, ``mdat``,
``wide``, ``free`` or ``skip``) that libmagic calls ``video/quicktime``. An extension that says
something other than a movie or an MPEG-4 audio file is flagged as media.py flags an image's.

What is read, walking the boxes (ISO/IEC 14496-12; every size checked against its container, a
bounded number of boxes, the file mapped and never read whole except to hash it):

* ``moov/mvhd`` (version 0 or 1): ``creation_time`` (seconds since 1904-01-01, UTC as the standard
  and Apple's QuickTime File Format both say) → the event's time, basis ``utc``, precision ``s``,
  unless Apple's creation date is there (below). Some cameras write their local time here
  instead: the note says so, and a whole-hour difference from the device's other records is the
  sign. 0 means "not set". ``modification_time`` and ``duration / timescale`` in details; the
  whole seconds of the duration are the event's ``duration_s``.
* Apple's metadata, ``moov/meta`` with handler ``mdta``, ``keys`` and ``ilst`` (the QuickTime
  File Format's metadata atoms): ``com.apple.quicktime.creationdate`` (ISO 8601 with the offset
  the phone was in: basis ``offset``; preferred over ``mvhd``, which is kept in details),
  ``com.apple.quicktime.location.ISO6709``, ``.make``, ``.model``, ``.software``.
* ``moov/udta/©xyz`` (written by Android's MediaRecorder and by Apple): an ISO 6709 position.
  Positions are read in the decimal-degree form phones write (``+51.5007-000.1246/``) →
  ``location`` (basis ``device (ISO 6709)``: the phone's location service, not necessarily
  GPS); another form is kept verbatim in details, with a note.

A movie that holds no time is, as media.py does for a picture, an *undated* ``media`` event: on
the timeline after every dated record, hashed, with what the file does hold and, first among its
notes, why it has no time. A header whose creation time is not set (0), with no Apple date, is
just that; one whose Apple date is not a date, or a movie box without its ``mvhd`` header, is
that event plus a reject at ``file``. A damaged file gives the event from what could be read and
a reject at ``movie:structure``: a box that runs past the end of the file or has an impossible
size, or a file without its ``moov`` box (a recording cut off before the phone finished it: the
movie header is written last), which has no time. The file is the event's attachment (hashed;
see media.py for why). File-system times are never used.

Not read: track headers (``tkhd``/``mdhd`` repeat the movie's times), the media data, Samsung and
GoPro private boxes, iTunes-style ``udta/meta`` tags, XMP.

Sources: ISO/IEC 14496-12 (box header, ``mvhd`` fields, the 1904 epoch, UTC), Apple's QuickTime
File Format documentation (metadata atoms ``keys``/``ilst``/``data``, the ``mdta`` handler, the
key names above, the recommendation that times be UTC), ISO 6709 (position strings). Checked on
synthetic files only (tests/parsers/test_video.py builds them box by box): no licensed phone
video was at hand.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import detail_value, hashed_file
from courseline.parsers.media import (
    HEIF_BRANDS,
    MAX_STEPS,
    Box,
    Cursor,
    Reading,
    Short,
    doubts,
    iter_boxes,
    name_check,
)
from courseline.timeline.event import Attachment, Event, Location, RawTime, Reject, SourceNote

MOVIE_BRANDS = frozenset({
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"mp71", b"avc1",
    b"qt  ", b"M4V ", b"M4VH", b"M4VP", b"M4A ", b"M4B ", b"F4V ", b"MSNV", b"XAVC", b"NDAS",
    b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3gp8", b"3gp9", b"3g2a", b"3g2b", b"3g2c", b"3ge6",
    b"3ge7", b"3gg6", b"kddi", b"mmp4",
})
QUICKTIME_FIRST_BOXES = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
MOVIE_EXTENSIONS = frozenset({"mp4", "m4v", "mov", "qt", "3gp", "3g2", "3gpp", "3gpp2", "m4a",
                              "m4b", "f4v", "mp4v"})
MAC_EPOCH = datetime(1904, 1, 1, tzinfo=UTC)
APPLE_KEYS = {
    "com.apple.quicktime.creationdate": "apple_creationdate",
    "com.apple.quicktime.location.ISO6709": "apple_location_iso6709",
    "com.apple.quicktime.make": "make",
    "com.apple.quicktime.model": "model",
    "com.apple.quicktime.software": "software",
}
MAX_VALUE_BYTES = 4096          # an Apple metadata value or a ©xyz string longer than this is not read
_ISO6709 = re.compile(r"([+-]\d{2}(?:\.\d+)?)([+-]\d{3}(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?(?:CRS.*)?/?")
LOCATION_BASIS = "device (ISO 6709)"
NO_MOVIE_HEADER = ("the file has no movie header ('moov' box), which a phone writes when it "
                   "finishes a recording, so the recording was probably cut off or the file is "
                   "damaged")
NOT_FILE_TIMES = ("File-system times are not evidence of when it was recorded, so it is listed as "
                  "undated")


def movie_format(sample: Sample) -> str | None:
    """What kind of ISO base media movie a file's first bytes show, or None."""
    head = sample.head
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in HEIF_BRANDS or brand not in MOVIE_BRANDS:
            return None
        if brand == b"qt  ":
            return "QuickTime"
        if brand.startswith((b"3gp", b"3g2", b"3ge", b"3gg")):
            return "3GP"
        if brand in (b"M4A ", b"M4B "):
            return "MPEG-4 audio"
        return "MP4"
    if head[4:8] in QUICKTIME_FIRST_BOXES and sample.media_type == "video/quicktime":
        return "QuickTime"
    return None


class MovieParser(Parser):
    NAME = "movie-mvhd"
    DATA_FORMAT = "Video or voice recording (MP4, QuickTime MOV, 3GP, M4A): its creation time"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        return movie_format(sample) is not None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        fmt = movie_format(source.sample)
        if fmt is None:
            yield Reject("file", "not a movie this parser reads (its first bytes changed?)")
            return
        try:
            attachment = hashed_file(Path(source.path), source.name)
            with Path(source.path).open("rb") as handle:
                data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as error:
            yield Reject("file", f"the file could not be read: {type(error).__name__}: {error}")
            return
        with data:
            reading = Reading(fmt, details={"format": fmt, "media_type": source.sample.media_type})
            name_check(source.name, fmt, reading, MOVIE_EXTENSIONS, "movie")
            yield from _records(data, reading, attachment)


def _records(data: Any, reading: Reading,
             attachment: Attachment) -> Iterator[Event | Reject | SourceNote]:
    notes, details = reading.notes, reading.details
    if data[4:8] == b"ftyp":
        details["brand"] = detail_value(bytes(data[8:12]).decode("latin-1"))
    top = list(iter_boxes(data, 0, len(data), reading.damage, "file"))
    moov = next((box for box in top if box.kind == b"moov"), None)
    time = duration = location = None
    if moov is None:
        reading.damage.append(NO_MOVIE_HEADER)
    else:
        header = _movie_contents(data, moov, reading)
        time, duration = _movie_time(header, notes, details)
        location = _location(details, notes)
    unreadable = None
    if time is None:
        # Undated: on the timeline after every dated record, hashed, saying first why.
        reason, unreadable = no_time_reason(moov is not None, details, notes)
        notes.insert(0, reason)
        time = RawTime("", None, "utc", "s", "the movie holds no time it was recorded")
    damaged = "; ".join(reading.damage)
    if damaged:
        notes.append(f"the file is damaged: {damaged}; the event holds what could be read")
    yield Event(kind="media", platform="device", time=time, locator="file",
                duration_s=duration, attachments=[attachment], location=location,
                details=details, notes=notes)
    if unreadable:
        yield Reject("file", detail_value(unreadable))
    if damaged:
        yield Reject("movie:structure", detail_value(damaged))


def no_time_reason(has_moov: bool, details: dict[str, Any],
                   notes: list[str]) -> tuple[str, str | None]:
    """Why a movie has no time, and what needs a look if any: a movie box without its header, or
    an Apple creation date that is not a date (a creation time of 0 is "not set", not damage)."""
    if not has_moov:
        return f"no time: the file has no movie header ('moov' box). {NOT_FILE_TIMES}", None
    unreadable = [note for note in notes
                  if note.startswith(("com.apple.quicktime.creationdate",
                                      "the movie box has no readable 'mvhd' header"))]
    if "mvhd_creation_time" not in details:
        why = "the movie box has no readable 'mvhd' header"
    else:
        why = "the movie header's creation time is not set (0)"
    why += (" and the Apple creation date is not a date" if "apple_creationdate" in details
            else " and there is no Apple creation date")
    return (detail_value(f"no time: {why}. {NOT_FILE_TIMES}"),
            detail_value("; ".join(unreadable)) if unreadable else None)


def _movie_contents(data: Any, moov: Box, reading: Reading) -> dict[str, Any]:
    """The values read from the movie box: ``mvhd`` fields, Apple keys, ``©xyz``."""
    found: dict[str, Any] = {}
    for box in iter_boxes(data, moov.body, moov.end, reading.damage, "moov box"):
        try:
            if box.kind == b"mvhd" and "mvhd" not in found:
                found["mvhd"] = _mvhd(data, box)
            elif box.kind == b"meta":
                _apple_metadata(data, box, reading)
            elif box.kind == b"udta":
                for item in iter_boxes(data, box.body, box.end, reading.damage, "udta box"):
                    if item.kind == b"\xa9xyz":
                        text = _xyz(data, item)
                        if text:
                            reading.details.setdefault("xyz", detail_value(text))
        except Short as error:
            reading.damage.append(f"the {box.name} box could not be read: {error}")
    return found


def _mvhd(data: Any, box: Box) -> tuple[int, int, int, int]:
    """(creation, modification, timescale, duration) of a movie header, version 0 or 1."""
    cursor = Cursor(data, box.body, box.end)
    version = cursor.number(1)
    cursor.take(3)
    wide = 8 if version == 1 else 4
    creation, modification = cursor.number(wide), cursor.number(wide)
    timescale = cursor.number(4)
    return creation, modification, timescale, cursor.number(wide)


def _apple_metadata(data: Any, meta: Box, reading: Reading) -> None:
    """Apple's ``keys``/``ilst`` pairs, the values of the keys in APPLE_KEYS put in details.
    QuickTime's ``meta`` has no version and flags, the ISO ``meta`` has: tell by where the
    handler box starts."""
    start = meta.body if bytes(data[meta.body + 4:meta.body + 8]) == b"hdlr" else meta.body + 4
    children = {}
    for box in iter_boxes(data, start, meta.end, reading.damage, "meta box"):
        children.setdefault(box.kind, box)
    if b"keys" not in children or b"ilst" not in children:
        return
    keys = _keys(data, children[b"keys"])
    for item in iter_boxes(data, children[b"ilst"].body, children[b"ilst"].end, reading.damage,
                           "ilst box"):
        name = keys.get(int.from_bytes(item.kind, "big"))
        if name not in APPLE_KEYS:
            continue
        value = _data_value(data, item, reading.damage)
        if value is not None:
            reading.details.setdefault(APPLE_KEYS[name], detail_value(value))


def _keys(data: Any, box: Box) -> dict[int, str]:
    cursor = Cursor(data, box.body, box.end)
    cursor.take(4)                      # version and flags
    count = cursor.number(4)
    keys = {}
    for index in range(1, min(count, MAX_STEPS) + 1):
        size = cursor.number(4)
        if size < 8:
            raise Short(f"key {index} gives an impossible size ({size})")
        cursor.take(4)                  # namespace, 'mdta'
        keys[index] = cursor.take(size - 8).decode("utf-8", "replace")
    return keys


def _data_value(data: Any, item: Box, damage: list[str]) -> str | None:
    """The text of an ``ilst`` item's ``data`` box (well-known type 1, UTF-8), or None."""
    for box in iter_boxes(data, item.body, item.end, damage, "ilst item"):
        if box.kind != b"data" or box.end - box.body > MAX_VALUE_BYTES + 8:
            continue
        cursor = Cursor(data, box.body, box.end)
        kind = cursor.number(4) & 0xFFFFFF
        cursor.take(4)                  # locale
        if kind == 1:
            return cursor.take(box.end - cursor.pos).decode("utf-8", "replace")
    return None


def _xyz(data: Any, box: Box) -> str | None:
    cursor = Cursor(data, box.body, box.end)
    length = cursor.number(2)
    cursor.take(2)                      # language
    if length > MAX_VALUE_BYTES:
        return None
    return cursor.take(min(length, box.end - cursor.pos)).decode("utf-8", "replace")


def _movie_time(found: dict[str, Any], notes: list[str],
                details: dict[str, Any]) -> tuple[RawTime | None, int | None]:
    """The event's time (Apple's creation date, else the movie header's) and duration."""
    duration = None
    mvhd_time = None
    if "mvhd" in found:
        creation, modification, timescale, length = found["mvhd"]
        details["mvhd_creation_time"] = creation
        mvhd_time = _mac_time(creation)
        if mvhd_time is not None:
            details["mvhd_creation_utc"] = mvhd_time.isoformat().replace("+00:00", "Z")
        modified = _mac_time(modification)
        if modified is not None:
            details["mvhd_modification_utc"] = modified.isoformat().replace("+00:00", "Z")
        if timescale:
            duration = length // timescale
            details["duration"] = f"{length}/{timescale} s"
    else:
        notes.append("the movie box has no readable 'mvhd' header")
    apple = _apple_time(details.get("apple_creationdate"), notes)
    if apple is not None:
        time = RawTime(details["apple_creationdate"], apple, "offset", "s",
                       "QuickTime com.apple.quicktime.creationdate")
    elif mvhd_time is not None:
        time = RawTime(str(found["mvhd"][0]), mvhd_time, "utc", "s",
                       "mvhd creation_time (seconds since 1904, UTC)")
        notes.append("time from the movie header's creation time, read as UTC as the standard "
                     "says; some cameras write their local time there instead")
    else:
        return None, duration
    doubt = doubts(time.value)
    if doubt:
        notes.append(f"the creation time is {doubt}")
        details["time_doubtful"] = True
    return time, duration


def _mac_time(seconds: int) -> datetime | None:
    if not seconds:
        return None
    try:
        return MAC_EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _apple_time(text: str | None, notes: list[str]) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        notes.append(f"com.apple.quicktime.creationdate {text!r} is not a date and time with an "
                     f"offset; not used")
        return None
    return moment


def _location(details: dict[str, Any], notes: list[str]) -> Location | None:
    for key in ("apple_location_iso6709", "xyz"):
        text = details.get(key)
        if not isinstance(text, str):
            continue
        match = _ISO6709.fullmatch(text.strip())
        if match is None:
            notes.append(f"the position {text!r} is not in the decimal-degree ISO 6709 form "
                         f"phones write; it was not read")
            continue
        lat, lon = float(match[1]), float(match[2])
        if -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0, 0):
            if match[3]:
                details["altitude_m"] = match[3]
            return Location(lat=lat, lon=lon, basis=LOCATION_BASIS)
        notes.append(f"the position {text!r} is outside the globe or 0, 0: not used")
    return None
