"""Photos and screenshots (parsers/media.py): JPEG, PNG, WebP and TIFF files written by Pillow
with the EXIF tags each test needs, HEIC containers built box by box (Pillow cannot write HEIC
without libheif), damaged and fuzzed files (fixed seeds), and the one JPEG of ../shared/realworld.

Synthetic only: made-up cameras, positions near Westminster, no real person's picture.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image
from PIL.ExifTags import GPS, IFD, Base

from courseline.collectors.identify import sample_file
from courseline.parsers import parser_for
from courseline.parsers.media import ImageParser
from courseline.timeline.event import Event, Reject, SourceNote
from tests_support import (REALWORLD, checked, events, only_event, parsed, png, read_jsonl,
                           rejects, run_cli, source_file, source_notes)

TAKEN = "2024:03:02 21:14:05"
MODIFIED = "2024:03:05 09:00:00"


# -- builders --------------------------------------------------------------------------------------

def exif(ifd0: dict | None = None, exif_ifd: dict | None = None,
         gps: dict | None = None) -> Image.Exif:
    """An EXIF block with the given tags (Pillow tag ids) in IFD0, the EXIF IFD and the GPS IFD."""
    block = Image.Exif()
    for tag, value in (ifd0 or {}).items():
        block[tag] = value
    if exif_ifd:
        sub = block.get_ifd(IFD.Exif)
        sub.update(exif_ifd)
    if gps:
        sub = block.get_ifd(IFD.GPSInfo)
        sub.update(gps)
    return block


def camera(taken: str | None = TAKEN, subsec: str | None = None, offset: str | None = None,
           more: dict | None = None) -> dict:
    tags = {Base.DateTimeOriginal: taken, Base.SubsecTimeOriginal: subsec,
            Base.OffsetTimeOriginal: offset, **(more or {})}
    return {tag: value for tag, value in tags.items() if value is not None}


WESTMINSTER = {GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: (51.0, 30.0, 2.52),
               GPS.GPSLongitudeRef: "W", GPS.GPSLongitude: (0.0, 7.0, 28.56)}


def gps_fix(date: str = "2024:03:02", time: tuple = (20.0, 14.0, 3.0),
            more: dict | None = None) -> dict:
    return {**WESTMINSTER, GPS.GPSDateStamp: date, GPS.GPSTimeStamp: time, **(more or {})}


def picture(block: Image.Exif | None, fmt: str = "JPEG", size: tuple[int, int] = (16, 12),
            noise: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    if noise:   # image data that does not compress away, so that cutting it shows
        image = Image.frombytes("RGB", size, random.Random(5).randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    # As bytes: Pillow's PNG writer leaves out an Exif object whose IFD0 is empty.
    image.save(out, fmt, **({"exif": block.tobytes()} if block is not None else {}))
    return out.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def parse(tmp_path: Path, name: str, data: bytes) -> list:
    return parsed(ImageParser, source_file(write(tmp_path, name, data)))


NO_TIME = "no time when the picture was taken"


def undated_event(records: list, data: bytes | None = None) -> Event:
    """The one event of a picture that holds no time: an undated ``media`` event, the file hashed
    on it, saying first why it has no time (``data``: the file's bytes, to check the hash)."""
    (event,) = events(records)
    assert (event.kind, event.platform, event.locator) == ("media", "device", "file")
    assert event.time.value is None and event.time.raw == ""
    assert event.time.source == "the picture holds no time it was taken"
    assert event.notes and event.notes[0].startswith(NO_TIME), event.notes
    assert "File-system times are not evidence" in event.notes[0]
    (attachment,) = event.attachments
    if data is not None:
        assert attachment.sha256 == hashlib.sha256(data).hexdigest()
        assert attachment.size == len(data)
    return event


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, body: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + body)


