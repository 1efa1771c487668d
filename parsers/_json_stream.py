"""Reading the JSON documents of chat exports: one way, in chunks, whatever their size.

* :class:`JsonStream` reads a document in chunks through :class:`TextChunks` and decodes one value
  at a time with the standard library's C decoder (``JSONDecoder.raw_decode``); what has been
  read is dropped, so memory is a chunk plus the value being decoded, and a file of any size
  (Telegram's whole-account ``result.json``, a long Google Chat or Discord conversation, a
  Snapchat history, an X ``direct-messages.js``) costs the same. The caller walks the objects
  (:meth:`JsonStream.members`) and arrays (:meth:`JsonStream.items`) around its records.
* :class:`RecordWalk` is how a parser walks its records: each is decoded on its own, and one that
  is not JSON (the caller's repair tried first), nested too deeply or too long is stepped over
  (its end found by brackets and quotes) and given as a reject naming it, then the next is read.
  When the file ends (:class:`Cut`) or the structure between records breaks (:data:`WALK_ENDS`),
  :meth:`RecordWalk.fault` makes the one reject that names the record the file ends in, or the
  byte between records, so the records before the fault are kept. It also says, once, that text
  follows the document or that bytes were not UTF-8.

Both read UTF-8, or UTF-16 or UTF-32 when a byte order mark says so (an export re-saved as
"Unicode" by an editor: recognisers look at :attr:`Sample.text_head`), treat the mark as no part
of the text, and say the same things (:meth:`TextChunks.decoding_note`): how a file that is not
UTF-8 was read, and where bytes not valid in its encoding start. Small files beside the records
(a channel's or a group's description, X's ``account.js``) are read whole, up to a bound
(:func:`read_small_json`, :func:`read_whole`).

:class:`TextChunks` also serves the line and page formats (:func:`text_lines` for Discord's CSV
and Signal's text, Google Voice's HTML pages), so that bytes that are not UTF-8 are said there
too.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from courseline.collectors.identify import bom_codec
from courseline.timeline.event import Reject, SourceNote

CHUNK_BYTES = 1024 * 1024            # read size; memory is about this plus one record
MAX_RECORD_CHARS = 32 * 1024 * 1024  # a record larger than this is not decoded
MAX_KEY_CHARS = 64 * 1024            # an object key longer than this is damage, not a key

JSON_SPACE = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'["\[\]{}]')
# The rest of a string's body: stops at its closing quote, or at a final lone backslash.
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_SCALAR_START = frozenset('-0123456789tfnNI')


# -- recognising -----------------------------------------------------------------------------------

_HEAD_SPACE = rb"[ \t\r\n]*"


def json_head(*tokens: bytes) -> re.Pattern[bytes]:
    """A pattern for the first bytes of a JSON file: an optional UTF-8 byte order mark, then the
    tokens (regular expressions) in order with JSON white space around each. ``recognises``
    methods match it against :attr:`Sample.head`."""
    return re.compile(rb"\A(?:\xef\xbb\xbf)?" + _HEAD_SPACE + _HEAD_SPACE.join(tokens))


# -- decoding --------------------------------------------------------------------------------------

def not_utf8_note(what: str, first_bad_byte: int, codec: str = "utf-8") -> str:
    """The source note for a file whose bytes are not all valid in its encoding (UTF-8 unless a
    byte order mark said otherwise)."""
    name = codec.upper().removesuffix("-LE").removesuffix("-BE")
    return (f"{what} is not valid {name} from byte {first_bad_byte}: bytes that are not {name} "
            "were read as U+FFFD (\ufffd)")


def read_whole(path: Path, what: str) -> tuple[str, str | None]:
    """A file read whole as text without its byte order mark, and the note to give (``what``
    names the file) when bytes that are not valid in its encoding were read as U+FFFD, or it was
    read as UTF-16 or UTF-32; None when the file is valid UTF-8. Raises OSError when it cannot be
    read."""
    with Path(path).open("rb") as handle:
        chunks = TextChunks(handle)
        text = "".join(iter(chunks.read, ""))
    return text, chunks.decoding_note(what)


def read_small_json(path: Path, limit: int) -> Any:
    """A small JSON file beside an export's records (a channel's or a group's description), read
    whole up to ``limit`` bytes; bytes that are not valid in its encoding (UTF-8, or what its
    byte order mark names) are read as U+FFFD. Raises OSError, ValueError (not JSON, or larger
    than ``limit``) or RecursionError."""
    with Path(path).open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes")
    codec = bom_codec(data[:4]) or "utf-8-sig"
    return json.loads(data.decode(codec, "replace"))


class TextChunks:
    """A text file decoded chunk by chunk: UTF-8, or UTF-16 or UTF-32 when its byte order mark
    says so (an export re-saved as "Unicode" by an editor). A leading byte order mark is
    dropped (:attr:`skipped_bytes`). Bytes that are not valid in the encoding are decoded with
    ``errors`` (``replace``: U+FFFD; ``surrogateescape``: one lone surrogate per byte, so byte
    offsets stay exact) from the first of them on, and :attr:`first_bad_byte` says where that
    was (None while the file is valid)."""

    def __init__(self, handle: BinaryIO, chunk_bytes: int | None = None, errors: str = "replace"):
        self.handle = handle
        self.chunk_bytes = chunk_bytes or CHUNK_BYTES
        self.errors = errors
        self.first_bad_byte: int | None = None
        self.skipped_bytes = 0
        self.codec = "utf-8"      # as the text is encoded again to count bytes: no mark
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._offset = 0          # bytes handed to the decoder so far
        self._started = False
        self._ended = False

    def read(self, size: int | None = None) -> str:
        """The next piece of text (at least one character), or "" at the end of the file."""
        while not self._ended:
            data = self.handle.read(max(size or 0, self.chunk_bytes))
            self._ended = not data
            if not self._started and data:
                data = self._skip_mark(data)
            text = self._decode(data, self._ended)
            self._offset += len(data)
            if not self._started and text:
                self._started = True
                if text.startswith("\ufeff"):     # decoded first, so a tiny first read is no trap
                    text = text[1:]
                    self.skipped_bytes = len(codecs.BOM_UTF8)
            if text:
                return text
        return ""

    def _skip_mark(self, data: bytes) -> bytes:
        """The first read without a UTF-16 or UTF-32 byte order mark, the decoder set for it."""
        if len(data) < 4:   # a mark needs its bytes in the first read: read up to four
            data += self.handle.read(4 - len(data))
        codec = bom_codec(data)
        if codec not in ("utf-16", "utf-32"):
            return data
        self.codec = f"{codec}-le" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF32_LE)) \
            else f"{codec}-be"
        self.skipped_bytes = 2 if codec == "utf-16" else 4
        self._decoder = codecs.getincrementaldecoder(self.codec)("strict")
        self._offset = self.skipped_bytes
        return data[self.skipped_bytes:]

    def _decode(self, data: bytes, final: bool) -> str:
        if self.first_bad_byte is None:
            pending = self._decoder.getstate()[0]
            try:
                return self._decoder.decode(data, final)
            except UnicodeDecodeError as error:
                self.first_bad_byte = self._offset - len(pending) + error.start
                self._decoder = codecs.getincrementaldecoder(self.codec)(self.errors)
                data = pending + data
        return self._decoder.decode(data, final)

    def encoded_length(self, text: str) -> int:
        """How many bytes of the file a piece of its text took."""
        return len(text.encode(self.codec, "surrogateescape" if self.codec == "utf-8"
                               else "surrogatepass"))

    def decoding_note(self, what: str) -> str | None:
        """The note on how the file was decoded, when there is one to give: read as UTF-16 or
        UTF-32, or bytes that are not valid in its encoding."""
        said = []
        if self.codec != "utf-8":
            said.append(f"{what} was read as {self.codec.upper()}, as its byte order mark says "
                        f"(exports are written as UTF-8: a program re-saved this file)")
        if self.first_bad_byte is not None:
            said.append(not_utf8_note(what, self.first_bad_byte, self.codec))
        return "; ".join(said) or None


def text_lines(chunks: TextChunks) -> Iterator[str]:
    """The lines of a text read in chunks, each with its line end (as a file opened with
    ``newline=""`` gives them, for ``csv``): memory is a chunk plus the longest line."""
    pending: list[str] = []      # the start of a line that goes on in the next chunk
    while text := chunks.read():
        start = 0
        while (end := text.find("\n", start)) >= 0:
            pending.append(text[start:end + 1])
            yield "".join(pending)
            pending.clear()
            start = end + 1
        if start < len(text):
            pending.append(text[start:])
    if pending:
        yield "".join(pending)


# -- a document read in chunks ---------------------------------------------------------------------

class Cut(Exception):
    """The file ends inside what was being read."""


class NotJson(Exception):
    """The structure around the records is not JSON: the read cannot go on."""

    def __init__(self, expected: str, found: str, offset: int):
        super().__init__(f"expected {expected} at byte {offset}, found {found!r}")
        self.offset = offset


class TooLarge(Exception):
    """A value longer than the caller allowed; ``detail`` is the decoder's complaint, if any."""

    def __init__(self, detail: str | None = None):
        super().__init__(detail or "too large")
        self.detail = detail


