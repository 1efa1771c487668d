"""Videos and voice recordings (parsers/video.py): MP4, QuickTime and 3GP files built box by box
(ISO/IEC 14496-12 and Apple's metadata atoms), damaged and fuzzed (fixed seeds).

Synthetic only: made-up devices, positions near Westminster.
"""

from __future__ import annotations

import hashlib
import random
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import parser_for
from courseline.parsers.media import ImageParser
from courseline.parsers.video import MovieParser
from courseline.timeline.event import Event, Reject
from tests_support import (checked, events, only_event, parsed, read_jsonl, rejects, run_cli,
                           source_file, source_notes)

MAC_EPOCH = datetime(1904, 1, 1, tzinfo=UTC)
RECORDED = datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, body: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + body)


def mac_seconds(moment: datetime) -> int:
    return int((moment - MAC_EPOCH).total_seconds())


def mvhd(created: datetime | None = RECORDED, version: int = 0, timescale: int = 600,
         duration: int = 7_500) -> bytes:
    seconds = mac_seconds(created) if created else 0
    wide = ">QQIQ" if version == 1 else ">IIII"
    return full_box(b"mvhd", version, struct.pack(wide, seconds, seconds + 8, timescale, duration)
                    + b"\0" * 80)


def xyz(position: str) -> bytes:
    text = position.encode()
    return box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(text), 0x15C7) + text))


def apple_meta(values: dict[str, str]) -> bytes:
    """QuickTime ``meta`` (no version and flags) with ``hdlr`` mdta, ``keys`` and ``ilst``."""
    hdlr = full_box(b"hdlr", 0, b"\0" * 4 + b"mdta" + b"\0" * 13)
    keys = full_box(b"keys", 0, struct.pack(">I", len(values)) + b"".join(
        struct.pack(">I", 8 + len(key)) + b"mdta" + key.encode() for key in values))
    ilst = box(b"ilst", b"".join(
        box(struct.pack(">I", index), box(b"data", struct.pack(">II", 1, 0) + value.encode()))
        for index, value in enumerate(values.values(), start=1)))
    return box(b"meta", hdlr + keys + ilst)


def movie(brand: bytes = b"isom", moov: bytes | None = None, media: bytes = b"\0" * 64) -> bytes:
    ftyp = box(b"ftyp", brand + b"\0\0\x02\0" + brand + b"mp41")
    moov = box(b"moov", mvhd()) if moov is None else moov
    return ftyp + box(b"mdat", media) + moov      # a phone writes the movie header last


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def parse(tmp_path: Path, name: str, data: bytes) -> list:
    return parsed(MovieParser, source_file(write(tmp_path, name, data)))


def undated_event(records: list, data: bytes) -> Event:
    """The one event of a movie that holds no time: an undated ``media`` event, the file hashed
    on it, saying first why it has no time."""
    (event,) = events(records)
    assert (event.kind, event.platform, event.locator) == ("media", "device", "file")
    assert event.time.value is None and event.time.raw == ""
    assert event.notes and event.notes[0].startswith("no time: "), event.notes
    assert "File-system times are not evidence" in event.notes[0]
    (attachment,) = event.attachments
    assert attachment.sha256 == hashlib.sha256(data).hexdigest() and attachment.size == len(data)
    return event


# -- recognising -----------------------------------------------------------------------------------

@pytest.mark.parametrize("brand", [b"isom", b"mp42", b"qt  ", b"3gp4", b"M4A "])
def test_recognises_movies_by_content(tmp_path: Path, brand: bytes) -> None:
    path = write(tmp_path, "no-extension", movie(brand))
    assert parser_for(sample_file(path)) is MovieParser


def test_heic_is_an_image_not_a_movie(tmp_path: Path) -> None:
    path = write(tmp_path, "a.heic", box(b"ftyp", b"heic\0\0\0\0mif1heic") + box(b"mdat", b""))
    assert not MovieParser.recognises(sample_file(path))
    assert ImageParser.recognises(sample_file(path))


def test_does_not_claim_other_files(tmp_path: Path) -> None:
    for data in (b"", b"\0\0\0\x18ftypabcd", b"not a movie at all"):
        assert not MovieParser.recognises(sample_file(write(tmp_path, "x.mp4", data)))


