"""Google Voice pages from Google Takeout (parsers/google_voice.py): synthetic pages built here in
the layout of the real ones, and a conformance run over the real samples in
``shared/realworld/google_takeout/voice`` (skipped when absent).

Synthetic people only: numbers in the Ofcom drama range 07700 900000-900999.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from html import escape
from pathlib import Path

import pytest
from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, google_voice, parser_for
from courseline.parsers.google_voice import GoogleVoiceParser, duration_seconds
from courseline.timeline.event import Event, Reject, SourceNote
from tests_support import (events, only_event, parsed, png, rejects, source_notes,
                           source_under, stored_zip_sample)

REALWORLD = (Path(__file__).resolve().parents[3] / "shared" / "realworld" / "google_takeout"
             / "voice")
OWNER = "+447700900456"
SUSPECT = "+447700900123"
FRIEND = "+447700900789"
NNBSP = "&#8239;"
PUBLISHED = "2024-03-02T21:14:05.000+00:00"
WHEN = datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)

PROLOGUE = ('<?xml version="1.0" ?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><html xmlns="http://www.w3.org/'
            '1999/xhtml"><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=UTF-8" />\n')
STYLE = '<style type="text/css">\n.haudio { margin: 0 auto; }\n.message { width: 1px; }\n</style>'


# -- builders --------------------------------------------------------------------------------------

def labels(*pairs: tuple[str, str]) -> str:
    links = ", ".join(f'<a rel="tag" href="http://www.google.com/voice#{code}">{name}</a>'
                      for code, name in pairs)
    return f'<div class="tags">Labels:\n{links}</div>\n'


def deleted(value: str = "False") -> str:
    return f'<div class="deletedStatusContainer">User Deleted:\n{value}</div>'


def shown(iso: str) -> str:
    return f"Mar 2, 2024, 9:14:05{NNBSP}PM\nGreenwich Mean Time"


def call_page(title: str, number: str | None = SUSPECT, name: str = "",
              published: str = PUBLISHED, duration: str | None = "PT1M5S",
              tags: str | None = None, transcript: str | None = None,
              audio: str | None = None, deleted_status: str = "False") -> str:
    href = f"tel:{number}" if number is not None else "tel:"
    body = [(f'<body><div class="haudio"><span class="album">Call Log for\n</span>\n'
             f'<span class="fn">{title}\n{escape(name)}</span>\n'
             f'<div class="contributor vcard">{title}\n<a class="tel" href="{href}">'
             f'<span class="fn">{escape(name)}</span></a></div>\n'
             f'<abbr class="published" title="{published}">{shown(published)}</abbr>\n')]
    if transcript is not None:
        body.append('Transcript:\n<span class="description"><span class="full-text">'
                    f'{escape(transcript)}</span>\n<span class="word high">Hi\n'
                    '<span class="confidence">0.9</span></span></span>\n')
    if audio is not None:
        body.append(f'<br />\n<audio controls="controls" src="{audio}"><a rel="enclosure" '
                    f'href="{audio}">Audio</a></audio>\n')
    if duration is not None:
        body.append(f'<br />\n<abbr class="duration" title="{duration}">(00:01:05)</abbr>\n')
    body.append(tags if tags is not None else labels(("placed", "Placed")))
    body.append(deleted(deleted_status) + "</div></body></html>")
    return (PROLOGUE + f"<title>{title}\n{escape(name)}</title>\n{STYLE}</head>\n"
            + "".join(body))


def sender(number: str | None, name: str | None) -> str:
    """``name=None``: the account's own message, written as the page writes "Me"."""
    href = f"tel:{number}" if number is not None else "tel:"
    fn = ('<abbr class="fn" title="">Me</abbr>' if name is None
          else f'<span class="fn">{escape(name)}</span>')
    return f'<cite class="sender vcard"><a class="tel" href="{href}">{fn}</a></cite>'


