"""Hostile archives: traversal, links, bombs and damage are refused in plain words, and nothing is
ever written outside the case folder or left half-written in the evidence store."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import stat
import struct
import tarfile
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from courseline.collectors.store import EvidenceStore
from collect_support import collected_by_path, collected_paths, refusals_by_path
from courseline.collectors.walk import Collected, Limits, Refusal, collect

MiB = 1024 * 1024
Results = list[Collected | Refusal]
Guarded = Callable[..., Results]
EVIL = b"this must never reach the disk"


# --- helpers -----------------------------------------------------------------------------------


def _snapshot(root: Path, exclude: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under root except the case folder: (size, mtime) by path."""
    seen: dict[str, tuple[int, int]] = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == exclude:
            dirs.clear()
            continue
        for name in dirs + files:
            path = Path(folder) / name
            if path == exclude:
                continue
            info = path.lstat()
            seen[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return seen


def _assert_store_is_clean(store: EvidenceStore, results: Iterable[Collected | Refusal]) -> None:
    """Only complete, read-only, correctly named copies, one for each distinct collected hash."""
    stored = sorted(p for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []
    for path in stored:
        assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{64}", path.relative_to(store.root).as_posix()), path
        assert path.parent.name == path.name[:2]
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
        assert store.verify(path.name)
    collected = {r.digests.sha256 for r in results if isinstance(r, Collected)}
    assert {p.name for p in stored} == collected


@pytest.fixture
def guarded(tmp_path: Path, store: EvidenceStore, exports: Path) -> Guarded:
    """Run collect and prove it wrote nothing outside the case folder and nothing partial inside."""

    def run(path: Path, display: str, limits: Limits = Limits()) -> Results:
        case = store.root.parent
        case.mkdir(parents=True, exist_ok=True)
        before = _snapshot(tmp_path, case)
        results = list(collect(path, display, store, limits))
        assert _snapshot(tmp_path, case) == before
        assert sorted(os.listdir(case)) == ["evidence"]
        _assert_store_is_clean(store, results)
        return results

    return run





def _tar_member(
    archive: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = ""
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mtime = 1_700_000_000
    archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


class _Zeros(io.RawIOBase):
    """size bytes of zeros, produced as read: bombs are built without holding them in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def _zip_bomb(
    path: Path, size: int, compression: int = zipfile.ZIP_DEFLATED, before: dict[str, bytes] | None = None
) -> None:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in (before or {}).items():
            archive.writestr(name, data)
        info = zipfile.ZipInfo("bomb.bin")
        info.compress_type = compression
        with archive.open(info, "w", force_zip64=True) as member:
            chunk = bytes(MiB)
            for _ in range(size // MiB):
                member.write(chunk)
        archive.writestr("after.txt", b"after the bomb")


# --- names and links ---------------------------------------------------------------------------

TRAVERSAL_NAMES = [
    "../../evil.txt",
    "/abs/path/evil.txt",
    "C:\\Windows\\evil.txt",
    "..\\..\\evil2.txt",
    "ok/../../evil3.txt",
]


def test_zip_traversal_names_are_refused(guarded: Guarded, exports: Path) -> None:
    with zipfile.ZipFile(exports / "t.zip", "w") as archive:
        archive.writestr("good.txt", b"good")
        for index, name in enumerate(TRAVERSAL_NAMES):
            archive.writestr(zipfile.ZipInfo(name), EVIL + bytes([index]))

    results = guarded(exports / "t.zip", "t.zip")

    assert collected_paths(results) == ["t.zip", "t.zip!good.txt"]
    refusals = refusals_by_path(results)
    assert refusals["t.zip!../../evil.txt"] == (
        "member '../../evil.txt' would escape the archive (path traversal); not collected"
    )
    assert refusals["t.zip!/abs/path/evil.txt"] == "member '/abs/path/evil.txt' has an absolute path; not collected"
    assert refusals["t.zip!C:\\Windows\\evil.txt"] == "member 'C:\\Windows\\evil.txt' names a drive (C:); not collected"
    assert "path traversal" in refusals["t.zip!..\\..\\evil2.txt"]
    assert "path traversal" in refusals["t.zip!ok/../../evil3.txt"]


def test_tar_traversal_names_and_links_are_refused(guarded: Guarded, exports: Path, tmp_path: Path) -> None:
    with tarfile.open(exports / "t.tar.gz", "w:gz") as archive:
        _tar_member(archive, "good.txt", b"good")
        for name in TRAVERSAL_NAMES:
            _tar_member(archive, name, EVIL)
        _tar_member(archive, "escape", kind=tarfile.SYMTYPE, link=str(tmp_path / "outside.txt"))
        _tar_member(archive, "passwd", kind=tarfile.LNKTYPE, link="../../../etc/passwd")
        _tar_member(archive, "null", kind=tarfile.CHRTYPE)
        _tar_member(archive, "fifo", kind=tarfile.FIFOTYPE)
        _tar_member(archive, "escape", EVIL)  # same name as the link: must not write through it
        _tar_member(archive, "last.txt", b"last")

    results = guarded(exports / "t.tar.gz", "t.tar.gz")

    assert collected_paths(results) == ["t.tar.gz", "t.tar.gz!good.txt", "t.tar.gz!escape", "t.tar.gz!last.txt"]
    assert collected_by_path(results)["t.tar.gz!escape"].digests.sha256 == hashlib.sha256(EVIL).hexdigest()
    refusals = [r for r in results if isinstance(r, Refusal)]
    reasons = {r.case_path: r.reason for r in refusals}
    assert reasons["t.tar.gz!../../evil.txt"].endswith("would escape the archive (path traversal); not collected")
    assert "absolute path" in reasons["t.tar.gz!/abs/path/evil.txt"]
    assert reasons["t.tar.gz!escape"] == (
        f"member 'escape' is a symbolic link to '{tmp_path / 'outside.txt'}'; links are not followed; not collected"
    )
    assert reasons["t.tar.gz!passwd"] == (
        "member 'passwd' is a hard link to '../../../etc/passwd'; links are not followed; not collected"
    )
    assert reasons["t.tar.gz!null"] == "member 'null' is a character device entry, not a file; not collected"
    assert reasons["t.tar.gz!fifo"] == "member 'fifo' is a FIFO entry, not a file; not collected"
    assert not (tmp_path / "outside.txt").exists()


def _mark_encrypted(data: bytes, name: str) -> bytes:
    """Set the 'encrypted' flag of one member in its local and central headers (zipfile cannot
    write encrypted members, and the collector must refuse on the flag alone)."""
    patched = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
        position = archive.start_dir  # type: ignore[attr-defined]
    patched[info.header_offset + 6] |= 0x1
    while patched[position : position + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack("<HHH", patched[position + 28 : position + 34])
        if patched[position + 46 : position + 46 + name_length] == name.encode():
            patched[position + 8] |= 0x1
        position += 46 + name_length + extra_length + comment_length
    return bytes(patched)


def test_zip_symlink_and_encrypted_members_are_refused(guarded: Guarded, exports: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link-to-etc")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, b"/etc/passwd")
        archive.writestr("locked.txt", b"ciphertext")
        fifo = zipfile.ZipInfo("pipe")
        fifo.create_system = 3
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        archive.writestr(fifo, b"")
        archive.writestr("fine.txt", b"fine")
    (exports / "z.zip").write_bytes(_mark_encrypted(buffer.getvalue(), "locked.txt"))

    results = guarded(exports / "z.zip", "z.zip")

    assert collected_paths(results) == ["z.zip", "z.zip!fine.txt"]
    assert refusals_by_path(results) == {
        "z.zip!link-to-etc": "member 'link-to-etc' is a symbolic link; links are not followed; not collected",
        "z.zip!locked.txt": "member 'locked.txt' is encrypted and no password is known; not collected",
        "z.zip!pipe": "member 'pipe' is a FIFO entry, not a file; not collected",
    }


# --- bombs -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 MB of zeros in about 200 KB, built once for the module, streamed as it is written."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    _zip_bomb(path, 200 * MiB, before={"first.txt": b"collected before the bomb"})
    assert path.stat().st_size < 1 * MiB
    return path


def test_zip_bomb_is_stopped_by_the_ratio(guarded: Guarded, exports: Path, zip_bomb: Path) -> None:
    (exports / "bomb.zip").write_bytes(zip_bomb.read_bytes())

    results = guarded(exports / "bomb.zip", "bomb.zip")

    assert collected_paths(results) == ["bomb.zip", "bomb.zip!first.txt"]
    reason = refusals_by_path(results)["bomb.zip"]
    assert reason.startswith("stopped at member 'bomb.bin': it expands more than 200 times (max_ratio): ")
    assert "possible decompression bomb" in reason and "not collected" in reason


def test_zip_bomb_is_stopped_by_the_member_size(guarded: Guarded, exports: Path, zip_bomb: Path) -> None:
    (exports / "bomb.zip").write_bytes(zip_bomb.read_bytes())

    results = guarded(exports / "bomb.zip", "bomb.zip", Limits(max_member_bytes=5 * MiB, max_ratio=float("inf")))

    assert collected_paths(results) == ["bomb.zip", "bomb.zip!first.txt"]
    reason = refusals_by_path(results)["bomb.zip"]
    assert reason.startswith(
        "stopped at member 'bomb.bin': it decompresses to more than 5.0 MiB (5,242,880 bytes) (max_member_bytes); "
        "possible decompression bomb; that member and any after it were not collected"
    )


def test_bzip2_zip_member_is_decompressed_with_bounded_memory(guarded: Guarded, exports: Path) -> None:
    _zip_bomb(exports / "bz.zip", 20 * MiB, zipfile.ZIP_BZIP2)  # bzip2: 20 MB of zeros in ~50 bytes
    assert (exports / "bz.zip").stat().st_size < 4096

    tracemalloc.start()
    try:
        results = guarded(exports / "bz.zip", "bz.zip", Limits(max_member_bytes=2 * MiB, max_ratio=float("inf")))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert collected_paths(results) == ["bz.zip"]
    assert "(max_member_bytes)" in refusals_by_path(results)["bz.zip"]
    assert peak < 12 * MiB  # zipfile's own reader would hold the whole 20 MB at once


def test_tar_gz_bomb_is_stopped_by_the_ratio(guarded: Guarded, exports: Path) -> None:
    with tarfile.open(exports / "bomb.tgz", "w:gz", compresslevel=1) as archive:
        _tar_member(archive, "first.txt", b"first")
        info = tarfile.TarInfo("zeros.img")
        info.size = 64 * MiB
        archive.addfile(info, _Zeros(info.size))
        _tar_member(archive, "after.txt", b"after")

    results = guarded(exports / "bomb.tgz", "bomb.tgz")

    assert collected_paths(results) == ["bomb.tgz", "bomb.tgz!first.txt"]
    assert refusals_by_path(results)["bomb.tgz"].startswith(
        "stopped at member 'zeros.img': it expands more than 200 times (max_ratio)"
    )


def test_total_bytes_are_bounded_across_members(guarded: Guarded, exports: Path) -> None:
    members = {f"m{index}.bin": os.urandom(MiB) for index in range(4)}
    with zipfile.ZipFile(exports / "many.zip", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)

    results = guarded(exports / "many.zip", "many.zip", Limits(max_total_bytes=2 * MiB + MiB // 2))

    assert collected_paths(results) == ["many.zip", "many.zip!m0.bin", "many.zip!m1.bin"]
    reason = refusals_by_path(results)["many.zip"]
    assert reason.startswith("stopped at 'many.zip!m2.bin': more than 2.5 MiB (2,621,440 bytes) would be decompressed")
    assert "(max_total_bytes)" in reason


def test_member_count_includes_nested_archives(guarded: Guarded, exports: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        for index in range(5):
            archive.writestr(f"inner{index}.txt", f"inner {index}")
    with zipfile.ZipFile(exports / "outer.zip", "w") as archive:
        archive.writestr("a.txt", b"a")
        archive.writestr("inner.zip", inner.getvalue())
        archive.writestr("z.txt", b"z")

    results = guarded(exports / "outer.zip", "outer.zip", Limits(max_members=4))

    assert collected_paths(results) == [
        "outer.zip",
        "outer.zip!a.txt",
        "outer.zip!inner.zip",
        "outer.zip!inner.zip!inner0.txt",
        "outer.zip!inner.zip!inner1.txt",
    ]
    refusals = refusals_by_path(results)
    assert list(refusals) == ["outer.zip"]  # reported once, on the top-level archive
    assert refusals["outer.zip"].startswith(
        "stopped at 'outer.zip!inner.zip!inner2.txt': the archive holds more than 4 members"
    )
    assert "(max_members)" in refusals["outer.zip"]


def test_huge_tar_header_is_refused(guarded: Guarded, exports: Path) -> None:
    with tarfile.open(exports / "pax.tar.gz", "w:gz", format=tarfile.PAX_FORMAT) as archive:
        _tar_member(archive, "first.txt", b"first")
        info = tarfile.TarInfo("second.txt")
        info.pax_headers = {"comment": "x" * (17 * MiB)}
        archive.addfile(info, io.BytesIO())

    results = guarded(exports / "pax.tar.gz", "pax.tar.gz")

    assert collected_paths(results) == ["pax.tar.gz", "pax.tar.gz!first.txt"]
    assert "a tar header is larger than 16.0 MiB" in refusals_by_path(results)["pax.tar.gz"]


# --- damage ------------------------------------------------------------------------------------


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in: it writes each member's sizes after its data."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        self.data += chunk
        return len(chunk)


@pytest.mark.parametrize("streamed", [False, True], ids=["sizes-in-headers", "sizes-after-data"])
def test_a_zip_cut_short_keeps_its_whole_members_and_names_the_cut_one(
        guarded: Guarded, exports: Path, streamed: bool) -> None:
    sink: io.BytesIO | _Unseekable = _Unseekable() if streamed else io.BytesIO()
    contents = {"a.txt": os.urandom(5000), "b.txt": b"words " * 2000, "c.txt": os.urandom(5000)}
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    data = bytes(sink.data if streamed else sink.getvalue())
    third = data.index(b"PK\x03\x04c.txt"[:4], data.index(b"c.txt") - 40)
    (exports / "cut.zip").write_bytes(data[: third + 2000])   # cut inside c.txt's data

    results = guarded(exports / "cut.zip", "cut.zip")

    collected = collected_by_path(results)
    assert sorted(collected) == ["cut.zip", "cut.zip!a.txt", "cut.zip!b.txt"]
    for name in ("a.txt", "b.txt"):
        assert collected[f"cut.zip!{name}"].digests.sha256 == hashlib.sha256(contents[name]).hexdigest()
    reasons = refusals_by_path(results)
    assert "cut short" in reasons["cut.zip!c.txt"]
    assert "probably cut short" in reasons["cut.zip"] and "2 member(s)" in reasons["cut.zip"]


def test_a_zip_cut_inside_its_first_member_says_so(guarded: Guarded, exports: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", os.urandom(5000))
    (exports / "cut.zip").write_bytes(buffer.getvalue()[:200])

    results = guarded(exports / "cut.zip", "cut.zip")

    assert collected_paths(results) == ["cut.zip"]
    reasons = refusals_by_path(results)
    assert "cut short" in reasons["cut.zip!a.txt"] and "0 member(s)" in reasons["cut.zip"]


def test_zip_member_with_bad_crc_is_refused_and_others_kept(guarded: Guarded, exports: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.txt", b"AAAAAAAAAA")
        archive.writestr("b.txt", b"BBBBBBBBBB")
        archive.writestr("c.txt", b"CCCCCCCCCC")
    (exports / "crc.zip").write_bytes(buffer.getvalue().replace(b"BBBBBBBBBB", b"BBBBBXBBBB"))

    results = guarded(exports / "crc.zip", "crc.zip")

    assert collected_paths(results) == ["crc.zip", "crc.zip!a.txt", "crc.zip!c.txt"]
    assert refusals_by_path(results) == {"crc.zip!b.txt": "could not be read (Bad CRC-32 for file 'b.txt'); not collected"}


def _tar_with(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            _tar_member(archive, name, data)
    return buffer.getvalue()


def test_tar_with_a_damaged_first_header_is_noted(guarded: Guarded, exports: Path) -> None:
    data = bytearray(_tar_with({"a.txt": b"a"}))
    data[148:156] = b"0000000\0"
    (exports / "bad-start.tar").write_bytes(bytes(data))

    results = guarded(exports / "bad-start.tar", "bad-start.tar")

    assert collected_paths(results) == ["bad-start.tar"]
    assert "looks like a tar archive but its first header is damaged" in refusals_by_path(results)["bad-start.tar"]


def test_truncated_tar_gz_keeps_members_read_before_the_damage(guarded: Guarded, exports: Path) -> None:
    second = os.urandom(200_000)
    data = gzip.compress(_tar_with({"first.txt": b"first", "second.bin": second, "third.txt": b"third"}))
    (exports / "cut.tar.gz").write_bytes(data[: len(data) // 2])

    results = guarded(exports / "cut.tar.gz", "cut.tar.gz")

    assert collected_paths(results) == ["cut.tar.gz", "cut.tar.gz!first.txt"]
    assert collected_by_path(results)["cut.tar.gz"].container
    reason = refusals_by_path(results)["cut.tar.gz"]
    assert reason.startswith("could not be read past member 'second.bin' (")
    assert hashlib.sha256(second).hexdigest() not in {c.digests.sha256 for c in collected_by_path(results).values()}


def test_tar_ending_without_its_marker_is_noted(guarded: Guarded, exports: Path) -> None:
    data = _tar_with({"a.txt": b"a", "b.txt": b"b"})
    (exports / "short.tar").write_bytes(data[: 4 * 512])  # two members, no end-of-archive blocks

    results = guarded(exports / "short.tar", "short.tar")

    assert collected_paths(results) == ["short.tar", "short.tar!a.txt", "short.tar!b.txt"]
    assert "without an end-of-archive marker" in refusals_by_path(results)["short.tar"]


def test_tar_with_a_damaged_header_is_noted(guarded: Guarded, exports: Path) -> None:
    data = bytearray(_tar_with({"a.txt": b"a", "b.txt": b"b", "c.txt": b"c"}))
    data[2 * 512 + 148 : 2 * 512 + 156] = b"0000000\0"  # break b.txt's header checksum
    (exports / "bad.tar").write_bytes(bytes(data))

    results = guarded(exports / "bad.tar", "bad.tar")

    assert collected_paths(results) == ["bad.tar", "bad.tar!a.txt"]
    assert refusals_by_path(results)["bad.tar"] == (
        "has an unreadable header at byte 1,024 (not a valid tar header); the rest of the archive was not read"
    )


def test_data_hidden_after_the_end_of_a_tar_is_noted(guarded: Guarded, exports: Path) -> None:
    data = _tar_with({"a.txt": b"a"}) + _tar_with({"hidden.txt": b"hidden"})
    (exports / "cat.tar").write_bytes(data)

    results = guarded(exports / "cat.tar", "cat.tar")

    assert collected_paths(results) == ["cat.tar", "cat.tar!a.txt"]
    assert "holds data after its end-of-archive marker" in refusals_by_path(results)["cat.tar"]
