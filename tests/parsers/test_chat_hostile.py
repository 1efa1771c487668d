"""Hostile input for the chat and social-media export parsers (issue 4, "Must hold": broken JSON, a
cut-off file, a wrong encoding, one enormous or deeply nested record; events before the fault
kept, a reject naming the record and the reason, memory bounded, never an exception).

The same small synthetic export is built for every JSON parser (Telegram, Meta, X direct messages
and tweets, Snapchat, Discord, Google Chat) from a list of message texts written as raw JSON, so
one record can be replaced by damage; Google Voice, Discord's CSV and Signal's text have tests of
their own below. Synthetic people only: made-up ids and usernames, addresses at example.org.
"""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from courseline.parsers import Parser, discord, google_voice, meta_messages, snapchat
from courseline.parsers import x_archive
from courseline.parsers.discord import DiscordMessagesParser
from courseline.parsers.google_chat import GoogleChatParser
from courseline.parsers.google_voice import GoogleVoiceParser
from courseline.parsers.meta_messages import MetaMessagesParser
from courseline.parsers.signal_export import SignalExportParser
from courseline.parsers.snapchat import SnapchatChatParser
from courseline.parsers.telegram import TelegramJsonParser
from courseline.parsers.x_archive import XArchiveParser
from courseline.timeline.event import Event, Reject, SourceNote
from tests_support import (check_record, checked, events, parsed, read_jsonl, rejects, run_cli,
                           source_file, source_notes)

DEEP = "[" * 100_000 + "]" * 100_000       # deeper than any JSON decoder's recursion allows


# -- one export per JSON parser, built from raw JSON texts -----------------------------------------

def _telegram(texts: list[str]) -> str:
    return ('{"name": "Sam", "type": "personal_chat", "id": 5550002, "messages": [\n'
            + ",\n".join(f'{{"id": {n}, "type": "message", "date": "2024-03-02T21:14:05", '
                         f'"date_unixtime": "{1709414045 + n}", "from": "Sam", '
                         f'"from_id": "user5550002", "text": {text}}}'
                         for n, text in enumerate(texts))
            + "\n]}\n")


def _meta(texts: list[str]) -> str:
    return ('{"participants": [{"name": "Sam Suspect"}, {"name": "Alex Owner"}], "messages": [\n'
            + ",\n".join(f'{{"sender_name": "Sam Suspect", "timestamp_ms": {1709414045000 + n}, '
                         f'"content": {text}, "type": "Generic"}}' for n, text in enumerate(texts))
            + '\n], "title": "Sam Suspect", "thread_path": "inbox/samsuspect_1"}\n')


def _x_dms(texts: list[str]) -> str:
    return ('window.YTD.direct_messages.part0 = [ {"dmConversation": {"conversationId": '
            '"1000000001-2000000002", "messages": [\n'
            + ",\n".join(f'{{"messageCreate": {{"id": "{9000 + n}", "senderId": "2000000002", '
                         f'"recipientId": "1000000001", "text": {text}, '
                         f'"createdAt": "2024-03-02T21:14:0{n % 10}.000Z"}}}}'
                         for n, text in enumerate(texts))
            + "\n]}} ]\n")


def _x_tweets(texts: list[str]) -> str:
    return ("window.YTD.tweets.part0 = [\n"
            + ",\n".join(f'{{"tweet": {{"id_str": "{100 + n}", "created_at": '
                         f'"Sat Mar 02 21:14:05 +0000 2024", "full_text": {text}}}}}'
                         for n, text in enumerate(texts))
            + "\n]\n")


def _snapchat(texts: list[str]) -> str:
    return ('{"alex.s": [\n'
            + ",\n".join(f'{{"From": "alex.s", "Media Type": "TEXT", '
                         f'"Created": "2024-03-02 21:14:05 UTC", "Content": {text}, '
                         f'"Conversation Title": null, "IsSender": false, '
                         f'"Created(microseconds)": {1709414045123 + n}, "IsSaved": true}}'
                         for n, text in enumerate(texts))
            + "\n]}\n")


