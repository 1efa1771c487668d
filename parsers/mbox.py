"""mbox mailboxes, including Google Takeout's Gmail export: messages concatenated, each after a
``From `` (From_) separator line.

Format (formats.md §1.2; RFC 4155 describes the family): a message starts at a line
``From <envelope-sender> <asctime date>`` at the start of the file or after a blank line. Handled:
the classic asctime date (``From a@example.org Mon Jan  1 12:00:00 2024``, single-digit days padded
with a second space, double spaces before the date as in Mailpile's ``tests.mbx``), a zone before
or after the year (Gmail/Takeout writes ``From 1234@xxx Tue Mar 05 10:00:00 +0000 2024``), CRLF or
LF line ends, an empty envelope sender. Body lines are unescaped as mboxrd (one ``>`` removed from
``>From ``, ``>>From `` …); mboxo files, which escape only ``From ``, read the same except that a
body line that really began with ``>From `` loses a ``>`` (mboxo is lossy either way). mboxcl
``Content-Length`` headers are not used: messages are split on From_ lines only. Gmail's
``X-Gmail-Labels`` and ``X-GM-THRID`` are read by the shared message reader (:mod:`._mail`).

Times: the From_ line date is the delivery/storage time, usually without a zone and possibly
different from the Date header (formats.md §1.2, Mailpile ``tests.mbx``). It is used only when
the message has no usable Date header: with a numeric zone as an ``offset`` time; with the zone
word UTC/GMT/UT as ``utc``; otherwise as a wall-clock time (basis ``assumed``); always noted.

Streaming: the file is read in lines of at most 1 MiB, one message is held at a time, and a
message over 128 MiB is skipped up to the next separator and rejected, so memory stays bounded
for a mailbox of any size. Bytes before the first From_ line that are not blank are rejected with
their reason. Locators are ``mbox:byte=<offset of the From_ line>``.

Checked against: synthetic mailboxes built by the tests (no real mbox is in ``realworld/``; the
research notes list Mailpile ``tests.mbx`` and neomutt's ``banana/cherry/apple.mbox`` as the
reference samples, not copied). Not checked on a real Google Takeout mbox: the Takeout From_ line
form and label names follow formats.md §1.2 and importers' code, not a real file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Iterator

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._mail import read_message
from courseline.timeline.event import Event, RawTime, Reject

MAX_MESSAGE_BYTES = 128 * 1024 * 1024
MAX_LINE_PIECE = 1024 * 1024     # longer lines are read in pieces
SOURCE_FROM_LINE = "mbox From_ line (no usable Date header)"
FALLBACK_NOTE = ("the message has no usable Date header; the time is the date on its mbox From_ "
                 "line (when the mailbox received or stored it)")

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
FROM_LINE = re.compile(
    rb"From (?P<sender>[^ \t\r\n]*)[ \t]+"
    rb"(?P<date>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[ \t]+"
    rb"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[ \t]+(?P<day>\d{1,2})[ \t]+"
    rb"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    rb"(?:[ \t]+(?P<zone1>[+-]\d{4}|[A-Za-z]{1,5}))?[ \t]+(?P<year>\d{4})"
    rb"(?:[ \t]+(?P<zone2>[+-]\d{4}|[A-Za-z]{1,5}))?)[ \t]*\r?\n?\Z",
    re.IGNORECASE)
_ESCAPED_FROM = re.compile(rb">+From ")
_HEADER_LINE = re.compile(rb"[!-9;-~]{1,76}[ \t]*:")
_UTC_WORDS = {"UT", "UTC", "GMT", "Z"}


def is_from_line(line: bytes) -> re.Match[bytes] | None:
    if not line.startswith(b"From ") or len(line) > 1_024:
        return None
    return FROM_LINE.match(line)


def from_line_time(match: re.Match[bytes]) -> tuple[RawTime | None, str | None]:
    """The From_ line date as a fallback time, and a note on how its zone was read."""
    raw = match.group("date").decode("ascii", "replace")
    zone = (match.group("zone1") or match.group("zone2") or b"").decode("ascii", "replace")
    tzinfo: timezone | None = None
    basis, note = "assumed", None
    if re.fullmatch(r"[+-]\d{4}", zone):
        hours, minutes = int(zone[1:3]), int(zone[3:5])
        if hours < 24 and minutes < 60:
            delta = timedelta(hours=hours, minutes=minutes)
            tzinfo, basis = timezone(-delta if zone[0] == "-" else delta), "offset"
        else:
            note = f"the From_ line has an impossible offset {zone!r}; its time was read as " \
                   "wall-clock time in the case time zone"
    elif zone.upper() in _UTC_WORDS:
        tzinfo, basis = timezone.utc, "utc"
    elif zone:
        note = (f"the From_ line names the zone {zone!r}, which is not a numeric offset; its "
                "time was read as wall-clock time in the case time zone")
    else:
        note = ("the From_ line has no time zone; its time was read as wall-clock time in the "
                "case time zone")
    second = match.group("second")
    try:
        value = datetime(int(match.group("year")),
                         _MONTHS.index(match.group("month").decode("ascii").lower()) + 1,
                         int(match.group("day")), int(match.group("hour")),
                         int(match.group("minute")), int(second) if second else 0,
                         tzinfo=tzinfo)
    except ValueError:
        return None, None
    time = RawTime(raw=raw, value=value, basis=basis, precision="s" if second else "min",
                   source=SOURCE_FROM_LINE, device_clock=False)
    return time, note


@dataclass
class _Pending:
    """The message being collected: where it starts, its From_ line, its bytes so far."""

    offset: int
    from_line: bytes
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    oversized: bool = False
    unescaped: int = 0

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.oversized:
            return
        if self.size > MAX_MESSAGE_BYTES:
            self.oversized = True
            self.chunks = []  # memory stays bounded: the rest is counted, not kept
            return
        self.chunks.append(piece)


def _pieces(handle: BinaryIO) -> Iterator[tuple[int, bytes, bool]]:
    """(offset, piece, starts a line) for the whole file; a line longer than MAX_LINE_PIECE
    comes in several pieces, so no single read is unbounded."""
    offset = 0
    at_line_start = True
    while True:
        piece = handle.readline(MAX_LINE_PIECE)
        if not piece:
            return
        yield offset, piece, at_line_start
        offset += len(piece)
        at_line_start = piece.endswith(b"\n")


def _is_blank(piece: bytes) -> bool:
    return piece in (b"\n", b"\r\n")


class MboxParser(Parser):
    NAME = "mbox"
    DATA_FORMAT = "mbox mailbox (mboxrd/mboxo, Google Takeout Gmail)"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if sample.media_type == "application/mbox":
            return True
        lines = sample.head.split(b"\n", 2)
        return (len(lines) >= 2 and is_from_line(lines[0] + b"\n") is not None
                and _HEADER_LINE.match(lines[1]) is not None)

    def parse(self, source: SourceFile) -> Iterator[Event | Reject]:
        try:
            handle = source.path.open("rb")
        except OSError as error:
            yield Reject("mbox:byte=0", f"could not be read: {type(error).__name__}: {error}")
            return
        with handle:
            yield from self._messages(handle)

    def _messages(self, handle: BinaryIO) -> Iterator[Event | Reject]:
        pending: _Pending | None = None
        leading_bytes = 0
        leading_text = False     # non-blank bytes before the first From_ line
        previous_blank = True    # the start of the file counts as after a blank line
        try:
            for offset, piece, line_start in _pieces(handle):
                match = is_from_line(piece) if line_start and previous_blank else None
                if match is not None:
                    if pending is not None:
                        yield self.finish_message(pending)
                    elif leading_text:
                        yield self._leading_reject(leading_bytes)
                    pending = _Pending(offset, piece)
                    previous_blank = False
                    continue
                previous_blank = line_start and _is_blank(piece)
                if pending is None:
                    leading_bytes += len(piece)
                    leading_text = leading_text or bool(piece.strip())
                    continue
                if line_start and _ESCAPED_FROM.match(piece):
                    piece = piece[1:]   # mboxrd: one ">" was added when the message was stored
                    pending.unescaped += 1
                pending.add(piece)
        except OSError as error:
            where = pending.offset if pending is not None else 0
            yield Reject(f"mbox:byte={where}", f"could not be read: {type(error).__name__}: "
                                               f"{error}")
            return
        if pending is not None:
            yield self.finish_message(pending)
        elif leading_text:
            yield self._leading_reject(leading_bytes)

    @staticmethod
    def _leading_reject(size: int) -> Reject:
        return Reject("mbox:byte=0",
                      f"the file does not start with a From_ line: the first {size:,} bytes "
                      "are before any message separator and were not read as a message")

    def finish_message(self, pending: _Pending) -> Event | Reject:
        """One message read whole: its event (a subclass adds what its store says of it)."""
        locator = f"mbox:byte={pending.offset}"
        if pending.oversized:
            return Reject(locator, f"the message is {pending.size:,} bytes, over the "
                                   f"{MAX_MESSAGE_BYTES // (1024 * 1024)} MiB limit for one "
                                   "message: skipped, not read")
        chunks = pending.chunks
        if chunks and _is_blank(chunks[-1]):
            chunks.pop()   # the blank line before the next From_ line belongs to the mbox
        notes = []
        if pending.unescaped:
            notes.append(f"{pending.unescaped} line(s) starting '>From ' were unescaped "
                         "(mboxrd: one '>' removed)")
        match = is_from_line(pending.from_line)
        fallback, zone_note = from_line_time(match) if match else (None, None)
        fallback_note = FALLBACK_NOTE + (f"; {zone_note}" if zone_note else "")
        from_line = pending.from_line.rstrip(b"\r\n").decode("utf-8", "replace")
        return read_message(b"".join(chunks), locator, fallback_time=fallback,
                            fallback_note=fallback_note, notes=notes,
                            extra_details={"mbox_from_line": from_line})
