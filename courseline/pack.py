"""The evidence pack: ``courseline pack CASE`` and ``courseline verify --pack PACK.zip``.

One zip to hand on, which the recipient checks with standard tools (``sha256sum -c``) or with the
short script in its ``docs/VERIFYING.md``, without courseline and without the case folder::

    <reference>/SHA256SUMS             the SHA-256 of every other file, as `sha256sum` writes it
    <reference>/manifest.json          every source file with its hashes and exhibit; the seal
    <reference>/timeline/timeline.jsonl  the sealed timeline (every event id and the seal recompute)
    <reference>/timeline/timeline.csv    the same rows for reading
    <reference>/report/report.html     the court report, and its PDF (PDF/A-3b)
    <reference>/report/report.pdf
    <reference>/audit-log.jsonl        the case's hash-chained audit log, one entry per line
    <reference>/annotations.jsonl      the reviewers' annotations the report shows (when any)
    <reference>/docs/VERIFYING.md      how to check all of this

What ties the files together: the timeline's chain ends at the seal in the manifest; the audit
log (to the entry of the report packed) keeps its chain, and its last ``build`` entry names that
seal and the hashes of the timeline, its CSV and the manifest; its last full ``report`` entry
with a PDF names the seal and the hashes of the report files, and comes after the last build
and the last annotation. The zip's entries
are in a fixed order with fixed times (when the timeline was first sealed), so the same case
packs to the same bytes.

The pack holds the full report and the timeline as they are: it is not a redacted disclosure
copy (``courseline report --redact`` makes that report; a redacted pack is not made).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import IO, Any

from courseline.annotations import (ANNOTATIONS_FILE, AnnotationError, AnnotationLog,
                                    read_annotations)
from courseline.casefile import Case
from courseline.collectors.hashing import hash_file, read_chunks
from courseline.export import SealedTimeline, fixed_zip_entry, open_sealed
from courseline.pipeline import DB_FILE, OUT_DIR
from courseline.timeline.db import CaseDB, check_audit_chain
from courseline.timeline.event import GENESIS, canonical_json, read_json
from courseline.timeline.seal import ChainCheck
from courseline.verify import Outcome

PACK_FILE = "evidence-pack.zip"    # under CASE/out/export/ unless --out says otherwise
SUMS = "SHA256SUMS"
AUDIT = "audit-log.jsonl"
BLOCK = 1 << 20
# Files the last build wrote and entered in the audit log with their hashes: (in the case, in
# the pack).
BUILT = (("out/timeline.jsonl", "timeline/timeline.jsonl"), ("out/timeline.csv",
                                                              "timeline/timeline.csv"),
         ("out/manifest.json", "manifest.json"))
REPORTED = (("out/report.html", "report/report.html"), ("out/report.pdf", "report/report.pdf"))


class PackError(Exception):
    """A pack that cannot be made; the message says why and what to run."""


def folder_name(reference: str) -> str:
    """The pack's top folder: the case reference made safe as a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", reference).strip("-.") or "case"


def verifying_document() -> bytes:
    return resources.files("courseline").joinpath("docs", "VERIFYING.md").read_bytes()


# -- making a pack ----------------------------------------------------------------------------

def current_report(case: Case, seal: str) -> dict[str, Any] | None:
    """The audit entry of the full report with its PDF that shows the timeline with this seal
    and the annotations as they are, when the files in out/ are still the ones it wrote."""
    with CaseDB(case.folder / DB_FILE, read_only=True) as db:
        entries = db.audit_entries()
    last = None
    for entry in entries:
        if entry["action"] in ("build", "annotate"):
            last = None   # a later build or annotation makes any earlier report out of date
        if _is_full_report(entry) and entry["parameters"].get("seal") == seal:
            last = entry
    if last is None:
        return None
    written = {item["path"]: item["sha256"] for item in last["outputs"]}
    for in_case, _ in REPORTED:
        path = case.folder / in_case
        if not path.is_file() or hash_file(path).sha256 != written.get(in_case):
            return None
    return last


def _check_annotations(case: Case) -> None:
    """The annotations file must be the one the audit log ends at (the pack's check insists)."""
    log = AnnotationLog(case.folder)
    try:
        with CaseDB(case.folder / DB_FILE, read_only=True) as db:
            log.check_end(db, log.entries())
    except AnnotationError as exc:
        raise PackError(f"{exc}; nothing was packed. Run `courseline verify {case.folder}`") \
            from None


