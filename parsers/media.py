"""Photos and screenshots: JPEG, TIFF, PNG, WebP and HEIC/HEIF images, read for their EXIF metadata.

Where they come from: a phone's camera roll (Android ``DCIM/Camera``, ``Pictures/Screenshots``; an
iPhone's ``DCIM/1xxAPPLE`` in a file-system extraction or its Photos export "Unmodified
Original"), a camera's memory card, or pictures a victim saved or was sent. Add the folder, an
archive of it, or single files: each image is its own source and becomes one ``media`` event
(platform ``device``), or a reject saying why it could not.

Recognised by content, never by name: the file's first bytes (JPEG ``FF D8 FF``; PNG's signature;
TIFF ``II*\\0`` / ``MM\\0*``, which camera raw files such as DNG, NEF, CR2 and ARW share; WebP
``RIFF…WEBP``; an ISO base media file whose ``ftyp`` names a HEIF image brand: ``heic``,
``heix``, ``mif1``, ``avif``…). A name whose extension says something else (an ``.jpg`` that is
a HEIC, a ``.dat`` that is a JPEG) is flagged: ``details`` ``named_as`` and ``content_is``, and
a note. A file with no extension is not flagged (iOS backups name files by hash).

How EXIF is found (each container walked by this module, bounded by the file's size, every
length checked before it is followed): JPEG, the first APP1 segment starting ``Exif\\0\\0``
(segments walked up to the start of scan); PNG, the ``eXIf`` chunk, or ImageMagick's hex "Raw
profile type exif" text chunk; WebP, the ``EXIF`` chunk; HEIF, the item of type ``Exif`` named
in ``meta/iinf`` and placed by ``meta/iloc`` (ISO/IEC 23008-12 annex A: a 4-byte offset to the
TIFF header, then the TIFF data); TIFF, the file itself. The TIFF block found is decoded by
exifread (``details=False``, the README's "quick" option, and ``extract_thumbnail=False``: maker
notes and the thumbnail are skipped, they hold nothing read here; ``stop_tag`` is not used, as it
only ends the walk of the one directory where the named tag is, and the tags read here are in
three), given the block in memory through a reader that stops it after a fixed amount of work, so
a damaged file cannot make it run for long.
exifread's own HEIC reader is not used: it accepts only the brands ``heic``, ``avif`` and
``mif1`` with minor version 0, and loops for ever on a box whose 64-bit size is 0 (found while
writing this module: exifread 3.5.1). Pillow is the fallback: it reads the block (a TIFF file:
the file) when exifread fails on it, the failure noted, and the whole file (JPEG, WebP) when the
walk found no block. A block neither can read is damage; a block without any tag read here is
not. ``details`` ``exif_reader`` says which one read the tags.

What is read:

* Time, from the first usable of (formats.md §5):
  ``DateTimeOriginal`` (when the picture was taken), with ``SubSecTimeOriginal`` (precision
  ``ms``, else ``s``) and ``OffsetTimeOriginal`` (EXIF 2.31): basis ``offset`` when the offset
  is there, else ``local`` (the camera's wall clock, read by the core in the source's zone);
  ``DateTimeDigitized`` with its own sub-second and offset tags (the same moment for a camera;
  for a scan, when it was scanned); the GPS date and time stamp (UTC, from the satellite fix,
  basis ``utc``, not the device's clock); and last IFD0 ``DateTime`` with ``SubSecTime`` and
  ``OffsetTime``. ``DateTime`` is when the file was last *changed* (editing and transfer
  software rewrite it: formats.md §5), so an event timed by it says so in its time source and a
  note: the picture existed by then and may be older. It is used rather than dropping the
  picture from the timeline because it is the only time such a file holds, and the record says
  what it is. Each fallback is noted on the event. A value of zeros or blanks
  (``0000:00:00 00:00:00``, the EXIF way of writing "unknown") is not a time: the next is tried.
  Exactly midnight on 1 January (``1998:01:01 00:00:00``, ``2000:01:01 00:00:00``: a camera's
  clock that was never set) or a year before 1995 (when EXIF was first published) is kept as
  read, with a note and ``details`` ``time_doubtful``.
* Make, model, software, lens model and body serial number, in details (they tie a picture to a
  device).
* GPS: latitude and longitude with their references → ``location`` (basis ``gps``; accuracy
  from ``GPSHPositioningError`` when present); a position without its N/S or E/W reference,
  outside the globe, or at exactly 0, 0 (a receiver without a fix) is kept in details only,
  with a note. Altitude, the verbatim values, and the GPS date and time stamp as UTC
  (``gps_time_utc``) are in details.
* Measured clock offset: where the picture has both a camera time (``DateTimeOriginal`` or
  ``DateTimeDigitized``) and a GPS time, the difference is recorded, never applied: with an
  offset, ``details`` ``clock_offset_measured_s`` = camera time minus GPS time (the device's clock
  minus true time, as ``clock_offset_seconds`` in case.toml means it); without one,
  ``camera_wall_minus_gps_s``, which also holds the zone the camera's clock was set to (the note
  says which whole quarter hour it is consistent with and what is left over). A note on the
  event and a source note say so and how to apply it.
* Damage: a JPEG whose segments run past the end of the file or whose image data ends without
  the end-of-image marker, a PNG without its ``IEND`` chunk, a WebP shorter than its RIFF header
  says, an ISO box with an impossible size: the event is made from what could be read, and a
  reject (locator ``jpeg:structure`` / ``png:structure`` / ``webp:structure`` /
  ``heif:structure``) says what is missing. Data after a JPEG's end-of-image marker (a phone's
  "motion photo" video, a second picture) is counted in ``details`` ``bytes_after_image``, not
  read.

Each file is one event, locator ``file``, with the file itself as its one attachment (name,
sha256, size, media type): the collector hashed it as an exhibit already, and the attachment puts
that hash on the record, so the same picture found in two exhibits (a phone and its backup)
merges into one event, and two different pictures taken in the same second never do (without it,
every picture's merge key would be the same). File-system times are never used: the collector's
copy has none of the original's, and a copy, a download or a restore rewrites them.

A picture that holds no time at all (most screenshots, a PNG usually having no EXIF; the pictures
of a chat export, which WhatsApp, X and MMS strip; zeros where a time would be) is an *undated*
``media`` event: it is on the timeline after every dated record, hashed, with what the file does
hold (camera, position) and a note saying why it has no time. A picture whose time is there but
is not a date (``2024:13:45``) is that event plus a reject at ``file``; a damaged file is the
event made from what could be read plus a reject at ``<format>:structure``: those need a look.

Not read: XMP (iOS and macOS screenshots write their marks there), IPTC, maker notes, the
thumbnail, the EXIF ``UserComment`` (exifread skips it with ``details=False``), the older
``TimeZoneOffset`` tag, PNG ``tEXt`` times other than "Creation Time" (kept verbatim in details,
free text, never the event time), chunk CRCs, and the picture itself (it is never decoded).

Sources: research formats.md §5 (tags, the modify-time meaning of ``DateTime``, the factory
default dates, GPS time as UTC); the exifread 3.5.1 README and code (``process_file`` options,
its HEIC reader); ISO/IEC 14496-12 box layout and ISO/IEC 23008-12 item boxes (``iinf``,
``infe`` version 2/3, ``iloc`` versions 0-2), as exifread's and Pillow's readers implement them;
the PNG specification (chunk layout, ``eXIf``, ``tEXt``/``zTXt``/``iTXt``); Google's WebP
container description (RIFF chunks). Checked on synthetic files only (tests/parsers/test_media.py
builds JPEG, PNG, WebP and TIFF files with Pillow and a HEIC container by hand) and on the one
JPEG in ``../shared/realworld`` (a Google Voice MMS picture written by Shotwell, with no time).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import mmap
import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import exifread
from PIL import Image

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import detail_value, hashed_file
from courseline.timeline.event import Attachment, Event, Location, RawTime, Reject, SourceNote

# exifread reports every oddity of a damaged file through logging, which Python prints on
# standard error when nothing is configured: what matters reaches the event as a note instead.
logging.getLogger("exifread").setLevel(logging.CRITICAL)

# -- formats -----------------------------------------------------------------------------------

# The extensions that name each format truthfully (camera raw formats are TIFF inside).
EXTENSIONS = {
    "JPEG": frozenset({"jpg", "jpeg", "jpe", "jfif", "jif"}),
    "PNG": frozenset({"png"}),
    "TIFF": frozenset({"tif", "tiff", "dng", "nef", "nrw", "cr2", "arw", "srw", "sr2", "pef",
                       "3fr", "erf", "dcr", "kdc", "mos", "iiq"}),
    "WebP": frozenset({"webp"}),
    "HEIF": frozenset({"heic", "heif", "hif", "heics", "heifs", "avif"}),
}
# ftyp brands of still images (ISO/IEC 23008-12 and the AV1 image format).
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
                         b"mif1", b"msf1", b"avif", b"avis", b"MiHE", b"MiHB"})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

WHOLE_READ_MAX = 64 * 1024 * 1024   # larger images are mapped, not read whole, and hashed in pieces
MAX_EXIF_BYTES = 4 * 1024 * 1024    # an EXIF block larger than this is not a real one
MAX_STEPS = 100_000                 # segments, chunks or boxes walked in one container
EXIF_READ_CALLS = 50_000            # reads and seeks exifread may make in one block
MAX_PNG_TEXT = 1024 * 1024          # a compressed PNG text chunk is inflated at most this far
MAX_OFFSET = timedelta(hours=14)    # the widest offset any zone uses (UTC+14:00)
EXIF_PUBLISHED = 1995

_EXIF_HEADER = b"Exif\x00\x00"
_TIFF_HEADERS = (b"II*\x00", b"MM\x00*")
_BLANK = re.compile(r"[\s0:./\-]*")
_DATETIME = re.compile(r"(\d{4})[:\-/.](\d{2})[:\-/.](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def image_format(head: bytes) -> str | None:
    """The image format a file's first bytes show, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(PNG_SIGNATURE):
        return "PNG"
    if head[:4] in _TIFF_HEADERS:
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:   # a movie is video.py's
        return "HEIF"
    return None


