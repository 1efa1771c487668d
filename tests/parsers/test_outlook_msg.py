"""The Outlook .msg parser on synthetic files written by courseline.demo_msg: recognition by
content, e-mails read as the mail parser reads the same message (so the copies merge), items
without Internet headers, times, non-mail items, attached items and their depth limit, damaged
files, code pages and bodies held only as HTML or RTF.

Synthetic people only: addresses at example.org / example.net, numbers in the Ofcom drama range.
"""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from courseline.collectors.identify import sample_file
from courseline.parsers import extra_needed_for, parser_for
from courseline.parsers._outlook import MAX_EMBED_DEPTH, rtf_content
from courseline.parsers.outlook_msg import CFB_SIGNATURE, OutlookMsgParser
from courseline.timeline.event import Event, Reject
from courseline.timeline.records import SourceSettings, merge_key, normalise_event
from tests_support import events, new_case, parsed, rejects, run_cli, source_file

from courseline.demo_msg import (
    PT_BINARY,
    RECIPIENT_CC,
    MsgAttachment,
    MsgItem,
    MsgRecipient,
    compound_file,
    item_from_email,
    msg_bytes,
    write_msg,
)

VICTIM = "person.a@example.org"
SUSPECT = "x.suspect@example.net"
SENT = datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)
DELIVERED = datetime(2024, 3, 2, 21, 14, 9, 250_000, tzinfo=UTC)
HEADERS = ("Received: from mail.example.net (mail.example.net [192.0.2.10]) by mx.example.org "
           "with ESMTPS id abc; Sat, 02 Mar 2024 21:14:08 +0000\r\n"
           f"From: Chris <{SUSPECT}>\r\nTo: Sam <{VICTIM}>\r\nSubject: Hello\r\n"
           "Date: Sat, 02 Mar 2024 21:14:05 +0000\r\nMessage-ID: <m1@example.net>\r\n"
           "MIME-Version: 1.0\r\n\r\n")
SETTINGS = SourceSettings(zone="Europe/London", case_zone="Europe/London",
                          clock_offset_seconds=0.0, region="GB",
                          owner_identifiers=frozenset({f"email:{VICTIM}"}))


def read(path: Path) -> list:
    return parsed(OutlookMsgParser, source_file(path))


def write(tmp_path: Path, item: MsgItem, name: str = "item.msg") -> Path:
    path = tmp_path / name
    path.write_bytes(msg_bytes(item))
    return path


def mail(**changes) -> MsgItem:
    fields = dict(subject="Hello", sender=SUSPECT, sender_name="Chris",
                  recipients=[MsgRecipient(VICTIM, "Sam")], sent_utc=SENT,
                  delivered_utc=DELIVERED, body="Call me on 07700 900123.\r\n",
                  message_id="<m1@example.net>", headers=HEADERS)
    fields.update(changes)
    return MsgItem(**fields)


def one(records: list) -> Event:
    found = events(records)
    assert len(found) == 1 and not rejects(records), records
    return found[0]


# --- Recognition ---------------------------------------------------------------------------------

def test_recognised_by_content_whatever_the_name(tmp_path, kit):
    path = write(tmp_path, mail(), name="exhibit-7.dat")
    sample = sample_file(path)
    assert sample.media_type == "application/vnd.ms-outlook"
    assert parser_for(sample) is OutlookMsgParser


def test_other_compound_files_and_texts_are_not_claimed(tmp_path):
    word_like = tmp_path / "report.msg"
    word_like.write_bytes(compound_file({"WordDocument": b"\0" * 600, "1Table": b"\0" * 80}))
    assert parser_for(sample_file(word_like)) is not OutlookMsgParser
    text = tmp_path / "letter.msg"
    text.write_text("Subject: not an Outlook file\n", encoding="utf-8")
    assert parser_for(sample_file(text)) is not OutlookMsgParser


def test_a_pst_is_not_a_msg(tmp_path):
    pst = tmp_path / "mail.msg"
    pst.write_bytes(b"!BDN" + b"\0" * 4 + b"SM" + b"\x17\x00" + b"\0" * 600)
    assert not OutlookMsgParser.recognises(sample_file(pst))