def text_message(number: str | None, name: str | None, text: str = "hello",
                 dt: str | None = "2024-03-02T21:14:05.123+00:00", media: str = "") -> str:
    stamp = f'<abbr class="dt" title="{dt}">{shown(dt or "")}</abbr>:\n' if dt is not None else ""
    return (f'<div class="message">{stamp}{sender(number, name)}:\n<q>{text}</q>\n'
            f'{media}</div> ')


def text_page(messages: list[str], title: str = "Me to\nChris Walker",
              participants: list[tuple[str, str]] | None = None,
              tags: str | None = None, deleted_status: str = "False", close: bool = True) -> str:
    head = PROLOGUE + f"<title>{title}</title>\n{STYLE}</head>\n"
    body = '<body><div class="hChatLog hfeed">'
    if participants:
        people = ", ".join(sender(number, name) for number, name in participants)
        body += f'<div class="participants">Group conversation with:\n{people}</div>\n'
    else:
        body += "\n"
    body += "".join(messages)
    if not close:
        return head + body
    body += "</div>\n\n" + (tags if tags is not None else labels(("sms", "Text"),
                                                                   ("inbox", "Inbox")))
    body += deleted(deleted_status) + "</body></html>"
    return head + body


def write(tmp_path: Path, html: str, name: str = "Chris Walker - Text - 2024-03-02T21_14_05Z.html",
          files: dict[str, bytes] | None = None, folder: str = "Takeout/Voice/Calls") -> SourceFile:
    where = tmp_path / folder
    where.mkdir(parents=True, exist_ok=True)
    path = where / name
    path.write_text(html, encoding="utf-8")
    for file_name, data in (files or {}).items():
        (where / file_name).write_bytes(data)
    return source_under(path, tmp_path)


def parse(source: SourceFile) -> list[Event | Reject | SourceNote]:
    return parsed(GoogleVoiceParser, source)


def call(tmp_path: Path, **kwargs) -> Event:
    name = kwargs.pop("file_name", " - Placed - 2024-03-02T21_14_05Z.html")
    files = kwargs.pop("files", None)
    folder = kwargs.pop("folder", "Takeout/Voice/Calls")
    title = kwargs.pop("title", "Placed call to")
    return only_event(parse(write(tmp_path, call_page(title, **kwargs), name, files, folder)))


# -- recognition -----------------------------------------------------------------------------------

def test_call_and_text_pages_are_recognised_by_content(tmp_path: Path) -> None:
    calls = write(tmp_path, call_page("Placed call to"), "renamed.txt")
    texts = write(tmp_path, text_page([text_message(SUSPECT, "Chris")]), "other.htm")
    assert parser_for(calls.sample) is GoogleVoiceParser
    assert parser_for(texts.sample) is GoogleVoiceParser


def test_page_without_prologue_is_recognised(tmp_path: Path) -> None:
    html = call_page("Voicemail from", transcript="hi", tags=labels(("voicemail", "Voicemail")))
    headless = html[html.index("<title>"):]
    assert parser_for(write(tmp_path, headless).sample) is GoogleVoiceParser


def test_other_html_and_media_are_not_claimed(tmp_path: Path) -> None:
    blog = tmp_path / "blog.html"
    blog.write_text('<html><body><div class="haudio"><span class="fn">My song</span>'
                    '</div></body></html>')
    card = tmp_path / "x - Text - 2024-03-02T21_14_05Z-1-1.vcf"
    card.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:Chris\nTEL:07700900123\nEND:VCARD\n")
    picture = tmp_path / "x - Text - 2024-03-02T21_14_05Z-1-1.png"
    picture.write_bytes(png())
    for path in (blog, card, picture):
        assert not GoogleVoiceParser.recognises(sample_file(path)), path.name


def test_an_uncompressed_archive_holding_pages_is_not_claimed(tmp_path: Path) -> None:
    page = write(tmp_path, call_page("Placed call to"))
    sample = stored_zip_sample(tmp_path / "takeout.zip", page.path, "Takeout/Voice/Calls/page.html")
    assert b'class="haudio"' in sample.head
    assert not GoogleVoiceParser.recognises(sample)


