"""Discord data package (parsers/discord.py): synthetic ``messages/c<id>/`` folders built here in
the shapes formats.md §4.8 and purarue/discord_data describe (no public sample of a real package
was found).

Synthetic people only: numeric Discord ids made up for the tests, addresses at example.org.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, parser_for
from courseline.parsers.call_csv import CallCsvParser
from courseline.parsers.discord import DiscordMessagesParser
from tests_support import (events, export_source, parsed, read_jsonl, rejects, run_cli,
                           source_notes)

OWNER_ID = "100000000000000001"
SUSPECT_ID = "200000000000000002"
FRIEND_ID = "300000000000000003"
CHANNEL_ID = "900000000000000009"
PACKAGE = "exports/package.zip"
CSV_HEADER = "ID,Timestamp,Contents,Attachments\n"


# -- builders --------------------------------------------------------------------------------------

def message(message_id: str = "500000000000000001", when: str = "2024-03-02 21:14:05.123000+00:00",
            contents: str = "Please stop", attachments: str = "", **fields: object) -> dict:
    return {"ID": message_id, "Timestamp": when, "Contents": contents,
            "Attachments": attachments, **fields}


def dm_channel(*recipients: str, kind: object = 1) -> dict:
    return {"id": CHANNEL_ID, "type": kind, "recipients": list(recipients or (OWNER_ID,
                                                                              SUSPECT_ID))}


def user_json() -> dict:
    return {"id": OWNER_ID, "username": "sam_owner", "discriminator": "0",
            "email": "sam.owner@example.org", "relationships": [], "payments": []}


class Package:
    """Files of one data package written under tmp_path, each known by its case path."""

    def __init__(self, tmp_path: Path, root: str = f"{PACKAGE}!"):
        self.tmp_path = tmp_path
        self.root = root
        self.copies: dict[str, Path] = {}

    def add(self, relative: str, data: object) -> None:
        case_path = self.root + relative
        path = self.tmp_path / "files" / case_path.replace("!", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes)
                         else data.encode() if isinstance(data, str)
                         else json.dumps(data, indent=2).encode())
        self.copies[case_path] = path

    def channel(self, messages: object, channel: dict | None = None, name: str = "messages.json",
                index: dict | None = None, user: dict | None = None,
                account_folder: str = "account") -> SourceFile:
        folder = f"messages/c{CHANNEL_ID}"
        self.add(f"{folder}/{name}", messages)
        if channel is not None:
            self.add(f"{folder}/channel.json", channel)
        if index is not None:
            self.add("messages/index.json", index)
        if user is not None:
            self.add(f"{account_folder}/user.json", user)
        case_path = f"{self.root}{folder}/{name}"
        return export_source(self.copies[case_path], case_path, self.copies)


def parse(source: SourceFile) -> list:
    return parsed(DiscordMessagesParser, source)


@pytest.fixture
def package(tmp_path: Path) -> Package:
    return Package(tmp_path)


# -- recognising -----------------------------------------------------------------------------------

def test_recognises_both_layouts_and_the_call_csv_parser_does_not(package: Package) -> None:
    as_json = package.channel([message()])
    as_csv = package.channel(CSV_HEADER + "1,2024-03-02 21:14:05+00:00,hi,\n",
                             name="messages.csv")
    assert DiscordMessagesParser.recognises(as_json.sample)
    assert DiscordMessagesParser.recognises(as_csv.sample)
    assert not CallCsvParser.recognises(as_csv.sample)
    assert parser_for(as_csv.sample) is DiscordMessagesParser


@pytest.mark.parametrize("data", [
    b"[]",                                                       # no message to go by
    b'[{"id": "1", "type": 1}]',
    b'{"ID": "1", "Timestamp": "x", "Contents": "y"}',           # not a list
    b"ID,Timestamp,Contents\n1,2,3\n",                            # not the exact header
    b'[{"ID": "1", "Timestamp": "2024-03-02"}]',                  # no Contents
])
def test_does_not_claim_other_files(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "file"
    path.write_bytes(data)
    assert not DiscordMessagesParser.recognises(sample_file(path))


# -- messages.json ---------------------------------------------------------------------------------

def test_a_direct_message_with_the_package_around_it(package: Package) -> None:
    source = package.channel(
        [message(), message("500000000000000002", when="2024-03-02 21:20:00+00:00",
                            contents="", attachments="https://cdn.discordapp.com/a/1/x.png "
                                                     "https://cdn.discordapp.com/a/2/y.pdf")],
        channel=dm_channel(), index={CHANNEL_ID: "Direct Message with alex_s#0000"},
        user=user_json())
    items = parse(source)
    first, second = events(items)
    assert first.locator == "json:[0]" and second.locator == "json:[1]"
    assert first.kind == "message" and first.platform == "discord"
    assert first.time.value == datetime(2024, 3, 2, 21, 14, 5, 123000, tzinfo=UTC)
    assert first.time.basis == "utc" and first.time.precision == "ms"
    assert first.time.source == "Timestamp" and first.time.device_clock is False
    assert first.sender == f"discord:{OWNER_ID}" and first.owner_side is None
    assert first.recipients == [f"discord:{SUSPECT_ID}"] and first.direction == "outgoing"
    assert first.text == "Please stop" and first.notes == []
    assert first.details["message_id"] == "500000000000000001"
    assert first.details["channel"] == {"id": CHANNEL_ID, "type": 1,
                                        "type_name": "direct message",
                                        "index_name": "Direct Message with alex_s#0000"}
    assert first.details["account"] == {"id": OWNER_ID, "username": "sam_owner"}
    assert second.text is None and second.time.precision == "s"
    assert second.details["attachment_urls"] == ["https://cdn.discordapp.com/a/1/x.png",
                                                 "https://cdn.discordapp.com/a/2/y.pdf"]
    assert second.attachments == []
    assert any("holds no files" in n for n in second.notes)
    assert any(f"id {OWNER_ID}" in n for n in source_notes(items))


def test_without_user_json_the_sender_is_left_to_the_core(package: Package) -> None:
    source = package.channel([message()], channel=dm_channel())
    items = parse(source)
    (event,) = events(items)
    assert event.sender is None and event.owner_side == "sender"
    assert event.recipients == [f"discord:{OWNER_ID}", f"discord:{SUSPECT_ID}"]
    assert any("every recipient of the channel is listed" in n for n in event.notes)
    assert any("the account's id is not known" in n for n in source_notes(items))


def test_an_older_package_with_capitalised_account_folder(package: Package) -> None:
    source = package.channel([message()], channel=dm_channel(OWNER_ID, SUSPECT_ID, FRIEND_ID,
                                                             kind=3),
                             user=user_json(), account_folder="Account")
    (event,) = events(parse(source))
    assert event.sender == f"discord:{OWNER_ID}"
    assert event.recipients == [f"discord:{SUSPECT_ID}", f"discord:{FRIEND_ID}"]
    assert event.details["channel"]["type_name"] == "group direct message"


def test_a_server_channel_and_no_channel_json(package: Package) -> None:
    guild = {"id": CHANNEL_ID, "type": 0, "name": "general",
             "guild": {"id": "800000000000000008", "name": "Local club"}}
    (event,) = events(parse(package.channel([message()], channel=guild, user=user_json())))
    assert event.recipients == []
    assert event.details["channel"]["guild"] == {"id": "800000000000000008",
                                                 "name": "Local club"}
    assert event.details["channel"]["name"] == "general"
    other = Package(package.tmp_path / "other")
    items = parse(other.channel([message()]))
    (event,) = events(items)
    assert event.details["channel"] == {"id": CHANNEL_ID}          # from the folder's name
    assert any("channel.json not in the export" in n for n in source_notes(items))


def test_times_with_other_offsets_and_without_a_zone(package: Package) -> None:
    source = package.channel([message(when="2024-03-02 22:14:05+01:00"),
                              message(when="2024-03-02 21:14:05.5"),
                              message(when="2024-03-02T21:14:05Z"),
                              message(when="last Tuesday"), message(when=None), "text"],
                             channel=dm_channel(), user=user_json())
    items = parse(source)
    offset, naive, zulu = events(items)
    assert offset.time.basis == "offset"
    assert offset.time.value == datetime(2024, 3, 2, 22, 14, 5,
                                         tzinfo=timezone(timedelta(hours=1)))
    assert naive.time.basis == "local" and naive.time.value.tzinfo is None
    assert naive.time.precision == "ms"
    assert any("without a zone" in n for n in naive.notes)
    assert zulu.time.basis == "utc" and zulu.time.precision == "s"
    assert [(r.locator, r.reason) for r in rejects(items)] == [
        ("json:[3]", "Timestamp 'last Tuesday' is not a time Discord writes"),
        ("json:[4]", "no Timestamp"),
        ("json:[5]", "not an object")]


def test_a_file_cut_short_and_a_long_message(package: Package, monkeypatch) -> None:
    from courseline.parsers import discord
    monkeypatch.setattr(discord, "MAX_TEXT_CHARS", 4)
    whole = json.dumps([message(), message("2"), message("3")], indent=2).encode()
    items = parse(package.channel(whole[:-30], channel=dm_channel(), user=user_json()))
    assert [e.locator for e in events(items)] == ["json:[0]", "json:[1]"]
    assert events(items)[0].text == "Plea" and events(items)[0].flags == ["truncated"]
    (reject,) = rejects(items)
    assert reject.locator == "json:[2]" and "cut short" in reject.reason


# -- messages.csv ----------------------------------------------------------------------------------

def test_the_older_csv_layout(package: Package) -> None:
    data = (CSV_HEADER
            + "500000000000000001,2021-03-08 21:11:10.355000+00:00,Hello,\n"
            + '500000000000000002,2021-03-08 21:12:00+00:00,"two\nlines, and a comma",'
              "https://cdn.discordapp.com/a/1/x.png\n"
            + "\n"
            + "500000000000000003,2021-03-08 21:13:00+00:00,too,many,fields\n"
            + "500000000000000004,not a time,x,\n")
    items = parse(package.channel(data, channel=dm_channel(), name="messages.csv",
                                  user=user_json()))
    first, second = events(items)
    assert first.locator == "csv:row=1" and second.locator == "csv:row=2"
    assert first.time.value == datetime(2021, 3, 8, 21, 11, 10, 355000, tzinfo=UTC)
    assert second.text == "two\nlines, and a comma"
    assert second.details["attachment_urls"] == ["https://cdn.discordapp.com/a/1/x.png"]
    assert first.recipients == [f"discord:{SUSPECT_ID}"]
    assert [(r.locator, r.reason) for r in rejects(items)] == [
        ("csv:row=3,line=6", "the row has 5 field(s), the header 4"),
        ("csv:row=4,line=7", "Timestamp 'not a time' is not a time Discord writes")]


# -- the whole pipeline ----------------------------------------------------------------------------

def test_a_package_zip_through_the_pipeline(tmp_path: Path) -> None:
    """Through ``courseline build``: channel.json, index.json and account/user.json found inside
    the zip (user.json two levels up, across the archive's name)."""
    case = tmp_path / "case"
    (case / "exports").mkdir(parents=True)
    (case / "case.toml").write_text(
        '[case]\nreference = "DISCORD-1"\n'
        f'[[person]]\nkey = "victim"\nrole = "victim"\nidentifiers = ["discord:{OWNER_ID}"]\n'
        f'[[person]]\nkey = "suspect"\nrole = "suspect"\nidentifiers = ["discord:{SUSPECT_ID}"]\n'
        '[[source]]\npath = "exports/package.zip"\nowner = "victim"\n', encoding="utf-8")
    with zipfile.ZipFile(case / "exports" / "package.zip", "w") as archive:
        archive.writestr("README.txt", "Your data package\n")
        archive.writestr("account/user.json", json.dumps(user_json()))
        archive.writestr("messages/index.json", json.dumps({CHANNEL_ID: "Direct Message"}))
        archive.writestr(f"messages/c{CHANNEL_ID}/channel.json", json.dumps(dm_channel()))
        archive.writestr(f"messages/c{CHANNEL_ID}/messages.json", json.dumps([message()]))
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output
    (row,) = read_jsonl(case / "out" / "timeline.jsonl")
    assert row["sender"] == f"discord:{OWNER_ID}" and row["sender_person"] == "victim"
    assert row["recipient_persons"] == ["suspect"] and row["direction"] == "outgoing"
    assert row["details"]["account"]["username"] == "sam_owner"
