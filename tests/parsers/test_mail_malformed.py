"""A corpus of malformed and hostile messages, generated here. Each must give exactly one event
(with what could be read, and notes) or one reject (with a reason): never an exception, never a
hang. A ``signal.alarm`` guard fails any message that takes more than 30 s (a hang guard, not a
timing assertion)."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

from courseline.parsers._mail import MAX_MIME_PARTS, read_message
from courseline.timeline.event import MAX_FIELD_CHARS, Event, Reject

DATE = b"Date: Sat, 02 Mar 2024 21:14:05 +0000\n"
FROM = b"From: x.suspect@example.net\n"
TO = b"To: person.a@example.org\n"
HEAD = FROM + TO + DATE


def nested_multipart(depth: int) -> bytes:
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (n, n)
                       for n in range(depth))
    closing = b"".join(b"\n--b%d--\n" % n for n in reversed(range(depth)))
    return HEAD + b"MIME-Version: 1.0\n" + opening + b"Content-Type: text/plain\n\ndeep\n" \
        + closing


def flat_multipart(parts: int) -> bytes:
    body = b"".join(b"--b\nContent-Type: application/octet-stream\n\npart %d\n" % n
                    for n in range(parts))
    return HEAD + b'Content-Type: multipart/mixed; boundary="b"\n\n' + body + b"--b--\n"


def many_recipients(count: int) -> bytes:
    to = b",\n ".join(b"Person %d <p%d@example.org>" % (n, n) for n in range(count))
    return FROM + b"To: " + to + b"\n" + DATE + b"\nhello\n"


def attachment(cte_body: bytes) -> bytes:
    return (HEAD + b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
            b"Content-Type: text/plain\n\nsee file\n--b\nContent-Type: image/jpeg\n"
            b"Content-Disposition: attachment; filename=photo.jpg\n"
            b"Content-Transfer-Encoding: base64\n\n" + cte_body + b"\n--b--\n")


GARBAGE = random.Random(20240302).randbytes(200_000)

CORPUS: dict[str, bytes] = {
    "megabyte subject": HEAD + b"Subject: " + b"A" * 1_048_576 + b"\n\nbody\n",
    "megabyte unknown header": HEAD + b"X-Junk: " + b"word " * 210_000 + b"\n\nbody\n",
    "megabyte To of garbage": FROM + DATE + b"To: " + b"(<\"[" * 262_144 + b"\n\nbody\n",
    "20,000 recipients": many_recipients(20_000),
    "group of 30,000": FROM + DATE + b"To: everyone:" + b",".join(
        b"g%d@example.org" % n for n in range(30_000)) + b";\n\nbody\n",
    "nested comments in From": b"From: " + b"(" * 1_500 + b"c" + b")" * 1_500
                               + b" x@example.net\n" + TO + DATE + b"\nbody\n",
    "unclosed comment in From": b"From: " + b"(" * 5_000 + b"x@example.net\n" + TO + DATE
                                + b"\nbody\n",
    "colons in From": b"From: " + b"a:" * 100_000 + b"\n" + TO + DATE + b"\nbody\n",
    "NUL bytes": HEAD + b"Subject: a\x00b\n\nbody with \x00 NUL \x00 bytes\n",
    "binary garbage": GARBAGE,
    "binary garbage after headers": HEAD + b"\n" + GARBAGE,
    "only headers": HEAD + b"Subject: nothing else",
    "no headers at all": b"just some words, no header block at all\nsecond line\n",
    "empty": b"",
    "missing boundary": HEAD + b"Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain"
                        b"\n\nhello\n--x--\n",
    "boundary never used": HEAD + b'Content-Type: multipart/mixed; boundary="declared"\n\n'
                           b"no delimiter lines at all\n",
    "1,000-deep nested multipart": nested_multipart(1_000),
    "60-deep nested multipart": nested_multipart(60),
    "5,000 flat parts": flat_multipart(5_000),
    "100,000 delimiter lines": HEAD + b'Content-Type: multipart/mixed; boundary="b"\n\n'
                               + b"--b\n" * 100_000 + b"--b--\n",
    "quoted semicolons in Content-Type": HEAD + b'Content-Type: text/plain; x="'
                                         + b";" * 200_000 + b'"\n\nbody\n',
    "unknown charset": HEAD + b"Content-Type: text/plain; charset=x-unknown\n\n"
                       + "caf\u00e9 at 8pm\n".encode("utf-8"),
    "unknown charset, not UTF-8": HEAD + b"Content-Type: text/plain; charset=x-unknown\n\n"
                                  + "caf\u00e9 at 8pm\n".encode("cp1252"),
    "codec that is not a charset": HEAD + b"Content-Type: text/plain; charset=unicode_escape\n"
                                   b"\nnot \\u0041 escape\xff\n",
    "broken base64 characters": attachment(b"/9j/4AAQ!!!SkZJRgABAQ**EASABIAAD"),
    "broken base64 length": attachment(b"/9j/4AAQSkZJRgABAQEASABIAAD/2"),
    "undeclared 8-bit subject (latin-1)": HEAD + b"Subject: Caf\xe9 tonight?\n\nbody\n",
    "undeclared 8-bit subject (UTF-8)": HEAD + "Subject: Café tonight?\n\nbody\n".encode(),
    "encoded-word bomb": HEAD + b"Subject: " + b"=?utf-8?q?" * 100_000 + b"\n\nbody\n",
    "bad encoded words": HEAD + b"Subject: =?utf-8?B?####?= =?x-nope?Q?caf=E9?= =?utf-8?Q?ok?="
                         b"\n\nbody\n",
    "impossible date": FROM + TO + b"Date: Mon, 99 Foo 2024 99:99:99 +9999\n\nbody\n",
    "impossible offset": FROM + TO + b"Date: Mon, 04 Mar 2024 09:30:00 +9999\n\nbody\n",
    "leap second": FROM + TO + b"Date: Sat, 30 Jun 2012 23:59:60 +0000\n\nbody\n",
    "hostile Received": FROM + TO + b"Received: " + b"(" * 100_000 + b"\n" + b"".join(
        b"Received: from h%d by h%d; Sat, 02 Mar 2024 21:14:05 +0000\n" % (n, n)
        for n in range(200)) + b"\nbody\n",
    "megabyte Received": FROM + TO + DATE + b"Received: from " + b"x " * 524_288 + b"\n\nbody\n",
    "hostile html": HEAD + b"Content-Type: text/html\n\n" + b"</" * 500_000
                    + b"<?" * 200_000 + b"<script>" * 50_000 + b"<!" * 100_000,
    "five megabyte line": HEAD + b"\n" + b"x" * 5_000_000,
    "CR-only line ends": HEAD.replace(b"\n", b"\r") + b"\rbody\r",
    "header without colon first": b"not a header line\n" + HEAD + b"\nbody\n",
    "message/rfc822 nested in itself": HEAD + b"Content-Type: message/rfc822\n\n" + HEAD
                                       + b"Content-Type: message/rfc822\n\n" + HEAD
                                       + b"\ninner\n",
    "uuencode": HEAD + b"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n!!!\nend\n",
    "rfc2231 garbage": HEAD + b"Content-Type: multipart/mixed; boundary*0=a; boundary*=x;"
                       b" boundary*1*=%%%\n\nbody\n",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_malformed_message_gives_one_record(name: str, kit: ModuleType,
                                                 hang_guard: Callable, tmp_path: Path) -> None:
    raw = CORPUS[name]
    with hang_guard():
        direct = read_message(raw, "file")
        through_eml = kit.parse_eml(tmp_path, raw)
        through_mbox = kit.parse_mbox(tmp_path, kit.mbox_entry(raw))
    for record in [direct, *through_eml, *through_mbox]:
        kit.assert_well_formed(record)
    assert len(through_eml) == 1
    assert len(through_mbox) == 1            # the From_ line gives a time when nothing else does
    assert isinstance(through_mbox[0], Event)
    if isinstance(direct, Reject):
        assert direct.reason


def read(raw: bytes) -> Event:
    record = read_message(raw, "file")
    assert isinstance(record, Event), record
    return record


def test_megabyte_subject_is_cut_and_flagged() -> None:
    event = read(CORPUS["megabyte subject"])
    assert event.subject == "A" * MAX_FIELD_CHARS
    assert "truncated" in event.flags
    assert any("Subject header" in note for note in event.notes)


def test_twenty_thousand_recipients_are_all_kept() -> None:
    event = read(CORPUS["20,000 recipients"])
    assert len(event.recipients) == 20_000
    assert event.recipients[0] == "email:p0@example.org"
    assert event.recipients[-1] == "email:p19999@example.org"


def test_group_members_are_recipients() -> None:
    event = read(CORPUS["group of 30,000"])
    assert len(event.recipients) == 30_000


def test_nested_comments_do_not_lose_the_sender() -> None:
    # getaddresses raises RecursionError on these comments; the address is read without them
    event = read(CORPUS["nested comments in From"])
    assert event.sender == "email:x@example.net"
    assert any("nested comments" in note for note in event.notes)
    unclosed = read(CORPUS["unclosed comment in From"])
    assert unclosed.sender is None
    assert any("no usable e-mail address" in note for note in unclosed.notes)


def test_deep_nesting_is_read_headers_only_with_a_note() -> None:
    event = read(CORPUS["1,000-deep nested multipart"])
    assert event.sender == "email:x.suspect@example.net"
    assert event.text is None
    assert any("body was not read" in note and "nested" in note for note in event.notes)
    assert event.details["unread_body"]["size"] > 0


def test_moderate_nesting_is_walked_to_the_bound() -> None:
    event = read(CORPUS["60-deep nested multipart"])
    assert any("deeper than 50 levels" in note for note in event.notes)


def test_parts_beyond_the_bound_are_noted() -> None:
    event = read(CORPUS["5,000 flat parts"])
    assert len(event.attachments) == MAX_MIME_PARTS - 1   # the container is walked too
    assert any(f"more than {MAX_MIME_PARTS:,} MIME parts" in note for note in event.notes)


def test_unknown_charset_is_read_as_utf8_then_windows_1252() -> None:
    utf8 = read(CORPUS["unknown charset"])
    assert utf8.text == "caf\u00e9 at 8pm\n"
    assert any("'x-unknown'" in note and "UTF-8" in note for note in utf8.notes)
    cp1252 = read(CORPUS["unknown charset, not UTF-8"])
    assert cp1252.text == "caf\u00e9 at 8pm\n"
    assert any("Windows-1252" in note for note in cp1252.notes)


def test_a_codec_that_is_not_a_charset_is_not_used() -> None:
    event = read(CORPUS["codec that is not a charset"])
    assert event.text is not None and "\\u0041" in event.text   # not interpreted as an escape


def test_broken_base64_hashes_what_decoded() -> None:
    for name in ("broken base64 characters", "broken base64 length"):
        event = read(CORPUS[name])
        [photo] = event.attachments
        assert photo.name == "photo.jpg"
        assert any("base64 is damaged" in note for note in event.notes), name
    event = read(CORPUS["broken base64 characters"])
    # the invalid characters are skipped and the missing padding supplied, as the stdlib does
    expected = base64.b64decode(b"/9j/4AAQSkZJRgABAQEASABIAAD=")
    assert event.attachments[0].sha256 == hashlib.sha256(expected).hexdigest()


def test_undeclared_8bit_subjects_decode_with_a_note() -> None:
    for name in ("undeclared 8-bit subject (latin-1)", "undeclared 8-bit subject (UTF-8)"):
        event = read(CORPUS[name])
        assert event.subject == "Caf\u00e9 tonight?", name
        assert any("raw 8-bit bytes" in note for note in event.notes)


def test_bad_encoded_words_stay_readable() -> None:
    event = read(CORPUS["bad encoded words"])
    assert event.subject is not None and event.subject.endswith("ok")
    assert "caf\u00e9" in event.subject
    assert any("'x-nope'" in note for note in event.notes)


def test_impossible_dates_fall_back_or_reject() -> None:
    assert isinstance(read_message(CORPUS["impossible date"], "file"), Reject)
    offset = read(CORPUS["impossible offset"])
    assert offset.time.basis == "assumed"
    assert any("impossible offset '+9999'" in note for note in offset.notes)
    leap = read(CORPUS["leap second"])
    assert leap.time.value is not None and leap.time.value.second == 59
    assert any("leap second" in note for note in leap.notes)


def test_hostile_received_headers_are_bounded() -> None:
    event = read(CORPUS["hostile Received"])
    assert len(event.details["received"]) == 50
    assert any("the first 50 were kept" in note for note in event.notes)
    assert event.time.source.startswith("Received header")


def test_no_headers_at_all_is_a_reject_in_an_eml() -> None:
    record = read_message(CORPUS["no headers at all"], "file")
    assert isinstance(record, Reject) and "cannot be placed in time" in record.reason


def test_boundary_recovery_reads_the_real_parts() -> None:
    event = read(CORPUS["missing boundary"])
    assert event.text == "hello"
    assert any("re-read with the boundary" in note for note in event.notes)
