"""Finding the files in what the user hands us, safely.

A source is a file, a folder or an archive, and all of it is untrusted: an export can come from the
suspect's own device. So this module holds three promises:

* Nothing is written anywhere but the evidence store. Archive members are streamed straight into
  the content-addressed store; a member's name only ever becomes a *display* path, never a path on
  disk, so a hostile name cannot place a file outside the case. Names that try anyway (absolute,
  ``..``, drive letters) and links are still refused, because an examiner should hear about them.
* Nothing is silent. Every file found becomes a `Collected` entry, and everything not collected (a
  link, a device file, a member over a limit, an unreadable tail of an archive) becomes a `Refusal`
  saying what and why in plain words.
* Work is bounded. Decompressed bytes are counted as they are produced, never taken from headers,
  so a decompression bomb is stopped by the limits in `Limits` with nothing partial left behind.

Archives are recognised by their content, not their name: an export renamed ``.dat`` is still
opened, and an ``.xlsx`` (a zip inside) is kept whole as the document it is.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import stat
import struct
import tarfile
import unicodedata
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .hashing import CHUNK_SIZE, Digests
from .identify import Sample, sample_file
from .store import EvidenceStore, LimitExceeded, SourceError

__all__ = ["Collected", "Limits", "Refusal", "collect"]

MiB = 1024 * 1024

RATIO_FLOOR = 1 * MiB
"""The expansion ratio is only judged once a member has produced this much: small, very regular
files (a blank form, a run of zeros in a log) legitimately compress far better than 200:1."""

MAX_TAR_HEADER_BYTES = 16 * MiB
"""tarfile reads a long-name or pax header into memory whole; a header claiming gigabytes is an
attack on memory, not an export. This caps what tarfile may read between two members beyond the
previous member's own data."""

TRAILER_SCAN_BYTES = 1 * MiB
"""How far past a tar's end-of-archive marker we look for hidden data before saying so."""

ZIP_MEDIA_TYPES = frozenset(
    {"application/zip", "application/x-zip", "application/x-zip-compressed", "application/zip-compressed"}
)
"""Only a *generic* zip is expanded. libmagic names zip-based documents by their own type
(OOXML, OpenDocument, EPUB, JAR, APK), and those are exhibits in their own right."""

_DOCUMENT_MARKERS = frozenset({"[Content_Types].xml", "AndroidManifest.xml", "META-INF/MANIFEST.MF"})

Progress = Callable[[int], None]

_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes gzip.BadGzipFile and bz2's "Invalid data stream"
    EOFError,
    ValueError,  # includes UnicodeDecodeError in member names
    RuntimeError,  # zipfile's "password required"; NotImplementedError for unknown methods
    OverflowError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    tarfile.TarError,
)
"""What the standard decoders raise on damaged or hostile input. Only these become refusals; any
other exception is a bug in courseline and must stop the run rather than pose as a bad exhibit."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one top-level archive may make us do (see the module docstring)."""

    max_members: int = 100_000  # per archive, nested included
    max_total_bytes: int = 64 * 2**30  # decompressed, per top-level archive
    max_member_bytes: int = 16 * 2**30
    max_ratio: float = 200.0  # decompressed/compressed, checked once a member passes 1 MiB
    max_depth: int = 3  # nested archives


@dataclass(frozen=True)
class Collected:
    """One file now held in the evidence store, with where it was found."""

    case_path: str  # "exports/mail/sub/a.eml", "exports/mail.zip!inner/a.eml", "x.zip!y.tar!z.eml"
    name: str  # last path component of the member
    digests: Digests
    sample: Sample  # identify.sample_file on the stored copy
    parent: str | None  # case_path of the containing archive, None at top level
    container: bool  # True for an archive whose members are listed as their own entries


@dataclass(frozen=True)
class Refusal:
    """Something found but not collected (or not fully read), with the reason in plain words."""

    case_path: str
    reason: str


def collect(
    path: Path,
    display: str,
    store: EvidenceStore,
    limits: Limits = Limits(),
    progress: Progress | None = None,
) -> Iterator[Collected | Refusal]:
    """Store every file under `path` and say what was found, in a deterministic order.

    `display` is how the case names `path` (e.g. ``exports/phone-a``); every case path starts with
    it. Folders are walked in sorted name order; archives are yielded before their members.
    Raises FileNotFoundError if `path` does not exist: that is the user's mistake, not the
    exhibit's.
    """
    return _Collector(store, limits, progress).source(Path(path), display)


# ----------------------------------------------------------------------------------------------
# Internal errors


