"""hashing: the digests every later stage and the defence rely on."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest

from courseline.collectors.hashing import CHUNK_SIZE, Digests, copy_hashed, hash_file, read_chunks


def _random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12345])
def test_hash_file_matches_hashlib(tmp_path: Path, size: int) -> None:
    data = _random_bytes(size, seed=size)
    path = tmp_path / "blob"
    path.write_bytes(data)

    digests = hash_file(path)

    assert digests == Digests(
        sha256=hashlib.sha256(data).hexdigest(), md5=hashlib.md5(data).hexdigest(), size=size
    )
    assert digests.sha256 == digests.sha256.lower() and len(digests.sha256) == 64
    assert len(digests.md5) == 32


def test_copy_hashed_writes_exactly_what_it_hashes() -> None:
    data = _random_bytes(2 * CHUNK_SIZE + 7, seed=1)
    sink = io.BytesIO()
    seen: list[int] = []

    digests = copy_hashed(read_chunks(io.BytesIO(data)), sink, progress=seen.append)

    assert sink.getvalue() == data
    assert digests.sha256 == hashlib.sha256(data).hexdigest()
    assert digests.md5 == hashlib.md5(data).hexdigest()
    assert digests.size == len(data) == sum(seen)
    assert max(seen) <= CHUNK_SIZE


def test_digests_are_immutable() -> None:
    digests = Digests(sha256="0" * 64, md5="0" * 32, size=0)
    with pytest.raises(AttributeError):
        digests.size = 1  # type: ignore[misc]
