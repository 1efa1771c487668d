"""Reading one source: run its parser and turn every record into a stored row or a reject.

This is the part of the pipeline that costs time in proportion to the evidence, so it is kept
apart from the case database: the same function writes into the case database (one source at a
time, inside its transaction) or into a scratch database in a worker process (several large
sources at once, one per processor, or batches of a camera roll's photos), from which the
pipeline then imports the rows in one statement. Everything a worker needs travels in a
:class:`ReadJob`, which pickles.
"""

from __future__ import annotations

import json
import multiprocessing
import posixpath
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from courseline.collectors.identify import Sample
from courseline.parsers import SourceFile, parser_named
from courseline.timeline.event import Event, Reject, SourceNote, canonical_json, sha256_hex
from courseline.timeline.records import SourceSettings, merge_key, normalise_event
from courseline.timeline.timeutil import UNDATED

_BATCH = 2000
EVENT_COLUMNS = ("source_id", "event_id", "instant_us", "precision", "merge_key", "record",
                 "provenance")
SCRATCH_SCHEMA = f"""
CREATE TABLE events ({", ".join(EVENT_COLUMNS)});
CREATE TABLE rejects (source_id, locator, reason);
"""


@dataclass(frozen=True)
class RelatedFiles:
    """Finds the evidence copy of a file beside a source in the same export, by a path relative
    to the source's folder (``mmssms.db-wal``, ``../app_parts/PART_1``). Inside an archive
    (``chat.zip!_chat.txt``) the folder is the member's folder within it, and a path that would
    leave the archive finds nothing."""

    folder: str        # the source's folder: ``exports/phone`` or ``exports/chat.zip!inner``
    # Case path -> evidence copy. The pipeline gives text, which pickles for a worker process
    # many times faster than paths: a camera roll sends thousands with every batch.
    copies: dict[str, str | Path] = field(default_factory=dict)

    @staticmethod
    def folder_of(case_path: str) -> str:
        archive, bang, member = case_path.rpartition("!")
        return f"{archive}!{posixpath.dirname(member)}" if bang else posixpath.dirname(case_path)

    def __call__(self, relative: str) -> Path | None:
        archive, bang, inner = self.folder.rpartition("!")
        if not bang:
            found = self.copies.get(posixpath.normpath(posixpath.join(self.folder, relative)))
        else:
            path = posixpath.normpath(posixpath.join(inner, relative))
            if path == ".." or path.startswith(("../", "/")):
                return None
            found = self.copies.get(f"{archive}!{path}")
        return None if found is None else Path(found)


@dataclass(frozen=True)
class ReadJob:
    source_id: int
    parser: str
    path: Path
    case_path: str
    name: str
    sample: Sample
    related: RelatedFiles
    settings: SourceSettings
    provenance: dict[str, Any]   # exhibit, source_sha256, path, parser, parser_version


@dataclass
class ReadOutcome:
    records: int = 0
    events: int = 0
    rejected: int = 0
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None
    looked_beside: bool = False   # the parser asked for another file of the export

    def counts(self) -> dict[str, int]:
        return {"records": self.records, "events": self.events, "rejected": self.rejected}


class ProvenanceText:
    """The canonical JSON of a source's provenance entries, made once per source: only the
    locator differs from record to record (it sorts between "exhibit" and "parser")."""

    def __init__(self, fields: dict[str, Any]):
        marker = "\x00locator\x00"
        text = canonical_json({**fields, "locator": marker})
        self.head, _, self.tail = text.partition(canonical_json(marker))

    def entry(self, locator: str) -> str:
        return self.head + canonical_json(locator, floats=False) + self.tail


def row_for(item: Event | Reject, settings: SourceSettings, provenance: ProvenanceText,
            seen: dict[bytes, int], source_id: int) -> tuple | Reject:
    """The stored row of one record (see ``EVENT_COLUMNS``), or why it cannot be one."""
    if isinstance(item, Reject):
        return item
    try:
        made = normalise_event(item, settings)
    except (ValueError, OverflowError, TypeError) as exc:  # a year-1 date pushed out of range,
        # or a value of a type JSON cannot hold (a parser bug): this record, not the source
        return Reject(item.locator, f"could not be normalised: {exc}")
    record, text = made.record, made.text
    event_id = sha256_hex(text)
    # Remembered by half the digest, as bytes: a third of the memory of the hex text, for
    # sources of millions of records (a location history), and no less exact in practice.
    key = bytes.fromhex(event_id[:32])
    repeat = seen.get(key, 0)
    seen[key] = repeat + 1
    if repeat:
        # The same record twice in one source: two events, never merged, told apart.
        record["repeat"] = repeat
        text = canonical_json(record)
        event_id = sha256_hex(text)
    return (source_id, event_id, made.instant_us, record["precision"] or UNDATED,
            merge_key(record), text,
            provenance.entry(item.locator))