class _BudgetExceeded(LimitExceeded):
    """A limit of the whole top-level archive (members, total bytes): unwinds to that archive."""


class _Unreadable(Exception):
    """An archive (or the rest of it) cannot be read; the message says what and where."""


class _StopArchive(Exception):
    """Reading this archive cannot go on; the message is the refusal reason for the archive."""


# ----------------------------------------------------------------------------------------------
# Walking the file system


class _Collector:
    def __init__(self, store: EvidenceStore, limits: Limits, progress: Progress | None) -> None:
        self.store = store
        self.limits = limits
        self.progress = progress

    def source(self, path: Path, display: str) -> Iterator[Collected | Refusal]:
        info = os.lstat(path)  # FileNotFoundError propagates on purpose
        if stat.S_ISDIR(info.st_mode):
            yield from self._folder(path, display)
        else:
            yield from self._node(path, display, info)

    def _folder(self, root: Path, display: str) -> Iterator[Collected | Refusal]:
        """Depth-first, sorted by name; an explicit stack so a deep tree cannot exhaust recursion."""
        if self._is_store(os.lstat(root)):
            yield Refusal(display, _STORE_REFUSAL)
            return
        stack = [self._listing(root, display)]
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
            elif isinstance(item, Refusal):
                yield item
            else:
                child, child_display = item
                try:
                    info = os.lstat(child)
                except OSError as exc:
                    yield Refusal(child_display, f"could not be examined ({_describe(exc)}); not collected")
                    continue
                if not stat.S_ISDIR(info.st_mode):
                    yield from self._node(child, child_display, info)
                elif self._is_store(info):
                    yield Refusal(child_display, _STORE_REFUSAL)
                else:
                    stack.append(self._listing(child, child_display))

    def _listing(self, folder: Path, display: str) -> Iterator[tuple[Path, str] | Refusal]:
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            reason = f"folder could not be read ({_describe(exc)}); its contents were not collected"
            yield Refusal(display, reason)
            return
        for name in names:
            yield folder / name, _join(display, _printable(name))

    def _is_store(self, info: os.stat_result) -> bool:
        """The case's own evidence folder must never be collected into itself."""
        try:
            root = os.stat(self.store.root)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == (root.st_dev, root.st_ino)

    def _node(self, path: Path, display: str, info: os.stat_result) -> Iterator[Collected | Refusal]:
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            target = _printable(_link_target(path))
            yield Refusal(display, f"is a symbolic link (to '{target}'); links are not followed; not collected")
        elif not stat.S_ISREG(mode):
            yield Refusal(display, f"is a {_special_kind(mode)}, not a regular file; not collected")
        else:
            try:
                digests = self.store.put_file(path, progress=self.progress)
            except SourceError as exc:
                yield Refusal(display, f"could not be read ({exc}); not collected")
                return
            yield from self._stored(digests, display, _printable(path.name), None, 0, None)

    # ------------------------------------------------------------------------------------------
    # A stored file: maybe an archive to open

    def _stored(
        self,
        digests: Digests,
        case_path: str,
        name: str,
        parent: str | None,
        level: int,
        budget: _Budget | None,
    ) -> Iterator[Collected | Refusal]:
        """Yield a stored file, then, if it is an archive we may open, its members.

        `level` is how deeply this file is nested in archives (0 = found on disk).
        """
        stored = self.store.path_of(digests.sha256)
        sample = sample_file(stored, name=name, head=digests.head, size=digests.size)

        def entry(container: bool) -> Collected:
            return Collected(case_path, name, digests, sample, parent, container)

        kind, note = _sniff(stored, sample)
        if kind is None:
            yield entry(False)
            if note:
                yield Refusal(case_path, note)
            return
        if level > self.limits.max_depth:
            yield entry(False)
            yield Refusal(
                case_path,
                f"is an archive nested {level} deep; archives nested more than {self.limits.max_depth} deep "
                "are not opened (max_depth); collected as a file, its members were not collected",
            )
            return
        top = budget is None
        budget = budget or _Budget(self.limits)
        try:
            archive = kind.open(stored, budget)
        except _Unreadable as exc:
            yield entry(False)
            yield Refusal(
                case_path,
                f"could not be read as a {kind.label} ({exc}); collected as a file, its members were not collected",
            )
            return
        except _BudgetExceeded as exc:
            yield entry(False)  # the archive itself is still an exhibit
            if not top:
                raise
            yield Refusal(case_path, _budget_reason(budget, exc))
            return
        with archive:
            if archive.is_document:
                yield entry(False)
                return
            yield entry(True)
            try:
                yield from self._expand(archive, case_path, level, budget)
            except _BudgetExceeded as exc:
                if not top:
                    raise
                yield Refusal(case_path, _budget_reason(budget, exc))

    def _expand(
        self, archive: _Archive, case_path: str, level: int, budget: _Budget
    ) -> Iterator[Collected | Refusal]:
        entries = archive.entries()
        while True:
            try:
                item = next(entries, None)
            except _BudgetExceeded:
                raise
            except LimitExceeded as exc:
                reason = f"stopped: {exc.reason}; members after that point were not collected"
                yield Refusal(case_path, reason)
                return
            except _Unreadable as exc:
                yield Refusal(case_path, str(exc))
                return
            if item is None:
                break
            try:
                yield from self._member(archive, item, case_path, level, budget)
            except _StopArchive as exc:
                yield Refusal(case_path, str(exc))
                return
        note = archive.end_note()
        if note:
            yield Refusal(case_path, note)

    def _member(
        self, archive: _Archive, item: _Entry, archive_path: str, level: int, budget: _Budget
    ) -> Iterator[Collected | Refusal]:
        raw_path = f"{archive_path}!{_printable(item.name)}"
        budget.add_member(raw_path)
        problem = _name_problem(item.name)
        if problem:
            yield Refusal(raw_path, problem)
            return
        relative = _relative(item.name)
        if item.kind == "dir":
            return
        if not relative:
            yield Refusal(raw_path, f"member '{_printable(item.name)}' has no file name; not collected")
            return
        case_path = f"{archive_path}!{_printable(relative)}"
        if item.kind != "file":
            yield Refusal(case_path, _kind_refusal(item))
            return
        shown = _printable(relative)
        try:
            stream = item.open()
        except (*_DECODE_ERRORS, _Unreadable) as exc:
            yield from self._unreadable_member(archive, case_path, shown, exc)
            return
        meter = _Meter(stream, self.limits, budget, archive, item)
        try:
            try:
                digests = self.store.put_stream(
                    meter, limit=self.limits.max_member_bytes, progress=self.progress
                )
            finally:
                stream.close()
        except _BudgetExceeded:
            raise
        except LimitExceeded as exc:
            raise _StopArchive(
                f"stopped at member '{shown}': {exc.reason}; possible decompression bomb; "
                "that member and any after it were not collected"
            ) from exc
        except SourceError as exc:
            yield from self._unreadable_member(archive, case_path, shown, exc)
            return
        name = _printable(relative.rsplit("/", 1)[-1])
        yield from self._stored(digests, case_path, name, archive_path, level + 1, budget)

    def _unreadable_member(
        self, archive: _Archive, case_path: str, shown: str, exc: BaseException
    ) -> Iterator[Refusal]:
        """A zip member stands alone (go on with the next); a tar cannot be read past a bad member."""
        if archive.sequential:
            raise _StopArchive(
                f"could not be read past member '{shown}' ({_describe(exc)}); "
                "that member and any after it were not collected"
            )
        yield Refusal(case_path, f"could not be read ({_describe(exc)}); not collected")