# -- calls -----------------------------------------------------------------------------------------

def test_placed_call(tmp_path: Path) -> None:
    event = call(tmp_path, name="Chris Walker")
    assert event.kind == "call" and event.platform == "google-voice"
    assert event.time.value == WHEN and event.time.basis == "offset"
    assert event.time.precision == "s" and event.time.raw == PUBLISHED
    assert event.time.source == "abbr.published title" and event.time.device_clock is False
    assert event.direction == "outgoing" and event.call_status == "answered"
    assert event.duration_s == 65 and event.details["duration_written"] == "PT1M5S"
    assert event.sender is None and event.recipients == [f"tel:{SUSPECT}"]
    assert event.owner_side == "sender"
    assert event.details["contact_name"] == "Chris Walker"
    assert event.details["call_type"] == "placed"
    assert event.details["labels"] == ["Placed"] and event.details["label_codes"] == ["placed"]
    assert event.details["time_shown"] == "Mar 2, 2024, 9:14:05\u202fPM Greenwich Mean Time"
    assert event.locator == "html:div.haudio[1]" and event.flags == []


def test_placed_call_of_zero_seconds_is_unanswered(tmp_path: Path) -> None:
    event = call(tmp_path, duration="PT0S")
    assert event.call_status == "unanswered" and event.duration_s == 0
    assert any("0 s" in note for note in event.notes)


@pytest.mark.parametrize("code, title, direction, status", [
    ("received", "Received call from", "incoming", "answered"),
    ("missed", "Missed call from", "incoming", "missed"),
    ("voicemail", "Voicemail from", "incoming", "voicemail"),
])
def test_incoming_calls(tmp_path: Path, code: str, title: str, direction: str,
                        status: str) -> None:
    event = call(tmp_path, title=title, tags=labels((code, code.title()), ("inbox", "Inbox")),
                 duration=None if code == "missed" else "PT18S")
    assert (event.direction, event.call_status) == (direction, status)
    assert event.sender == f"tel:{SUSPECT}" and event.recipients == []
    assert event.owner_side == "recipients"
    assert event.duration_s == (None if code == "missed" else 18)


def test_offset_time_and_milliseconds(tmp_path: Path) -> None:
    event = call(tmp_path, published="2016-11-22T09:57:49.616-08:00")
    assert event.time.precision == "ms"
    assert event.time.value == datetime(2016, 11, 22, 9, 57, 49, 616000,
                                        tzinfo=timezone(timedelta(hours=-8)))


def test_voicemail_transcript_and_recording(tmp_path: Path) -> None:
    audio_name = "Chris Walker - Voicemail - 2024-03-02T21_14_05Z.mp3"
    audio = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 64
    event = call(tmp_path, title="Voicemail from", name="Chris Walker", duration="PT22S",
                 tags=labels(("voicemail", "Voicemail")), audio=audio_name,
                 transcript="It's me. I'm outside.", files={audio_name: audio})
    assert event.call_status == "voicemail" and event.text == "It's me. I'm outside."
    [attachment] = event.attachments
    assert attachment.name == audio_name
    assert attachment.sha256 == hashlib.sha256(audio).hexdigest()
    assert any("transcript" in note for note in event.notes)


def test_recording_not_in_export_is_listed(tmp_path: Path) -> None:
    event = call(tmp_path, title="Voicemail from", tags=labels(("voicemail", "Voicemail")),
                 audio="vm.mp3")
    assert event.attachments == []
    assert event.details["attachments_not_in_export"] == [
        {"kind": "audio", "name": "vm.mp3", "reason": "not in the export"}]


def test_recorded_call_has_unknown_direction(tmp_path: Path) -> None:
    event = call(tmp_path, title="Recorded call with",
                 tags=labels(("recorded", "Recorded"), ("inbox", "Inbox")))
    assert event.direction == "unknown" and event.call_status == "answered"
    assert event.sender is None and event.recipients == [] and event.owner_side is None
    assert event.details["other_party"] == f"tel:{SUSPECT}"


