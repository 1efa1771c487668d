"""Helpers for reading what the collectors yielded, shared by the collector tests."""

from __future__ import annotations

from collections.abc import Iterable

from courseline.collectors.walk import Collected, Refusal


def collected_paths(results: Iterable[Collected | Refusal]) -> list[str]:
    return [r.case_path for r in results if isinstance(r, Collected)]


def refusals_by_path(results: Iterable[Collected | Refusal]) -> dict[str, str]:
    return {r.case_path: r.reason for r in results if isinstance(r, Refusal)}


def collected_by_path(results: Iterable[Collected | Refusal]) -> dict[str, Collected]:
    return {r.case_path: r for r in results if isinstance(r, Collected)}