_STORE_REFUSAL = "is the case's own evidence store; not collected into itself"


def _budget_reason(budget: _Budget, exc: LimitExceeded) -> str:
    return (
        f"stopped at '{budget.where}': {exc.reason}; possible decompression bomb; "
        "nothing after that point was collected"
    )


# ----------------------------------------------------------------------------------------------
# Bounds


class _Budget:
    """What one top-level archive has cost so far, nested archives included."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.members = 0
        self.total = 0
        self.where = ""

    def add_member(self, where: str) -> None:
        self.where = where
        self.members += 1
        if self.members > self.limits.max_members:
            raise _BudgetExceeded(
                f"the archive holds more than {self.limits.max_members:,} members, nested archives included "
                "(max_members)",
                self.limits.max_members,
            )

    def add_bytes(self, count: int) -> None:
        self.total += count
        if self.total > self.limits.max_total_bytes:
            raise _BudgetExceeded(
                f"more than {_size(self.limits.max_total_bytes)} would be decompressed from the archive, "
                "nested archives included (max_total_bytes)",
                self.limits.max_total_bytes,
            )


class _CountingReader:
    """A seekable read-only file that counts the bytes read through it (the compressed side)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


class _Meter:
    """Wraps one member's stream: counts what it really produces and stops a bomb early.

    Header sizes are never consulted: only the bytes that come out count.
    """

    def __init__(
        self, stream: BinaryIO, limits: Limits, budget: _Budget, archive: _Archive, item: _Entry
    ) -> None:
        self._stream = stream
        self._limits = limits
        self._budget = budget
        self._compressed = archive.compressed
        self._start = archive.compressed.count
        self._count_total = archive.members_count_total
        self._max_read = item.max_read
        self._bytes = 0

    def read(self, size: int = -1) -> bytes:
        if self._max_read and (size is None or size < 0 or size > self._max_read):
            size = self._max_read
        try:
            data = self._stream.read(size)
        except _DECODE_ERRORS as exc:
            raise SourceError(_describe(exc)) from exc
        self._bytes += len(data)
        limits = self._limits
        if self._bytes > limits.max_member_bytes:
            raise LimitExceeded(
                f"it decompresses to more than {_size(limits.max_member_bytes)} (max_member_bytes)",
                limits.max_member_bytes,
            )
        if self._count_total:
            self._budget.add_bytes(len(data))
        if self._bytes > RATIO_FLOOR:
            packed = max(1, self._compressed.count - self._start)
            if self._bytes > limits.max_ratio * packed:
                raise LimitExceeded(
                    f"it expands more than {limits.max_ratio:g} times (max_ratio): "
                    f"{_size(self._bytes)} from {_size(packed)} compressed so far"
                )
        return data


