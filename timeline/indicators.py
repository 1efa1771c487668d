"""Stalkerware indicators: loading an indicator file the user supplies, and matching installed
Android packages (the ``app`` events of :mod:`courseline.parsers.android_packages`) against it.

The file is in the format of the Echap stalkerware-indicators project (``ioc.yaml``, and
``watchware.yaml`` beside it): a YAML list of apps, each a mapping with

* ``name`` (required, text): the app's name, e.g. the brand;
* ``names`` (optional list of text): other names it is sold under;
* ``type`` (optional text): ``stalkerware`` or ``watchware`` (monitoring apps sold for
  parents);
* ``packages`` (optional list of text): Android package names;
* ``certificates`` (optional list of text): SHA-1 digests of signing certificates, 40 hex
  digits (the project writes them in capitals; SHA-256, 64 digits, is accepted too);
* ``websites``, ``distribution``, ``c2`` (``ips``, ``domains``): network indicators, not used
  for matching here and not checked beyond being YAML.

Sources: AssoEchap/stalkerware-indicators ``ioc.yaml`` and ``watchware.yaml`` (the fields above),
``scripts/linter.py`` (an entry needs a name; packages, certificates and websites are lists;
certificates match ``^[A-F0-9]{40}``) and ``scripts/check_apk.py`` (a package id or a
certificate's SHA-1 fingerprint is compared case-insensitively with the lists), read with the
code search tool. This project ships no indicator list: a case names its own file.

Matching (:meth:`Indicators.match`): a package matches an entry that lists its name, compared
case-insensitively as the project's own checker compares; a certificate digest matches an entry
that lists it, compared case-insensitively and ignoring ``:`` and spaces (``keytool`` writes
``AB:CD:…``). Nothing else counts: no prefix of a package name, no network indicator. Each match
names the entry (name, type, 1-based position in the file), what matched and the file (its name
and SHA-256), so a finding can say where its indicator came from.

Safety: the file is read with ``yaml.safe_load`` only (no Python objects constructed), and is
refused when larger than :data:`MAX_INDICATOR_BYTES` or when it lists more than
:data:`MAX_VALUES` values (aliases could make a small file list a great many).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Where an app record's details hold its package name and its signing certificates' digests
# (written by courseline.parsers.android_packages).
PACKAGE_DETAIL = "package"
CERTIFICATE_DETAILS = ("signing_certificates_sha1", "signing_certificates_sha256",
                       "past_signing_certificates_sha1", "past_signing_certificates_sha256")

MAX_INDICATOR_BYTES = 64 * 1024 * 1024
MAX_VALUES = 1_000_000          # package names and certificates, all entries together
_DIGEST = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")   # SHA-1 or SHA-256, normalised


class IndicatorFileError(ValueError):
    """The indicator file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class IndicatorSource:
    """The indicator file a match came from."""

    name: str          # its file name
    sha256: str        # of its bytes, as read
    entries: int       # how many apps it lists


@dataclass(frozen=True)
class Indicator:
    """One app of the indicator file."""

    name: str
    type: str | None
    position: int                      # 1-based among the file's entries
    aliases: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()   # as the file writes them


@dataclass(frozen=True)
class IndicatorMatch:
    """A package, or one of its certificates, found in the indicator file."""

    indicator: str            # the entry's name
    indicator_type: str | None
    position: int             # the entry's 1-based position in the file
    matched: str              # "package" or "certificate"
    value: str                # the indicator value that matched, as the file writes it
    source: IndicatorSource

    def as_dict(self) -> dict[str, Any]:
        return {"indicator": self.indicator, "type": self.indicator_type,
                "entry": self.position, "matched": self.matched, "value": self.value,
                "file": self.source.name, "file_sha256": self.source.sha256}


def normal_package(name: str) -> str:
    return name.strip().lower()


def normal_digest(digest: str) -> str:
    """A certificate digest as compared: lower case, without ``:`` and white space."""
    return re.sub(r"[\s:]", "", digest).lower()