class Unreadable(Exception):
    """One record could not be read; the stream is positioned after it."""


@dataclass(frozen=True)
class Decoded:
    value: Any
    repairs: int = 0        # rewrites the caller's repair made before the record decoded
    lenient: bool = False   # the record decoded only with control characters accepted raw


# A caller's last try at a record that is not JSON as written: its text → a Decoded, or None.
Repair = Callable[[str], Decoded | None]


class JsonStream:
    """A pull reader of one JSON document, read in chunks.

    The caller walks objects (:meth:`members`) and arrays (:meth:`items`) and, at each value,
    decodes it (:meth:`record`, :meth:`value`) or steps over it (:meth:`skip`); :meth:`peek`
    and :attr:`pos` serve a caller that walks the structure itself. Text consumed is dropped from
    the buffer when more is read, so memory stays bounded by a chunk plus the value being
    decoded. Offsets are kept for the messages that report damage: in bytes (exact with the
    default ``surrogateescape``) and in characters.
    """

    def __init__(self, handle: BinaryIO, chunk: int | None = None,
                 errors: str = "surrogateescape", repair: Repair | None = None):
        self._chunk = chunk or CHUNK_BYTES
        self.chunks = TextChunks(handle, self._chunk, errors)
        self._json = json.JSONDecoder()
        self._repair = repair
        self.buf = ""
        self.pos = 0
        self.eof = False
        self._dropped_bytes = 0
        self._dropped_chars = 0

    # buffer ---------------------------------------------------------------------------------------

    def _more(self, wanted: int = 0) -> bool:
        """Read more; False when the file has ended (and nothing more was added)."""
        if self.eof:
            return False
        text = self.chunks.read(wanted)
        if not text:
            self.eof = True
            return False
        self.buf += text
        return True

    def _drop(self) -> None:
        """Forget what has been read (only where no caller holds an index into the buffer)."""
        if self.pos:
            self._dropped_bytes += self.chunks.encoded_length(self.buf[:self.pos])
            self._dropped_chars += self.pos
            self.buf = self.buf[self.pos:]
            self.pos = 0

    def byte_offset(self, index: int | None = None) -> int:
        index = self.pos if index is None else index
        return (self.chunks.skipped_bytes + self._dropped_bytes
                + self.chunks.encoded_length(self.buf[:index]))

    def char_offset(self, index: int | None = None) -> int:
        """Characters of text (the byte order mark not counted) before ``index`` of the buffer."""
        return self._dropped_chars + (self.pos if index is None else index)

    def head(self, chars: int) -> str:
        """Up to ``chars`` characters from :attr:`pos` on, read ahead as needed (fewer at the end
        of the file), for a caller that reads a prefix that is not JSON itself."""
        while len(self.buf) - self.pos < chars and self._more(chars):
            pass
        return self.buf[self.pos:self.pos + chars]

    def peek(self) -> str:
        """The next character that is not white space, or "" at the end of the file."""
        if self.pos > self._chunk:
            self._drop()       # no caller holds an index across a peek: a safe place to forget
        while True:
            self.pos = JSON_SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            self._drop()
            if not self._more():
                return ""

    def _fault(self, expected: str) -> Exception:
        found = self.peek()
        if not found:
            return Cut()
        return NotJson(expected, found, self.byte_offset())

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self._fault(repr(char))
        self.pos += 1

    # structure ------------------------------------------------------------------------------------

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller reads or skips each value."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self._fault("a key in double quotes")
            key = self._key()
            self.expect(":")
            yield key
            after = self.peek()
            if after == ",":
                self.pos += 1
            elif after == "}":
                self.pos += 1
                return
            else:
                raise self._fault("',' or '}'")

    def items(self) -> Iterator[int]:
        """The indexes of the array that starts here; the caller reads or skips each item."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            after = self.peek()
            if after == ",":
                self.pos += 1
            elif after == "]":
                self.pos += 1
                return
            else:
                raise self._fault("',' or ']'")

    def _key(self) -> str:
        while True:
            try:
                key, end = json.decoder.scanstring(self.buf, self.pos + 1, True)
            except json.JSONDecodeError as error:
                if not error.msg.startswith("Unterminated string"):
                    raise NotJson("a key", self.buf[self.pos:self.pos + 20],
                                  self.byte_offset()) from None
                if len(self.buf) - self.pos > MAX_KEY_CHARS:
                    raise NotJson("a key", "text longer than any key", self.byte_offset()) \
                        from None
                if not self._more(len(self.buf) - self.pos):
                    raise Cut() from None
                continue
            self.pos = end
            return key

    # values ---------------------------------------------------------------------------------------

    def value(self, limit: int = MAX_RECORD_CHARS) -> Any:
        """Decode the value that starts here (the next character is not white space). Raises
        ``json.JSONDecodeError`` (with ``pos`` an index of :attr:`buf`), :class:`TooLarge` or
        ``RecursionError``."""
        start = self.pos
        while True:
            detail = None
            try:
                found, end = self._json.raw_decode(self.buf, start)
            except json.JSONDecodeError as error:
                if self.eof or not _maybe_incomplete(error, len(self.buf)):
                    raise
                detail = error.msg
            else:
                # A number may go on in the next read: decoded only with something after it.
                if end < len(self.buf) or self.eof:
                    self.pos = end
                    return found
            if len(self.buf) - start > limit:
                raise TooLarge(detail)
            self._more(len(self.buf) - start)   # doubling: a long value costs linear time

    def record(self, limit: int = MAX_RECORD_CHARS) -> Decoded:
        """Decode one record, or step over it and raise :class:`Unreadable` saying why."""
        first = self.peek()
        if not first:
            raise Cut()
        if first not in '"[{' and first not in _SCALAR_START:
            raise NotJson("a value", first, self.byte_offset())
        start = self.pos
        try:
            return Decoded(self.value(limit))
        except TooLarge:
            self.pos = start
            self.skip()
            raise Unreadable(f"it is longer than {limit} characters: stepped over, not read") \
                from None
        except RecursionError:
            self.pos = start
            self.skip()
            raise Unreadable("it is nested more deeply than can be read") from None
        except json.JSONDecodeError as error:
            return self._repaired(start, error, limit)

    def _repaired(self, start: int, error: json.JSONDecodeError, limit: int) -> Decoded:
        """A record that is not JSON: find its end by brackets and quotes, then let the caller's
        repair try it before giving up on it."""
        where = self.byte_offset(error.pos)
        self.pos = start
        if self.buf[start] not in '"[{':
            raise NotJson("a value", self.buf[start:start + 20], self.byte_offset(start))
        try:
            self.skip(keep=True, limit=limit)
        except TooLarge:
            self.pos = start
            self.skip()
            raise Unreadable(f"not JSON ({error.msg} at byte {where}), and longer than {limit} "
                             "characters: stepped over") from None
        repaired = self._repair(self.buf[start:self.pos]) if self._repair else None
        if repaired is None:
            raise Unreadable(f"not JSON: {error.msg} at byte {where}")
        return repaired

    def skip(self, keep: bool = False, limit: int | None = None) -> None:
        """Step over the value that starts here without decoding it: brackets are counted
        outside strings, and strings end at an unescaped quote. Tolerant of bad escapes and
        mismatched brackets. ``keep`` holds the value's text in the buffer (up to ``limit``)."""
        first = self.peek()
        if not first:
            raise Cut()
        if first not in '"[{':
            self.value(limit=1024)   # a number or a literal: short
            return
        start = self.pos
        depth = 0
        in_string = False
        while True:
            if in_string:
                self.pos = _STRING_BODY.match(self.buf, self.pos).end()  # type: ignore[union-attr]
                if self.pos < len(self.buf) and self.buf[self.pos] == '"':
                    self.pos += 1
                    in_string = False
                    if depth == 0:
                        return
                    continue
            else:
                found = _STRUCTURE.search(self.buf, self.pos)
                if found is not None:
                    self.pos = found.end()
                    char = found.group()
                    if char == '"':
                        in_string = True
                    elif char in "[{":
                        depth += 1
                    else:
                        depth -= 1
                        if depth <= 0:
                            return
                    continue
                self.pos = len(self.buf)
            if keep:
                if limit is not None and len(self.buf) - start > limit:
                    raise TooLarge()
                more = self._more(len(self.buf) - start)
            else:
                self._drop()
                more = self._more()
            if not more:
                raise Cut()