# ----------------------------------------------------------------------------------------------
# Archives


@dataclass
class _Entry:
    """One archive member as the expander sees it, whatever the archive format."""

    name: str  # as written in the archive (checked before use, shown escaped)
    kind: str  # file | dir | symlink | hardlink | device | encrypted | other
    open: Callable[[], BinaryIO] = field(repr=False, default=lambda: _no_stream())
    detail: str = ""  # link target or entry type, for the refusal
    max_read: int | None = None  # cap on each read, for decoders that cannot bound their output


def _no_stream() -> BinaryIO:
    raise _Unreadable("this member has no content to read")


class _Archive:
    """What the expander needs from a zip or a tar reader."""

    sequential: bool  # True when a bad member means the rest cannot be read (tar)
    members_count_total: bool  # True when members' bytes are the archive's decompressed bytes
    is_document: bool = False
    compressed: _CountingReader

    def entries(self) -> Iterator[_Entry]:
        raise NotImplementedError

    def end_note(self) -> str | None:
        return None

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class _Kind:
    label: str
    opener: Callable[[Path, _Budget], _Archive]

    def open(self, path: Path, budget: _Budget) -> _Archive:
        return self.opener(path, budget)


class _ZipArchive(_Archive):
    sequential = False
    members_count_total = True

    def __init__(self, path: Path, budget: _Budget) -> None:
        self._raw = path.open("rb")
        self.compressed = _CountingReader(self._raw)
        self._zip: zipfile.ZipFile | None = None
        self._recovered: _LocalHeaders | None = None
        try:
            self._zip = zipfile.ZipFile(self.compressed)  # type: ignore[arg-type]
        except _DECODE_ERRORS as exc:
            # A zip cut short (a download that stopped) has lost its directory, which is at
            # the end; its members before the cut can still be read from their own headers.
            recovered = _LocalHeaders(self.compressed, path.stat().st_size)
            if not recovered.entries:
                self._raw.close()
                raise _Unreadable(_describe(exc)) from exc
            self._recovered = recovered
            self._why = _describe(exc)
        self.is_document = self._zip is not None and _is_document(self._zip)

    def entries(self) -> Iterator[_Entry]:
        if self._recovered is not None:
            yield from self._recovered.entries
            return
        for info in self._zip.infolist():
            yield self._entry(info)

    def end_note(self) -> str | None:
        if self._recovered is None:
            return None
        return (f"the zip has no directory at its end ({self._why}): it was probably cut short. "
                f"{self._recovered.readable} member(s) were read from their own headers; "
                f"{self._recovered.end}")

    def _entry(self, info: zipfile.ZipInfo) -> _Entry:
        mode = info.external_attr >> 16
        name = info.orig_filename
        if stat.S_ISLNK(mode):
            return _Entry(name, "symlink")
        if stat.S_IFMT(mode) in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
            return _Entry(name, "device", detail=_special_kind(mode))
        if info.is_dir() or stat.S_ISDIR(mode):
            return _Entry(name, "dir")
        if info.flag_bits & 0x1:
            return _Entry(name, "encrypted")
        if info.compress_type == zipfile.ZIP_BZIP2:
            return _Entry(name, "file", open=lambda: _Bzip2Member(self.compressed, info))
        # zipfile decodes LZMA without an output bound; small reads keep each step small.
        max_read = 4096 if info.compress_type == zipfile.ZIP_LZMA else None
        return _Entry(name, "file", open=lambda: self._zip.open(info), max_read=max_read)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._raw.close()


