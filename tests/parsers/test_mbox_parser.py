"""MboxParser: splitting on From_ lines, locators, mboxrd unescaping, the From_ line fallback
time, Gmail Takeout, bounded memory and streaming."""

from __future__ import annotations

import io
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

import pytest

from courseline.collectors.identify import Sample
from courseline.parsers import mbox as mbox_module
from courseline.parsers._mail import SOURCE_DATE
from courseline.parsers.eml import EmlParser
from courseline.parsers.mbox import SOURCE_FROM_LINE, MboxParser
from courseline.timeline.event import Event, Reject


def entries(kit: ModuleType, count: int, **kwargs: object) -> list[bytes]:
    return [kit.mbox_entry(kit.as_bytes(kit.message(subject=f"message {n}", **kwargs)))
            for n in range(count)]


def test_messages_are_split_and_locators_point_at_from_lines(kit: ModuleType,
                                                             tmp_path: Path) -> None:
    data = b"".join(entries(kit, 3))
    records = kit.parse_mbox(tmp_path, data)
    assert [r.subject for r in records] == ["message 0", "message 1", "message 2"]
    offsets = [int(r.locator.removeprefix("mbox:byte=")) for r in records]
    assert offsets[0] == 0 and offsets == sorted(offsets)
    for offset in offsets:
        assert data[offset:offset + 5] == b"From "
        assert offset == 0 or data[offset - 2:offset] == b"\n\n"


def test_mboxrd_quoting_is_undone(kit: ModuleType, tmp_path: Path) -> None:
    text = "I wrote this:\nFrom now on I will watch you.\n>From the quoted mail\nend\n"
    data = kit.mbox_entry(kit.as_bytes(kit.message(text=text)))
    assert b"\n>From now on" in data and b"\n>>From the quoted" in data
    event = kit.one_event(kit.parse_mbox(tmp_path, data))
    assert event.text == text
    assert any("unescaped" in note for note in event.notes)


def test_date_header_wins_over_the_from_line(kit: ModuleType, tmp_path: Path) -> None:
    event = kit.one_event(kit.parse_mbox(tmp_path, b"".join(entries(kit, 1))))
    assert event.time.source == SOURCE_DATE
    assert event.details["mbox_from_line"].startswith("From x.suspect@example.net ")


def test_missing_date_falls_back_to_the_from_line_as_assumed(kit: ModuleType,
                                                             tmp_path: Path) -> None:
    raw = kit.as_bytes(kit.message(date=None))
    data = kit.mbox_entry(raw, b"From x.suspect@example.net Sat Mar  2 21:14:05 2024")
    event = kit.one_event(kit.parse_mbox(tmp_path, data))
    assert event.time.source == SOURCE_FROM_LINE
    assert event.time.raw == "Sat Mar  2 21:14:05 2024"
    assert event.time.value == datetime(2024, 3, 2, 21, 14, 5)
    assert event.time.basis == "assumed" and event.time.precision == "s"
    assert any("From_ line" in note and "case time zone" in note for note in event.notes)


def test_gmail_takeout_from_line_and_labels(kit: ModuleType, tmp_path: Path) -> None:
    raw = kit.as_bytes(kit.message(date=None, extra={
        "X-GM-THRID": "1792345678901234567", "X-Gmail-Labels": "Sent,Opened,\"Family, close\""}))
    data = kit.mbox_entry(raw, b"From 1792345678901234567@xxx Tue Mar 05 10:00:00 +0100 2024")
    event = kit.one_event(kit.parse_mbox(tmp_path, data))
    assert event.time.basis == "offset"
    assert event.time.value == datetime(2024, 3, 5, 10, tzinfo=timezone(timedelta(hours=1)))
    assert event.flags == ["sent"] and event.direction == "outgoing"
    assert event.details["gmail_labels"] == ["Sent", "Opened", "Family, close"]
    assert event.details["gmail_thread_id"] == "1792345678901234567"


def test_crlf_mailbox(kit: ModuleType, tmp_path: Path) -> None:
    data = b"".join(entries(kit, 2)).replace(b"\n", b"\r\n")
    records = kit.parse_mbox(tmp_path, data)
    assert [r.subject for r in records] == ["message 0", "message 1"]
    assert records[0].text == "Call me on 07700 900123.\n"