# -- what is read ----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [0, 1])
def test_movie_header_creation_time(tmp_path: Path, version: int) -> None:
    data = movie(moov=box(b"moov", mvhd(version=version)))
    event = only_event(parse(tmp_path, "VID_20240302_211405.mp4", data))
    assert event.kind == "media" and event.platform == "device" and event.locator == "file"
    assert event.time.value == RECORDED and event.time.basis == "utc"
    assert event.time.source == "mvhd creation_time (seconds since 1904, UTC)"
    assert event.time.raw == str(mac_seconds(RECORDED))
    assert event.duration_s == 12 and event.details["duration"] == "7500/600 s"
    assert event.details["mvhd_modification_utc"] == "2024-03-02T21:14:13Z"
    assert any("some cameras write their local time" in note for note in event.notes)
    (attachment,) = event.attachments
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()


def test_android_position(tmp_path: Path) -> None:
    data = movie(moov=box(b"moov", mvhd() + xyz("+51.5007-000.1246/")))
    event = only_event(parse(tmp_path, "a.mp4", data))
    assert (event.location.lat, event.location.lon) == (51.5007, -0.1246)
    assert event.location.basis == "device (ISO 6709)"
    assert event.details["xyz"] == "+51.5007-000.1246/"


def test_a_position_in_another_form_is_kept_verbatim(tmp_path: Path) -> None:
    data = movie(moov=box(b"moov", mvhd() + xyz("+5130.04-00007.48/")))
    event = only_event(parse(tmp_path, "a.mp4", data))
    assert event.location is None and event.details["xyz"] == "+5130.04-00007.48/"
    assert any("not in the decimal-degree" in note for note in event.notes)


def test_apple_creation_date_and_location(tmp_path: Path) -> None:
    meta = apple_meta({"com.apple.quicktime.make": "Apple",
                       "com.apple.quicktime.model": "iPhone 12",
                       "com.apple.quicktime.location.ISO6709": "+51.5007-000.1246+012.345/",
                       "com.apple.quicktime.creationdate": "2024-03-02T21:14:02+0000"})
    event = only_event(parse(tmp_path, "IMG_0001.MOV", movie(b"qt  ", box(b"moov", mvhd() + meta))))
    assert event.time.basis == "offset"
    assert event.time.value == datetime(2024, 3, 2, 21, 14, 2, tzinfo=UTC)
    assert event.time.source == "QuickTime com.apple.quicktime.creationdate"
    assert event.details["mvhd_creation_utc"] == "2024-03-02T21:14:05Z"
    assert (event.details["make"], event.details["model"]) == ("Apple", "iPhone 12")
    assert event.location is not None and event.details["altitude_m"] == "+012.345"
    assert event.details["format"] == "QuickTime"


def test_an_extension_that_lies_is_flagged(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, "holiday.jpg", movie()))
    assert event.details["named_as"] == ".jpg" and event.details["content_is"] == "MP4"
    assert "named_as" not in only_event(parse(tmp_path, "clip.MOV", movie())).details


# -- no time, damage -------------------------------------------------------------------------------

def test_a_recording_cut_off_before_its_movie_header(tmp_path: Path) -> None:
    data = box(b"ftyp", b"isom\0\0\x02\0isommp41") + box(b"mdat", b"\0" * 64)
    records = parse(tmp_path, "a.mp4", data)
    (reject,) = rejects(records)
    assert reject.locator == "movie:structure" and "no movie header" in reject.reason
    event = undated_event(records, data)     # the cut recording is an exhibit all the same
    assert "no movie header" in event.notes[0]
    assert any(note.startswith("the file is damaged") for note in event.notes)


def test_creation_time_not_set_gives_an_undated_event(tmp_path: Path) -> None:
    data = movie(moov=box(b"moov", mvhd(None) + xyz("+51.5007-000.1246/")))
    records = parse(tmp_path, "a.mp4", data)
    assert rejects(records) == [] and source_notes(records) == []   # not set is not damage
    event = undated_event(records, data)
    assert event.notes[0].startswith("no time: the movie header's creation time is not set (0) "
                                     "and there is no Apple creation date")
    assert event.duration_s == 12 and event.location is not None   # what it does hold is kept