class _LocalHeaders:
    """The members of a zip without its central directory, found by walking the local header
    that stands before each member's data, from the start of the file to the first one that is
    not whole. Stored and deflated members are read; a member whose sizes follow its data (bit
    3) is deflated to find its end; anything else stops the walk (its end cannot be found)."""

    SIGNATURE = b"PK\x03\x04"
    MAX_MEMBERS = 1_000_000

    def __init__(self, raw: _CountingReader, size: int) -> None:
        self.entries: list[_Entry] = []
        self.readable = 0
        self.end = "nothing after the last of them is missing"
        offset = 0
        while len(self.entries) < self.MAX_MEMBERS:
            raw.seek(offset)
            header = raw.read(30)
            if len(header) < 30 or header[:4] != self.SIGNATURE:
                if offset < size and header[:4] not in (b"PK\x01\x02", b"PK\x05\x06", b""):
                    self.end = f"what follows byte {offset:,} is not a zip member"
                break
            (flags, method, _, _, crc, packed, unpacked, name_length,
             extra_length) = struct.unpack("<HHHHIIIHH", header[6:30])
            raw_name = raw.read(name_length)
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            start = offset + 30 + name_length + extra_length
            if flags & 0x1:
                self.entries.append(_Entry(name, "encrypted"))
            if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or (
                    flags & 0x8 and method != zipfile.ZIP_DEFLATED) or packed == 0xFFFFFFFF:
                self.end = (f"the walk stopped at {name!r} (byte {offset:,}): its end cannot be "
                            f"found without the directory")
                break
            if flags & 0x8:
                found = _deflated_end(raw, start, size)
                if found is None:
                    self._cut(name)
                    break
                packed, unpacked, crc = found
                following = start + packed
                raw.seek(following)
                descriptor = raw.read(16)
                following += 16 if descriptor[:4] == b"PK\x07\x08" else 12
            else:
                following = start + packed
            if following > size:
                self._cut(name)
                break
            if not flags & 0x1:
                member = _Member(raw, start, packed, unpacked, crc, method, name)
                self.entries.append(_Entry(name, "dir" if name.endswith("/") else "file",
                                           open=member.open))
                self.readable += not name.endswith("/")
            offset = following

    def _cut(self, name: str) -> None:
        self.entries.append(_Entry(name, "file", open=lambda: _cut_member()))
        self.end = f"the file ends inside {name!r}, which could not be read"


def _cut_member() -> BinaryIO:
    raise _Unreadable("the archive ends inside this member (cut short)")


def _deflated_end(raw: _CountingReader, start: int, size: int) -> tuple[int, int, int] | None:
    """(compressed size, size, CRC-32) of a deflated member whose sizes follow it, found by
    inflating it to its end; None when the file ends first."""
    inflater = zlib.decompressobj(-15)
    position, unpacked, crc = start, 0, 0
    while not inflater.eof:
        raw.seek(position)
        data = raw.read(CHUNK_SIZE)
        if not data:
            return None
        position += len(data)
        try:
            out = inflater.decompress(data)
            while out:
                unpacked += len(out)
                crc = zlib.crc32(out, crc)
                out = inflater.decompress(inflater.unconsumed_tail, CHUNK_SIZE) \
                    if inflater.unconsumed_tail else b""
        except zlib.error:
            return None
    return position - len(inflater.unused_data) - start, unpacked, crc


@dataclass
class _Member:
    """A stored or deflated member found by its local header, read with bounded memory and
    checked against the CRC-32 and size its header (or data descriptor) gives."""

    raw: _CountingReader
    start: int
    packed: int
    unpacked: int
    crc: int
    method: int
    name: str

    def open(self) -> BinaryIO:
        return _MemberReader(self)  # type: ignore[return-value]


class _MemberReader:
    def __init__(self, member: _Member) -> None:
        self._member = member
        self._position, self._left = member.start, member.packed
        self._inflater = zlib.decompressobj(-15) if member.method == zipfile.ZIP_DEFLATED else None
        self._pending = b""
        self._crc = self._size = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_SIZE
        while not self._done:
            if self._inflater is None:
                out = self._next_raw(size)
            else:
                data = self._pending or self._next_raw(CHUNK_SIZE)
                out = self._inflater.decompress(data, size)
                self._pending = self._inflater.unconsumed_tail
            if out:
                self._crc = zlib.crc32(out, self._crc)
                self._size += len(out)
                return out
            if self._left <= 0 and not self._pending:
                self._finish()
        return b""

    def _next_raw(self, size: int) -> bytes:
        if self._left <= 0:
            return b""
        self._member.raw.seek(self._position)
        data = self._member.raw.read(min(size, self._left))
        if not data:
            raise EOFError("the archive ended inside this member")
        self._position += len(data)
        self._left -= len(data)
        return data

    def _finish(self) -> None:
        self._done = True
        if self._crc != self._member.crc or self._size != self._member.unpacked:
            raise zipfile.BadZipFile(f"{self._member.name!r} does not match its CRC-32 or size")

    def close(self) -> None:
        self._done = True


