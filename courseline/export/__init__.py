"""Exports for other tools, written from the sealed timeline: ``courseline export CASE --format …``.

Every export is made from ``out/timeline.jsonl`` and the seal in ``out/manifest.json``, never from
a fresh parse: each row's chain value is recomputed as the row is read (courseline/docs/VERIFYING.md), and
when the rows do not end at the seal the export is thrown away and nothing is replaced. The same
case gives the same bytes in every format each time; dates inside the files (a workbook's
properties, zip entry times) are when that timeline was first sealed, from the case's audit log
(:func:`first_sealing_build`), never the clock (so another case built from the same evidence gives
a workbook that differs in those dates only). The seal must be the one the last build entered
in the hash-chained audit log, and each row's event_id the hash of its fields.

What each format carries, and so what a re-read can honestly prove:

* ``jsonl`` (``timeline.jsonl``): the sealed file itself, copied. Anyone recomputes every
  event_id and the seal from it.
* ``parquet`` and ``timesketch`` (JSONL): every field of every row, typed or JSON-encoded in a
  way that can be undone (:func:`courseline.export.parquet.timeline_rows`,
  :func:`courseline.export.timesketch.timeline_row`); the rows read back are the sealed rows, so
  the event ids and the seal are recomputed from the export alone.
* ``csv`` and ``xlsx`` (the disclosure schedule) and ``timesketch-csv``: views for people and for
  Timesketch's CSV reader. A schedule cuts long texts and writes times for reading; a CSV cell
  cannot tell an empty text from no text. They cannot be hashed back into the seal, so each row
  carries its ``event_id`` and ``chain``: the row of ``timeline.jsonl`` with the same seq has
  them, and the last row's chain is the seal. That ties every line to the sealed timeline; the
  values shown are checked against it, not recomputed into it.

Where an export may be written: anywhere but the evidence store, an original export named in
``case.toml``, and the files the case itself keeps (``case.toml``, the database, annotations and
the top of ``out/``, which ``build`` and ``report`` own). By default: ``CASE/out/export/``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from courseline import __version__
from courseline.annotations import ANNOTATIONS_FILE
from courseline.casefile import CASE_FILE, Case
from courseline.collectors.hashing import hash_file
from courseline.pipeline import DB_FILE, EVIDENCE_DIR, OUT_DIR
from courseline.timeline.db import CaseDB, check_audit_chain
from courseline.timeline.seal import ChainCheck, exhibit_key

Written = TypeVar("Written")
EXPORT_DIR = "export"        # CASE/out/export/: the exports' default place


class ExportError(Exception):
    """An export that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Format:
    name: str
    file_name: str            # the default file name under CASE/out/export/
    description: str          # in plain words, for the command's output and help
    writer: str               # "module:function" in this package; function(sealed, target)

    def write(self, sealed: "SealedTimeline", target: Path) -> None:
        # Imported when used: pyarrow and openpyxl are slow to import for every command.
        from importlib import import_module
        module, function = self.writer.split(":")
        getattr(import_module(f"courseline.export.{module}"), function)(sealed, target)


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("csv", "schedule.csv", "a disclosure schedule (CSV)", "schedule:write_csv"),
    Format("xlsx", "schedule.xlsx", "a disclosure schedule (Excel workbook)",
           "schedule:write_xlsx"),
    Format("timesketch", "timesketch.jsonl", "a Timesketch timeline (JSONL)",
           "timesketch:write_jsonl"),
    Format("timesketch-csv", "timesketch.csv", "a Timesketch timeline (CSV)",
           "timesketch:write_csv"),
    Format("parquet", "timeline.parquet", "the timeline with typed columns (Parquet)",
           "parquet:write"),
    Format("jsonl", "timeline.jsonl", "a copy of the sealed timeline (JSONL)", "jsonl_copy:write"),
    Format("case-uco", "case-uco.jsonld", "a CASE/UCO provenance graph (JSON-LD)",
           "case_uco:write"),
)}