def heif_brands(head: bytes) -> frozenset[bytes]:
    """The major and compatible brands of an ISO base media file's leading ``ftyp`` box."""
    if head[4:8] != b"ftyp" or len(head) < 16:
        return frozenset()
    size = min(struct.unpack_from(">I", head)[0], len(head), 1024)
    if size < 16:
        return frozenset()
    return frozenset(head[i:i + 4] for i in (8, *range(16, size - 3, 4)))


# -- ISO base media boxes (HEIF here; MP4, MOV and 3GP in video.py) ------------------------------

@dataclass(frozen=True)
class Box:
    kind: bytes     # the four-character type, b"meta"
    start: int      # where its header starts
    body: int       # where its content starts
    end: int        # just past its last byte (clipped to its container when it overruns)

    @property
    def name(self) -> str:
        return self.kind.decode("latin-1").strip() or repr(self.kind)


class Short(Exception):
    """A field runs past the end of its box or file."""


class Cursor:
    """Big-endian fields read in order from ``data[pos:end]``, never past ``end``."""

    def __init__(self, data: Any, pos: int, end: int):
        self.data, self.pos, self.end = data, pos, end

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > self.end:
            raise Short(f"needs {count} byte(s) at byte {self.pos}, {self.end - self.pos} left")
        value = bytes(self.data[self.pos:self.pos + count])
        self.pos += count
        return value

    def number(self, size: int) -> int:
        """An unsigned number of ``size`` bytes (0, 1, 2, 4 or 8; 0 bytes is the number 0)."""
        return int.from_bytes(self.take(size), "big") if size else 0


