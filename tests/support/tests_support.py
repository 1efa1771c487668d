"""Small helpers shared by the tests (on pytest's pythonpath)."""

from __future__ import annotations

import json
import posixpath
import shutil
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner, Result

from courseline.cli import main
from courseline.collectors.identify import Sample, sample_file
from courseline.parsers import Parser, SourceFile, parser_for
from courseline.reading import RelatedFiles
from courseline.timeline.event import Event, Reject, SourceNote

# The team's real samples, beside the project (tests skip what needs them when absent).
REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"


class _FailingPool:
    """A worker pool whose work fails with ``error``. A killed worker breaks the pool: the first
    batch is lost with it and later ones are refused."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.submitted = 0

    def submit(self, *args: object) -> Future:
        self.submitted += 1
        if self.submitted > 1 and isinstance(self.error, BrokenProcessPool):
            raise self.error
        future: Future = Future()
        future.set_running_or_notify_cancel()
        future.set_exception(self.error)
        return future


def failing_pool(error: BaseException) -> Callable[[int], Iterator[_FailingPool]]:
    """Stands in for ``courseline.reading.worker_pool`` where a test makes the workers fail."""
    @contextmanager
    def pool(workers: int) -> Iterator[_FailingPool]:
        yield _FailingPool(error)
    return pool


killed_pool = failing_pool(BrokenProcessPool("a worker was killed"))


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def run_cli(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def new_case(folder: Path, victim: str, suspect: str | None = None, *init: str) -> Path:
    """``courseline init`` of a case with a victim (and a suspect) of these identifiers;
    ``init``: more arguments for init (``"--reference", "OP 7"``)."""
    assert run_cli("init", folder, *init).exit_code == 0
    people = [("victim", victim)] + ([("suspect", suspect)] if suspect else [])
    with (folder / "case.toml").open("a", encoding="utf-8") as handle:
        for key, identifier in people:
            handle.write(f'\n[[person]]\nkey = "{key}"\nrole = "{key}"\n'
                         f'identifiers = ["{identifier}"]\n')
    return folder


def write_file(root: Path, relative: str, data: bytes) -> Path:
    """``data`` written at ``root/relative``, folders made as needed."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def sample_at(tmp_path: Path, name: str, data: bytes, case_path: str = "") -> Sample:
    """The sample of ``data`` written as ``name``, placed at ``case_path`` in a case (where a
    format is known by its folder: a Maildir's cur/, a Thunderbird profile)."""
    sample = sample_file(write_file(tmp_path / "samples", name, data))
    return replace(sample, case_path=case_path) if case_path else sample


def copy_case(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def make_writable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IWUSR)


# -- sources and parsing ---------------------------------------------------------------------------

Related = Callable[[str], Path | None]


def source_file(path: Path, case_path: str | None = None,
                related: Related | Mapping[str, Path] | None = None) -> SourceFile:
    """A SourceFile for a file written by a test: its case path (``exports/<name>`` unless
    given) and the files of the same export, found by a function or looked up in a mapping of
    relative paths."""
    if isinstance(related, Mapping):
        related = related.get
    return SourceFile(path=path, case_path=case_path or f"exports/{path.name}", name=path.name,
                      sample=sample_file(path), related=related or (lambda relative: None))


def files_beside(folder: Path) -> Related:
    """``related`` for an export written out in ``folder``: a relative path finds a file in the
    folder or below it, never outside it (as the core's ``RelatedFiles``)."""
    root = folder.resolve()

    def related(relative: str) -> Path | None:
        found = (folder / posixpath.normpath(relative)).resolve()
        return found if found.is_file() and root in found.parents else None
    return related


def source_under(path: Path, root: Path) -> SourceFile:
    """A SourceFile for a file of an export written out under ``root``: its case path
    ``exports/<path below root>``, and the files in its folder (or below) found beside it."""
    return source_file(path, f"exports/{path.relative_to(root).as_posix()}",
                       files_beside(path.parent))


def stored_zip_sample(archive: Path, file: Path, member: str) -> Sample:
    """The sample of an uncompressed zip holding ``file`` as ``member``: its head shows the
    file's bytes, and a parser must not take the archive for the file."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as bundle:
        bundle.write(file, member)
    return sample_file(archive)


def export_source(path: Path, case_path: str, copies: dict[str, Path]) -> SourceFile:
    """A SourceFile whose export's files are ``copies`` (case path → file), found as the
    pipeline finds them (``RelatedFiles``, archives included)."""
    return SourceFile(path=path, case_path=case_path, name=posixpath.basename(case_path),
                      sample=sample_file(path),
                      related=RelatedFiles(RelatedFiles.folder_of(case_path), copies))


def check_record(record: Event | Reject | SourceNote) -> None:
    """What every record a parser yields must satisfy, whatever the input: an event keeps the
    contract and its values encode as UTF-8 JSON (no lone surrogate, no NaN); a reject names
    where and why; a source note says something."""
    if isinstance(record, Event):
        record.check()
        json.dumps({"details": record.details, "notes": record.notes, "text": record.text,
                    "subject": record.subject, "sender": record.sender,
                    "recipients": record.recipients},
                   ensure_ascii=False, allow_nan=False).encode("utf-8")
    elif isinstance(record, Reject):
        assert record.locator and record.reason, record
    else:
        assert isinstance(record, SourceNote) and record.text, record


def checked(records: Iterable[Event | Reject | SourceNote]) -> list[Event | Reject | SourceNote]:
    """Everything a parser yielded, each record checked (:func:`check_record`)."""
    found = list(records)
    for record in found:
        check_record(record)
    return found


def parsed(parser: type[Parser], source: SourceFile) -> list[Event | Reject | SourceNote]:
    """What ``parser`` yields for a source, checked; the parser must be the one that claims it."""
    assert parser_for(source.sample) is parser, (source.name, parser_for(source.sample))
    return checked(parser().parse(source))


def only_event(records: list) -> Event:
    """The one event of a parse that gave one event and no reject."""
    found = events(records)
    assert len(found) == 1 and not rejects(records), records
    return found[0]


def by_locator(records: list) -> dict[str, Event]:
    return {event.locator: event for event in events(records)}


def events(records: list) -> list[Event]:
    """The events among what a parser yielded."""
    return [r for r in records if isinstance(r, Event)]


def rejects(records: list) -> list[Reject]:
    return [r for r in records if isinstance(r, Reject)]


def source_notes(records: list) -> list[str]:
    return [r.text for r in records if isinstance(r, SourceNote)]


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG (libmagic needs a real IHDR to call it image/png)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                                  0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