def _is_document(archive: zipfile.ZipFile) -> bool:
    """A zip-based document that libmagic did not name (it only looks at the first entries)."""
    infos = archive.infolist()
    if infos and infos[0].filename == "mimetype":  # OpenDocument, EPUB
        return True
    return any(info.filename in _DOCUMENT_MARKERS for info in infos)


class _Bzip2Member:
    """Reads a bzip2-compressed zip member with bounded memory.

    zipfile hands bzip2 data to the decompressor without an output bound, and bzip2 can expand
    100 MB of zeros from about a hundred bytes, so one read could exhaust memory before any limit
    is checked. This reads the raw member and decompresses with ``max_length`` instead, checking
    CRC-32 and size against the central directory like zipfile does.
    """

    RAW_READ = 64 * 1024

    def __init__(self, raw: _CountingReader, info: zipfile.ZipInfo) -> None:
        raw.seek(info.header_offset)
        header = raw.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        self._raw = raw
        self._info = info
        self._position = info.header_offset + 30 + name_length + extra_length
        self._left = info.compress_size
        self._decompressor = bz2.BZ2Decompressor()
        self._crc = 0
        self._size = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_SIZE
        while not self._done:
            if self._decompressor.eof:
                self._finish()
                break
            data = self._next_raw() if self._decompressor.needs_input else b""
            out = self._decompressor.decompress(data, size)
            if out:
                self._crc = zlib.crc32(out, self._crc)
                self._size += len(out)
                return out
        return b""

    def _next_raw(self) -> bytes:
        if self._left <= 0:
            raise EOFError("compressed data ended before the end of the bzip2 stream")
        self._raw.seek(self._position)
        data = self._raw.read(min(self.RAW_READ, self._left))
        if not data:
            raise EOFError("the archive ended inside this member")
        self._position += len(data)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._done = True

    def _finish(self) -> None:
        self._done = True
        if self._crc != self._info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self._info.orig_filename!r}")
        if self._size != self._info.file_size:
            raise zipfile.BadZipFile(f"size of {self._info.orig_filename!r} differs from the directory")


class _Tap:
    """Sits between the decompressor and tarfile: counts, bounds and remembers the tail.

    tarfile's stream mode reads in records; the tap counts every decompressed byte against the
    archive's budget (including data tarfile skips), stops tarfile reading more than it should
    between two members (`expect`), and keeps the last bytes seen so the end of the archive can be
    examined without seeking back.
    """

    KEEP = 64 * 1024

    def __init__(self, source: BinaryIO, budget: _Budget) -> None:
        self._source = source
        self._budget = budget
        self._allowed = 0
        self._chunks: deque[bytes] = deque()
        self._kept = 0
        self.position = 0

    def expect(self, count: int) -> None:
        self._allowed = count

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_SIZE
        data = self._source.read(size)
        self.position += len(data)
        self._allowed -= len(data)
        if self._allowed < 0:
            raise LimitExceeded(
                f"a tar header is larger than {_size(MAX_TAR_HEADER_BYTES)} (a long name or pax header that "
                "no real export needs)",
                MAX_TAR_HEADER_BYTES,
            )
        self._budget.add_bytes(len(data))
        self._remember(data)
        return data

    def _remember(self, data: bytes) -> None:
        self._chunks.append(data)
        self._kept += len(data)
        while self._chunks and self._kept - len(self._chunks[0]) >= self.KEEP:
            self._kept -= len(self._chunks.popleft())

    def seen(self, offset: int, size: int) -> bytes | None:
        """Bytes [offset, offset+size) if still remembered (possibly fewer at the end), else None."""
        start = self.position - self._kept
        if offset < start:
            return None
        kept = b"".join(self._chunks)
        return kept[offset - start : offset - start + size]


