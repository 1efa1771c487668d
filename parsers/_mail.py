"""Reading one Internet message (RFC 5322 / MIME) into an :class:`Event` or a :class:`Reject`.

Shared by the ``eml`` and ``mbox`` parsers (the leading underscore keeps this module out of parser
discovery). The entry point is :func:`read_message`; it never raises.

Format: RFC 5322 header block, blank line, body; MIME (RFC 2045-2049) multipart bodies; RFC 2047
encoded words in headers; RFC 2231 parameter values (``filename*=``); RFC 6532 raw UTF-8 headers;
Gmail's ``X-Gmail-Labels`` / ``X-GM-THRID`` headers (formats.md §1.1, §1.2).

How it reads, and why:

* The standard library ``email`` package with ``policy=compat32`` splits the message; the modern
  policy is slow and fragile on hostile headers. Everything that is quadratic or recursive in the
  standard library on hostile input is bounded or replaced here, each measured on Python 3.11.7:
  ``getaddresses`` raises RecursionError on 500 nested ``(`` and took 20 s on a 100,000-member
  group, so address lists are split here in one linear pass and ``getaddresses`` only sees one
  bounded address at a time; ``Message.get_param`` is quadratic in quoted ``;``, so parameters are
  read from a bounded header by a linear splitter; the feed parser recurses once per nested
  multipart (RecursionError near 1,000 levels), so the structure is pre-scanned and a message
  nested too deeply is read headers-only, with a note; ``html.parser`` took 87 s on 1 MB of
  ``</``, so HTML is reduced to text by a linear tag stripper with ``html.unescape``.
* ``message/*`` parts are kept unparsed, so an attached message is hashed as the exact bytes the
  source holds (a re-serialised message would not hash the same).
* Addresses are split *before* RFC 2047 decoding: an encoded display name may decode to a comma
  (real sample ``mail_test_18``). A display name that is itself an address is a display name:
  the address is what is inside ``<…>`` (real sample ``mail_test_19``).
* Times: the ``Date`` header is kept verbatim; ``email.utils.parsedate_tz`` reads the fields, but
  it reports offset 0 for ``-0000``, for unknown zone words and for no zone at all, so the zone is
  read from the header's own zone token. mail-parser's date conversion drops the offset and is not
  used.
* Text and subject line endings are normalised to ``\\n`` (CRLF is the RFC 5322 wire form; a
  message stored in an mbox usually has LF), and folded headers are unfolded (RFC 5322 §2.2.3).
  Attachments are hashed on their decoded bytes, untouched.

Checked on the real samples in ``realworld/email/eml`` (SpamScope/mail-parser ``tests/mails``,
commit 01c177f): GB2312 B-encoded Subject/From and a GB2312-labelled body that is really UTF-8
(``mail_test_12``); ``(CEST)`` comment after a numeric offset (``mail_test_14``); CRLF file with a
folded UTF-8 B-encoded From and an empty text/plain beside HTML (``mail_test_17``); a Q-encoded
display name holding a comma (``mail_test_18``); display names that are other addresses
(``mail_test_19``); gb2312 HTML-only body and a two-word encoded Subject (``mail_test_9``); DSN
multipart/report with message/delivery-status and message/rfc822-headers (``mail_malformed_2``);
a multipart whose declared boundary never occurs (``mail_malformed_3``). Not checked on a real
file: Gmail label semantics (no Takeout mbox was available; label names follow formats.md §1.2),
localised Gmail labels, uuencoded bodies, RFC 2231 continuations in the wild.
"""

from __future__ import annotations

import binascii
import codecs
import csv
import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import errors as email_errors
from email import utils as email_utils
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from typing import Any, Iterable, Sequence

from mailparser.utils import parse_received

from courseline.parsers import hashed_attachment
from courseline.timeline.event import (
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    Attachment,
    Event,
    RawTime,
    Reject,
    bounded,
    clean_text,
)

# --- Bounds on the work done for one message -----------------------------------------------------
MAX_MIME_PARTS = 1_000              # parts walked
MAX_MIME_DEPTH = 50                 # nesting walked
MAX_PARSE_DEPTH = 100               # nesting handed to the (recursive) stdlib feed parser
MAX_PARSE_PARTS = 20_000            # parts handed to the stdlib feed parser
MAX_BOUNDARY_RECOVERIES = 3         # multiparts re-read with the boundary they really use
MAX_RECEIVED_HOPS = 50
MAX_RECEIVED_CHARS = 4_096          # of one Received header, handed to mail-parser
MAX_HEADER_CHARS = 65_536           # of any other header, read before decoding
MAX_ADDRESS_HEADER_CHARS = 1_048_576  # of To/Cc/Bcc/From: 20,000 recipients fit
MAX_ADDRESS_PIECE_CHARS = 4_096     # one address with its display name
MAX_ADDRESS_CHARS = 998             # an identifier longer than a header line is not an address
MAX_RECIPIENTS = 50_000
MAX_PARAM_HEADER_CHARS = 8_192      # Content-Type / Content-Disposition read for parameters
MAX_HTML_CHARS = 4 * MAX_TEXT_CHARS  # HTML source reduced to text
MAX_GMAIL_LABELS = 1_000
MAX_NOTES = 200

# E-mail times are written by the sender's device and by mail servers, never by the clock of the
# device the export came from, so a source's measured clock offset does not apply to them.
SOURCE_DATE = "Date header"
SOURCE_RECEIVED = "Received header (no usable Date header)"
NO_TIME_REASON = ("no Date header, no Received time and no mbox From_ line: "
                  "the message cannot be placed in time")

_OPAQUE_TYPE = "x-courseline/opaque-message"
# Defects with their own, plainer note.
_NOTED_ELSEWHERE = {"InvalidBase64PaddingDefect", "InvalidBase64CharactersDefect",
                    "InvalidBase64LengthDefect"}


# --- Notes, flags and bounds collected while reading one message ---------------------------------