def pack_members(case: Case, report: dict[str, Any]) -> list[tuple[str, Path | bytes]]:
    """What goes in the pack, in its order: (name inside the top folder, file or bytes). The
    audit log runs to the entry of the report packed: what came after (exports, earlier packs)
    made nothing the pack holds, and leaving it out lets the same case pack to the same bytes."""
    folder = case.folder
    members: list[tuple[str, Path | bytes]] = [
        ("manifest.json", folder / OUT_DIR / "manifest.json"),
        ("timeline/timeline.jsonl", folder / OUT_DIR / "timeline.jsonl"),
        ("timeline/timeline.csv", folder / OUT_DIR / "timeline.csv"),
        ("report/report.html", folder / OUT_DIR / "report.html"),
        ("report/report.pdf", folder / OUT_DIR / "report.pdf"),
        (AUDIT, _audit_log_lines(folder / DB_FILE, report["seq"])),
    ]
    if (folder / ANNOTATIONS_FILE).is_file():
        members.append((ANNOTATIONS_FILE, folder / ANNOTATIONS_FILE))
    members.append(("docs/VERIFYING.md", verifying_document()))
    return members


def write_pack(case: Case, target: Path) -> tuple[SealedTimeline, int]:
    """Write the pack to ``target`` (a new file the caller keeps or throws away); returns the
    timeline it holds and its number of files. Raises :class:`PackError` when the report is
    not the current one."""
    sealed = open_sealed(case)
    for _ in sealed.lines():   # the timeline still ends at its seal, row by row
        pass
    _check_annotations(case)
    report = current_report(case, sealed.seal)
    if report is None:
        raise PackError(f"{case.folder / OUT_DIR / 'report.pdf'} is missing or does not show the "
                        f"current timeline and annotations: run `courseline report "
                        f"{case.folder} --pdf` first")
    top = folder_name(sealed.reference or case.folder.name)
    sums: list[str] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as pack:
        members = pack_members(case, report)
        for name, content in members:
            digest = hashlib.sha256()
            entry = fixed_zip_entry(f"{top}/{name}", sealed.sealed_utc)
            with pack.open(entry, "w", force_zip64=True) as sink:
                for block in _blocks(content):
                    digest.update(block)
                    sink.write(block)
            sums.append(f"{digest.hexdigest()}  {name}\n")
        pack.writestr(fixed_zip_entry(f"{top}/{SUMS}", sealed.sealed_utc),
                      "".join(sums).encode("ascii"))
    return sealed, len(members) + 1


def _blocks(content: Path | bytes) -> Iterator[bytes]:
    if isinstance(content, bytes):
        yield content
        return
    with content.open("rb") as handle:
        yield from read_chunks(handle)


def _audit_log_lines(db_path: Path, through_seq: int) -> bytes:
    """The audit table to entry ``through_seq`` as JSON lines: each entry's text exactly as it
    was hashed, with the chain (``hash = sha256(prev + entry)``)."""
    with CaseDB(db_path, read_only=True) as db:
        rows = [row for row in db.audit_rows() if row[0] <= through_seq]
    return "".join(canonical_json({"seq": seq, "entry": text, "prev": prev, "hash": digest})
                   + "\n" for seq, text, prev, digest in rows).encode("utf-8")




# -- checking a pack on its own ---------------------------------------------------------------

NEEDED = ("manifest.json", "timeline/timeline.jsonl", "timeline/timeline.csv",
          "report/report.html", "report/report.pdf", AUDIT)


class Damaged(Exception):
    """A member of the pack that cannot be read as what it should be."""


@dataclass
class _Pack:
    zip: zipfile.ZipFile
    top: str
    hashed: dict[str, str] = field(default_factory=dict)   # each member read once

    def open(self, name: str) -> IO[bytes]:
        return self.zip.open(f"{self.top}/{name}")

    def has(self, name: str) -> bool:
        return f"{self.top}/{name}" in self.zip.NameToInfo

    def sha256(self, name: str) -> str:
        if name not in self.hashed:
            digest = hashlib.sha256()
            with self.open(name) as handle:
                while block := handle.read(BLOCK):
                    digest.update(block)
            self.hashed[name] = digest.hexdigest()
        return self.hashed[name]

    def json_lines(self, name: str) -> Iterator[tuple[int, bytes, Any]]:
        """(line number, line, value) of each line of a JSON-lines member."""
        with self.open(name) as handle:
            for number, line in enumerate(handle, 1):
                try:
                    yield number, line, read_json(line)
                except ValueError as exc:
                    raise Damaged(f"{name} line {number} is not JSON ({exc})") from None