def iter_boxes(data: Any, start: int, end: int, damage: list[str], where: str) -> Iterator[Box]:
    """The boxes laid end to end in ``data[start:end]``. A box with an impossible size ends the
    walk; one that runs past ``end`` is yielded clipped and ends it; both say so in ``damage``."""
    offset, steps = start, 0
    while end - offset >= 8:
        steps += 1
        if steps > MAX_STEPS:
            damage.append(f"{where}: more than {MAX_STEPS:,} boxes; the rest was not read")
            return
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if end - offset < 16:
                damage.append(f"{where}: box {kind!r} at byte {offset} is cut short in its header")
                return
            size, header = struct.unpack_from(">Q", data, offset + 8)[0], 16
        elif size == 0:
            size = end - offset   # "to the end of the file" (or of its container)
        if size < header:
            damage.append(f"{where}: box {kind!r} at byte {offset} gives an impossible size "
                          f"({size} bytes)")
            return
        if size > end - offset:
            damage.append(f"{where}: box {kind!r} at byte {offset} says it is {size:,} bytes but "
                          f"only {end - offset:,} remain: the file is cut short or damaged")
            yield Box(kind, offset, offset + header, end)
            return
        yield Box(kind, offset, offset + header, offset + size)
        offset += size
    if 0 < end - offset:
        damage.append(f"{where}: {end - offset} byte(s) at byte {offset} are too few for a box")


# -- reading one file --------------------------------------------------------------------------

@dataclass
class Reading:
    """What the walk of one file found, besides the EXIF block."""

    format: str
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    damage: list[str] = field(default_factory=list)
    has_exif: bool = False    # an EXIF block was found, whatever it holds


def load(source: SourceFile) -> tuple[Any, Attachment]:
    """The file's bytes (read whole, or mapped when large) and the file as an attachment,
    hashed. Raises OSError when it cannot be read."""
    path = Path(source.path)
    size = path.stat().st_size
    if size <= WHOLE_READ_MAX:
        data: Any = path.read_bytes()
        attachment = Attachment(name=source.name, sha256=hashlib.sha256(data).hexdigest(),
                                size=len(data), media_type=source.sample.media_type)
        return data, attachment
    attachment = hashed_file(path, source.name)
    with path.open("rb") as handle:
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ), attachment


def find_exif(data: Any, reading: Reading) -> Any:
    """The TIFF block holding the file's EXIF, or None; damage and notes go to ``reading``."""
    finder = {"JPEG": _jpeg_exif, "PNG": _png_exif, "WebP": _webp_exif, "HEIF": _heif_exif,
              "TIFF": lambda data, reading: data}[reading.format]
    try:
        block = finder(data, reading)
    except Short as error:
        reading.damage.append(f"the {reading.format} structure could not be read: {error}")
        return None
    if block is not None and reading.format != "TIFF" and len(block) > MAX_EXIF_BYTES:
        reading.damage.append(f"the EXIF block is {len(block):,} bytes, larger than any real "
                              f"one: it was not read")
        return None
    reading.has_exif = block is not None
    return block


def _jpeg_exif(data: Any, reading: Reading) -> bytes | None:
    """Walk the segments from the start of image to the start of scan."""
    size, pos, tiff = len(data), 2, None
    for _ in range(MAX_STEPS):
        if pos + 2 > size:
            reading.damage.append(f"the JPEG ends at byte {size:,} inside its headers, before any "
                                  f"image data: the file is cut short")
            return tiff
        if data[pos] != 0xFF:
            reading.damage.append(f"the JPEG headers are damaged at byte {pos:,} (a segment "
                                  f"marker was expected, found 0x{data[pos]:02X}); the rest was "
                                  f"not read")
            return tiff
        marker = data[pos + 1]
        if marker == 0xFF:                      # fill byte before a marker
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:   # markers without a length
            pos += 2
            continue
        if marker == 0xD9:
            reading.damage.append(f"the JPEG ends (end-of-image marker at byte {pos:,}) before "
                                  f"any image data")
            return tiff
        if pos + 4 > size:
            reading.damage.append(f"the JPEG is cut short at byte {size:,}, inside a segment "
                                  f"header")
            return tiff
        end = pos + 2 + (data[pos + 2] << 8 | data[pos + 3])
        if end < pos + 4 or end > size:
            reading.damage.append(f"the JPEG segment 0xFF{marker:02X} at byte {pos:,} runs past "
                                  f"the end of the file ({size:,} bytes): it is cut short")
            return tiff
        if marker == 0xE1 and tiff is None and data[pos + 4:pos + 10] == _EXIF_HEADER:
            tiff = bytes(data[pos + 10:end])
        if marker == 0xDA:                      # start of scan: the image data follows
            _jpeg_ending(data, end, reading)
            return tiff
        pos = end
    reading.damage.append(f"more than {MAX_STEPS:,} JPEG segments; the rest was not read")
    return tiff


def _jpeg_ending(data: Any, scan: int, reading: Reading) -> None:
    """Whether the image data reaches its end-of-image marker. In entropy-coded data a 0xFF is
    always followed by 0x00 or a restart marker, so the first FF D9 after the scan starts is the
    end of the image; what follows it is another file's data appended (a motion photo's video)."""
    size = len(data)
    if data[size - 2:size] == b"\xff\xd9":
        return
    eoi = data.find(b"\xff\xd9", scan)
    if eoi < 0:
        reading.damage.append(f"the JPEG image data runs to the end of the file (byte {size:,}) "
                              f"without its end-of-image marker: the file is cut short and the "
                              f"picture may be incomplete")
        return
    after = size - eoi - 2
    reading.details["bytes_after_image"] = after
    reading.notes.append(f"{after:,} byte(s) follow the end of the JPEG image (a phone's motion "
                         f"photo video or another picture appended); they were not read")


def _png_exif(data: Any, reading: Reading) -> bytes | None:
    size, pos, tiff, ended = len(data), 8, None, False
    for _ in range(MAX_STEPS):
        if size - pos < 12:
            break
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > size:
            reading.damage.append(f"the PNG chunk {kind!r} at byte {pos:,} runs past the end of "
                                  f"the file ({size:,} bytes): it is cut short")
            return tiff
        if kind == b"eXIf" and tiff is None:
            tiff = _without_exif_header(bytes(data[pos + 8:pos + 8 + length]))
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            profile = _png_text(kind, bytes(data[pos + 8:pos + 8 + length]), reading)
            tiff = profile if tiff is None else tiff
        elif kind == b"IEND":
            ended = True
            pos = end
            break
        pos = end
    if not ended:
        reading.damage.append(f"the PNG has no IEND chunk (read to byte {pos:,} of {size:,}): "
                              f"it is cut short or damaged")
    elif pos < size:
        reading.details["bytes_after_image"] = size - pos
        reading.notes.append(f"{size - pos:,} byte(s) follow the PNG's IEND chunk; they were not "
                             f"read")
    return tiff