@dataclass
class MailReading:
    """What was noticed while reading one message: notes, the truncated flag, details."""

    notes: list[str] = field(default_factory=list)
    truncated: bool = False
    dropped_notes: int = 0
    defects: set[str] = field(default_factory=set)   # stdlib defect class names, all parts

    def note(self, text: str) -> None:
        text = clean_text(text)
        if text in self.notes:
            return
        if len(self.notes) >= MAX_NOTES:
            self.dropped_notes += 1
            return
        self.notes.append(text)

    def bound(self, what: str, value: str | None, limit: int = MAX_FIELD_CHARS) -> str | None:
        """Cut a value to ``limit`` characters; flag and say so when it was cut."""
        if value is None:
            return None
        value = clean_text(value)
        cut, was_cut = bounded(value, limit)
        if was_cut:
            self.truncated = True
            self.note(f"{what} was cut to {limit:,} characters (it has {len(value):,})")
        return cut

    def final_notes(self) -> list[str]:
        if self.dropped_notes:
            return self.notes + [f"{self.dropped_notes:,} further notes were not kept"]
        return list(self.notes)


# --- Character sets ------------------------------------------------------------------------------

def _latin1_for_undefined(error: UnicodeError) -> tuple[str, int]:
    """Decode bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) as Latin-1,
    so that the Windows-1252 fallback never loses a byte."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start:error.end].decode("latin-1"), error.end


codecs.register_error("courseline-latin1", _latin1_for_undefined)

# Labels whose registered decoder is narrower than what mailers actually send under that label.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
              "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "shift_jis": "cp932",
              "x-sjis": "cp932", "iso-8859-8-i": "iso-8859-8", "tis-620": "cp874"}
# Codec names Python accepts that are not character sets: they would interpret the content.
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "unicode_escape", "raw_unicode_escape",
                 "punycode", "idna", "undefined", "mbcs", "oem", "palmos", "unicode-internal"}
_LATIN1_NAMES = {"latin-1", "iso8859-1"}


def _codec_for(label: str) -> str | None:
    """The Python codec for a declared charset label, or None when it is not a usable charset."""
    label = label.strip().strip('"').strip().lower()
    label = label.split("*", 1)[0]          # RFC 2231 §5: charset*language
    if not label or len(label) > 64:
        return None
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def _decode_strict(data: bytes, codec: str, final: bool) -> str | None:
    try:
        decoder = codecs.getincrementaldecoder(codec)("strict")
        return decoder.decode(data, final=final)
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None


def decode_bytes(data: bytes, declared: str | None, what: str, reading: MailReading,
                 limit_chars: int | None = None) -> str:
    """Decode bytes with their declared charset; fall back to UTF-8, then Windows-1252, and note it.

    ``what`` names the thing decoded in the note ("the text/plain part", "the Subject header").
    With ``limit_chars``, only enough bytes for that many characters are decoded (the caller
    bounds and notes the text).
    """
    final = True
    if limit_chars is not None and len(data) > 4 * limit_chars:
        data, final = data[:4 * limit_chars], False
    label = (declared or "").strip().strip('"').strip()
    codec = _codec_for(label) if label else None
    if codec is None or codec == "ascii":
        if data.isascii():
            return data.decode("ascii")
    else:
        # The declared charset first, even for ASCII bytes: UTF-7 and UTF-16 are not
        # ASCII-compatible.
        if codec in _LATIN1_NAMES and re.search(rb"[\x80-\x9f]", data):
            # Bytes 0x80-0x9F are C1 controls in ISO-8859-1 but punctuation in Windows-1252;
            # mail labelled Latin-1 that holds them was written in Windows-1252.
            reading.note(f"{what} declares charset {label!r} but holds bytes 0x80-0x9F; "
                         "read as Windows-1252, as mail programs do")
            return data.decode("cp1252", "courseline-latin1")
        text = _decode_strict(data, codec, final)
        if text is not None:
            return text
    if codec is None and label:
        problem = f"declares charset {label!r}, which is unknown"
    elif codec is None:
        problem = "declares no charset but holds 8-bit bytes"
    else:
        problem = f"declares charset {label!r} but its bytes are not valid {label}"
    text = _decode_strict(data, "utf-8", final)
    if text is not None:
        reading.note(f"{what} {problem}; read as UTF-8")
        return text
    superset = _SUPERSETS.get(label.lower())
    if superset is not None:
        text = _decode_strict(data, superset, final)
        if text is not None:
            reading.note(f"{what} {problem}; read as {superset.upper()}, its superset")
            return text
    reading.note(f"{what} {problem}; not valid UTF-8 either, read as Windows-1252")
    return data.decode("cp1252", "courseline-latin1")


# --- Header text ---------------------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_STRAY_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# RFC 2047 encoded word. The encoded text may not hold "?", so each match attempt stops at the
# next "?" and the scan stays linear on hostile input (the stdlib pattern uses ".*?").
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([QqBb])\?([^?]*)\?=")
_SPACE_ONLY = re.compile(r"[ \t\r\n]*")


def _unfold(text: str) -> str:
    return _STRAY_LINE_BREAK.sub(" ", _FOLD.sub("", text)).strip()


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _undeclared_8bit(text: str, what: str, reading: MailReading) -> str:
    """Decode raw 8-bit bytes in header text (the parser keeps them as lone surrogates)."""
    if not _has_surrogates(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return clean_text(text)
    decoded = _decode_strict(data, "utf-8", True)
    if decoded is not None:
        reading.note(f"{what} holds raw 8-bit bytes (no RFC 2047 encoding); read as UTF-8")
        return decoded
    reading.note(f"{what} holds raw 8-bit bytes that are not UTF-8; read as Windows-1252")
    return data.decode("cp1252", "courseline-latin1")


def _encoded_word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        raw = payload.encode("ascii")
    except UnicodeEncodeError:
        return None
    if encoding in "Qq":
        return binascii.a2b_qp(raw, header=True)
    raw = re.sub(rb"[^A-Za-z0-9+/]", b"", raw)
    raw = raw[: len(raw) - len(raw) % 4] if len(raw) % 4 == 1 else raw + b"=" * (-len(raw) % 4)
    try:
        return binascii.a2b_base64(raw)
    except binascii.Error:
        return None


def decode_encoded_words(text: str, what: str, reading: MailReading) -> str:
    """Decode RFC 2047 encoded words; white space between adjacent words is dropped (§6.2) and
    adjacent words in one charset are joined before decoding, so a character split between two
    words survives."""
    if "=?" not in text:
        return text
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    position = 0
    after_word = False

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending_charset is not None:
            out.append(decode_bytes(bytes(pending), pending_charset, what, reading))
        pending, pending_charset = bytearray(), None

    for match in _ENCODED_WORD.finditer(text):
        between = text[position:match.start()]
        payload = _encoded_word_bytes(match.group(2), match.group(3))
        if payload is None:
            continue  # not decodable: left in place, as written
        if not (after_word and _SPACE_ONLY.fullmatch(between)):
            flush()
            out.append(between)
        charset = match.group(1).split("*", 1)[0].lower()
        if pending_charset is not None and charset != pending_charset:
            flush()
        pending_charset = charset
        pending.extend(payload)
        position = match.end()
        after_word = True
    flush()
    out.append(text[position:])
    return "".join(out)


def _header_for_reading(raw: str, name: str, reading: MailReading, limit: int) -> str:
    """The raw header value, bounded (with a note) before any parsing."""
    if len(raw) > limit:
        reading.truncated = True
        reading.note(f"the {name} header has {len(raw):,} characters; only the first "
                     f"{limit:,} were read")
        raw = raw[:limit]
    return raw


def decode_header_text(raw: str, name: str, reading: MailReading,
                       limit: int = MAX_HEADER_CHARS) -> str:
    """A header value as a person reads it: unfolded, 8-bit and encoded words decoded."""
    text = _unfold(_header_for_reading(raw, name, reading, limit))
    text = _undeclared_8bit(text, f"the {name} header", reading)
    return clean_text(decode_encoded_words(text, f"the {name} header", reading))


class MailHeaders:
    """The message's top-level headers, looked up case-insensitively in one pass."""

    def __init__(self, message: Message) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self._values.setdefault(str(name).lower(), []).append(str(value))

    def all(self, name: str) -> list[str]:
        return self._values.get(name.lower(), [])

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None