def test_without_the_outlook_extra_the_file_is_explained(monkeypatch, tmp_path):
    monkeypatch.setattr(OutlookMsgParser, "NEEDS", ("courseline_no_such_module",))
    sample = sample_file(write(tmp_path, mail()))
    assert parser_for(sample) is None
    assert extra_needed_for(sample) == "outlook"


# --- E-mails -------------------------------------------------------------------------------------

def test_an_email_with_headers_reads_as_the_mail_parser_reads_it(tmp_path, kit):
    event = one(read(write(tmp_path, mail(attachments=[MsgAttachment("car.png", kit.png())]))))
    assert (event.kind, event.platform, event.locator) == ("email", "email", "msg")
    assert event.sender == f"email:{SUSPECT}" and event.recipients == [f"email:{VICTIM}"]
    assert event.subject == "Hello" and event.text == "Call me on 07700 900123.\n"
    assert event.time.source == "Date header" and event.time.value == SENT
    assert event.time.raw == "Sat, 02 Mar 2024 21:14:05 +0000"
    assert event.details["message_id"] == "<m1@example.net>"
    assert event.details["from_header"] == f"Chris <{SUSPECT}>"
    assert event.details["received"][0]["from"].startswith("mail.example.net")
    assert event.details["outlook"]["times"] == {
        "client_submit_time": "2024-03-02T21:14:05.000Z",
        "message_delivery_time": "2024-03-02T21:14:09.250Z"}
    [attachment] = event.attachments
    assert (attachment.name, attachment.media_type, attachment.size) == (
        "car.png", "image/png", len(kit.png()))
    assert event.notes == []


def test_the_msg_copy_and_the_eml_copy_have_one_merge_key(tmp_path, kit):
    message = kit.message(subject="Your car", text="Nice new car.\n", sender=f"Chris <{SUSPECT}>",
                          to=f"Sam <{VICTIM}>")
    message.add_attachment(kit.png(), maintype="image", subtype="png", filename="car.png")
    eml = kit.one_event(kit.parse_eml(tmp_path, kit.as_bytes(message)))
    msg_item = item_from_email(message)
    # The stdlib's message keeps the verbatim Date apart (kit.as_bytes writes it first).
    msg_item = MsgItem(**{**msg_item.__dict__, "headers": kit.as_bytes(message).split(
        b"\r\n\r\n", 1)[0].decode() + "\r\n\r\n", "sent_utc": SENT})
    msg = one(read(write(tmp_path, msg_item)))
    assert merge_key(normalise_event(msg, SETTINGS).record) == \
        merge_key(normalise_event(eml, SETTINGS).record)
    assert (msg.time.value, msg.time.precision) == (eml.time.value, eml.time.precision)
    assert msg.attachments == eml.attachments


def test_the_exchange_preamble_is_not_a_header(tmp_path):
    headers = "Microsoft Mail Internet Headers Version 2.0\r\n" + HEADERS
    event = one(read(write(tmp_path, mail(headers=headers))))
    assert event.sender == f"email:{SUSPECT}" and event.time.source == "Date header"
    assert any("Microsoft Mail Internet Headers" in note for note in event.notes)


def test_without_headers_the_mapi_properties_are_read(tmp_path):
    item = mail(headers=None, recipients=[MsgRecipient(VICTIM, "Sam"),
                                          MsgRecipient("jo.witness@example.org", "Jo",
                                                       RECIPIENT_CC)])
    event = one(read(write(tmp_path, item)))
    assert event.sender == f"email:{SUSPECT}"
    assert event.recipients == [f"email:{VICTIM}", "email:jo.witness@example.org"]
    assert event.details["message_id"] == "<m1@example.net>"
    assert event.time.source == "PR_CLIENT_SUBMIT_TIME (0x0039, sent)"
    assert (event.time.value, event.time.basis, event.time.precision) == (SENT, "utc", "s")
    assert event.time.device_clock is False
    assert any("holds no Internet headers" in note for note in event.notes)
    assert [row["type"] for row in event.details["outlook"]["recipient_table"]] == ["To", "Cc"]