def _png_text(kind: bytes, body: bytes, reading: Reading) -> bytes | None:
    """A text chunk: "Creation Time" kept verbatim; ImageMagick's hex EXIF profile decoded."""
    keyword, _, rest = body.partition(b"\x00")
    if keyword not in (b"Creation Time", b"Raw profile type exif", b"Raw profile type APP1"):
        return None
    if kind == b"zTXt":
        text = _inflate(rest[1:])
    elif kind == b"iTXt":
        compressed = rest[:1] == b"\x01"
        text = rest[2:].split(b"\x00", 2)[-1]    # after the language tag and translated keyword
        text = _inflate(text) if compressed else text
    else:
        text = rest
    if text is None:
        reading.notes.append(f"the PNG text chunk {keyword.decode('latin-1')!r} could not be "
                             f"inflated")
        return None
    if keyword == b"Creation Time":
        reading.details["png_creation_time"] = detail_value(text.decode("utf-8", "replace"))
        return None
    lines = text.decode("latin-1").split("\n")
    try:
        profile = bytes.fromhex("".join(lines[3:]).replace(" ", ""))
    except ValueError:
        reading.notes.append("the PNG's raw EXIF profile is not hexadecimal; it was not read")
        return None
    return _without_exif_header(profile)


def _inflate(data: bytes) -> bytes | None:
    try:
        return zlib.decompressobj().decompress(data, MAX_PNG_TEXT)
    except zlib.error:
        return None


def _webp_exif(data: Any, reading: Reading) -> bytes | None:
    size = len(data)
    declared = 8 + struct.unpack_from("<I", data, 4)[0]
    if declared > size:
        reading.damage.append(f"the WebP's RIFF header says {declared:,} bytes but the file has "
                              f"{size:,}: it is cut short")
    end, pos, tiff = min(size, declared), 12, None
    for _ in range(MAX_STEPS):
        if end - pos < 8:
            return tiff
        kind, length = struct.unpack_from("<4sI", data, pos)
        if pos + 8 + length > end:
            if declared <= size:
                reading.damage.append(f"the WebP chunk {kind!r} at byte {pos:,} runs past the "
                                      f"end of the RIFF data")
            return tiff
        if kind == b"EXIF" and tiff is None:
            tiff = _without_exif_header(bytes(data[pos + 8:pos + 8 + length]))
        pos += 8 + length + (length & 1)
    return tiff


def _heif_exif(data: Any, reading: Reading) -> bytes | None:
    """The ``Exif`` item of a HEIF file (ISO/IEC 23008-12): found in ``meta/iinf``, placed by
    ``meta/iloc`` in the file (construction method 0) or in ``meta/idat`` (method 1)."""
    reading.details["brands"] = " ".join(sorted(b.decode("latin-1") for b in heif_brands(data[:1024])))
    top = list(iter_boxes(data, 0, len(data), reading.damage, "HEIF file"))
    meta = next((box for box in top if box.kind == b"meta"), None)
    if meta is None:
        reading.notes.append("the HEIF file has no 'meta' box, so no EXIF item")
        return None
    children = {}
    for box in iter_boxes(data, meta.body + 4, meta.end, reading.damage, "HEIF meta box"):
        children.setdefault(box.kind, box)
    ids = _exif_item_ids(data, children.get(b"iinf"), reading.damage)
    if not ids:
        return None
    if b"iloc" not in children:
        reading.damage.append("the HEIF meta box names an Exif item but has no 'iloc' box to "
                              "place it")
        return None
    method, extents = _item_extents(data, children[b"iloc"], ids[0])
    if method == 1 and b"idat" in children:
        base, limit = children[b"idat"].body, children[b"idat"].end
    elif method == 0:
        base, limit = 0, len(data)
    else:
        reading.notes.append(f"the HEIF Exif item is stored by construction method {method}, "
                             f"which is not read")
        return None
    payload = b""
    for offset, length in extents:
        if length <= 0 or len(payload) + length > MAX_EXIF_BYTES or base + offset + length > limit:
            reading.damage.append(f"the HEIF Exif item's extent ({length:,} bytes at byte "
                                  f"{base + offset:,}) lies outside the file or is not a size an "
                                  f"EXIF block has")
            return None
        payload += bytes(data[base + offset:base + offset + length])
    skip = 4 + int.from_bytes(payload[:4], "big")
    if payload[skip:skip + 4] in _TIFF_HEADERS:
        return payload[skip:]
    found = [at for at in (payload.find(h, 4, 64) for h in _TIFF_HEADERS) if at >= 0]
    if found:
        return payload[min(found):]
    reading.damage.append("the HEIF Exif item holds no TIFF header")
    return None


def _exif_item_ids(data: Any, iinf: Box | None, damage: list[str]) -> list[int]:
    """The ids of the items of type ``Exif`` listed in an ``iinf`` box."""
    if iinf is None:
        return []
    cursor = Cursor(data, iinf.body, iinf.end)
    version = cursor.number(1)
    cursor.take(3)
    cursor.number(2 if version == 0 else 4)      # the entry count: the boxes themselves follow
    ids = []
    for infe in iter_boxes(data, cursor.pos, iinf.end, damage, "HEIF iinf box"):
        if infe.kind != b"infe":
            continue
        entry = Cursor(data, infe.body, infe.end)
        entry_version = entry.number(1)
        entry.take(3)
        if entry_version < 2:
            continue    # versions 0 and 1 have no item type
        item = entry.number(2 if entry_version == 2 else 4)
        entry.take(2)                               # protection index
        if entry.take(4) == b"Exif":
            ids.append(item)
    return ids


