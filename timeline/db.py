"""The case database (``CASE/case.sqlite``): sources, events, rejects, merges and the audit log.

Each source is parsed in one transaction, so a crash or Ctrl-C part-way through leaves no half
source behind and the next build starts that source again. The audit log is append-only and
hash-chained: each entry's hash covers the previous hash, so an edited or removed entry shows.
"""

from __future__ import annotations

import json
import platform
import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from courseline.collectors.identify import read_only_uri
from courseline.timeline.event import GENESIS, canonical_json, sha256_hex

SCHEMA_VERSION = "2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    entry TEXT PRIMARY KEY,          -- the [[source]] path as written in case.toml
    exhibit TEXT NOT NULL UNIQUE,
    number INTEGER NOT NULL          -- order of collection
);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    entry TEXT NOT NULL REFERENCES entries(entry),
    case_path TEXT NOT NULL,
    name TEXT NOT NULL,
    parent TEXT,
    container INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    parser TEXT,
    parser_version TEXT,
    parse_key TEXT,                  -- the settings the stored events were made with; NULL: not parsed
    records INTEGER NOT NULL DEFAULT 0,
    events INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    notes TEXT NOT NULL DEFAULT '[]', -- JSON list: what the parser said of the whole file
    UNIQUE (entry, case_path)
);
CREATE TABLE IF NOT EXISTS refusals (
    entry TEXT NOT NULL, case_path TEXT NOT NULL, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    event_id TEXT NOT NULL,
    instant_us INTEGER NOT NULL,
    precision TEXT NOT NULL,
    merge_key TEXT NOT NULL,
    record TEXT NOT NULL,            -- canonical JSON of the record fields (hashed into event_id)
    provenance TEXT NOT NULL         -- canonical JSON of this source's provenance entry
);
CREATE INDEX IF NOT EXISTS events_order ON events (instant_us, event_id);
CREATE INDEX IF NOT EXISTS events_merge ON events (merge_key);
CREATE INDEX IF NOT EXISTS events_source ON events (source_id);
CREATE TABLE IF NOT EXISTS rejects (
    source_id INTEGER NOT NULL REFERENCES sources(id), locator TEXT NOT NULL, reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejects_source ON rejects (source_id);
CREATE TABLE IF NOT EXISTS merges (
    kept INTEGER NOT NULL REFERENCES events(id), absorbed INTEGER NOT NULL REFERENCES events(id)
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, entry TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class SourceRow:
    id: int
    entry: str
    case_path: str
    name: str
    parent: str | None
    container: bool
    sha256: str
    md5: str
    size: int
    media_type: str
    parser: str | None
    parser_version: str | None
    parse_key: str | None
    records: int
    events: int
    rejected: int
    notes: str = "[]"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CaseDB:
    def __init__(self, path: Path, read_only: bool = False):
        """Open (or create) the case database; ``read_only`` writes nothing, not even a journal,
        so a case on read-only media, or handed to another party, can be checked as it is."""
        self.path = path
        if read_only:
            self.conn = sqlite3.connect(read_only_uri(Path(path)), uri=True, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            return
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        # A rollback journal, not WAL: a closed case is one file that read-only media can open.
        self.conn.execute("PRAGMA journal_mode = DELETE")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.executescript(_SCHEMA)
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        self._upgrade()

    def _upgrade(self) -> None:
        """Bring a case made by an earlier courseline to this schema, adding what it lacks."""
        found = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
        if found == "1":
            self.conn.execute("ALTER TABLE sources ADD COLUMN notes TEXT NOT NULL DEFAULT '[]'")
            self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "CaseDB":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing, including on Ctrl-C (KeyboardInterrupt is not an Exception)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- exhibits and sources --------------------------------------------------------------

    def exhibit_of(self, entry: str) -> str | None:
        row = self.conn.execute("SELECT exhibit FROM entries WHERE entry = ?", (entry,)).fetchone()
        return row["exhibit"] if row else None

    def assign_exhibit(self, entry: str, wanted: str | None, prefix: str) -> str:
        """The entry's exhibit: as given in case.toml, else the next number in order of collection."""
        known = self.exhibit_of(entry)
        if known is not None:
            return known
        number = self.conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM entries").fetchone()[0]
        exhibit = wanted
        if exhibit is None:
            taken = {r[0] for r in self.conn.execute("SELECT exhibit FROM entries")}
            candidate = number
            while f"{prefix}/{candidate}" in taken:
                candidate += 1
            exhibit = f"{prefix}/{candidate}"
        self.conn.execute("INSERT INTO entries VALUES (?, ?, ?)", (entry, exhibit, number))
        return exhibit

    def entry_collected(self, entry: str) -> bool:
        return self.exhibit_of(entry) is not None

    def add_source(self, conn: sqlite3.Connection, **values: Any) -> int:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = conn.execute(f"INSERT INTO sources ({columns}) VALUES ({marks})", tuple(values.values()))
        return int(cursor.lastrowid)

    def add_refusal(self, conn: sqlite3.Connection, entry: str, case_path: str, reason: str) -> None:
        conn.execute("INSERT INTO refusals VALUES (?, ?, ?)", (entry, case_path, reason))

    def sources(self, entries: list[str] | None = None) -> list[SourceRow]:
        rows = self.conn.execute("SELECT * FROM sources ORDER BY entry, case_path").fetchall()
        found = [SourceRow(**{k: row[k] for k in row.keys()}) for row in rows]
        if entries is not None:
            wanted = set(entries)
            found = [s for s in found if s.entry in wanted]
        return found

    def refusals(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self.conn.execute(
            "SELECT entry, case_path, reason FROM refusals ORDER BY entry, case_path, reason")]

    def clear_parse(self, conn: sqlite3.Connection, source_id: int) -> None:
        conn.execute("DELETE FROM merges")
        conn.execute("DELETE FROM events WHERE source_id = ?", (source_id,))
        conn.execute("DELETE FROM rejects WHERE source_id = ?", (source_id,))

    @contextmanager
    def bulk_events(self) -> Iterator[None]:
        """Drop the events indexes by time and merge key while many rows are added and build
        them again after: sorting once is much faster than keeping them in order row by row.
        The index by source stays: rows arrive in the order of their sources, so it only grows
        at its end, and each source's earlier rows are cleared through it (without it, clearing
        thousands of photos read one by one scanned the whole table for each). (A crash in
        between loses nothing: opening the case builds any missing index.)"""
        indexes = [row[0] for row in self.conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
            "AND name IN ('events_order', 'events_merge') AND sql IS NOT NULL ORDER BY name")]
        for name in ("events_order", "events_merge"):
            self.conn.execute(f"DROP INDEX IF EXISTS {name}")
        try:
            yield
        finally:
            for sql in indexes:
                self.conn.execute(sql)

    def rejects(self, source_id: int) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT locator, reason FROM rejects WHERE source_id = ? ORDER BY rowid", (source_id,))]

    # -- audit log -------------------------------------------------------------------------

    def audit(self, action: str, examiner: str, parameters: dict[str, Any] | None = None,
              inputs: list[dict[str, Any]] | None = None,
              outputs: list[dict[str, Any]] | None = None) -> str:
        from courseline import __version__  # the version is recorded, not behaviour

        last = self.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
        entry = {
            "seq": seq, "time_utc": utc_now(), "examiner": examiner, "action": action,
            "parameters": parameters or {}, "inputs": inputs or [], "outputs": outputs or [],
            "courseline_version": __version__, "python": sys.version.split()[0],
            "platform": platform.platform(),
        }
        text = canonical_json(entry)
        digest = audit_hash(prev, text)
        self.conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", (seq, text, prev, digest))
        return digest

    def audit_rows(self) -> list[tuple[int, str, str, str]]:
        return [tuple(r) for r in self.conn.execute("SELECT seq, entry, prev, hash FROM audit ORDER BY seq")]

    def audit_entries(self) -> list[dict[str, Any]]:
        """The audit log's entries, read as the JSON each one is (the chain is not checked)."""
        return [json.loads(text) for _, text, _, _ in self.audit_rows()]


def audit_hash(prev: str, entry_text: str) -> str:
    return sha256_hex(prev + entry_text)


def check_audit_chain(rows: list[tuple[int, str, str, str]]) -> str | None:
    """The first break in the audit chain, in words, or None when the chain holds."""
    prev = GENESIS
    for index, (seq, text, stored_prev, stored_hash) in enumerate(rows, 1):
        if seq != index:
            return f"audit entry {index} is missing (found entry {seq} in its place)"
        if stored_prev != prev:
            return f"audit entry {seq} does not follow entry {seq - 1} (previous hash differs)"
        if audit_hash(prev, text) != stored_hash:
            return f"audit entry {seq} was changed (its hash no longer matches its content)"
        try:
            if json.loads(text).get("seq") != seq:
                return f"audit entry {seq} carries another sequence number"
        except ValueError:
            return f"audit entry {seq} is not valid JSON"
        prev = stored_hash
    return None