def _discord(texts: list[str]) -> str:
    return ("[\n" + ",\n".join(f'{{"ID": "{500 + n}", "Timestamp": '
                               f'"2024-03-02 21:14:05.123000+00:00", "Contents": {text}, '
                               f'"Attachments": ""}}' for n, text in enumerate(texts))
            + "\n]\n")


def _google_chat(texts: list[str]) -> str:
    return ('{"messages": [\n'
            + ",\n".join(f'{{"creator": {{"name": "Sam", "email": "sam@example.org", '
                         f'"user_type": "Human"}}, "created_date": "Saturday, March 2, 2024 at '
                         f'9:14:0{n % 10}\u202fPM UTC", "text": {text}, "message_id": "m{n}"}}'
                         for n, text in enumerate(texts))
            + "\n]}\n")


@dataclass(frozen=True)
class Kind:
    parser: type[Parser]
    file_name: str
    build: Callable[[list[str]], str]
    prefix: str                     # the locator of the N-th message is prefix + "[N]"


KINDS = {
    "telegram": Kind(TelegramJsonParser, "result.json", _telegram, "json:messages"),
    "meta": Kind(MetaMessagesParser, "message_1.json", _meta, "json:messages"),
    "x-dms": Kind(XArchiveParser, "direct-messages.js", _x_dms, "json:[0].dmConversation.messages"),
    "x-tweets": Kind(XArchiveParser, "tweets.js", _x_tweets, "json:"),
    "snapchat": Kind(SnapchatChatParser, "chat_history.json", _snapchat, 'json:["alex.s"]'),
    "discord": Kind(DiscordMessagesParser, "messages.json", _discord, "json:"),
    "google-chat": Kind(GoogleChatParser, "messages.json", _google_chat, "json:messages"),
}
STREAMED_WHOLE_FILES = {"meta": meta_messages, "x-dms": x_archive, "snapchat": snapchat,
                        "discord": discord}


def write(tmp_path: Path, kind: Kind, data: bytes) -> Path:
    path = tmp_path / kind.file_name
    path.write_bytes(data)
    return path


def parse(tmp_path: Path, kind: Kind, data: bytes) -> list[Event | Reject | SourceNote]:
    return parsed(kind.parser, source_file(write(tmp_path, kind, data)))


def parse_any(parser: type[Parser], path: Path) -> list[Event | Reject | SourceNote]:
    """What the parser makes of a file, whether or not it would claim it (every record checked)."""
    return checked(parser().parse(source_file(path)))


def texts(items: list) -> list[str | None]:
    return [e.text for e in events(items)]


# -- damage inside one record ----------------------------------------------------------------------

@pytest.mark.parametrize("name", KINDS)
def test_a_record_nested_too_deeply_is_stepped_over(tmp_path: Path, name: str) -> None:
    """A record deeper than the decoder can go is a reject naming it; the next one is read (it
    was an exception out of the X, Snapchat and Discord parsers, and the end of the read for Meta
    and Google Chat)."""
    kind = KINDS[name]
    items = parse(tmp_path, kind, kind.build(['"one"', DEEP, '"three"']).encode())
    assert texts(items) == ["one", "three"]
    (reject,) = rejects(items)
    assert reject.locator == f"{kind.prefix}[1]" and "nested more deeply" in reject.reason


@pytest.mark.parametrize("name", KINDS)
def test_a_record_that_is_not_json_is_stepped_over(tmp_path: Path, name: str) -> None:
    """An invalid escape inside one record: that record is a reject naming it, the others are
    read (the whole-file readers used to stop at the first fault)."""
    kind = KINDS[name]
    items = parse(tmp_path, kind, kind.build(['"one"', '"tw\\qo"', '"three"']).encode())
    assert texts(items) == ["one", "three"]
    (reject,) = rejects(items)
    assert reject.locator == f"{kind.prefix}[1]" and "not JSON" in reject.reason


