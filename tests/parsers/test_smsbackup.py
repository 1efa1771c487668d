"""SMS Backup & Restore XML (parsers/smsbackup.py): synthetic backups built here, and a conformance
run over the real samples in ``shared/realworld/smsbackuprestore`` (skipped when absent).

Synthetic people only: numbers in the Ofcom drama range 07700 900000-900999.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import parser_for
from courseline.parsers import smsbackup
from courseline.parsers.smsbackup import (ReferenceRepairer, SmsBackupCallsParser,
                                          SmsBackupMessagesParser)
from courseline.timeline.event import Event, Reject, SourceNote
from tests_support import (by_locator, checked, events, only_event, parsed, png, rejects,
                           source_file, source_notes)

SUSPECT = "+447700900123"
OWNER = "+447700900456"
FRIEND = "+447700900789"
WHEN_MS = 1709414045000          # 2024-03-02T21:14:05Z
WHEN = datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)
REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "smsbackuprestore"


# -- builders --------------------------------------------------------------------------------------

def attributes(attrs: dict[str, object], raw: dict[str, str] | None = None) -> str:
    """Attributes quoted for XML; ``raw`` values are written as given (character references)."""
    quoted = [f"{name}={quoteattr(str(value))}" for name, value in attrs.items()]
    quoted += [f'{name}="{value}"' for name, value in (raw or {}).items()]
    return " ".join(quoted)


def sms(raw: dict[str, str] | None = None, **attrs: object) -> str:
    values: dict[str, object] = {
        "protocol": "0", "address": SUSPECT, "date": WHEN_MS, "type": "1", "subject": "null",
        "body": "Hello", "toa": "null", "sc_toa": "null", "service_center": "null", "read": "1",
        "status": "-1", "locked": "0", "date_sent": "0", "sub_id": "1",
        "readable_date": "2 Mar 2024 21:14:05", "contact_name": "(Unknown)"}
    values.update(attrs)
    for name in list(raw or {}):
        values.pop(name, None)
    values = {k: v for k, v in values.items() if v is not None}
    return f"  <sms {attributes(values, raw)} />\n"


def part(**attrs: object) -> str:
    return f"      <part {attributes(attrs)} />\n"


def addr(address: str, kind: int) -> str:
    return f'      <addr address="{address}" type="{kind}" charset="106" />\n'


def mms(parts: list[str] | None, addrs: list[str] | None, **attrs: object) -> str:
    values: dict[str, object] = {
        "date": WHEN_MS, "msg_box": "1", "address": SUSPECT, "sub": "null", "m_type": "132",
        "date_sent": str(WHEN_MS // 1000), "read": "1", "readable_date": "2 Mar 2024 21:14:05",
        "contact_name": "(Unknown)"}
    values.update(attrs)
    values = {k: v for k, v in values.items() if v is not None}
    inner = ""
    if parts is not None:
        inner += "    <parts>\n" + "".join(parts) + "    </parts>\n"
    if addrs is not None:
        inner += "    <addrs>\n" + "".join(addrs) + "    </addrs>\n"
    return f"  <mms {attributes(values)}>\n{inner}  </mms>\n"


def call(**attrs: object) -> str:
    values: dict[str, object] = {
        "number": SUSPECT, "duration": "42", "date": WHEN_MS, "type": "1", "presentation": "1",
        "subscription_id": "1", "readable_date": "2 Mar 2024 21:14:05",
        "contact_name": "(Unknown)"}
    values.update(attrs)
    values = {k: v for k, v in values.items() if v is not None}
    return f"  <call {attributes(values)} />\n"


def backup(*records: str, root: str = "smses", count: int | None = None, close: bool = True
           ) -> bytes:
    head = ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
            '<?xml-stylesheet type="text/xsl" href="sms.xsl"?>\n'
            f'<{root} count="{len(records) if count is None else count}" '
            'backup_set="0f2a-synthetic" backup_date="1709500000000" type="full">\n')
    return (head + "".join(records) + (f"</{root}>\n" if close else "")).encode("utf-8")


def parse_file(path: Path) -> list[Event | Reject | SourceNote]:
    source = source_file(path)
    parser = parser_for(source.sample)
    assert parser in (SmsBackupMessagesParser, SmsBackupCallsParser), (path.name, parser)
    return parsed(parser, source)


def parse(tmp_path: Path, data: bytes, name: str = "sms-20240303.xml"
          ) -> list[Event | Reject | SourceNote]:
    path = tmp_path / name
    path.write_bytes(data)
    return parse_file(path)


# -- recognition -----------------------------------------------------------------------------------

def test_recognised_by_root_element_not_by_name(tmp_path: Path) -> None:
    messages = tmp_path / "calls-misnamed.xml"
    messages.write_bytes(backup(sms()))
    calls = tmp_path / "sms-misnamed.xml"
    calls.write_bytes(backup(call(), root="calls"))
    assert parser_for(sample_file(messages)) is SmsBackupMessagesParser
    assert parser_for(sample_file(calls)) is SmsBackupCallsParser


def test_recognised_with_bom_and_comment_before_root(tmp_path: Path) -> None:
    path = tmp_path / "backup.xml"
    path.write_bytes(b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- made by hand -->\n"
                     b"<smses count=\"0\"></smses>\n")
    assert parser_for(sample_file(path)) is SmsBackupMessagesParser


@pytest.mark.parametrize("data", [
    b"<?xml version='1.0'?>\n<html><body>smses</body></html>\n",
    b"<?xml version='1.0'?>\n<smsesx count='1'/>\n",
    b"smses, calls: plain text\n",
])
def test_other_xml_and_text_not_recognised(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "sms-2024.xml"
    path.write_bytes(data)
    sample = sample_file(path)
    assert not SmsBackupMessagesParser.recognises(sample)
    assert not SmsBackupCallsParser.recognises(sample)


# -- SMS -------------------------------------------------------------------------------------------

def test_sms_incoming_and_outgoing(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(
        sms(body="Where are you?", date_sent=str(WHEN_MS - 3000)),
        sms(type="2", body="Leave me alone", address=SUSPECT)))
    received, sent = events(items)
    assert received.kind == "sms" and received.platform == "phone"
    assert received.direction == "incoming" and received.sender == f"tel:{SUSPECT}"
    assert received.recipients == [] and received.owner_side == "recipients"
    assert received.text == "Where are you?" and received.subject is None
    assert received.time.value == WHEN and received.time.basis == "utc"
    assert received.time.source == "sms.date (Unix ms)" and received.time.raw == str(WHEN_MS)
    assert received.locator == "xml:sms[1]"
    assert received.details["readable_date"] == "2 Mar 2024 21:14:05"
    assert received.details["date_sent"] == str(WHEN_MS - 3000)
    assert received.details["date_sent_utc"] == "2024-03-02T21:14:02.000Z"
    assert received.details["box"] == "inbox" and received.details["type"] == "1"
    assert "subject" not in received.details and "toa" not in received.details
    assert sent.direction == "outgoing" and sent.sender is None
    assert sent.recipients == [f"tel:{SUSPECT}"] and sent.owner_side == "sender"
    assert "date_sent" not in sent.details   # 0: not recorded
    assert sent.locator == "xml:sms[2]"


@pytest.mark.parametrize("code, flags, box", [
    ("3", ["draft"], "draft"), ("4", ["failed"], "outbox (not yet sent)"),
    ("5", ["failed"], "failed"), ("6", ["failed"], "queued (not yet sent)")])
def test_sms_boxes(tmp_path: Path, code: str, flags: list[str], box: str) -> None:
    event = only_event(parse(tmp_path, backup(sms(type=code))))
    assert event.direction == "outgoing" and event.flags == flags
    assert event.details["box"] == box


def test_sms_unknown_type_keeps_address_in_details(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, backup(sms(type="19"))))
    assert event.direction == "unknown" and event.sender is None and event.recipients == []
    assert event.owner_side is None
    assert event.details["address"] == SUSPECT
    assert any("does not say whether it was sent or received" in n for n in event.notes)


def test_null_strings_mean_absent(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(
        sms(subject="null", service_center="null", contact_name="null", body="null"),
        sms(address="null"),
        mms([part(seq="0", ct="text/plain", name="null", text="null", cl="null")],
            [addr(SUSPECT, 137), addr(OWNER, 151)], sub="null", m_id="null")))
    first, anonymous, message = events(items)
    assert first.subject is None and first.text is None
    assert "service_center" not in first.details and "contact_name" not in first.details
    assert any('literal "null"' in n for n in first.notes)
    assert anonymous.sender == "tel:Unknown"
    assert message.subject is None and message.text is None and message.attachments == []
    assert "m_id" not in message.details
    assert "parts_not_in_backup" not in message.details  # a text part with no text: no content


def test_sms_body_keeps_newlines_and_entities(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, backup(
        sms(raw={"body": "Line 1&#10;Line 2 &amp; &lt;3 &quot;x&quot; &#x1F30D;"}))))
    assert event.text == 'Line 1\nLine 2 & <3 "x" \U0001F30D'


def test_long_body_is_bounded_and_flagged(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(smsbackup, "MAX_TEXT_CHARS", 10)
    event = only_event(parse(tmp_path, backup(sms(body="x" * 50))))
    assert event.text == "x" * 10 and "truncated" in event.flags


def test_bad_date_is_a_reject_naming_the_record(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(sms(body="first"), sms(date="bad"), sms(date="0"),
                                   sms(date=None), sms(body="last")))
    assert [e.text for e in events(items)] == ["first", "last"]
    found = {r.locator: r.reason for r in rejects(items)}
    assert set(found) == {"xml:sms[2]", "xml:sms[3]", "xml:sms[4]"}
    assert "'bad'" in found["xml:sms[2]"] and "no time" in found["xml:sms[2]"]
    assert "missing" in found["xml:sms[4]"]
    assert events(items)[1].locator == "xml:sms[5]"


def test_dates_too_large_for_a_date_never_raise(tmp_path: Path) -> None:
    data = backup(sms(date="1e20"), sms(date="99999999999999999999999"),
                  sms(date_sent="inf", body="kept"))
    data = data.replace(b'backup_date="1709500000000"', b'backup_date="1e300"')
    items = parse(tmp_path, data)
    assert [r.locator for r in rejects(items)] == ["xml:sms[1]", "xml:sms[2]"]
    assert all("no time" in r.reason for r in rejects(items))
    kept = only_event([e for e in items if isinstance(e, Event)])
    assert kept.text == "kept" and kept.details["date_sent"] == "inf"
    assert "date_sent_utc" not in kept.details
    assert any("backup_date 1e300" in n for n in source_notes(items))


def test_unknown_element_is_rejected_not_dropped(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(sms(), '  <rcs date="1" />\n'))
    assert len(events(items)) == 1
    (reject,) = rejects(items)
    assert reject.locator == "xml:rcs[1]" and "not an element of this backup" in reject.reason


def test_empty_backup_gives_nothing(tmp_path: Path) -> None:
    items = parse(tmp_path, backup())
    assert events(items) == [] and rejects(items) == []


def test_count_disagreeing_with_records_is_noted(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(sms(), sms(), count=5))
    assert len(events(items)) == 2
    assert any('count="5"' in n and "2 record element(s)" in n for n in source_notes(items))
    agreeing = parse(tmp_path, backup(sms(), sms()), name="agree.xml")
    assert not any("count" in n for n in source_notes(agreeing))


def test_backup_metadata_is_a_source_note(tmp_path: Path) -> None:
    notes = source_notes(parse(tmp_path, backup(sms())))
    assert any("backup_date 1709500000000 (2024-03-03T21:06:40.000Z)" in n
               and "backup_set 0f2a-synthetic" in n for n in notes)


def test_output_is_deterministic(tmp_path: Path) -> None:
    data = backup(sms(raw={"body": "&#55357;&#56832;"}),
                  mms([part(seq="0", ct="image/png", name="p.png",
                            data=base64.b64encode(png()).decode())],
                      [addr(SUSPECT, 137), addr(OWNER, 151)]))
    assert repr(parse(tmp_path, data, "a.xml")) == repr(parse(tmp_path, data, "b.xml"))


# -- character-reference repair --------------------------------------------------------------------

def test_surrogate_pair_reference_becomes_the_character(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(
        sms(raw={"body": "Yup &#55357;&#56832; and &#xD83D;&#xDE00;"}),
        sms(body="plain")))
    repaired, plain = events(items)
    assert repaired.text == "Yup \U0001F600 and \U0001F600"
    assert any("surrogate-pair" in n and "&#55357;&#56832;" in n and n.startswith("2 ")
               for n in repaired.notes)
    assert plain.notes == []
    assert any("2 surrogate pair(s) joined" in n for n in source_notes(items))


def test_lone_surrogate_and_control_references_become_replacement_character(
        tmp_path: Path) -> None:
    items = parse(tmp_path, backup(sms(raw={"body": "a&#55357;b&#x11;c&#1;d&#56832;&#55357;"})))
    event = only_event(items)
    assert event.text == "a\ufffdb\ufffdc\ufffdd\ufffd\ufffd"
    note = next(n for n in event.notes if "U+FFFD" in n)
    assert note.startswith("5 ") and "&#55357;" in note and "&#x11;" in note
    assert not any("surrogate-pair" in n for n in event.notes)


def test_hangul_reference_before_a_pair_is_left_alone(tmp_path: Path) -> None:
    # U+D6D8 (55000) is a real character whose decimal reference looks like a surrogate's.
    event = only_event(parse(tmp_path, backup(sms(raw={"body": "&#55000;&#55357;&#56832;"}))))
    assert event.text == "\ud6d8\U0001F600"


def _filtered(repairer: ReferenceRepairer, pieces: list[bytes]) -> bytes:
    out = b"".join(repairer.feed(piece) for piece in pieces)
    return out + repairer.feed(b"", final=True)


def test_repair_is_the_same_wherever_the_reads_are_cut() -> None:
    data = (b'<sms body="x&#55357;&#56832;&#10;&#xD83D;&#xDE00;&amp;&#55357;y&#x11;'
            b'&#0000055357;&#56832;z" />')
    whole = ReferenceRepairer()
    expected = _filtered(whole, [data])
    # Padded to the original's length, so offsets are those of the evidence; only &#x11;
    # (6 bytes) is shorter than a reference to U+FFFD and grows by 2.
    assert len(expected) == len(data) + 2
    assert [r.growth for r in whole.repairs] == [0, 0, 0, 2, 0]
    assert expected.count(b"&#0000000128512;") == 2
    for cut in range(1, len(data)):
        repairer = ReferenceRepairer()
        assert _filtered(repairer, [data[:cut], data[cut:]]) == expected, cut
        assert list(repairer.repairs) == list(whole.repairs), cut
    one_by_one = ReferenceRepairer()
    assert _filtered(one_by_one, [bytes([b]) for b in data]) == expected
    assert [r.joined for r in whole.repairs] == [True, True, False, False, True]


def test_pair_split_across_file_reads(tmp_path: Path, monkeypatch) -> None:
    data = backup(*[sms(raw={"body": f"{n} &#55357;&#56832;&#55357;&#56833;"})
                    for n in range(20)])
    for chunk in (3, 7, 8, 13, 16):
        monkeypatch.setattr(smsbackup, "CHUNK_BYTES", chunk)
        found = events(parse(tmp_path, data, f"split{chunk}.xml"))
        assert [e.text for e in found] == [f"{n} \U0001F600\U0001F601" for n in range(20)]
        assert all(any("surrogate-pair" in x for x in e.notes) for e in found)


def test_error_position_is_that_of_the_evidence_after_repairs(tmp_path: Path) -> None:
    line = '  <sms date="1" body="&#55357;&#56832; &#1; &#x11;" type="1" / oops\n'
    data = backup(sms(), close=False) + line.encode()
    items = parse(tmp_path, data)
    (reject,) = rejects(items)
    column = line.index("/ oops") + 1   # expat stops at the character after "/"
    assert f"line 5, column {column}" in reject.reason
    assert reject.locator == "xml:sms[2]"


# -- damage ----------------------------------------------------------------------------------------

def test_truncated_inside_a_record(tmp_path: Path, hang_guard) -> None:
    whole = backup(sms(body="one"), sms(body="two"), sms(body="three"), sms(body="four"))
    cut = whole[:whole.index(b"three") + 2]
    with hang_guard():
        items = parse(tmp_path, cut)
    assert [e.text for e in events(items)] == ["one", "two"]
    (reject,) = rejects(items)
    assert reject.locator == "xml:sms[3]"
    assert "(line 6)" in reject.reason and "unclosed token" in reject.reason
    assert any('count="4"' in n and "3 record element(s)" in n for n in source_notes(items))


def test_truncated_inside_an_mms(tmp_path: Path, hang_guard) -> None:
    whole = backup(sms(body="one"), mms([part(seq="0", ct="text/plain", text="two")],
                                        [addr(SUSPECT, 137)]))
    cut = whole[:whole.index(b"<addrs>")]
    with hang_guard():
        items = parse(tmp_path, cut)
    assert [e.text for e in events(items)] == ["one"]
    (reject,) = rejects(items)
    assert reject.locator == "xml:mms[1]" and "no element found" in reject.reason


def test_truncated_between_records(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(sms(body="one"), sms(body="two"), close=False))
    assert [e.text for e in events(items)] == ["one", "two"]
    (reject,) = rejects(items)
    assert reject.locator.startswith("xml:line=6,column=")
    assert "no element found" in reject.reason


def test_broken_start_tag_names_the_record(tmp_path: Path) -> None:
    data = backup(sms(body="fine"), close=False) + (
        b'  <sms protocol="0" address="+447700900123" date="bad" type="1" body="cut"\n'
        b"  <!-- never closed -->\n")
    items = parse(tmp_path, data)
    assert [e.text for e in events(items)] == ["fine"]
    (reject,) = rejects(items)
    assert reject.locator == "xml:sms[2]"
    assert "start tag of this <sms> (line 5)" in reject.reason and "line 6, column 2" in \
        reject.reason


def test_every_truncation_keeps_the_records_before_it(tmp_path: Path, hang_guard) -> None:
    records = [sms(raw={"body": "one &#55357;&#56832;"}),
               mms([part(seq="-1", ct="application/smil", text=SMIL),
                    part(seq="0", ct="image/png", name="p.png",
                         data=base64.b64encode(png()).decode()),
                    part(seq="0", ct="text/plain", text="two")],
                   [addr(SUSPECT, 137), addr(OWNER, 151)]),
               sms(raw={"body": "three &#x11;"}, type="2")]
    whole = backup(*records)
    ends = [whole.index(r.encode()) + len(r.rstrip("\n")) for r in records]
    document_end = whole.rindex(b"</smses>") + len(b"</smses>")
    path = tmp_path / "cut.xml"
    with hang_guard():
        for cut in range(0, len(whole), 5):
            path.write_bytes(whole[:cut])
            items = checked(SmsBackupMessagesParser().parse(source_file(path)))
            complete = sum(1 for end in ends if end <= cut)
            assert len(events(items)) == complete, cut
            assert len(rejects(items)) == (0 if cut >= document_end else 1), cut


def test_junk_after_the_backup(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(sms()) + b"<sms/>\n")
    assert len(events(items)) == 1
    (reject,) = rejects(items)
    assert "junk after document element" in reject.reason


def test_entity_declarations_are_refused(tmp_path: Path, hang_guard) -> None:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    data = (f'<?xml version="1.0"?><!DOCTYPE smses [<!ENTITY l0 "lol">{lol}]>\n'
            f'<smses count="1"><sms date="{WHEN_MS}" type="1" body="&l9;"/></smses>').encode()
    path = tmp_path / "bomb.xml"
    path.write_bytes(data)
    with hang_guard():
        items = list(SmsBackupMessagesParser().parse(source_file(path)))
    assert events(items) == []
    (reject,) = rejects(items)
    assert "document type declaration" in reject.reason


def test_unreadable_file_is_a_reject(tmp_path: Path) -> None:
    path = tmp_path / "gone.xml"
    path.write_bytes(backup(sms()))
    source = source_file(path)
    path.unlink()
    items = list(SmsBackupMessagesParser().parse(source))
    assert len(items) == 1 and isinstance(items[0], Reject)


# -- MMS -------------------------------------------------------------------------------------------

SMIL = ('<smil><body><par dur="5000ms"><img src="p.png"/><text src="t.txt"/></par></body>'
        '</smil>')


def test_mms_image_part_is_hashed_and_smil_skipped(tmp_path: Path) -> None:
    image = png()
    event = only_event(parse(tmp_path, backup(mms(
        [part(seq="-1", ct="application/smil", name="smil.xml", text=SMIL),
         part(seq="0", ct="image/png", name="null", cl="photo.png",
              data=base64.b64encode(image).decode()),
         part(seq="0", ct="text/plain", name="text.txt", text="Look at this"),
         part(seq="1", ct="video/mp4", name="clip.mp4")],
        [addr(SUSPECT, 137), addr(OWNER, 151)], sub="Subject here"))))
    assert event.kind == "mms" and event.text == "Look at this"
    assert event.subject == "Subject here"
    (attachment,) = event.attachments
    assert attachment.sha256 == hashlib.sha256(image).hexdigest()
    assert attachment.size == len(image) and attachment.media_type == "image/png"
    assert attachment.name == "photo.png"
    assert event.details["attachment_types_declared"] == ["image/png"]
    assert event.details["parts_not_in_backup"] == ["part 4 (clip.mp4, video/mp4)"]
    assert "smil" not in json.dumps(event.details) and "smil" not in (event.text or "")


def test_mms_invalid_base64_is_noted_not_fatal(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(
        mms([part(seq="0", ct="image/jpeg", name="bad.jpg", data="not-valid-base64!!"),
             part(seq="0", ct="text/plain", text="still here")], [addr(SUSPECT, 137)]),
        sms(body="after")))
    message, after = events(items)
    assert message.text == "still here" and message.attachments == []
    assert any("bad.jpg" in n and "not valid base64" in n for n in message.notes)
    assert after.text == "after" and not rejects(items)


def test_mms_parties_incoming_and_outgoing(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(
        mms([], [addr(SUSPECT, 130), addr(SUSPECT, 137), addr(OWNER, 151), addr(FRIEND, 151)]),
        mms([], [addr("insert-address-token", 137), addr(SUSPECT, 151), addr(FRIEND, 130)],
            msg_box="2", date_sent="0"),
        mms([], [addr(OWNER, 137), addr(SUSPECT, 151)], msg_box="2")))
    incoming, placeholder, sent = events(items)
    assert incoming.direction == "incoming" and incoming.sender == f"tel:{SUSPECT}"
    assert incoming.recipients == [f"tel:{OWNER}", f"tel:{FRIEND}"]
    assert incoming.owner_side is None
    assert incoming.details["addrs"] == [f"cc {SUSPECT}", f"from {SUSPECT}", f"to {OWNER}",
                                         f"to {FRIEND}"]
    assert placeholder.sender is None and placeholder.owner_side == "sender"
    assert placeholder.recipients == [f"tel:{SUSPECT}", f"tel:{FRIEND}"]
    assert sent.sender == f"tel:{OWNER}" and sent.recipients == [f"tel:{SUSPECT}"]
    assert sent.owner_side is None


def test_mms_without_addrs_uses_the_address_attribute(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(
        mms(None, None, address=f"{SUSPECT}~{FRIEND}~{OWNER}", msg_box="2"),
        mms(None, None, address="group_8@rcs.google.com"),
        mms(None, None)))
    group, rcs, single = events(items)
    assert group.recipients == [f"tel:{SUSPECT}", f"tel:{FRIEND}", f"tel:{OWNER}"]
    assert group.owner_side == "sender"
    assert rcs.sender is None and rcs.recipients == []
    assert rcs.details["address"] == "group_8@rcs.google.com"
    assert any("RCS group id" in n for n in rcs.notes)
    assert single.sender == f"tel:{SUSPECT}" and single.owner_side == "recipients"


def test_mms_date_sent_in_seconds_and_date_in_ms(tmp_path: Path) -> None:
    items = parse(tmp_path, backup(
        mms([], [addr(SUSPECT, 137)], date_sent=str(WHEN_MS // 1000 - 2)),
        mms([], [addr(SUSPECT, 137)], date_sent=str(WHEN_MS - 2000)),
        mms([], [addr(SUSPECT, 137)], date=str(WHEN_MS // 1000))))
    seconds, millis, date_in_seconds = events(items)
    assert seconds.time.value == WHEN and seconds.time.source == "mms.date (Unix ms)"
    assert seconds.details["date_sent_unit"] == "s"
    assert seconds.details["date_sent_utc"] == "2024-03-02T21:14:03Z"
    assert millis.details["date_sent_unit"] == "ms"
    assert millis.details["date_sent_utc"] == "2024-03-02T21:14:03.000Z"
    assert date_in_seconds.time.value == WHEN
    assert date_in_seconds.time.source == "mms.date (Unix s)"
    assert any("read as seconds" in n for n in date_in_seconds.notes)


def test_mms_notification_only_is_noted(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, backup(mms(None, None, m_type="130"))))
    assert event.details["m_type_name"] == "notification-ind"
    assert any("not downloaded" in n for n in event.notes)


# -- calls -----------------------------------------------------------------------------------------

def parse_calls(tmp_path: Path, *records: str) -> list:
    return parse(tmp_path, backup(*records, root="calls"), "calls-20240303.xml")


def test_calls_types(tmp_path: Path) -> None:
    items = parse_calls(tmp_path, call(), call(type="2", duration="61"), call(type="3",
                        duration="0"), call(type="4"), call(type="5"), call(type="6"))
    found = events(items)
    assert [(e.direction, e.call_status) for e in found] == [
        ("incoming", "answered"), ("outgoing", "answered"), ("incoming", "missed"),
        ("incoming", "voicemail"), ("incoming", "rejected"), ("incoming", "blocked")]
    answered, outgoing = found[:2]
    assert answered.kind == "call" and answered.duration_s == 42
    assert answered.sender == f"tel:{SUSPECT}" and answered.owner_side == "recipients"
    assert answered.time.value == WHEN and answered.time.source == "call.date (Unix ms)"
    assert answered.locator == "xml:call[1]" and answered.details["subscription_id"] == "1"
    assert outgoing.recipients == [f"tel:{SUSPECT}"] and outgoing.owner_side == "sender"
    assert [e.locator for e in found] == [f"xml:call[{n}]" for n in range(1, 7)]


def test_call_withheld_presentation(tmp_path: Path) -> None:
    items = parse_calls(tmp_path, call(number="", presentation="2", type="3", duration="0"),
                        call(number="-2", presentation="null"),
                        call(number="", presentation="3"))
    withheld, old_style, unknown = events(items)
    assert withheld.sender == "tel:Withheld" and withheld.call_status == "missed"
    assert withheld.details["presentation"] == "2" and withheld.details["number"] == ""
    assert old_style.sender == "tel:Withheld" and old_style.details["number"] == "-2"
    assert unknown.sender == "tel:Unknown"


def test_outgoing_call_of_zero_seconds_is_unanswered(tmp_path: Path) -> None:
    event = only_event(parse_calls(tmp_path, call(type="2", duration="0")))
    assert event.call_status == "unanswered" and event.duration_s == 0
    assert any("unanswered" in n for n in event.notes)


def test_call_unknown_type_and_bad_duration(tmp_path: Path) -> None:
    event = only_event(parse_calls(tmp_path, call(type="99", duration="long")))
    assert event.direction == "unknown" and event.call_status is None
    assert event.sender is None and event.recipients == [] and event.duration_s is None
    assert event.details["number"] == SUSPECT
    assert any("not a known Android call type" in n for n in event.notes)
    assert any("'long'" in n for n in event.notes)


def test_call_bad_date_is_rejected(tmp_path: Path) -> None:
    items = parse_calls(tmp_path, call(date="yesterday"), call())
    (reject,) = rejects(items)
    assert reject.locator == "xml:call[1]" and "'yesterday'" in reject.reason
    assert events(items)[0].locator == "xml:call[2]"


# -- streaming -------------------------------------------------------------------------------------

def test_memory_stays_bounded_by_one_record(tmp_path: Path, monkeypatch) -> None:
    """A backup much larger than memory allowed for it: the parser's peak allocation stays far
    below the file size (it streams; it does not load the file or keep finished records)."""
    monkeypatch.setattr(smsbackup, "CHUNK_BYTES", 64 * 1024)
    media = base64.b64encode(bytes(range(256)) * 24).decode()     # 8 KiB of base64 per MMS
    path = tmp_path / "sms-large.xml"
    records = 1500
    with path.open("wb") as handle:
        handle.write(backup(close=False, count=records))
        for n in range(records):
            handle.write(mms([part(seq="0", ct="application/octet-stream", name=f"f{n}.bin",
                                   data=media),
                              part(seq="0", ct="text/plain", text=f"message {n} &#55357;")],
                             [addr(SUSPECT, 137), addr(OWNER, 151)]).encode())
        handle.write(b"</smses>\n")
    size = path.stat().st_size
    assert size > 10 * 1024 * 1024
    source = source_file(path)
    count = 0
    tracemalloc.start()
    try:
        for item in SmsBackupMessagesParser().parse(source):
            if isinstance(item, Event):
                count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == records
    assert peak < size / 20, (peak, size)


# -- real samples ----------------------------------------------------------------------------------

needs_realworld = pytest.mark.skipif(not REALWORLD.is_dir(),
                                     reason=f"real samples not present at {REALWORLD}")

# file -> (events, rejects (locator, words in the reason)); every reject is explained here.
EXPECTED = {
    "devadvance_corrupt_attachments.xml": (2, []),
    "devadvance_empty.xml": (0, []),
    "devadvance_sample_mms.xml": (4, []),
    # The file breaks off inside its 9th <mms> (line 136), although its root says count="58".
    "devadvance_sms_and_mms.xml": (49, [("xml:mms[9]", "line 136, column 6")]),
    "devadvance_sms_small.xml": (12, []),
    "shruggietech_edge_cases.xml": (4, []),
    # An unclosed <sms date="bad" ...> start tag followed by a comment: deliberately broken.
    "shruggietech_malformed.xml": (0, [("xml:sms[1]", "line 4, column 2")]),
    "shruggietech_minimal_calls.xml": (1, []),
    "shruggietech_minimal_mms.xml": (1, []),
    "shruggietech_minimal_sms.xml": (1, []),
    "shruggietech_mixed.xml": (4, []),
}


def real(name: str) -> list:
    return parse_file(REALWORLD / name)


@needs_realworld
def test_realworld_counts_and_rejects() -> None:
    assert sorted(p.name for p in REALWORLD.glob("*.xml")) == sorted(EXPECTED)
    for name, (count, expected_rejects) in EXPECTED.items():
        items = real(name)
        assert len(events(items)) == count, name
        found = rejects(items)
        assert [r.locator for r in found] == [loc for loc, _ in expected_rejects], name
        for reject, (_, words) in zip(found, expected_rejects, strict=True):
            assert words in reject.reason, (name, reject)


@needs_realworld
def test_realworld_sms_and_mms_values() -> None:
    items = real("devadvance_sms_and_mms.xml")
    found = by_locator(items)
    assert sum(1 for e in found.values() if e.kind == "sms") == 41
    assert sum(1 for e in found.values() if e.kind == "mms") == 8
    assert any('count="58"' in n and "50 record element(s)" in n and "1 cut off" in n
               for n in source_notes(items))
    first = found["xml:sms[1]"]
    assert first.time.value == datetime(2017, 12, 2, 14, 49, 27, 463000, tzinfo=UTC)
    assert first.details["readable_date"] == "Dec 2, 2017 06:49:27"   # UTC-8 display only
    assert found["xml:sms[10]"].text == "Body text 10\nBody text 11\nBody text 12"
    seconds = found["xml:mms[1]"]          # date ms, date_sent seconds
    assert seconds.time.value == datetime(2024, 7, 14, 22, 53, 13, tzinfo=UTC)
    assert seconds.details["date_sent"] == "1720997593"
    assert seconds.details["date_sent_unit"] == "s"
    assert seconds.details["date_sent_utc"] == "2024-07-14T22:53:13Z"
    assert seconds.sender == "tel:+15550000006" and seconds.recipients == ["tel:+15550000007"]
    group = found["xml:mms[3]"]            # RCS group
    assert group.details["address"] == "group_8@rcs.google.com"
    assert group.sender == "tel:+15550000009"
    assert group.recipients == ["tel:+15550000006", "tel:+15550000010", "tel:+15550000007"]
    sent_group = found["xml:mms[4]"]
    assert sent_group.direction == "outgoing" and sent_group.sender == "tel:+15550000007"
    assert sent_group.text == "Body text 48"   # the smil part is skipped
    picture = found["xml:mms[7]"]
    (attachment,) = picture.attachments
    assert attachment.name == "image_8.png" and attachment.media_type == "image/png"
    assert attachment.sha256 == ("6b7fa434f92a8b80aab02d9bf1a12e49ffcae424e4013a1c4f68b67e3d2"
                                 "bbcd0") and attachment.size == 70


@needs_realworld
def test_realworld_edge_cases_and_attachments() -> None:
    edge = by_locator(real("shruggietech_edge_cases.xml"))
    assert edge["xml:sms[2]"].text.startswith("Hello \U0001F30D \u2014 this has \u00abspecial")
    assert edge["xml:sms[2]"].details["contact_name"] == "Charlie Unicode"
    assert edge["xml:sms[3]"].text is None
    assert edge["xml:mms[1]"].sender == "tel:+15557778888" and edge["xml:mms[1]"].text is None
    corrupt = events(real("devadvance_corrupt_attachments.xml"))
    assert all(e.attachments == [] and any("not valid base64" in n for n in e.notes)
               for e in corrupt)
    assert corrupt[0].text == "MMS with corrupted base64 image data"
    media = events(real("devadvance_sample_mms.xml"))
    assert [a.name for e in media for a in e.attachments] == [
        "image.png", "video.mp4", "audio.mp3", "document.pdf"]
    minimal = only_event(real("shruggietech_minimal_mms.xml"))
    assert minimal.subject == "Test MMS Subject" and minimal.text == "Hello from MMS!"
    assert minimal.sender == "tel:+15559876543" and minimal.recipients == ["tel:+15551234567"]
    mixed = events(real("shruggietech_mixed.xml"))
    assert [e.locator for e in mixed] == ["xml:sms[1]", "xml:mms[1]", "xml:sms[2]", "xml:sms[3]"]
    assert mixed[3].flags == ["draft"]


@needs_realworld
def test_realworld_calls_and_empty() -> None:
    items = real("shruggietech_minimal_calls.xml")
    event = only_event(items)
    assert (event.direction, event.call_status, event.duration_s) == ("incoming", "answered", 125)
    assert event.sender == "tel:+15551234567"
    assert event.time.value == datetime(2021, 1, 3, tzinfo=UTC)
    assert event.details["contact_name"] == "Alice Smith"
    empty = real("devadvance_empty.xml")
    assert events(empty) == [] and rejects(empty) == []
