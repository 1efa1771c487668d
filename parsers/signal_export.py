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

Damage: a text file has no structure that says where it was cut, so what can be seen is said in
source notes: bytes that are not UTF-8 (read as U+FFFD; the byte where they start), NUL bytes
(a copy zero-filled or cut: a dated line damaged so is read as text of the message before it,
the lines named), and a last line without a line break (the file may be cut short there; the
last message says so too). The file is read in chunks, a line at a time: memory is a chunk and
one message (its text bounded by ``MAX_TEXT_CHARS``).

Not read: attachments, reactions, quotes (the text layout does not carry them); Signal's own
database (encrypted with a key in the operating system's key store).

Told apart from WhatsApp by its header: a year-first date with dashes and a comma in brackets,
minutes without seconds (``[2019-12-24, 12:23]``); WhatsApp on an iPhone always writes seconds,
and on Android writes the phone's numeric date order. Checked on real data:
``realworld/signal/chatminer_signal_export.txt`` (joweich/chat-miner): 2 messages, one of two
lines.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._json_stream import TextChunks, text_lines
from courseline.timeline.event import MAX_TEXT_CHARS, Event, RawTime, Reject, SourceNote, bounded

HEADER = re.compile(r"^\[(?P<date>\d{4}-\d{2}-\d{2}), (?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\]"
                    r" (?P<author>[^:\n]{1,100}?): ?(?P<text>.*)$")
MAX_AUTHORS_NAMED = 256
RECOGNISED_BYTES = 8192   # where the first dated line is looked for


class SignalExportParser(Parser):
    NAME = "signal-export-txt"
    DATA_FORMAT = "Signal chat as text (signal-export)"
    VERSION = "2"
    PRIORITY = 1   # over WhatsApp's reading of bracketed lines

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        head = sample.text_head
        # Asked of every file: one whose first character is not a bracket is none, and only
        # the start of the head is decoded (a photo's head is 64 KiB of bytes).
        if head.removeprefix(codecs.BOM_UTF8).lstrip()[:1] != b"[":
            return False
        text = head[:RECOGNISED_BYTES].decode("utf-8", "replace").lstrip("\ufeff")
        first = next((line for line in text.splitlines() if line.strip()), "")
        match = HEADER.match(first)
        return match is not None and match.group("s") is None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        authors = _authors(source.path)
        damage = _Damage(source.name)
        last: Event | None = None
        for message in _records(source.path, damage):
            if message.header is None:
                yield Reject(f"line:{message.line}", "text before the first dated line: not "
                                                     "part of any message")
                continue
            made = _event(message, authors)
            if last is not None:
                yield last
            last = made if isinstance(made, Event) else None
            if last is None:
                yield made
        if last is not None:
            if damage.unended:
                last.notes.append("the file does not end with a line break: it may be cut short "
                                  "here, and this message's text incomplete")
            yield last
        yield from damage.notes()


@dataclass
class _Damage:
    """Signs of damage met while reading, said once in source notes."""

    name: str                     # the file's name, as the notes say it
    decoding: str | None = None   # how the file was decoded, when there is something to say
    nul_lines: list[int] = field(default_factory=list)
    unended: bool = False            # the last line has no line break

    def notes(self) -> Iterator[SourceNote]:
        if self.decoding is not None:
            yield SourceNote(self.decoding)
        if self.nul_lines:
            shown = ", ".join(map(str, self.nul_lines[:20]))
            yield SourceNote(f"{self.name} holds NUL bytes (on line(s) {shown}"
                             f"{' …' if len(self.nul_lines) > 20 else ''}): a sign of damage "
                             "(a copy zero-filled or cut); a dated line damaged so is read as "
                             "text of the message before it")
        if self.unended:
            yield SourceNote(f"{self.name} does not end with a line break: it may be cut short, and "
                             "its last message incomplete")


def _lines(path: Path, damage: _Damage | None = None) -> Iterator[tuple[int, str]]:
    """The lines of the file, numbered from 1, without their line ends; ``damage`` (when given)
    learns what was wrong with them."""
    with path.open("rb") as handle:
        chunks = TextChunks(handle)
        number, line = 0, ""
        for number, line in enumerate(text_lines(chunks), 1):
            if damage is not None and "\x00" in line:
                damage.nul_lines.append(number)
            yield number, line.rstrip("\r\n").lstrip("\ufeff")
        if damage is not None:
            damage.decoding = chunks.decoding_note(damage.name)
            damage.unended = number > 0 and not line.endswith(("\n", "\r"))


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


def _records(path: Path, damage: _Damage) -> Iterator[_Message]:
    current: _Message | None = None
    size = 0
    for number, line in _lines(path, damage):
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