def heic(block: Image.Exif, brand: bytes = b"heic", in_idat: bool = False) -> bytes:
    """A minimal HEIF file: ``ftyp``, ``meta`` (``hdlr``, ``iinf`` with an image item and an
    ``Exif`` item, ``iloc``) and the Exif item's payload in ``mdat`` or in ``meta/idat``."""
    payload = struct.pack(">I", 6) + block.tobytes()      # tobytes() starts with Exif\0\0
    ftyp = box(b"ftyp", brand + b"\0\0\0\0" + b"mif1" + brand)
    hdlr = full_box(b"hdlr", 0, b"\0" * 4 + b"pict" + b"\0" * 13)
    iinf = full_box(b"iinf", 0, struct.pack(">H", 2)
                    + full_box(b"infe", 2, struct.pack(">HH4s", 1, 0, b"hvc1") + b"\0")
                    + full_box(b"infe", 2, struct.pack(">HH4s", 2, 0, b"Exif") + b"\0"))
    if in_idat:
        iloc = full_box(b"iloc", 1, bytes([0x44, 0x00]) + struct.pack(">H", 1)
                        + struct.pack(">HHHHII", 2, 1, 0, 1, 0, len(payload)))
        return ftyp + full_box(b"meta", 0, hdlr + iinf + iloc + box(b"idat", payload))

    def meta(offset: int) -> bytes:
        iloc = full_box(b"iloc", 0, bytes([0x44, 0x00]) + struct.pack(">H", 1)
                        + struct.pack(">HHHII", 2, 0, 1, offset, len(payload)))
        return full_box(b"meta", 0, hdlr + iinf + iloc)
    offset = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(offset) + box(b"mdat", payload)


# -- recognising -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_recognises_images_by_content(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path, "no-extension", picture(exif(exif_ifd=camera()), fmt))
    assert parser_for(sample_file(path)) is ImageParser


def test_recognises_tiff_and_heic(tmp_path: Path) -> None:
    block = exif(exif_ifd=camera())
    for name, data in (("a.tif", block.tobytes()[6:]), ("a.heic", heic(block)),
                       ("a.avif", heic(block, b"avif"))):
        assert parser_for(sample_file(write(tmp_path, name, data))) is ImageParser, name


@pytest.mark.parametrize("data", [
    b"", b"hello", b"\xff\xd8", box(b"ftyp", b"isom\0\0\0\0isommp42") + box(b"mdat", b""),
    b"RIFF\x10\x00\x00\x00WAVEfmt ", b"II+\x00" + b"\0" * 12,       # a WAV file, BigTIFF
])
def test_does_not_claim_other_files(tmp_path: Path, data: bytes) -> None:
    assert not ImageParser.recognises(sample_file(write(tmp_path, "x.jpg", data)))


# -- times -----------------------------------------------------------------------------------------

def test_original_time_with_subseconds_and_offset(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, "IMG_0001.jpg",
                             picture(exif(exif_ifd=camera(subsec="123", offset="+01:00")))))
    assert event.kind == "media" and event.platform == "device" and event.locator == "file"
    time = event.time
    assert time.basis == "offset" and time.precision == "ms" and time.device_clock
    assert time.value == datetime(2024, 3, 2, 21, 14, 5, 123000,
                                  tzinfo=timezone(timedelta(hours=1)))
    assert time.source == "EXIF DateTimeOriginal with SubSecTimeOriginal and OffsetTimeOriginal"
    assert time.raw == ("DateTimeOriginal=2024:03:02 21:14:05; SubSecTimeOriginal=123; "
                        "OffsetTimeOriginal=+01:00")
    assert event.details["datetime_original"] == TAKEN


def test_original_time_without_offset_is_the_wall_clock(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, "a.jpg", picture(exif(exif_ifd=camera(subsec="5")))))
    assert event.time.basis == "local" and event.time.value.tzinfo is None
    assert event.time.value == datetime(2024, 3, 2, 21, 14, 5, 500000)
    assert any("wall clock" in note for note in event.notes)