def test_recorded_call_with_a_direction_label(tmp_path: Path) -> None:
    event = call(tmp_path, title="Recorded call with",
                 tags=labels(("recorded", "Recorded"), ("received", "Received")))
    assert event.direction == "incoming" and event.sender == f"tel:{SUSPECT}"


def test_kind_from_title_then_file_name(tmp_path: Path) -> None:
    by_title = call(tmp_path / "a", title="Missed call from", tags="", duration=None)
    assert by_title.call_status == "missed"
    assert any("page title" in note for note in by_title.notes)
    by_name = call(tmp_path / "b", title="Appel", tags="", duration=None,
                   file_name="07700 900123 - Received - 2024-03-02T21_14_05Z.html")
    assert by_name.direction == "incoming" and by_name.call_status == "answered"
    assert any("file name" in note for note in by_name.notes)
    unknown = call(tmp_path / "c", title="Appel", tags="", file_name="x.html")
    assert unknown.direction == "unknown" and unknown.details["call_type"] == "unknown"


def test_call_without_number(tmp_path: Path) -> None:
    event = call(tmp_path, number=None)
    assert event.recipients == ["tel:Unknown"]
    assert any("no number" in note for note in event.notes)


def test_call_with_only_a_name(tmp_path: Path) -> None:
    event = call(tmp_path, number=None, name="Chris Walker")
    assert event.recipients == ["name:Chris Walker"]


@pytest.mark.parametrize("status, tags, folder, flags", [
    ("True", None, "Takeout/Voice/Calls", ["deleted"]),
    ("False", labels(("placed", "Placed"), ("spam", "Spam")), "Takeout/Voice/Calls", ["spam"]),
    ("False", None, "Takeout/Voice/Spam", ["spam"]),
    ("False", labels(("placed", "Placed"), ("trash", "Trash")), "Takeout/Voice/Calls",
     ["trash"]),
])
def test_deleted_spam_and_trash(tmp_path: Path, status: str, tags: str | None, folder: str,
                                flags: list[str]) -> None:
    event = call(tmp_path, deleted_status=status, tags=tags, folder=folder)
    assert event.flags == flags
    assert event.details["deleted_status"] == f"User Deleted: {status}"


def test_call_without_time_is_rejected(tmp_path: Path) -> None:
    items = parse(write(tmp_path, call_page("Placed call to", published="")))
    [reject] = rejects(items)
    assert reject.locator == "html:div.haudio[1]" and "abbr.published" in reject.reason


@pytest.mark.parametrize("title, seconds", [
    ("PT18S", 18), ("PT1M", 60), ("PT12M51S", 771), ("PT1H2M3S", 3723), ("PT0S", 0),
    ("P1DT1S", 86401), ("PT2.5S", 2), ("", None), ("18 s", None), ("P", None),
])
def test_durations(title: str, seconds: int | None) -> None:
    assert duration_seconds(title) == seconds


# -- texts -----------------------------------------------------------------------------------------

def test_one_to_one_conversation(tmp_path: Path) -> None:
    page = text_page([text_message(OWNER, None, "Please stop contacting me.",
                                   dt="2024-03-02T21:14:05.123+00:00"),
                      text_message(SUSPECT, "Chris Walker", "I&#39;ll never stop<br>ever",
                                   dt="2024-03-02T21:15:00.000+00:00")])
    items = parse(write(tmp_path, page))
    mine, theirs = events(items)
    assert not rejects(items)
    assert mine.kind == "sms" and mine.direction == "outgoing"
    assert mine.sender is None and mine.owner_side == "sender"
    assert mine.recipients == [f"tel:{SUSPECT}"]
    assert mine.details["own_number"] == f"tel:{OWNER}"
    assert mine.time.precision == "ms" and mine.time.source == "abbr.dt title"
    assert mine.time.value == datetime(2024, 3, 2, 21, 14, 5, 123000, tzinfo=UTC)
    assert mine.locator == "html:div.message[1]" and theirs.locator == "html:div.message[2]"
    assert theirs.direction == "incoming" and theirs.sender == f"tel:{SUSPECT}"
    assert theirs.recipients == [] and theirs.owner_side == "recipients"
    assert theirs.text == "I'll never stop\never"
    assert theirs.details["sender_name"] == "Chris Walker"
    assert theirs.details["labels"] == ["Text", "Inbox"]
    assert any(f"tel:{OWNER}" in note for note in source_notes(items))