# --- Addresses -----------------------------------------------------------------------------------

@dataclass
class _Mailbox:
    display: str
    address: str


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"?', re.S)
_PLAIN_RUN = re.compile(r'[^"(<\[,:;]+')
_COMMENT_RUN = re.compile(r"[^()\\]+")


def _skip_comment(text: str, start: int) -> int:
    """Index just after the (possibly nested) comment that opens at ``start``; linear."""
    depth, index, end = 0, start, len(text)
    while index < end:
        char = text[index]
        if char == "(":
            depth += 1
            index += 1
        elif char == ")":
            depth -= 1
            index += 1
            if depth == 0:
                return index
        elif char == "\\":
            index += 2
        else:
            run = _COMMENT_RUN.match(text, index)
            index = run.end() if run else index + 1
    return end


def _split_address_list(text: str) -> list[list[tuple[str, str]]]:
    """Split an address list at top-level commas into pieces of (kind, text) tokens.

    Quoted strings, comments, ``<…>`` and ``[…]`` are kept whole; a group's name (``name:``) is
    dropped and its ``;`` ends a piece. One linear pass.
    """
    pieces: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char == '"':
            match = _QUOTED.match(text, index)
            stop = match.end() if match else end
            current.append(("quoted", text[index:stop]))
        elif char == "(":
            stop = _skip_comment(text, index)
            current.append(("comment", text[index:stop]))
        elif char in "<[":
            close = text.find(">" if char == "<" else "]", index + 1)
            stop = end if close < 0 else close + 1
            current.append(("angle" if char == "<" else "literal", text[index:stop]))
        elif char in ",;":
            pieces.append(current)
            current = []
            stop = index + 1
        elif char == ":":
            current = []  # what came before was a group name, not an address
            stop = index + 1
        else:
            match = _PLAIN_RUN.match(text, index)
            stop = match.end() if match else index + 1
            current.append(("plain", text[index:stop]))
        index = stop
    pieces.append(current)
    return [piece for piece in pieces if "".join(t for _, t in piece).strip()]


def _clean_address(address: str) -> str:
    address = re.sub(r"[\r\n\t]", "", address).strip()
    if address.startswith("@") and ":" in address:  # obsolete source route <@a,@b:user@host>
        address = address.rsplit(":", 1)[1]
    return address.strip()


def _display_text(tokens: Iterable[tuple[str, str]]) -> str:
    words = []
    for kind, token in tokens:
        if kind == "quoted":
            words.append(email_utils.unquote(token.strip()) if token.endswith('"')
                         else token[1:])
        elif kind in ("plain", "literal"):
            words.append(token)
    return " ".join(" ".join(words).split())


def _mailboxes_in_piece(piece: list[tuple[str, str]], what: str,
                        reading: MailReading) -> list[_Mailbox]:
    angles = [index for index, (kind, _) in enumerate(piece) if kind == "angle"]
    if angles:
        # The address is inside <…>; everything before it is the display name, even when the
        # display name looks like an address (real sample mail_test_19).
        last = angles[-1]
        address = _clean_address(piece[last][1].strip("<>"))
        display = decode_encoded_words(_display_text(piece[:last]), what, reading)
        return [_Mailbox(display, address)]
    text = "".join(token for _, token in piece)
    try:
        pairs = email_utils.getaddresses([text])
    except RecursionError:
        # Deeply nested comments: read the address without them.
        pairs = email_utils.getaddresses(
            ["".join(token for kind, token in piece if kind != "comment")])
        reading.note(f"{what}: an address with deeply nested comments was read without them")
    return [_Mailbox(decode_encoded_words(name, what, reading), _clean_address(address))
            for name, address in pairs if address.strip()]


@dataclass
class _AddressHeader:
    text: str | None                     # decoded header text, for details
    mailboxes: list[_Mailbox]


def read_address_header(values: list[str], name: str, reading: MailReading) -> _AddressHeader:
    """All mailboxes of every occurrence of an address header, in order."""
    if not values:
        return _AddressHeader(None, [])
    if len(values) > 1:
        reading.note(f"the message has {len(values)} {name} headers; all were read")
    mailboxes: list[_Mailbox] = []
    texts: list[str] = []
    for raw in values:
        texts.append(decode_header_text(raw, name, reading, MAX_ADDRESS_HEADER_CHARS))
        cut = len(raw) > MAX_ADDRESS_HEADER_CHARS
        text = _undeclared_8bit(_unfold(raw[:MAX_ADDRESS_HEADER_CHARS]), f"the {name} header",
                                reading)
        pieces = _split_address_list(text)
        if cut and pieces:
            pieces.pop()  # the last one may be an address cut in half: not an identifier
        for piece in pieces:
            if sum(len(token) for _, token in piece) > MAX_ADDRESS_PIECE_CHARS:
                reading.note(f"the {name} header holds an entry over "
                             f"{MAX_ADDRESS_PIECE_CHARS:,} characters; not read as an address")
                continue
            mailboxes.extend(_mailboxes_in_piece(piece, f"the {name} header", reading))
        if cut:
            reading.note(f"the {name} header has {len(raw):,} characters; {len(mailboxes):,} "
                         f"addresses were read from its first {MAX_ADDRESS_HEADER_CHARS:,} "
                         f"(the whole header holds about {raw.count('@'):,} '@' signs)")
    return _AddressHeader("\n".join(texts), mailboxes)


