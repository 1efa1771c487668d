"""The command line.

Exit status: 0 done; 1 could not be done (the message says why); 2 the command was mistyped;
3 done, but something needs a look (a source that could not be read, a refused archive member).
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from rich.console import Console
from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichBar
from rich.text import Text

from courseline import __version__
from courseline.casefile import (
    CASE_FILE,
    DEFAULT_PREFIX,
    Case,
    CaseFileError,
    case_template,
    load_case,
    parse_case,
    person_block,
    source_block,
)
from courseline.collectors.hashing import hash_file
from courseline.export import FORMATS as EXPORT_FORMATS
from courseline.export import ExportResult
from courseline.pipeline import (
    DB_FILE,
    OUT_DIR,
    BuildResult,
    CasePipeline,
    EvidenceChanged,
    Problem,
    Progress,
)
from courseline.timeline.identity import IdentifierError, parse_written
from courseline.timeline.indicators import IndicatorFileError

EXIT_FAILED = 1
EXIT_ATTENTION = 3

# Paths and messages are printed as they are: no Rich markup, so "[gmail]" stays "[gmail]".
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)
out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)


class TerminalProgress(Progress):
    """A progress bar on a terminal; silence in a pipe."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator:
        if not self.enabled:
            yield lambda advance=1: None
            return
        with RichBar(TextColumn("{task.description}", markup=False), BarColumn(),
                     TimeRemainingColumn(), console=err, transient=True) as bar:
            task = bar.add_task(description, total=total or None)
            yield lambda advance=1: bar.advance(task, advance)


def _fail(message: str) -> None:
    err.print(Text("Error: ", style="bold red") + Text(message))
    sys.exit(EXIT_FAILED)


def _warn(message: str) -> None:
    err.print(Text("Note: ", style="yellow") + Text(message))


def _open_case(folder: Path):
    try:
        return load_case(folder)
    except CaseFileError as exc:
        _fail(str(exc))


def _report_problems(problems: list[Problem]) -> None:
    if problems:
        err.print(Text(f"Needs a look ({len(problems)}):", style="yellow"))
        for problem in problems:
            err.print(f"  - {problem}")


def _finish(problems: list[Problem]) -> None:
    _report_problems(problems)
    if problems:
        sys.exit(EXIT_ATTENTION)


def _summary(result: BuildResult) -> None:
    out.print(f"Timeline sealed: {result.events} events from {result.sources} file(s); "
              f"{result.merged} duplicate(s) merged; {result.rejected} record(s) could not be read.")
    out.print(f"Seal: {result.seal.value}")
    out.print(f"Written to {result.out_dir}")