def _item_extents(data: Any, iloc: Box, wanted: int) -> tuple[int, list[tuple[int, int]]]:
    """An item's construction method and its (offset, length) extents from an ``iloc`` box."""
    cursor = Cursor(data, iloc.body, iloc.end)
    version = cursor.number(1)
    cursor.take(3)
    sizes = cursor.number(1)
    offset_size, length_size = sizes >> 4, sizes & 15
    sizes = cursor.number(1)
    base_size, index_size = sizes >> 4, (sizes & 15) if version in (1, 2) else 0
    if not {offset_size, length_size, base_size, index_size} <= {0, 4, 8}:
        raise Short(f"the iloc box gives field sizes that do not exist "
                    f"({offset_size}, {length_size}, {base_size}, {index_size})")
    count = cursor.number(2 if version < 2 else 4)
    for _ in range(count):
        item = cursor.number(2 if version < 2 else 4)
        method = cursor.number(2) & 15 if version in (1, 2) else 0
        cursor.take(2)                              # data reference index
        base = cursor.number(base_size)
        extents = []
        for _ in range(cursor.number(2)):
            cursor.number(index_size)
            extents.append((base + cursor.number(offset_size), cursor.number(length_size)))
        if item == wanted:
            return method, extents
    raise Short(f"the iloc box does not place item {wanted}")


def _without_exif_header(block: bytes) -> bytes:
    return block.removeprefix(_EXIF_HEADER)


# -- decoding EXIF -----------------------------------------------------------------------------

# The tags read, by exifread's names; Pillow's (IFD, tag id) for each, for the fallback.
IFD0, EXIF_IFD, GPS_IFD = 0, 0x8769, 0x8825
TAGS = {
    "Image Make": (IFD0, 0x010F), "Image Model": (IFD0, 0x0110),
    "Image Software": (IFD0, 0x0131), "Image DateTime": (IFD0, 0x0132),
    "EXIF DateTimeOriginal": (EXIF_IFD, 0x9003), "EXIF DateTimeDigitized": (EXIF_IFD, 0x9004),
    "EXIF OffsetTime": (EXIF_IFD, 0x9010), "EXIF OffsetTimeOriginal": (EXIF_IFD, 0x9011),
    "EXIF OffsetTimeDigitized": (EXIF_IFD, 0x9012), "EXIF SubSecTime": (EXIF_IFD, 0x9290),
    "EXIF SubSecTimeOriginal": (EXIF_IFD, 0x9291),
    "EXIF SubSecTimeDigitized": (EXIF_IFD, 0x9292),
    "EXIF BodySerialNumber": (EXIF_IFD, 0xA431), "EXIF LensModel": (EXIF_IFD, 0xA434),
    "GPS GPSLatitudeRef": (GPS_IFD, 0x01), "GPS GPSLatitude": (GPS_IFD, 0x02),
    "GPS GPSLongitudeRef": (GPS_IFD, 0x03), "GPS GPSLongitude": (GPS_IFD, 0x04),
    "GPS GPSAltitudeRef": (GPS_IFD, 0x05), "GPS GPSAltitude": (GPS_IFD, 0x06),
    "GPS GPSTimeStamp": (GPS_IFD, 0x07), "GPS GPSStatus": (GPS_IFD, 0x09),
    "GPS GPSDate": (GPS_IFD, 0x1D),
    "GPS Tag 0x001F": (GPS_IFD, 0x1F),     # GPSHPositioningError (EXIF 2.31), unnamed in exifread
}
Tags = dict[str, Any]   # exifread's tag name → str, int, Fraction, or a list of them


class _Budgeted:
    """The EXIF block as a file for exifread, which stops it after ``EXIF_READ_CALLS`` reads and
    seeks: exifread follows the offsets a file gives, and a damaged file can give it tens of
    thousands of entries of a thousand values each."""

    def __init__(self, block: Any):
        self._file = block if isinstance(block, mmap.mmap) else io.BytesIO(block)
        self._left = EXIF_READ_CALLS

    def _spend(self) -> None:
        self._left -= 1
        if self._left < 0:
            raise RuntimeError(f"the EXIF block needed more than {EXIF_READ_CALLS:,} reads: it "
                               f"is damaged")

    def read(self, size: int = -1) -> bytes:
        self._spend()
        return self._file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        self._spend()
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def read_tags(block: Any, data: Any, reading: Reading) -> Tags:
    """The tags read from the EXIF block by exifread; by Pillow when exifread fails on it (the
    failure noted), or from the whole file when walking it found no block (JPEG, WebP). A block
    neither can read is damage; a block without any of the tags read here is not."""
    if block is not None:
        try:
            tags = _exifread_tags(block)
            if tags:
                reading.details["exif_reader"] = "exifread"
            return tags
        except Exception as error:  # noqa: BLE001 - any failure of a library on untrusted bytes
            failure = f"exifread could not read it ({type(error).__name__}: {error})"
        try:
            tags = _pillow_tags(None if reading.format == "TIFF" else block, data)
        except Exception as error:  # noqa: BLE001 - any failure of a library on untrusted bytes
            tags, failure = {}, f"{failure}; nor could Pillow ({type(error).__name__}: {error})"
        if tags:
            reading.details["exif_reader"] = "Pillow"
            reading.notes.append(f"EXIF read by Pillow: {failure}")
        else:
            reading.damage.append(f"the EXIF block could not be read: {failure}")
        return tags
    if reading.format in ("JPEG", "WebP"):
        try:
            tags = _pillow_tags(None, data)
        except Exception:  # noqa: BLE001 - Pillow cannot open it either: there is no EXIF to read
            return {}
        if tags:
            reading.has_exif = True
            reading.details["exif_reader"] = "Pillow"
            reading.notes.append("EXIF read by Pillow: walking the file found no EXIF block")
        return tags
    return {}


def _exifread_tags(block: Any) -> Tags:
    found = exifread.process_file(_Budgeted(block), details=False, extract_thumbnail=False)
    return {name: _plain(found[name].values) for name in TAGS if name in found}


def _pillow_tags(block: Any, data: Any) -> Tags:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # Pillow warns of damaged EXIF; the notes say it
        if block is not None:
            exif = Image.Exif()
            exif.load(_EXIF_HEADER + bytes(block))
        else:
            with Image.open(_Budgeted(data)) as image:
                exif = image.getexif()
        ifds = {IFD0: exif, EXIF_IFD: exif.get_ifd(EXIF_IFD), GPS_IFD: exif.get_ifd(GPS_IFD)}
    tags = {}
    for name, (ifd, tag) in TAGS.items():
        if tag in ifds[ifd]:
            tags[name] = _plain(ifds[ifd][tag])
    return tags


