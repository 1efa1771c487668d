"""Parsers: one module per export format, found by subclass discovery.

A parser is a subclass of :class:`Parser` in any module of this package. It declares what it reads
(``NAME``, ``DATA_FORMAT``, ``VERSION``), how it recognises its input (:meth:`Parser.recognises`,
given a :class:`~courseline.collectors.identify.Sample` of the file), and yields one
:class:`~courseline.timeline.event.Event` or :class:`~courseline.timeline.event.Reject` per source
record. Nothing registers by hand: importing the package's modules is enough.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Callable, ClassVar, Iterable, Iterator

from courseline.collectors.identify import HEAD_BYTES, Sample, media_type_of
from courseline.timeline.event import Attachment, Event, Reject


def _nothing_related(relative: str) -> Path | None:
    return None


@dataclass(frozen=True)
class SourceFile:
    """A collected file, as a parser sees it.

    ``path`` is the read-only evidence copy to open; ``case_path`` is where it came from, as the
    case shows it (``exports/mail.zip!inbox.mbox``); ``name`` is its file name in the export.
    ``related`` finds the evidence copy of another file of the same export by its path relative
    to this file's folder (``mmssms.db-wal``, ``app_parts/PART_1``), or None when the export does
    not hold it: a parser reads other files only through it, so they are hashed exhibits too.
    ``region`` (ISO 3166, from the case file) settles what a format leaves to the phone's locale:
    the day/month order of a WhatsApp chat whose dates never say.
    """

    path: Path
    case_path: str
    name: str
    sample: Sample
    related: Callable[[str], Path | None] = field(default=_nothing_related, compare=False)
    region: str = "GB"   # the source's region (case.toml), where a format leaves a locale open


class Parser:
    """Base class of every parser. Subclasses set the constants and implement two methods."""

    NAME: ClassVar[str] = ""            # short, stable, used in provenance: "mbox"
    DATA_FORMAT: ClassVar[str] = ""     # what a person would call it
    VERSION: ClassVar[str] = "1"        # bump when output for the same input changes
    PRIORITY: ClassVar[int] = 0         # when several recognise a file, the highest wins
    # A parser built on an optional library: the modules it imports and the pip extra that
    # installs them ("outlook"). Its recogniser must not need them, so that where the extra is
    # not installed a file it would read is explained, not passed over.
    NEEDS: ClassVar[tuple[str, ...]] = ()
    EXTRA: ClassVar[str] = ""

    @classmethod
    def missing(cls) -> list[str]:
        """The modules of NEEDS that cannot be imported here."""
        return [module for module in cls.NEEDS if not _importable(module)]

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        raise NotImplementedError

    def parse(self, source: SourceFile) -> Iterator[Event | Reject]:
        raise NotImplementedError


def hashed_attachment(name: str | None, data: bytes) -> Attachment:
    """An attachment whose bytes a parser holds: hashed, measured, and typed by its content."""
    return Attachment(name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                      media_type=media_type_of(data[:HEAD_BYTES]))


def hashed_pieces(name: str | None, pieces: Iterable[bytes],
                  limit: int | None = None) -> Attachment | None:
    """An attachment hashed from its bytes as they arrive (one pass, memory bounded whatever
    its size), as :func:`hashed_attachment` does from all of them at once; None when it is
    larger than ``limit``."""
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    for piece in pieces:
        size += len(piece)
        if limit is not None and size > limit:
            return None
        digest.update(piece)
        if len(head) < HEAD_BYTES:
            head += piece[:HEAD_BYTES - len(head)]
    return Attachment(name=name, sha256=digest.hexdigest(), size=size,
                      media_type=media_type_of(bytes(head)))


@cache
def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@cache
def all_parsers() -> tuple[type[Parser], ...]:
    """Every concrete parser in this package, ordered by name."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    found: dict[str, type[Parser]] = {}
    pending = list(Parser.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.NAME:
            if cls.NAME in found and found[cls.NAME] is not cls:
                raise RuntimeError(f"two parsers are named {cls.NAME!r}")
            found[cls.NAME] = cls
    return tuple(found[name] for name in sorted(found))


def parser_for(sample: Sample) -> type[Parser] | None:
    """The parser that claims a file, or None when no parser does. When several would, the
    one of the highest priority (then the last by name): asked in that order, the first to
    claim it wins, and a camera roll's photos are not shown to every parser."""
    return next((cls for cls in _by_priority()
                 if not cls.missing() and cls.recognises(sample)), None)


@cache
def _by_priority() -> tuple[type[Parser], ...]:
    return tuple(sorted(all_parsers(), key=lambda cls: (cls.PRIORITY, cls.NAME), reverse=True))


def extras_missing() -> bool:
    """Whether some parser here cannot run for want of its optional libraries."""
    return any(cls.EXTRA and cls.missing() for cls in all_parsers())


def extra_needed_for(sample: Sample) -> str | None:
    """The pip extra that would let courseline read this file, when the parser that recognises
    it is here but its libraries are not; None otherwise. (Recognisers never need them.)"""
    return next((cls.EXTRA for cls in all_parsers()
                 if cls.EXTRA and cls.missing() and cls.recognises(sample)), None)


def parser_named(name: str) -> type[Parser]:
    for cls in all_parsers():
        if cls.NAME == name:
            return cls
    raise KeyError(name)
