"""The shared message reader (parsers/_mail.py): identifiers, subject, text, time, attachments,
details, Gmail labels — on messages built here with the standard library."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

from types import ModuleType

import pytest

from courseline.parsers._mail import (
    NO_TIME_REASON,
    SOURCE_DATE,
    SOURCE_RECEIVED,
    html_to_text,
    read_message,
)
from courseline.timeline.event import Event, RawTime, Reject

VICTIM = "person.a@example.org"
SUSPECT = "x.suspect@example.net"
DATE = "Sat, 02 Mar 2024 21:14:05 +0000"


def read(raw: bytes, **kwargs: object) -> Event:
    record = read_message(raw, "file", **kwargs)  # type: ignore[arg-type]
    assert isinstance(record, Event), record
    record.check()
    json.dumps([record.details, record.notes], ensure_ascii=False).encode("utf-8")
    return record


def test_plain_message(kit: ModuleType) -> None:
    event = read(kit.as_bytes(kit.message()))
    assert event.kind == "email" and event.platform == "email"
    assert event.sender == f"email:{SUSPECT}"
    assert event.recipients == [f"email:{VICTIM}"]
    assert event.subject == "Hello"
    assert event.text == "Call me on 07700 900123.\n"
    assert event.direction == "unknown"
    assert event.time == RawTime(raw=DATE, value=datetime(2024, 3, 2, 21, 14, 5,
                                                           tzinfo=timezone.utc),
                                 basis="offset", precision="s", source=SOURCE_DATE, device_clock=False)
    assert event.details["message_id"] == "<m1@example.net>"
    assert event.details["date_header"] == DATE
    assert event.attachments == [] and event.flags == [] and event.notes == []
    json.dumps(event.details)


def test_recipients_in_order_without_duplicates(kit: ModuleType) -> None:
    msg = kit.message(to="a@example.org, B <b@example.org>",
                  extra={"Cc": "c@example.net, A@example.org", "Bcc": "d@example.net"})
    event = read(kit.as_bytes(msg))
    assert event.recipients == ["email:a@example.org", "email:b@example.org",
                                "email:c@example.net", "email:d@example.net"]
    assert event.details["cc_header"] == "c@example.net, A@example.org"


def test_multipart_attachments_are_hashed(kit: ModuleType) -> None:
    msg = kit.message(text="See attached.\n")
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    photo = kit.png()
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="letter.pdf")
    msg.add_attachment(photo, maintype="image", subtype="png", filename="photo.png")
    msg.add_attachment("a diary note\n", filename="note.txt")
    event = read(kit.as_bytes(msg))
    assert event.text == "See attached.\n"
    by_name = {a.name: a for a in event.attachments}
    assert set(by_name) == {"letter.pdf", "photo.png", "note.txt"}
    assert by_name["letter.pdf"].sha256 == hashlib.sha256(pdf).hexdigest()
    assert by_name["letter.pdf"].size == len(pdf)
    assert by_name["letter.pdf"].media_type == "application/pdf"
    assert by_name["photo.png"].sha256 == hashlib.sha256(photo).hexdigest()
    assert by_name["photo.png"].media_type == "image/png"
    # a text attachment is hashed as transported: the SMTP policy wrote it with CRLF
    assert by_name["note.txt"].sha256 == hashlib.sha256(b"a diary note\r\n").hexdigest()


def test_alternative_html_is_a_body_part_not_an_attachment(kit: ModuleType) -> None:
    msg = kit.message(text="plain words\n")
    msg.add_alternative("<p>rich <b>words</b></p>", subtype="html")
    event = read(kit.as_bytes(msg))
    assert event.text == "plain words\n"
    assert event.attachments == []
    assert [p["content_type"] for p in event.details["body_parts"]] == ["text/plain",
                                                                       "text/html"]


def test_html_only_body_is_reduced_to_text_with_a_note(kit: ModuleType) -> None:
    msg = kit.message()
    msg.set_content("<html><head><title>T</title><style>p{}</style></head><body>"
                    "<p>I saw you &amp; your car</p><script>x()</script><br>07700 900456"
                    "</body></html>", subtype="html")
    event = read(kit.as_bytes(msg))
    assert event.text == "I saw you & your car\n\n07700 900456"
    assert any("extracted from the HTML" in note for note in event.notes)


def test_html_to_text_keeps_literal_angle_brackets_and_unclosed_tags() -> None:
    assert html_to_text("1 < 2 and <b>bold</b>") == "1 < 2 and bold"
    assert html_to_text("text <!-- hidden --> more") == "text more"
    assert html_to_text("end <a href='x'") == "end <a href='x'"


def test_rfc2047_subject_and_names_decode() -> None:
    raw = (b"From: =?ISO-8859-1?Q?Fran=E7ois_=22Frank=22_M=FCller=2C_Jr?= <frank@example.net>\n"
           b"To: =?UTF-8?B?UGVyc29uIEHigJk=?= <person.a@example.org>\n"
           b"Subject: =?UTF-8?B?SGVsbG8g8J+RiyDigJMg?=\n =?UTF-8?Q?r=C3=A9ponse?=\n"
           b"Date: Sat, 02 Mar 2024 21:14:05 +0000\n\nbody\n")
    event = read(raw)
    assert event.subject == "Hello \U0001F44B \u2013 réponse"
    assert event.sender == "email:frank@example.net"
    assert event.recipients == ["email:person.a@example.org"]
    assert event.details["from_header"] == 'François "Frank" Müller, Jr <frank@example.net>'


def test_encoded_display_name_with_comma_is_one_address() -> None:
    raw = (b"From: =?iso-8859-1?Q?Smith=2C_Jane?= <jane@example.org>, other@example.net\n"
           b"To: =?gb2312?B?1cXPyMn6?= <zhang@example.net>\n"
           b"Date: Sat, 02 Mar 2024 21:14:05 +0000\n\nx\n")
    event = read(raw)
    assert event.sender == "email:jane@example.org"
    assert event.recipients == ["email:zhang@example.net"]
    assert event.details["to_header"] == "张先生 <zhang@example.net>"
    assert any("names 2 addresses" in note for note in event.notes)


def test_display_name_that_is_another_address_is_not_the_address() -> None:
    raw = (b"From: victim@example.org <spoofer@example.net>\nTo: \"a@example.org\" "
           b"<b@example.org>\nDate: Sat, 02 Mar 2024 21:14:05 +0000\n\nx\n")
    event = read(raw)
    assert event.sender == "email:spoofer@example.net"
    assert event.recipients == ["email:b@example.org"]
    assert any("victim@example.org" in note and "spoofer@example.net" in note
               for note in event.notes)


def test_address_without_at_is_kept_in_details_not_an_identifier() -> None:
    raw = b"From: root\nTo: localuser, b@example.org\nDate: " + DATE.encode() + b"\n\nx\n"
    event = read(raw)
    assert event.sender is None
    assert event.recipients == ["email:b@example.org"]
    assert event.details["unusable_addresses"] == [{"header": "From", "value": "root"},
                                                   {"header": "To", "value": "localuser"}]
    assert any("without '@'" in note for note in event.notes)


@pytest.mark.parametrize("date, value, basis, precision", [
    ("Mon, 04 Mar 2024 09:30:00 +0100", datetime(2024, 3, 4, 9, 30,
                                                 tzinfo=timezone(timedelta(hours=1))),
     "offset", "s"),
    ("Wed, 24 Apr 2019 10:05:02 +0200 (CEST)", datetime(2019, 4, 24, 10, 5, 2,
                                                        tzinfo=timezone(timedelta(hours=2))),
     "offset", "s"),
    ("Mon, 4 Mar 2024 09:30 -0530", datetime(2024, 3, 4, 9, 30,
                                             tzinfo=timezone(-timedelta(hours=5, minutes=30))),
     "offset", "min"),
    ("Mon, 04 Mar 2024 09:30:00 -0000", datetime(2024, 3, 4, 9, 30, tzinfo=timezone.utc),
     "utc", "s"),
    ("Mon, 04 Mar 2024 09:30:00 GMT", datetime(2024, 3, 4, 9, 30, tzinfo=timezone.utc),
     "utc", "s"),
    ("Mon, 04 Mar 2024 09:30:00 CEST", datetime(2024, 3, 4, 9, 30), "assumed", "s"),
    ("Mon, 04 Mar 2024 09:30:00", datetime(2024, 3, 4, 9, 30), "assumed", "s"),
])
def test_date_header_offsets_are_kept(kit: ModuleType, date: str, value: datetime, basis: str,
                                      precision: str) -> None:
    event = read(kit.as_bytes(kit.message(date=date)))
    assert event.time.raw == date
    assert event.time.value == value
    assert event.time.value.utcoffset() == value.utcoffset()  # +0100 stays +01:00, not UTC
    assert event.time.basis == basis
    assert event.time.precision == precision
    if basis == "assumed":
        assert any("case time zone" in note for note in event.notes)


def test_plus_one_hour_offset_is_not_converted(kit: ModuleType) -> None:
    event = read(kit.as_bytes(kit.message(date="Mon, 04 Mar 2024 09:30:00 +0100")))
    assert event.time.value is not None
    assert event.time.value.isoformat() == "2024-03-04T09:30:00+01:00"


def test_obsolete_zone_word_and_wrong_weekday_are_noted(kit: ModuleType) -> None:
    event = read(kit.as_bytes(kit.message(date="Fri, 04 Mar 2024 09:30:00 EST")))
    assert event.time.value == datetime(2024, 3, 4, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert any("'EST'" in note for note in event.notes)
    assert any("weekday 'Fri'" in note and "Monday" in note for note in event.notes)


def test_missing_date_uses_topmost_received_header() -> None:
    raw = (b"Received: from mx.example.net by mail.example.org with ESMTP id 42;\n"
           b"\tSun, 03 Mar 2024 08:00:01 +0000\n"
           b"Received: from laptop by mx.example.net; Sun, 03 Mar 2024 07:59:58 +0000\n"
           b"From: x.suspect@example.net\nTo: person.a@example.org\nSubject: no date\n\nx\n")
    event = read(raw)
    assert event.time.source == SOURCE_RECEIVED
    assert event.time.value == datetime(2024, 3, 3, 8, 0, 1, tzinfo=timezone.utc)
    assert any("Received header 1" in note for note in event.notes)
    hop = event.details["received"][0]
    assert hop["by"] == "mail.example.org" and hop["with"] == "ESMTP" and hop["id"] == "42"
    assert "from" in hop and hop["raw"].startswith("from mx.example.net")
    assert len(event.details["received"]) == 2


def test_unparseable_date_falls_back_and_says_so() -> None:
    raw = (b"Received: from a by b; Sun, 03 Mar 2024 08:00:01 +0000\n"
           b"Date: sometime last week\nFrom: x.suspect@example.net\n\nx\n")
    event = read(raw)
    assert event.time.source == SOURCE_RECEIVED
    assert any("'sometime last week' could not be read" in note for note in event.notes)


def test_fallback_time_from_the_caller_comes_before_received() -> None:
    fallback = RawTime(raw="Sun Mar  3 08:00:00 2024", value=datetime(2024, 3, 3, 8),
                       basis="assumed", precision="s", source="mbox From_ line")
    raw = b"Received: from a by b; Sun, 03 Mar 2024 09:00:00 +0000\nFrom: a@example.org\n\nx\n"
    event = read(raw, fallback_time=fallback, fallback_note="used the From_ line")
    assert event.time is fallback
    assert "used the From_ line" in event.notes


def test_no_time_at_all_is_a_reject() -> None:
    record = read_message(b"From: a@example.org\nSubject: timeless\n\nx\n", "file")
    assert record == Reject("file", NO_TIME_REASON)


@pytest.mark.parametrize("labels, flags, direction", [
    ("Sent,Opened", ["sent"], "outgoing"),
    ("Inbox,Spam", ["spam"], "unknown"),
    ('Trash,"Work, old",Category Personal', ["trash"], "unknown"),
    ("Drafts", ["draft"], "unknown"),
    ("Inbox,Important", [], "unknown"),
])
def test_gmail_labels_become_flags(kit: ModuleType, labels: str, flags: list[str],
                                   direction: str) -> None:
    msg = kit.message(extra={"X-Gmail-Labels": labels, "X-GM-THRID": "1790000000000000001"})
    event = read(kit.as_bytes(msg))
    assert event.flags == flags
    assert event.direction == direction
    assert event.details["gmail_thread_id"] == "1790000000000000001"
    assert "Work, old" in event.details["gmail_labels"] or "Work" not in labels


def test_details_keep_headers_for_attribution(kit: ModuleType) -> None:
    msg = kit.message(extra={"In-Reply-To": "<m0@example.org>",
                         "References": "<a@example.org> <m0@example.org>",
                         "Reply-To": "Other <other@example.net>",
                         "X-Originating-IP": "[192.0.2.7]"})
    event = read(kit.as_bytes(msg))
    assert event.details["in_reply_to"] == "<m0@example.org>"
    assert event.details["references"] == "<a@example.org> <m0@example.org>"
    assert event.details["reply_to"] == "Other <other@example.net>"
    assert event.details["x_originating_ip"] == "[192.0.2.7]"
    json.dumps(event.details)


def test_attached_message_is_hashed_as_its_original_bytes() -> None:
    inner = (b"From: someone@example.net\r\nSubject: forwarded\r\n"
             b"X-Long: " + b"word " * 40 + b"\r\n\r\ninner body\r\n")
    raw = (b"From: a@example.org\r\nDate: " + DATE.encode() + b"\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
           b"Content-Type: text/plain\r\n\r\nsee below\r\n--b1\r\n"
           b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b1--\r\n")
    event = read(raw)
    assert event.text == "see below"
    [attached] = event.attachments
    assert attached.sha256 == hashlib.sha256(inner).hexdigest()
    assert attached.size == len(inner)


def test_rfc2231_attachment_name() -> None:
    raw = (b"From: a@example.org\nDate: " + DATE.encode() + b"\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n"
           b"--b\nContent-Type: application/octet-stream\n"
           b"Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\n"
           b"Content-Transfer-Encoding: base64\n\nAAEC\n--b--\n")
    event = read(raw)
    [attached] = event.attachments
    assert attached.name == "résumé.pdf"
    assert attached.sha256 == hashlib.sha256(b"\x00\x01\x02").hexdigest()


def test_wrong_charset_falls_back_with_a_note() -> None:
    raw = (b"From: a@example.org\nDate: " + DATE.encode() + b"\n"
           b"Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 8bit\n\n"
           + "I know where you live — café on the corner\n".encode("utf-8"))
    event = read(raw)
    assert event.text == "I know where you live — café on the corner\n"
    assert any("'us-ascii'" in note and "UTF-8" in note for note in event.notes)


def test_crlf_text_is_normalised_to_lf(kit: ModuleType) -> None:
    event = read(kit.as_bytes(kit.message(text="line one\nline two\n")))
    assert event.text == "line one\nline two\n"


def test_charsets_that_are_not_ascii_compatible_are_honoured() -> None:
    raw = (b"From: a@example.org\nDate: Sat, 02 Mar 2024 21:14:05 +0000\n"
           b"Subject: =?utf-7?Q?caf+AOk-?=\nContent-Type: text/plain; charset=utf-16-le\n\n"
           + "hi there".encode("utf-16-le"))
    event = read(raw)
    assert event.subject == "caf\u00e9"
    assert event.text == "hi there"
    assert event.notes == []
