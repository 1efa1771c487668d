"""walk: what is found in folders and archives, in what order, under which case paths."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from courseline.collectors.store import EvidenceStore
from collect_support import collected_by_path, collected_paths, refusals_by_path
from courseline.collectors.walk import Collected, Limits, Refusal, collect


def _run(path: Path, display: str, store: EvidenceStore, **options: object) -> list[Collected | Refusal]:
    return list(collect(path, display, store, **options))  # type: ignore[arg-type]





def _zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_folder_is_walked_in_sorted_order_with_hidden_files(store: EvidenceStore, exports: Path) -> None:
    mail = exports / "mail"
    (mail / "sub" / "deeper").mkdir(parents=True)
    (mail / "b").mkdir()
    for relative, text in {
        "z.eml": "z",
        "a.eml": "a",
        ".hidden": "h",
        "sub/m.eml": "m",
        "sub/deeper/x.eml": "x",
        "b/c.txt": "c",
    }.items():
        (mail / relative).write_text(text)

    results = _run(mail, "exports/mail", store)

    assert collected_paths(results) == [
        "exports/mail/.hidden",
        "exports/mail/a.eml",
        "exports/mail/b/c.txt",
        "exports/mail/sub/deeper/x.eml",
        "exports/mail/sub/m.eml",
        "exports/mail/z.eml",
    ]
    assert not refusals_by_path(results)
    found = collected_by_path(results)
    assert found["exports/mail/sub/m.eml"].name == "m.eml"
    assert found["exports/mail/sub/m.eml"].parent is None
    assert not found["exports/mail/sub/m.eml"].container
    assert found["exports/mail/a.eml"].digests.sha256 == hashlib.sha256(b"a").hexdigest()
    assert store.path_of(found["exports/mail/a.eml"].digests.sha256).read_bytes() == b"a"
    assert _run(mail, "exports/mail", store) == results  # deterministic, and idempotent on the store


def test_single_file_source(store: EvidenceStore, exports: Path) -> None:
    path = exports / "call-log.csv"
    path.write_text("when,who\n")

    (entry,) = _run(path, "exports/call-log.csv", store)

    assert isinstance(entry, Collected)
    assert entry.case_path == "exports/call-log.csv" and entry.name == "call-log.csv"
    assert entry.parent is None and not entry.container
    assert entry.sample.name == "call-log.csv" and entry.sample.size == len("when,who\n")


def test_symlinks_are_refused_not_followed(store: EvidenceStore, exports: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of the export")
    src = exports / "phone"
    src.mkdir()
    (src / "real.txt").write_text("real")
    (src / "to-file").symlink_to(outside / "secret.txt")
    (src / "to-dir").symlink_to(outside)

    results = _run(src, "exports/phone", store)

    assert collected_paths(results) == ["exports/phone/real.txt"]
    refusals = refusals_by_path(results)
    assert set(refusals) == {"exports/phone/to-dir", "exports/phone/to-file"}
    assert all("symbolic link" in reason and "not followed" in reason for reason in refusals.values())
    assert hashlib.sha256(b"not part of the export").hexdigest() not in store
    top_link = exports / "link-to-export"
    top_link.symlink_to(src)
    assert [type(r) for r in _run(top_link, "exports/link-to-export", store)] == [Refusal]


def test_special_files_are_refused(store: EvidenceStore, exports: Path) -> None:
    os.mkfifo(exports / "pipe")

    results = _run(exports, "exports", store)

    assert refusals_by_path(results) == {"exports/pipe": "is a FIFO, not a regular file; not collected"}


def test_the_case_evidence_store_is_never_collected_into_itself(tmp_path: Path) -> None:
    case = tmp_path / "case"
    store = EvidenceStore(case / "evidence")
    (case / "exports").mkdir(parents=True)
    (case / "exports" / "a.txt").write_text("a")
    store.put_stream(io.BytesIO(b"already stored"))

    results = _run(case, "case", store)

    assert collected_paths(results) == ["case/exports/a.txt"]
    assert "case/evidence" in refusals_by_path(results)


def test_zip_members_are_their_own_entries(store: EvidenceStore, exports: Path) -> None:
    data = {"inner/a.eml": b"From: x@example.net\n\nhello", "inner/b.txt": b"text", "top.csv": b"a,b\n"}
    (exports / "mail.zip").write_bytes(_zip_bytes({"inner/": b"", **data}))

    results = _run(exports / "mail.zip", "exports/mail.zip", store)

    assert collected_paths(results) == [
        "exports/mail.zip",
        "exports/mail.zip!inner/a.eml",
        "exports/mail.zip!inner/b.txt",
        "exports/mail.zip!top.csv",
    ]
    found = collected_by_path(results)
    archive = found["exports/mail.zip"]
    assert archive.container and archive.parent is None and archive.sample.media_type == "application/zip"
    member = found["exports/mail.zip!inner/a.eml"]
    assert (member.name, member.parent, member.container) == ("a.eml", "exports/mail.zip", False)
    assert member.digests.sha256 == hashlib.sha256(data["inner/a.eml"]).hexdigest()
    assert member.sample.media_type == "message/rfc822"
    assert store.verify(member.digests.sha256)
    assert not refusals_by_path(results)


@pytest.mark.parametrize(
    ("mode", "name"),
    [("w", "export.tar"), ("w:gz", "export.tar.gz"), ("w:bz2", "export.tbz"), ("w:xz", "export.txz")],
)
def test_tar_members_with_any_compression(store: EvidenceStore, exports: Path, mode: str, name: str) -> None:
    data = {"./chats/a.txt": b"first", "chats/b.json": b"{}", "c.bin": os.urandom(300_000)}
    (exports / name).write_bytes(_tar_bytes(data, mode))

    results = _run(exports / name, f"exports/{name}", store)

    top = f"exports/{name}"
    assert collected_paths(results) == [top, f"{top}!chats/a.txt", f"{top}!chats/b.json", f"{top}!c.bin"]
    found = collected_by_path(results)
    assert found[f"exports/{name}"].container
    assert found[f"exports/{name}!c.bin"].digests.sha256 == hashlib.sha256(data["c.bin"]).hexdigest()
    assert not refusals_by_path(results)


def test_archives_are_recognised_by_content_not_name(store: EvidenceStore, exports: Path) -> None:
    (exports / "backup.dat").write_bytes(_zip_bytes({"a.txt": b"zipped"}))
    (exports / "phone.bin").write_bytes(_tar_bytes({"b.txt": b"tarred"}, "w:gz"))
    (exports / "fake.zip").write_bytes(b"not an archive at all")

    results = _run(exports, "exports", store)

    assert collected_paths(results) == [
        "exports/backup.dat",
        "exports/backup.dat!a.txt",
        "exports/fake.zip",
        "exports/phone.bin",
        "exports/phone.bin!b.txt",
    ]
    assert not collected_by_path(results)["exports/fake.zip"].container
    assert not refusals_by_path(results)


def test_zip_based_documents_and_lone_gzip_are_kept_whole(store: EvidenceStore, exports: Path) -> None:
    xlsx = {"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>", "xl/workbook.xml": b"<workbook/>"}
    (exports / "calls.xlsx").write_bytes(_zip_bytes(xlsx))
    # Content types not first: libmagic may call this a plain zip; it is still a document.
    (exports / "odd.docx").write_bytes(_zip_bytes({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<Types/>"}))
    odt = {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}
    (exports / "notes.odt").write_bytes(_zip_bytes(odt, zipfile.ZIP_STORED))
    (exports / "log.gz").write_bytes(gzip.compress(b"plain log line\n" * 100))

    results = _run(exports, "exports", store)

    assert collected_paths(results) == ["exports/calls.xlsx", "exports/log.gz", "exports/notes.odt", "exports/odd.docx"]
    assert not any(entry.container for entry in collected_by_path(results).values())
    assert not refusals_by_path(results)


def test_nested_archives_are_opened(store: EvidenceStore, exports: Path) -> None:
    inner_zip = _zip_bytes({"deep/z.eml": b"From: a\n\nz"})
    inner_tar = _tar_bytes({"y.zip": inner_zip, "note.txt": b"n"})
    (exports / "x.zip").write_bytes(_zip_bytes({"y.tar": inner_tar}))

    results = _run(exports / "x.zip", "x.zip", store)

    assert collected_paths(results) == [
        "x.zip",
        "x.zip!y.tar",
        "x.zip!y.tar!y.zip",
        "x.zip!y.tar!y.zip!deep/z.eml",
        "x.zip!y.tar!note.txt",
    ]
    found = collected_by_path(results)
    assert found["x.zip!y.tar!y.zip!deep/z.eml"].parent == "x.zip!y.tar!y.zip"
    assert found["x.zip!y.tar!y.zip"].parent == "x.zip!y.tar"
    assert all(found[p].container for p in ("x.zip", "x.zip!y.tar", "x.zip!y.tar!y.zip"))


def test_archives_nested_too_deep_are_collected_but_not_opened(store: EvidenceStore, exports: Path) -> None:
    level3 = _zip_bytes({"three.txt": b"3"})
    level2 = _zip_bytes({"l3.zip": level3})
    level1 = _zip_bytes({"l2.zip": level2})
    (exports / "top.zip").write_bytes(_zip_bytes({"l1.zip": level1}))

    results = _run(exports / "top.zip", "top.zip", store, limits=Limits(max_depth=1))

    assert collected_paths(results) == ["top.zip", "top.zip!l1.zip", "top.zip!l1.zip!l2.zip"]
    assert not collected_by_path(results)["top.zip!l1.zip!l2.zip"].container
    reason = refusals_by_path(results)["top.zip!l1.zip!l2.zip"]
    assert "max_depth" in reason and "not opened" in reason
    shallow = _run(exports / "top.zip", "top.zip", store, limits=Limits(max_depth=0))
    assert collected_paths(shallow) == ["top.zip", "top.zip!l1.zip"]
    assert "max_depth" in refusals_by_path(shallow)["top.zip!l1.zip"]


def test_zip_members_with_other_compressions(store: EvidenceStore, exports: Path) -> None:
    text = b"bzip2 and lzma members are read with bounded memory\n" * 2000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("b.txt", text, compress_type=zipfile.ZIP_BZIP2)
        archive.writestr("l.txt", text, compress_type=zipfile.ZIP_LZMA)
        archive.writestr("s.txt", text, compress_type=zipfile.ZIP_STORED)
    (exports / "mixed.zip").write_bytes(buffer.getvalue())

    results = _run(exports / "mixed.zip", "mixed.zip", store)

    found = collected_by_path(results)
    digest = hashlib.sha256(text).hexdigest()
    assert [found[f"mixed.zip!{n}"].digests.sha256 for n in ("b.txt", "l.txt", "s.txt")] == [digest] * 3
    assert not refusals_by_path(results)


def test_windows_separators_and_unprintable_names_are_shown_safely(store: EvidenceStore, exports: Path) -> None:
    (exports / "win.zip").write_bytes(_zip_bytes({"Inbox\\mail.eml": b"m", "line\nbreak.txt": b"n", "gpj.\u202etxt": b"r"}))

    results = _run(exports / "win.zip", "win.zip", store)

    assert collected_paths(results) == ["win.zip", "win.zip!Inbox/mail.eml", "win.zip!line\\x0abreak.txt", "win.zip!gpj.\\u202etxt"]


def test_progress_counts_every_byte_hashed(store: EvidenceStore, exports: Path) -> None:
    (exports / "a.txt").write_bytes(b"x" * 1000)
    member = os.urandom(5000)
    archive = _zip_bytes({"m.bin": member})
    (exports / "b.zip").write_bytes(archive)
    seen: list[int] = []

    _run(exports, "exports", store, progress=seen.append)

    assert sum(seen) == 1000 + len(archive) + len(member)


def test_compressed_files_that_cannot_be_decompressed_are_noted(store: EvidenceStore, exports: Path) -> None:
    good = bz2.compress(b"x" * 10_000)
    (exports / "broken.bz2").write_bytes(good[:4] + b"\0" * 40)
    (exports / "ok.xz").write_bytes(lzma.compress(b"not a tar"))

    results = _run(exports, "exports", store)

    assert collected_paths(results) == ["exports/broken.bz2", "exports/ok.xz"]
    assert list(refusals_by_path(results)) == ["exports/broken.bz2"]
    assert "could not be decompressed" in refusals_by_path(results)["exports/broken.bz2"]