def is_address(address: str) -> bool:
    return "@" in address and 0 < len(address) <= MAX_ADDRESS_CHARS


# --- Dates ---------------------------------------------------------------------------------------

_TIME = re.compile(r"(?<!\d)(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?:\.\d+)?")
_NUMERIC_ZONE = re.compile(r"([+-])(\d{2})(\d{2})")
_UTC_WORDS = {"UT", "UTC", "GMT", "Z"}
_OBSOLETE_ZONES = {"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
                   "PST": -8, "PDT": -7}  # RFC 5322 §4.3
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class _ParsedDate:
    value: datetime
    basis: str
    precision: str
    notes: list[str]


def _zone_token(text: str, time_end: int) -> str | None:
    """The zone written after the time: the first token that is not a year or a comment."""
    for token in text[time_end:].split():
        if token.startswith("("):
            return None
        if token.isdigit() and len(token) == 4:
            continue  # asctime-style year after the time
        return token
    return None


def _zone_of(token: str | None, what: str) -> tuple[timezone | None, str, list[str]]:
    """(tzinfo, basis, notes) for the zone token of a date."""
    if token is None:
        return None, "assumed", [f"{what} has no time zone; read as wall-clock time in the "
                                 "case time zone"]
    numeric = _NUMERIC_ZONE.fullmatch(token)
    if numeric:
        sign, hours, minutes = numeric.group(1), int(numeric.group(2)), int(numeric.group(3))
        if token == "-0000":
            return timezone.utc, "utc", []  # RFC 5322 §3.3: UTC, local zone unknown
        if hours < 24 and minutes < 60:
            delta = timedelta(hours=hours, minutes=minutes)
            return timezone(-delta if sign == "-" else delta), "offset", []
        return None, "assumed", [f"{what} has an impossible offset {token!r}; read as "
                                 "wall-clock time in the case time zone"]
    word = token.upper()
    if word in _UTC_WORDS:
        return timezone.utc, "utc", []
    if word in _OBSOLETE_ZONES:
        hours = _OBSOLETE_ZONES[word]
        return (timezone(timedelta(hours=hours)), "offset",
                [f"{what} names the zone {token!r}; read as UTC{hours:+03d}:00 "
                 "(RFC 5322 obsolete zone)"])
    return None, "assumed", [f"{what} names the zone {token!r}, which is not a numeric offset; "
                             "read as wall-clock time in the case time zone"]


def parse_mail_date(raw: str, what: str) -> _ParsedDate | None:
    """Read an RFC 5322 date (Date or Received header), or None when it cannot be read."""
    text = _unfold(raw)[:1_000]
    try:
        fields = email_utils.parsedate_tz(text)
    except Exception:  # the stdlib is meant to return None; be sure
        fields = None
    time_match = _TIME.search(text)
    if fields is None or time_match is None:
        return None
    year, month, day, hour, minute, second = fields[:6]
    notes: list[str] = []
    if second == 60:
        second = 59
        notes.append(f"{what} has a leap second :60; read as :59")
    tzinfo, basis, zone_notes = _zone_of(_zone_token(text, time_match.end()), what)
    notes.extend(zone_notes)
    try:
        value = datetime(year, month, day, hour, minute, second, tzinfo=tzinfo)
    except (ValueError, OverflowError, TypeError):
        return None
    if str(year) not in text:
        notes.append(f"{what} writes the year with fewer than four digits; read as {year}")
    weekday = re.match(r"\s*([A-Za-z]{3})", text)
    if weekday and weekday.group(1).lower() in _WEEKDAYS:
        written = weekday.group(1).lower()
        actual = _WEEKDAYS[value.weekday()]
        if written != actual:
            notes.append(f"{what} names the weekday {weekday.group(1)!r} but "
                         f"{value.date().isoformat()} is a {_DAY_NAMES[value.weekday()]}")
    precision = "s" if time_match.group(3) is not None else "min"
    return _ParsedDate(value, basis, precision, notes)


# --- Received headers ----------------------------------------------------------------------------

_RECEIVED_KEYS = ("from", "by", "with", "id", "for", "date")


def read_received(values: list[str], reading: MailReading) -> list[dict[str, Any]]:
    """Each Received header (topmost first) split into clauses by mail-parser, raw kept."""
    if len(values) > MAX_RECEIVED_HOPS:
        reading.note(f"the message has {len(values):,} Received headers; the first "
                     f"{MAX_RECEIVED_HOPS} were kept")
    hops = []
    for number, raw in enumerate(values[:MAX_RECEIVED_HOPS], start=1):
        what = f"Received header {number}"
        text = _undeclared_8bit(raw, f"the {what}", reading)
        hop: dict[str, Any] = {"raw": reading.bound(f"{what} as kept in details", text)}
        try:
            clauses = parse_received(_unfold(text[:MAX_RECEIVED_CHARS]))
        except Exception:  # mail-parser raises on unbalanced syntax; the raw header stays
            clauses = {}
        if len(text) > MAX_RECEIVED_CHARS:
            reading.note(f"{what} has {len(text):,} characters; only the first "
                         f"{MAX_RECEIVED_CHARS:,} were split into clauses")
        for key in _RECEIVED_KEYS:
            value = clauses.get(key) if isinstance(clauses, dict) else None
            if isinstance(value, str) and value.strip():
                hop[key] = reading.bound(f"{what} {key}", clean_text(value.strip()))
        hops.append(hop)
    return hops


# --- The message structure -----------------------------------------------------------------------

