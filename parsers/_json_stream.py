"""Reading the JSON documents of chat exports: one way for each of the two needs the parsers have.

* **A document too large to hold** (Telegram Desktop's whole-account ``result.json``, a long
  Google Chat ``messages.json``): :class:`JsonStream` reads it in chunks through
  :class:`TextChunks` and decodes one value at a time with the standard library's C decoder
  (``JSONDecoder.raw_decode``); what has been read is dropped, so memory is a chunk plus the value
  being decoded. The caller walks the objects and arrays around its records and says where the
  damage is by byte (:meth:`JsonStream.byte_offset`) or character (:meth:`JsonStream.char_offset`).
  A record that is not JSON can be stepped over (:meth:`JsonStream.record`, with the caller's
  repair tried first) or end the read (:meth:`JsonStream.value`): each parser chooses.
* **A file read whole** (X's ``data/*.js``, Snapchat's ``chat_history.json``, one Discord channel's
  ``messages.json``, whose sizes the services bound): :func:`read_whole` gives the text,
  :func:`iter_array` and :func:`iter_members` decode the top-level elements one at a time (the
  parsed document is never held whole), and the last item is a :class:`Broken` naming the line
  and column where the JSON stops, if it does. :func:`array_records` turns an array into
  ``json:[N]`` locators and one reject at the break.

Meta's thread files keep a scanner of their own (``meta_messages.scan_thread``): their fields
come after the messages, so the file is scanned twice, and a fault is located by line and column
(:func:`line_column` is shared). Both readers treat a leading UTF-8 byte order mark as no part of
the text, and say the same thing (:func:`not_utf8_note`) of bytes that are not UTF-8.

:class:`TextChunks` also serves the Google Voice parser, which feeds HTML pages to its parser in
chunks.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from courseline.timeline.event import Reject

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

def not_utf8_note(what: str, first_bad_byte: int) -> str:
    """The source note for a file whose bytes are not all UTF-8."""
    return (f"{what} is not valid UTF-8 from byte {first_bad_byte}: bytes that are not UTF-8 were "
            "read as U+FFFD (\ufffd)")


def read_whole(path: Path, what: str) -> tuple[str, str | None]:
    """A file read whole as text without its byte order mark, and the note to give (``what``
    names the file) when bytes that are not UTF-8 were read as U+FFFD; None when the file is
    valid UTF-8. Raises OSError when it cannot be read."""
    data = Path(path).read_bytes()
    skipped = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skipped:].decode("utf-8"), None
    except UnicodeDecodeError as error:
        return (data[skipped:].decode("utf-8", "replace"),
                not_utf8_note(what, skipped + error.start))


def read_small_json(path: Path, limit: int) -> Any:
    """A small JSON file beside an export's records (a channel's or a group's description), read
    whole up to ``limit`` bytes; bytes that are not UTF-8 are read as U+FFFD. Raises OSError,
    ValueError (not JSON, or larger than ``limit``) or RecursionError."""
    with Path(path).open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes")
    return json.loads(data.decode("utf-8-sig", "replace"))


class TextChunks:
    """A UTF-8 file decoded chunk by chunk. A leading byte order mark is dropped
    (:attr:`skipped_bytes`). Bytes that are not UTF-8 are decoded with ``errors`` (``replace``:
    U+FFFD; ``surrogateescape``: one lone surrogate per byte, so byte offsets stay exact) from the
    first of them on, and :attr:`first_bad_byte` says where that was (None while the file is
    valid)."""

    def __init__(self, handle: BinaryIO, chunk_bytes: int | None = None, errors: str = "replace"):
        self.handle = handle
        self.chunk_bytes = chunk_bytes or CHUNK_BYTES
        self.errors = errors
        self.first_bad_byte: int | None = None
        self.skipped_bytes = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._offset = 0          # bytes handed to the decoder so far
        self._started = False
        self._ended = False

    def read(self, size: int | None = None) -> str:
        """The next piece of text (at least one character), or "" at the end of the file."""
        while not self._ended:
            data = self.handle.read(max(size or 0, self.chunk_bytes))
            self._ended = not data
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

    def _decode(self, data: bytes, final: bool) -> str:
        if self.first_bad_byte is None:
            pending = self._decoder.getstate()[0]
            try:
                return self._decoder.decode(data, final)
            except UnicodeDecodeError as error:
                self.first_bad_byte = self._offset - len(pending) + error.start
                self._decoder = codecs.getincrementaldecoder("utf-8")(self.errors)
                data = pending + data
        return self._decoder.decode(data, final)

    def decoding_note(self, what: str) -> str | None:
        if self.first_bad_byte is None:
            return None
        return not_utf8_note(what, self.first_bad_byte)


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
            self._dropped_bytes += len(self.buf[:self.pos].encode("utf-8", "surrogateescape"))
            self._dropped_chars += self.pos
            self.buf = self.buf[self.pos:]
            self.pos = 0

    def byte_offset(self, index: int | None = None) -> int:
        index = self.pos if index is None else index
        return (self.chunks.skipped_bytes + self._dropped_bytes
                + len(self.buf[:index].encode("utf-8", "surrogateescape")))

    def char_offset(self, index: int | None = None) -> int:
        """Characters of text (the byte order mark not counted) before ``index`` of the buffer."""
        return self._dropped_chars + (self.pos if index is None else index)

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


def _maybe_incomplete(error: json.JSONDecodeError, length: int) -> bool:
    """Whether a decoding error may only mean that the value goes on past the buffer."""
    return error.msg.startswith("Unterminated string") or error.pos >= length - 16


# -- a document read whole -------------------------------------------------------------------------

def line_column(text: str, position: int) -> tuple[int, int]:
    """The line and column (both from 1) of a position in a text."""
    return text.count("\n", 0, position) + 1, position - text.rfind("\n", 0, position)


def where(text: str, position: int) -> str:
    line, column = line_column(text, position)
    return f"line {line}, column {column}"


def cut_short(text: str, closing: str) -> str:
    """What to add to a JSON error when the document does not end as it must: a file cut short
    (an interrupted download or copy) rather than one damaged in the middle. A ``;`` after the
    closing bracket (X's JavaScript files) is allowed."""
    if text.rstrip().rstrip(";").endswith(closing):
        return ""
    return " (the file ends early: cut short?)"


@dataclass(frozen=True)
class Broken:
    """Where a document read whole stops being JSON, and why; nothing after it is read."""

    reason: str
    key: str | None = None       # the object member whose value it breaks in, when its key was read


def _not_json(text: str, error: json.JSONDecodeError, closing: str) -> str:
    return (f"not JSON at line {error.lineno}, column {error.colno}: {error.msg}"
            + cut_short(text, closing))


def iter_array(text: str, position: int = 0) -> Iterator[Any | Broken]:
    """The elements of the JSON array starting at ``position`` (white space before it allowed),
    decoded one at a time; a :class:`Broken` (last) where the array stops being JSON."""
    position = JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]
    if not text.startswith("[", position):
        yield Broken(f"expected '[' at {where(text, position)}")
        return
    position += 1
    while True:
        position = JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]
        if text.startswith("]", position):
            return
        if position >= len(text):
            yield Broken(f"the file ends inside the array ({where(text, position)}): cut short?")
            return
        try:
            value, position = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as error:
            yield Broken(_not_json(text, error, "]"))
            return
        yield value
        position = JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]
        if text.startswith(",", position):
            position += 1
        elif not text.startswith("]", position):
            yield Broken(f"expected ',' or ']' at {where(text, position)}")
            return