@pytest.mark.parametrize("name", KINDS)
def test_a_cut_inside_a_long_conversation_keeps_the_records_before_it(tmp_path: Path,
                                                                       name: str) -> None:
    """The file ends inside the last record of a conversation: every record before it is an
    event (X and Snapchat used to lose the whole conversation), and the reject names the record
    the file ends in and the byte."""
    kind = KINDS[name]
    whole = kind.build([f'"message {n}"' for n in range(20)]).encode()
    cut = whole.index(b'"message 19"') + 5
    items = parse(tmp_path, kind, whole[:cut])
    assert texts(items) == [f"message {n}" for n in range(19)]
    (reject,) = rejects(items)
    assert reject.locator == f"{kind.prefix}[19]"
    assert f"ends at byte {cut}" in reject.reason and "cut short" in reject.reason


@pytest.mark.parametrize("name", KINDS)
def test_bytes_that_are_not_utf8_are_said_and_the_records_stay_well_formed(tmp_path: Path,
                                                                            name: str) -> None:
    """A Latin-1 byte in a text, and one in the name of the field that holds the second text:
    every record still encodes as UTF-8 (Telegram kept a lone surrogate in a detail's key) and a
    source note says where the bytes stop being UTF-8 (Telegram said nothing)."""
    kind = KINDS[name]
    data = kind.build(['"caf\u00e9"', '"two"']).encode().replace("\u00e9".encode(), b"\xe9", 1)
    key = data.rindex(b'"', 0, data.index(b'"two"') - 3) + 1     # inside the text's field name
    data = data[:key] + b"\xff" + data[key:]
    items = parse(tmp_path, kind, data)
    assert len(events(items)) == 2
    assert events(items)[0].text in ("caf\ufffd", "caf?")       # "?": a lone surrogate replaced
    assert any("not valid UTF-8 from byte" in note for note in source_notes(items))


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("data", [b"", b"\x00" * 4096], ids=["empty", "zero-filled"])
def test_empty_and_zero_filled_files_are_one_reject(tmp_path: Path, name: str,
                                                    data: bytes) -> None:
    """Not claimed by the parser (nothing is recognisable), but read all the same they give a
    reject saying so, never an exception."""
    items = parse_any(KINDS[name].parser, write(tmp_path, KINDS[name], data))
    assert not events(items) and rejects(items)


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_an_export_resaved_as_utf16_or_utf32_is_recognised_and_read(tmp_path: Path, name: str,
                                                                     codec: str) -> None:
    """An export an editor re-saved as "Unicode" (its byte order mark says so) is claimed by
    its parser and read as the UTF-8 original is, with a note saying how it was read; it was
    listed as recognised by no parser. A byte offset in a reject counts the file's own bytes."""
    kind = KINDS[name]
    text = kind.build(['"caf\u00e9 \U0001f600"', '"two"'])
    original = parse(tmp_path, kind, text.encode())
    resaved = parse(tmp_path, kind, "\ufeff".encode(codec) + text.encode(codec))
    assert texts(resaved) == texts(original) == ["caf\u00e9 \U0001f600", "two"]
    assert not rejects(resaved)
    assert any(f"read as {codec.upper()}" in note for note in source_notes(resaved))
    cut = text.index('"two"') + 2
    data = ("\ufeff" + text[:cut]).encode(codec)
    (reject,) = rejects(parse(tmp_path, kind, data))
    assert f"ends at byte {len(data)}" in reject.reason


# -- memory ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", STREAMED_WHOLE_FILES)
def test_files_once_read_whole_are_streamed(tmp_path: Path, name: str, monkeypatch) -> None:
    """X, Snapchat, Discord and Meta files were read whole (two to four times the file's size at
    the peak); they are read in chunks now: peak allocation far below the file's size."""
    kind = KINDS[name]
    monkeypatch.setattr(STREAMED_WHOLE_FILES[name], "CHUNK_BYTES", 64 * 1024)
    count = 4_000
    filler = "words of a long message " * 20
    path = write(tmp_path, kind, kind.build([json.dumps(f"{n} {filler}") for n in range(count)])
                 .encode())
    size = path.stat().st_size
    assert size > 2 * 1024 * 1024
    source = source_file(path)
    made = 0
    tracemalloc.start()
    try:
        for item in kind.parser().parse(source):
            made += isinstance(item, Event)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert made == count
    assert peak < size / 4, (peak, size)