_PARAM_PIECE = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|[^";])*', re.S)


def _split_params(text: str) -> list[tuple[str, str]]:
    """``value; a=1; b="x;y"`` → [("value", ""), ("a", "1"), ("b", '"x;y"')], linear."""
    params: list[tuple[str, str]] = []
    position, end = 0, len(text)
    while position <= end:
        match = _PARAM_PIECE.match(text, position)
        piece = match.group() if match else ""
        position = (match.end() if match else position) + 1
        if "=" in piece and params:
            name, value = piece.split("=", 1)
            params.append((name.strip(), value.strip()))
        elif piece.strip() or not params:
            params.append((piece.strip(), ""))
    return params


def _unquote_param(value: Any) -> Any:
    if isinstance(value, tuple):
        return value[0], value[1], email_utils.unquote(value[2])
    return email_utils.unquote(value)


class BoundedMessage(Message):
    """A compat32 message whose parameter parsing is bounded and linear, and whose ``message/*``
    parts stay unparsed (so their original bytes can be hashed)."""

    def declared_content_type(self) -> str:
        return super().get_content_type()

    def get_content_type(self) -> str:
        # The feed parser recurses into message/* (and splits message/delivery-status into
        # header blocks). Reporting another type keeps the part as one opaque leaf.
        declared = super().get_content_type()
        return _OPAQUE_TYPE if declared.startswith("message/") else declared

    def _raw_header(self, header: str) -> str | None:
        wanted = header.lower()
        for name, value in self.raw_items():
            if str(name).lower() == wanted:
                return str(value)
        return None

    def get_params(self, failobj: Any = None, header: str = "content-type",
                   unquote: bool = True) -> Any:
        raw = self._raw_header(header)
        if raw is None:
            return failobj
        params = _split_params(raw[:MAX_PARAM_HEADER_CHARS])
        try:
            params = email_utils.decode_params(params)
        except Exception:  # malformed RFC 2231 parameters: keep them as written
            pass
        if unquote:
            return [(name, _unquote_param(value)) for name, value in params]
        return params

    def get_param(self, param: str, failobj: Any = None, header: str = "content-type",
                  unquote: bool = True) -> Any:
        params = self.get_params(None, header, unquote)
        if not params:
            return failobj
        wanted = param.lower()
        for name, value in params[1:]:
            if name.lower() == wanted:
                return value
        return failobj


_BOUNDARY_DECLARATION = re.compile(
    rb'(?i)boundary\s*(?:\*\d*\*?)?\s*=\s*(?:"([^"\r\n]{0,200})"|([^\s;"]{0,200}))')
_STRUCTURE_TOKEN = re.compile(
    rb'(?im)boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))|^--([^\r\n]{0,210})')


def _structure_too_large(raw: bytes) -> str | None:
    """Why the stdlib feed parser should not be given this message's MIME structure, or None.

    The feed parser recurses once per nesting level and builds every part in memory; this
    linear pre-scan estimates nesting and part count from boundary declarations and delimiters.
    """
    declarations = sum(1 for _ in _BOUNDARY_DECLARATION.finditer(raw))
    if declarations <= MAX_PARSE_DEPTH and raw.count(b"\n--") <= MAX_PARSE_PARTS:
        return None
    open_boundaries: list[bytes] = []
    declared: set[bytes] = set()
    deepest = parts = 0
    for match in _STRUCTURE_TOKEN.finditer(raw):
        boundary = match.group(1) or match.group(2)
        if boundary is not None:
            open_boundaries.append(boundary)
            declared.add(boundary)
            deepest = max(deepest, len(open_boundaries))
            continue
        line = (match.group(3) or b"").rstrip(b" \t\r")
        if line.endswith(b"--") and line[:-2] in declared:
            closing = line[:-2]
            while open_boundaries and closing in open_boundaries:
                if open_boundaries.pop() == closing:
                    break
        elif line in declared:
            parts += 1
    if deepest > MAX_PARSE_DEPTH:
        return (f"its multipart structure is nested about {deepest:,} levels deep "
                f"(limit {MAX_PARSE_DEPTH})")
    if parts > MAX_PARSE_PARTS:
        return f"it has about {parts:,} MIME parts (limit {MAX_PARSE_PARTS:,})"
    return None


def _parse(raw: bytes, reading: MailReading) -> tuple[Message, bool]:
    """The parsed message, and whether its body structure was read (else headers only)."""
    parser = BytesParser(_class=BoundedMessage, policy=compat32)
    reason = _structure_too_large(raw)
    if reason is None:
        try:
            return parser.parsebytes(raw), True
        except RecursionError:
            reason = "its MIME parts are nested too deeply for the e-mail parser"
    reading.note(f"the message body was not read: {reason}; the headers were read and the "
                 "body remains in the evidence copy")
    return parser.parsebytes(raw, headersonly=True), False


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):
        return b""
    return str(payload).encode("utf-8", "surrogateescape")


def _decoded_payload(part: Message, what: str, reading: MailReading) -> bytes:
    """The part's content with its transfer encoding undone; damaged base64 noted."""
    before = len(part.defects)
    try:
        data = part.get_payload(decode=True)
    except Exception as error:  # a decoder the stdlib does not guard
        reading.note(f"{what}: its transfer encoding could not be undone "
                     f"({type(error).__name__}); the encoded bytes were used")
        return _payload_bytes(part)
    if not isinstance(data, bytes):
        return b""
    new_defects = part.defects[before:]
    if any(isinstance(d, email_errors.InvalidBase64LengthDefect) for d in new_defects):
        # The stdlib returns the undecoded text here; salvage what decodes.
        clean = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        clean = clean[: len(clean) - len(clean) % 4]
        try:
            data = binascii.a2b_base64(clean)
        except binascii.Error:
            data = b""
        reading.note(f"{what}: its base64 is damaged (impossible length); the {len(data):,} "
                     "bytes that decoded were used")
    elif any(isinstance(d, (email_errors.InvalidBase64CharactersDefect,
                            email_errors.InvalidBase64PaddingDefect)) for d in new_defects):
        reading.note(f"{what}: its base64 is damaged (invalid characters or padding); the "
                     f"{len(data):,} bytes that decoded were used")
    return data


@dataclass
class _Leaf:
    part: BoundedMessage
    content_type: str
    alternative: int | None      # id of the nearest multipart/alternative ancestor
    name: str | None
    disposition: str | None
    _data: bytes | None = None

    def data(self, what: str, reading: MailReading) -> bytes:
        """The decoded content, decoded once."""
        if self._data is None:
            self._data = _decoded_payload(self.part, what, reading)
        return self._data

    @property
    def is_body_candidate(self) -> bool:
        return (self.content_type in ("text/plain", "text/html")
                and self.disposition != "attachment" and self.name is None)