class _TarArchive(_Archive):
    sequential = True
    members_count_total = False  # the tap already counts every byte of the stream

    def __init__(self, path: Path, budget: _Budget, compression: str | None) -> None:
        self._raw = path.open("rb")
        self.compressed = _CountingReader(self._raw)
        self._members = 0
        try:
            self._stream = _decompressing(self.compressed, compression)
            self._tap = _Tap(self._stream, budget)
            self._tap.expect(MAX_TAR_HEADER_BYTES)
            # Stream mode ("r|"): one forward pass, no seeking back into a compressed stream.
            # Fixed encoding: member names must not depend on the machine's locale.
            self._tar = tarfile.open(  # type: ignore[call-overload]
                fileobj=self._tap, mode="r|", encoding="utf-8", errors="surrogateescape"
            )
        except _BudgetExceeded:
            self._raw.close()
            raise
        except LimitExceeded as exc:
            self._raw.close()
            raise _Unreadable(exc.reason) from exc
        except _DECODE_ERRORS as exc:
            self._raw.close()
            raise _Unreadable(_describe(exc)) from exc

    def entries(self) -> Iterator[_Entry]:
        while True:
            try:
                member = self._tar.next()
            except LimitExceeded:
                raise
            except _DECODE_ERRORS as exc:
                raise _Unreadable(
                    f"could not be read after {self._members:,} members ({_describe(exc)}); the rest of the "
                    "archive was not read"
                ) from exc
            if member is None:
                return
            self._members += 1
            # Until the next member: this member's data, then at most one header's worth.
            self._tap.expect(_padded(max(0, member.size)) + MAX_TAR_HEADER_BYTES + 2 * tarfile.RECORDSIZE)
            yield self._entry(member)

    def _entry(self, member: tarfile.TarInfo) -> _Entry:
        name = member.name
        if member.isdir():
            return _Entry(name, "dir")
        if member.issym():
            return _Entry(name, "symlink", detail=member.linkname)
        if member.islnk():
            return _Entry(name, "hardlink", detail=member.linkname)
        if member.ischr() or member.isblk() or member.isfifo():
            return _Entry(name, "device", detail=_TAR_SPECIAL.get(member.type, "device"))
        if member.isreg():
            return _Entry(name, "file", open=lambda: self._extract(member))
        return _Entry(name, "other", detail=member.type.decode("ascii", "backslashreplace"))

    def _extract(self, member: tarfile.TarInfo) -> BinaryIO:
        stream = self._tar.extractfile(member)
        if stream is None:
            raise _Unreadable("tar gave no content for this member")
        return stream

    def end_note(self) -> str | None:
        """Say whether the archive ended as a tar should (tarfile itself stops silently)."""
        offset = self._tar.offset  # where tarfile tried to read the header that ended the loop
        got = self._tar.fileobj.tell() - offset  # type: ignore[union-attr]
        if got <= 0:
            return (
                f"ends after {self._members:,} members without an end-of-archive marker; it may be truncated "
                "and members after that point may be missing"
            )
        block = self._tap.seen(offset, min(got, tarfile.BLOCKSIZE))
        if block is None:
            return None
        if got < tarfile.BLOCKSIZE:
            return f"is truncated inside a header at byte {offset:,}; members after that point are missing"
        if block.count(0) != len(block):
            return (
                f"has an unreadable header at byte {offset:,} (not a valid tar header); the rest of the "
                "archive was not read"
            )
        return self._trailer_note(offset + tarfile.BLOCKSIZE)

    def _trailer_note(self, start: int) -> str | None:
        """Data hidden after the end-of-archive marker is worth an examiner's attention."""
        seen = self._tap.seen(start, max(0, self._tap.position - start)) or b""
        scanned = len(seen)
        self._tap.expect(TRAILER_SCAN_BYTES + 2 * tarfile.RECORDSIZE)
        try:
            while seen.count(0) == len(seen) and scanned < TRAILER_SCAN_BYTES:
                seen = self._tap.read(min(CHUNK_SIZE, TRAILER_SCAN_BYTES - scanned))
                if not seen:
                    return None
                scanned += len(seen)
        except _BudgetExceeded:
            raise
        except (*_DECODE_ERRORS, LimitExceeded) as exc:
            return (
                f"its members were read, but the data after its end-of-archive marker could not be read "
                f"({_describe(exc)})"
            )
        if seen.count(0) != len(seen):
            return f"holds data after its end-of-archive marker (byte {start:,}); that data was not examined"
        return None

    def close(self) -> None:
        try:
            self._tar.close()
            if self._stream is not self.compressed:
                self._stream.close()
        finally:
            self._raw.close()


_TAR_SPECIAL = {
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "FIFO",
}


def _padded(size: int) -> int:
    return -(-size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE


def _decompressing(raw: BinaryIO, compression: str | None) -> BinaryIO:
    """A bounded decompressing reader (these read with an output limit, unlike tarfile's own)."""
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if compression == "bzip2":
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.LZMAFile(raw, mode="rb")  # type: ignore[return-value]
    return raw


# ----------------------------------------------------------------------------------------------
# Recognising archives by content


_COMPRESSION_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))


