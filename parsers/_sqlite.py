"""Reading SQLite evidence: never writing it, applying its write-ahead log, surviving damage.

Phones keep their records in SQLite databases. Three things make reading them as evidence
different from reading them as data:

* **Never write.** Opening a database read-write, or even read-only in WAL mode, can create or
  change files beside it (``-shm``, ``-wal``, a checkpoint into the main file). A database in the
  rollback-journal format is opened ``immutable``, which writes nothing anywhere. A database in
  WAL format is copied with its ``-wal`` file into a scratch folder and opened there, so the log
  is applied to the copy and the evidence stays untouched.
* **Recent records live in the log.** A phone writes new messages to ``mmssms.db-wal`` and
  folds them into ``mmssms.db`` later; an extraction that has both files must read both. When the
  database is in WAL format and its log was not in the export, the source says so (records only
  in the log cannot be read).
* **Damage is expected.** A file cut short (an interrupted copy) is opened anyway, with the
  source saying how much is missing. A truncated or partly overwritten file raises ``DatabaseError`` part-way
  through a table. The rows read before the fault are kept, the fault becomes a reject naming the
  table and the last row read, and the parser carries on with the next table.

A parser declares the tables and columns it needs in ``REQUIRED_TABLES`` (plaso's "required
structure"); recognition compares them with the schema read at identification time
(:func:`courseline.collectors.identify.sqlite_tables`). Columns a version of the app lacks are
selected as NULL (:meth:`Database.select`), so one parser handles several schema versions.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from courseline.collectors.hashing import hash_file
from courseline.collectors.identify import Sample, read_only_uri
from courseline.parsers import Parser, SourceFile
from courseline.timeline.event import MAX_FIELD_CHARS, Reject, SourceNote, bounded, clean_text

Row = Mapping[str, Any]   # a row with its values made safe (safe_row)
_WAL_FORMAT = 2  # byte 18 of the header (file format write version): 1 rollback journal, 2 WAL


def required(**tables: str) -> dict[str, frozenset[str]]:
    """``required(sms="_id address date")`` -> ``{"sms": frozenset({"_id", "address", "date"})}``."""
    return {name: frozenset(columns.split()) for name, columns in tables.items()}


class SQLiteParser(Parser):
    """A parser of one kind of SQLite database, recognised by its tables and columns."""

    REQUIRED_TABLES: ClassVar[Mapping[str, frozenset[str]]] = {}

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        tables = sample.sqlite_tables
        if not tables or not cls.REQUIRED_TABLES:
            return False
        return all(name in tables and columns <= tables[name]
                   for name, columns in cls.REQUIRED_TABLES.items())


class Database:
    """A read-only connection with helpers for schema differences and damage."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._columns: dict[str, frozenset[str]] = {}

    def columns(self, table: str) -> frozenset[str]:
        if table not in self._columns:
            try:
                rows = self.conn.execute("SELECT name FROM pragma_table_info(?)", (table,))
                self._columns[table] = frozenset(str(r[0]).lower() for r in rows)
            except sqlite3.DatabaseError:
                self._columns[table] = frozenset()
        return self._columns[table]

    def has(self, table: str, *columns: str) -> bool:
        found = self.columns(table)
        return bool(found) and all(c.lower() in found for c in columns)

    def select(self, table: str, wanted: list[str], order_by: str, where: str = "",
               alias: str | None = None) -> str:
        """SELECT of the wanted columns; those the table lacks come back as NULL."""
        found = self.columns(table)
        prefix = f"{alias}." if alias else ""
        parts = [f'{prefix}"{c}"' if c.lower() in found else f'NULL AS "{c}"' for c in wanted]
        name = f'"{table}" {alias}' if alias else f'"{table}"'
        clause = f" WHERE {where}" if where else ""
        return f"SELECT {', '.join(parts)} FROM {name}{clause} ORDER BY {order_by}"

    def rows(self, sql: str, what: str, params: tuple = (),
             key: str | None = None) -> Iterator[sqlite3.Row | Reject]:
        """The rows of a query; a fault part-way gives one reject after the rows already read.

        ``what`` names the table for the reject's locator (``sqlite:sms``). ``key``: the column
        the query is ordered by, a positive integer row id. On a damaged page SQLite can decode
        rows of zeros or repeat a row; a row whose key is not above the previous one is such a
        phantom, and is rejected as damage rather than read as a record.
        """
        count = 0
        last = 0
        try:
            cursor = self.conn.execute(sql, params)
            for row in cursor:
                count += 1
                if key is not None:
                    current = row[key]
                    if not isinstance(current, int) or current <= last:
                        yield Reject(f"sqlite:{what}/after {key}={last}",
                                     f"a row decoded from a damaged page ({key} {current!r} "
                                     f"after {last}): not a record; records here may be lost")
                        continue
                    last = current
                yield row
        except sqlite3.DatabaseError as error:
            yield Reject(f"sqlite:{what}",
                         f"the table could not be read past row {count} "
                         f"({type(error).__name__}: {error}); the rows before it were kept")

    def lookup(self, sql: str, what: str) -> tuple[dict, list[Reject]]:
        """A small table read whole into a dict keyed by its first column (handles, addresses)."""
        found: dict = {}
        faults: list[Reject] = []
        for row in self.rows(sql, what):
            if isinstance(row, Reject):
                faults.append(row)
            else:
                found.setdefault(row[0], []).append(row)
        return found, faults