def _part_name(part: Message, reading: MailReading) -> str | None:
    """The attachment's file name (RFC 2231 and RFC 2047 decoded), or None."""
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = part.get_param(param, None, header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text)
            charset, _, text = value
            try:
                data = text.encode("latin-1")
            except UnicodeEncodeError:
                data = text.encode("utf-8", "surrogateescape")
            name = decode_bytes(data, charset or "us-ascii", "an attachment name", reading)
        else:
            name = _undeclared_8bit(str(value), "an attachment name", reading)
            name = decode_encoded_words(_unfold(name), "an attachment name", reading)
        return reading.bound("an attachment name", clean_text(name.strip()))
    return None


def _disposition(part: Message) -> str | None:
    raw = part.get("content-disposition")
    if raw is None:
        return None
    return str(raw)[:MAX_PARAM_HEADER_CHARS].split(";", 1)[0].strip().lower() or None


def _recover_boundary(part: BoundedMessage, reading: MailReading) -> Message | None:
    """Re-read a multipart whose declared boundary never occurs with the boundary its body
    actually starts with (real sample mail_malformed_3), or None."""
    body = _payload_bytes(part)
    first = re.match(rb"\s*--([!-~][ -~]{0,198}?)[ \t]*\r?\n", body[:4_096])
    if not first or b'"' in first.group(1) or first.group(1).endswith(b"--"):
        return None
    boundary = first.group(1)
    header = (f"Content-Type: {part.declared_content_type()}; boundary=\"".encode("ascii")
              + boundary + b'"\r\n\r\n')
    recovered, structured = _parse(header + body, reading)
    if not structured or not isinstance(recovered.get_payload(), list):
        return None
    declared = part.get_param("boundary") or ""
    reading.note(
        f"a {part.declared_content_type()} part declares the boundary "
        f"{clean_text(str(declared))[:200]!r}, which never occurs; it was re-read with the "
        f"boundary {boundary.decode('ascii', 'replace')!r} found on its first line")
    return recovered


def walk_leaves(message: BoundedMessage, reading: MailReading) -> list[_Leaf]:
    """Every leaf part in document order, bounded in count and depth; iterative, not recursive."""
    leaves: list[_Leaf] = []
    stack: list[tuple[Message, int, int | None]] = [(message, 0, None)]
    walked = recoveries = 0
    while stack:
        part, depth, alternative = stack.pop()
        walked += 1
        if walked > MAX_MIME_PARTS:
            reading.note(f"the message has more than {MAX_MIME_PARTS:,} MIME parts; only the "
                         f"first {MAX_MIME_PARTS:,} were read")
            break
        assert isinstance(part, BoundedMessage)
        reading.defects.update(type(defect).__name__ for defect in part.defects)
        content_type = part.declared_content_type()
        children = part.get_payload()
        if (not isinstance(children, list) and content_type.startswith("multipart/")
                and recoveries < MAX_BOUNDARY_RECOVERIES
                and any(isinstance(d, (email_errors.StartBoundaryNotFoundDefect,
                                       email_errors.NoBoundaryInMultipartDefect))
                        for d in part.defects)):
            recoveries += 1
            recovered = _recover_boundary(part, reading)
            if recovered is not None:
                children = recovered.get_payload()
        if isinstance(children, list):
            if depth >= MAX_MIME_DEPTH:
                reading.note(f"MIME parts nested deeper than {MAX_MIME_DEPTH} levels were "
                             "not read")
                continue
            inner = id(part) if content_type == "multipart/alternative" else alternative
            stack.extend((child, depth + 1, inner) for child in reversed(children))
            continue
        leaves.append(_Leaf(part, content_type, alternative, _part_name(part, reading),
                            _disposition(part)))
    return leaves


# --- HTML to text --------------------------------------------------------------------------------

_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
_BLOCK_TAGS = {"br", "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5",
               "h6", "blockquote", "pre", "hr", "title", "body", "section", "article", "header",
               "footer", "dd", "dt"}
_RAW_TEXT_TAGS = {"script", "style", "title", "head"}
_HTML_SPACE = re.compile(r"[ \t\n\r\f\v]+")   # not U+00A0: &nbsp; is a visible space


def _visible(segment: str) -> str:
    return html.unescape(_HTML_SPACE.sub(" ", segment))


def html_to_text(source: str) -> str:
    """Visible text of an HTML body: tags, comments, scripts, styles and the head removed,
    entities decoded, white space collapsed as a browser does, block elements on new lines.

    A linear scan: ``html.parser`` is quadratic on unterminated ``</`` and ``<?`` in Python 3.11
    (87 s for 1 MB), and every search here resumes after what it found, or ends the scan.
    """
    out: list[str] = []
    unclosed: set[str] = set()   # raw-text elements with no closing tag after some point
    index, end = 0, len(source)
    while index < end:
        lt = source.find("<", index)
        if lt < 0:
            out.append(_visible(source[index:]))
            break
        out.append(_visible(source[index:lt]))
        following = source[lt + 1:lt + 2]
        if source.startswith("<!--", lt):
            close = source.find("-->", lt + 4)
            index = end if close < 0 else close + 3
            continue
        if not following or not (following.isalpha() or following in "/!?"):
            out.append("<")  # a literal "<" in the text
            index = lt + 1
            continue
        gt = source.find(">", lt + 1)
        if gt < 0:
            out.append(_visible(source[lt:]))  # a tag never closed: shown as text
            break
        name_match = _TAG_NAME.match(source, lt)
        name = name_match.group(1).lower() if name_match else ""
        index = gt + 1
        if name in _BLOCK_TAGS:
            out.append("\n")
        if name in _RAW_TEXT_TAGS and following != "/" and name not in unclosed:
            closer = re.compile(r"</" + name + r"\s*>", re.I).search(source, index)
            if closer is None:
                unclosed.add(name)   # later searches for it would fail too
            else:
                index = closer.end()
                out.append("\n")
    text = re.sub(r" {2,}", " ", "".join(out))   # spaces meeting where markup was removed
    text = re.sub(r" *\n[ \n]*", lambda m: "\n\n" if m.group().count("\n") > 1 else "\n",
                  text)
    return text.strip()


# --- Body and attachments ------------------------------------------------------------------------