# -- Discord's CSV, X's account.js, Discord's channel.json -----------------------------------------

CSV_HEADER = "ID,Timestamp,Contents,Attachments\n"


def test_discord_csv_row_over_the_field_limit_is_a_reject_and_reading_goes_on(
        tmp_path: Path) -> None:
    """A field over the bound: that row is a reject and the rows after it are read (the first
    such field ended the read; and the bound was csv's default or the call-log parser's, by
    which had run before in the process)."""
    path = tmp_path / "messages.csv"
    path.write_text(CSV_HEADER + "1,2024-03-02 21:14:05+00:00,one,\n"
                    + "2,2024-03-02 21:14:06+00:00,"
                    + "x" * (discord.MAX_CSV_FIELD_CHARS + 1) + ",\n"
                    + "3,2024-03-02 21:14:07+00:00,three,\n", encoding="utf-8")
    items = parsed(DiscordMessagesParser, source_file(path))
    assert texts(items) == ["one", "three"]
    (reject,) = rejects(items)
    assert reject.locator == "csv:line=3"
    assert f"field limit ({discord.MAX_CSV_FIELD_CHARS})" in reject.reason


def test_discord_csv_field_bound_does_not_depend_on_what_ran_before(tmp_path: Path) -> None:
    """A field longer than csv's default limit (131072) but within the bound is read, whether
    or not another CSV parser raised the process-wide limit first."""
    path = tmp_path / "messages.csv"
    path.write_text(CSV_HEADER + "1,2024-03-02 21:14:05+00:00," + "x" * 200_000 + ",\n",
                    encoding="utf-8")
    previous = csv.field_size_limit(131_072)
    try:
        (event,) = events(parsed(DiscordMessagesParser, source_file(path)))
    finally:
        csv.field_size_limit(max(previous, csv.field_size_limit()))
    assert len(event.text or "") == 200_000


def test_discord_csv_bytes_that_are_not_utf8_are_said(tmp_path: Path) -> None:
    path = tmp_path / "messages.csv"
    path.write_bytes((CSV_HEADER + "1,2024-03-02 21:14:05+00:00,cafX,\n").encode()
                     .replace(b"cafX", b"caf\xe9"))
    items = parsed(DiscordMessagesParser, source_file(path))
    assert texts(items) == ["caf\ufffd"]
    assert any("not valid UTF-8 from byte" in note for note in source_notes(items))


def test_files_beside_nested_too_deeply_are_said_not_raised(tmp_path: Path) -> None:
    """channel.json (Discord) and account.js (X) nested too deeply: a note, and the messages
    read (both were a RecursionError out of the parser)."""
    folder = tmp_path / "c1"
    folder.mkdir()
    (folder / "channel.json").write_text('{"id": "1", "recipients": ' + DEEP + "}")
    messages = folder / "messages.json"
    messages.write_text(_discord(['"one"']))
    items = checked(DiscordMessagesParser().parse(source_file(messages, related={
        "channel.json": folder / "channel.json"})))
    assert texts(items) == ["one"]
    assert any("channel.json could not be read (RecursionError" in n for n in source_notes(items))

    (tmp_path / "account.js").write_text("window.YTD.account.part0 = " + DEEP)
    dms = tmp_path / "direct-messages.js"
    dms.write_text(_x_dms(['"one"']))
    items = checked(XArchiveParser().parse(source_file(dms, related={
        "account.js": tmp_path / "account.js"})))
    assert texts(items) == ["one"]
    assert any("account.js could not be read (RecursionError)" in n for n in source_notes(items))


# -- Google Voice pages ----------------------------------------------------------------------------

