"""store: read-only, content-addressed, idempotent, and never touching the original."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from courseline.collectors.hashing import hash_file
from courseline.collectors.store import EvidenceStore, LimitExceeded, SourceError

PAST = 1_500_000_000_000_000_000  # ns: 2017-07-14, so any touch of the original would show


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _original(folder: Path, data: bytes = b"From: a@example.org\n\nhello\n") -> Path:
    path = folder / "message.eml"
    path.write_bytes(data)
    os.utime(path, ns=(PAST, PAST))
    return path


def test_put_file_is_content_addressed_and_read_only(store: EvidenceStore, exports: Path) -> None:
    original = _original(exports)
    data = original.read_bytes()

    digests = store.put_file(original)

    sha = hashlib.sha256(data).hexdigest()
    assert digests.sha256 == sha and digests.md5 == hashlib.md5(data).hexdigest() and digests.size == len(data)
    stored = store.path_of(sha)
    assert stored == store.root / sha[:2] / sha
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444
    assert sha in store
    assert _files_under(store.root) == [stored]  # no temporary file left beside it


def test_original_is_untouched(store: EvidenceStore, exports: Path) -> None:
    original = _original(exports)
    before = original.stat()
    data = original.read_bytes()

    store.put_file(original)

    after = original.stat()
    assert original.read_bytes() == data
    assert after.st_mtime_ns == before.st_mtime_ns == PAST
    assert (after.st_mode, after.st_ino, after.st_size) == (before.st_mode, before.st_ino, before.st_size)
    assert sorted(os.listdir(exports)) == ["message.eml"]


def test_putting_the_same_content_twice_does_not_rewrite_it(store: EvidenceStore, exports: Path) -> None:
    original = _original(exports)
    first = store.put_file(original)
    stored = store.path_of(first.sha256)
    os.utime(stored, ns=(PAST, PAST))
    identity = (stored.stat().st_ino, stored.stat().st_mtime_ns)

    second = store.put_file(original)
    third = store.put_stream(io.BytesIO(original.read_bytes()))

    assert first == second == third
    assert (stored.stat().st_ino, stored.stat().st_mtime_ns) == identity
    assert _files_under(store.root) == [stored]


def test_put_stream_limit_leaves_nothing_behind(store: EvidenceStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)

    assert store.put_stream(io.BytesIO(data), limit=len(data)).size == len(data)  # exactly at the limit: fine
    kept = _files_under(store.root)

    with pytest.raises(LimitExceeded) as caught:
        store.put_stream(io.BytesIO(data + b"!"), limit=len(data))
    assert caught.value.limit == len(data)
    assert _files_under(store.root) == kept


def test_put_stream_reads_little_past_the_limit(store: EvidenceStore) -> None:
    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            buffer[:] = bytes(len(buffer))
            self.served += len(buffer)
            return len(buffer)

    endless = Endless()
    with pytest.raises(LimitExceeded):
        store.put_stream(endless, limit=1000)
    assert endless.served == 1001
    assert _files_under(store.root) == []


def test_unreadable_stream_is_a_source_error_and_leaves_nothing(store: EvidenceStore) -> None:
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(5, "Input/output error")
            return b"x" * 100

    with pytest.raises(SourceError, match="Input/output error"):
        store.put_stream(Broken())
    assert _files_under(store.root) == []


def test_verify_rehashes_the_stored_copy(store: EvidenceStore, exports: Path) -> None:
    digests = store.put_file(_original(exports))
    stored = store.path_of(digests.sha256)
    assert store.verify(digests.sha256)

    stored.chmod(0o644)
    stored.write_bytes(b"tampered")
    assert not store.verify(digests.sha256)
    assert not store.verify("0" * 64)
    assert hash_file(stored).sha256 != digests.sha256


def test_addresses_must_be_sha256(store: EvidenceStore) -> None:
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63, ""):
        with pytest.raises(ValueError):
            store.path_of(bad)
        assert bad not in store
    assert 42 not in store


def test_put_file_refuses_links_and_special_files(store: EvidenceStore, exports: Path) -> None:
    target = _original(exports)
    link = exports / "link.eml"
    link.symlink_to(target)
    fifo = exports / "pipe"
    os.mkfifo(fifo)

    with pytest.raises(SourceError, match="symbolic link"):
        store.put_file(link)
    with pytest.raises(SourceError, match="not a regular file"):
        store.put_file(fifo)  # must not block waiting for a writer
    with pytest.raises(SourceError):
        store.put_file(exports / "missing")
    assert _files_under(store.root) == []


def test_put_file_reports_progress(store: EvidenceStore, exports: Path) -> None:
    data = os.urandom(2 * 1024 * 1024 + 3)
    path = exports / "big.bin"
    path.write_bytes(data)
    seen: list[int] = []

    store.put_file(path, progress=seen.append)

    assert sum(seen) == len(data)