def _plain(value: Any) -> Any:
    """A tag value as str, int, Fraction (None for a zero denominator) or a list of them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, int):
        return value
    numerator = getattr(value, "numerator", None)
    denominator = getattr(value, "denominator", None)
    if isinstance(numerator, int) and isinstance(denominator, int):
        return Fraction(numerator, denominator) if denominator else None
    if isinstance(value, float):
        return Fraction(value) if math.isfinite(value) else None
    return None


def _text(tags: Tags, name: str) -> str | None:
    """An ASCII tag's value without its padding, or None when absent or empty."""
    value = tags.get(name)
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if not isinstance(value, str):
        return None
    value = value.split("\x00", 1)[0].strip()
    return value or None


def _numbers(tags: Tags, name: str, count: int) -> list[Fraction] | None:
    value = tags.get(name)
    value = value if isinstance(value, list) else [value]
    if len(value) < count or not all(isinstance(v, (Fraction, int)) for v in value[:count]):
        return None
    return [Fraction(v) for v in value[:count]]


# -- times -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimeTags:
    label: str          # how the time is named in notes
    when: str           # exifread's names of its three tags
    subsec: str
    offset: str
    source: str         # the RawTime source


CAMERA_TIMES = (
    TimeTags("DateTimeOriginal", "EXIF DateTimeOriginal", "EXIF SubSecTimeOriginal",
             "EXIF OffsetTimeOriginal", "EXIF DateTimeOriginal"),
    TimeTags("DateTimeDigitized", "EXIF DateTimeDigitized", "EXIF SubSecTimeDigitized",
             "EXIF OffsetTimeDigitized", "EXIF DateTimeDigitized"),
)
MODIFIED = TimeTags("DateTime", "Image DateTime", "EXIF SubSecTime", "EXIF OffsetTime",
                    "EXIF IFD0 DateTime (when the file was last changed)")
DETAIL_NAMES = {
    "EXIF DateTimeOriginal": "datetime_original", "EXIF SubSecTimeOriginal": "subsec_original",
    "EXIF OffsetTimeOriginal": "offset_original", "EXIF DateTimeDigitized": "datetime_digitized",
    "EXIF SubSecTimeDigitized": "subsec_digitized",
    "EXIF OffsetTimeDigitized": "offset_digitized", "Image DateTime": "datetime_modified",
    "EXIF SubSecTime": "subsec_modified", "EXIF OffsetTime": "offset_modified",
    "Image Make": "make", "Image Model": "model", "Image Software": "software",
    "EXIF LensModel": "lens_model", "EXIF BodySerialNumber": "body_serial",
    "GPS GPSDate": "gps_datestamp", "GPS GPSStatus": "gps_status",
}


@dataclass
class Tried:
    """The times passed over, in words, and whether any was there but unreadable (not a date)
    rather than not set (zeros or blanks, EXIF's "unknown")."""

    texts: list[str] = field(default_factory=list)
    unreadable: bool = False

    def add(self, text: str, unreadable: bool = True) -> None:
        self.texts.append(text)
        self.unreadable = self.unreadable or unreadable


def _wall_clock(text: str) -> tuple[datetime | None, str | None]:
    """An EXIF date and time (``YYYY:MM:DD HH:MM:SS``, other separators accepted) as a naive
    datetime, or None and why: unset (zeros or blanks) or not a date."""
    if _BLANK.fullmatch(text):
        return None, f"{text!r} (zeros or blanks: not set)"
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        return None, f"{text!r} (not an EXIF date and time)"
    try:
        return datetime(*map(int, match.groups())), None
    except ValueError:
        return None, f"{text!r} (no such date or time)"


def _subsec(text: str | None, label: str, notes: list[str]) -> int | None:
    """Microseconds from a SubSecTime tag (the digits of a decimal fraction of a second)."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()):
        notes.append(f"SubSecTime{label} {text!r} is not a fraction of a second; not used")
        return None
    return int((text + "000000")[:6])


def _offset(text: str | None, label: str, notes: list[str]) -> timezone | None:
    if text is None or _BLANK.fullmatch(text):
        return None
    match = _OFFSET.fullmatch(text)
    if match:
        delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
        if match[3] < "60" and delta <= MAX_OFFSET:
            return timezone(-delta if match[1] == "-" else delta)
    notes.append(f"OffsetTime{label} {text!r} is not an offset from UTC; not used")
    return None


def camera_time(tags: Tags, names: TimeTags, notes: list[str], tried: Tried) -> RawTime | None:
    """One of the camera's times with its sub-seconds and offset, or None (and why in ``tried``)."""
    text = _text(tags, names.when)
    if text is None:
        return None
    wall, problem = _wall_clock(text)
    if wall is None:
        tried.add(f"{names.label} is {problem}", unreadable="not set" not in problem)
        return None
    label = names.label.removeprefix("DateTime")
    subsec_text, offset_text = _text(tags, names.subsec), _text(tags, names.offset)
    micro = _subsec(subsec_text, label, notes)
    offset = _offset(offset_text, label, notes)
    raw = [f"{names.label}={text}"]
    source = names.source
    if micro is not None:
        wall = wall.replace(microsecond=micro)
        raw.append(f"SubSecTime{label}={subsec_text}")
        source += f" with SubSecTime{label}"
    if offset is not None:
        raw.append(f"OffsetTime{label}={offset_text}")
        source += f" and OffsetTime{label}" if micro is not None else f" with OffsetTime{label}"
    return RawTime("; ".join(raw), wall.replace(tzinfo=offset) if offset else wall,
                   "offset" if offset else "local", "ms" if micro is not None else "s", source)


