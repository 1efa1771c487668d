"""``courseline verify``: does every hash and the seal reproduce? (ACPO principle 3)

Checks, in order, naming the first difference of each:
1. the audit log's hash chain;
2. every evidence copy against the sha256 recorded when it was collected;
3. every stored event row against its event id (the id is the hash of the row's record);
4. ``out/timeline.jsonl`` against its own chain, and the seal and count in ``out/manifest.json``;
5. a fresh build in a temporary folder, re-parsing the evidence copies with the same case file:
   the events it stores must be those the case database holds, and every output (timeline,
   table, manifest, conduct, report) must be byte-identical to the case's.

Not detectable here: the removal of the last entries of the audit log, when nothing outside the
log recorded its head (a continuity statement that quotes the head hash makes it detectable).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from itertools import groupby, zip_longest
from pathlib import Path

from courseline.annotations import log_problem
from courseline.casefile import Case
from courseline.pipeline import (DB_FILE, EVIDENCE_DIR, OUT_DIR, OUTPUT_FILES, CasePipeline,
                                 Progress)
from courseline.report import render_report
from courseline.timeline.db import CaseDB, check_audit_chain
from courseline.timeline.event import sha256_hex
from courseline.timeline.seal import check_chain, read_timeline


@dataclass
class Outcome:
    checked: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    seal: str | None = None

    def check(self, problem: str | None, passed: str) -> None:
        if problem:
            self.differences.append(problem)
        else:
            self.checked.append(passed)


def verify_case(case: Case, progress: Progress | None = None) -> Outcome:
    """Check a case without writing anything to it (it may be on read-only media)."""
    outcome = Outcome()
    out_dir = case.folder / OUT_DIR
    if not (case.folder / DB_FILE).exists() or not (out_dir / "manifest.json").exists():
        outcome.differences.append(f"{case.folder} has not been built yet: run `courseline build`")
        return outcome
    with CasePipeline(case, progress, read_only=True) as pipeline:
        rows = pipeline.db.audit_rows()
        head = rows[-1][3] if rows else "none"
        outcome.check(check_audit_chain(rows),
                      f"audit log: {len(rows)} entries, chain intact. The hash of its last entry is "
                      f"{head}: note it in your records, and a log later cut short will show")
        problem, count = log_problem(case.folder, pipeline.db,
                                     [source.id for source in pipeline.active_sources()])
        outcome.check(problem, f"annotations: {count}, chain intact, each on an event of the "
                               f"timeline" if count else "annotations: none")
        evidence = pipeline.check_evidence()
        outcome.check("; ".join(map(str, evidence)) or None,
                      f"evidence: {len(pipeline.active_sources())} file(s) match their sha256, "
                      f"md5 and size")
        outcome.check(_stored_rows_problem(pipeline.db), "stored events match their event ids")
        uncollected = [entry.path for entry in case.sources
                       if not pipeline.db.entry_collected(entry.path)]
    outcome.check(uncollected and (f"case.toml lists source(s) not yet collected: "
                                   f"{', '.join(uncollected)}; run `courseline build`"),
                  "every source in case.toml has been collected")
    outcome.check(_chain_problem(out_dir), "timeline chain: every row leads to the manifest's seal")
    if evidence:
        outcome.differences.append("fresh re-parse skipped: the evidence does not match its hashes")
        return outcome
    with tempfile.TemporaryDirectory(prefix="courseline-verify-") as tmp:
        fresh_out = Path(tmp) / OUT_DIR
        with CasePipeline(case, progress, db_path=Path(tmp) / DB_FILE,
                          evidence_root=case.folder / EVIDENCE_DIR, out_dir=fresh_out) as fresh:
            with CaseDB(case.folder / DB_FILE, read_only=True) as stored:
                _copy_collection(stored, fresh.db)
                result = fresh.build(collect=False, evidence_checked=True)
                outcome.check(_event_set_difference(stored, fresh.db),
                              "fresh re-parse: the case database holds the same events")
        names = list(OUTPUT_FILES)
        if (out_dir / "report.html").exists():
            render_report(case, fresh_out)
            names.append("report.html")
        for name in names:
            outcome.check(_first_difference(out_dir / name, fresh_out / name),
                          f"fresh re-parse: {name} is byte-identical")
        outcome.seal = result.seal.value if not outcome.differences else None
    return outcome


def _chain_problem(out_dir: Path) -> str | None:
    try:
        seal = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))["seal"]
        problem, count, chain = check_chain(read_timeline(out_dir / "timeline.jsonl"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"out/timeline.jsonl or out/manifest.json cannot be read: {exc}"
    if problem:
        return f"out/timeline.jsonl: {problem}"
    if chain != seal["value"] or count != seal["events"]:
        return (f"out/timeline.jsonl ends at chain {chain} after {count} rows, but the manifest's "
                f"seal is {seal['value']} over {seal['events']} events")
    return None


def _events_by_source(db: CaseDB) -> dict[str, tuple[int, str]]:
    """For each file, how many events it gave and a digest of their ids and provenance."""
    found: dict[str, tuple[int, str]] = {}
    query = ("SELECT s.case_path, e.event_id, e.provenance FROM events e "
             "JOIN sources s ON s.id = e.source_id ORDER BY s.case_path, e.event_id, e.provenance")
    for path, rows in groupby(db.conn.execute(query), key=lambda row: row[0]):
        digest = hashlib.sha256()
        count = 0
        for _, event_id, provenance in rows:
            digest.update(f"{event_id}\n{provenance}\n".encode())
            count += 1
        found[path] = (count, digest.hexdigest())
    return found


def _event_set_difference(stored: CaseDB, fresh: CaseDB) -> str | None:
    before, after = _events_by_source(stored), _events_by_source(fresh)
    for path in sorted(before.keys() | after.keys()):
        if before.get(path) != after.get(path):
            old, new = before.get(path, (0, "")), after.get(path, (0, ""))
            how = (f"{old[0]} stored, {new[0]} from the fresh parse" if old[0] != new[0]
                   else f"the same number, {old[0]}, with different ids or provenance")
            return f"case.sqlite holds events of {path} that a fresh parse does not give ({how})"
    return None


def _stored_rows_problem(db: CaseDB) -> str | None:
    cursor = db.conn.execute(
        "SELECT e.event_id, e.record, s.case_path, e.provenance FROM events e "
        "JOIN sources s ON s.id = e.source_id ORDER BY e.id")
    for event_id, record, path, provenance in cursor:
        if sha256_hex(record) != event_id:
            locator = json.loads(provenance).get("locator")
            return (f"case.sqlite: the stored event {event_id} ({path}, {locator}) was changed: "
                    f"its record no longer hashes to its id")
    return None


def _copy_collection(stored: CaseDB, fresh: CaseDB) -> None:
    """Give a fresh database the collected sources (not their events), to parse them again."""
    with fresh.transaction() as conn:
        conn.executemany("INSERT INTO entries VALUES (?, ?, ?)",
                         stored.conn.execute("SELECT entry, exhibit, number FROM entries"))
        columns = ("entry", "case_path", "name", "parent", "container", "sha256", "md5", "size",
                   "media_type", "parser", "parser_version")
        conn.executemany(
            f"INSERT INTO sources ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            stored.conn.execute(f"SELECT {', '.join(columns)} FROM sources ORDER BY id"))
        conn.executemany("INSERT INTO refusals VALUES (?, ?, ?)",
                         stored.conn.execute("SELECT entry, case_path, reason FROM refusals"))


def _first_difference(existing: Path, fresh: Path) -> str | None:
    if not existing.exists():
        return f"out/{existing.name} is missing"
    if existing.name == "report.html" and _seal_of(fresh) not in existing.read_text("utf-8", "replace"):
        return ("out/report.html was made from another build (it does not show the current seal): "
                "run `courseline report` to make it again")
    shown, now = (_annotations_of(existing), _annotations_of(fresh)) \
        if existing.name == "report.html" else ("", "")
    if shown != now:
        return (f"out/report.html was made before the latest annotations (it shows "
                f"{shown.split()[0] if shown else 'none'}, the case has {now.split()[0]}): run "
                f"`courseline report` to make it again")
    with existing.open(encoding="utf-8", errors="replace", newline="") as a, \
            fresh.open(encoding="utf-8", newline="") as b:
        for number, (old, new) in enumerate(zip_longest(a, b), 1):
            if old == new:
                continue
            if old is None or new is None:
                return (f"out/{existing.name}: a fresh re-parse has "
                        f"{'more' if old is None else 'fewer'} lines (from line {number})")
            return f"out/{existing.name} differs from a fresh re-parse at line {number}: " + \
                _describe(old, new)
    return None


def _annotations_of(report: Path) -> str:
    """The annotations a report shows: how many, and the chain of the last (from its head)."""
    with report.open(encoding="utf-8", errors="replace") as handle:
        head = handle.read(4096)
    found = re.search(r'<meta name="courseline-annotations" content="([^"]*)">', head)
    return found.group(1) if found else ""


def _describe(old: str, new: str) -> str:
    try:
        before, after = json.loads(old), json.loads(new)
    except ValueError:
        return f"{old.strip()[:120]!r} vs {new.strip()[:120]!r}"
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        label = before.get("event_id") or ""
        return (f"{'event ' + label[:16] + ', ' if label else ''}field(s) {', '.join(keys)} differ "
                f"(if the case file changed since the last build, run `courseline build` first)")
    return f"{old.strip()[:120]!r} vs {new.strip()[:120]!r}"


def _seal_of(out_dir_file: Path) -> str:
    manifest = json.loads((out_dir_file.parent / "manifest.json").read_text(encoding="utf-8"))
    return manifest["seal"]["value"]