@pytest.mark.parametrize("moov, said", [
    (box(b"moov", mvhd(None) + apple_meta({"com.apple.quicktime.creationdate": "yesterday"})),
     "com.apple.quicktime.creationdate 'yesterday' is not a date"),
    (box(b"moov", xyz("+51.5007-000.1246/")), "the movie box has no readable 'mvhd' header"),
])
def test_a_time_that_cannot_be_read_is_a_reject(tmp_path: Path, moov: bytes, said: str) -> None:
    data = movie(moov=moov)
    records = parse(tmp_path, "a.mp4", data)
    (reject,) = rejects(records)
    assert reject.locator == "file" and said in reject.reason
    undated_event(records, data)


def test_movie_box_cut_short(tmp_path: Path) -> None:
    data = movie(moov=box(b"moov", mvhd() + xyz("+51.5007-000.1246/")))
    records = parse(tmp_path, "a.mp4", data[:-10])
    assert len(events(records)) == 1
    (reject,) = rejects(records)
    assert reject.locator == "movie:structure" and "cut short" in reject.reason


def test_box_whose_size_points_at_itself(tmp_path: Path, hang_guard) -> None:
    data = box(b"ftyp", b"isom\0\0\x02\0isom") + struct.pack(">I4sQ", 1, b"free", 0) + b"\0" * 32
    with hang_guard():
        records = parse(tmp_path, "a.mp4", data)
    (reject,) = rejects(records)
    assert reject.locator == "movie:structure" and "impossible size" in reject.reason
    undated_event(records, data)


def test_fuzzed_movies(tmp_path: Path, hang_guard) -> None:
    meta = apple_meta({"com.apple.quicktime.creationdate": "2024-03-02T21:14:02+0100",
                       "com.apple.quicktime.location.ISO6709": "+51.5007-000.1246/"})
    base = movie(b"qt  ", box(b"moov", mvhd() + meta + xyz("+51.5007-000.1246/")))
    for seed in range(300):
        rng = random.Random(seed)
        data = bytearray(base)
        for _ in range(rng.choice((1, 4, 16))):
            data[rng.randrange(12, len(data))] = rng.randrange(256)
        path = write(tmp_path, "a.mov", bytes(data))
        with hang_guard():
            records = checked(MovieParser().parse(source_file(path)))
        assert all(isinstance(r, (Event, Reject)) for r in records), (seed, records)
        (event,) = events(records)                     # the file: one event, hashed
        assert event.attachments[0].sha256 == hashlib.sha256(data).hexdigest()
        at_file = [r for r in rejects(records) if r.locator == "file"]
        if event.time.value is None:                   # undated: says why; a bad time, a reject
            undated_event(records, bytes(data))
            assert len(at_file) <= 1, (seed, records)
        else:
            assert at_file == [], (seed, records)
        assert all(r.locator in ("file", "movie:structure") for r in rejects(records))


def test_a_video_through_the_pipeline(tmp_path: Path) -> None:
    case = tmp_path / "case"
    (case / "exports").mkdir(parents=True)
    (case / "case.toml").write_text(
        '[case]\nreference = "VIDEO-1"\n'
        '[[person]]\nkey = "victim"\nrole = "victim"\nidentifiers = ["tel:07700 900001"]\n'
        '[[source]]\npath = "exports"\nowner = "victim"\n', encoding="utf-8")
    write(case / "exports", "VID_0001.mp4", movie(moov=box(b"moov", mvhd() + xyz(
        "+51.5007-000.1246/"))))
    write(case / "exports", "VID_0002.mp4", movie(moov=box(b"moov", mvhd(None))))
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output    # a creation time not set needs no look
    row, undated = read_jsonl(case / "out" / "timeline.jsonl")
    assert row["occurred_utc"] == "2024-03-02T21:14:05Z" and row["duration_s"] == 12
    assert row["location"]["lat"] == 51.5007
    assert row["time_basis"] == "utc"
    assert undated["attachments"][0]["name"] == "VID_0002.mp4"     # after every dated row
    assert (undated["occurred_utc"], undated["precision"], undated["time_basis"]) == (
        None, None, None)
    assert undated["time_flags"] == ["undated"] and undated["notes"][0].startswith("no time: ")