def verify_pack(path: Path) -> Outcome:
    """Check a pack without the case: its sums, the seal, the audit log, and that the report
    and timeline files are those the log says were made for this seal. A damaged pack is
    reported, never a crash."""
    outcome = Outcome()
    try:
        with zipfile.ZipFile(path) as archive:
            pack, problem = _open_pack(archive)
            if pack is None:
                outcome.differences.append(f"{path} is not a courseline evidence pack: {problem}")
                return outcome
            _verify_members(pack, outcome)
    except Damaged as exc:
        outcome.differences.append(f"{path}: {exc}")
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
            OSError) as exc:   # damaged, encrypted or in a compression Python cannot read
        outcome.differences.append(f"{path} cannot be read as a zip file ({exc})")
    return outcome


def _open_pack(archive: zipfile.ZipFile) -> tuple[_Pack | None, str]:
    names = archive.namelist()
    if len(names) != len(set(names)):
        twice = sorted({name for name in names if names.count(name) > 1})
        return None, f"it holds {', '.join(twice)} more than once"
    tops = {PurePosixPath(name).parts[0] for name in names if name}
    if len(tops) != 1:
        return None, "it does not hold one folder"
    pack = _Pack(archive, tops.pop())
    if not pack.has(SUMS):
        return None, f"its folder holds no {SUMS} file"
    return pack, ""


def _verify_members(pack: _Pack, outcome: Outcome) -> None:
    listed = _read_sums(pack)
    held = {name.removeprefix(f"{pack.top}/") for name in pack.zip.namelist()
            if not name.endswith("/")} - {SUMS}
    missing = [name for name in NEEDED if name not in held]
    if missing:
        raise Damaged(f"the pack lacks {', '.join(missing)}")
    bad = [name for name in sorted(listed) if name in held and pack.sha256(name) != listed[name]]
    problem = None
    if held - listed.keys():
        problem = f"{SUMS} does not list {', '.join(sorted(held - listed.keys()))}"
    elif listed.keys() - held:
        problem = f"the pack lacks {', '.join(sorted(listed.keys() - held))}, listed in {SUMS}"
    elif bad:
        problem = f"{', '.join(bad)} no longer match(es) the SHA-256 in {SUMS}"
    outcome.check(problem, f"{SUMS}: all {len(listed)} files match their SHA-256")
    seal, events = _seal_of(pack)
    outcome.seal = seal
    outcome.check(_timeline_problem(pack, seal, events),
                  f"timeline/timeline.jsonl: {events} events, every event id and the chain "
                  f"recomputed; it ends at the seal {seal}")
    entries = _audit_entries_checked(pack, outcome)
    if entries is None:
        return
    last_build = _last(entries, lambda e: e["action"] == "build")
    outcome.check(_written_by(pack, last_build, "build", seal, BUILT),
                  "the timeline, its CSV and the manifest are those the last build entered in "
                  "the audit log for this seal")
    report = _last(entries, _is_full_report)
    last_annotation = _last(entries, lambda e: e["action"] == "annotate")
    later = max((e["seq"] for e in (last_build, last_annotation) if e), default=0)
    problem = _written_by(pack, report, "report", seal, REPORTED)
    if problem is None and report is not None and report["seq"] < later:
        problem = (f"the report was made (audit entry {report['seq']}) before the last build or "
                   f"annotation (entry {later}): it does not show the timeline as packed")
    outcome.check(problem, "the report and its PDF are those the audit log says were made for "
                           "this seal, after the last build and annotation")
    if pack.has(ANNOTATIONS_FILE) or last_annotation is not None:
        outcome.check(_annotations_problem(pack, last_annotation),
                      f"{ANNOTATIONS_FILE}: its chain ends where the audit log's last "
                      f"annotation says")


def _is_full_report(entry: dict[str, Any]) -> bool:
    parameters = entry["parameters"]
    return (entry["action"] == "report" and bool(parameters.get("pdf"))
            and parameters.get("view") == "full" and not parameters.get("redact"))


def _last(entries: list[dict[str, Any]], wanted: Any) -> dict[str, Any] | None:
    return next((entry for entry in reversed(entries) if wanted(entry)), None)


def _read_sums(pack: _Pack) -> dict[str, str]:
    """SHA256SUMS as `sha256sum` writes it (text or binary mark; LF or CRLF line ends)."""
    listed: dict[str, str] = {}
    with pack.open(SUMS) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            found = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line)
            name = found.group(2) if found else ""
            if not found or ".." in PurePosixPath(name).parts or name.startswith("/"):
                raise Damaged(f"{SUMS} line {number} is not a SHA-256 and a file of the pack: "
                              f"{line[:80]!r}")
            if name in listed:
                raise Damaged(f"{SUMS} lists {name} twice")
            listed[name] = found.group(1).lower()
    return listed


