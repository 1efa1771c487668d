"""EmlParser: recognition (libmagic and the header sniff) and one record per file."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from courseline.collectors.identify import Sample
from courseline.parsers import all_parsers, parser_for, parser_named
from courseline.parsers import eml as eml_module
from courseline.parsers._mail import NO_TIME_REASON
from courseline.parsers.eml import EmlParser
from courseline.parsers.mbox import MboxParser
from courseline.timeline.event import Event, Reject


def sample(head: bytes, media_type: str = "text/plain", name: str = "x") -> Sample:
    return Sample(media_type=media_type, head=head, name=name, size=len(head))


def test_parsers_are_discovered() -> None:
    names = [cls.NAME for cls in all_parsers()]
    assert "eml" in names and "mbox" in names
    assert parser_named("eml") is EmlParser
    assert EmlParser.DATA_FORMAT == "Internet message (.eml, RFC 5322/MIME)"


def test_recognises_a_message_by_content(kit: ModuleType, tmp_path: Path) -> None:
    source = kit.source_for(tmp_path, "no-extension", kit.as_bytes(kit.message()))
    assert EmlParser.recognises(source.sample)
    assert not MboxParser.recognises(source.sample)
    assert parser_for(source.sample) is EmlParser


@pytest.mark.parametrize("head, media_type, expected", [
    (b"Subject: x\nFrom: a@example.org\n\nbody", "text/plain", True),
    (b"\n\nReturn-Path: <a@example.org>\nReceived: from x by y; Mon, 1 Jan 2024 00:00:00 +0000"
     b"\n\n\xff\xfe", "application/octet-stream", True),  # libmagic's word for mail_malformed_3
    (b"anything", "message/rfc822", True),
    (b"From a@example.org Mon Jan  1 12:00:00 2024\nFrom: a@example.org\nTo: b@example.org\n",
     "message/rfc822", False),  # an mbox of one message
    (b"Subject: only one known header\nX-Other: y\n\nbody", "text/plain", False),
    (b"Dear diary,\nToday he followed me again.\nFrom: memory\nTo: self\n", "text/plain", False),
    (b'{"from": "a@example.org", "to": "b@example.org"}', "application/json", False),
    (b"", "application/x-empty", False),
    (b"\x00\x01\x02 binary From: To: Date:", "application/octet-stream", False),
])
def test_recognises(head: bytes, media_type: str, expected: bool) -> None:
    assert EmlParser.recognises(sample(head, media_type)) is expected


def test_one_file_is_one_event_with_locator_file(kit: ModuleType, tmp_path: Path) -> None:
    event = kit.one_event(kit.parse_eml(tmp_path, kit.as_bytes(kit.message())))
    assert event.locator == "file"
    assert event.sender == "email:x.suspect@example.net"


def test_leading_blank_lines_and_bom_are_skipped_with_notes(kit: ModuleType,
                                                            tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf\r\n\r\n" + kit.as_bytes(kit.message())
    source = kit.source_for(tmp_path, "odd.eml", data)
    assert EmlParser.recognises(source.sample)
    event = kit.one_event(list(EmlParser().parse(source)))
    assert event.subject == "Hello"
    assert any("byte-order mark" in note for note in event.notes)
    assert any("blank-line" in note for note in event.notes)


def test_message_without_any_time_is_rejected(kit: ModuleType, tmp_path: Path) -> None:
    records = kit.parse_eml(tmp_path, kit.as_bytes(kit.message(date=None)))
    assert records == [Reject("file", NO_TIME_REASON)]


def test_file_over_the_limit_is_rejected_unread(kit: ModuleType, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eml_module, "MAX_EML_BYTES", 1_000)
    data = kit.as_bytes(kit.message(text="x" * 5_000))
    [record] = kit.parse_eml(tmp_path, data)
    assert isinstance(record, Reject) and record.locator == "file"
    assert "limit for one message" in record.reason


def test_output_is_deterministic(kit: ModuleType, tmp_path: Path) -> None:
    msg = kit.message()
    msg.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf",
                       filename="a.pdf")
    data = kit.as_bytes(msg)
    first = kit.parse_eml(tmp_path, data, "one.eml")
    second = kit.parse_eml(tmp_path, data, "two.eml")
    assert first == second and isinstance(first[0], Event)