class _Commands(click.Group):
    """Turns an unexpected failure into a short message instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit,
                KeyboardInterrupt):
            raise
        except Exception as exc:  # a courseline bug: say so plainly, keep the details on request
            if os.environ.get("COURSELINE_DEBUG", "").lower() in ("1", "true", "yes"):
                traceback.print_exc()
            _fail(f"courseline stopped unexpectedly ({type(exc).__name__}: {exc}). This is a fault "
                  f"in courseline, not in your evidence, and the files in out/ were not replaced. "
                  f"Please report it with what `COURSELINE_DEBUG=1 courseline ...` prints.")


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="courseline")
def main() -> None:
    """courseline: one hashed, verifiable evidence timeline from the traces of a stalking campaign.

    \b
    Quick start:
      courseline demo                       build and report a synthetic example case
      courseline run mail.mbox --case CASE --victim email:a@example.org --suspect email:x@example.net
    Step by step:
      courseline init CASE                  write a case file to fill in
      courseline add CASE PATH --owner victim
      courseline build CASE                 parse, merge and seal the timeline
      courseline report CASE                write CASE/out/report.html
      courseline verify CASE                check every hash and the seal
      courseline export CASE --format xlsx  a schedule, Timesketch, Parquet or CASE/UCO file
      courseline pack CASE                  one zip to hand on: report, timeline, sums, how to check
      courseline verify --pack PACK.zip     check an evidence pack without the case
      courseline annotate CASE EVENT --tag contacting --note "..."   a reviewer's reading
      courseline diary-template CASE        an incident diary for the victim to fill in
    """


@main.command()
@click.argument("case", type=click.Path(path_type=Path, file_okay=False))
@click.option("--reference", default="", help="Crime or case reference, e.g. OP-1234/24.")
@click.option("--examiner", default="", help="Who processes the case, e.g. 'DC 1234 A. Officer'.")
@click.option("--exhibit-prefix", default=DEFAULT_PREFIX, show_default=True,
              help="Exhibits are numbered PREFIX/1, PREFIX/2 ... in order of collection.")
def init(case: Path, reference: str, examiner: str, exhibit_prefix: str) -> None:
    """Create a case folder with a commented case.toml to fill in.

    Example: courseline init cases/op-1234 --reference OP-1234/24 --exhibit-prefix AO
    """
    file = case / CASE_FILE
    if file.exists():
        _fail(f"{file} already exists; edit it, or choose another folder")
    text = case_template(reference, examiner, exhibit_prefix)
    try:
        parse_case(case, tomllib.loads(text), text)
    except CaseFileError as exc:
        _fail(exc.message)
    case.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    out.print(f"Created {file}. Add the people and their identifiers, then "
              f"`courseline add {case} EXPORT --owner victim`.")


def _add_sources(folder: Path, paths: tuple[Path, ...], owner: str | None) -> list[Problem]:
    """Append the new paths to case.toml; return the problems of those already there."""
    case = _open_case(folder)
    if owner and case.person(owner) is None:
        known = ", ".join(p.key for p in case.persons) or "none yet"
        _fail(f"--owner {owner!r} is not a person in {case.file}; known person keys: {known}")
    known_sources = {s.resolve(folder).resolve(): s for s in case.sources}
    added: list[str] = []
    problems: list[Problem] = []
    blocks = []
    for path in paths:
        real = path.resolve()
        if real in known_sources:
            with CasePipeline(case) as pipeline:
                change = pipeline.changed_since_collection(known_sources[real])
            if change:
                problems.append(Problem(str(path), f"collected before, and has changed: {change}. "
                                        f"The case keeps the version collected; to add the new one "
                                        f"as a new exhibit, copy it to a new name and add that."))
            else:
                err.print(f"{path} is already a source of this case; skipped (to change its "
                          f"owner, time zone or other settings, edit its [[source]] in "
                          f"{folder / 'case.toml'} and build again)")
            continue
        try:
            written = real.relative_to(folder.resolve()).as_posix()
        except ValueError:
            written = str(real)
        blocks.append(source_block(written, owner))
        known_sources[real] = None
        added.append(written)
    if blocks:
        with case.file.open("a", encoding="utf-8") as handle:
            handle.write("".join(blocks))
    if added and not owner:
        _warn("these sources have no owner: courseline cannot tell which messages were sent and "
              "which were received. Add owner = \"victim\" (or another person key) to these "
              "[[source]] entries in case.toml.")
    return problems


@main.command()
@click.argument("case", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--owner", help="Person key whose account or device the export came from (e.g. victim).")
def add(case: Path, paths: tuple[Path, ...], owner: str | None) -> None:
    """Collect files, folders or archives into the case as exhibits.

    Each PATH is hashed (SHA-256 and MD5), copied read-only into CASE/evidence and listed in
    case.toml. Archives are opened safely and each member is hashed too.

    Example: courseline add cases/op-1234 exports/gmail.mbox exports/saved-mails --owner victim
    """
    problems = _add_sources(case, paths, owner)
    with CasePipeline(_open_case(case), TerminalProgress()) as pipeline:
        before = {entry.path for entry in pipeline.case.sources if pipeline.db.entry_collected(entry.path)}
        pipeline.collect_all()
        for entry in pipeline.case.sources:
            if entry.path not in before and pipeline.db.exhibit_of(entry.path):
                files = pipeline.db.sources([entry.path])
                out.print(f"{pipeline.db.exhibit_of(entry.path)}: {entry.path} "
                          f"({len(files)} file(s) hashed and stored)")
        _finish(problems + pipeline.needs_a_look(pipeline.active_sources()))


def _build(case_dir: Path, outcome: str = "nothing was built") -> tuple[CasePipeline, BuildResult]:
    pipeline = CasePipeline(_open_case(case_dir), TerminalProgress())
    try:
        result = pipeline.build()
    except EvidenceChanged as exc:
        pipeline.close()
        _fail(f"the evidence no longer matches what was collected, so {outcome}: {exc}")
    except IndicatorFileError as exc:
        pipeline.close()
        _fail(f"{exc}; {outcome}")
    except BaseException:
        pipeline.close()
        raise
    return pipeline, result


@main.command()
@click.argument("case", type=click.Path(path_type=Path, file_okay=False, exists=True))
def build(case: Path) -> None:
    """Collect, parse, merge duplicates and seal the timeline; write CASE/out/.

    Writes timeline.jsonl, timeline.csv, manifest.json and conduct.json.

    Example: courseline build cases/op-1234
    """
    pipeline, result = _build(case)
    pipeline.close()
    _summary(result)
    _finish(result.problems)


def _report(case: Path, earlier: list[Problem] | None = None, *, view: str = "full",
            redact: bool = False, pdf: bool = False, finish: bool = True) -> list[Problem]:
    """Build when needed and write the report. With ``finish`` (a command of its own), end
    the command, with the attention status when something needs a look; otherwise return
    what needs a look for the caller to say when it has done its part."""
    from courseline.annotations import AnnotationError
    from courseline.report import render_report

    pipeline, result = _build(case, outcome="no report was made")
    with pipeline:
        try:
            with out.status("Writing the report" + (" and its PDF" if pdf else "") + "…"):
                paths = render_report(pipeline.case, result.out_dir, view=view, redact=redact,
                                      pdf=pdf)
        except AnnotationError as error:
            _fail(f"{error}. No report was made: the annotations cannot be shown as they are.")
        pipeline.db.audit("report", pipeline.examiner,
                          parameters={"seal": result.seal.value, "view": view, "redact": redact,
                                      "pdf": pdf},
                          outputs=[{"path": f"out/{p.name}", "sha256": hash_file(p).sha256}
                                   for p in paths])
    _summary(result)
    for path in paths:
        if path.suffix == ".html":
            out.print(f"Report: {path}  (open it in a web browser; it needs no network)")
        elif path.suffix == ".pdf":
            out.print(f"PDF:    {path}")
        elif path.name == "analysis.json":
            continue
        else:
            out.print(f"Key to the pseudonyms (for the disclosure officer, not to be disclosed): {path}")
    problems = (earlier or []) + result.problems
    if finish:
        _finish(problems)
    return problems


@main.command()
@click.argument("case", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--pdf", is_flag=True, help="Also write the PDF (PDF/A-3b, with timeline.csv and "
              "manifest.json attached).")
@click.option("--redact", is_flag=True, help="A copy for disclosure: identifiers of people who "
              "are not parties are masked with pseudonyms.")
@click.option("--view", type=click.Choice(["full", "spo"]), default="full", show_default=True,
              help="full: every section; spo: the summary for a Stalking Protection Order "
              "application.")
def report(case: Path, pdf: bool, redact: bool, view: str) -> None:
    """Check the evidence, build the case if needed and write CASE/out/report.html.

    Every evidence file is re-hashed first; a mismatch stops the report. The files written are
    report.html (report-spo.html for --view spo; -redacted added with --redact) and, with --pdf,
    the PDF of the same name.

    \b
    Examples:
      courseline report cases/op-1234
      courseline report cases/op-1234 --pdf
      courseline report cases/op-1234 --view spo --redact --pdf
    """
    _report(case, view=view, redact=redact, pdf=pdf)


@main.command()
@click.argument("case", required=False, type=click.Path(path_type=Path, file_okay=False,
                                                        exists=True))
@click.option("--pack", "pack_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Check an evidence pack (a zip from `courseline pack`) on its own, instead of "
              "a case folder.")
def verify(case: Path | None, pack_file: Path | None) -> None:
    """Check that every hash and the seal reproduce; exit 0 only if they all do.

    For a case folder: re-hashes the evidence, checks the audit log's chain and the timeline's
    chain, re-parses everything into a fresh database in a temporary folder and compares every
    output. For an evidence pack (--pack): checks every file against its SHA256SUMS, recomputes
    the event ids and the seal, checks the audit log's chain and that the timeline, manifest and
    report are the files the log says were made for that seal. Nothing is written either way.

    \b
    Examples:
      courseline verify cases/op-1234
      courseline verify --pack evidence-pack.zip
    """
    if (case is None) == (pack_file is None):
        _fail("give either a case folder or --pack PACK.zip (one of them)")
    if pack_file is not None:
        from courseline.pack import verify_pack

        outcome = verify_pack(pack_file)
    else:
        from courseline.verify import verify_case

        outcome = verify_case(_open_case(case), TerminalProgress())
    for line in outcome.checked:
        out.print(f"ok    {line}")
    if outcome.differences:
        for line in outcome.differences:
            err.print(f"FAIL  {line}")
        sys.exit(EXIT_FAILED)
    out.print(f"Verified: seal {outcome.seal} reproduces.")


@main.command()
@click.argument("case", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--format", "format_name", required=True, type=click.Choice(list(EXPORT_FORMATS)),
              help="What to write (see the list above).")
@click.option("--out", "target", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write it (default: CASE/out/export/ and the name above). Never "
              "inside evidence/, an original export, or the top of out/.")
def export(case: Path, format_name: str, target: Path | None) -> None:
    """Write the sealed timeline for another tool: a schedule, Timesketch, Parquet, CASE/UCO.

    Made from CASE/out/timeline.jsonl and the seal in manifest.json (run `courseline build`
    first), never from a fresh parse: a timeline that no longer matches its seal is refused.
    Made again from the same case, an export has the same bytes; each is entered in the
    audit log with its hash.

    \b
    Formats (default file in CASE/out/export/):
      csv             schedule.csv      disclosure schedule: seq, exhibit, UTC and the case's time,
                                        kind, platform, direction, from, to, subject, text (cut
                                        at 2,000 characters), call, flags, event_id, chain
      xlsx            schedule.xlsx     the same schedule as an Excel workbook (frozen heading,
                                        filters), with an About sheet naming the seal
      timesketch      timesketch.jsonl  for Timesketch: message, datetime (with offset),
                                        timestamp, timestamp_desc, and every field of the event
      timesketch-csv  timesketch.csv    the same, as CSV
      parquet         timeline.parquet  every field, typed, for pandas, DuckDB or Spark
      jsonl           timeline.jsonl    a copy of the sealed timeline itself
      case-uco        case-uco.jsonld   CASE/UCO 1.5.0 graph: files with hashes and exhibits,
                                        the collect, parse and build actions, every event

    \b
    Examples:
      courseline export cases/op-1234 --format xlsx
      courseline export cases/op-1234 --format timesketch --out ~/ts/op-1234.jsonl
      courseline export cases/op-1234 --format parquet
    """
    result = _export(_open_case(case), format_name, target)
    out.print(f"Exported {result.events} events, sealed {result.seal}, as "
              f"{result.format.description}.")
    out.print(f"Written to {result.path}")


def _export(loaded: Case, format_name: str, target: Path | None) -> ExportResult:
    from courseline.export import ExportError, export_case, record_export

    try:
        result = export_case(loaded, format_name, target)
    except ExportError as exc:
        _fail(str(exc))
    not_audited = record_export(loaded, result)
    if not_audited:
        _warn(f"the export was not entered in the case's audit log ({not_audited})")
    return result


@main.command()
@click.argument("case", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", "target", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the zip (default: CASE/out/export/evidence-pack.zip). Never "
              "inside evidence/, an original export, or the top of out/.")
def pack(case: Path, target: Path | None) -> None:
    """Write the evidence pack: one zip to hand on, that the recipient can check.

    It holds the report (HTML and PDF), the timeline (JSONL and CSV), the manifest, the audit
    log, the reviewers' annotations, docs/VERIFYING.md (how to check it all) and SHA256SUMS. The
    report is made first when it is missing or older than the timeline or the annotations. The
    same case gives the same zip, byte for byte; the pack is entered in the audit log.

    \b
    Examples:
      courseline pack cases/op-1234
      courseline pack cases/op-1234 --out /media/usb/op-1234-pack.zip
    Check it:
      courseline verify --pack cases/op-1234/out/export/evidence-pack.zip
      (or unzip it and run `sha256sum -c SHA256SUMS` in its folder)
    """
    written, problems = _pack(case, target)
    out.print(f"Check it with `courseline verify --pack {written}`, or unzip it and run "
              f"`sha256sum -c SHA256SUMS` in its folder (docs/VERIFYING.md inside says more).")
    _finish(problems)


def _pack(case: Path, target: Path | None) -> tuple[Path, list[Problem]]:
    from courseline.export import (EXPORT_DIR, ExportError, open_sealed, record_output,
                                   refuse_unsafe_target, write_new_file)
    from courseline.pack import PACK_FILE, PackError, current_report, write_pack

    loaded = _open_case(case)
    written = target if target is not None else loaded.folder / OUT_DIR / EXPORT_DIR / PACK_FILE
    try:
        refuse_unsafe_target(loaded, written)   # before any report is made for it
    except ExportError as exc:
        _fail(str(exc))
    try:
        up_to_date = current_report(loaded, open_sealed(loaded).seal) is not None
    except ExportError:
        up_to_date = False   # not built, or changed since: the report's build says what to do
    problems: list[Problem] = []
    if not up_to_date:
        out.print("The report is missing or older than the timeline or the annotations: "
                  "making it first.")
        problems = _report(case, pdf=True, finish=False)
        loaded = _open_case(case)
    try:
        sealed, files = write_new_file(loaded, written, lambda partial: write_pack(loaded, partial))
    except (ExportError, PackError) as exc:
        _fail(str(exc))
    not_audited = record_output(loaded, "pack", {"seal": sealed.seal, "events": sealed.events},
                                written)
    if not_audited:
        _warn(f"the pack was not entered in the case's audit log ({not_audited})")
    out.print(f"Evidence pack of {sealed.events} events, sealed {sealed.seal}: "
              f"{files} files.")
    out.print(f"Written to {written}")
    return written, problems


def _checked_identifiers(option: str, values: tuple[str, ...]) -> list[str]:
    for value in values:
        try:
            parse_written(value, "GB")
        except IdentifierError as exc:
            _fail(f"{option} {value!r}: {exc}. Nothing was created.")
    return list(values)


@main.command()
@click.argument("exports", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--case", "case_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The case folder (created if it does not exist).")
@click.option("--victim", multiple=True, help="An identifier of the victim, e.g. email:a@example.org.")
@click.option("--suspect", multiple=True, help="An identifier of the suspect, e.g. email:x@example.net.")
@click.option("--owner", default="victim", show_default=True,
              help="Whose exports these are (a person key).")
@click.option("--reference", default="", help="The crime or case reference, for a new case.")
def run(exports: tuple[Path, ...], case_dir: Path, victim: tuple[str, ...], suspect: tuple[str, ...],
        owner: str, reference: str) -> None:
    """One shot: create the case if needed, collect the exports, build and report.

    Give --victim and --suspect once for each of their identifiers.

    Example: courseline run gmail.mbox saved/*.eml --case cases/a --victim email:a@example.org
    --suspect email:x@example.net --suspect email:x2@example.net
    """
    file = case_dir / CASE_FILE
    if not file.exists():
        text = case_template(reference=reference)
        if victim:
            text += person_block("victim", "victim", _checked_identifiers("--victim", victim), "Victim")
        if suspect:
            text += person_block("suspect", "suspect", _checked_identifiers("--suspect", suspect),
                                 "Suspect")
        case_dir.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    elif victim or suspect:
        _warn(f"{file} exists: --victim and --suspect are ignored; edit the case file instead")
    case = _open_case(case_dir)
    known_owner = case.person(owner) is not None
    if not known_owner:
        known = ", ".join(p.key for p in case.persons) or "none yet"
        if click.get_current_context().get_parameter_source("owner").name != "DEFAULT":
            _fail(f"--owner {owner!r} is not a person in {file}; known person keys: {known}")
        _warn(f"there is no person {owner!r} in {file} (known person keys: {known}), so the "
              f"exports have no owner: give --victim with the victim's identifiers, or add the "
              f"person and owner = \"KEY\" to each [[source]] in case.toml")
    _report(case_dir, _add_sources(case_dir, exports, owner if known_owner else None))


@main.command()
@click.argument("case", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("event", required=False)
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="A tag (give --tag again for more); the tags are listed above.")
@click.option("--note", default="", help="The reviewer's note, in their own words.")
@click.option("--by", "by", default=None,
              help="Who makes the annotation (default: examiner in case.toml).")
@click.option("--import", "import_csv", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Add the annotations of a CSV file (columns event_id, tags, note, by).")
@click.option("--list", "show", is_flag=True, help="List the case's annotations.")
def annotate(case: Path, event: str | None, tags: tuple[str, ...], note: str, by: str | None,
             import_csv: Path | None, show: bool) -> None:
    """Mark an event of the timeline with a reviewer's reading: tags and a note.

    An annotation is an opinion, not evidence: it is kept in CASE/annotations.jsonl, apart
    from the timeline (whose rows and seal do not change), with who made it, when (UTC) and the
    seal of the timeline they looked at; the file is hash-chained and `courseline verify`
    checks it. EVENT is an event_id from timeline.jsonl or the report (its first 8 or more
    characters are enough when no other id starts with them).

    \b
    Tags (s.2A(3) Protection from Harassment Act 1997 examples, then marks):
      following, contacting, publishing, monitoring, loitering, interfering, watching,
      other-conduct (say what in --note), asked-to-stop, blocked, changed-number, threat

    \b
    Examples:
      courseline annotate cases/op-1234 60935c7b --tag contacting --tag asked-to-stop \\
          --note "Sam replies: stop messaging me" --by "DC 1234 A. Officer"
      courseline annotate cases/op-1234 --import reviewed.csv --by "DC 1234 A. Officer"
      courseline annotate cases/op-1234 --list
    """
    from courseline.annotations import AnnotationError, AnnotationLog, Request, read_requests

    loaded = _open_case(case)
    log = AnnotationLog(case)
    try:
        if show:
            _list_annotations(log)
            return
        if (event is None) == (import_csv is None):
            _fail("give one EVENT with --tag or --note, or --import FILE, or --list "
                  "(see courseline annotate --help)")
        by = by if by is not None else loaded.info.examiner
        if import_csv is not None:
            if tags or note:
                _fail("--tag and --note are for one EVENT; a CSV file gives its own")
            requests = read_requests(import_csv, by)
        else:
            requests = [Request(event, tags, note, by)]
        manifest = case / OUT_DIR / "manifest.json"
        if not (case / DB_FILE).exists() or not manifest.exists():
            _fail(f"{case} has not been built yet: run `courseline build {case}` first")
        seal = json.loads(manifest.read_text(encoding="utf-8"))["seal"]["value"]
        with CasePipeline(loaded) as pipeline:
            made = _add_annotations(pipeline, log, seal, requests, by or loaded.info.examiner,
                                    [{"path": str(import_csv),
                                      "sha256": hash_file(import_csv).sha256}]
                                    if import_csv else [])
    except AnnotationError as error:
        _fail(str(error))
    for annotation in made:
        out.print(f"Annotation {annotation.seq}: event {annotation.event_id[:16]}… "
                  f"{', '.join(annotation.tags) or '(note only)'}")
    out.print(f"Written to {log.path} (the timeline and its seal are unchanged)")


def _add_annotations(pipeline: CasePipeline, log, seal: str, requests: list, examiner: str,
                     inputs: list[dict] | None = None) -> list:
    """Append annotations to the case's log (all or none) and enter them in the audit log."""
    from courseline.annotations import audit_annotations

    made = log.add(pipeline.db, seal, requests, [s.id for s in pipeline.active_sources()])
    audit_annotations(pipeline.db, examiner, made, log, inputs)
    return made


def _list_annotations(log) -> None:
    entries = log.entries()
    if not entries:
        out.print("No annotations yet.")
        return
    for entry in entries:
        out.print(Text(f"{entry.seq}. {entry.time_utc} by {entry.by}, event {entry.event_id}"))
        out.print(Text(f"   tags: {', '.join(entry.tags) or '(none)'}"))
        if entry.note:
            out.print(Text(f"   note: {entry.note}"))


@main.command("diary-template")
@click.argument("case", type=click.Path(path_type=Path, file_okay=False, exists=True))
def diary_template(case: Path) -> None:
    """Write an incident diary for the victim to fill in, one row per incident.

    Writes CASE/diary-template.csv and CASE/diary-template.xlsx:
    when it happened and how sure they are, when the entry was written, where, how (in person,
    a call, WhatsApp...), who and the account they used, what happened in their own words,
    threats word for word, witnesses, the effect on them, police contact and crime reference,
    linked exhibits. Save the filled-in copy under a new name and add it to the case; each
    entry is matched with the phone and account records of the same day that corroborate it.

    Example: courseline diary-template cases/op-1234, then
    courseline add cases/op-1234 sam-diary.csv --owner victim
    """
    from courseline.parsers.diary import write_template

    try:
        written = write_template(case)
    except FileExistsError as exc:
        _fail(f"{exc} already exists: fill that one in, or move it away to get a new one")
    for path in written:
        out.print(f"Wrote {path}")


@main.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
def demo(folder: Path | None) -> None:
    """Build a realistic synthetic case end to end and print where its report is.

    FOLDER defaults to ./courseline-demo. The people, numbers and addresses are invented
    (example.org addresses, Ofcom drama numbers). Writes the report with its PDF, every export
    (out/export/) and the evidence pack (out/export/evidence-pack.zip).
    """
    from courseline.demo import write_demo_case

    folder = folder or Path("courseline-demo")
    if (folder / CASE_FILE).exists():
        _fail(f"{folder} already holds a case; choose another folder or delete it")
    write_demo_case(folder)
    out.print(f"Demo case written to {folder}")
    _annotate_demo(folder)
    # What needs a look (the outlook extra not installed) is said at the end: the demo goes on.
    problems = _report(folder, pdf=True, finish=False)
    loaded = _open_case(folder)
    made = [_export(loaded, name, None).path.name for name in EXPORT_FORMATS]
    out.print(f"Exports for other tools in {folder / OUT_DIR / 'export'}: {', '.join(made)}")
    _pack(folder, None)
    _finish(problems)


def _annotate_demo(folder: Path) -> None:
    """Build the demo case and add its reviewer's marks, as a reviewer would with annotate."""
    from courseline.annotations import AnnotationLog
    from courseline.demo import demo_annotation_requests
    from courseline.timeline.seal import read_timeline

    pipeline, result = _build(folder, outcome="the demo case could not be built")
    with pipeline:
        requests = demo_annotation_requests(read_timeline(result.out_dir / "timeline.jsonl"))
        made = _add_annotations(pipeline, AnnotationLog(folder), result.seal.value, requests,
                                pipeline.examiner)
    out.print(f"Added {len(made)} reviewer annotations (annotations.jsonl)")


if __name__ == "__main__":
    main()
