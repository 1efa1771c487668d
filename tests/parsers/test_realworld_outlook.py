"""Conformance on the real Outlook samples in the team's ``realworld/email/msg`` and
``realworld/email/pst`` folders (SpamScope/mail-parser ``tests/mails``, Apache-2.0;
aquasync/ruby-msg ``test/``, MIT, commits 769b6b8 and b8d8605; rjohnsondev/java-libpst
``src/test/resources``; listed in ``realworld/SOURCES.jsonl`` and formats.md §1.3-1.4). The files
are read where they are, never copied into the project; a cut-short copy is written to the
test's temporary folder only.

Every file is accounted for: the events it gives, with their values, or the reason each record
is not mail. The values asserted were checked by reading the files with extract-msg and pypff
and, for ``rubymsg_qwerty_1-orig.msg``, against ruby-msg's expected dump beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from courseline.collectors.identify import sample_file
from courseline.parsers import parser_for
from courseline.parsers.outlook_msg import OutlookMsgParser
from courseline.parsers.pst import PstParser
from courseline.timeline.event import Event, Reject
from tests_support import REALWORLD, events, parsed, rejects, source_file, source_notes

MSG = REALWORLD / "email" / "msg"
PST = REALWORLD / "email" / "pst"
MSG_FILES = ["mailparser_mail_outlook_1.msg", "rubymsg_note.msg", "rubymsg_qwerty_1-orig.msg",
             "rubymsg_test_Blammo.msg"]
PST_FILES = ["javalibpst_dist-list.pst", "rubymsg_attachAndInline.pst", "rubymsg_msgInMsg.pst"]
JAPANESE_TOP = "Outlook データ ファイルのトップ"


def path_of(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        pytest.skip(f"real sample {name} not found in {folder} (the team's shared realworld/ "
                    "folder is not next to this checkout)")
    return path


def read_msg(name: str) -> list:
    return parsed(OutlookMsgParser, source_file(path_of(MSG, name)))


def read_pst(name: str) -> list:
    return parsed(PstParser, source_file(path_of(PST, name)))


def test_the_sample_folders_hold_what_this_test_expects():
    path_of(MSG, MSG_FILES[0])
    assert sorted(p.name for p in MSG.iterdir()) == sorted(
        MSG_FILES + ["rubymsg_qwerty_1-orig.expected.txt"])
    assert sorted(p.name for p in PST.iterdir()) == PST_FILES


# --- .msg ----------------------------------------------------------------------------------------

def test_mailparser_outlook_1_is_one_email_with_five_pictures():
    [event] = read_msg("mailparser_mail_outlook_1.msg")
    assert isinstance(event, Event) and (event.kind, event.locator) == ("email", "msg")
    assert event.subject == "Newsletter Prüfung Personalwesen / Prüfung Eröffnungsbilanz"
    assert event.sender == "email:NueblingV@w-vwa.de"
    assert event.recipients == ["email:gaiser-schoenenborn@kreis-tuebingen.de"]
    assert event.time.source == "Date header"
    assert event.time.value == datetime(2017, 9, 18, 12, 0, 18, tzinfo=timezone(timedelta(hours=2)))
    assert event.details["message_id"] == "<20170918100018.6AE0948009C@www.w-vwa.de>"
    assert len(event.details["received"]) >= 2
    assert event.details["outlook"]["times"]["client_submit_time"] == "2017-09-18T10:00:18.000Z"
    assert [(a.name, a.media_type) for a in event.attachments] == [
        ("newsletter.png", "image/png"), ("spacer.gif", "image/gif"),
        ("image004.jpg", "image/jpeg"), ("image006.jpg", "image/jpeg"),
        ("image008.jpg", "image/jpeg")]
    assert event.attachments[0].size == 100_150
    assert event.text.startswith("Wenn Sie diesen Newsletter nicht lesen können")


def test_ruby_msg_qwerty_is_placed_by_its_delivery_time():
    [event] = read_msg("rubymsg_qwerty_1-orig.msg")
    assert isinstance(event, Event) and event.kind == "email" and event.subject == "qwerty"
    assert event.time.source == "PR_MESSAGE_DELIVERY_TIME (0x0E06, received)"
    # ruby-msg's dump: "PR_MESSAGE_DELIVERY_TIME PT_SYSTIME 12:43 AM, 3/11/2006" (day first).
    assert event.time.value == datetime(2006, 11, 3, 0, 43, 19, 807_000, tzinfo=UTC)
    assert event.details["message_id"] == \
        "<CEB3518C2FA4D743BF752C106451B19E14944E@sydexmail1.freehills.com.au>"
    assert event.sender is None and event.recipients == []     # "asdf" has no address
    assert event.details["outlook"]["recipient_table"][0]["name"] == "asdf"
    assert "Charles Lowe\nData Analyst\nFreehills" in event.text
    assert any("no PR_CLIENT_SUBMIT_TIME" in note for note in event.notes)


def test_ruby_msg_blammo_is_a_post():
    [event] = read_msg("rubymsg_test_Blammo.msg")
    assert isinstance(event, Event) and (event.kind, event.platform) == ("post", "email")
    assert event.subject == "BlammoBlammo" and event.sender == "email:TripleNickel@mapi32.net"
    assert event.time.source == "PR_CLIENT_SUBMIT_TIME (0x0039, sent)"
    assert event.time.value == datetime(2007, 9, 29, 11, 2, 44, 687_000, tzinfo=UTC)


def test_ruby_msg_note_is_listed_as_a_note_not_mail():
    [reject] = read_msg("rubymsg_note.msg")
    assert reject == Reject("msg", "an Outlook note (IPM.StickyNote) 'note sample', not mail: "
                                   "listed here, not placed on the timeline")


def test_the_expected_dump_beside_them_is_not_read_as_outlook():
    sample = sample_file(path_of(MSG, "rubymsg_qwerty_1-orig.expected.txt"))
    assert parser_for(sample) is None        # listed as an exhibit, not parsed
    assert not OutlookMsgParser.recognises(sample) and not PstParser.recognises(sample)


# --- PST -----------------------------------------------------------------------------------------

def test_dist_list_pst_holds_no_mail_and_says_what_each_item_is():
    records = read_pst("javalibpst_dist-list.pst")
    assert events(records) == []
    reasons = {r.locator: r.reason for r in rejects(records)}
    top = "pst:/Top of Personal Folders"
    assert reasons[f"{top}/Contacts/[0]"].startswith(
        "an Outlook distribution list (contact group) (IPM.DistList) 'test dist list', not mail")
    assert reasons[f"{top}/Contacts/[1]"].startswith(
        "an Outlook contact (IPM.Contact) 'contact name 1', not mail")
    assert reasons[f"{top}/Calendar/[0]"].startswith(
        "an Outlook calendar appointment (IPM.Appointment) 'Test appointment', not mail")
    for number in (0, 1):   # the appointment's two exceptions, attached items pypff cannot open
        assert "an exception to a recurring Outlook appointment" in \
            reasons[f"{top}/Calendar/[0]/attachment[{number}]/msg"]
    assert reasons["pst:/Freebusy Data/[0]"].startswith("Outlook free/busy data")
    assert len(reasons) == 6
    [note] = source_notes(records)
    assert note.startswith("6 search folder(s)")


def test_attach_and_inline_pst_is_one_unsent_email_with_two_pictures():
    records = read_pst("rubymsg_attachAndInline.pst")
    [event] = events(records)
    assert rejects(records) == []
    assert event.locator == f"pst:/{JAPANESE_TOP}/[0]"
    assert event.subject == "Attach and inline" and event.flags == ["draft"]
    assert event.recipients == ["email:xmailuser@xmailserver.test"] and event.sender is None
    assert event.time.value == datetime(2021, 7, 27, 22, 19, 50, 992_000, tzinfo=UTC)
    assert [(a.name, a.size, a.media_type) for a in event.attachments] == [
        ("attach.png", 1558, "image/png"), ("image001.png", 809, "image/png")]
    # Its PR_BODY is blank; the HTML inside its RTF body holds only the inline picture.
    assert event.text == ""
    assert any("HTML held in its RTF body" in note for note in event.notes)
    assert event.details["pst"] == {"folder": JAPANESE_TOP, "identifier": 2097188}


def test_msg_in_msg_pst_names_the_attached_email_it_cannot_open():
    records = read_pst("rubymsg_msgInMsg.pst")
    [event] = events(records)
    assert event.subject == "I have attachments!" and event.text == "I have attachments!\n"
    assert [a.name for a in event.attachments] == ["green.png"]
    [attached] = event.details["attached_items"]
    assert attached["locator"] == f"pst:/{JAPANESE_TOP}/[0]/attachment[0]/msg"
    [reject] = rejects(records)
    assert reject.locator == attached["locator"]
    assert reject.reason.startswith(
        "an e-mail (IPM.Note) 'Microsoft Outlook テスト メッセージ' attached to this item")


def test_a_cut_short_pst_keeps_what_came_before_and_says_where_it_ends(tmp_path):
    data = path_of(PST, "rubymsg_msgInMsg.pst").read_bytes()
    early, late = tmp_path / "early.pst", tmp_path / "late.pst"
    early.write_bytes(data[:20_000])
    late.write_bytes(data[:200_000])
    [reject] = parsed(PstParser, source_file(early))
    assert reject.reason.startswith("early.pst could not be opened by libpff")
    records = parsed(PstParser, source_file(late))
    assert [e.subject for e in events(records)] == ["I have attachments!"]
    cut = [r for r in rejects(records) if r.locator == "pst:byte=200000"]
    assert cut and "cut short" in cut[0].reason and "271,360" in cut[0].reason