def _sniff(path: Path, sample: Sample) -> tuple[_Kind | None, str | None]:
    """Which archive this is (if any) from its bytes, and a note if that could not be decided."""
    if sample.media_type in ZIP_MEDIA_TYPES:
        return _Kind("zip archive", _ZipArchive), None
    compression = next((label for magic, label in _COMPRESSION_MAGIC if sample.head.startswith(magic)), None)
    if compression is None:
        block = sample.head[: tarfile.BLOCKSIZE]
    else:
        try:
            with path.open("rb") as raw, _decompressing(raw, compression) as stream:
                block = stream.read(tarfile.BLOCKSIZE)
        except _DECODE_ERRORS as exc:
            return None, (
                f"is {compression}-compressed but could not be decompressed ({_describe(exc)}); "
                "collected as a file, its content was not examined"
            )
    if not _is_tar_header(block):
        if block[257:262] == b"ustar":
            return None, (
                "looks like a tar archive but its first header is damaged (bad checksum); collected as a "
                "file, its members were not collected"
            )
        return None, None
    label = "tar archive" if compression is None else f"{compression}-compressed tar archive"

    def opener(stored: Path, budget: _Budget) -> _Archive:
        return _TarArchive(stored, budget, compression)

    return _Kind(label, opener), None


def _is_tar_header(block: bytes) -> bool:
    """A first tar header: 512 bytes, not blank, whose checksum field matches (POSIX and v7)."""
    if len(block) < tarfile.BLOCKSIZE or block.count(0) == tarfile.BLOCKSIZE:
        return False
    try:
        recorded = int(block[148:156].replace(b"\0", b" ").strip(), 8)
    except ValueError:
        return False
    rest = block[:148] + b" " * 8 + block[156:512]
    unsigned = sum(rest)
    signed = sum(struct.unpack("512b", rest))
    return recorded in (unsigned, signed)


# ----------------------------------------------------------------------------------------------
# Names


_DRIVE = re.compile(r"[A-Za-z]:")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _name_problem(name: str) -> str | None:
    """Why a member's name is refused, or None. Backslashes count as separators (Windows tools)."""
    shown = _printable(name)
    path = name.replace("\\", "/")
    if "\0" in name:
        return f"member '{shown}' has a NUL character in its name; not collected"
    if path.startswith("/"):
        return f"member '{shown}' has an absolute path; not collected"
    if _DRIVE.match(path):
        return f"member '{shown}' names a drive ({path[:2]}); not collected"
    if ".." in path.split("/"):
        return f"member '{shown}' would escape the archive (path traversal); not collected"
    return None


def _relative(name: str) -> str:
    """The member's path inside the archive with '/' separators and no '.' or empty parts."""
    return "/".join(part for part in name.replace("\\", "/").split("/") if part not in ("", "."))


def _printable(text: str) -> str:
    """A name safe to show: control and bidi characters and undecodable bytes written as escapes.

    Names come from untrusted exports; a newline would forge a line in a log or statement and a
    right-to-left override can disguise ``evil.exe`` as ``exe.txt``.
    """
    if text.isprintable():
        return text if not _BIDI_CONTROLS.intersection(text) else "".join(map(_escape, text))
    return "".join(map(_escape, text))


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8 (kept by surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs"):
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
    return char


def _join(base: str, name: str) -> str:
    base = base.rstrip("/")
    return f"{base}/{name}" if base else name


def _kind_refusal(item: _Entry) -> str:
    shown = _printable(item.name)
    if item.kind == "symlink":
        target = f" to '{_printable(item.detail)}'" if item.detail else ""
        return f"member '{shown}' is a symbolic link{target}; links are not followed; not collected"
    if item.kind == "hardlink":
        target = _printable(item.detail)
        return f"member '{shown}' is a hard link to '{target}'; links are not followed; not collected"
    if item.kind == "device":
        return f"member '{shown}' is a {item.detail or 'device'} entry, not a file; not collected"
    if item.kind == "encrypted":
        return f"member '{shown}' is encrypted and no password is known; not collected"
    return f"member '{shown}' has an entry type courseline does not read ({item.detail!r}); not collected"


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _size(count: float) -> str:
    """A figure an examiner can read and a reviewer can check: '5.0 MiB (5,242,880 bytes)'."""
    value, unit = float(count), "bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    if unit == "bytes":
        return f"{int(count):,} bytes"
    return f"{value:.1f} {unit} ({int(count):,} bytes)"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
