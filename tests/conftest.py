"""Shared fixtures: a built demo case, made once per test session and copied for tests that change it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests_support import copy_case, run_cli


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory) -> Path:
    """The demo case, built and reported once. Treat as read-only; use `demo_copy` to change it."""
    folder = tmp_path_factory.mktemp("demo") / "case"
    result = run_cli("demo", folder)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def demo_copy(built_demo, tmp_path) -> Path:
    return copy_case(built_demo, tmp_path / "case")
