"""Writing the sealed timeline and the files that describe it.

The timeline is ordered by (instant, ``event_id``). Each row carries ``chain`` =
sha256(previous chain ‖ sha256(canonical row without ``chain``)), hex strings joined as text,
starting from 64 zeros; the last chain value is the seal. ``courseline/docs/VERIFYING.md`` recomputes it with
the standard library alone.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sqlite3
from array import array
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from courseline.collectors.identify import magic_version, read_only_uri
from courseline.timeline.conduct import ConductAccumulator, OrderTerms, PlaceTerms
from courseline.timeline.db import CaseDB, SourceRow
from courseline.timeline.event import GENESIS, canonical_json, read_json, sha256_hex
from courseline.timeline.records import NOT_HASHED
from courseline.timeline.identity import Directory
from courseline.timeline.indicators import Indicators
from courseline.timeline.timeutil import civil_clock

SEAL_ALGORITHM = "sha256-chain-v1: chain = sha256(prev_chain_hex + sha256_hex(canonical_row)), prev of first row = 64 zeros"
CSV_COLUMNS = (
    "seq", "event_id", "occurred_utc", "occurred_local", "precision", "time_basis", "time_raw",
    "time_source", "time_zone", "time_flags", "time_readings", "time_uncorrected_utc", "kind",
    "platform", "direction", "direction_basis", "sender", "sender_person", "recipients",
    "recipient_persons", "subject", "text", "call_status", "duration_s", "attachments",
    "location", "flags", "notes", "details", "exhibits", "provenance", "chain",
)
SQLITE_TYPES = ("application/vnd.sqlite3", "application/x-sqlite3")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r"})


@dataclass(frozen=True)
class Seal:
    algorithm: str
    events: int
    value: str

    def as_dict(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "events": self.events, "value": self.value}


def chain_next(prev: str, row_without_chain: dict[str, Any]) -> str:
    """The next chain value after a row (for checking: writing uses the row's text directly)."""
    return sha256_hex(prev + sha256_hex(canonical_json(row_without_chain)))


@dataclass(frozen=True)
class _Stored:
    """One event as the timeline takes it from the case database: texts, not decoded."""

    event_id: str
    record: str              # canonical JSON of the record (what event_id hashes)
    provenance: list[str]    # canonical JSON of each provenance entry, sorted


def _stored_events(conn: sqlite3.Connection, source_ids: tuple[int, ...],
                   after: tuple | None = None, last: tuple | None = None) -> Iterator[_Stored]:
    """The events of the given sources, merged, in sealed order: all of them, or those after
    the position ``after`` up to and including ``last`` (positions as (instant_us, event_id, id))."""
    if not source_ids:
        return
    marks = ",".join("?" for _ in source_ids)
    absorbed: dict[int, list[str]] = {}
    skipped: set[int] = set()
    for kept, gone, provenance in conn.execute(
            "SELECT m.kept, m.absorbed, e.provenance FROM merges m JOIN events e ON e.id = m.absorbed"):
        absorbed.setdefault(kept, []).append(provenance)
        skipped.add(gone)
    bounds, params = "", list(source_ids)
    if after is not None:
        bounds += " AND (instant_us, event_id, id) > (?, ?, ?)"
        params += after
    if last is not None:
        bounds += " AND (instant_us, event_id, id) <= (?, ?, ?)"
        params += last
    # Read in the order of the index (whose entries end with the row id): left to itself,
    # SQLite may pick the source index and sort every record in a temporary table instead.
    cursor = conn.execute(
        f"SELECT id, event_id, record, provenance FROM events INDEXED BY events_order "
        f"WHERE source_id IN ({marks}){bounds} ORDER BY instant_us, event_id, id", params)
    for row_id, event_id, record, provenance in cursor:
        if row_id in skipped:
            continue
        yield _Stored(event_id, record, sorted([provenance, *absorbed.get(row_id, [])]))


# Where the keys a timeline row adds to its record go, in sorted order: "event_id" before
# "flags", "provenance" and "recipient_persons" before "recipients", "sender_person" and "seq"
# before "subject". Each marker is searched from the end: no value after it at the top level is
# an object with keys of its own choosing, and inside a JSON string a quote is always escaped, so
# the last match is the top-level key. _row_text checks the result against the slow way when
# the record does not have the expected shape.
_BEFORE_FLAGS = ',"flags":['
_BEFORE_RECIPIENTS = ',"recipients":['
_BEFORE_SENDER = ',"sender":'
_BEFORE_SUBJECT = ',"subject":'
_DECODER = json.JSONDecoder()


def _row_text(stored: _Stored, seq: int, directory: Directory) -> str:
    """The canonical JSON of a timeline row (record + event_id, provenance, persons, seq),
    made by inserting the added keys into the record's canonical text instead of decoding and
    encoding the whole record again: sealing a million events spends most of its time here."""
    text = stored.record
    flags = text.rfind(_BEFORE_FLAGS)
    recipients = text.rfind(_BEFORE_RECIPIENTS)
    sender = text.rfind(_BEFORE_SENDER)
    subject = text.rfind(_BEFORE_SUBJECT)
    if not 0 < flags < recipients < sender < subject:
        return _row_text_slowly(stored, seq, directory)
    start = recipients + len(_BEFORE_RECIPIENTS) - 1
    idents, _ = _DECODER.raw_decode(text, start)   # the list, however its strings end
    sender_ident = read_json(text[sender + len(_BEFORE_SENDER):subject])
    persons = [directory.person_of(i) for i in idents]
    return "".join((
        text[:flags], ',"event_id":"', stored.event_id, '"',
        text[flags:recipients],
        ',"provenance":[', ",".join(stored.provenance), "]",
        ',"recipient_persons":', canonical_json(persons, floats=False),
        text[recipients:subject],
        ',"sender_person":', canonical_json(directory.person_of(sender_ident), floats=False),
        ',"seq":', str(seq),
        text[subject:],
    ))


def _row_text_slowly(stored: _Stored, seq: int, directory: Directory) -> str:
    row = json.loads(stored.record)
    row["event_id"] = stored.event_id
    row["provenance"] = [json.loads(p) for p in stored.provenance]
    row["seq"] = seq
    row["sender_person"] = directory.person_of(row["sender"])
    row["recipient_persons"] = [directory.person_of(r) for r in row["recipients"]]
    return canonical_json(row)


def _quoted(cell: str) -> str:
    if '"' in cell:
        return '"' + cell.replace('"', '""') + '"'
    if "," in cell or "\n" in cell or "\r" in cell:
        return '"' + cell + '"'
    return cell


def _csv_field(value: Any) -> str:
    """A row's value as one field of a CSV line: lists and objects as canonical JSON, nothing
    for None and empty lists, quoted where the csv module would quote."""
    if value is None:
        return ""
    cls = value.__class__
    if cls is str:
        if not value:
            return ""
        text = value
    elif cls is list or cls is dict:
        if not value:
            return ""
        text = canonical_json(value)
    else:
        text = str(value)
    if text[0] in FORMULA_STARTS:
        # A spreadsheet would run a cell starting with these as a formula; the JSONL stays verbatim.
        text = "'" + text
    return _quoted(text)


def csv_line(cells: Iterable[str]) -> str:
    """One CSV record as the standard library's csv.writer writes it (minimal quoting, quotes
    doubled, CRLF), for rows of more than one cell; made with string methods, four times faster
    on a timeline's long cells than the writer's character-by-character loop."""
    return ",".join([_quoted(cell) for cell in cells]) + "\r\n"


def _joined(values: list) -> str:
    return "; ".join(map(str, values))


def _csv_fields(row: dict[str, Any], civil: str, provenance: str) -> list[str]:
    """The fields of a row's CSV line, in the order of CSV_COLUMNS, without the chain (added
    when the timeline is joined): lists joined with "; ", objects as canonical JSON. ``civil``:
    the row's time in civil time; ``provenance``: the row's provenance as canonical JSON (as
    stored, not encoded again). Written out column by column: it runs once per event. Words
    from the event model's own vocabularies (kind, platform, direction…) are written as they are."""
    get, field = row.get, _csv_field
    return [
        str(row["seq"]), row["event_id"], row["occurred_utc"] or "", field(civil),
        row["precision"] or "", row["time_basis"] or "", field(get("time_raw")), field(get("time_source")),
        field(get("time_zone")), field(_joined(row["time_flags"])),
        field(_joined(row["time_readings"])), field(get("time_uncorrected_utc")),
        row["kind"], row["platform"], row["direction"], get("direction_basis") or "",
        field(get("sender")), field(get("sender_person")), field(_joined(row["recipients"])),
        field("; ".join(p or "" for p in row["recipient_persons"])), field(get("subject")),
        field(get("text")), get("call_status") or "", field(get("duration_s")),
        field(get("attachments")), field(get("location")), field(_joined(row["flags"])),
        field(_joined(row["notes"])), field(get("details")),
        field("; ".join(f"{p['exhibit']} {p['path']} {p['locator']}" for p in row["provenance"])),
        _quoted(provenance),
    ]


class _AtomicText:
    """Write to a temporary file beside the target and move it into place when complete."""

    def __init__(self, path: Path, newline: str | None = "\n"):
        self.path = path
        self.tmp = path.with_name(path.name + ".partial")
        self.handle = self.tmp.open("w", encoding="utf-8", newline=newline)

    def commit(self) -> None:
        os.replace(self.tmp, self.path)


class PendingOutputs:
    """Outputs written beside their targets and moved into place together, so that a failure
    part-way never leaves a new timeline beside an old manifest."""

    def __init__(self, out_dir: Path):
        out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir
        self.files: list[_AtomicText] = []

    def open(self, name: str, newline: str | None = "\n"):
        pending = _AtomicText(self.out_dir / name, newline)
        self.files.append(pending)
        return pending.handle

    def reserve(self, name: str) -> Path:
        """The temporary path an output is to be written at by the caller (or another process)."""
        handle = self.open(name)
        handle.close()
        return self.files[-1].tmp

    def json(self, name: str, data: Any) -> None:
        self.open(name).write(json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n")

    @property
    def paths(self) -> list[Path]:
        """Where the outputs will be once committed, in the order they were opened."""
        return [pending.path for pending in self.files]

    def commit(self) -> None:
        for pending in self.files:
            pending.handle.close()
        for pending in self.files:
            pending.commit()


@dataclass(frozen=True)
class SealJob:
    """One stretch of the timeline, in sealed order, for one process to write (it pickles)."""

    db_path: Path
    source_ids: tuple[int, ...]
    after: tuple | None          # the stretch starts after this position (None: at the start)
    last: tuple | None           # and ends at this one, included (None: at the end)
    first_seq: int               # the seq of its first row
    directory: Directory
    zone: str
    victims: tuple[str, ...]
    orders: tuple[OrderTerms, ...]
    places: tuple[PlaceTerms, ...]
    diary_days: frozenset[str]
    indicators: Indicators | None
    jsonl_part: Path
    csv_part: Path


@dataclass
class SealedPart:
    """What writing a stretch gave: its rows, each with a placeholder where its chain value goes
    (the chain needs every row before it, so the values are written when the parts are joined)."""

    rows: int
    row_hashes: bytes            # sha256 hex of each canonical row, 64 ASCII bytes per row
    jsonl_lengths: array         # bytes of each timeline.jsonl line
    csv_lengths: array           # bytes of each timeline.csv line
    conduct: ConductAccumulator


_PLACEHOLDER = GENESIS.encode("ascii")
_JSONL_END = b',"chain":"' + _PLACEHOLDER + b'"}\n'
_CSV_END = b"," + _PLACEHOLDER + b"\r\n"
# Where the chain value sits, counted back from the end of its line.
_JSONL_CHAIN_BACK = len(_PLACEHOLDER) + 3
_CSV_CHAIN_BACK = len(_PLACEHOLDER) + 2


def write_part(job: SealJob, advance: Callable[[int], Any] | None = None) -> SealedPart:
    """Write a stretch of the timeline: each row's line of ``timeline.jsonl`` to ``jsonl_part``
    and of ``timeline.csv`` to ``csv_part``, with a placeholder for the chain value, and gather
    the figures. ``advance`` is told of every thousand rows written."""
    conn = sqlite3.connect(read_only_uri(job.db_path), uri=True)
    conduct = ConductAccumulator(job.zone, job.victims, job.orders, job.places,
                                 job.diary_days, job.indicators)
    clock = civil_clock(job.zone)
    hashes: list[str] = []
    jsonl_lengths, csv_lengths = array("q"), array("q")
    seq = job.first_seq - 1
    try:
        with job.jsonl_part.open("wb") as jsonl, job.csv_part.open("wb") as csv:
            for stored in _stored_events(conn, job.source_ids, job.after, job.last):
                seq += 1
                text = _row_text(stored, seq, job.directory)
                data = text.encode("utf-8")
                hashes.append(hashlib.sha256(data).hexdigest())
                # The canonical row with its chain value appended last: a reader removes
                # "chain" and gets back the text the chain covers (courseline/docs/VERIFYING.md).
                line = data[:-1] + _JSONL_END
                jsonl.write(line)
                jsonl_lengths.append(len(line))
                row = read_json(data)   # the bytes just hashed: not encoded twice
                civil, day = clock.local(row["occurred_utc"]) if row["occurred_utc"] \
                    else ("", None)
                provenance = "[" + ",".join(stored.provenance) + "]"
                line = ",".join(_csv_fields(row, civil, provenance)).encode("utf-8") + _CSV_END
                csv.write(line)
                csv_lengths.append(len(line))
                conduct.add(row, day)
                if advance is not None and seq % 1000 == 0:
                    advance(1000)
    finally:
        conn.close()
    return SealedPart(len(hashes), "".join(hashes).encode("ascii"), jsonl_lengths, csv_lengths,
                      conduct)


def _stretches(conn: sqlite3.Connection, source_ids: tuple[int, ...],
               count: int) -> list[tuple[tuple | None, tuple | None, int]]:
    """Cut the sealed order into ``count`` stretches of about equal size: (after, last, first
    seq) for each. Merged-away events are in the order but not on the timeline, so each
    stretch's first seq is counted without them."""
    marks = ",".join("?" for _ in source_ids)
    total = conn.execute(f"SELECT COUNT(*) FROM events WHERE source_id IN ({marks})",
                         source_ids).fetchone()[0]
    cuts: list[tuple] = []
    for n in range(1, count):
        found = conn.execute(
            f"SELECT instant_us, event_id, id FROM events INDEXED BY events_order "
            f"WHERE source_id IN ({marks}) ORDER BY instant_us, event_id, id LIMIT 1 OFFSET ?",
            (*source_ids, max(total * n // count - 1, 0))).fetchone()
        if found is not None and (not cuts or tuple(found) > cuts[-1]):
            cuts.append(tuple(found))
    stretches = []
    first_seq = 1
    for index, after in enumerate([None, *cuts]):
        last = cuts[index] if index < len(cuts) else None
        stretches.append((after, last, first_seq))
        if last is not None:
            rows = conn.execute(
                f"SELECT COUNT(*) FROM events WHERE source_id IN ({marks}) "
                f"AND (instant_us, event_id, id) <= (?, ?, ?) "
                f"AND id NOT IN (SELECT absorbed FROM merges)", (*source_ids, *last)).fetchone()[0]
            first_seq = rows + 1
    return stretches


def _join_parts(jobs: list[SealJob], parts: list[SealedPart], jsonl_path: Path,
                csv_path: Path) -> str:
    """Join the parts in order, writing each row's chain value over its placeholder as it is
    copied; return the last chain value (the seal)."""
    chain = GENESIS.encode("ascii")
    with jsonl_path.open("wb") as jsonl, csv_path.open("wb") as csv:
        csv.write(csv_line(CSV_COLUMNS).encode("utf-8"))
        for job, part in zip(jobs, parts, strict=True):
            hashes = part.row_hashes
            chains = []
            for index in range(part.rows):
                chain = hashlib.sha256(chain + hashes[index * 64:index * 64 + 64]).hexdigest().encode("ascii")
                chains.append(chain)
            _copy_with_chains(jsonl, job.jsonl_part, part.jsonl_lengths, chains, _JSONL_CHAIN_BACK)
            _copy_with_chains(csv, job.csv_part, part.csv_lengths, chains, _CSV_CHAIN_BACK)
    return chain.decode("ascii")


_BLOCK_BYTES = 4 << 20


def _copy_with_chains(target, part: Path, lengths: array, chains: list[bytes], back: int) -> None:
    """Copy a part's lines to the output a block at a time, each line's chain value written
    ``back`` bytes before its end (no more than a block is ever in memory)."""
    with part.open("rb") as source:
        index, rows = 0, len(lengths)
        while index < rows:
            size, stop = 0, index
            while stop < rows and (size < _BLOCK_BYTES or stop == index):
                size += lengths[stop]
                stop += 1
            block = bytearray(source.read(size))
            end = 0
            for row in range(index, stop):
                end += lengths[row]
                block[end - back:end - back + 64] = chains[row]
            target.write(block)
            index = stop
    part.unlink()


def write_timeline(db: CaseDB, sources: list[SourceRow], outputs: PendingOutputs,
                   directory: Directory, zone: str, victims: Iterable[str],
                   orders: Iterable[OrderTerms], progress=None,
                   processes: int = 1, places: Iterable[PlaceTerms] = (),
                   diary_days: Iterable[str] = (), indicators: Indicators | None = None) -> tuple[Seal, ConductAccumulator]:
    """Write ``timeline.jsonl`` (sealing it) and ``timeline.csv``, and gather the conduct figures.

    The rows are written in stretches of the sealed order, by ``processes`` worker processes
    at once (one stretch, in this process, when 1); each row's chain value needs all the rows
    before it, so the stretches are joined in order and the chain added as they are."""
    source_ids = tuple(s.id for s in sources)
    jsonl_path, csv_path = outputs.reserve("timeline.jsonl"), outputs.reserve("timeline.csv")
    stretches = _stretches(db.conn, source_ids, processes) if source_ids else [(None, None, 1)]
    jobs = [SealJob(Path(db.path), source_ids, after, last, first_seq, directory, zone,
                    tuple(victims), tuple(orders), tuple(places), frozenset(diary_days), indicators,
                    jsonl_path.with_name(f"{jsonl_path.name}.{n}"),
                    csv_path.with_name(f"{csv_path.name}.{n}"))
            for n, (after, last, first_seq) in enumerate(stretches)]
    try:
        if len(jobs) == 1:
            parts = [write_part(jobs[0], progress)]
            if progress:
                progress(parts[0].rows % 1000)
        else:
            parts = _write_parts_in_workers(jobs, progress)
        seal = _join_parts(jobs, parts, jsonl_path, csv_path)
    finally:
        for job in jobs:
            job.jsonl_part.unlink(missing_ok=True)
            job.csv_part.unlink(missing_ok=True)
    conduct = parts[0].conduct
    for part in parts[1:]:
        conduct.extend(part.conduct)
    return Seal(SEAL_ALGORITHM, sum(p.rows for p in parts), seal), conduct


def _write_parts_in_workers(jobs: list[SealJob], progress=None) -> list[SealedPart]:
    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0)
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=context,
                             initializer=_remember_counter, initargs=(counter,)) as pool:
        futures = [pool.submit(_write_part_in_worker, job) for job in jobs]
        shown = 0
        while not all(f.done() for f in futures):
            wait(futures, timeout=0.25)
            if progress and counter.value > shown:
                progress(counter.value - shown)
                shown = counter.value
        parts = []
        for job, future in zip(jobs, futures, strict=True):
            try:
                parts.append(future.result())
            except BrokenProcessPool:
                # A worker was killed (out of memory, a signal): write its stretch here.
                parts.append(write_part(job))
    if progress:
        progress(sum(p.rows for p in parts) - shown)
    return parts


_COUNTER = None


def _remember_counter(counter) -> None:
    global _COUNTER
    _COUNTER = counter


def _count_rows(rows: int) -> None:
    with _COUNTER.get_lock():
        _COUNTER.value += rows


def _write_part_in_worker(job: SealJob) -> SealedPart:
    return write_part(job, _count_rows)


def exhibit_key(label: str) -> tuple[str, int, str]:
    """Exhibits in the order people number them: AO/2 before AO/10."""
    head, _, number = label.rpartition("/")
    return head, int(number) if number.isdigit() else 0, label


def manifest(db: CaseDB, sources: list[SourceRow], exhibits: dict[str, str],
             seal: Seal, conduct: ConductAccumulator, case_reference: str,
             version: str, extras_needed: dict[int, str] | None = None) -> dict[str, Any]:
    """The manifest: every file, what became of its records, the merges and the seal.
    ``extras_needed``: the optional extra that would read a file no parser read, by source id."""
    def exhibit_order(source: SourceRow) -> tuple:
        return (*exhibit_key(exhibits[source.entry]), source.case_path)

    merged = dict(db.conn.execute(
        "SELECT e.source_id, COUNT(*) FROM merges m JOIN events e ON e.id = m.absorbed "
        "GROUP BY e.source_id").fetchall())
    entries = []
    for source in sorted(sources, key=exhibit_order):
        rejects = db.rejects(source.id)
        entries.append({
            "exhibit": exhibits[source.entry], "path": source.case_path, "size": source.size,
            "sha256": source.sha256, "md5": source.md5, "media_type": source.media_type,
            "format": source.parser if source.parser else ("archive" if source.container else None),
            "parser": source.parser, "parser_version": source.parser_version,
            "archive_member_of": source.parent,
            "records": source.records, "events": source.events, "rejected": source.rejected,
            "merged": merged.get(source.id, 0),
            "rejects": [{"locator": loc, "reason": reason} for loc, reason in rejects],
            "note": _source_note(source, (extras_needed or {}).get(source.id)),
            "parser_notes": json.loads(source.notes),
        })
    wanted = {s.entry for s in sources}
    refused = [{"exhibit": exhibits.get(entry), "path": path, "reason": reason}
               for entry, path, reason in db.refusals() if entry in wanted]
    return {
        "courseline_version": version,
        # Media types by content come from libmagic and are hashed into events (attachments):
        # a different libmagic may name a type differently, so the version is part of the record.
        "identified_with": {"libmagic": magic_version()},
        "case_reference": case_reference,
        "sources": entries,
        "refused": refused,
        "merges": _merges(db),
        "unknown_identifiers": conduct.unknown_identifiers(),
        "seal": seal.as_dict(),
    }


def _source_note(source: SourceRow, extra: str | None = None) -> str | None:
    if source.container:
        return "archive: hashed as a whole; its members are listed as their own entries"
    if source.parser is None and source.media_type in SQLITE_TYPES:
        return ("not parsed: an SQLite database whose tables are not those of any format "
                "courseline reads, or whose schema could not be read (damaged or encrypted); it "
                "is kept and hashed as an exhibit")
    if source.parser is None and "/app_parts/" in f"/{source.case_path}":
        return ("an Android MMS part: not parsed on its own; the messages database (mmssms.db) "
                "names it, and its message lists it as an attachment with this sha256")
    if extra:
        return (f"not parsed: courseline reads this file with the optional '{extra}' "
                f"libraries, which are not installed here. Run pip install "
                f"'courseline[{extra}]', then courseline build; it is kept and hashed as an "
                f"exhibit meanwhile")
    if source.parser is None:
        return "not parsed: no parser recognises this file; it is kept and hashed as an exhibit"
    return None


def _merges(db: CaseDB) -> list[dict[str, Any]]:
    """Each merged event: the record kept, the records absorbed into it, and every provenance."""
    groups: dict[str, dict[str, list[str]]] = {}
    rows = db.conn.execute(
        "SELECT k.event_id, k.provenance, a.event_id, a.provenance FROM merges m "
        "JOIN events k ON k.id = m.kept JOIN events a ON a.id = m.absorbed")
    for event_id, kept, absorbed_id, absorbed in rows:
        group = groups.setdefault(event_id, {"provenance": [kept], "absorbed": []})
        group["provenance"].append(absorbed)
        group["absorbed"].append(absorbed_id)
    return [{"event_id": event_id, "absorbed_event_ids": sorted(group["absorbed"]),
             "provenance": [json.loads(p) for p in sorted(group["provenance"])]}
            for event_id, group in sorted(groups.items())]


def read_timeline(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


class ChainCheck:
    """The chain of timeline rows recomputed a row at a time, for a reader that streams them
    (``verify``, an export): :meth:`add` says what is wrong with the next row, or None."""

    def __init__(self) -> None:
        self.chain, self.count = GENESIS, 0

    def add(self, row: dict[str, Any]) -> str | None:
        self.count += 1
        stored = row.pop("chain", None)
        try:
            if row.get("seq") != self.count:
                return f"row {self.count} carries seq {row.get('seq')}"
            self.chain = chain_next(self.chain, row)
            if stored != self.chain:
                return (f"row {self.count} (event {row.get('event_id')}) does not match its "
                        f"chain value")
            return None
        finally:
            row["chain"] = stored

    def ends_at(self, seal: str, events: int) -> str | None:
        """What is wrong with where the rows read so far end, given the seal and its count."""
        if (self.chain, self.count) == (seal, events):
            return None
        return (f"its {self.count} rows end at chain {self.chain}, not at the seal {seal} over "
                f"{events} events")

    def add_line(self, line: bytes) -> tuple[dict[str, Any] | None, str | None]:
        """The next line of timeline.jsonl read and checked: (its row, or None when it is not
        one; what is wrong with it, or None). The chain ties the rows together; only the event
        id ties a row to what its fields say (a row rewritten and re-chained keeps the old id)."""
        try:
            row = read_json(line)
        except ValueError:
            return None, f"row {self.count + 1} is not JSON"
        if not isinstance(row, dict):
            return None, f"row {self.count + 1} is not a timeline row"
        problem = self.add(row)
        if problem is None and sha256_hex(canonical_json(
                {k: v for k, v in row.items() if k not in NOT_HASHED})) != row.get("event_id"):
            problem = f"row {self.count}'s event_id is not the hash of its fields"
        return row, problem


def check_chain(rows: Iterable[dict[str, Any]]) -> tuple[str | None, int, str]:
    """Recompute the chain of timeline rows: (first problem or None, rows, last chain value)."""
    check = ChainCheck()
    for row in rows:
        problem = check.add(row)
        if problem:
            return problem, check.count, check.chain
    return None, check.count, check.chain