def test_only_a_delivery_time_is_used_and_named(tmp_path):
    event = one(read(write(tmp_path, mail(headers=None, sent_utc=None))))
    assert event.time.source == "PR_MESSAGE_DELIVERY_TIME (0x0E06, received)"
    assert event.time.value == DELIVERED and event.time.precision == "ms"
    assert any("when the mailbox received (or, for a draft, stored) it" in note for note in event.notes)


def test_headers_without_a_date_fall_back_to_the_submit_time(tmp_path):
    headers = HEADERS.replace("Date: Sat, 02 Mar 2024 21:14:05 +0000\r\n", "")
    event = one(read(write(tmp_path, mail(headers=headers))))
    assert event.time.source == "PR_CLIENT_SUBMIT_TIME (0x0039, sent)"
    assert any("no usable Date header" in note for note in event.notes)


def test_a_message_with_no_time_is_rejected_with_the_reason(tmp_path):
    created = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
    records = read(write(tmp_path, mail(headers=None, sent_utc=None, delivered_utc=None,
                                        created_utc=created)))
    [reject] = records
    assert isinstance(reject, Reject) and reject.locator == "msg"
    assert "cannot be placed in time" in reject.reason
    assert "PR_CLIENT_SUBMIT_TIME" in reject.reason and "2031-01-01T09:00:00.000Z" in reject.reason


def test_an_exchange_only_sender_is_not_an_identifier(tmp_path):
    exchange = "/O=EXAMPLE/OU=FIRST ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=CHRIS"
    event = one(read(write(tmp_path, mail(headers=None, sender=exchange))))
    assert event.sender is None
    assert event.details["unusable_addresses"][0]["value"] == exchange


def test_unsent_is_a_draft(tmp_path):
    event = one(read(write(tmp_path, mail(headers=None, unsent=True))))
    assert "draft" in event.flags and "unsent" in event.details["outlook"]["message_flags"]


def test_ansi_strings_are_read_in_the_declared_code_page(tmp_path):
    item = mail(headers=None, subject="Привет", body="Я знаю, где ты живёшь.", string8_codepage=1251)
    event = one(read(write(tmp_path, item)))
    assert event.subject == "Привет" and event.text == "Я знаю, где ты живёшь."


def test_an_html_only_body_is_reduced_to_text(tmp_path):
    html = b"<html><body><p>I saw you <b>today</b>.</p><script>x()</script></body></html>"
    event = one(read(write(tmp_path, mail(headers=None, body=None, html=html))))
    assert event.text == "I saw you today."
    assert any("HTML body (PR_HTML" in note for note in event.notes)


def test_an_rtf_only_body_is_de_encapsulated(tmp_path):
    rtf = (rb"{\rtf1\ansi\ansicpg1252\fromhtml1 {\fonttbl{\f0 Arial;}}"
           rb"{\*\htmltag64 <p>}{\htmlrtf This is RTF only \htmlrtf0}I\'92m outside"
           rb"{\*\htmltag72 </p>}\htmlrtf\par\htmlrtf0 }")
    stored = struct.pack("<II4sI", len(rtf) + 12, len(rtf), b"MELA", 0) + rtf
    item = mail(headers=None, body=None, extra=[(0x1009, PT_BINARY, stored)])
    event = one(read(write(tmp_path, item)))
    assert event.text == "I\u2019m outside"
    assert any("RTF body" in note for note in event.notes)


def test_plain_rtf_keeps_its_text_and_drops_its_formatting():
    text, kind = rtf_content(rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Hello\par "
                             rb"\u8364?5 {\*\unknown hidden}\'e9t\'e9}")
    assert kind is None and text == "Hello\n\u20ac5 \u00e9t\u00e9"


# --- Items that are not mail, posts --------------------------------------------------------------

@pytest.mark.parametrize("message_class, words", [
    ("IPM.StickyNote", "an Outlook note"),
    ("IPM.Contact", "an Outlook contact"),
    ("IPM.DistList", "an Outlook distribution list"),
    ("IPM.Appointment", "an Outlook calendar appointment"),
    ("IPM.Task", "an Outlook task"),
    ("IPM.Activity", "an Outlook journal entry"),
    ("IPM.Notebook", "not mail"),      # a class that merely starts with "IPM.Note"
])
def test_items_that_are_not_mail_are_listed_with_their_type(tmp_path, message_class, words):
    item = MsgItem(message_class=message_class, subject="Jo Witness", body="07700 900456",
                   created_utc=SENT)
    [reject] = read(write(tmp_path, item))
    assert isinstance(reject, Reject) and reject.locator == "msg"
    assert words in reject.reason and message_class in reject.reason
    assert "'Jo Witness', not mail" in reject.reason