def voice_message(number: int) -> str:
    return (f'<div class="message"><abbr class="dt" title="2024-03-02T21:14:0{number % 10}.123'
            '+00:00">Mar 2</abbr>:\n<cite class="sender vcard"><a class="tel" '
            'href="tel:+447700900123"><span class="fn">Chris</span></a></cite>:\n'
            f"<q>hello {number}</q>\n</div> ")


def voice_page(body: str, close: bool = True) -> str:
    page = ('<html><head><title>Me to\nChris</title></head>\n<body><div class="hChatLog hfeed">\n'
            + body)
    return page + ('</div>\n<div class="tags">Labels:\n<a rel="tag" '
                   'href="http://www.google.com/voice#sms">Text</a></div></body></html>'
                   if close else "")


def voice(tmp_path: Path, html: str) -> list[Event | Reject | SourceNote]:
    path = tmp_path / "Chris - Text - 2024-03-02T21_14_05Z.html"
    path.write_text(html, encoding="utf-8")
    return parsed(GoogleVoiceParser, source_file(path))


def test_voice_page_cut_between_messages_is_said(tmp_path: Path) -> None:
    """The page ends after a whole message, inside the conversation: the messages are kept and
    a reject says the page is cut short (nothing said so before)."""
    items = voice(tmp_path, voice_page(voice_message(1) + voice_message(2), close=False))
    assert texts(items) == ["hello 1", "hello 2"]
    (reject,) = rejects(items)
    assert reject.locator == "html:file" and "cut short" in reject.reason


def test_voice_page_nested_without_end_stops_with_a_reject(tmp_path: Path, hang_guard) -> None:
    """Elements nested far deeper than any page Google writes: the messages before are kept and
    reading stops with a reject (each element cost time in proportion to the depth)."""
    html = voice_page(voice_message(1) + "<div>x" * 200_000 + voice_message(2))
    with hang_guard():
        items = voice(tmp_path, html)
    assert texts(items) == ["hello 1"]
    (reject,) = rejects(items)
    assert "nested more than" in reject.reason


def test_voice_page_with_many_stray_end_tags_is_read(tmp_path: Path, hang_guard) -> None:
    """End tags with no open element, inside a deep page: ignored, each in constant time (each
    searched the whole stack of open elements)."""
    html = voice_page(voice_message(1) + "<span>" * 900 + "</b>" * 300_000 + "</span>" * 900
                      + voice_message(2))
    with hang_guard():
        items = voice(tmp_path, html)
    assert texts(items) == ["hello 1", "hello 2"] and not rejects(items)


