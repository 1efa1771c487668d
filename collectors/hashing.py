"""Hashing evidence in one streaming pass.

Every source is hashed before anything parses it, and the hash is what the report, the manifest and
`courseline verify` rely on. Both digests come from the same pass over the same bytes so that they
can never describe two different reads of a file that changed in between, and memory stays bounded
whatever the size of the export. MD5 is computed only for older systems that still ask for it; it is
never used to decide anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024  # 1 MiB: large enough for throughput, small enough to keep memory flat

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Digests:
    """The identity of one exhibit's bytes: hex lower-case digests and the exact byte count.

    ``head``: the first bytes, when whoever hashed them held them all at once (a small file),
    so that the file can be identified without reading it again. Not part of its identity."""

    sha256: str
    md5: str
    size: int
    head: bytes | None = field(default=None, compare=False, repr=False)


class _Hasher:
    """Feeds the same bytes to SHA-256 and MD5 so both describe one read."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        # usedforsecurity=False: MD5 is informational here, and FIPS-mode builds refuse it otherwise.
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._size = 0

    def update(self, data: bytes) -> None:
        self._sha256.update(data)
        self._md5.update(data)
        self._size += len(data)

    def digests(self) -> Digests:
        return Digests(sha256=self._sha256.hexdigest(), md5=self._md5.hexdigest(), size=self._size)


def read_chunks(source: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield a stream's bytes in bounded pieces until it is exhausted."""
    while True:
        data = source.read(size)
        if not data:
            return
        yield data


def hash_chunks(chunks: Iterable[bytes], progress: Progress | None = None) -> Digests:
    """Digest bytes that arrive in pieces (a file, an archive member) without holding them."""
    hasher = _Hasher()
    for data in chunks:
        hasher.update(data)
        if progress is not None:
            progress(len(data))
    return hasher.digests()


def hash_file(path: Path) -> Digests:
    """SHA-256, MD5 and size of a file, read once, read-only, 1 MiB at a time."""
    with Path(path).open("rb") as handle:
        return hash_chunks(read_chunks(handle))


def copy_hashed(
    chunks: Iterable[bytes], sink: BinaryIO, progress: Progress | None = None
) -> Digests:
    """Write bytes to `sink` and digest them in the same pass.

    The evidence store uses this so that the hash it records is the hash of exactly the bytes it
    wrote: there is no second read of the source that could see different content.
    """
    hasher = _Hasher()
    for data in chunks:
        sink.write(data)
        hasher.update(data)
        if progress is not None:
            progress(len(data))
    return hasher.digests()