def gps_time(tags: Tags, tried: Tried) -> datetime | None:
    """The GPS date and time stamp as an aware UTC datetime, or None (why in ``tried``)."""
    date, stamp = _text(tags, "GPS GPSDate"), _numbers(tags, "GPS GPSTimeStamp", 3)
    if date is None or stamp is None:
        if date is not None or "GPS GPSTimeStamp" in tags:
            tried.add("the GPS date and time stamp are not both there and readable")
        return None
    if _BLANK.fullmatch(date):
        tried.add(f"the GPS date {date!r} is not set", unreadable=False)
        return None
    match = re.fullmatch(r"(\d{4})[:\-/.](\d{2})[:\-/.](\d{2})", date)
    hours, minutes, seconds = stamp
    if match is None or not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61):
        tried.add(f"the GPS date and time stamp ({date!r}, {_fractions(stamp)}) are not a time")
        return None
    try:
        day = datetime(*map(int, match.groups()), tzinfo=UTC)
    except ValueError:
        tried.add(f"the GPS date {date!r} is not a date")
        return None
    micro = round((hours * 3600 + minutes * 60 + seconds) * 1_000_000)
    return day + timedelta(microseconds=micro)


def _fractions(values: list[Fraction]) -> str:
    return " ".join(str(v) for v in values)


def doubts(moment: datetime) -> str | None:
    """Why a camera time is doubtful, or None."""
    if (moment.month, moment.day, moment.hour, moment.minute, moment.second) == (1, 1, 0, 0, 0):
        return ("exactly midnight on 1 January: what a camera's clock shows when it was never "
                "set or was reset (1998:01:01 00:00:00 and 2000:01:01 00:00:00 are seen, "
                "formats.md §5); probably not when the picture was taken")
    if moment.year < EXIF_PUBLISHED:
        return (f"before {EXIF_PUBLISHED}, when EXIF was first published: the camera's clock was "
                f"probably not set (or this is a scan of an older picture)")
    return None


# -- position ----------------------------------------------------------------------------------

def position(tags: Tags, notes: list[str], details: dict[str, Any]) -> Location | None:
    """The GPS position as a Location, or None (what was there kept in details, and why)."""
    latitude = _numbers(tags, "GPS GPSLatitude", 3)
    longitude = _numbers(tags, "GPS GPSLongitude", 3)
    lat_ref, lon_ref = _text(tags, "GPS GPSLatitudeRef"), _text(tags, "GPS GPSLongitudeRef")
    if latitude is not None:
        details["gps_latitude"] = f"{_fractions(latitude)} {lat_ref or ''}".strip()
    if longitude is not None:
        details["gps_longitude"] = f"{_fractions(longitude)} {lon_ref or ''}".strip()
    altitude = _numbers(tags, "GPS GPSAltitude", 1)
    if altitude is not None:
        below = tags.get("GPS GPSAltitudeRef") in (1, [1], "\x01")   # exifread; Pillow
        details["gps_altitude_m"] = f"{float(-altitude[0] if below else altitude[0]):.1f}"
    if latitude is None or longitude is None:
        if "GPS GPSLatitude" in tags or "GPS GPSLongitude" in tags:
            notes.append("the GPS position is incomplete or not numbers: no location")
        return None
    if (lat_ref or "").upper() not in ("N", "S") or (lon_ref or "").upper() not in ("E", "W"):
        notes.append(f"the GPS position has no usable north/south or east/west reference "
                     f"({lat_ref!r}, {lon_ref!r}): its hemisphere is unknown, so no location")
        return None
    lat = _degrees(latitude) * (-1 if lat_ref.upper() == "S" else 1)
    lon = _degrees(longitude) * (-1 if lon_ref.upper() == "W" else 1)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        notes.append("the GPS position is outside the globe: no location")
        return None
    if lat == 0 and lon == 0:
        notes.append("the GPS position is exactly 0, 0 (what a receiver without a fix writes): "
                     "no location")
        return None
    if _text(tags, "GPS GPSStatus") == "V":
        notes.append("GPSStatus is V (the measurement was void or interrupted): the position may "
                     "be stale")
    error = _numbers(tags, "GPS Tag 0x001F", 1)
    accuracy = round(float(error[0]), 1) if error and error[0] >= 0 else None
    return Location(lat=round(float(lat), 7), lon=round(float(lon), 7), accuracy_m=accuracy,
                    basis="gps")


def _degrees(parts: list[Fraction]) -> Fraction:
    return parts[0] + parts[1] / 60 + parts[2] / 3600


# -- the event ---------------------------------------------------------------------------------

def event_time(tags: Tags, notes: list[str], details: dict[str, Any],
               tried: Tried) -> tuple[RawTime | None, datetime | None]:
    """The event's time (first usable, as the module docstring orders them) and the GPS time."""
    gps = gps_time(tags, tried)
    if gps is not None:
        details["gps_time_utc"] = gps.isoformat(timespec="milliseconds" if gps.microsecond
                                                else "seconds").replace("+00:00", "Z")
    for index, names in enumerate(CAMERA_TIMES):
        time = camera_time(tags, names, notes, tried)
        if time is None:
            continue
        _passed_over(tried, notes)
        if index:
            notes.append("time from DateTimeDigitized: the file has no usable DateTimeOriginal; "
                         "for a phone or camera the two are the same moment, for a scan "
                         "DateTimeDigitized is when it was scanned")
        if time.basis == "local":
            notes.append(f"no offset from UTC beside {names.label}: the time is the camera's wall "
                         f"clock, read in the source's zone")
        doubt = doubts(time.value)
        if doubt:
            notes.append(f"{names.label} {doubt}")
            details["time_doubtful"] = True
        return time, gps
    if gps is not None:
        _passed_over(tried, notes)
        notes.append("time from the GPS date and time stamp (UTC, from the satellite fix): the "
                     "file has no usable DateTimeOriginal or DateTimeDigitized; the fix may be a "
                     "little older than the picture")
        return RawTime(f"GPSDateStamp={_text(tags, 'GPS GPSDate')}; GPSTimeStamp="
                       f"{_fractions(_numbers(tags, 'GPS GPSTimeStamp', 3) or [])}",
                       gps, "utc", "ms" if gps.microsecond else "s",
                       "EXIF GPSDateStamp and GPSTimeStamp (UTC)", device_clock=False), None
    time = camera_time(tags, MODIFIED, notes, tried)
    if time is not None:
        _passed_over(tried, notes)
        notes.append("time from IFD0 DateTime, which records when the file was last changed "
                     "(editing and transfer software rewrite it), not when the picture was "
                     "taken: the picture existed by then and may be older")
    return time, None


