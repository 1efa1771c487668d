"""The read-only, content-addressed evidence store (``CASE/evidence/``).

Why content-addressed: a copy's file name is its SHA-256, so the name *is* the integrity claim, the
same bytes are stored once however many times they appear (an attachment in three exports), and
nothing taken from an export, least of all an archive member's name, ever decides where a file is
written. Copies are made read-only so a slip in a later stage cannot alter an exhibit.

Why copy then rename: a copy appears under its final name only once it is complete and hashed, so
an interrupted collection or a refused archive member never leaves a partial exhibit behind.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from .identify import HEAD_BYTES
from .hashing import CHUNK_SIZE, Digests, Progress, copy_hashed, hash_chunks, hash_file

_SHA256 = re.compile(r"[0-9a-f]{64}")
_READ_ONLY = 0o444
_TEMP_PREFIX = ".incoming-"


class LimitExceeded(Exception):
    """A stream gave more bytes than the caller allowed; nothing was kept.

    `reason` is plain words for the examiner; `limit` is the figure that was exceeded, if any.
    """

    def __init__(self, reason: str, limit: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


class SourceError(Exception):
    """The source could not be opened or read (as opposed to the case folder not being writable).

    Kept apart from OSError so that a damaged exhibit becomes a refusal with a reason while a full
    disk or an unwritable case folder still stops the run: those are problems with the case, not
    with the evidence.
    """


class EvidenceStore:
    """Exhibits under ``root/ab/abcdef…``: first two hex digits as a folder, full SHA-256 as name."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._root_text = str(self.root)
        self._folders: set[str] = set()   # the two-digit folders this store has seen exist
        # The copies this store object wrote, hashing the bytes as it wrote them. A copy that
        # was there already is not among them: only re-hashing it says whether it still holds.
        self.written: set[str] = set()

    def path_of(self, sha256: str) -> Path:
        """Where the copy with this SHA-256 lives (whether or not it has been stored yet)."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lower-case hex SHA-256: {sha256!r}")
        # One path made from text, not two joins: a camera roll asks this thousands of times.
        return Path(f"{self._root_text}/{sha256[:2]}/{sha256}")

    def __contains__(self, sha256: object) -> bool:
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            return False
        return self.path_of(sha256).is_file()

    def digests_of(self, sha256: str) -> Digests | None:
        """Re-hash the stored copy: its digests as they are now, or None when it is missing."""
        path = self.path_of(sha256)
        return hash_file(path) if path.is_file() else None

    def verify(self, sha256: str) -> bool:
        """Re-hash the stored copy: True only if it exists and still has this SHA-256."""
        found = self.digests_of(sha256)
        return found is not None and found.sha256 == sha256

    def put_file(self, path: Path, progress: Progress | None = None) -> Digests:
        """Copy a file into the store, hashing it in the same pass.

        The original is opened read-only and never renamed, written or touched (no symlink is
        followed; access time is preserved where the system allows it).
        """
        handle = _open_original(Path(path))
        with handle:
            return self._put(_chunks(handle, None), progress)

    def put_stream(
        self, stream: BinaryIO, limit: int | None = None, progress: Progress | None = None
    ) -> Digests:
        """Copy a stream (an archive member) into the store, hashing it in the same pass.

        Raises LimitExceeded as soon as more than `limit` bytes have been read, and SourceError when
        the stream cannot be read (an OSError, or a SourceError raised by the stream itself for a
        corrupt member); whatever is raised, nothing is left in the store.
        """
        return self._put(_chunks(stream, limit), progress)

    def _put(self, chunks: Iterator[bytes], progress: Progress | None) -> Digests:
        first = next(chunks, b"")
        second = next(chunks, None)
        if second is None:
            return self._put_whole(first, progress)
        return self._put_streamed(itertools.chain((first, second), chunks), progress)

    def _put_whole(self, data: bytes, progress: Progress | None) -> Digests:
        """A file of one read (up to 1 MiB: a photo, a message) is hashed before anything is
        written, so its copy is made straight in its own folder, and not at all when the store
        holds it already. A camera roll is thousands of these: each step saved counts."""
        digests = replace(hash_chunks((data,), progress), head=data[:HEAD_BYTES])
        final = self.path_of(digests.sha256)
        if digests.sha256 in self.written or final.exists():
            return digests

        def fill(sink: BinaryIO) -> Digests:
            sink.write(data)
            return digests
        return self._write_then_settle(self._folder_of(final), fill, final)

    def _put_streamed(self, chunks: Iterator[bytes], progress: Progress | None) -> Digests:
        self.root.mkdir(parents=True, exist_ok=True)
        return self._write_then_settle(self.root,
                                       lambda sink: copy_hashed(chunks, sink, progress))

    def _write_then_settle(self, folder: Path, fill: Callable[[BinaryIO], Digests],
                           final: Path | None = None) -> Digests:
        """Write a copy under a temporary name in ``folder``, make it read-only, then move it
        to its address (``final``, when known to be free a moment ago), or drop it if the
        store holds that content already."""
        fd, temp_name = tempfile.mkstemp(dir=folder, prefix=_TEMP_PREFIX)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as sink:
                digests = fill(sink)
            # After closing, not before: a network share may refuse the last writes of a file
            # already made read-only.
            os.chmod(temp, _READ_ONLY)
            if final is None:
                final = self.path_of(digests.sha256)
                if final.exists():
                    temp.unlink()
                    return digests
                self._folder_of(final)
            os.replace(temp, final)
            self.written.add(digests.sha256)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return digests

    def _folder_of(self, final: Path) -> Path:
        """The folder of a copy, made if it is not there yet (asked of the disk once a run)."""
        folder = final.parent
        if final.name[:2] not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(final.name[:2])
        return folder


def _open_original(path: Path) -> BinaryIO:
    """Open an original for reading only, refusing links and anything that is not a plain file.

    O_NOFOLLOW closes the gap between the walker's check and this open; O_NONBLOCK keeps a FIFO
    swapped in at the last moment from blocking the run; O_NOATIME keeps the original's access
    time where the system lets us (it is refused for files we do not own, so we retry without).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    try:
        try:
            fd = os.open(path, flags | noatime)
        except PermissionError:
            if not noatime:
                raise
            fd = os.open(path, flags)
    except OSError as exc:
        raise SourceError(_describe_os_error(exc, path)) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SourceError(f"'{path}' is not a regular file")
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def _describe_os_error(exc: OSError, path: Path) -> str:
    if exc.errno is not None and exc.errno == getattr(os, "ELOOP", None):
        return f"'{path}' is a symbolic link; links are not followed"
    return exc.strerror or str(exc)


def _chunks(stream: BinaryIO, limit: int | None) -> Iterator[bytes]:
    """Read a source in bounded pieces, stopping as soon as more than `limit` bytes arrive.

    Each read asks for at most one byte more than the limit allows, so a bomb is noticed without
    reading far past the limit. An OSError while reading becomes SourceError; a stream that
    decodes (an archive member) raises SourceError itself for damaged data, and LimitExceeded
    from a caller's metering wrapper passes through untouched.
    """
    total = 0
    while True:
        want = CHUNK_SIZE if limit is None else min(CHUNK_SIZE, limit + 1 - total)
        try:
            data = stream.read(want)
        except OSError as exc:
            raise SourceError(_describe(exc)) from exc
        if not data:
            return
        total += len(data)
        if limit is not None and total > limit:
            raise LimitExceeded(f"more than {limit:,} bytes", limit)
        yield data


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
