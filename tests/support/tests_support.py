"""Small helpers shared by the tests (on pytest's pythonpath)."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

from click.testing import CliRunner, Result

from courseline.cli import main

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
