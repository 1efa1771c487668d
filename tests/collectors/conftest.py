"""Fixtures for the collectors tests: a case folder with its evidence store, and a place for exports.

Everything lives under pytest's tmp_path so that the hostile-archive tests can prove nothing was
written outside the case folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from courseline.collectors.store import EvidenceStore


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "case" / "evidence")


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder
