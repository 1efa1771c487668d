"""WhatsApp "Export chat" text: synthetic chats written here, and the real chat-miner exports."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, parser_for
from courseline.parsers.whatsapp import WhatsAppChatParser
from courseline.timeline.event import Event, Reject
from tests_support import events, png, rejects, source_notes

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"
LRM, BOM, NNBSP = "\u200e", "\ufeff", "\u202f"


def chat(tmp_path: Path, text: str, name: str = "WhatsApp Chat with Chris.txt",
         related: dict[str, Path] | None = None, region: str = "GB",
         options: dict | None = None, case_path: str | None = None) -> list:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    sample = sample_file(path, name)
    if options:
        sample = replace(sample, options=options)
    assert parser_for(sample) is WhatsAppChatParser
    found = related or {}
    items = list(WhatsAppChatParser().parse(SourceFile(
        path, case_path or f"exports/{name}", name, sample, related=lambda rel: found.get(rel),
        region=region)))
    for item in events(items):
        item.check()
    return items


ANDROID = """\
03/04/2024, 21:05 - Sam Taylor: Please stop messaging me
03/04/2024, 21:06 - Chris Walker: I saw you at the station.
You looked upset.
03/04/2024, 21:07 - Chris Walker: Diese Nachricht wurde gelöscht
13/04/2024, 02:10 - Chris Walker: Missed voice call
"""


def test_android_lines_become_messages_with_the_other_party_as_recipient(tmp_path):
    items = chat(tmp_path, ANDROID)
    found = events(items)
    assert [e.sender for e in found] == ["name:Sam Taylor"] + ["name:Chris Walker"] * 3
    assert found[0].recipients == ["name:Chris Walker"]
    assert found[1].text == "I saw you at the station.\nYou looked upset."
    assert found[1].time.value == datetime(2024, 4, 3, 21, 6)
    assert (found[1].time.basis, found[1].time.precision) == ("local", "min")
    assert found[2].flags == ["deleted"]
    assert (found[3].kind, found[3].call_status) == ("call", "missed")
    assert found[3].time.value == datetime(2024, 4, 13, 2, 10)
    assert found[0].locator == "line:1" and found[3].locator == "line:5"
    assert any("day first, decided from the file (line 5 '13/04/2024'" in n
               for n in source_notes(items))
    assert not rejects(items)


def test_month_first_is_decided_from_any_line_of_the_file(tmp_path):
    found = events(chat(tmp_path, "04/03/2024, 09:00 - Chris: hi\n04/13/2024, 09:00 - Chris: again\n"))
    assert [e.time.value.date().isoformat() for e in found] == ["2024-04-03", "2024-04-13"]


def test_an_undecided_order_is_assumed_and_said(tmp_path):
    text = "04/03/2024, 09:00 - Chris: hi\n05/03/2024, 09:00 - Sam: stop\n"
    items = chat(tmp_path, text)
    assert events(items)[0].time.value.month == 3
    assert any("ASSUMED day first" in n and 'date_order = "month-first"' in n
               for n in source_notes(items))
    american = chat(tmp_path, text, region="US")
    assert events(american)[0].time.value.month == 4
    assert any("ASSUMED month first (the source's region is US)" in n
               for n in source_notes(american))
    told = chat(tmp_path, text, options={"date_order": "month-first"})
    assert events(told)[0].time.value.month == 4
    assert source_notes(told) == ["day/month order: month first, as the case file sets for this source"]


def test_iphone_layout_with_seconds_marks_and_attached_media(tmp_path):
    picture = tmp_path / "00000012-PHOTO-2024-04-03-21-05-00.jpg"
    picture.write_bytes(png())
    text = (f"{BOM}[03/04/2024, 21:04:59] Chris: {LRM}Messages and calls are end-to-end encrypted."
            f" No one outside of this chat, not even WhatsApp, can read or listen to them.\r\n"
            f"[03/04/2024, 21:05:00] Chris: {LRM}<attached: 00000012-PHOTO-2024-04-03-21-05-00.jpg>\r\n"
            f"{BOM}[03/04/2024, 21:05:30] Chris: {LRM}<attached: 00000013-VIDEO-2024-04-03-21-05-30.mp4>\r\n"
            f"[13/04/2024, 21:06:01] Sam: {LRM}image omitted\r\n")
    items = chat(tmp_path, text, name="_chat.txt",
                 related={picture.name: picture},
                 case_path="exports/WhatsApp Chat - Chris.zip!_chat.txt")
    notice, photo, video, omitted = events(items)
    assert notice.details["notice"] == "encryption notice" and notice.sender is None
    assert notice.details["shown_under"] == "Chris"
    assert photo.time.value == datetime(2024, 4, 3, 21, 5, 0) and photo.time.precision == "s"
    assert [a.name for a in photo.attachments] == [picture.name]
    assert photo.attachments[0].media_type == "image/png"
    assert video.attachments == [] and video.details["media_not_in_export"].endswith(".mp4")
    assert omitted.details["media"] == "omitted" and omitted.recipients == ["name:Chris"]
    assert photo.details["chat"] == "Chris" and photo.details["layout"] == "iphone"


def test_android_attached_file_is_hashed(tmp_path):
    picture = tmp_path / "IMG-20240403-WA0002.jpg"
    picture.write_bytes(png())
    found = events(chat(tmp_path, f"03/04/2024, 21:05 - Chris: {LRM}IMG-20240403-WA0002.jpg "
                                  f"(file attached)\nlook outside\n",
                        related={picture.name: picture}))
    assert [a.name for a in found[0].attachments] == ["IMG-20240403-WA0002.jpg"]
    assert found[0].text.endswith("look outside")


@pytest.mark.parametrize(("clock", "expected"), [
    ("9:14 PM", (21, 14)), (f"9:14{NNBSP}PM", (21, 14)), ("12:05 AM", (0, 5)),
    ("12:30 PM", (12, 30)), ("00:08 a. m.", (0, 8)), ("08:49 p. m.", (20, 49)),
    ("午後3:56", (15, 56)), ("3:56 nachm.", (15, 56)), ("14:56", (14, 56)),
])
def test_twelve_and_twenty_four_hour_clocks(tmp_path, clock, expected):
    found = events(chat(tmp_path, f"[13/04/2024, {clock}] Chris: hello\n"))
    assert (found[0].time.value.hour, found[0].time.value.minute) == expected


def test_an_unknown_am_pm_marker_is_a_reject_naming_the_line(tmp_path):
    items = chat(tmp_path, "[13/04/2024, 9:14 PM] Chris: hello\n[13/04/2024, 9:15 XYZ] Chris: hi\n")
    (reject,) = rejects(items)
    assert reject.locator == "line:2" and "'XYZ'" in reject.reason and "9:15 XYZ" in reject.reason


def test_buddhist_and_japanese_era_years(tmp_path):
    found = events(chat(tmp_path, "[18/3/2565 BE, 14:56:01] Chris: a\n[18/3/2565, 14:57:01] Chris: b\n"
                                  "[18/3/R4, 14:58:01] Chris: c\n"))
    assert [e.time.value.year for e in found] == [2022, 2022, 2022]
    assert "year 2565 (Buddhist era) read as 2022" in found[0].notes
    assert "year R4 (Japanese era) read as 2022" in found[2].notes
    items = chat(tmp_path, "[18/3/X4, 14:58:01] Chris: c\n[18/3/2022, 14:58:01] Chris: d\n")
    assert "calendar era" in rejects(items)[0].reason


def test_edits_deletions_and_calls_in_other_languages(tmp_path):
    text = ("03/04/2024, 21:05 - Chris: Je suis dehors <Ce message a été modifié>\n"
            "03/04/2024, 21:06 - Chris: Ce message a été supprimé\n"
            "03/04/2024, 21:07 - Chris: Appel vidéo manqué\n"
            "03/04/2024, 21:08 - Chris: Пропущенный аудиозвонок\n"
            "13/04/2024, 21:09 - Chris: تم حذف هذه الرسالة\n")
    edited, deleted, video, voice, arabic = events(chat(tmp_path, text))
    assert edited.flags == ["edited"] and edited.text == "Je suis dehors"
    assert deleted.flags == ["deleted"] and arabic.flags == ["deleted"]
    assert (video.kind, video.details["call"]) == ("call", "video")
    assert (voice.kind, voice.details["call"]) == ("call", "voice")


def test_notices_are_kept_and_a_persons_words_are_not_taken_for_one(tmp_path):
    text = ("03/04/2024, 21:05 - Chris added Sam\n"
            "03/04/2024, 21:06 - Sam: I left early, please leave me alone\n"
            "03/04/2024, 21:07 - Sam left\n"
            "03/04/2024, 21:08 - Chris changed the subject from \"a\" to \"b: c\"\n"
            "13/04/2024, 21:09 - Something WhatsApp says that we do not know\n"
            "13/04/2024, 21:10 - Chris: hi\n")
    added, message, left, subject, unknown, last = events(chat(tmp_path, text))
    assert added.details["notice"] == "added" and added.sender is None
    assert message.sender == "name:Sam" and "notice" not in message.details
    assert left.details["notice"] == "left"
    assert subject.details["notice"] == "changed the subject"
    assert unknown.details["notice"] == "unrecognised"
    assert unknown.text == "Something WhatsApp says that we do not know"
    assert last.sender == "name:Chris"


def test_groups_name_every_other_author_and_numbers_become_whatsapp_identifiers(tmp_path):
    text = ("03/04/2024, 21:05 - Sam: hi all\n"
            "03/04/2024, 21:06 - +44 7700 900456: who is this\n"
            "13/04/2024, 21:07 - Jo: stop it\n")
    first, second, _ = events(chat(tmp_path, text, name="WhatsApp Chat with Family.txt"))
    assert second.sender == "whatsapp:+44 7700 900456"
    assert sorted(first.recipients) == ["name:Jo", "whatsapp:+44 7700 900456"]
    assert first.details["group"] == "Family"


def test_a_chat_where_only_one_side_wrote_names_the_other_from_the_file_name(tmp_path):
    found = events(chat(tmp_path, "03/04/2024, 21:05 - Chris: answer me\n13/04/2024, 21:06 - Chris: now\n"))
    # Chris's chat on the owner's phone, and only Chris wrote: every message went to the owner.
    assert found[0].recipients == [] and found[0].owner_side == "recipients"
    found = events(chat(tmp_path, "03/04/2024, 21:05 - Chris: answer me\n13/04/2024, 21:06 - Chris: now\n",
                        name="WhatsApp Chat with Sam.txt"))
    assert found[0].recipients == ["name:Sam"]
    assert any("named from the export's file name" in n for n in found[0].notes)


def test_text_before_the_first_dated_line_is_a_reject(tmp_path):
    path = tmp_path / "WhatsApp Chat with Chris.txt"
    path.write_text("03/04/2024, 21:05 - Chris: a\n03/04/2024, 21:06 - Chris: b\n", encoding="utf-8")
    items = list(WhatsAppChatParser().parse(SourceFile(
        path, "x", path.name, sample_file(path, path.name))))
    assert not rejects(items)
    path.write_text("stray words\n03/04/2024, 21:05 - Chris: a\n", encoding="utf-8")
    items = list(WhatsAppChatParser().parse(SourceFile(path, "x", path.name, sample_file(path, path.name))))
    assert rejects(items) == [Reject("line:1", "text before the first dated line: not part of any message")]


def test_other_text_files_are_not_taken_for_a_chat(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Shopping list\n03/04/2024, 21:05 - not a chat really\n", encoding="utf-8")
    assert parser_for(sample_file(path, path.name)) is None


def test_the_case_file_accepts_date_order_and_refuses_other_values(tmp_path):
    from courseline.casefile import CaseFileError, load_case

    (tmp_path / "case.toml").write_text(
        '[case]\nreference = "X"\n[[source]]\npath = "chat.txt"\ndate_order = "month-first"\n')
    assert load_case(tmp_path).sources[0].options == {"date_order": "month-first"}
    (tmp_path / "case.toml").write_text(
        '[case]\nreference = "X"\n[[source]]\npath = "chat.txt"\ndate_order = "mdy"\n')
    with pytest.raises(CaseFileError, match="date_order must be"):
        load_case(tmp_path)


# -- real exports ----------------------------------------------------------------------------------

CHATMINER = ["chatminer_test_[mmddyy]_24hrs.txt", "chatminer_test_ddmmyy_24hrs.txt",
             "chatminer_test_mmddyy_24hrs.txt", "chatminer_test_mmddyyyy_12hrs.txt",
             "chatminer_test_yyyymmdd_24hrs.txt"]


@pytest.mark.parametrize("name", CHATMINER)
def test_real_chatminer_exports(name):
    path = REALWORLD / "whatsapp" / name
    if not path.exists():
        pytest.skip("../shared/realworld is not beside the project")
    sample = sample_file(path, name)
    assert parser_for(sample) is WhatsAppChatParser
    items = list(WhatsAppChatParser().parse(SourceFile(path, name, name, sample)))
    found = events(items)
    assert not rejects(items)
    assert len(found) == 9
    messages = [e for e in found if "notice" not in e.details]
    assert len(messages) == 7
    assert {e.details["notice"] for e in found if "notice" in e.details} == {"created group", "added"}
    # The same chat in every layout: the same times, whatever the day/month order.
    assert [e.time.value for e in messages][:3] == [
        datetime(2019, 1, 1, 11, 25), datetime(2019, 1, 20, 11, 23), datetime(2019, 1, 30, 20, 49)]
    assert messages[1].text == "." and messages[-1].text.endswith("Duis libero.")
    assert {e.sender for e in messages} == {"name:John Doe", "name:Jahn Doe", "name:John-John Doe",
                                            "name:John Doe \U0001f913", "name:\U0001f913"}


def test_chatminers_expected_output_is_not_a_chat():
    path = REALWORLD / "whatsapp" / "chatminer_target.json"
    if not path.exists():
        pytest.skip("../shared/realworld is not beside the project")
    assert parser_for(sample_file(path, path.name)) is None


def test_every_event_is_a_valid_event(tmp_path):
    for item in events(chat(tmp_path, ANDROID)):
        assert isinstance(item, Event)
        item.check()


def test_an_iphone_export_zip_links_its_media_end_to_end(tmp_path):
    """The media of an exported .zip are found beside _chat.txt inside the archive."""
    import zipfile

    from courseline.casefile import load_case
    from courseline.pipeline import CasePipeline
    from tests_support import read_jsonl

    (tmp_path / "exports").mkdir()
    with zipfile.ZipFile(tmp_path / "exports" / "WhatsApp Chat - Chris.zip", "w") as archive:
        archive.writestr("_chat.txt", f"[03/04/2024, 21:05:00] Chris: {LRM}<attached: "
                                      f"00000012-PHOTO-2024-04-03-21-05-00.jpg>\r\n"
                                      f"[13/04/2024, 21:06:01] Sam: {LRM}<attached: ../../escape.jpg>\r\n")
        archive.writestr("00000012-PHOTO-2024-04-03-21-05-00.jpg", png())
    (tmp_path / "escape.jpg").write_bytes(png())
    (tmp_path / "case.toml").write_text(
        '[case]\nreference = "W"\n[[person]]\nkey = "victim"\nrole = "victim"\n'
        'identifiers = ["name:Sam"]\n[[source]]\npath = "exports/WhatsApp Chat - Chris.zip"\n'
        'owner = "victim"\n')
    with CasePipeline(load_case(tmp_path)) as pipeline:
        pipeline.build()
    photo, escape, picture = read_jsonl(tmp_path / "out" / "timeline.jsonl")
    assert picture["kind"] == "media" and picture["time_flags"] == ["undated"]
    assert photo["attachments"][0]["media_type"] == "image/png"
    assert photo["direction"] == "incoming" and escape["direction"] == "outgoing"
    assert escape["attachments"] == [] and escape["details"]["media_not_in_export"] == "../../escape.jpg"


def test_a_chat_with_more_authors_than_are_named_says_so(tmp_path, monkeypatch):
    import courseline.parsers.whatsapp as module

    monkeypatch.setattr(module, "MAX_AUTHORS_NAMED", 2)
    items = chat(tmp_path, "03/04/2024, 21:05 - Ann: a\n03/04/2024, 21:06 - Bo: b\n"
                           "13/04/2024, 21:07 - Cy: c\n", name="WhatsApp Chat with Club.txt")
    assert any("more than 2 people wrote in this chat" in n for n in source_notes(items))
    assert len(events(items)) == 3


def test_an_iphone_notice_marked_as_its_own_is_a_notice_and_its_chat_name_no_author(tmp_path):
    text = (f"[03/04/2024, 21:04:59] Family: {LRM}Chris added Sam\r\n"
            f"[03/04/2024, 21:05:00] Chris: {LRM}<attached: 00000012-PHOTO-left behind.jpg>\r\n"
            f"[03/04/2024, 21:05:30] Sam: Chris left the party early\r\n"
            f"[13/04/2024, 21:06:01] Jo: {LRM}image omitted\r\n")
    added, photo, words, omitted = events(chat(
        tmp_path, text, name="_chat.txt", case_path="exports/WhatsApp Chat - Family.zip!_chat.txt"))
    assert added.details["notice"] == "added" and added.details["shown_under"] == "Family"
    # A media line is never a notice, whatever its file is called.
    assert "notice" not in photo.details and photo.sender == "name:Chris"
    assert "notice" not in words.details
    assert sorted(words.recipients) == ["name:Chris", "name:Jo"]   # not the chat's name
    assert omitted.details["media"] == "omitted"


def test_a_chat_saved_as_utf16_is_read_and_said_so(tmp_path):
    path = tmp_path / "WhatsApp Chat with Chris.txt"
    path.write_bytes(ANDROID.replace("\n", "\r\n").encode("utf-16"))   # with its byte-order mark
    sample = sample_file(path, path.name)
    assert parser_for(sample) is WhatsAppChatParser
    items = list(WhatsAppChatParser().parse(SourceFile(path, path.name, path.name, sample)))
    found = events(items)
    assert [e.text for e in found][:2] == ["Please stop messaging me",
                                           "I saw you at the station.\nYou looked upset."]
    assert found[2].flags == ["deleted"] and not rejects(items)
    assert any("decoded as UTF-16" in note for note in source_notes(items))


def test_bytes_that_are_not_utf8_are_shown_as_replacement_and_named(tmp_path):
    path = tmp_path / "WhatsApp Chat with Chris.txt"
    path.write_bytes(b"03/04/2024, 21:05 - Sam: fine\n"
                     b"03/04/2024, 21:06 - Chris: caf\xe9 at 9\n"
                     b"and \xff\xfe more\n"
                     b"13/04/2024, 21:07 - Chris: \xf0\x9f\x91\x80 watching\n")
    items = list(WhatsAppChatParser().parse(SourceFile(
        path, path.name, path.name, sample_file(path, path.name))))
    fine, cafe, eyes = events(items)
    assert cafe.text == "caf\ufffd at 9\nand \ufffd\ufffd more"
    assert any("could not read" in note for note in cafe.notes)
    assert eyes.text == "\U0001f440 watching" and not any("could not read" in n for n in eyes.notes)
    assert not any("could not read" in note for note in fine.notes)
    notes = source_notes(items)
    assert any("2 line(s) hold bytes that are not UTF-8 (first: line 2)" in n for n in notes)
    assert not rejects(items)


def _header_variants():
    """Header lines in many shapes, usual and not: dates, separators, spaces, clocks, markers."""
    import itertools
    dates = ["03/04/2024", "3/4/24", "2024-04-03", "03.04.2024", "R6/04/03", "03/04/2567 BE",
             "03/04/20245", "3/4/2024 "]
    joins = [", ", " ", ",  ", f",{NNBSP}", "\u060c ", ","]
    clocks = ["21:05", "9:05", "21:05:09", "9.05", "9:05 PM", f"9:05{NNBSP}pm", "午後9:05", "21:05 ",
              "21:5"]
    rests = ["Chris: hi", "Chris:hi", "Chris:  two spaces", "notice with no colon", "",
             "Chris: a: b", f"{LRM}Chris: <attached: x.jpg>", "x" * 120 + ": long"]
    for date, join, clock, rest in itertools.product(dates, joins, clocks, rests):
        yield f"{date}{join}{clock} - {rest}"
        yield f"{date}{join}{clock} \u2013 {rest}"
        yield f"[{date}{join}{clock}] {rest}"
        yield f"[{date}{join}{clock}]\u00a0{rest}"
        yield f"[{date}{join}{clock}]{rest}"


def test_the_usual_header_pattern_reads_what_the_general_one_reads():
    """The usual pattern is tried first for speed: wherever it matches, the general pattern
    must match the same line with the same groups."""
    from courseline.parsers.whatsapp import DATES_AND_AUTHORS, HEADERS
    matched = 0
    for line in _header_variants():
        for patterns in (HEADERS, DATES_AND_AUTHORS):
            for usual, general in patterns.values():
                fast = usual.match(line)
                if fast is None:
                    continue
                matched += 1
                full = general.match(line)
                assert full is not None, line
                assert (fast.groupdict(), fast.end()) == (full.groupdict(), full.end()), line
    assert matched > 1000


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64])
def test_lines_read_a_block_at_a_time_are_the_files_lines(tmp_path, monkeypatch, block):
    """Lines are split from blocks of the file: a line end (\\r\\n split between blocks, a lone
    \\r, \\n), a line cut by a block, and a long line cut to its limit, wherever they fall."""
    from courseline.parsers import whatsapp
    monkeypatch.setattr(whatsapp, "BLOCK_CHARS", block)
    monkeypatch.setattr(whatsapp, "MAX_LINE_CHARS", 7)
    text = "ab\r\ncd\rlonger than seven\n\nx\r\r\n0123456\n01234567\r\nlast"
    path = tmp_path / "chat.txt"
    path.write_bytes(text.encode("utf-8"))
    with whatsapp._open(path, "utf-8") as handle:
        lines = list(whatsapp._physical_lines(handle))
    assert lines == ["ab", "cd", "longer ", "", "x", "", "0123456", "0123456", "last"]


def test_an_enormous_line_is_read_in_part_and_the_message_flagged(tmp_path, monkeypatch):
    monkeypatch.setattr("courseline.parsers.whatsapp.MAX_LINE_CHARS", 64)
    long_text = "0123456789" * 40   # a header line of 420 characters, read 64 at a time
    text = (f"03/04/2024, 21:05 - Chris: {long_text}\n"
            f"more of it: {long_text}\n"
            f"13/04/2024, 21:06 - Sam: stop\n")
    first, second = events(chat(tmp_path, text))
    assert first.flags == ["truncated"]
    assert first.text == (long_text[:64 - len("03/04/2024, 21:05 - Chris: ")] + "\n"
                          + f"more of it: {long_text}"[:64])
    assert (second.locator, second.text, second.flags) == ("line:3", "stop", [])