@pytest.mark.parametrize("subsec, offset, note", [
    ("12a", "+01:00", "SubSecTimeOriginal '12a' is not a fraction"),
    (None, "+25:00", "OffsetTimeOriginal '+25:00' is not an offset"),
    (None, "BST", "OffsetTimeOriginal 'BST' is not an offset"),
])
def test_bad_subseconds_or_offset_are_noted_not_used(tmp_path: Path, subsec, offset, note) -> None:
    event = only_event(parse(tmp_path, "a.jpg", picture(exif(exif_ifd=camera(subsec=subsec,
                                                                            offset=offset)))))
    assert event.time.precision == "s"
    assert any(note in n for n in event.notes), event.notes


def test_blank_offset_means_none(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, "a.jpg",
                             picture(exif(exif_ifd=camera(offset="   :  ")))))
    assert event.time.basis == "local"
    assert not any("OffsetTime" in note for note in event.notes)


def test_digitized_time_when_there_is_no_original(tmp_path: Path) -> None:
    block = exif(exif_ifd={Base.DateTimeDigitized: TAKEN, Base.OffsetTimeDigitized: "-05:00"})
    event = only_event(parse(tmp_path, "a.jpg", picture(block)))
    assert event.time.source == "EXIF DateTimeDigitized with OffsetTimeDigitized"
    assert event.time.value.utcoffset() == timedelta(hours=-5)
    assert any("time from DateTimeDigitized" in note for note in event.notes)


def test_gps_time_when_the_camera_wrote_none(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, "a.jpg", picture(exif(gps=gps_fix(time=(20.0, 14.0, 3.5))))))
    assert event.time.basis == "utc" and not event.time.device_clock
    assert event.time.value == datetime(2024, 3, 2, 20, 14, 3, 500000, tzinfo=UTC)
    assert event.time.precision == "ms"
    assert any("GPS date and time stamp" in note for note in event.notes)
    assert "clock_offset_measured_s" not in event.details


def test_modify_time_last_and_said_to_be_one(tmp_path: Path) -> None:
    block = exif(ifd0={Base.DateTime: MODIFIED},
                 exif_ifd={Base.DateTimeOriginal: "0000:00:00 00:00:00"})
    event = only_event(parse(tmp_path, "a.jpg", picture(block)))
    assert event.time.source == "EXIF IFD0 DateTime (when the file was last changed)"
    assert event.time.raw == f"DateTime={MODIFIED}"
    assert any("last changed" in note for note in event.notes)
    assert any("DateTimeOriginal is '0000:00:00 00:00:00' (zeros or blanks: not set)" in note
               for note in event.notes)


@pytest.mark.parametrize("taken", ["0000:00:00 00:00:00", "    :  :     :  :  ", ""])
def test_no_time_gives_an_undated_event_saying_why(tmp_path: Path, taken: str) -> None:
    block = exif(ifd0={Base.Make: "ExampleCam", Base.Model: "X1"},
                 exif_ifd={Base.DateTimeOriginal: taken} if taken else {}, gps=WESTMINSTER)
    data = picture(block)
    records = parse(tmp_path, "a.jpg", data)
    assert rejects(records) == [] and source_notes(records) == []   # not set is not damage
    event = undated_event(records, data)
    assert "camera ExampleCam X1" in event.notes[0] and "51.5007, -0.1246" in event.notes[0]
    assert event.details["make"] == "ExampleCam"      # what the file does hold is kept
    assert (event.location.lat, event.location.lon) == (51.5007, -0.1246)


def test_the_reason_for_no_time_is_the_first_note(tmp_path: Path) -> None:
    data = png(8, 8)
    event = undated_event(parse(tmp_path, "Screenshot.jpg", data), data)
    assert event.details["named_as"] == ".jpg" and len(event.notes) == 2


