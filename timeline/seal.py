"""Writing the sealed timeline and the files that describe it.

The timeline is ordered by (instant, ``event_id``). Each row carries ``chain`` =
sha256(previous chain ‖ sha256(canonical row without ``chain``)), hex strings joined as text,
starting from 64 zeros; the last chain value is the seal. ``docs/VERIFYING.md`` recomputes it with
the standard library alone.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from courseline.collectors.identify import magic_version
from courseline.timeline.conduct import ConductAccumulator, OrderTerms
from courseline.timeline.db import CaseDB, SourceRow
from courseline.timeline.event import GENESIS, canonical_json, sha256_hex
from courseline.timeline.identity import Directory
from courseline.timeline.timeutil import civil_time

SEAL_ALGORITHM = "sha256-chain-v1: chain = sha256(prev_chain_hex + sha256_hex(canonical_row)), prev of first row = 64 zeros"
CSV_COLUMNS = (
    "seq", "event_id", "occurred_utc", "occurred_local", "precision", "time_basis", "time_raw",
    "time_source", "time_zone", "time_flags", "time_readings", "time_uncorrected_utc", "kind",
    "platform", "direction", "direction_basis", "sender", "sender_person", "recipients",
    "recipient_persons", "subject", "text", "call_status", "duration_s", "attachments",
    "location", "flags", "notes", "details", "exhibits", "provenance", "chain",
)
SQLITE_TYPES = ("application/vnd.sqlite3", "application/x-sqlite3")
_FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r"})


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


def _stored_events(db: CaseDB, sources: list[SourceRow]) -> Iterator[_Stored]:
    """Every event of the given sources, merged, in sealed order."""
    ids = [s.id for s in sources]
    if not ids:
        return
    marks = ",".join("?" for _ in ids)
    absorbed: dict[int, list[str]] = {}
    skipped: set[int] = set()
    for kept, gone, provenance in db.conn.execute(
            "SELECT m.kept, m.absorbed, e.provenance FROM merges m JOIN events e ON e.id = m.absorbed"):
        absorbed.setdefault(kept, []).append(provenance)
        skipped.add(gone)
    # Read in the order of the index (whose entries end with the row id): left to itself,
    # SQLite may pick the source index and sort every record in a temporary table instead.
    cursor = db.conn.execute(
        f"SELECT id, event_id, record, provenance FROM events INDEXED BY events_order "
        f"WHERE source_id IN ({marks}) ORDER BY instant_us, event_id, id", ids)
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
    sender_ident = json.loads(text[sender + len(_BEFORE_SENDER):subject])
    persons = [directory.person_of(i) for i in idents]
    return "".join((
        text[:flags], ',"event_id":"', stored.event_id, '"',
        text[flags:recipients],
        ',"provenance":[', ",".join(stored.provenance), "]",
        ',"recipient_persons":', canonical_json(persons),
        text[recipients:subject],
        ',"sender_person":', canonical_json(directory.person_of(sender_ident)),
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


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if value.__class__ is str:
        text = value
    elif isinstance(value, (list, dict)):
        text = canonical_json(value) if value else ""
    else:
        text = str(value)
    # A spreadsheet would run a cell starting with these as a formula; the JSONL stays verbatim.
    return "'" + text if text[:1] in _FORMULA_STARTS else text


def _quoted(cell: str) -> str:
    if '"' in cell:
        return '"' + cell.replace('"', '""') + '"'
    if "," in cell or "\n" in cell or "\r" in cell:
        return '"' + cell + '"'
    return cell


def csv_line(cells: Iterable[str]) -> str:
    """One CSV record as the standard library's csv.writer writes it (minimal quoting, quotes
    doubled, CRLF), for rows of more than one cell; made with string methods, four times faster
    on a timeline's long cells than the writer's character-by-character loop."""
    return ",".join([_quoted(cell) for cell in cells]) + "\r\n"


def _joined(values: list) -> str:
    return "; ".join(map(str, values))


def _csv_row(row: dict[str, Any], zone: str) -> list[str]:
    """The cells of a row, in the order of CSV_COLUMNS: lists joined with "; ", objects as
    canonical JSON. Written out column by column: it runs once per event."""
    get, cell = row.get, _csv_cell
    return [
        cell(get("seq")), cell(get("event_id")), cell(get("occurred_utc")),
        cell(civil_time(row["occurred_utc"], zone)), cell(get("precision")),
        cell(get("time_basis")), cell(get("time_raw")), cell(get("time_source")),
        cell(get("time_zone")), cell(_joined(row["time_flags"])),
        cell(_joined(row["time_readings"])), cell(get("time_uncorrected_utc")), cell(get("kind")),
        cell(get("platform")), cell(get("direction")), cell(get("direction_basis")),
        cell(get("sender")), cell(get("sender_person")), cell(_joined(row["recipients"])),
        cell("; ".join(p or "" for p in row["recipient_persons"])), cell(get("subject")),
        cell(get("text")), cell(get("call_status")), cell(get("duration_s")),
        cell(get("attachments")), cell(get("location")), cell(_joined(row["flags"])),
        cell(_joined(row["notes"])), cell(get("details")),
        cell("; ".join(f"{p['exhibit']} {p['path']} {p['locator']}" for p in row["provenance"])),
        cell(get("provenance")), cell(get("chain")),
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

    def commit(self) -> None:
        for pending in self.files:
            pending.handle.close()
        for pending in self.files:
            pending.commit()


class _Views:
    """Writes ``timeline.csv`` and gathers the conduct figures from the sealed lines, in order
    (in this process, or in a second one fed by :class:`_ProcessViews`)."""

    def __init__(self, csv_path: Path, zone: str, victims: list[str], orders: list[OrderTerms]):
        self.zone = zone
        self.handle = csv_path.open("w", encoding="utf-8", newline="")
        self.handle.write(csv_line(CSV_COLUMNS))
        self.conduct = ConductAccumulator(zone, victims, orders)

    def add(self, line: str) -> None:
        row = json.loads(line)
        self.handle.write(csv_line(_csv_row(row, self.zone)))
        self.conduct.add(row)

    def finish(self) -> ConductAccumulator:
        self.handle.close()
        return self.conduct

    def abandon(self) -> None:
        self.handle.close()


def _views_worker(channel, csv_path: Path, zone: str, victims: list[str],
                  orders: list[OrderTerms]) -> None:
    """Child process: the CSV and the conduct figures from the sealed lines, in order."""
    views = _Views(csv_path, zone, victims, orders)
    while (batch := channel.recv()) is not None:
        for line in batch:
            views.add(line)
    channel.send(views.finish())
    channel.close()


class _ProcessViews:
    """Writes ``timeline.csv`` and gathers the conduct figures in a second process, fed the
    sealed lines in batches: on a large timeline this halves the time sealing takes. The child
    reads back exactly the lines written to ``timeline.jsonl``, so both ways give the same bytes."""

    BATCH = 2000

    def __init__(self, csv_path: Path, zone: str, victims: list[str], orders: list[OrderTerms]):
        context = multiprocessing.get_context("spawn")
        self.channel, child = context.Pipe()
        self.process = context.Process(target=_views_worker,
                                       args=(child, csv_path, zone, victims, orders),
                                       daemon=True)
        self.process.start()
        child.close()
        self.batch: list[str] = []

    def add(self, line: str) -> None:
        self.batch.append(line)
        if len(self.batch) >= self.BATCH:
            self._send(self.batch)
            self.batch = []

    def _send(self, message: list[str] | None) -> None:
        try:
            self.channel.send(message)
        except (BrokenPipeError, EOFError):
            raise RuntimeError("the process writing timeline.csv stopped unexpectedly") from None

    def finish(self) -> ConductAccumulator:
        if self.batch:
            self._send(self.batch)
        self._send(None)
        try:
            conduct = self.channel.recv()
        except EOFError:
            raise RuntimeError("the process writing timeline.csv stopped unexpectedly") from None
        self.process.join()
        return conduct

    def abandon(self) -> None:
        self.process.kill()
        self.process.join()
        self.channel.close()


def write_timeline(db: CaseDB, sources: list[SourceRow], outputs: PendingOutputs,
                   directory: Directory, zone: str, victims: Iterable[str],
                   orders: Iterable[OrderTerms], progress=None,
                   second_process: bool = False) -> tuple[Seal, ConductAccumulator]:
    """Write ``timeline.jsonl`` (sealing it) and ``timeline.csv``, and gather the conduct figures.
    ``second_process``: do the CSV and the figures in a second process (large timelines)."""
    jsonl = outputs.open("timeline.jsonl")
    views_type = _ProcessViews if second_process else _Views
    views = views_type(outputs.reserve("timeline.csv"), zone, list(victims), list(orders))
    chain = GENESIS
    seq = 0
    try:
        for stored in _stored_events(db, sources):
            seq += 1
            text = _row_text(stored, seq, directory)
            chain = sha256_hex(chain + sha256_hex(text))
            # The canonical row with its chain value appended last: a reader removes "chain" and
            # gets back the text the chain covers (docs/VERIFYING.md), without encoding it twice.
            line = f'{text[:-1]},"chain":"{chain}"}}'
            jsonl.write(line + "\n")
            views.add(line)
            if progress and seq % 1000 == 0:
                progress(1000)
    except BaseException:
        views.abandon()   # Ctrl-C or a failure: the child is stopped, the cause reported
        raise
    conduct = views.finish()
    if progress:
        progress(seq % 1000)
    return Seal(SEAL_ALGORITHM, seq, chain), conduct


def manifest(db: CaseDB, sources: list[SourceRow], exhibits: dict[str, str],
             seal: Seal, conduct: ConductAccumulator, case_reference: str,
             version: str) -> dict[str, Any]:
    """The manifest: every file, what became of its records, the merges and the seal."""
    def exhibit_order(source: SourceRow) -> tuple:
        label = exhibits[source.entry]
        head, _, number = label.rpartition("/")
        return (head, int(number) if number.isdigit() else 0, label, source.case_path)

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
            "note": _source_note(source),
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


def _source_note(source: SourceRow) -> str | None:
    if source.container:
        return "archive: hashed as a whole; its members are listed as their own entries"
    if source.parser is None and source.media_type in SQLITE_TYPES:
        return ("not parsed: an SQLite database whose tables are not those of any format "
                "courseline reads, or whose schema could not be read (damaged or encrypted); it "
                "is kept and hashed as an exhibit")
    if source.parser is None and "/app_parts/" in f"/{source.case_path}":
        return ("an Android MMS part: not parsed on its own; the messages database (mmssms.db) "
                "names it, and its message lists it as an attachment with this sha256")
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


def check_chain(rows: Iterable[dict[str, Any]]) -> tuple[str | None, int, str]:
    """Recompute the chain of timeline rows: (first problem or None, rows, last chain value)."""
    chain = GENESIS
    count = 0
    for count, row in enumerate(rows, 1):
        stored = row.pop("chain", None)
        if row.get("seq") != count:
            return f"row {count} carries seq {row.get('seq')}", count, chain
        chain = chain_next(chain, row)
        if stored != chain:
            return f"row {count} (event {row.get('event_id')}) does not match its chain value", count, chain
    return None, count, chain