T = TypeVar("T")   # what a parser's walk yields, passed through by :meth:`RecordWalk.guarded`

# What ends a walk through a document read in chunks: the file ends (:class:`Cut`), or what lies
# between the records is not JSON.
WALK_ENDS = (Cut, NotJson, json.JSONDecodeError)


class RecordWalk:
    """A parser's walk through a document read in chunks, one record at a time.

    :meth:`records` decodes each record of an array on its own: a record that is not JSON, is
    nested too deeply or is too long is stepped over and given as a reject saying why, and the
    next one is read. The walk remembers the record being read, so that when the file ends or
    breaks inside it (the caller catches :data:`WALK_ENDS` around its walk, or hands the walk to
    :meth:`guarded`, which does that and adds the notes) :meth:`fault` names that record; between
    records it names the byte. ``noun`` is what the parser calls a record in those rejects
    ("message").
    """

    def __init__(self, stream: JsonStream, name: str, noun: str = "record"):
        self.stream = stream
        self.name = name
        self.noun = noun
        self.inside: str | None = None    # the locator of the record being read

    def records(self, prefix: str, limit: int = MAX_RECORD_CHARS
                ) -> Iterator[tuple[str, Decoded | Reject]]:
        """The records of the array that starts here: each with its locator (``prefix[N]``, N
        from 0), decoded, or a reject saying why it was stepped over."""
        for index in self.stream.items():
            locator = f"{prefix}[{index}]"
            self.inside = locator
            try:
                found: Decoded | Reject = self.stream.record(limit)
            except Unreadable as why:
                found = Reject(locator, f"could not be read: {why}")
            self.inside = None
            yield locator, found

    def value(self, locator: str) -> Decoded | Reject:
        """One value around the records (a chat's name, a conversation's id), decoded, or a
        reject naming ``locator`` when it cannot be."""
        try:
            return self.stream.record()
        except Unreadable as why:
            return Reject(locator, f"could not be read: {why}")

    def fault(self, error: Exception) -> Reject:
        """The reject for a walk that ended early (one of :data:`WALK_ENDS`)."""
        stream = self.stream
        if isinstance(error, Cut):
            size = stream.byte_offset(len(stream.buf))
            where = (f"inside this {self.noun}" if self.inside
                     else "before its JSON is complete")
            return Reject(self.inside or f"json:byte={size}",
                          f"{self.name} ends at byte {size} {where}: the file is cut short (an "
                          "interrupted export or an incomplete copy?); nothing after it could be "
                          "read")
        offset = getattr(error, "offset", None)
        if offset is None:
            offset = stream.byte_offset()
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        return Reject(self.inside or f"json:byte={offset}",
                      f"{self.name} is not valid JSON here ({reason}): the rest of the file could "
                      "not be read")

    def guarded(self, items: Iterator[T]) -> Iterator[T | Reject | SourceNote]:
        """The parser's ``items`` (its walk through the document), then a note on anything after
        the document; a cut or break (:data:`WALK_ENDS`) becomes the reject :meth:`fault` names,
        and the note on bytes that are not UTF-8 comes last."""
        try:
            yield from items
            trailing = self.trailing_note()
            if trailing:
                yield trailing
        except WALK_ENDS as error:
            yield self.fault(error)
        decoding = self.decoding_note()
        if decoding:
            yield decoding

    def trailing_note(self) -> SourceNote | None:
        """After a whole document: a note when text follows it."""
        if self.stream.peek():
            return SourceNote(f"text after the end of the JSON document, from byte "
                              f"{self.stream.byte_offset()}, was not read")
        return None

    def decoding_note(self) -> SourceNote | None:
        """After the read: a note when bytes that are not UTF-8 were met."""
        note = self.stream.chunks.decoding_note(self.name)
        return SourceNote(note) if note else None


def _maybe_incomplete(error: json.JSONDecodeError, length: int) -> bool:
    """Whether a decoding error may only mean that the value goes on past the buffer."""
    return error.msg.startswith("Unterminated string") or error.pos >= length - 16


# -- a document read whole -------------------------------------------------------------------------

def line_column(text: str, position: int) -> tuple[int, int]:
    """The line and column (both from 1) of a position in a text."""
    return text.count("\n", 0, position) + 1, position - text.rfind("\n", 0, position)


__all__ = [
    "WALK_ENDS",
    "Cut",
    "Decoded",
    "JsonStream",
    "NotJson",
    "RecordWalk",
    "TextChunks",
    "TooLarge",
    "Unreadable",
    "json_head",
    "line_column",
    "not_utf8_note",
    "read_small_json",
    "read_whole",
    "text_lines",
]
