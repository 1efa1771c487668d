"""Reviewer annotations: a person's reading of an event, kept apart from the evidence.

A reviewer marks an event of the sealed timeline with tags (the examples of acts associated with
stalking in s.2A(3) of the Protection from Harassment Act 1997, or marks such as "the victim asked
the suspect to stop") and a note. An annotation is an opinion, not evidence, so (standards.md
items 20 and 31):

* it is stored in its own file, ``CASE/annotations.jsonl``, never in the timeline: the timeline's
  rows and seal do not change when an event is annotated, and untagged events stay as they are;
* it names who made it and when (UTC), and the seal of the timeline the reviewer was looking at;
* the file is append-only and hash-chained as the timeline is (``sha256-chain-v1``: each line's
  ``chain`` is sha256(previous chain + sha256(the line's canonical JSON without ``chain``)),
  the first line's previous chain 64 zeros), so that a line changed, removed or reordered shows;
* each annotation is also entered in the case's audit log.

A line of the file is canonical JSON (sorted keys, no spaces): ``seq``, ``time_utc``, ``by``,
``event_id``, ``tags``, ``note``, ``seal``, ``chain``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from courseline.timeline.db import CaseDB, utc_now
from courseline.timeline.event import GENESIS, canonical_json
from courseline.timeline.seal import chain_next

ANNOTATIONS_FILE = "annotations.jsonl"
MAX_NOTE_CHARS = 4000
MAX_BY_CHARS = 200
MIN_ID_PREFIX = 8

# Tag → what it says. The first seven are the statute's examples, in its order; the list is not
# exhaustive, so "other-conduct" is allowed with a note saying what.
TAGS: dict[str, str] = {
    "following": "s.2A(3)(a): following a person",
    "contacting": "s.2A(3)(b): contacting, or attempting to contact, a person by any means",
    "publishing": "s.2A(3)(c): publishing any statement or other material relating or "
                  "purporting to relate to a person, or purporting to originate from a person",
    "monitoring": "s.2A(3)(d): monitoring the use by a person of the internet, email or any "
                  "other form of electronic communication",
    "loitering": "s.2A(3)(e): loitering in any place (whether public or private)",
    "interfering": "s.2A(3)(f): interfering with any property in the possession of a person",
    "watching": "s.2A(3)(g): watching or spying on a person",
    "other-conduct": "conduct not among the s.2A(3) examples (the list is not exhaustive): the "
                     "note says what",
    "asked-to-stop": "the victim asked the suspect to stop",
    "blocked": "the victim blocked the sender",
    "changed-number": "the victim changed their number or account",
    "threat": "a threat, in the reviewer's reading",
}
NEEDS_NOTE = frozenset({"other-conduct"})
CSV_COLUMNS = ("event_id", "tags", "note", "by")
_HEX = re.compile(r"[0-9a-f]+")


def _at(where: str) -> str:
    return f"{where}: " if where else ""


class AnnotationError(Exception):
    """An annotation that cannot be made: the message names what is wrong and where."""


@dataclass(frozen=True)
class Annotation:
    seq: int
    time_utc: str
    by: str
    event_id: str
    tags: tuple[str, ...]
    note: str
    seal: str
    chain: str

    def row(self) -> dict:
        """The line's fields without its chain, as they are hashed."""
        return {"seq": self.seq, "time_utc": self.time_utc, "by": self.by,
                "event_id": self.event_id, "tags": list(self.tags), "note": self.note,
                "seal": self.seal}


@dataclass(frozen=True)
class Request:
    """One annotation asked for: ``where`` names it in messages (a CSV line, or the command)."""

    event: str          # an event id, or the first characters of one
    tags: tuple[str, ...]
    note: str
    by: str
    where: str = ""


def checked_tags(tags: Iterable[str], note: str, where: str) -> tuple[str, ...]:
    """The tags in a fixed order, or AnnotationError naming an unknown one."""
    found = {tag.strip().lower() for tag in tags if tag.strip()}
    unknown = sorted(found - TAGS.keys())
    if unknown:
        raise AnnotationError(f"{_at(where)}unknown tag(s) {', '.join(unknown)}; the tags are "
                              f"{', '.join(TAGS)}")
    if not found and not note.strip():
        raise AnnotationError(f"{_at(where)}give at least one tag or a note")
    if found & NEEDS_NOTE and not note.strip():
        raise AnnotationError(f"{_at(where)}other-conduct needs a note saying what the conduct is")
    return tuple(tag for tag in TAGS if tag in found)