def safe_value(value: object, limit: int | None = MAX_FIELD_CHARS) -> object:
    """A database value fit for an event: text cleaned and bounded (``limit`` None: not cut), a
    BLOB found in a text column decoded as UTF-8, a non-finite number written out (SQLite's
    dynamic typing lets any column hold any of these)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        value = clean_text(value)
        return value if limit is None else bounded(value, limit)[0]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def as_int(value: object) -> int | None:
    """A database value as an integer, or None when it is not one (SQLite stores any type)."""
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def safe_row(row: sqlite3.Row, blobs: frozenset[str] = frozenset(),
             unbounded: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A row with every value made safe, except the ``blobs`` columns, kept as stored."""
    found = dict(zip(row.keys(), row))
    for name, value in found.items():
        cls = value.__class__
        # Integers and NULLs (most of a phone's columns) need nothing; short clean text needs
        # only the check that it encodes: the hot path.
        if cls is int or value is None or name in blobs:
            continue
        if cls is str and len(value) <= MAX_FIELD_CHARS and value.isascii():
            continue
        found[name] = safe_value(value, None if name in unbounded else MAX_FIELD_CHARS)
    return found


def _cut_short(db: Database, source: SourceFile) -> list[SourceNote]:
    """Let SQLite read a database that was cut short (an interrupted copy) up to the cut.

    SQLite refuses to open a file shorter than the page count its header records, unless
    ``writable_schema`` is on; on a read-only connection (or our scratch copy, which is never
    written) the pragma changes nothing but that, and the rows before the cut are read, the
    missing pages giving the usual "could not be read past row N" rejects. Must run before the
    first query. (Checked with SQLite 3.40.)
    """
    db.conn.execute("PRAGMA writable_schema = ON")
    head = source.sample.head
    if len(head) < 96:
        return []
    page_size = struct.unpack_from(">H", head, 16)[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack_from(">I", head, 28)[0]
    header_valid = pages > 0 and head[24:28] == head[92:96]
    expected = pages * page_size
    if header_valid and expected > source.sample.size:
        return [SourceNote(
            f"the database file is {source.sample.size} bytes but its header records "
            f"{pages} pages of {page_size} bytes ({expected} bytes): the file was cut short, "
            f"and records on the missing pages could not be read")]
    return []


def _is_wal_format(sample: Sample) -> bool:
    return len(sample.head) > 18 and sample.head[18] == _WAL_FORMAT


def _connect(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True)
    conn.row_factory = sqlite3.Row
    # Evidence text is not always valid UTF-8 (a truncated multi-byte character): keep it readable.
    conn.text_factory = lambda data: data.decode("utf-8", "replace")
    return conn


@contextmanager
def open_database(source: SourceFile) -> Iterator[tuple[Database, list[SourceNote]]]:
    """The database of a source, read-only, with its write-ahead log applied when the export has
    it; and notes saying what was done."""
    notes: list[SourceNote] = []
    if not _is_wal_format(source.sample):
        conn = _connect(read_only_uri(source.path))
        try:
            database = Database(conn)
            notes += _cut_short(database, source)
            yield database, notes
        finally:
            conn.close()
        return
    log_name = f"{source.name}-wal"
    log = source.related(log_name)
    with tempfile.TemporaryDirectory(prefix="courseline-sqlite-") as scratch:
        copy = Path(scratch) / "evidence.db"
        shutil.copyfile(source.path, copy)
        if log is not None:
            shutil.copyfile(log, Path(scratch) / "evidence.db-wal")
            notes.append(SourceNote(
                f"the database is in write-ahead-log format; its log {log_name} (sha256 "
                f"{hash_file(log).sha256}) from the same export was applied to a scratch copy "
                f"before reading, so records not yet folded into the database were read too"))
        else:
            notes.append(SourceNote(
                f"the database is in write-ahead-log format and the export holds no {log_name}: "
                f"records still only in the log (often the newest) could not be read"))
        # The scratch copy is ours: opened read-write so SQLite can build the log's index file.
        conn = _connect(copy.as_uri())
        try:
            database = Database(conn)
            notes += _cut_short(database, source)
            yield database, notes
        finally:
            conn.close()