def test_voice_page_with_a_tag_that_never_ends_stops_with_a_reject(tmp_path: Path,
                                                                  monkeypatch) -> None:
    """A tag, comment or script that does not end: html.parser rescans it at every read (time
    growing with the square of its length); past a bound the rest is not read, and a reject
    says so (it was read to the end, silently)."""
    monkeypatch.setattr(google_voice, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(google_voice, "MAX_PENDING_CHARS", 8 * 1024)
    items = voice(tmp_path, voice_page(voice_message(1) + "<div " + "x" * 50_000
                                       + voice_message(2)))
    assert texts(items) == ["hello 1"]
    (reject,) = rejects(items)
    assert "does not end within" in reject.reason


def test_voice_message_text_is_held_only_to_its_bound(tmp_path: Path, monkeypatch) -> None:
    """The text of one message is kept only up to the bound while the page is read (it was held
    whole), and the event says how long it was."""
    monkeypatch.setattr(google_voice, "MAX_TEXT_CHARS", 10)
    items = voice(tmp_path, voice_page(voice_message(1).replace("hello 1", "y" * 5_000)))
    (event,) = events(items)
    assert event.text == "y" * 10 and "truncated" in event.flags
    assert "text cut to 10 characters of 5000" in event.notes


# -- Signal's text ---------------------------------------------------------------------------------

def test_signal_damage_is_said(tmp_path: Path) -> None:
    """Bytes that are not UTF-8, NUL bytes and a last line without its line break: each said
    in a source note (all three were silent)."""
    path = tmp_path / "chat.txt"
    path.write_bytes(b"[2024-09-20, 23:11] Chris: caf\xe9\n[2024-09-20, 2\x003:12] Chris: b\n"
                     b"[2024-09-20, 23:13] Sam: cut sh")
    items = parsed(SignalExportParser, source_file(path))
    notes = source_notes(items)
    assert texts(items) == ["caf\ufffd\n[2024-09-20, 2\x003:12] Chris: b", "cut sh"]
    assert any("not valid UTF-8 from byte 30" in n for n in notes)
    assert any("NUL bytes (on line(s) 2)" in n for n in notes)
    assert any("does not end with a line break" in n for n in notes)
    assert any("may be cut short" in n for n in events(items)[-1].notes)


TEXT_EXPORTS = {   # the text formats, each with two messages: "café" and "two"
    "discord-csv": (DiscordMessagesParser, "messages.csv",
                    CSV_HEADER + "1,2024-03-02 21:14:05+00:00,caf\u00e9,\n"
                    "2,2024-03-02 21:14:06+00:00,two,\n"),
    "signal": (SignalExportParser, "chat.txt",
               "[2024-09-20, 23:11] Chris: caf\u00e9\n[2024-09-20, 23:12] Chris: two\n"),
    "google-voice": (GoogleVoiceParser, "Chris - Text - 2024-03-02T21_14_05Z.html",
                     voice_page(voice_message(0).replace("hello 0", "caf\u00e9")
                                + voice_message(1).replace("hello 1", "two"))),
}


@pytest.mark.parametrize("name", TEXT_EXPORTS)
def test_a_text_export_resaved_as_utf16_is_recognised_and_read(tmp_path: Path, name: str) -> None:
    parser, file_name, text = TEXT_EXPORTS[name]
    path = tmp_path / file_name
    path.write_text(text, encoding="utf-16")    # with its byte order mark, as editors write it
    items = parsed(parser, source_file(path))
    assert texts(items) == ["caf\u00e9", "two"] and not rejects(items)
    assert any("read as UTF-16-LE" in note for note in source_notes(items))


# -- a cut-off archive through the pipeline --------------------------------------------------------

def test_a_zip_cut_short_keeps_the_exports_before_the_cut(tmp_path: Path) -> None:
    """A download of a Telegram and a Google Chat export, the zip cut in its last member: the
    members before the cut are read from their own headers (the directory at the end is lost),
    and the build says the zip was cut and which member could not be read."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Telegram/result.json", _telegram(['"one"', '"two"']))
        archive.writestr("Takeout/Google Chat/Groups/DM 1/messages.json", _google_chat(['"x"']))
    whole = buffer.getvalue()
    last = zipfile.ZipFile(io.BytesIO(whole)).infolist()[-1].header_offset
    case = tmp_path / "case"
    (case / "exports").mkdir(parents=True)
    (case / "exports" / "export.zip").write_bytes(whole[:last + 40])
    (case / "case.toml").write_text(
        '[case]\nreference = "Z-1"\n[[person]]\nkey = "victim"\nrole = "victim"\n'
        'identifiers = ["telegram:user5550001"]\n[[source]]\npath = "exports/export.zip"\n'
        'owner = "victim"\n', encoding="utf-8")
    result = run_cli("build", case)
    assert result.exit_code == 3 and "cut short" in result.output
    assert "Takeout/Go" in result.output   # the member the cut fell in, named
    rows = read_jsonl(case / "out" / "timeline.jsonl")
    assert sorted(row["text"] for row in rows) == ["one", "two"]


def test_records_are_well_formed() -> None:
    """The helpers above build what the parsers read (a guard on the builders themselves)."""
    for kind in KINDS.values():
        document = kind.build(['"a"'])
        json.loads(document.split("=", 1)[1] if document.startswith("window") else document)
    check_record(SourceNote("a note"))