def read_source(job: ReadJob, conn: sqlite3.Connection,
                advance: Callable[[int], Any] = lambda n: None) -> ReadOutcome:
    """Parse the job's source into ``conn``'s ``events`` and ``rejects`` tables."""
    parser_cls = parser_named(job.parser)
    provenance = ProvenanceText(job.provenance)
    outcome = ReadOutcome()
    rows: list[tuple] = []
    seen: dict[bytes, int] = {}
    def related(relative: str) -> Path | None:
        outcome.looked_beside = True
        return job.related(relative)
    items = parser_cls().parse(SourceFile(job.path, job.case_path, job.name, job.sample,
                                          related=related, region=job.settings.region))
    for item in _guarded(items, outcome):
        if isinstance(item, SourceNote):
            outcome.notes.append(item.text)
            continue
        outcome.records += 1
        row = row_for(item, job.settings, provenance, seen, job.source_id)
        if isinstance(row, Reject):
            outcome.rejected += 1
            conn.execute("INSERT INTO rejects (source_id, locator, reason) VALUES (?, ?, ?)",
                         (job.source_id, row.locator, row.reason))
            continue
        outcome.events += 1
        rows.append(row)
        if len(rows) >= _BATCH:
            _insert(conn, rows)
            advance(_BATCH)
    _insert(conn, rows)
    if outcome.stopped:
        outcome.records += 1  # the rest of the file, unread, counts as one record
        outcome.rejected += 1
        conn.execute("INSERT INTO rejects (source_id, locator, reason) VALUES (?, ?, ?)",
                     (job.source_id, "source", outcome.stopped))
    return outcome


def read_into_scratch(jobs: list[ReadJob], scratch: Path) -> list[ReadOutcome]:
    """Worker entry point: read sources, in order, into a new scratch database at ``scratch``
    (a large source alone, or a batch of small ones)."""
    conn = sqlite3.connect(scratch, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(SCRATCH_SCHEMA)
        conn.execute("BEGIN")
        outcomes = [read_source(job, conn) for job in jobs]
        conn.execute("COMMIT")
        return outcomes
    finally:
        conn.close()


def read_rows(jobs: list[ReadJob]) -> list[tuple[ReadOutcome, list[tuple], list[tuple]]]:
    """Worker entry point: read small sources, each with the rows of its events and of its
    rejects (``EVENT_COLUMNS``; source_id, locator, reason), in order."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.executescript(SCRATCH_SCHEMA)
        read = []
        for job in jobs:
            outcome = read_source(job, conn)
            read.append((outcome,
                         conn.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events "
                                      f"ORDER BY rowid").fetchall(),
                         conn.execute("SELECT source_id, locator, reason FROM rejects "
                                      "ORDER BY rowid").fetchall()))
            conn.execute("DELETE FROM events")
            conn.execute("DELETE FROM rejects")
        return read
    finally:
        conn.close()


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Worker processes that end with the block; work not yet begun is dropped when it ends
    early (an error, Ctrl-C). "spawn": a fresh interpreter, never a copy of this one with its
    open case database."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def notes_json(outcome: ReadOutcome) -> str:
    return json.dumps(outcome.notes, ensure_ascii=False)


def _guarded(items: Iterator[Event | Reject | SourceNote],
             outcome: ReadOutcome) -> Iterator[Event | Reject | SourceNote]:
    """Keep what a parser yielded before it failed, and record the failure as a reject."""
    try:
        yield from items
    except Exception as exc:  # a parser bug or an unreadable file: never stop the other sources
        outcome.stopped = (f"reading stopped after {outcome.records} record(s): "
                           f"{type(exc).__name__}: {exc}")


def store_rows(conn: sqlite3.Connection, events: list[tuple], rejects: list[tuple]) -> None:
    """Rows read elsewhere (:func:`read_rows`) into ``conn``, in their order."""
    _insert(conn, list(events))
    conn.executemany("INSERT INTO rejects (source_id, locator, reason) VALUES (?, ?, ?)", rejects)


def _insert(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    if rows:
        conn.executemany(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
                         f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})", rows)
        rows.clear()