def test_a_post_is_a_post(tmp_path):
    item = mail(message_class="IPM.Post", headers=None, recipients=[])
    event = one(read(write(tmp_path, item)))
    assert (event.kind, event.platform, event.recipients) == ("post", "email", [])


def test_report_and_signed_classes_are_email(tmp_path):
    for message_class in ("IPM.Note.SMIME.MultipartSigned", "REPORT.IPM.Note.NDR"):
        event = one(read(write(tmp_path, mail(message_class=message_class))))
        assert event.kind == "email"


# --- Attached items ------------------------------------------------------------------------------

def test_an_attached_message_is_its_own_event(tmp_path, kit):
    inner = mail(subject="Fwd: original", headers=None, message_id="<inner@example.net>",
                 sent_utc=datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
                 attachments=[MsgAttachment("pic.png", kit.png())])
    outer = mail(attachments=[MsgAttachment("note.txt", b"hello"),
                              MsgAttachment("original", message=inner)])
    records = read(write(tmp_path, outer))
    found = {event.locator: event for event in events(records)}
    assert set(found) == {"msg", "msg:attachment[1]/msg"} and not rejects(records)
    parent, child = found["msg"], found["msg:attachment[1]/msg"]
    assert [a.name for a in parent.attachments] == ["note.txt"]
    assert parent.details["attached_items"] == [
        {"attachment": 1, "name": "original", "locator": "msg:attachment[1]/msg"}]
    assert child.subject == "Fwd: original" and child.details["attached_to"] == "msg"
    assert child.details["message_id"] == "<inner@example.net>"
    assert [a.name for a in child.attachments] == ["pic.png"]


def test_attached_items_are_read_to_a_bounded_depth(tmp_path):
    item = mail(subject="level 9", headers=None)
    for level in range(8, -1, -1):
        item = mail(subject=f"level {level}", headers=None,
                    attachments=[MsgAttachment("inner", message=item)])
    records = read(write(tmp_path, item))
    depths = [event.locator.count("attachment[") for event in events(records)]
    assert depths == list(range(MAX_EMBED_DEPTH + 1))
    [reject] = rejects(records)
    assert reject.locator.count("attachment[") == MAX_EMBED_DEPTH + 1
    assert f"{MAX_EMBED_DEPTH + 1} levels deep" in reject.reason


def test_an_attached_contact_is_listed_not_mail(tmp_path):
    contact = MsgItem(message_class="IPM.Contact", subject="Jo Witness")
    records = read(write(tmp_path, mail(attachments=[MsgAttachment("Jo", message=contact)])))
    assert [e.locator for e in events(records)] == ["msg"]
    [reject] = rejects(records)
    assert reject.locator == "msg:attachment[0]/msg" and "an Outlook contact" in reject.reason


# --- Damaged files -------------------------------------------------------------------------------

@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_file_is_a_reject_never_a_crash(tmp_path, keep, hang_guard):
    whole = msg_bytes(mail(body="x" * 20_000))
    path = tmp_path / "cut.msg"
    path.write_bytes(whole[:int(len(whole) * keep)])
    with hang_guard():
        records = read(path)
    [reject] = records
    assert isinstance(reject, Reject) and reject.locator == "msg"
    assert reject.reason.startswith("cut.msg could not be")
    assert "OleFileError" in reject.reason or "OSError" in reject.reason


def test_a_compound_file_without_properties_is_rejected(tmp_path):
    path = tmp_path / "odd.msg"
    path.write_bytes(compound_file({"__substg1.0_0037001F": "Hello".encode("utf-16-le")}))
    [reject] = read(path)
    assert "without an Outlook property stream" in reject.reason


