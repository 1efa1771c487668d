"""Reading small files while collection goes on (courseline/read_ahead.py): a head start that
never changes what the case holds. Every test builds the same case twice, once with reading
ahead forced on (a handful of files stands in for a camera roll) and once with one process,
and compares the bytes of the outputs and the audit log's parse entries."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from concurrent.futures import Future
from contextlib import contextmanager

from PIL import Image
from PIL.ExifTags import IFD, Base

import courseline.read_ahead as read_ahead
from courseline.casefile import load_case
from courseline.demo import write_demo_case
from courseline.pipeline import CasePipeline
from courseline.reading import ReadOutcome
from courseline.timeline.db import CaseDB
from tests_support import failing_pool, killed_pool

OUTPUTS = ("timeline.jsonl", "timeline.csv", "manifest.json", "conduct.json")


def photo(second: int) -> bytes:
    block = Image.Exif()
    block[Base.Make], block[Base.Model] = "ExampleCam", "X1"
    block.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = f"2024:08:09 23:12:{second:02d}"
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (second * 4, 30, 30)).save(out, "JPEG", exif=block.tobytes())
    return out.getvalue()


def camera_roll(folder: Path, photos: int = 12) -> Path:
    (folder / "DCIM").mkdir(parents=True)
    for n in range(photos):
        (folder / "DCIM" / f"IMG_{n:04d}.jpg").write_bytes(photo(n))
    (folder / "DCIM" / "IMG_0005 copy.jpg").write_bytes(photo(5))   # the same bytes twice
    (folder / "case.toml").write_text(
        '[case]\nreference = "RA-1"\ntimezone = "Europe/London"\n\n'
        '[[source]]\npath = "DCIM"\nexhibit = "RA/1"\n', encoding="utf-8")
    return folder


def built(folder: Path, workers: int) -> Path:
    with CasePipeline(load_case(folder), workers=workers) as pipeline:
        pipeline.build()
    return folder


def parse_entries(folder: Path) -> list[tuple]:
    db = CaseDB(folder / "case.sqlite", read_only=True)
    try:
        return [(e["parameters"], e["inputs"], e["outputs"]) for e in db.audit_entries()
                if e["action"] == "parse"]
    finally:
        db.close()


def assert_same_case(ahead: Path, alone: Path) -> None:
    for name in OUTPUTS:
        assert (ahead / "out" / name).read_bytes() == (alone / "out" / name).read_bytes(), name
    assert parse_entries(ahead) == parse_entries(alone)


@pytest.fixture
def forced(monkeypatch):
    """Reading ahead from the first file, three files to a batch; records what was taken."""
    monkeypatch.setattr(read_ahead, "MIN_FILES", 1)
    monkeypatch.setattr(read_ahead, "BATCH_FILES", 3)
    taken: list[bool] = []
    take = read_ahead.ReadAhead.take

    def noted(self, source_id, key):
        held = take(self, source_id, key)
        taken.append(held is not None)
        return held
    monkeypatch.setattr(read_ahead.ReadAhead, "take", noted)
    return taken


def test_a_camera_roll_read_ahead_is_the_case_one_process_makes(tmp_path, forced):
    ahead = built(camera_roll(tmp_path / "ahead"), workers=2)
    assert len(forced) == 13 and all(forced)   # every photo was read ahead
    alone = built(camera_roll(tmp_path / "alone"), workers=1)
    assert_same_case(ahead, alone)
    manifest = json.loads((ahead / "out" / "manifest.json").read_text())
    assert sum(s["events"] for s in manifest["sources"]) == 13


def test_files_that_ask_for_others_of_their_export_are_read_again(tmp_path, forced, built_demo):
    """The demo's chats ask for their media, its phone databases are SQLite: read at the parse
    stage, when the export is complete. The rest of the demo is taken as read ahead."""
    folder = built(write_demo_case(tmp_path / "case"), workers=2)
    assert any(forced) and not all(forced)
    for name in OUTPUTS:
        assert (folder / "out" / name).read_bytes() == (built_demo / "out" / name).read_bytes()


def test_a_slow_worker_is_helped_from_the_other_end(tmp_path, forced, monkeypatch):
    """When batches pile up for a worker, the collecting process reads the last of them."""
    read_here = []

    rows = read_ahead.read_rows

    class SlowFuture(Future):
        """Done only when asked for its result: the worker never keeps up."""

        def __init__(self, jobs):
            super().__init__()
            self.jobs = jobs

        def done(self):
            return False

        def result(self, timeout=None):
            return rows(self.jobs)

    class SlowPool:
        def submit(self, function, jobs):
            return SlowFuture(jobs)

    @contextmanager
    def slow_pool(workers):
        yield SlowPool()

    def noted(jobs):
        read_here.extend(job.case_path for job in jobs)
        return rows(jobs)
    monkeypatch.setattr(read_ahead, "worker_pool", slow_pool)
    monkeypatch.setattr(read_ahead, "read_rows", noted)
    monkeypatch.setattr(read_ahead, "MAX_WAITING_BATCHES", 1)
    ahead = built(camera_roll(tmp_path / "ahead"), workers=2)
    assert len(forced) == 13 and all(forced)
    # The first batches went to the worker; this process took from the last.
    assert read_here and "DCIM/IMG_0000.jpg" not in read_here
    alone = built(camera_roll(tmp_path / "alone"), workers=1)
    assert_same_case(ahead, alone)


def test_reading_ahead_stops_when_what_is_held_reaches_its_bound(tmp_path, forced, monkeypatch):
    monkeypatch.setattr(read_ahead, "MAX_HELD_BYTES", 1)
    ahead = built(camera_roll(tmp_path / "ahead"), workers=2)
    assert 0 < sum(forced) < len(forced) == 13   # the first batch is held; the rest read later
    alone = built(camera_roll(tmp_path / "alone"), workers=1)
    assert_same_case(ahead, alone)


def test_a_killed_worker_leaves_the_reading_to_the_parse_stage(tmp_path, forced, monkeypatch):
    monkeypatch.setattr(read_ahead, "worker_pool", killed_pool)
    ahead = built(camera_roll(tmp_path / "ahead"), workers=2)
    assert len(forced) == 13 and not any(forced)
    alone = built(camera_roll(tmp_path / "alone"), workers=1)
    assert_same_case(ahead, alone)


def test_an_error_in_a_worker_is_never_the_collections(tmp_path, forced, monkeypatch):
    """A parser's error in a worker stops reading ahead; the export is collected all the same,
    and the parse stage reads the files as one process would."""
    monkeypatch.setattr(read_ahead, "worker_pool", failing_pool(KeyError("a parser's bug")))
    ahead = built(camera_roll(tmp_path / "ahead"), workers=2)
    assert len(forced) == 13 and not any(forced)
    alone = built(camera_roll(tmp_path / "alone"), workers=1)
    assert_same_case(ahead, alone)


def test_a_small_export_starts_no_worker(tmp_path, monkeypatch):
    monkeypatch.setattr(read_ahead, "worker_pool", None)   # would fail if called
    built(camera_roll(tmp_path / "case"), workers=2)       # 13 files, under MIN_FILES
    assert (tmp_path / "case" / "out" / "timeline.jsonl").exists()


def test_collecting_alone_reads_nothing_ahead(tmp_path, forced, monkeypatch):
    """`courseline add` collects and stops: nothing would take what a worker read."""
    monkeypatch.setattr(read_ahead, "worker_pool", None)   # would fail if called
    with CasePipeline(load_case(camera_roll(tmp_path / "case")), workers=2) as pipeline:
        pipeline.collect_all()
        assert len(pipeline.db.sources()) == 13


def test_a_reading_is_taken_only_under_the_key_it_was_read_with():
    ahead = read_ahead.ReadAhead(1)
    ahead._held[7] = read_ahead.Held("key-then", None, ReadOutcome(), [], [])
    assert ahead.take(7, "key-now") is None
    assert ahead.take(7, "key-then") is None   # taken once, whatever the answer