def test_from_line_inside_a_paragraph_is_not_a_separator(kit: ModuleType,
                                                         tmp_path: Path) -> None:
    # mboxo-style: an unquoted "From " line, but not after a blank line.
    raw = (b"From: a@example.org\nDate: Sat, 02 Mar 2024 21:14:05 +0000\n\nfirst line\n"
           b"From a@example.org Mon Jan  1 12:00:00 2024\nlast line\n")
    data = b"From a@example.org Sat Mar  2 21:14:05 2024\n" + raw + b"\n"
    event = kit.one_event(kit.parse_mbox(tmp_path, data))
    assert "last line" in (event.text or "")


def test_leading_bytes_before_the_first_from_line_are_rejected(kit: ModuleType,
                                                               tmp_path: Path) -> None:
    data = b"this is not a message\n\n" + b"".join(entries(kit, 1))
    records = kit.parse_mbox(tmp_path, data)
    assert isinstance(records[0], Reject) and records[0].locator == "mbox:byte=0"
    assert "does not start with a From_ line" in records[0].reason
    assert isinstance(records[1], Event) and records[1].locator == "mbox:byte=23"


def test_leading_blank_lines_are_not_a_record(kit: ModuleType, tmp_path: Path) -> None:
    records = kit.parse_mbox(tmp_path, b"\n\n" + b"".join(entries(kit, 1)))
    assert len(records) == 1 and isinstance(records[0], Event)
    assert records[0].locator == "mbox:byte=2"


def test_empty_file_has_no_records(kit: ModuleType, tmp_path: Path) -> None:
    assert kit.parse_mbox(tmp_path, b"") == []


def test_oversized_message_is_skipped_with_bounded_memory(kit: ModuleType, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(mbox_module, "MAX_MESSAGE_BYTES", 1024 * 1024)
    huge = kit.mbox_entry(kit.as_bytes(kit.message(text="0123456789abcde\n" * 500_000)))
    data = entries(kit, 1)[0] + huge + entries(kit, 1)[0]
    source = kit.source_for(tmp_path, "big.mbox", data)
    tracemalloc.start()
    try:
        records = list(MboxParser().parse(source))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(r) for r in records] == [Event, Reject, Event]
    assert "over the 1 MiB limit" in records[1].reason
    assert peak < 4 * 1024 * 1024, peak   # the 8 MB message was never held whole


class CountingReader(io.RawIOBase):
    """A file that counts how much of it has been read."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._inner.read(min(len(buffer), 64 * 1024))
        buffer[:len(chunk)] = chunk
        self.consumed += len(chunk)
        return len(chunk)


def test_large_mailbox_is_streamed(kit: ModuleType, tmp_path: Path, hang_guard) -> None:
    template = entries(kit, 1)[0]
    count = 2_000
    data = b"".join(template.replace(b"message 0", f"message {n}".encode())
                    for n in range(count))
    reader = CountingReader(data)
    handle: BinaryIO = io.BufferedReader(reader)  # type: ignore[assignment]
    records = MboxParser()._messages(handle)
    first = next(records)
    assert isinstance(first, Event) and first.subject == "message 0"
    assert reader.consumed < len(data) // 10   # the first message came before the file was read
    with hang_guard():
        rest = list(records)
    assert len(rest) == count - 1 and all(isinstance(r, Event) for r in rest)
    assert rest[-1].subject == f"message {count - 1}"
    offsets = [int(r.locator.removeprefix("mbox:byte=")) for r in [first, *rest]]
    assert all(data[offset:offset + 5] == b"From " for offset in offsets)
    assert len(set(offsets)) == count


@pytest.mark.parametrize("head, media_type, expected", [
    (b"From a@example.org Mon Jan  1 12:00:00 2024\nFrom: a@example.org\n", "text/plain", True),
    (b"From 1234@xxx Tue Mar 05 10:00:00 +0000 2024\r\nX-GM-THRID: 1\r\n", "text/plain", True),
    (b"From MAILER-DAEMON  Fri Jul  8 12:08:34 2011\nReturn-Path: <>\n", "text/plain", True),
    (b"anything", "application/mbox", True),
    (b"From here on, I will write every day.\nToday: rain\n", "text/plain", False),
    (b"Subject: x\nFrom: a@example.org\n\nbody", "text/plain", False),
    (b"random words\nand more\n", "text/plain", False),
])
def test_recognises(head: bytes, media_type: str, expected: bool) -> None:
    sample = Sample(media_type=media_type, head=head, name="x", size=len(head))
    assert MboxParser.recognises(sample) is expected
    if expected and media_type != "application/mbox":
        assert not EmlParser.recognises(sample)
