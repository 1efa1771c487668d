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
log (to the entry of the report packed) keeps its chain, and its last ``build`` entry names that seal and the hashes of the timeline,
its CSV and the manifest; its last full ``report`` entry with a PDF names the seal and the hashes
of the report files, and comes after the last build and the last annotation. The zip's entries
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import IO, Any

from courseline.annotations import ANNOTATIONS_FILE
from courseline.casefile import Case
from courseline.export import SealedTimeline, open_sealed
from courseline.pipeline import DB_FILE, OUT_DIR
from courseline.timeline.db import CaseDB, check_audit_chain
from courseline.timeline.event import canonical_json, read_json, sha256_hex
from courseline.timeline.records import NOT_HASHED
from courseline.timeline.event import GENESIS
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
    entries = _audit_entries(case.folder / DB_FILE)
    last = None
    for entry in entries:
        if entry["action"] in ("build", "annotate"):
            last = None   # a later build or annotation makes any earlier report out of date
        parameters = entry["parameters"]
        if entry["action"] == "report" and parameters.get("seal") == seal and parameters.get(
                "view") == "full" and not parameters.get("redact") and parameters.get("pdf"):
            last = entry
    if last is None:
        return None
    written = {item["path"]: item["sha256"] for item in last["outputs"]}
    for in_case, _ in REPORTED:
        path = case.folder / in_case
        if not path.is_file() or _sha256_file(path) != written.get(in_case):
            return None
    return last


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
    report = current_report(case, sealed.seal)
    if report is None:
        raise PackError(f"{case.folder / OUT_DIR / 'report.pdf'} is missing or does not show the "
                        f"current timeline and annotations: run `courseline report "
                        f"{case.folder} --pdf` first")
    top = folder_name(sealed.reference or case.folder.name)
    stamp = _zip_time(sealed.sealed_utc)
    sums: list[str] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as pack:
        members = pack_members(case, report)
        for name, content in members:
            digest = hashlib.sha256()
            with pack.open(_entry(f"{top}/{name}", stamp), "w", force_zip64=True) as sink:
                for block in _blocks(content):
                    digest.update(block)
                    sink.write(block)
            sums.append(f"{digest.hexdigest()}  {name}\n")
        pack.writestr(_entry(f"{top}/{SUMS}", stamp), "".join(sums).encode("ascii"))
    return sealed, len(members) + 1