def test_hostile_rtf_is_linear_and_bounded(hang_guard):
    with hang_guard(10):
        text, _ = rtf_content(b"{\\rtf1 " + b"{" * 200_000 + b"\\u65?" * 100_000 + b"}" * 10)
    assert text.count("A") == 100_000


# --- A case: the demo's e-mail saved as .msg merges with its .eml copy ----------------------------

def test_a_demo_email_as_msg_merges_with_its_eml_copy(tmp_path):
    from email.policy import default as default_policy

    from courseline.demo import _mails, _message

    number = 5                       # "Your car": it carries the demo's picture
    demo_mail = _mails()[number - 1]
    message = _message(demo_mail, number, with_labels=False)
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "05 Your car.eml").write_bytes(
        message.as_bytes(policy=default_policy.clone(linesep="\r\n")))
    (exports / "Your car.msg").write_bytes(msg_bytes(item_from_email(message)))
    case = new_case(tmp_path / "case", "email:sam.victim@example.org")
    assert run_cli("add", case, exports, "--owner", "victim").exit_code == 0
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output
    manifest = json.loads((case / "out" / "manifest.json").read_text(encoding="utf-8"))
    parsers = {Path(s["path"]).name: (s["parser"], s["events"]) for s in manifest["sources"]}
    assert parsers["Your car.msg"] == ("outlook-msg", 1) and parsers["05 Your car.eml"][1] == 1
    [merge] = manifest["merges"]
    assert sorted(p["parser"] for p in merge["provenance"]) == ["eml", "outlook-msg"]
    rows = [json.loads(line) for line in
            (case / "out" / "timeline.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1 and rows[0]["subject"] == "Your car"
    assert len(rows[0]["attachments"]) == 1


def test_write_msg_reads_back_with_extract_msg(tmp_path, kit):
    import extract_msg

    path = write_msg(tmp_path / "w.msg", subject="Hello", sender=SUSPECT, to=[VICTIM],
                     sent_utc=SENT, body="Call me.", message_id="<m1@example.net>",
                     headers=HEADERS, attachments=[("car.png", kit.png())])
    msg = extract_msg.openMsg(str(path))
    try:
        assert (msg.subject, msg.sender, msg.to, msg.body) == (
            "Hello", f"Chris <{SUSPECT}>", f"Sam <{VICTIM}>", "Call me.")
        assert msg.date == SENT and msg.messageId == "<m1@example.net>"
        assert msg.header["Subject"] == "Hello"
        assert msg.attachments[0].data == kit.png()
    finally:
        msg.close()


def test_the_writer_is_deterministic():
    assert msg_bytes(mail()) == msg_bytes(mail())


def test_html_attachment_property_round_trip(tmp_path):
    # PR_HTML beside PR_BODY: the plain text wins, as the text/plain part wins in MIME.
    event = one(read(write(tmp_path, mail(html=b"<p>other</p>"))))
    assert event.text == "Call me on 07700 900123.\n"


def test_a_date_header_without_a_zone_gives_way_to_outlooks_exact_time(tmp_path):
    headers = HEADERS.replace("Date: Sat, 02 Mar 2024 21:14:05 +0000",
                              "Date: Sat, 02 Mar 2024 22:14:05")
    event = one(read(write(tmp_path, mail(headers=headers))))
    assert event.time.value == SENT and event.time.basis == "utc"
    assert event.time.source.startswith("PR_CLIENT_SUBMIT_TIME")
    assert any("names no time zone" in note for note in event.notes)


def test_a_compound_file_named_msg_is_read_or_rejected_with_why(tmp_path):
    # Its directory past the head (a .msg of many recipients) hides the Outlook stream names:
    # the name settles it; a compound file that is no Outlook item is then rejected, not lost.
    head = CFB_SIGNATURE + b"\0" * 600
    big = tmp_path / "many.msg"
    big.write_bytes(head)
    assert OutlookMsgParser.recognises(sample_file(big))
    other = tmp_path / "many.doc"
    other.write_bytes(head)
    assert not OutlookMsgParser.recognises(sample_file(other))
    records = read(big)
    assert not events(records)
    [reject] = rejects(records)
    assert reject.reason.startswith("many.msg could not be opened as an Outlook item")