@dataclass(frozen=True)
class SealedTimeline:
    """The sealed timeline of a built case, as an export reads it."""

    case: Case
    timeline: Path
    manifest: Path
    seal: str
    events: int
    reference: str
    sealed_by: dict[str, Any]  # the audit entry of the build that first sealed this timeline

    @property
    def sealed_utc(self) -> str:
        """When this timeline was first sealed: the date written in files."""
        return self.sealed_by["time_utc"]

    @property
    def zone(self) -> str:
        return self.case.info.timezone

    def lines(self) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """Each line of timeline.jsonl (bytes, as written) and its row, the chain checked as it
        is read; raises :class:`ExportError` where the rows stop matching the seal, which may be
        after the last row (a row removed from the end), so a writer must not keep its output
        until this is exhausted."""
        check = ChainCheck()
        with self.timeline.open("rb") as handle:
            for line in handle:
                row, problem = check.add_line(line)
                if problem:
                    self._broken(problem)
                yield line, row
        problem = check.ends_at(self.seal, self.events)
        if problem:
            self._broken(problem)

    def rows(self) -> Iterator[dict[str, Any]]:
        return (row for _, row in self.lines())

    def _broken(self, problem: str) -> NoReturn:
        folder = self.case.folder
        raise ExportError(
            f"{self.timeline} no longer matches the seal in {self.manifest} ({problem}): it has "
            f"been changed since the case was built, so nothing was exported. Run `courseline "
            f"verify {folder}` to see what differs, then `courseline build {folder}` to write the "
            f"timeline again from the evidence.")


def open_sealed(case: Case) -> SealedTimeline:
    """The case's sealed timeline; :class:`ExportError` when the case has not been built."""
    folder = case.folder
    out = folder / OUT_DIR
    for needed in (folder / DB_FILE, out / "timeline.jsonl", out / "manifest.json"):
        if not needed.is_file():
            raise ExportError(f"{folder} has not been built: {needed} is missing. Run "
                              f"`courseline build {folder}` first.")
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        seal, events = manifest["seal"]["value"], manifest["seal"]["events"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ExportError(f"{out / 'manifest.json'} cannot be read ({exc!r}): run `courseline "
                          f"verify {folder}` to see what changed") from exc
    return SealedTimeline(case, out / "timeline.jsonl", out / "manifest.json", seal, events,
                          manifest.get("case_reference") or "",
                          first_sealing_build(folder / DB_FILE, seal))


def first_sealing_build(db_path: Path, seal: str) -> dict[str, Any]:
    """The audit entry of the build that first wrote the timeline with this seal (its time is
    the date files carry): a rebuild that changes nothing keeps it, so the files keep their
    bytes. Raises
    :class:`ExportError` unless the audit log's chain holds and its last build wrote this seal:
    timeline.jsonl and manifest.json can be rewritten together, the chained log cannot."""
    folder = db_path.parent
    with CaseDB(db_path, read_only=True) as db:
        rows = db.audit_rows()
    broken = check_audit_chain(rows)
    if broken:
        raise ExportError(f"the audit log of {db_path} is broken ({broken}), so the seal cannot "
                          f"be tied to a build: run `courseline verify {folder}`; nothing was "
                          f"exported")
    builds = [entry for entry in (json.loads(text) for _, text, _, _ in rows)
              if entry["action"] == "build"]
    if not builds or builds[-1]["parameters"].get("seal") != seal:
        raise ExportError(f"the seal in {folder / OUT_DIR / 'manifest.json'} is not the seal the "
                          f"last build entered in the audit log of {db_path}: the timeline was "
                          f"changed after it was built, so nothing was exported. Run `courseline "
                          f"verify {folder}` to see what differs, then `courseline build "
                          f"{folder}`.")
    return next(entry for entry in builds if entry["parameters"].get("seal") == seal)


# -- where an export may go ------------------------------------------------------------------

def default_target(case: Case, fmt: Format) -> Path:
    return case.folder / OUT_DIR / EXPORT_DIR / fmt.file_name


def refuse_unsafe_target(case: Case, target: Path) -> None:
    """Raise :class:`ExportError` when writing ``target`` could change evidence or the case."""
    folder = case.folder.resolve()
    path = target.resolve()
    if path.is_dir():
        raise ExportError(f"{target} is a folder: give --out a file name")
    if _within(path, (folder / EVIDENCE_DIR).resolve()):
        raise ExportError(f"{target} is inside the evidence store, which is never written to")
    for source in case.sources:
        original = source.resolve(case.folder).resolve()
        if _within(path, original):
            raise ExportError(f"{target} is the original export {source.path} named in "
                              f"{case.file}, or inside it: originals are never written to")
    out = (folder / OUT_DIR).resolve()
    kept_by_case = path.parent == folder and (
        path.name in (CASE_FILE, ANNOTATIONS_FILE) or path.name.startswith(DB_FILE))
    if kept_by_case or path.parent == out:
        raise ExportError(f"{target} is kept by the case itself (`build` and `report` write the "
                          f"top of out/): write exports under {folder / OUT_DIR / EXPORT_DIR} "
                          f"or outside the case folder")
    if _within(path, folder) and path.exists() and not _within(path.parent, out):
        # A file the case holds that case.toml names (an indicator list, a diary) or keeps.
        raise ExportError(f"{target} is a file the case holds, not an earlier export: write "
                          f"exports under {folder / OUT_DIR / EXPORT_DIR} or outside the case "
                          f"folder")


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


# -- writing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportResult:
    format: Format
    path: Path
    events: int
    seal: str


def export_case(case: Case, format_name: str, out: Path | None = None) -> ExportResult:
    """Write one export of the case's sealed timeline; the file appears complete or not at all."""
    fmt = FORMATS[format_name]
    sealed = open_sealed(case)
    target = out if out is not None else default_target(case, fmt)
    write_new_file(case, target, lambda partial: fmt.write(sealed, partial))
    return ExportResult(fmt, target, sealed.events, sealed.seal)


def write_new_file(case: Case, target: Path, write: Callable[[Path], Written]) -> Written:
    """Have ``write`` fill a new file beside ``target``, then put it in place: the target
    appears complete or not at all, and never where it could change evidence or the case.
    Returns what ``write`` returned."""
    refuse_unsafe_target(case, target)
    partial: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A new file of its own (O_EXCL): a name planted beside the target, a link to an
        # original, is never opened, and two exports at once never share one.
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".partial")
        os.close(handle)
        partial = Path(name)
        written = write(partial)
        _readable_as_a_new_file(partial)
        os.replace(partial, target)
        return written
    except OSError as exc:   # a full disk, a folder we may not write to
        raise ExportError(f"could not write {target}: {exc.strerror or exc}") from exc
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)