def _text_of(leaf: _Leaf, reading: MailReading) -> str:
    what = f"the {leaf.content_type} part"
    data = leaf.data(what, reading)
    charset = leaf.part.get_content_charset()
    if leaf.content_type == "text/html":
        source = decode_bytes(data, charset, what, reading, limit_chars=MAX_HTML_CHARS)
        if len(source) > MAX_HTML_CHARS or len(data) > 4 * MAX_HTML_CHARS:
            reading.truncated = True
            reading.note(f"the HTML part is larger than {MAX_HTML_CHARS:,} characters; only "
                         "its beginning was reduced to text")
        return html_to_text(source[:MAX_HTML_CHARS])
    text = decode_bytes(data, charset, what, reading, limit_chars=MAX_TEXT_CHARS)
    if len(data) > 4 * MAX_TEXT_CHARS:
        reading.truncated = True
        reading.note(f"the text part has {len(data):,} bytes; only its beginning was decoded")
    return _STRAY_LINE_BREAK.sub("\n", text)


@dataclass
class _Body:
    text: str | None
    leaves: list[_Leaf]          # the chosen part and its alternatives (not attachments)


def choose_body(leaves: list[_Leaf], reading: MailReading) -> _Body:
    plain = next((leaf for leaf in leaves
                  if leaf.is_body_candidate and leaf.content_type == "text/plain"), None)
    rich = next((leaf for leaf in leaves
                 if leaf.is_body_candidate and leaf.content_type == "text/html"), None)
    chosen, text = None, None
    if plain is not None:
        chosen, text = plain, _text_of(plain, reading)
        if not text.strip() and rich is not None:
            reading.note("the text/plain part is empty; the text was extracted from the "
                         "HTML part (tags removed)")
            chosen, text = rich, _text_of(rich, reading)
    elif rich is not None:
        reading.note("the message has no text/plain part; the text was extracted from the "
                     "HTML part (tags removed)")
        chosen, text = rich, _text_of(rich, reading)
    else:
        reading.note("the message has no text part")
        return _Body(None, [])
    body = [chosen]
    if chosen.alternative is not None:
        body.extend(leaf for leaf in leaves if leaf is not chosen and leaf.is_body_candidate
                    and leaf.alternative == chosen.alternative)
    return _Body(clean_text(text), body)


def _attachment(leaf: _Leaf, reading: MailReading) -> Attachment:
    what = f"attachment {leaf.name!r}" if leaf.name else f"a {leaf.content_type} part"
    return hashed_attachment(leaf.name, leaf.data(what, reading))