@pytest.mark.parametrize("taken", ["yesterday", "2024:13:45 25:61:00"])
def test_a_time_that_is_not_a_date_is_a_reject(tmp_path: Path, taken: str) -> None:
    block = exif(exif_ifd={Base.DateTimeOriginal: taken})
    data = picture(block)
    records = parse(tmp_path, "a.jpg", data)
    (reject,) = rejects(records)
    assert reject.locator == "file" and f"DateTimeOriginal is {taken!r}" in reject.reason
    event = undated_event(records, data)     # the picture is still on the timeline, undated
    assert f"DateTimeOriginal is {taken!r}" in event.notes[0]


@pytest.mark.parametrize("taken, doubt", [
    ("1998:01:01 00:00:00", "midnight on 1 January"),
    ("2000:01:01 00:00:00", "midnight on 1 January"),
    ("1980:06:01 12:00:00", "before 1995"),
])
def test_doubtful_camera_clock_is_kept_with_a_note(tmp_path: Path, taken: str, doubt: str) -> None:
    event = only_event(parse(tmp_path, "a.jpg", picture(exif(exif_ifd=camera(taken)))))
    assert event.details["time_doubtful"] is True
    assert any(doubt in note for note in event.notes)


def test_a_plain_time_is_not_doubtful(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, "a.jpg", picture(exif(exif_ifd=camera()))))
    assert "time_doubtful" not in event.details


# -- GPS and the camera's clock --------------------------------------------------------------------

def test_gps_position_and_accuracy(tmp_path: Path) -> None:
    block = exif(exif_ifd=camera(), gps={**WESTMINSTER, GPS.GPSHPositioningError: 4.5,
                                         GPS.GPSAltitudeRef: b"\x01", GPS.GPSAltitude: 12.5})
    event = only_event(parse(tmp_path, "a.jpg", picture(block)))
    assert (event.location.lat, event.location.lon) == (51.5007, -0.1246)
    assert event.location.accuracy_m == 4.5 and event.location.basis == "gps"
    assert event.details["gps_altitude_m"] == "-12.5"
    assert event.details["gps_latitude"] == "51 30 63/25 N"


@pytest.mark.parametrize("gps, note", [
    ({GPS.GPSLatitude: (51.0, 30.0, 0.0), GPS.GPSLongitude: (0.0, 7.0, 0.0)}, "hemisphere"),
    ({GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: (0.0, 0.0, 0.0), GPS.GPSLongitudeRef: "E",
      GPS.GPSLongitude: (0.0, 0.0, 0.0)}, "exactly 0, 0"),
    ({GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: (91.0, 0.0, 0.0), GPS.GPSLongitudeRef: "E",
      GPS.GPSLongitude: (0.0, 1.0, 0.0)}, "outside the globe"),
])
def test_unusable_positions_stay_in_details(tmp_path: Path, gps: dict, note: str) -> None:
    event = only_event(parse(tmp_path, "a.jpg", picture(exif(exif_ifd=camera(), gps=gps))))
    assert event.location is None and "gps_latitude" in event.details
    assert any(note in n for n in event.notes), event.notes


def test_clock_offset_measured_not_applied(tmp_path: Path) -> None:
    block = exif(ifd0={Base.Make: "ExampleCam", Base.Model: "X1"},
                 exif_ifd=camera(offset="+01:00"), gps=gps_fix(time=(20.0, 13.0, 0.0)))
    records = parse(tmp_path, "a.jpg", picture(block))
    event = only_event(records)
    assert event.details["clock_offset_measured_s"] == 65
    assert event.details["gps_time_utc"] == "2024-03-02T20:13:00Z"
    assert event.time.value == datetime(2024, 3, 2, 21, 14, 5, tzinfo=timezone(timedelta(hours=1)))
    (note,) = source_notes(records)
    assert note.startswith("ExampleCam X1: measured clock offset") and "+65 s" in note
    assert "clock_offset_seconds" in note and "not applied" in note


