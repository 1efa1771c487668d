"""Small helpers shared by the tests (on pytest's pythonpath)."""

from __future__ import annotations

import json
import shutil
import stat
import struct
import zlib
from pathlib import Path

from click.testing import CliRunner, Result

from courseline.cli import main
from courseline.timeline.event import Event, Reject, SourceNote

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld"


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def run_cli(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def copy_case(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def make_writable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IWUSR)


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