def test_other_party_found_after_the_owners_messages(tmp_path: Path) -> None:
    page = text_page([text_message(OWNER, None, "first"), text_message(OWNER, None, "second"),
                      text_message(SUSPECT, "", "reply")], title="Me to\n")
    mine = events(parse(write(tmp_path, page)))[0]
    assert mine.recipients == [f"tel:{SUSPECT}"]


def test_only_the_owners_messages_other_party_from_title(tmp_path: Path) -> None:
    page = text_page([text_message(OWNER, None, "are you there?")],
                     title="Me to\nChris Walker")
    items = parse(write(tmp_path, page))
    assert only_event(items).recipients == ["name:Chris Walker"]
    assert any("page title" in note for note in source_notes(items))


def test_only_the_owners_messages_other_party_from_file_name(tmp_path: Path) -> None:
    page = text_page([text_message(OWNER, None, "are you there?")], title="Me to\n")
    items = parse(write(tmp_path, page, name=f"{SUSPECT} - Text - 2024-03-02T21_14_05Z.html"))
    assert only_event(items).recipients == [f"tel:{SUSPECT}"]
    assert any("file name" in note for note in source_notes(items))


def test_only_the_owners_messages_and_no_other_party(tmp_path: Path) -> None:
    page = text_page([text_message(OWNER, None, "are you there?")], title="Me to\n")
    items = parse(write(tmp_path, page, name="page.html"))
    assert only_event(items).recipients == []
    assert any("not known" in note for note in source_notes(items))


def test_group_conversation(tmp_path: Path) -> None:
    page = text_page([text_message(SUSPECT, "Chris Walker", "hi all"),
                      text_message(OWNER, None, "leave me alone")],
                     title="Group Conversation",
                     participants=[(SUSPECT, "Chris Walker"), (FRIEND, "Friend B")])
    theirs, mine = events(parse(write(tmp_path, page,
                                      name="Group Conversation - 2024-03-02T21_14_05Z.html")))
    assert theirs.sender == f"tel:{SUSPECT}" and theirs.recipients == [f"tel:{FRIEND}"]
    assert theirs.owner_side == "recipients" and theirs.details["group_conversation"] is True
    assert mine.sender is None and mine.owner_side == "sender"
    assert mine.recipients == [f"tel:{SUSPECT}", f"tel:{FRIEND}"]


def test_mms_media_found_by_extension_and_hashed(tmp_path: Path) -> None:
    stem = "Chris Walker - Text - 2024-03-02T21_14_05Z"
    picture, card = png(), b"BEGIN:VCARD\nVERSION:3.0\nFN:X\nEND:VCARD\n"
    media = (f'<div><img src="{stem}-1-1" alt="Image MMS Attachment" /></div> '
             f'<div><img src="{stem}-1-2" alt="Image MMS Attachment" /></div> '
             f'<div><a class="vcard" href="{stem}-1-3">Contact card attachment</a></div>')
    page = text_page([text_message(SUSPECT, "Chris Walker", "MMS Received", media=media)])
    event = only_event(parse(write(tmp_path, page, f"{stem}.html",
                                   files={f"{stem}-1-1.jpg": picture, f"{stem}-1-3.vcf": card})))
    assert event.kind == "mms" and event.text == "MMS Received"
    image, contact = event.attachments
    assert image.name == f"{stem}-1-1.jpg" and image.sha256 == hashlib.sha256(picture).hexdigest()
    assert image.media_type == "image/png"
    assert contact.name == f"{stem}-1-3.vcf" and contact.size == len(card)
    assert event.details["attachments_not_in_export"] == [
        {"kind": "image", "name": f"{stem}-1-2", "reason": "not in the export"}]