def _entry(name: str, stamp: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3                 # Unix, whichever system made it
    info.external_attr = 0o100644 << 16    # a plain file, readable by all
    return info


def _zip_time(utc: str) -> tuple[int, int, int, int, int, int]:
    moment = datetime.fromisoformat(utc.replace("Z", "+00:00"))
    return (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute,
            moment.second)


def _blocks(content: Path | bytes) -> Iterator[bytes]:
    if isinstance(content, bytes):
        yield content
        return
    with content.open("rb") as handle:
        while block := handle.read(BLOCK):
            yield block


def _audit_entries(db_path: Path) -> list[dict[str, Any]]:
    with CaseDB(db_path, read_only=True) as db:
        return [json.loads(text) for _, text, _, _ in db.audit_rows()]


def _audit_log_lines(db_path: Path, through_seq: int) -> bytes:
    """The audit table to entry ``through_seq`` as JSON lines: each entry's text exactly as it
    was hashed, with the chain (``hash = sha256(prev + entry)``)."""
    with CaseDB(db_path, read_only=True) as db:
        rows = [row for row in db.audit_rows() if row[0] <= through_seq]
    return "".join(canonical_json({"seq": seq, "entry": text, "prev": prev, "hash": digest})
                   + "\n" for seq, text, prev, digest in rows).encode("utf-8")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    for block in _blocks(path):
        digest.update(block)
    return digest.hexdigest()


# -- checking a pack on its own ---------------------------------------------------------------

@dataclass
class _Pack:
    zip: zipfile.ZipFile
    top: str

    def open(self, name: str) -> IO[bytes]:
        return self.zip.open(f"{self.top}/{name}")

    def has(self, name: str) -> bool:
        return f"{self.top}/{name}" in self.zip.NameToInfo

    def sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        with self.open(name) as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
        return digest.hexdigest()


def verify_pack(path: Path) -> Outcome:
    """Check a pack without the case: its sums, the seal, the audit log, and that the report
    and timeline files are those the log says were written for this seal."""
    outcome = Outcome()
    try:
        with zipfile.ZipFile(path) as archive:
            pack = _open_pack(archive, path)
            if pack is None:
                outcome.differences.append(f"{path} is not a courseline evidence pack: it does "
                                           f"not hold one folder with a {SUMS} file")
                return outcome
            _verify_members(pack, outcome)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        outcome.differences.append(f"{path} cannot be read as a zip file ({exc})")
    return outcome


def _open_pack(archive: zipfile.ZipFile, path: Path) -> _Pack | None:
    tops = {PurePosixPath(name).parts[0] for name in archive.namelist() if name}
    if len(tops) != 1:
        return None
    pack = _Pack(archive, tops.pop())
    return pack if pack.has(SUMS) else None


def _verify_members(pack: _Pack, outcome: Outcome) -> None:
    listed = _read_sums(pack, outcome)
    if listed is None:
        return
    held = {name.removeprefix(f"{pack.top}/") for name in pack.zip.namelist()
            if not name.endswith("/")} - {SUMS}
    bad = [name for name in sorted(listed) if name in held and pack.sha256(name) != listed[name]]
    problem = None
    if held - listed.keys():
        problem = f"{SUMS} does not list {', '.join(sorted(held - listed.keys()))}"
    elif listed.keys() - held:
        problem = f"the pack lacks {', '.join(sorted(listed.keys() - held))}, listed in {SUMS}"
    elif bad:
        problem = f"{', '.join(bad)} no longer match(es) the SHA-256 in {SUMS}"
    outcome.check(problem, f"{SUMS}: all {len(listed)} files match their SHA-256")
    manifest = _json_member(pack, "manifest.json", outcome)
    if manifest is None:
        return
    seal, events = manifest["seal"]["value"], manifest["seal"]["events"]
    outcome.seal = seal
    outcome.check(_timeline_problem(pack, seal, events),
                  f"timeline/timeline.jsonl: {events} events, every event id and the chain "
                  f"recomputed; it ends at the seal {seal}")
    entries = _audit_problem_and_entries(pack, outcome)
    if entries is None:
        return
    builds = [e for e in entries if e["action"] == "build"]
    last_build = builds[-1] if builds else None
    outcome.check(_written_by(pack, last_build, "build", seal, BUILT),
                  "the timeline, its CSV and the manifest are those the last build entered in "
                  "the audit log for this seal")
    reports = [e for e in entries if e["action"] == "report" and e["parameters"].get("pdf")
               and e["parameters"].get("view") == "full" and not e["parameters"].get("redact")]
    outcome.check(_written_by(pack, reports[-1] if reports else None, "report", seal, REPORTED),
                  "the report and its PDF are those the audit log says were made for this seal")
    if pack.has(ANNOTATIONS_FILE):
        outcome.check(_annotations_problem(pack, entries),
                      f"{ANNOTATIONS_FILE}: its chain ends where the audit log's last "
                      f"annotation says")


def _read_sums(pack: _Pack, outcome: Outcome) -> dict[str, str] | None:
    listed: dict[str, str] = {}
    with pack.open(SUMS) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            found = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
            if not found or ".." in PurePosixPath(found.group(2)).parts or \
                    found.group(2).startswith("/"):
                outcome.differences.append(f"{SUMS} line {number} is not a SHA-256 and a file "
                                           f"of the pack: {line[:80]!r}")
                return None
            listed[found.group(2)] = found.group(1)
    return listed


def _json_member(pack: _Pack, name: str, outcome: Outcome) -> Any:
    try:
        with pack.open(name) as handle:
            return json.load(handle)
    except (KeyError, ValueError) as exc:
        outcome.differences.append(f"{name} cannot be read ({exc})")
        return None


def _timeline_problem(pack: _Pack, seal: str, events: int) -> str | None:
    check = ChainCheck()
    with pack.open("timeline/timeline.jsonl") as handle:
        for count, line in enumerate(handle, 1):
            try:
                row = read_json(line)
            except ValueError:
                return f"timeline/timeline.jsonl row {count} is not JSON"
            if sha256_hex(canonical_json({k: v for k, v in row.items()
                                          if k not in NOT_HASHED})) != row.get("event_id"):
                return f"timeline/timeline.jsonl row {count}: its event_id is not the hash of " \
                       f"its fields"
            problem = check.add(row)
            if problem:
                return f"timeline/timeline.jsonl: {problem}"
    if (check.chain, check.count) != (seal, events):
        return (f"timeline/timeline.jsonl ends at {check.chain} over {check.count} rows; the "
                f"manifest's seal is {seal} over {events}")
    return None


def _audit_problem_and_entries(pack: _Pack, outcome: Outcome) -> list[dict[str, Any]] | None:
    rows: list[tuple[int, str, str, str]] = []
    with pack.open(AUDIT) as handle:
        for line in handle:
            item = read_json(line)
            rows.append((item["seq"], item["entry"], item["prev"], item["hash"]))
    broken = check_audit_chain(rows)
    head = rows[-1][3] if rows else GENESIS
    outcome.check(f"{AUDIT}: {broken}" if broken else None,
                  f"{AUDIT}: {len(rows)} entries, chain intact; the hash of its last entry is "
                  f"{head}")
    return None if broken else [json.loads(text) for _, text, _, _ in rows]


def _written_by(pack: _Pack, entry: dict[str, Any] | None, action: str, seal: str,
                files: tuple[tuple[str, str], ...]) -> str | None:
    if entry is None:
        return f"the audit log has no {action} entry for these files"
    if entry["parameters"].get("seal") != seal:
        return (f"the last {action} in the audit log was for the seal "
                f"{entry['parameters'].get('seal')}, not the manifest's {seal}")
    written = {item["path"]: item.get("sha256") for item in entry["outputs"]}
    for in_case, in_pack in files:
        if written.get(in_case) != pack.sha256(in_pack):
            return (f"{in_pack} is not the file the {action} of audit entry {entry['seq']} "
                    f"wrote ({in_case})")
    return None


def _annotations_problem(pack: _Pack, entries: list[dict[str, Any]]) -> str | None:
    chain, count = GENESIS, 0
    with pack.open(ANNOTATIONS_FILE) as handle:
        for count, line in enumerate(handle, 1):
            row = read_json(line)
            stored = row.pop("chain", None)
            chain = sha256_hex(chain + sha256_hex(canonical_json(row)))
            if chain != stored:
                return f"{ANNOTATIONS_FILE} line {count}: the chain is broken here"
    annotated = [e for e in entries if e["action"] == "annotate"]
    expected = annotated[-1]["outputs"][0]["chain"] if annotated else GENESIS
    return None if chain == expected else (f"{ANNOTATIONS_FILE} ends at {chain}, the audit log's "
                                           f"last annotation at {expected}")