def test_wall_clock_against_gps_names_the_zone_it_fits(tmp_path: Path) -> None:
    block = exif(exif_ifd=camera(), gps=gps_fix(time=(20.0, 14.0, 3.0)))
    event = only_event(parse(tmp_path, "a.jpg", picture(block)))
    assert event.details["camera_wall_minus_gps_s"] == 3602
    assert any("consistent with a clock set to UTC+01:00 and +2 s off" in note
               for note in event.notes)


def test_camera_details(tmp_path: Path) -> None:
    block = exif(ifd0={Base.Make: "ExampleCam", Base.Model: "X1", Base.Software: "1.2.3"},
                 exif_ifd=camera(more={Base.LensModel: "back camera 4.2mm f/1.6",
                                       Base.BodySerialNumber: "SN-0001"}))
    details = only_event(parse(tmp_path, "a.jpg", picture(block))).details
    assert {k: details[k] for k in ("make", "model", "software", "lens_model", "body_serial",
                                    "format", "media_type", "exif_reader")} == {
        "make": "ExampleCam", "model": "X1", "software": "1.2.3",
        "lens_model": "back camera 4.2mm f/1.6", "body_serial": "SN-0001", "format": "JPEG",
        "media_type": "image/jpeg", "exif_reader": "exifread"}


# -- the file as an exhibit ------------------------------------------------------------------------

def test_the_file_is_the_attachment(tmp_path: Path) -> None:
    data = picture(exif(exif_ifd=camera()))
    event = only_event(parse(tmp_path, "IMG_0001.JPG", data))
    (attachment,) = event.attachments
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert (attachment.name, attachment.size, attachment.media_type) == (
        "IMG_0001.JPG", len(data), "image/jpeg")


@pytest.mark.parametrize("name, lies", [
    ("photo.png", True), ("photo.txt", True), ("photo.dat", True), ("photo.JPEG", False),
    ("photo.jpg", False), ("photo", False), (".jpg", False),
])
def test_an_extension_that_lies_is_flagged(tmp_path: Path, name: str, lies: bool) -> None:
    event = only_event(parse(tmp_path, name, picture(exif(exif_ifd=camera()))))
    assert ("named_as" in event.details) is lies
    if lies:
        assert event.details["content_is"] == "JPEG"
        assert any("its content is a JPEG image" in note for note in event.notes)


def test_a_heic_named_jpg_is_flagged(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, "IMG_0002.jpg", heic(exif(exif_ifd=camera()))))
    assert event.details["named_as"] == ".jpg" and event.details["content_is"] == "HEIF"


# -- other containers ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, name", [("PNG", "a.png"), ("WEBP", "a.webp")])
def test_png_and_webp_with_exif(tmp_path: Path, fmt: str, name: str) -> None:
    block = exif(exif_ifd=camera(offset="+00:00"), gps=gps_fix())
    event = only_event(parse(tmp_path, name, picture(block, fmt)))
    assert event.time.basis == "offset" and event.location is not None


def test_tiff_is_its_own_exif_block(tmp_path: Path) -> None:
    data = exif(ifd0={Base.Make: "ExampleCam"}, exif_ifd=camera(offset="+00:00")).tobytes()[6:]
    event = only_event(parse(tmp_path, "scan.tif", data))
    assert event.details["format"] == "TIFF" and event.time.basis == "offset"


@pytest.mark.parametrize("brand, in_idat", [(b"heic", False), (b"heix", False), (b"mif1", True)])
def test_heic_exif_item(tmp_path: Path, brand: bytes, in_idat: bool) -> None:
    block = exif(ifd0={Base.Make: "Apple"}, exif_ifd=camera(subsec="054", offset="-05:00"),
                 gps=WESTMINSTER)
    event = only_event(parse(tmp_path, "IMG_5195.HEIC", heic(block, brand, in_idat)))
    assert event.details["format"] == "HEIF" and event.details["make"] == "Apple"
    assert event.time.value == datetime(2024, 3, 2, 21, 14, 5, 54000,
                                        tzinfo=timezone(timedelta(hours=-5)))
    assert event.location is not None and brand.decode() in event.details["brands"]