def _seal_of(pack: _Pack) -> tuple[str, int]:
    try:
        with pack.open("manifest.json") as handle:
            seal = json.load(handle)["seal"]
        value, events = seal["value"], seal["events"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Damaged(f"manifest.json has no seal that can be read ({exc!r})") from None
    if not isinstance(value, str) or not isinstance(events, int):
        raise Damaged("manifest.json has no seal that can be read")
    return value, events


def _timeline_problem(pack: _Pack, seal: str, events: int) -> str | None:
    check = ChainCheck()
    with pack.open("timeline/timeline.jsonl") as handle:
        for line in handle:
            _, problem = check.add_line(line)
            if problem:
                return f"timeline/timeline.jsonl {problem}"
    problem = check.ends_at(seal, events)
    return f"timeline/timeline.jsonl: {problem}" if problem else None


def _audit_entries_checked(pack: _Pack, outcome: Outcome) -> list[dict[str, Any]] | None:
    rows: list[tuple[int, str, str, str]] = []
    for number, _, item in pack.json_lines(AUDIT):
        try:
            rows.append((int(item["seq"]), str(item["entry"]), str(item["prev"]),
                         str(item["hash"])))
        except (KeyError, TypeError, ValueError):
            raise Damaged(f"{AUDIT} line {number} is not an audit entry") from None
    broken = check_audit_chain(rows)
    head = rows[-1][3] if rows else GENESIS
    outcome.check(f"{AUDIT}: {broken}" if broken else None,
                  f"{AUDIT}: {len(rows)} entries, chain intact. The hash of its last entry is "
                  f"{head}: compare it with the one quoted in the continuity statement, which "
                  f"shows the log was not rewritten as a whole")
    if broken:
        return None
    entries = []
    for seq, text, _, _ in rows:
        try:
            entry = json.loads(text)
        except ValueError:
            entry = None
        if not (isinstance(entry, dict) and isinstance(entry.get("action"), str)
                and isinstance(entry.get("parameters"), dict)
                and isinstance(entry.get("outputs"), list)):
            raise Damaged(f"{AUDIT} entry {seq} is not an audit entry")
        entries.append(entry)
    return entries


def _written_by(pack: _Pack, entry: dict[str, Any] | None, action: str, seal: str,
                files: tuple[tuple[str, str], ...]) -> str | None:
    if entry is None:
        return f"the audit log has no {action} entry for these files"
    if entry["parameters"].get("seal") != seal:
        return (f"the last {action} in the audit log was for the seal "
                f"{entry['parameters'].get('seal')}, not the manifest's {seal}")
    written = {item.get("path"): item.get("sha256") for item in entry["outputs"]
               if isinstance(item, dict)}
    for in_case, in_pack in files:
        if written.get(in_case) != pack.sha256(in_pack):
            return (f"{in_pack} is not the file the {action} of audit entry {entry['seq']} "
                    f"wrote ({in_case})")
    return None


def _annotations_problem(pack: _Pack, last: dict[str, Any] | None) -> str | None:
    outputs = last["outputs"] if last else []
    expected = outputs[0].get("chain") if outputs and isinstance(outputs[0], dict) else GENESIS
    if not pack.has(ANNOTATIONS_FILE):
        return (f"the pack lacks {ANNOTATIONS_FILE}, though the audit log records annotations "
                f"(entry {last['seq'] if last else '?'})")
    try:
        entries = read_annotations(_annotation_lines(pack), ANNOTATIONS_FILE)
    except AnnotationError as error:
        return str(error)
    chain = entries[-1].chain if entries else GENESIS
    return None if chain == expected else (f"{ANNOTATIONS_FILE} ends at {chain}, the audit log's "
                                           f"last annotation at {expected}")


def _annotation_lines(pack: _Pack) -> Iterator[tuple[int, str]]:
    """The numbered lines of the pack's annotations file, as the case's are read."""
    with pack.open(ANNOTATIONS_FILE) as handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise AnnotationError(f"{ANNOTATIONS_FILE} line {number}: not UTF-8 "
                                      f"({error})") from None
            if not line.endswith("\n"):
                raise AnnotationError(f"{ANNOTATIONS_FILE} line {number}: cut short (no line "
                                      f"end)")
            yield number, line[:-1]