class Indicators:
    """The indicators of one file, indexed for matching."""

    def __init__(self, source: IndicatorSource, entries: Iterable[Indicator]):
        self.source = source
        self.entries = tuple(entries)
        self._packages: dict[str, list[tuple[Indicator, str]]] = {}
        self._certificates: dict[str, list[tuple[Indicator, str]]] = {}
        for entry in self.entries:
            for package in entry.packages:
                self._packages.setdefault(normal_package(package), []).append((entry, package))
            for certificate in entry.certificates:
                self._certificates.setdefault(normal_digest(certificate), []).append(
                    (entry, certificate))

    def match(self, package: str, certificates: Iterable[str] = ()) -> list[IndicatorMatch]:
        """The entries that list ``package`` or any of ``certificates`` (digests), in the
        file's order; a package and a certificate of the same entry are two matches."""
        found: list[tuple[int, int, IndicatorMatch]] = []
        for entry, value in self._packages.get(normal_package(package), ()):
            found.append((entry.position, 0, self._match(entry, "package", value)))
        seen: set[tuple[int, str]] = set()
        for digest in certificates:
            for entry, value in self._certificates.get(normal_digest(digest), ()):
                if (entry.position, value) not in seen:
                    seen.add((entry.position, value))
                    found.append((entry.position, 1, self._match(entry, "certificate", value)))
        return [match for _, _, match in sorted(found, key=lambda item: item[:2])]

    def match_details(self, details: Mapping[str, Any]) -> list[IndicatorMatch]:
        """:meth:`match` for an ``app`` event's details (or a stored row's): its package and
        every certificate digest it carries."""
        package = details.get(PACKAGE_DETAIL)
        if not isinstance(package, str):
            return []
        digests = [digest for key in CERTIFICATE_DETAILS
                   for digest in details.get(key) or () if isinstance(digest, str)]
        return self.match(package, digests)

    def _match(self, entry: Indicator, matched: str, value: str) -> IndicatorMatch:
        return IndicatorMatch(entry.name, entry.type, entry.position, matched, value,
                              self.source)


def load_indicators(path: Path) -> Indicators:
    """Read an indicator file (Echap ``ioc.yaml`` format). Raises :class:`IndicatorFileError`
    naming the file, and the entry where one is at fault, when it cannot be used."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_INDICATOR_BYTES:
            raise IndicatorFileError(f"{path.name}: {size} bytes, more than the "
                                     f"{MAX_INDICATOR_BYTES} an indicator file may have")
        data = path.read_bytes()
    except OSError as error:
        raise IndicatorFileError(f"{path.name}: could not be read: {error}") from error
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as error:
        raise IndicatorFileError(f"{path.name}: not YAML: {_yaml_problem(error)}") from error
    except RecursionError as error:   # nesting deeper than the parser can follow
        raise IndicatorFileError(f"{path.name}: nested too deeply to be an indicator file") \
            from error
    if not isinstance(document, list):
        raise IndicatorFileError(f"{path.name}: an indicator file is a YAML list of apps, this "
                                 f"one holds {_kind(document)}")
    budget = _Budget(path.name)
    entries = [_entry(path.name, position, item, budget)
               for position, item in enumerate(document, start=1)]
    source = IndicatorSource(path.name, hashlib.sha256(data).hexdigest(), len(entries))
    return Indicators(source, entries)


@dataclass
class _Budget:
    """Counts the values read, against :data:`MAX_VALUES`."""

    file: str
    used: int = 0

    def spend(self, count: int) -> None:
        self.used += count
        if self.used > MAX_VALUES:
            raise IndicatorFileError(f"{self.file}: more than {MAX_VALUES} package names and "
                                     "certificates: not read")


def _entry(file: str, position: int, item: Any, budget: _Budget) -> Indicator:
    where = f"{file}: entry {position}"
    if not isinstance(item, dict):
        raise IndicatorFileError(f"{where} is {_kind(item)}, not a mapping of an app's fields")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise IndicatorFileError(f"{where} has no name (a text 'name:' is required)")
    where = f"{file}: entry {position} ({name.strip()!r})"
    kind = item.get("type")
    if kind is not None and not isinstance(kind, str):
        raise IndicatorFileError(f"{where}: 'type' is {_kind(kind)}, not text")
    packages = _texts(where, item, "packages", budget)
    certificates = _texts(where, item, "certificates", budget)
    for certificate in certificates:
        if not _DIGEST.match(normal_digest(certificate)):
            raise IndicatorFileError(f"{where}: certificate {certificate!r} is not a SHA-1 (40 "
                                     "hex digits) or SHA-256 (64) digest")
    return Indicator(name.strip(), kind.strip() if kind else None, position,
                     _texts(where, item, "names", budget), packages, certificates)


def _texts(where: str, item: dict[str, Any], key: str, budget: _Budget) -> tuple[str, ...]:
    value = item.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise IndicatorFileError(f"{where}: '{key}' is {_kind(value)}, not a list")
    budget.spend(len(value))
    texts = []
    for number, text in enumerate(value, start=1):
        if not isinstance(text, str) or not text.strip():
            raise IndicatorFileError(f"{where}: item {number} of '{key}' is {_kind(text)}, not "
                                     "text (quote it in the YAML)")
        texts.append(text.strip())
    return tuple(texts)


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, str):
        return "text" if value.strip() else "blank text"
    return {list: "a list", dict: "a mapping", bool: "a yes/no value", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


__all__ = [
    "Indicator",
    "IndicatorFileError",
    "IndicatorMatch",
    "IndicatorSource",
    "Indicators",
    "load_indicators",
]