def test_media_names_that_are_paths_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "Takeout" / "Voice" / "x.jpg").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "Takeout" / "Voice" / "x.jpg").write_bytes(png())
    page = text_page([text_message(SUSPECT, "Chris", "", media='<img src="../x" />')])
    event = only_event(parse(write(tmp_path, page)))
    assert event.attachments == [] and event.text is None
    assert "not followed" in event.details["attachments_not_in_export"][0]["reason"]


def test_spam_label_flags_every_message(tmp_path: Path) -> None:
    page = text_page([text_message(SUSPECT, "", "win a prize"), text_message(SUSPECT, "", "now")],
                     tags=labels(("sms", "Text"), ("spam", "Spam")))
    assert [e.flags for e in events(parse(write(tmp_path, page)))] == [["spam"], ["spam"]]


def test_message_without_time_is_rejected_by_index(tmp_path: Path) -> None:
    page = text_page([text_message(SUSPECT, "", "one"), text_message(SUSPECT, "", "two", dt=None),
                      text_message(SUSPECT, "", "three", dt="yesterday"),
                      text_message(SUSPECT, "", "four", dt="2024-03-02T21:14:05")])
    items = parse(write(tmp_path, page))
    assert [e.text for e in events(items)] == ["one"]
    assert [(r.locator, r.reason.split(" ")[0]) for r in rejects(items)] == [
        ("html:div.message[2]", "no"), ("html:div.message[3]", "abbr.dt"),
        ("html:div.message[4]", "abbr.dt")]
    assert "offset" in rejects(items)[2].reason


def test_page_without_records_is_one_reject(tmp_path: Path) -> None:
    items = parse(write(tmp_path, text_page([])))
    assert not events(items)
    [reject] = rejects(items)
    assert reject.locator == "html:file"


def test_page_cut_short_keeps_the_messages(tmp_path: Path) -> None:
    page = text_page([text_message(SUSPECT, "", "one"), text_message(SUSPECT, "", "two")],
                     close=False)
    cut = page[: page.rindex("two") + 2]
    found = events(parse(write(tmp_path, cut)))
    assert [e.text for e in found] == ["one", "tw"]
    assert any("ends inside" in note for note in found[1].notes)


def test_small_chunks_give_the_same_events(tmp_path: Path, monkeypatch) -> None:
    page = text_page([text_message([SUSPECT, OWNER][i % 2], [None, "Chris"][i % 2 == 0],
                                   f"message {i} ünïcödé 👀 &amp; {NNBSP}") for i in range(30)])
    source = write(tmp_path, page)
    whole = parse(source)
    monkeypatch.setattr(google_voice, "CHUNK_BYTES", 3)
    chunked = parse(source)
    shape = [(e.text, e.sender, e.recipients, e.direction) for e in events(whole)]
    assert shape == [(e.text, e.sender, e.recipients, e.direction) for e in events(chunked)]
    assert len(shape) == 30 and shape[1][1] is None and shape[0][1] == f"tel:{SUSPECT}"


# -- the real samples ------------------------------------------------------------------------------