def test_heic_box_whose_size_points_at_itself_does_not_hang(tmp_path: Path, hang_guard) -> None:
    """exifread 3.5.1 loops for ever on this file (a 64-bit box size of 0)."""
    data = box(b"ftyp", b"heic\0\0\0\0mif1heic") + struct.pack(">I4sQ", 1, b"free", 0) + b"\0" * 64
    with hang_guard():
        records = parse(tmp_path, "a.heic", data)
    (reject,) = rejects(records)
    assert "impossible size" in reject.reason


def test_heic_without_an_exif_item(tmp_path: Path) -> None:
    data = box(b"ftyp", b"heic\0\0\0\0mif1heic") + full_box(b"meta", 0, full_box(
        b"hdlr", 0, b"\0" * 4 + b"pict" + b"\0" * 13))
    records = parse(tmp_path, "a.heic", data)
    assert rejects(records) == [] and source_notes(records) == []
    assert "the HEIF file holds no EXIF metadata" in undated_event(records, data).notes[0]


def test_png_screenshot_without_exif(tmp_path: Path) -> None:
    data = png(8, 8)
    records = parse(tmp_path, "Screenshot_20240302-211405.png", data)
    assert rejects(records) == [] and source_notes(records) == []
    event = undated_event(records, data)
    assert "holds no EXIF metadata (screenshots usually have none)" in event.notes[0]
    assert event.details["format"] == "PNG"


