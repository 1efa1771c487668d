"""Internet message files (``.eml``): one RFC 5322 / MIME message per file.

Format: RFC 5322 (header block, blank line, body), MIME (RFC 2045-2049), encoded words (RFC 2047)
and parameter values (RFC 2231), raw UTF-8 headers (RFC 6532). Written by mail clients ("Save
as"), webmail downloads, and forensic tools exporting single messages; see research formats.md
§1.1. The reading of the message itself is shared with the mbox parser (:mod:`._mail`, whose
docstring lists what was checked on which real samples).

Recognition: libmagic's ``message/rfc822`` (or ``message/news``), or, because libmagic calls some
real e-mails ``text/plain`` (``mail_test_16``, ``mail_test_18``) or ``application/octet-stream``
(``mail_malformed_3``: raw 8-bit body), a sniff of the head: the first non-blank line is a
``Name: value`` header and at least two of From, To, Date, Subject, Message-ID, Received,
MIME-Version, Return-Path, Delivered-To appear in the header block. A file starting with
``From `` is an mbox (one message with its From_ line) and is left to the mbox parser.

Checked on the 10 real samples in ``realworld/email/eml`` (SpamScope/mail-parser, commit
01c177f): all recognised, one event each (tests/parsers/test_realworld_eml.py). Not checked on a
real file: ``.eml`` with a UTF-8 byte-order mark or leading blank lines (handled, and noted, from
synthetic tests only).

One file is one record; its locator is ``file``. A file over 256 MiB is rejected unread (a
message that large is not a message a person wrote; memory stays bounded).
"""

from __future__ import annotations

import re
from typing import Iterator

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._mail import read_message
from courseline.timeline.event import Event, Reject

MAX_EML_BYTES = 256 * 1024 * 1024
LOCATOR = "file"

MEDIA_TYPES = {"message/rfc822", "message/news"}
KNOWN_HEADERS = {b"from", b"to", b"date", b"subject", b"message-id", b"received",
                 b"mime-version", b"return-path", b"delivered-to"}
_HEADER_LINE = re.compile(rb"([!-9;-~]{1,76})[ \t]*:")
_BOM = b"\xef\xbb\xbf"
_PLAIN_HEADER_NAME = re.compile(rb"[A-Za-z0-9-]{1,76}[ \t]*:")


def _header_block(head: bytes) -> list[bytes]:
    """The lines of the head up to the first blank line, after leading blank lines and a BOM;
    none when the first is no header line (asked of every file: a photo's head is not split)."""
    head = head.removeprefix(_BOM).lstrip(b"\r\n")
    if not _HEADER_LINE.match(head):   # a header's name and colon cannot run past its line
        return []
    lines = head.splitlines()
    block = []
    for line in lines:
        if not line.strip():
            break
        block.append(line)
    return block


def starts_with_header(head: bytes) -> bool:
    """Whether the head opens with a ``Name: value`` header line whose name is a word of
    letters, digits and hyphens (as every real header's is; JSON's ``{"name":`` is not): a
    message, if a sparse one, where its place already says it is mail (a Maildir's cur/)."""
    block = _header_block(head)
    return bool(block) and _PLAIN_HEADER_NAME.match(block[0]) is not None


def looks_like_message(head: bytes) -> bool:
    """The sniff described in the module docstring."""
    block = _header_block(head)
    if not block:
        return False
    found = set()
    for line in block:
        match = _HEADER_LINE.match(line)
        if match and match.group(1).lower() in KNOWN_HEADERS:
            found.add(match.group(1).lower())
    return len(found) >= 2


def strip_leading(raw: bytes) -> tuple[bytes, list[str]]:
    """Drop a byte-order mark and blank lines before the headers (the stdlib parser would read
    a message starting with a blank line as having no headers); say so."""
    notes = []
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
        notes.append("the file starts with a UTF-8 byte-order mark; it was skipped")
    stripped = raw.lstrip(b"\r\n")
    if len(stripped) != len(raw) and stripped:
        notes.append(f"the file starts with {len(raw) - len(stripped)} blank-line byte(s) "
                     "before the headers; they were skipped")
        raw = stripped
    return raw, notes


def message_bytes(source: SourceFile) -> bytes | Reject:
    """The bytes of a file holding one message, or a Reject saying why they are not read (it
    cannot be opened, or it is larger than one message a person writes)."""
    try:
        with source.path.open("rb") as handle:
            raw = handle.read(MAX_EML_BYTES + 1)
    except OSError as error:
        return Reject(LOCATOR, f"could not be read: {type(error).__name__}: {error}")
    if len(raw) > MAX_EML_BYTES:
        return Reject(LOCATOR, f"the file is over {MAX_EML_BYTES // (1024 * 1024)} MiB, the "
                               "limit for one message: not read")
    return raw


class EmlParser(Parser):
    NAME = "eml"
    DATA_FORMAT = "Internet message (.eml, RFC 5322/MIME)"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if sample.head.startswith(b"From "):
            return False  # an mbox, even of one message
        return sample.media_type in MEDIA_TYPES or looks_like_message(sample.head)

    def parse(self, source: SourceFile) -> Iterator[Event | Reject]:
        raw = message_bytes(source)
        if isinstance(raw, Reject):
            yield raw
            return
        raw, notes = strip_leading(raw)
        yield read_message(raw, LOCATOR, notes=notes)