REAL_COUNTS = {
    "psanford_missedcall.html": 1, "psanford_mms.html": 6, "psanford_sms.html": 5,
    "psanford_sms2.html": 6, "psanford_voicemail.html": 1,
    " - Placed - 2013-07-29T20_56_11Z.html": 1,
    "+17323215555 - Missed - 2016-11-22T17_57_49Z.html": 1,
    "+17323215555 - Received - 2016-11-22T22_27_58Z.html": 1,
    "+17323216666 - Placed - 2011-09-03T20_12_00Z.html": 1,
    "+17323217777 - Text - 2021-01-22T01_33_43Z.html": 5,
    "+17323218888 - 2015-03-20T03_59_29Z.html": 1,
    "+17323218888 - 2015-03-23T00_35_56Z.html": 1,
    "17323211010 - Received - 2018-07-30T22_31_33Z.html": 1,
    "Agatha M Christie - Text - 2023-10-22T17_28_34Z.html": 4,
    "Alan A Milne - Text - 2023-09-29T23_40_59Z.html": 3,
    "Albert Einstein - Recorded - 2019-05-22T18_18_56Z.html": 1,
    "Edson Arantes do Nascimento - Text - 2023-09-20T00_54_54Z.html": 2,
    "Edson Arantes do Nascimento - Text - 2023-09-20T14_41_11Z.html": 18,
    "Edson Arantes do Nascimento - Text - 2023-09-21T17_04_39Z.html": 2,
    "Edson Arantes do Nascimento - Voicemail - 2014-05-17T02_54_27Z.html": 1,
    "Edson Arantes do Nascimento - Voicemail - 2016-05-01T00_16_43Z.html": 1,
    "Group Conversation - 2021-07-13T21_25_26Z.html": 3,
    "Group Conversation - 2021-12-20T22_35_28Z.html": 1,
    "Group Conversation - 2023-10-01T15_30_41Z.html": 8,
    "Group Conversation - 2023-10-01T19_34_50Z.html": 20,
}


def real_pages() -> dict[str, SourceFile]:
    if not REALWORLD.is_dir():
        pytest.skip(f"real Google Voice samples not present at {REALWORLD}")
    return {path.name: source_under(path, REALWORLD) for path in sorted(REALWORLD.rglob("*.html"))}


def test_realworld_pages_parse_without_rejects() -> None:
    pages = real_pages()
    assert set(pages) == set(REAL_COUNTS)
    for name, source in pages.items():
        items = parse(source)
        assert not rejects(items), (name, rejects(items))
        assert len(events(items)) == REAL_COUNTS[name], name
        for event in events(items):
            assert event.time.basis == "offset" and event.time.value.utcoffset() is not None
            assert event.owner_side in ("sender", "recipients") or event.details["other_party"]


def test_realworld_media_files_are_not_claimed() -> None:
    real_pages()
    others = [p for p in REALWORLD.rglob("*") if p.is_file() and p.suffix != ".html"]
    assert {p.suffix for p in others} >= {".vcf", ".jpg"}
    for path in others:
        assert not GoogleVoiceParser.recognises(sample_file(path)), path.name


def test_realworld_details() -> None:
    pages = real_pages()
    milne = events(parse(pages["Alan A Milne - Text - 2023-09-29T23_40_59Z.html"]))
    photo = milne[0]
    assert photo.kind == "mms" and photo.recipients == ["name:Alan A Milne"]
    jpg = REALWORLD / "wjcarpenter/Voice/Calls/Alan A Milne - Text - 2023-09-29T23_40_59Z-1-1.jpg"
    assert photo.attachments[0].sha256 == hashlib.sha256(jpg.read_bytes()).hexdigest()
    card = events(parse(pages["+17323217777 - Text - 2021-01-22T01_33_43Z.html"]))[4]
    assert card.attachments[0].name.endswith("-5-1.vcf") and card.sender == "tel:+17323217777"
    missed = only_event(parse(pages["+17323215555 - Missed - 2016-11-22T17_57_49Z.html"]))
    assert (missed.direction, missed.call_status) == ("incoming", "missed")
    assert missed.time.value == datetime(2016, 11, 22, 17, 57, 49, tzinfo=UTC)
    voicemail = only_event(parse(pages["psanford_voicemail.html"]))
    assert voicemail.call_status == "voicemail" and voicemail.duration_s == 18
    assert voicemail.text.startswith("Hi Peter, this is Sleve Mcdichael.")
    recorded = only_event(parse(pages["Albert Einstein - Recorded - 2019-05-22T18_18_56Z.html"]))
    assert recorded.duration_s == 29 * 60 + 46 and recorded.time.precision == "ms"
    group = events(parse(pages["Group Conversation - 2023-10-01T19_34_50Z.html"]))
    assert group[2].sender is None and len(group[2].recipients) == 5
    assert group[0].sender == "tel:+12125550003" and len(group[0].recipients) == 4