def iter_members(text: str, position: int = 0) -> Iterator[tuple[str, Any] | Broken]:
    """The members of the JSON object starting at ``position``, each value decoded on its own; a
    :class:`Broken` (last) where the object stops being JSON."""
    position = JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]
    if not text.startswith("{", position):
        yield Broken(f"expected '{{' at {where(text, position)}")
        return
    position += 1
    while True:
        position = JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]
        if text.startswith("}", position):
            return
        key: Any = None
        try:
            key, position = _DECODER.raw_decode(text, position)
            position = JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]
            if not text.startswith(":", position) or not isinstance(key, str):
                yield Broken(f"expected a key and ':' at {where(text, position)}")
                return
            position = JSON_SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
            value, position = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as error:
            yield Broken(_not_json(text, error, "}"), key if isinstance(key, str) else None)
            return
        yield key, value
        position = JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]
        if text.startswith(",", position):
            position += 1
        elif not text.startswith("}", position):
            yield Broken(f"expected ',' or '}}' at {where(text, position)}")
            return


def array_records(text: str, position: int = 0) -> Iterator[tuple[str, Any] | Reject]:
    """The elements of a top-level array with their locators (``json:[N]``, from 0); where the
    JSON breaks, a reject naming the element it breaks in, and nothing more."""
    for index, element in enumerate(iter_array(text, position)):
        locator = f"json:[{index}]"
        if isinstance(element, Broken):
            yield Reject(locator, f"the file's JSON breaks here: {element.reason}")
            return
        yield locator, element


_DECODER = json.JSONDecoder()


__all__ = [
    "Broken",
    "Cut",
    "Decoded",
    "JsonStream",
    "NotJson",
    "TextChunks",
    "TooLarge",
    "Unreadable",
    "array_records",
    "cut_short",
    "iter_array",
    "iter_members",
    "json_head",
    "line_column",
    "not_utf8_note",
    "read_small_json",
    "read_whole",
    "where",
]