def _body_part_detail(leaf: _Leaf, reading: MailReading) -> dict[str, Any]:
    data = leaf.data(f"the {leaf.content_type} part", reading)
    charset = leaf.part.get_content_charset()
    return {"content_type": leaf.content_type,
            "charset": reading.bound("a charset", clean_text(str(charset))) if charset else None,
            "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


# --- Gmail ---------------------------------------------------------------------------------------

# A mailbox's name (a Gmail label, a Maildir or Thunderbird folder) → the event's flag.
MAILBOX_FLAGS = {
    "sent": "sent", "sent items": "sent", "sent mail": "sent", "sent messages": "sent",
    "draft": "draft", "drafts": "draft",
    "trash": "trash", "bin": "trash", "deleted": "trash", "deleted items": "trash",
    "deleted messages": "trash",
    "junk": "spam", "spam": "spam", "junk e-mail": "spam", "junk email": "spam",
    "bulk mail": "spam",
}


def gmail_label_flags(headers: MailHeaders, details: dict[str, Any],
                      reading: MailReading) -> set[str]:
    """The flags Gmail's labels (``X-Gmail-Labels``) give; the labels kept in ``details``."""
    labels_raw = headers.first("x-gmail-labels")
    if labels_raw is None:
        return set()
    labels = read_gmail_labels(labels_raw, reading)
    details["gmail_labels"] = labels
    return {flag for label in labels if (flag := MAILBOX_FLAGS.get(label.strip().lower()))}


def read_gmail_labels(raw: str, reading: MailReading) -> list[str]:
    text = _undeclared_8bit(_unfold(_header_for_reading(raw, "X-Gmail-Labels", reading,
                                                        MAX_HEADER_CHARS)),
                            "the X-Gmail-Labels header", reading)
    try:
        labels = next(csv.reader([text], skipinitialspace=True), [])
    except csv.Error:
        labels = text.split(",")
    if len(labels) > MAX_GMAIL_LABELS:
        reading.note(f"the message has {len(labels):,} Gmail labels; the first "
                     f"{MAX_GMAIL_LABELS:,} were kept")
    decoded = []
    for label in labels[:MAX_GMAIL_LABELS]:
        label = decode_encoded_words(label.strip(), "a Gmail label", reading)
        if label:
            decoded.append(reading.bound("a Gmail label", label))
    return decoded


# --- The message ---------------------------------------------------------------------------------

@dataclass
class _Addresses:
    sender: str | None
    recipients: list[str]


def mail_identifiers(headers: MailHeaders, details: dict[str, Any],
                 reading: MailReading) -> _Addresses:
    unusable: list[dict[str, str]] = []

    def usable(mailbox: _Mailbox, header: str) -> bool:
        if not mailbox.address:
            return False          # "<>": the null address (RFC 5321), nobody to identify
        if is_address(mailbox.address):
            if mailbox.display and is_address(mailbox.display.strip("'\" ")) and (
                    mailbox.display.strip("'\" ").lower() != mailbox.address.lower()):
                reading.note(f"the {header} header shows the display name "
                             f"{mailbox.display[:200]!r}, itself an e-mail address, for the "
                             f"address {mailbox.address[:200]!r}")
            return True
        if len(unusable) < 100:
            unusable.append({"header": header,
                             "value": reading.bound(f"an address in {header}",
                                                    mailbox.address) or ""})
        return False

    sender = None
    from_header = read_address_header(headers.all("from"), "From", reading)
    if from_header.text is not None:
        details["from_header"] = reading.bound("the From header text kept in details",
                                               from_header.text)
    from_boxes = [box for box in from_header.mailboxes if usable(box, "From")]
    if from_boxes:
        sender = "email:" + from_boxes[0].address
        if len(from_header.mailboxes) > 1:
            reading.note(f"the From header names {len(from_header.mailboxes)} addresses; the "
                         "first is the sender")
    elif from_header.text is None:
        reading.note("the message has no From header")
    else:
        reading.note("the From header holds no usable e-mail address")

    recipients: list[str] = []
    seen: set[str] = set()
    total = 0
    for name in ("To", "Cc", "Bcc"):
        header = read_address_header(headers.all(name), name, reading)
        if header.text is not None:
            details[f"{name.lower()}_header"] = reading.bound(
                f"the {name} header text kept in details", header.text)
        for mailbox in header.mailboxes:
            if not usable(mailbox, name):
                continue
            key = mailbox.address.lower()
            if key in seen:
                continue
            seen.add(key)
            total += 1
            if len(recipients) < MAX_RECIPIENTS:
                recipients.append("email:" + mailbox.address)
    if total > MAX_RECIPIENTS:
        reading.note(f"the message has {total:,} distinct recipients; the first "
                     f"{MAX_RECIPIENTS:,} were kept as identifiers")
    if unusable:
        details["unusable_addresses"] = unusable
        reading.note(f"{len(unusable)} address(es) without '@' (or too long) were kept in "
                     "details.unusable_addresses, not used as identifiers")
    return _Addresses(sender, recipients)


def mail_time(headers: MailHeaders, received: list[dict[str, Any]], fallback: RawTime | None,
             fallback_note: str | None, reading: MailReading) -> RawTime | None:
    dates = headers.all("date")
    if len(dates) > 1:
        reading.note(f"the message has {len(dates)} Date headers; the first was used")
    if dates:
        raw = dates[0]
        parsed = parse_mail_date(raw, "the Date header")
        if parsed is not None:
            for note in parsed.notes:
                reading.note(note)
            return RawTime(raw=reading.bound("the Date header", clean_text(raw.strip())) or "",
                           value=parsed.value, basis=parsed.basis,
                           precision=parsed.precision, source=SOURCE_DATE,
                           device_clock=False)
        reading.note(f"the Date header {clean_text(raw.strip())[:200]!r} could not be read "
                     "as a date")
    if fallback is not None:
        if fallback_note:
            reading.note(fallback_note)
        return fallback
    for number, hop in enumerate(received, start=1):
        date_text = hop.get("date")
        if not date_text:
            continue
        parsed = parse_mail_date(date_text, f"the date of Received header {number}")
        if parsed is None:
            continue
        reading.note(f"the message has no usable Date header; the time is the date of "
                     f"Received header {number} (counting from the top), when that server "
                     "received it")
        for note in parsed.notes:
            reading.note(note)
        return RawTime(raw=reading.bound("a Received date", date_text) or "", value=parsed.value,
                       basis=parsed.basis, precision=parsed.precision, source=SOURCE_RECEIVED,
                       device_clock=False)
    return None


def simple_details(headers: MailHeaders, details: dict[str, Any], reading: MailReading) -> None:
    for key, header in (("message_id", "Message-ID"), ("in_reply_to", "In-Reply-To"),
                        ("references", "References"), ("reply_to", "Reply-To"),
                        ("return_path", "Return-Path"),
                        ("x_originating_ip", "X-Originating-IP"),
                        ("gmail_thread_id", "X-GM-THRID")):
        raw = headers.first(header)
        if raw is not None:
            details[key] = reading.bound(f"the {header} header text kept in details",
                                         decode_header_text(raw, header, reading))
    date = headers.first("date")
    if date is not None:
        details["date_header"] = reading.bound("the Date header text kept in details",
                                               clean_text(date.strip()))


def _read_message(raw: bytes, locator: str, fallback_time: RawTime | None,
                  fallback_note: str | None, notes: Sequence[str],
                  extra_details: dict[str, Any] | None) -> Event | Reject:
    reading = MailReading()
    for note in notes:
        reading.note(note)
    message, structured = _parse(raw, reading)
    headers = MailHeaders(message)
    details: dict[str, Any] = dict(extra_details or {})
    if not any(True for _ in message.raw_items()):
        reading.note("the message has no headers")
    addresses = mail_identifiers(headers, details, reading)
    simple_details(headers, details, reading)
    received = read_received(headers.all("received"), reading)
    if received:
        details["received"] = received
    time = mail_time(headers, received, fallback_time, fallback_note, reading)
    if time is None:
        dates = headers.all("date")
        if dates:
            return Reject(locator, f"the Date header {clean_text(dates[0].strip())[:200]!r} could "
                                   "not be read as a date, and there is no Received time or mbox "
                                   "From_ line: the message cannot be placed in time")
        return Reject(locator, NO_TIME_REASON)

    subject_raw = headers.first("subject")
    subject = None
    if subject_raw is not None:
        subject = reading.bound("the subject", decode_header_text(subject_raw, "Subject",
                                                                  reading))

    flags = gmail_label_flags(headers, details, reading)
    direction = "outgoing" if "sent" in flags else "unknown"

    text: str | None = None
    attachments: list[Attachment] = []
    if structured:
        leaves = walk_leaves(message, reading)  # type: ignore[arg-type]
        body = choose_body(leaves, reading)
        text = reading.bound("the text", body.text, MAX_TEXT_CHARS)
        body_ids = {id(leaf) for leaf in body.leaves}
        details["body_parts"] = [_body_part_detail(leaf, reading) for leaf in body.leaves]
        attachments = [_attachment(leaf, reading) for leaf in leaves if id(leaf) not in body_ids]
    else:
        unread = _payload_bytes(message)
        details["unread_body"] = {"size": len(unread),
                                  "sha256": hashlib.sha256(unread).hexdigest()}

    reading.defects.update(type(defect).__name__ for defect in message.defects)
    defects = sorted(reading.defects - _NOTED_ELSEWHERE)
    if defects:
        reading.note("the e-mail parser reports these defects in the message: "
                     + ", ".join(defects))
    if reading.truncated:
        flags.add("truncated")
    event = Event(kind="email", platform="email", time=time, locator=locator,
                  direction=direction, sender=addresses.sender,
                  recipients=addresses.recipients, subject=subject, text=text,
                  attachments=attachments, flags=sorted(flags), details=details,
                  notes=reading.final_notes())
    event.check()
    return event


def read_message(raw: bytes, locator: str, *, fallback_time: RawTime | None = None,
                 fallback_note: str | None = None, notes: Sequence[str] = (),
                 extra_details: dict[str, Any] | None = None) -> Event | Reject:
    """One raw message → an Event, or a Reject with the reason. Never raises.

    ``fallback_time`` (the mbox From_ line) is used when the Date header is missing or cannot be
    read, with ``fallback_note``; ``notes`` and ``extra_details`` come from the container.
    """
    try:
        return _read_message(raw, locator, fallback_time, fallback_note, notes, extra_details)
    except Exception as error:  # evidence rule: a bad message becomes a reject, never a crash
        message = clean_text(str(error))[:500]
        return Reject(locator, f"could not be read: {type(error).__name__}: {message}")
