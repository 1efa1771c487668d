"""The pipeline: collect → parse → merge → seal → write, for one case folder.

Each stage can be re-run: a source already collected is not collected again, a source already
parsed with the same settings is not parsed again, and each source is parsed in one transaction
(a crash or Ctrl-C leaves no half source; the next build carries on). A bad source never stops the
others: its problem is recorded and shown, and the exit status says that something needs a look.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import lru_cache
from datetime import UTC, datetime
from pathlib import Path
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from courseline import __version__
from courseline.casefile import Case, SourceEntry
from courseline.collectors.hashing import hash_file
from courseline.collectors.identify import SQLITE_MAGIC, Sample, sample_file
from courseline.collectors.store import EvidenceStore
from courseline.collectors.walk import Collected, Refusal, collect
from courseline.parsers import (
    Parser,
    extra_needed_for,
    extras_missing,
    parser_for,
    parser_named,
)
from courseline.parsers.diary import VictimDiaryParser
from courseline.reading import (
    EVENT_COLUMNS,
    ReadJob,
    ReadOutcome,
    RelatedFiles,
    notes_json,
    read_into_scratch,
    read_source,
    store_rows,
    worker_pool,
)
from courseline.read_ahead import Held, ReadAhead
from courseline.timeline.db import CaseDB, SourceRow
from courseline.timeline.event import canonical_json
from courseline.timeline.identity import Directory, doubtful_number
from courseline.timeline.indicators import (
    IndicatorFileError,
    Indicators,
    load_indicators,
)
from courseline.timeline.merge import compute_merges
from courseline.timeline.records import SourceSettings
from courseline.timeline.seal import PendingOutputs, Seal, manifest, write_timeline

DB_FILE = "case.sqlite"
EVIDENCE_DIR = "evidence"
OUT_DIR = "out"
OUTPUT_FILES = ("timeline.jsonl", "timeline.csv", "manifest.json", "conduct.json")
# Sources at least this large are read in worker processes when two or more need reading: below
# it, starting a process costs more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
# Smaller sources (a camera roll's photos), when at least this many need reading, are read
# from both ends at once: worker processes from the last, this process from the first. Fewer
# are read before a worker would have started.
PARALLEL_MIN_SOURCES = 400
# How many small sources a worker reads into one scratch database: small enough that where
# this process and the workers meet, little is left waiting.
WORKER_BATCH_SOURCES = 100
# A timeline of at least this many events is written in stretches by several processes at once.
PARALLEL_SEAL_MIN_EVENTS = 50_000


class Progress:
    """How long work is shown. The command line gives a progress bar on a terminal; tests and
    pipes get this silent default."""

    def task(self, description: str, total: int | None = None):
        return nullcontext(lambda advance=1: None)


class EvidenceChanged(Exception):
    """An evidence copy no longer matches the hashes recorded when it was collected."""


@dataclass
class Problem:
    """Something a user must look at: a source that could not be collected or read."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class BuildResult:
    seal: Seal
    sources: int
    events: int
    rejected: int
    merged: int
    out_dir: Path
    problems: list[Problem] = field(default_factory=list)


SMALL_SOURCE_BYTES = 1024 * 1024   # sources smaller than this are stored several at a time
MAX_BATCH_SOURCES = 500


def _batches(jobs: list, most: int = MAX_BATCH_SOURCES) -> Iterator[list]:
    """The read jobs in order, small sources grouped (all or nothing together), others alone."""
    batch: list = []
    for job in jobs:
        if job[0].size >= SMALL_SOURCE_BYTES:
            if batch:
                yield batch
                batch = []
            yield [job]
            continue
        batch.append(job)
        if len(batch) >= most:
            yield batch
            batch = []
    if batch:
        yield batch


def _parse_key(settings: SourceSettings, parser: type[Parser]) -> str:
    """The parse key of a parser under a source's settings: made once, not for every photo."""
    return _parse_key_of(settings, parser.NAME, parser.VERSION)