class AnnotationLog:
    """The annotations of one case, in ``CASE/annotations.jsonl``."""

    def __init__(self, case_folder: Path):
        self.path = case_folder / ANNOTATIONS_FILE

    def entries(self) -> list[Annotation]:
        """Every annotation, in order; AnnotationError when the file is damaged or its chain is
        broken (naming the line)."""
        return read_annotations(self._lines(), str(self.path))

    def _lines(self) -> Iterator[tuple[int, str]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8", newline="\n") as handle:
            for number, line in enumerate(handle, 1):
                if not line.endswith("\n"):
                    raise AnnotationError(f"{self.path} line {number}: cut short (no line end)")
                yield number, line[:-1]

    def check_end(self, db: CaseDB, entries: list[Annotation]) -> None:
        """AnnotationError when the file ends elsewhere than the audit log's last annotation
        says: lines removed from its end, or the file deleted or replaced."""
        count, chain = audited_end(db)
        last = entries[-1].chain if entries else GENESIS
        if (len(entries), last) != (count, chain):
            raise AnnotationError(f"{self.path} holds {len(entries)} annotation(s), but the audit "
                                  f"log records {count}, the last with chain {chain}: "
                                  f"annotations were removed or the file replaced")

    def add(self, db: CaseDB, seal: str, requests: list[Request],
            source_ids: list[int]) -> list[Annotation]:
        """Append the annotations asked for, all or none: every event is looked up in the
        timeline first, and a request that cannot be made stops them all."""
        existing = self.entries()
        self.check_end(db, existing)
        events = resolve_events(db, requests, source_ids)
        prev = existing[-1].chain if existing else GENESIS
        made: list[Annotation] = []
        now = utc_now()
        for offset, request in enumerate(requests, len(existing) + 1):
            tags = checked_tags(request.tags, request.note, request.where)
            by = " ".join(request.by.split())
            if not by:
                raise AnnotationError(f"{_at(request.where)}say who makes the annotation (--by, or "
                                      f"examiner in case.toml)")
            try:
                (by + request.note).encode("utf-8")
            except UnicodeEncodeError:
                raise AnnotationError(f"{_at(request.where)}the name or note holds bytes that "
                                      f"are not text (UTF-8)") from None
            if len(by) > MAX_BY_CHARS or len(request.note) > MAX_NOTE_CHARS:
                raise AnnotationError(f"{_at(request.where)}the name is limited to {MAX_BY_CHARS} "
                                      f"characters and the note to {MAX_NOTE_CHARS}")
            entry = Annotation(offset, now, by, events[request.event], tags, request.note.strip(),
                               seal, "")
            chain = chain_next(prev, entry.row())
            entry = replace(entry, chain=chain)
            made.append(entry)
            prev = chain
        text = "".join(canonical_json({**entry.row(), "chain": entry.chain}) + "\n"
                       for entry in made)
        with self.path.open("a", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        return made


def audit_annotations(db: CaseDB, examiner: str, made: list[Annotation], log: AnnotationLog,
                      inputs: list[dict] | None = None) -> None:
    """Enter annotations just made in the case's audit log, with the chain they end at (which
    :func:`audited_end` reads back)."""
    db.audit("annotate", examiner, parameters={
        "annotations": [{"seq": a.seq, "event_id": a.event_id, "tags": list(a.tags), "by": a.by}
                        for a in made]},
        inputs=inputs or [], outputs=[{"path": log.path.name, "chain": made[-1].chain}])


def timeline_event_ids(db: CaseDB, source_ids: list[int]) -> Iterator[str]:
    """The event ids of the timeline the case's sources give: merged duplicates count once,
    under the event kept, and sources no longer in the case file not at all."""
    marks = ", ".join("?" for _ in source_ids)
    for (event_id,) in db.conn.execute(
            f"SELECT DISTINCT event_id FROM events WHERE source_id IN ({marks}) "
            f"AND id NOT IN (SELECT absorbed FROM merges)", source_ids):
        yield event_id


def read_annotations(lines: Iterable[tuple[int, str]], where: str) -> list[Annotation]:
    """The annotations of numbered lines (without their line ends) of an annotations file, in
    order; AnnotationError naming the line where one is damaged or the chain breaks. ``where``
    names the file in the message (the case's, or the one in an evidence pack)."""
    found: list[Annotation] = []
    prev = GENESIS
    for number, line in lines:
        try:
            data = json.loads(line)
            entry = Annotation(int(data["seq"]), str(data["time_utc"]), str(data["by"]),
                               str(data["event_id"]), tuple(data["tags"]), str(data["note"]),
                               str(data["seal"]), str(data["chain"]))
        except (ValueError, KeyError, TypeError) as error:
            raise AnnotationError(f"{where} line {number}: not an annotation "
                                  f"({type(error).__name__}: {error})") from None
        if entry.seq != number:
            raise AnnotationError(f"{where} line {number}: holds annotation {entry.seq}: "
                                  f"a line was removed or moved")
        if canonical_json({**entry.row(), "chain": entry.chain}) != line:
            raise AnnotationError(f"{where} line {number}: not as courseline wrote it")
        if entry.chain != chain_next(prev, entry.row()):
            raise AnnotationError(f"{where} line {number}: the chain breaks here (the line or "
                                  f"one before it was changed)")
        found.append(entry)
        prev = entry.chain
    return found


def audited_end(db: CaseDB) -> tuple[int, str]:
    """How many annotations the audit log says were made, and the chain of the last one."""
    # Canonical JSON: the action's key and value appear with bare quotes only as the entry's own
    # (inside a string a quote is escaped), so the last such entry is found without reading all.
    found = db.conn.execute("SELECT entry FROM audit WHERE entry LIKE ? ORDER BY seq DESC LIMIT 1",
                            ('%"action":"annotate"%',)).fetchone()
    if found is None:
        return 0, GENESIS
    entry = json.loads(found[0])
    return entry["parameters"]["annotations"][-1]["seq"], entry["outputs"][0]["chain"]


def log_problem(case_folder: Path, db: CaseDB, source_ids: list[int]) -> tuple[str | None, int]:
    """What is wrong with a case's annotations (a broken chain, lines missing from its end, an
    event not in the timeline), or None; and how many there are."""
    log = AnnotationLog(case_folder)
    try:
        entries = log.entries()
        log.check_end(db, entries)
    except AnnotationError as error:
        return str(error), 0
    wanted = {entry.event_id for entry in entries}
    for event_id in timeline_event_ids(db, source_ids):
        wanted.discard(event_id)
    if wanted:
        first = next(entry for entry in entries if entry.event_id in wanted)
        return (f"{log.path}: {len(wanted)} annotated event(s) are not in the case's timeline "
                f"(first: annotation {first.seq}, event {first.event_id})"), len(entries)
    return None, len(entries)


def resolve_events(db: CaseDB, requests: list[Request], source_ids: list[int]) -> dict[str, str]:
    """Each request's event as a full event id of the timeline: an id, or its first characters
    when they name one event only. One pass over the case's events, however many requests."""
    wanted: dict[str, list[str]] = {}
    for request in requests:
        event = request.event.strip().lower()
        if len(event) < MIN_ID_PREFIX or not _HEX.fullmatch(event):
            raise AnnotationError(f"{_at(request.where)}{request.event!r} is not an event id (the "
                                  f"event_id of timeline.jsonl, or at least its first "
                                  f"{MIN_ID_PREFIX} characters)")
        wanted.setdefault(event, [])
    lengths = sorted({len(prefix) for prefix in wanted})
    for event_id in timeline_event_ids(db, source_ids):
        for length in lengths:
            matches = wanted.get(event_id[:length])
            if matches is not None and event_id not in matches:
                matches.append(event_id)
    resolved: dict[str, str] = {}
    for request in requests:
        event = request.event.strip().lower()
        matches = wanted[event]
        if not matches:
            raise AnnotationError(f"{_at(request.where)}no event {request.event} in the timeline "
                                  f"(build the case first, and copy the id from timeline.jsonl "
                                  f"or the report)")
        if len(matches) > 1:
            raise AnnotationError(f"{_at(request.where)}{request.event} is the start of "
                                  f"{len(matches)} event ids; give more of it")
        resolved[request.event] = matches[0]
    return resolved


def read_requests(path: Path, default_by: str) -> list[Request]:
    """The annotations of a CSV file with columns event_id, tags (separated by ; or |), note and
    by (optional: ``default_by`` when empty)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("event_id", "tags") if c not in (reader.fieldnames or [])]
            if missing:
                raise AnnotationError(f"{path}: the first line must name the columns "
                                      f"{', '.join(CSV_COLUMNS)}; missing {', '.join(missing)}")
            requests = []
            for row in reader:
                where = f"{path} line {reader.line_num}"
                if row.get(None):   # csv puts fields beyond the header's under None
                    raise AnnotationError(f"{where}: more fields than the first line names "
                                          f"(put a note holding commas in double quotes)")
                if not any((value or "").strip() for value in row.values()):
                    continue
                tags = re.split(r"[;|]", row.get("tags") or "")
                requests.append(Request((row.get("event_id") or "").strip(), tuple(tags),
                                        row.get("note") or "",
                                        (row.get("by") or "").strip() or default_by, where))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise AnnotationError(f"{path} cannot be read: {error}") from None
    if not requests:
        raise AnnotationError(f"{path} holds no annotations")
    return requests