def png_with(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG (``png()``) with extra chunks before its IEND."""
    base = png(2, 2)
    end = base.rindex(b"IEND") - 4
    extra = b"".join(struct.pack(">I", len(body)) + kind + body
                     + struct.pack(">I", zlib.crc32(kind + body)) for kind, body in chunks)
    return base[:end] + extra + base[end:]


def test_png_raw_exif_profile_and_creation_time(tmp_path: Path) -> None:
    block = exif(exif_ifd=camera(offset="+00:00")).tobytes()
    text = f"\nexif\n{len(block):8d}\n{block.hex()}\n".encode()
    data = png_with([(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(text)),
                     (b"tEXt", b"Creation Time\0Sat, 02 Mar 2024 21:14:05 GMT")])
    event = only_event(parse(tmp_path, "a.png", data))
    assert event.time.basis == "offset"
    assert event.details["png_creation_time"] == "Sat, 02 Mar 2024 21:14:05 GMT"


def test_png_creation_time_alone_is_not_the_event_time(tmp_path: Path) -> None:
    data = png_with([(b"tEXt", b"Creation Time\0Sat, 02 Mar 2024 21:14:05 GMT")])
    records = parse(tmp_path, "a.png", data)
    assert rejects(records) == [] and source_notes(records) == []
    event = undated_event(records, data)
    assert event.details["png_creation_time"] == "Sat, 02 Mar 2024 21:14:05 GMT"


def test_pillow_reads_what_exifread_cannot(tmp_path: Path, monkeypatch) -> None:
    import exifread

    def broken(*args, **kwargs):
        raise ValueError("a bug")
    monkeypatch.setattr(exifread, "process_file", broken)
    event = only_event(parse(tmp_path, "a.jpg", picture(exif(exif_ifd=camera(), gps=gps_fix()))))
    assert event.details["exif_reader"] == "Pillow" and event.location is not None
    assert any("exifread could not read it (ValueError: a bug)" in note for note in event.notes)


def test_pillow_reads_the_whole_file_when_no_block_was_found(tmp_path: Path, monkeypatch) -> None:
    from courseline.parsers import media
    monkeypatch.setattr(media, "_jpeg_exif", lambda data, reading: None)
    event = only_event(parse(tmp_path, "a.jpg", picture(exif(exif_ifd=camera()))))
    assert event.details["exif_reader"] == "Pillow"
    assert any("found no EXIF block" in note for note in event.notes)


def test_exif_without_any_tag_read_here_is_no_damage(tmp_path: Path) -> None:
    data = picture(exif(ifd0={Base.Orientation: 6}))
    records = parse(tmp_path, "a.jpg", data)
    assert rejects(records) == [] and source_notes(records) == []
    event = undated_event(records, data)
    assert "holds no DateTimeOriginal" in event.notes[0]
    assert not any("damaged" in note for note in event.notes)


# -- damage ----------------------------------------------------------------------------------------

def test_jpeg_cut_short_gives_the_event_and_a_reject(tmp_path: Path) -> None:
    data = picture(exif(exif_ifd=camera(), gps=gps_fix()), size=(64, 64), noise=True)
    records = parse(tmp_path, "a.jpg", data[:len(data) * 3 // 4])
    event = only_event([r for r in records if not isinstance(r, Reject)])
    assert event.location is not None
    (reject,) = rejects(records)
    assert reject.locator == "jpeg:structure" and "without its end-of-image marker" in reject.reason
    assert any("damaged" in note for note in event.notes)


def test_jpeg_cut_inside_its_exif(tmp_path: Path) -> None:
    data = picture(exif(exif_ifd=camera()))[:60]
    records = parse(tmp_path, "a.jpg", data)
    (reject,) = rejects(records)
    assert reject.locator == "jpeg:structure" and "runs past the end of the file" in reject.reason
    event = undated_event(records, data)     # the time was in the part cut off
    assert any(note.startswith("the file is damaged") for note in event.notes)


def test_garbage_after_a_jpeg_header(tmp_path: Path, hang_guard) -> None:
    data = b"\xff\xd8\xff" + random.Random(1).randbytes(5000)
    with hang_guard():
        records = parse(tmp_path, "a.jpg", data)
    undated_event(records, data)
    assert rejects(records)                  # it needs a look
    assert {reject.locator for reject in rejects(records)} == {"jpeg:structure"}


def test_data_after_the_end_of_image_is_counted_not_damage(tmp_path: Path) -> None:
    data = picture(exif(exif_ifd=camera())) + box(b"ftyp", b"isom\0\0\0\0") + b"\0" * 100
    event = only_event(parse(tmp_path, "MVIMG_0001.jpg", data))
    assert event.details["bytes_after_image"] == 116


def test_png_cut_short(tmp_path: Path) -> None:
    data = picture(exif(exif_ifd=camera()), "PNG", size=(32, 32), noise=True)
    records = parse(tmp_path, "a.png", data[:-20])
    assert len(events(records)) == 1
    (reject,) = rejects(records)
    assert reject.locator == "png:structure"


def test_zero_length_file(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.jpg", b"")
    assert parser_for(sample_file(path)) is None    # nothing claims it; the collector keeps it
    (reject,) = checked(ImageParser().parse(source_file(path)))
    assert isinstance(reject, Reject) and reject.locator == "file"


def fuzzed(data: bytes, seed: int, start: int, end: int, flips: int = 8) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        at = rng.randrange(start, min(end, len(out)))
        out[at] = rng.randrange(256)
    return bytes(out)


def _fuzz(tmp_path: Path, name: str, data: bytes, start: int, end: int, seeds: range,
          hang_guard) -> None:
    for seed in seeds:
        damaged = fuzzed(data, seed, start, end)
        path = write(tmp_path, name, damaged)
        with hang_guard():
            records = checked(ImageParser().parse(source_file(path)))
        for record in records:
            assert isinstance(record, (Event, Reject, SourceNote))
        found = events(records)
        at_file = [r for r in rejects(records) if r.locator == "file"]
        if not found:   # not read at all (its first bytes no longer an image): said once
            assert len(at_file) == 1 and len(records) == 1, (seed, records)
            continue
        (event,) = found                               # the file: one event, hashed
        assert event.attachments[0].sha256 == hashlib.sha256(damaged).hexdigest()
        if event.time.value is None:                   # undated: says why; a bad time, a reject
            undated_event(records, damaged)
            assert len(at_file) <= 1, (seed, records)
        else:
            assert at_file == [], (seed, records)
        assert all(r.locator in ("file", f"{event.details['format'].lower()}:structure")
                   for r in rejects(records)), (seed, records)
        assert not any(note.startswith("no time") for note in source_notes(records))


def rich_block() -> Image.Exif:
    return exif(ifd0={Base.Make: "ExampleCam", Base.Model: "X1", Base.DateTime: MODIFIED},
                exif_ifd=camera(subsec="123", offset="+01:00"),
                gps=gps_fix(more={GPS.GPSHPositioningError: 4.5}))


def test_fuzzed_jpeg_exif(tmp_path: Path, hang_guard) -> None:
    data = picture(rich_block())
    start = data.index(b"Exif\x00\x00")
    _fuzz(tmp_path, "a.jpg", data, start - 4, start + 400, range(300), hang_guard)


def test_fuzzed_heic_and_png_and_webp(tmp_path: Path, hang_guard) -> None:
    block = rich_block()
    for name, data in (("a.heic", heic(block)), ("b.heic", heic(block, in_idat=True)),
                       ("a.png", picture(block, "PNG")), ("a.webp", picture(block, "WEBP")),
                       ("a.tif", block.tobytes()[6:])):
        _fuzz(tmp_path, name, data, 12, len(data), range(100), hang_guard)


def test_the_same_file_gives_the_same_records(tmp_path: Path) -> None:
    data = picture(rich_block())
    first = parse(tmp_path, "a.jpg", data)
    assert parse(tmp_path, "a.jpg", data) == first


# -- real files and the pipeline -------------------------------------------------------------------

def test_real_jpeg_without_a_time() -> None:
    path = (REALWORLD / "google_takeout/voice/wjcarpenter/Voice/Calls"
            / "Alan A Milne - Text - 2023-09-29T23_40_59Z-1-1.jpg")
    if not path.exists():
        pytest.skip("../shared/realworld is not beside the project")
    records = parsed(ImageParser, source_file(path))
    assert rejects(records) == [] and source_notes(records) == []
    event = undated_event(records, path.read_bytes())
    assert "software Shotwell 0.30.14" in event.notes[0]


def test_photos_through_the_pipeline(tmp_path: Path) -> None:
    case = tmp_path / "case"
    camera_roll = case / "exports" / "DCIM"
    camera_roll.mkdir(parents=True)
    (case / "case.toml").write_text(
        '[case]\nreference = "PHOTO-1"\n'
        '[[person]]\nkey = "victim"\nrole = "victim"\nidentifiers = ["tel:07700 900001"]\n'
        '[[source]]\npath = "exports"\nowner = "victim"\ntimezone = "Europe/London"\n',
        encoding="utf-8")
    write(camera_roll, "IMG_0001.jpg", picture(exif(exif_ifd=camera(offset="+00:00"),
                                                    gps=gps_fix())))
    write(camera_roll, "IMG_0002.jpg", picture(exif(exif_ifd=camera("2024:07:01 12:00:00"))))
    write(camera_roll, "Screenshot.png", png(4, 4))
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output   # a screenshot without a time needs no look
    rows = read_jsonl(case / "out" / "timeline.jsonl")
    assert [row["occurred_utc"] for row in rows] == ["2024-03-02T21:14:05Z",
                                                     "2024-07-01T11:00:00Z", None]
    first, summer, screenshot = rows                # the undated one after every dated one
    assert screenshot["attachments"][0]["name"] == "Screenshot.png"
    assert (screenshot["precision"], screenshot["time_basis"]) == (None, None)
    assert screenshot["time_flags"] == ["undated"]
    assert screenshot["notes"][0].startswith(NO_TIME)
    assert first["location"]["basis"] == "gps" and first["attachments"][0]["name"] == "IMG_0001.jpg"
    assert first["details"]["clock_offset_measured_s"] == 3602
    assert summer["time_zone"] == "Europe/London" and summer["time_basis"] == "local"