@lru_cache(maxsize=64)
def _parse_key_of(settings: SourceSettings, name: str, version: str) -> str:
    return settings.parse_key(name, version)


class CasePipeline:
    def __init__(self, case: Case, progress: Progress | None = None, db_path: Path | None = None,
                 evidence_root: Path | None = None, out_dir: Path | None = None,
                 read_only: bool = False, workers: int | None = None):
        self.case = case
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
        self._copies: dict[str, dict[str, str]] = {}   # per export: case path -> evidence copy
        # What this run's collection found of each file it stored, by (sha256, name): its media
        # type and parser. Reading then need not identify it again.
        self._collected: dict[tuple[str, str], tuple[str, str | None]] = {}
        # Files no parser read that a parser of a missing optional extra would, by (sha256,
        # name): from the samples collection and parse_all take anyway.
        self._extras_needed: dict[tuple[str, str], str] = {}
        self.progress = progress or Progress()
        self.db = CaseDB(db_path or case.folder / DB_FILE, read_only=read_only)
        self.store = EvidenceStore(evidence_root or case.folder / EVIDENCE_DIR)
        self.out_dir = out_dir or case.folder / OUT_DIR
        self.problems: list[Problem] = []
        # Small files read by a worker while collection went on, for parse_all to store.
        self._read_ahead: ReadAhead | None = None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "CasePipeline":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def examiner(self) -> str:
        return self.case.info.examiner or "unnamed examiner"

    # -- collection ------------------------------------------------------------------------

    def display_path(self, entry: SourceEntry) -> str:
        """Where a source shows in the case: relative to the case folder, never a machine path."""
        written = Path(entry.path)
        resolved = entry.resolve(self.case.folder)
        try:
            return resolved.resolve().relative_to(self.case.folder.resolve()).as_posix()
        except ValueError:
            return written.name or resolved.name

    def collect_all(self, read_ahead: bool = False) -> None:
        """Collect every source not yet collected. ``read_ahead``: the parse stage follows in
        this run, so a worker may read small files meanwhile (:mod:`courseline.read_ahead`)."""
        with ReadAhead(self.workers - 1 if read_ahead else 0) as ahead:
            self._read_ahead = ahead
            for entry in self.case.sources:
                if not self.db.entry_collected(entry.path):
                    self.collect_entry(entry)
            ahead.finish()

    def collect_entry(self, entry: SourceEntry) -> None:
        real = entry.resolve(self.case.folder)
        if not real.exists():
            self.problems.append(Problem(entry.path, f"not found at {real}; nothing collected"))
            return
        display = self.display_path(entry)
        settings = self.settings_for(entry)
        outputs: list[dict[str, Any]] = []
        # One transaction: an interrupted collection leaves no half entry and no exhibit number.
        with self.progress.task(f"Collecting {display}") as advance, \
                self.db.transaction() as conn:
            exhibit = self.db.assign_exhibit(entry.path, entry.exhibit, self.case.info.exhibit_prefix)
            for item in collect(real, display, self.store, progress=advance):
                if isinstance(item, Refusal):
                    self.db.add_refusal(conn, entry.path, item.case_path, item.reason)
                    continue
                sample = replace(item.sample, options=entry.options, case_path=item.case_path)
                parser = parser_for(sample)
                if parser is None:
                    self._note_extra(item.digests.sha256, item.name, sample, extras_missing())
                self._collected[(item.digests.sha256, item.name)] = (
                    item.sample.media_type, parser.NAME if parser else None)
                source_id = self.db.add_source(
                    conn, entry=entry.path, case_path=item.case_path, name=item.name,
                    parent=item.parent, container=int(item.container), sha256=item.digests.sha256,
                    md5=item.digests.md5, size=item.digests.size, media_type=item.sample.media_type,
                    parser=parser.NAME if parser else None,
                    parser_version=parser.VERSION if parser else None)
                if parser is not None and self._read_ahead is not None:
                    self._offer_ahead(self._read_ahead, source_id, entry, item, sample, parser,
                                      settings, exhibit)
                outputs.append({"path": item.case_path, "sha256": item.digests.sha256,
                                "md5": item.digests.md5, "size": item.digests.size})
            self.db.audit("collect", self.examiner,
                          parameters={"source": entry.path, "owner": entry.owner, "exhibit": exhibit},
                          inputs=[{"path": str(real)}], outputs=outputs)

    def _offer_ahead(self, ahead: ReadAhead, source_id: int, entry: SourceEntry, item: Collected,
                     sample: Sample, parser: type[Parser], settings: SourceSettings,
                     exhibit: str) -> None:
        """Offer a small file just collected to be read while collection goes on. Not a
        database (it may need a write-ahead log collected after it), nor an archive."""
        if (item.container or item.digests.size >= SMALL_SOURCE_BYTES
                or sample.head.startswith(SQLITE_MAGIC)):
            return
        source = SourceRow(
            id=source_id, entry=entry.path, case_path=item.case_path, name=item.name,
            parent=item.parent, container=False, sha256=item.digests.sha256,
            md5=item.digests.md5, size=item.digests.size, media_type=sample.media_type,
            parser=parser.NAME, parser_version=parser.VERSION, parse_key=None, records=0,
            events=0, rejected=0)
        # The export is not complete yet: a parser that asks for another of its files is read
        # again by parse_all (ReadOutcome.looked_beside).
        related = RelatedFiles(RelatedFiles.folder_of(item.case_path), {})
        ahead.offer(source_id, _parse_key(settings, parser),
                    self.read_job(source, sample, settings, exhibit, related))

    def changed_since_collection(self, entry: SourceEntry) -> str | None:
        """How an export already collected differs from what is at its path now, or None.

        The case keeps what was collected; a changed export is a new exhibit, added under a new
        name, so this is only ever reported, never acted on.
        """
        real = entry.resolve(self.case.folder)
        display = self.display_path(entry)
        collected = {s.case_path: s for s in self.db.sources([entry.path]) if s.parent is None}
        if real.is_file():
            kept = collected.get(display)
            now = hash_file(real).sha256
            if kept is not None and kept.sha256 != now:
                return f"its sha256 is now {now}, not {kept.sha256} as collected"
            return None
        now_files = {f"{display}/{p.relative_to(real).as_posix()}": hash_file(p).sha256
                     for p in sorted(real.rglob("*")) if p.is_file() and not p.is_symlink()}
        kept_files = {path: s.sha256 for path, s in collected.items()}
        added = len(now_files.keys() - kept_files.keys())
        removed = len(kept_files.keys() - now_files.keys())
        changed = sum(1 for p in now_files.keys() & kept_files.keys() if now_files[p] != kept_files[p])
        if added or removed or changed:
            return (f"{added} file(s) added, {removed} removed and {changed} changed since it was "
                    f"collected")
        return None

    # -- parsing ---------------------------------------------------------------------------

    def active_sources(self) -> list[SourceRow]:
        return self.db.sources([entry.path for entry in self.case.sources])

    def settings_for(self, entry: SourceEntry) -> SourceSettings:
        owner = self.case.person(entry.owner) if entry.owner else None
        return SourceSettings(
            zone=self.case.source_zone(entry), case_zone=self.case.info.timezone,
            clock_offset_seconds=entry.clock_offset_seconds, region=self.case.source_region(entry),
            owner_identifiers=frozenset(str(i) for i in owner.normalised) if owner else frozenset(),
            owner_key=owner.key if owner else None, options=canonical_json(entry.options))

    def identify_again(self, source: SourceRow, entry: SourceEntry) -> tuple[SourceRow, Sample]:
        """Ask the parsers again: a newer courseline may read a file an older one could not, and
        a column mapping added to the case file may make a CSV readable. A file this run has
        just collected was identified then, by this courseline and case file."""
        path = self.store.path_of(source.sha256)
        collected = self._collected.get((source.sha256, source.name))
        if collected is not None and collected[1] == source.parser:
            return source, replace(sample_file(path, source.name, media_type=collected[0]),
                                   options=entry.options, case_path=source.case_path)
        sample = replace(sample_file(path, source.name), options=entry.options,
                         case_path=source.case_path)
        parser = parser_for(sample)
        name = parser.NAME if parser else None
        if name == source.parser:
            return source, sample
        with self.db.transaction() as conn:
            self.db.clear_parse(conn, source.id)
            conn.execute("UPDATE sources SET parser = ?, parser_version = ?, parse_key = NULL, "
                         "records = 0, events = 0, rejected = 0 WHERE id = ?",
                         (name, parser.VERSION if parser else None, source.id))
        return next(s for s in self.db.sources([source.entry]) if s.id == source.id), sample

    def parse_all(self) -> None:
        """Parse every source not yet parsed with the current settings. Large sources are read
        in parallel worker processes (one per processor), many small ones from both ends at
        once, and small ones a worker read while they were being collected are taken as read
        (:mod:`courseline.read_ahead`). The rows are stored in the order of the case, whichever
        way they were read: each source in one transaction, or small ones (a camera roll)
        several to a transaction, as a commit costs more than reading a photo."""
        entries = {entry.path: entry for entry in self.case.sources}
        self._copies: dict[str, dict[str, str]] = {}
        # Per export, not per file: a camera roll has thousands of files.
        settings_of = {path: self.settings_for(entry) for path, entry in entries.items()}
        exhibits = {path: self.db.exhibit_of(path) for path in entries}
        jobs: list[tuple[SourceRow, ReadJob | Held, str]] = []
        wanting_extras = extras_missing()
        for source in self.active_sources():
            held = self._held_reading(source, settings_of[source.entry])
            if held is not None:
                jobs.append((source, held, held.key))
                continue
            source, sample = self.identify_again(source, entries[source.entry])
            if sample.head.startswith(SQLITE_MAGIC) and not sample.sqlite_tables:
                self.problems.append(Problem(
                    source.case_path, "an SQLite database with no tables that could be read "
                    "(empty, damaged or encrypted, or its tables only in a write-ahead log that "
                    "was not applied): nothing was read from it"))
            if source.parser is None:
                self._note_extra(source.sha256, source.name, sample, wanting_extras)
                continue
            settings = settings_of[source.entry]
            parser = parser_named(source.parser)
            key = _parse_key(settings, parser)
            if source.parse_key != key:
                jobs.append((source, self.read_job(source, sample, settings,
                                                   exhibits[source.entry]), key))
        big = [job for job in jobs if job[0].size >= PARALLEL_MIN_BYTES]
        if self.workers > 1 and len(big) > 1:
            self._parse_in_workers(big)
            jobs = [job for job in jobs if job not in big]
        # Many rows into the case database: its indexes are built once afterwards, not kept in
        # order row by row.
        many = (sum(source.size for source, _, _ in jobs) >= PARALLEL_MIN_BYTES
                or len(jobs) >= PARALLEL_MIN_SOURCES)
        with self.db.bulk_events() if many else nullcontext():
            if (self.workers > 1 and len(jobs) >= PARALLEL_MIN_SOURCES
                    and not any(isinstance(job, Held) for _, job, _ in jobs)):
                self._parse_from_both_ends(jobs)
                return
            for batch in _batches(jobs):
                label = (f"Reading {batch[0][0].case_path}" if len(batch) == 1 else
                         f"Reading {len(batch)} small files ({batch[0][0].case_path} …)")
                with self.progress.task(label) as advance:
                    self._parse_here(batch, advance)

    def _parse_here(self, batch: list[tuple[SourceRow, ReadJob | Held, str]],
                    advance: Any = lambda n: None) -> None:
        """Read a batch of sources in this process (or store what was read of them during
        collection), in one transaction."""
        with self.db.transaction() as conn:
            for source, job, key in batch:
                self.db.clear_parse(conn, source.id)
                if isinstance(job, Held):
                    store_rows(conn, job.events, job.rejects)
                    outcome = job.outcome
                else:
                    outcome = read_source(job, conn, advance)
                self._finish_parse(conn, source, job.settings, key, outcome)

    def _held_reading(self, source: SourceRow, settings: SourceSettings) -> Held | None:
        """What a worker read of this source while it was being collected, when it was read as
        it would be now (see :mod:`courseline.read_ahead`)."""
        if source.parser is None or self._read_ahead is None:
            return None
        held = self._read_ahead.take(source.id, _parse_key(settings, parser_named(source.parser)))
        return held if held is not None and source.parse_key != held.key else None

    def _copies_of(self, entry: str) -> dict[str, str]:
        """Where each file of an export is held (its evidence copy), by its case path: made
        once per export and shared by its sources (an export of thousands of photos would
        otherwise make it thousands of times)."""
        found = self._copies.get(entry)
        if found is None:
            found = self._copies[entry] = {
                s.case_path: os.fspath(self.store.path_of(s.sha256))
                for s in self.db.sources([entry]) if not s.container}
        return found

    def read_job(self, source: SourceRow, sample: Sample, settings: SourceSettings,
                 exhibit: str | None, related: RelatedFiles | None = None) -> ReadJob:
        parser = parser_named(source.parser)
        return ReadJob(
            source_id=source.id, parser=parser.NAME, path=self.store.path_of(source.sha256),
            case_path=source.case_path, name=source.name, sample=sample,
            related=related or RelatedFiles(RelatedFiles.folder_of(source.case_path),
                                            self._copies_of(source.entry)),
            settings=settings,
            provenance={"exhibit": exhibit,
                        "source_sha256": source.sha256, "path": source.case_path,
                        "parser": parser.NAME, "parser_version": parser.VERSION})

    def _parse_in_workers(self, jobs: list[tuple[SourceRow, ReadJob, str]]) -> None:
        """Read large sources in worker processes into scratch databases, then store each."""
        order = sorted(jobs, key=lambda j: -j[0].size)   # the largest first: the others fit around
        with tempfile.TemporaryDirectory(prefix="courseline-read-") as scratch_dir, \
                self.progress.task(f"Reading {len(jobs)} large sources in parallel",
                                   len(jobs)) as advance, \
                worker_pool(min(self.workers, len(jobs))) as pool, \
                self.db.bulk_events():
            scratch_of = {source.id: Path(scratch_dir) / f"source-{source.id}.db"
                          for source, _, _ in jobs}
            futures = {source.id: pool.submit(read_into_scratch, [job], scratch_of[source.id])
                       for source, job, _ in order}
            for source, job, key in jobs:
                self._store_read_by_worker(futures[source.id], scratch_of[source.id],
                                           [(source, job, key)])
                advance(1)

    def _parse_from_both_ends(self, jobs: list[tuple[SourceRow, ReadJob, str]]) -> None:
        """Read many small sources (a camera roll) with every processor: worker processes take
        batches from the last, this process from the first, until they meet. Each batch is
        stored in the order of the case, whoever read it, so the case database is the same as
        when one process reads them all."""
        units = list(_batches(jobs, WORKER_BATCH_SOURCES))
        workers = self.workers - 1
        front, back = 0, len(units)   # this process reads units[front]; workers units[back:]
        futures: dict[int, Any] = {}
        with tempfile.TemporaryDirectory(prefix="courseline-read-") as scratch_dir, \
                self.progress.task(f"Reading {len(jobs)} files ({jobs[0][0].case_path} …)",
                                   len(jobs)) as advance, \
                worker_pool(workers) as pool:
            scratch = [Path(scratch_dir) / f"batch-{i}.db" for i in range(len(units))]
            while front < back:
                # Two batches a worker: one to read, the next waiting. Never more, so that no
                # batch has to be taken back from a worker where the two ends meet.
                while back > front + 1 and sum(not f.done() for f in futures.values()) < 2 * workers:
                    back -= 1
                    try:
                        futures[back] = pool.submit(
                            read_into_scratch, [job for _, job, _ in units[back]], scratch[back])
                    except BrokenProcessPool:   # a worker was killed: the rest are read here
                        back += 1
                        workers = 0
                        break
                self._parse_here(units[front])
                advance(len(units[front]))
                front += 1
            for i in range(back, len(units)):
                self._store_read_by_worker(futures[i], scratch[i], units[i])
                advance(len(units[i]))

    def _store_read_by_worker(self, future: Any, scratch: Path,
                              unit: list[tuple[SourceRow, ReadJob, str]]) -> None:
        """The rows a worker read into ``scratch`` into the case database, in one transaction;
        read here instead when the worker was killed (out of memory, a signal)."""
        try:
            outcomes = future.result()
        except BrokenProcessPool:
            self._parse_here(unit)
            return
        self.db.conn.execute("ATTACH DATABASE ? AS scratch", (str(scratch),))
        try:
            with self.db.transaction() as conn:
                for source, _, _ in unit:
                    self.db.clear_parse(conn, source.id)
                columns = ", ".join(EVENT_COLUMNS)
                conn.execute(f"INSERT INTO events ({columns}) SELECT {columns} "
                             f"FROM scratch.events ORDER BY rowid")
                conn.execute("INSERT INTO rejects (source_id, locator, reason) "
                             "SELECT source_id, locator, reason FROM scratch.rejects "
                             "ORDER BY rowid")
                for (source, job, key), outcome in zip(unit, outcomes, strict=True):
                    self._finish_parse(conn, source, job.settings, key, outcome)
        finally:
            self.db.conn.execute("DETACH DATABASE scratch")
        scratch.unlink(missing_ok=True)

    def _finish_parse(self, conn, source: SourceRow, settings: SourceSettings, key: str,
                      outcome: ReadOutcome) -> None:
        parser = parser_named(source.parser)
        conn.execute("UPDATE sources SET parse_key = ?, parser_version = ?, records = ?, "
                     "events = ?, rejected = ?, notes = ? WHERE id = ?",
                     (key, parser.VERSION, outcome.records, outcome.events, outcome.rejected,
                      notes_json(outcome), source.id))
        self.db.audit("parse", self.examiner,
                      parameters={"parser": parser.NAME, "parser_version": parser.VERSION,
                                  "zone": settings.zone,
                                  "clock_offset_seconds": settings.clock_offset_seconds},
                      inputs=[{"path": source.case_path, "sha256": source.sha256}],
                      outputs=[outcome.counts()])

    # -- the timeline ----------------------------------------------------------------------

    def directory(self) -> Directory:
        return Directory({p.key: p.normalised for p in self.case.persons})

    def build(self, collect: bool = True, evidence_checked: bool = False) -> BuildResult:
        """Collect (unless told not to), check every evidence copy, parse, merge, seal, write.

        Nothing is parsed or written when an evidence copy no longer matches its hashes.
        ``evidence_checked``: the caller has just re-hashed it all (``verify``), so don't again.
        """
        if collect:
            self.collect_all(read_ahead=True)
        changed = [] if evidence_checked else self.check_evidence()
        if changed:
            raise EvidenceChanged("; ".join(map(str, changed)))
        self.parse_all()
        sources = self.active_sources()
        ids = [s.id for s in sources]
        with self.db.transaction() as conn:
            merged = compute_merges(conn, ids)
        exhibits = {entry.path: self.db.exhibit_of(entry.path) for entry in self.case.sources}
        victims = [p.key for p in self.case.persons if p.role == "victim"]
        total_events = sum(s.events for s in sources)
        pending = PendingOutputs(self.out_dir)
        with self.progress.task("Sealing the timeline", total_events - merged) as advance:
            seal, conduct = write_timeline(
                self.db, sources, pending, self.directory(), self.case.info.timezone, victims,
                self.case.orders, progress=advance,
                processes=self.workers if total_events >= PARALLEL_SEAL_MIN_EVENTS else 1,
                places=self.case.places, diary_days=self.diary_days(sources),
                indicators=self.indicators())
        pending.json("manifest.json", manifest(self.db, sources, exhibits, seal, conduct,
                                               self.case.info.reference, __version__,
                                               self.extras_needed(sources)))
        pending.json("conduct.json", conduct.conduct())
        pending.commit()
        outputs = [{"path": f"{OUT_DIR}/{name}", "sha256": hash_file(self.out_dir / name).sha256}
                   for name in OUTPUT_FILES]
        self.db.audit("build", self.examiner, parameters={"seal": seal.value, "events": seal.events},
                      inputs=[{"path": s.case_path, "sha256": s.sha256} for s in sources],
                      outputs=outputs)
        return BuildResult(seal=seal, sources=len(sources), events=seal.events,
                           rejected=sum(s.rejected for s in sources), merged=merged,
                           out_dir=self.out_dir, problems=self.needs_a_look(sources))

    def indicators(self) -> Indicators | None:
        """The case's stalkerware indicator file, read; None when the case names none."""
        written = self.case.info.stalkerware_indicators
        if not written:
            return None
        path = Path(written).expanduser()
        path = path if path.is_absolute() else self.case.folder / path
        try:
            return load_indicators(path)
        except OSError as exc:
            raise IndicatorFileError(f"stalkerware_indicators = {written!r} in case.toml: the "
                                     f"file cannot be read ({exc.strerror or exc})") from exc
        except IndicatorFileError as exc:
            raise IndicatorFileError(f"stalkerware_indicators = {written!r} in case.toml: "
                                     f"{exc}") from exc

    def diary_days(self, sources: list[SourceRow]) -> set[str]:
        """The civil dates (case zone) of the victim's diary entries: the records of those days
        are kept aside while sealing, to be matched with the entries."""
        ids = [s.id for s in sources if s.parser == VictimDiaryParser.NAME]
        if not ids:
            return set()
        zone = ZoneInfo(self.case.info.timezone)
        marks = ",".join("?" * len(ids))
        return {datetime.fromtimestamp(instant / 1e6, UTC).astimezone(zone).date().isoformat()
                for (instant,) in self.db.conn.execute(
                    f"SELECT instant_us FROM events WHERE source_id IN ({marks})", ids)}

    def needs_a_look(self, sources: list[SourceRow]) -> list[Problem]:
        """What the user should look at, from the case's state (the same on every rebuild)."""
        problems = list(self.problems)
        entries = {entry.path for entry in self.case.sources}
        problems += [Problem(path, reason) for entry, path, reason in self.db.refusals()
                     if entry in entries]
        for source in sources:
            if not source.rejected:
                continue
            whole = [reason for locator, reason in self.db.rejects(source.id)
                     if locator == "source"]
            if whole:  # the file as a whole could not be read: say why here, not only in the manifest
                problems.append(Problem(source.case_path, whole[0]))
            else:
                problems.append(Problem(source.case_path, f"{source.rejected} record(s) could not "
                                        f"be read; the manifest lists each with the reason"))
        problems += self._unattributed(sources) + self._unread_tables(sources)
        problems += self._needing_an_extra(sources)
        problems += [Problem(f"case.toml, person {person.key!r}",
                             f"{written} is not a number any network issues (a digit missing or "
                             f"extra?): records from the real number will not be tied to "
                             f"{person.key!r}; check it")
                     for person in self.case.persons
                     for written, ident in zip(person.identifiers, person.normalised, strict=True)
                     if doubtful_number(ident)]
        return problems

    def _unattributed(self, sources: list[SourceRow]) -> list[Problem]:
        """Sources without an owner whose records leave a side empty (a phone's records name
        only the other party): nobody is on that side until the case file names the owner."""
        owners = {entry.path: entry.owner for entry in self.case.sources}
        lacking = sorted({s.entry for s in sources if s.events and owners.get(s.entry) is None
                          and self.db.conn.execute(
                              "SELECT 1 FROM events WHERE source_id = ? AND "
                              "json_extract(record, '$.kind') NOT IN "
                              "('email', 'media', 'location', 'app', 'diary') AND "
                              "(json_extract(record, '$.sender') IS NULL OR "
                              "json_extract(record, '$.recipients') = '[]') LIMIT 1",
                              (s.id,)).fetchone()})
        return [Problem(entry, "no owner: a phone's records name only the other party, so no one "
                               "is on the owner's side of its texts and calls and none of them "
                               "counts as contact. Set owner = \"KEY\" in this [[source]] of "
                               "case.toml (the person whose phone it is) and build again")
                for entry in lacking]

    def _note_extra(self, sha256: str, name: str, sample: Sample, wanting: bool) -> None:
        extra = extra_needed_for(sample) if wanting else None
        if extra:
            self._extras_needed[(sha256, name)] = extra

    def extras_needed(self, sources: list[SourceRow]) -> dict[int, str]:
        """For each of these files that no parser read and a parser of a missing optional
        extra would: that extra, by source id (as collection or parse_all found it)."""
        return {source.id: self._extras_needed[(source.sha256, source.name)]
                for source in sources if (source.sha256, source.name) in self._extras_needed}

    def _needing_an_extra(self, sources: list[SourceRow]) -> list[Problem]:
        by_id = {source.id: source for source in sources}
        return [Problem(by_id[source_id].case_path,
                        f"not read: it needs the optional '{extra}' libraries. Run pip install "
                        f"'courseline[{extra}]', then build again")
                for source_id, extra in self.extras_needed(sources).items()]

    @staticmethod
    def _unread_tables(sources: list[SourceRow]) -> list[Problem]:
        """CSV files no parser claimed: often a call log whose headings need mapping."""
        return [Problem(s.case_path, "a CSV file no parser recognises. If it is a call log, map "
                                     "its columns in this source's [[source]] in case.toml: "
                                     "columns = {time = \"…\", number = \"…\"} (see the README)")
                for s in sources if s.parser is None and not s.container
                and (s.media_type == "text/csv" or s.name.lower().endswith(".csv"))]

    # -- evidence integrity ----------------------------------------------------------------

    def evidence_problem(self, source: SourceRow) -> Problem | None:
        """Whether a source's evidence copy still has the size and hashes recorded at collection."""
        path = self.store.path_of(source.sha256)
        exhibit = self.db.exhibit_of(source.entry)
        found = self.store.digests_of(source.sha256)
        if found is None:
            return Problem(f"{exhibit} {source.case_path}", f"its evidence copy {path} is missing")
        if (found.sha256, found.md5, found.size) != (source.sha256, source.md5, source.size):
            return Problem(f"{exhibit} {source.case_path}",
                           f"its evidence copy {path} no longer matches the sha256 recorded when "
                           f"it was collected ({source.sha256}; now {found.sha256})")
        return None

    def check_evidence(self) -> list[Problem]:
        """Re-hash every evidence file of the case; a mismatch is a problem naming the file.
        A copy this run has just written, hashing it as it went, is not hashed again."""
        problems = []
        sources = [source for source in self.active_sources()
                   if source.sha256 not in self.store.written]
        with self.progress.task("Re-hashing evidence", len(sources)) as advance:
            for source in sources:
                problem = self.evidence_problem(source)
                if problem:
                    problems.append(problem)
                advance(1)
        return problems