def _readable_as_a_new_file(path: Path) -> None:
    """mkstemp makes a file only its owner may read; an export is for handing on, so it gets
    the permissions any new file would (the user's umask)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def record_export(case: Case, result: ExportResult) -> str | None:
    """Enter the export in the case's audit log (what was given out, from which seal, with its
    hash). Returns why it could not be entered (a case on read-only media), or None."""
    return record_output(case, "export", {"format": result.format.name, "seal": result.seal,
                                          "events": result.events}, result.path)


def record_output(case: Case, action: str, parameters: dict[str, Any], path: Path) -> str | None:
    """Enter a file made from the sealed timeline in the audit log, with the hashes of the
    timeline and manifest it was made from and its own. Returns why it could not be entered
    (a case on read-only media), or None."""
    shown = path.resolve()
    try:
        shown_path = shown.relative_to(case.folder.resolve()).as_posix()
    except ValueError:
        shown_path = str(shown)
    out = case.folder / OUT_DIR
    try:
        with CaseDB(case.folder / DB_FILE) as db:
            db.audit(action, case.info.examiner or "unnamed examiner", parameters=parameters,
                     inputs=[{"path": f"{OUT_DIR}/{name}", "sha256": hash_file(out / name).sha256}
                             for name in ("timeline.jsonl", "manifest.json")],
                     outputs=[{"path": shown_path, "sha256": hash_file(path).sha256}])
    except sqlite3.OperationalError as exc:   # read-only media: the file still stands
        return str(exc)
    return None


def fixed_zip_entry(name: str, sealed_utc: str) -> zipfile.ZipInfo:
    """A zip entry dated when the timeline was first sealed (not the clock, nor the writer's
    local time) and marked as a plain file made on Unix whatever system made it, so a zip of
    the same case has the same bytes (an XLSX, the evidence pack)."""
    moment = max(datetime.fromisoformat(sealed_utc.replace("Z", "+00:00")).replace(tzinfo=None),
                 datetime(1980, 1, 1))
    info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o100644 << 16    # a plain file, readable by all
    return info


# -- words shared by the formats ------------------------------------------------------------

def made_by() -> str:
    return f"courseline {__version__}"


def exhibit_labels(row: dict[str, Any]) -> str:
    """The row's exhibit references in exhibit order (AO/2 before AO/10), each once."""
    return "; ".join(sorted({p["exhibit"] for p in row["provenance"]}, key=exhibit_key))


def call_summary(row: dict[str, Any]) -> str:
    """A call's status and duration in words ("missed, 0 s"); empty for anything else."""
    if row["kind"] != "call":
        return ""
    status = row["call_status"] or "status not recorded"
    return status if row["duration_s"] is None else f"{status}, {row['duration_s']} s"
