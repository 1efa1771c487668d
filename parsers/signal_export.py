"""Signal chats as the signal-export tool writes them as text: ``[2019-12-24, 12:23] Jane Doe:
Hello`` (one header line per message, the lines after it continuing it).

How it is made: Signal Desktop has no export of its own; the open-source ``signal-export`` tool
(and tools like it) reads Signal Desktop's database on the computer and writes each chat as text
or Markdown. Research formats.md lists no Signal format; this layout is the one
joweich/chat-miner's Signal parser reads, as in its test export.

What is read: one ``message`` event (platform ``signal``) per header line and its continuation
lines; the author as ``name:<author>``; the other authors of the chat as recipients; the time as
written, year first, to the minute or second, without a zone (the exporting computer's clock:
basis ``local``, read in the source's zone). A line before the first header is a reject naming the
line.

Not read: attachments, reactions, quotes (the text layout does not carry them); Signal's own
database (encrypted with a key in the operating system's key store).

Told apart from WhatsApp by its header: a year-first date with dashes and a comma in brackets,
minutes without seconds (``[2019-12-24, 12:23]``); WhatsApp on an iPhone always writes seconds,
and on Android writes the phone's numeric date order. Checked on real data:
``realworld/signal/chatminer_signal_export.txt`` (joweich/chat-miner): 2 messages, one of two
lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.timeline.event import MAX_TEXT_CHARS, Event, RawTime, Reject, bounded

HEADER = re.compile(r"^\[(?P<date>\d{4}-\d{2}-\d{2}), (?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\]"
                    r" (?P<author>[^:\n]{1,100}?): ?(?P<text>.*)$")
MAX_AUTHORS_NAMED = 256


class SignalExportParser(Parser):
    NAME = "signal-export-txt"
    DATA_FORMAT = "Signal chat as text (signal-export)"
    VERSION = "1"
    PRIORITY = 1   # over WhatsApp's reading of bracketed lines

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        text = sample.head.decode("utf-8", "replace").lstrip("\ufeff")
        first = next((line for line in text.splitlines() if line.strip()), "")
        match = HEADER.match(first)
        return match is not None and match.group("s") is None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject]:
        authors = _authors(source.path)
        for message in _records(source.path):
            if message.header is None:
                yield Reject(f"line:{message.line}", "text before the first dated line: not "
                                                     "part of any message")
                continue
            yield _event(message, authors)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for number, line in enumerate(handle, 1):
            yield number, line.rstrip("\r\n").lstrip("\ufeff")


def _authors(path: Path) -> list[str]:
    found: set[str] = set()
    for _, line in _lines(path):
        match = HEADER.match(line)
        if match and len(found) < MAX_AUTHORS_NAMED:
            found.add(match.group("author").strip())
    return sorted(found)


@dataclass
class _Message:
    line: int
    header: re.Match | None       # None: text before the first dated line
    more: list[str] = field(default_factory=list)   # the lines that continue it
    cut: bool = False             # lines beyond a message's bound were left out


def _records(path: Path) -> Iterator[_Message]:
    current: _Message | None = None
    size = 0
    for number, line in _lines(path):
        match = HEADER.match(line)
        if match:
            if current:
                yield current
            current, size = _Message(number, match), len(line)
        elif current is None:
            if line.strip():
                yield _Message(number, None)
        elif size < MAX_TEXT_CHARS:
            current.more.append(line)
            size += len(line) + 1
        else:
            current.cut = True
    if current:
        yield current


def _event(message: _Message, authors: list[str]) -> Event | Reject:
    header, more = message.header, message.more
    locator = f"line:{message.line}"
    seconds = header.group("s")
    raw = f"{header.group('date')}, {header.group('h')}:{header.group('m')}" + (
        f":{seconds}" if seconds else "")
    try:
        moment = datetime.fromisoformat(f"{header.group('date')}T{header.group('h')}:"
                                        f"{header.group('m')}:{seconds or '00'}")
    except ValueError as error:
        return Reject(locator, f"not a date and time ({error}): {raw!r}")
    author = header.group("author").strip()
    # Blank lines end a signal-export message; they are not part of its text.
    text, cut = bounded("\n".join([header.group("text"), *more]).rstrip("\n"), MAX_TEXT_CHARS)
    cut = cut or message.cut
    return Event(
        kind="message", platform="signal",
        time=RawTime(raw, moment, "local", "s" if seconds else "min",
                     "chat line (the exporting computer's clock, no zone)"),
        locator=locator, sender=f"name:{author}",
        recipients=[f"name:{other}" for other in authors if other != author],
        text=text, flags=["truncated"] if cut else [])