def _passed_over(tried: Tried, notes: list[str]) -> None:
    if tried.texts:
        notes.append("not usable: " + "; ".join(tried.texts))


def clock_check(time: RawTime, gps: datetime, device: str, notes: list[str],
                details: dict[str, Any]) -> SourceNote:
    """The camera's clock measured against GPS time: recorded, never applied."""
    if time.basis == "offset":
        seconds = round((time.value - gps).total_seconds())
        details["clock_offset_measured_s"] = seconds
        text = (f"measured clock offset: the camera's time minus the GPS time is {seconds:+d} s "
                f"(the device's clock minus true time); it was not applied")
    else:
        seconds = round((time.value - gps.replace(tzinfo=None)).total_seconds())
        details["camera_wall_minus_gps_s"] = seconds
        zone = round(seconds / 900) * 900
        text = (f"the camera's wall clock minus the GPS time (UTC) is {seconds:+d} s: the offset "
                f"of the zone the camera was set to plus its clock's error")
        if abs(zone) <= MAX_OFFSET.total_seconds():
            text += (f"; consistent with a clock set to UTC{_signed_hours(zone)} and "
                     f"{seconds - zone:+d} s off")
        text += "; nothing was applied"
    notes.append(text)
    return SourceNote(f"{device}: {text}. To correct every record of this device by a measured "
                      f"offset, set clock_offset_seconds in its [[source]] in case.toml")


def _signed_hours(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def camera_details(tags: Tags, details: dict[str, Any]) -> None:
    for name, key in DETAIL_NAMES.items():
        text = _text(tags, name)
        if text is not None:
            details[key] = detail_value(text)
    stamp = _numbers(tags, "GPS GPSTimeStamp", 3)
    if stamp is not None:
        details["gps_timestamp"] = _fractions(stamp)
    error = _numbers(tags, "GPS Tag 0x001F", 1)
    if error is not None:
        details["gps_h_positioning_error_m"] = f"{float(error[0]):.1f}"


def device_name(details: dict[str, Any]) -> str:
    named = " ".join(str(details[k]) for k in ("make", "model") if k in details)
    return named or "the camera (no make or model in the file)"


def name_check(name: str, fmt: str, reading: Reading, allowed: frozenset[str] | None = None,
               what: str = "image") -> None:
    """Flag an extension that says the file is something it is not (``allowed``: the extensions
    that name it truthfully, by default those of the image format)."""
    stem, dot, suffix = name.rpartition(".")
    allowed = EXTENSIONS[fmt] if allowed is None else allowed
    if not dot or not stem or not suffix or suffix.lower() in allowed:
        return
    reading.details["named_as"] = detail_value(f".{suffix}")
    reading.details["content_is"] = fmt
    reading.notes.append(f"the file is named .{detail_value(suffix)[:40]} but its content is a "
                         f"{fmt} {what}: the name does not say what the file is (it was "
                         f"identified by its content)")


def no_time_reason(tried: Tried, tags: Tags, location: Location | None,
                   attachment: Attachment, reading: Reading) -> str:
    fmt = reading.format
    if not reading.has_exif:
        why = (f"the {fmt} file holds no EXIF metadata" +
               (" (screenshots usually have none)" if fmt == "PNG" else ""))
    else:
        why = ("its EXIF holds no DateTimeOriginal, DateTimeDigitized, GPS date and time or "
               "DateTime" if not tried.texts else "; ".join(tried.texts))
    held = []
    camera = " ".join(filter(None, (_text(tags, "Image Make"), _text(tags, "Image Model"))))
    if camera:
        held.append(f"camera {camera}")
    software = _text(tags, "Image Software")
    if software:
        held.append(f"software {software}")
    if location is not None:
        held.append(f"a GPS position {location.lat}, {location.lon}")
    reason = (f"no time when the picture was taken: {why}. File-system times are not evidence "
              f"of that, so it is listed as undated")
    if held:
        reason += "; it holds " + ", ".join(held)
    return detail_value(reason)


class ImageParser(Parser):
    NAME = "image-exif"
    DATA_FORMAT = "Photo or screenshot (JPEG, TIFF, PNG, WebP, HEIC/HEIF) with its EXIF metadata"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        return image_format(sample.head) is not None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        fmt = image_format(source.sample.head)
        if fmt is None:
            yield Reject("file", "not an image this parser reads (its first bytes changed?)")
            return
        try:
            data, attachment = load(source)
        except (OSError, ValueError) as error:
            yield Reject("file", f"the file could not be read: {type(error).__name__}: {error}")
            return
        try:
            reading = Reading(fmt)
            name_check(source.name, fmt, reading)
            block = find_exif(data, reading)
            tags = read_tags(block, data, reading)
            yield from _records(tags, reading, attachment, source.sample)
        finally:
            if isinstance(data, mmap.mmap):
                data.close()


def _records(tags: Tags, reading: Reading, attachment: Attachment,
             sample: Sample) -> Iterator[Event | Reject | SourceNote]:
    notes, details = reading.notes, {"format": reading.format, "media_type": sample.media_type,
                                     **reading.details}
    camera_details(tags, details)
    tried = Tried()
    time, gps = event_time(tags, notes, details, tried)
    location = position(tags, notes, details)
    damaged = "; ".join(reading.damage)
    locator = f"{reading.format.lower()}:structure"
    if time is None:
        # Undated: on the timeline after every dated record, with what the file does hold; why
        # it has no time is the first thing its notes say.
        notes.insert(0, no_time_reason(tried, tags, location, attachment, reading))
        time = RawTime("", None, "local", "s", "the picture holds no time it was taken")
        if tried.unreadable:
            yield Reject("file", detail_value("; ".join(tried.texts) or "its time is unreadable"))
        gps = None
    if gps is not None:   # only beside a camera time (event_time)
        yield clock_check(time, gps, device_name(details), notes, details)
    if damaged:
        notes.append(f"the file is damaged: {damaged}; the event holds what could be read")
    yield Event(kind="media", platform="device", time=time, locator="file",
                attachments=[attachment], location=location, details=details, notes=notes)
    if damaged:
        yield Reject(locator, detail_value(damaged))
