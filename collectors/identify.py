"""Identifying a file by its content, not its name.

libmagic gives the media type; the head of the file is kept so that parsers can apply their own
sniffers where libmagic is vague (it calls an mbox ``text/plain`` and some e-mails
``application/octet-stream``). An SQLite database is told apart by its tables and columns, which
are read here (plaso's idea of a required structure): the head alone does not hold the schema of
a database as large as Android's ``mmssms.db``.
"""

from __future__ import annotations

import codecs
import sqlite3
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import magic

HEAD_BYTES = 64 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def bom_codec(first: bytes) -> str | None:
    """The codec a file's byte-order mark names (UTF-32, UTF-16 or UTF-8, each skipping the mark),
    or None when it has none. UTF-32's little-endian mark starts with UTF-16's, so it is
    looked for first."""
    if first.startswith(UTF32_BOMS):
        return "utf-32"
    if first.startswith(UTF16_BOMS):
        return "utf-16"
    if first.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return None


@dataclass(frozen=True)
class Sample:
    """What is known about a file before any parser reads it."""

    media_type: str   # from libmagic, e.g. "message/rfc822", "text/plain"
    head: bytes       # the first HEAD_BYTES bytes
    name: str         # the file name in the export (last path component)
    size: int
    # SQLite only: table name -> its column names (lower case); None for any other file, and for
    # a database whose schema cannot be read (encrypted, truncated before its schema).
    sqlite_tables: Mapping[str, frozenset[str]] | None = field(default=None, compare=False)
    # What the case file says about the source this file came from (e.g. a CSV column mapping).
    options: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # Where the file sits in the case ("exports/Maildir/cur/…:2,S"), for formats a folder names.
    case_path: str = field(default="", compare=False)

    @cached_property
    def text_head(self) -> bytes:
        """The head as UTF-8, for recognisers that look for text: the head itself, unless a
        UTF-16 or UTF-32 byte order mark says the file is written in one of those (an export
        re-saved as "Unicode" by an editor); then it is decoded, and encoded again as UTF-8
        without the mark. Readers decode such a file by its mark too."""
        codec = bom_codec(self.head)
        if codec not in ("utf-16", "utf-32"):
            return self.head
        decoder = codecs.getincrementaldecoder(codec)(errors="replace")
        return decoder.decode(self.head).encode("utf-8", "surrogatepass")


def media_type_of(head: bytes) -> str:
    if not head:
        return "application/x-empty"
    return magic.from_buffer(head, mime=True) or "application/octet-stream"


def magic_version() -> str:
    """The libmagic release that identified the files, e.g. "5.44"."""
    number = magic.version()
    return f"{number // 100}.{number % 100:02d}"


def read_only_uri(path: Path) -> str:
    """An SQLite URI that opens a file without ever writing it or any file beside it.

    ``immutable=1`` also tells SQLite not to look for a write-ahead log: callers that want one
    applied open a scratch copy instead (:mod:`courseline.parsers._sqlite`).
    """
    from urllib.parse import quote
    return f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"


def sqlite_tables(path: Path) -> dict[str, frozenset[str]] | None:
    """The tables of an SQLite file and their columns, or None when they cannot be read."""
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
    except sqlite3.Error:
        return None
    try:
        # A file cut short is refused outright unless the schema is read leniently; reading
        # (never writing: the connection is read-only) what is there is the point.
        conn.execute("PRAGMA writable_schema = ON")
        names = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        tables = {}
        for name in names:
            columns = conn.execute("SELECT name FROM pragma_table_info(?)", (name,)).fetchall()
            tables[name.lower()] = frozenset(str(c[0]).lower() for c in columns)
        return tables
    except sqlite3.Error:  # not a database after all, encrypted, or damaged in its schema
        return None
    finally:
        conn.close()


def sample_file(path: Path, name: str | None = None, media_type: str | None = None,
                head: bytes | None = None, size: int | None = None) -> Sample:
    """What is known of a file before it is parsed; ``media_type``: libmagic's answer for it,
    when it was asked moments ago; ``head`` and ``size``: its first bytes and its size, when
    they were read moments ago (the evidence store has just copied a small file)."""
    if head is None or size is None:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    head = head[:HEAD_BYTES]
    tables = sqlite_tables(path) if head.startswith(SQLITE_MAGIC) else None
    return Sample(media_type=media_type or media_type_of(head), head=head, name=name or path.name,
                  size=size, sqlite_tables=tables)
