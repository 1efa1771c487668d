"""Discord data package: the account's own messages (``messages/c<channel id>/messages.json``,
or ``messages.csv`` in older packages).

How it is made: in Discord, *User Settings* → *Data & Privacy* (*Privacy & Safety* in older
versions) → *Request all of my Data* (or *Request Data*, ticking *Messages*); Discord e-mails a
link to ``package.zip`` within about 30 days. Add the zip as it is, or the unpacked folder: the
parser needs ``channel.json`` beside each messages file, and reads ``account/user.json`` and
``messages/index.json`` when they are in the export too.

Sources: research formats.md §4.8, which cites purarue/discord_data ``discord_data/parse.py``
(read again for this module: ``account/user.json`` or ``Account/user.json`` for the owner's
``id``; ``messages/index.json`` mapping channel ids to names or null; ``channel.json`` with
``id``, optional ``guild{id, name}``; ``messages.csv`` read with a header row and the columns
``ID, Timestamp, Contents, Attachments``, else ``messages.json`` as a list of objects with those
keys; the timestamp layouts ``%Y-%m-%d %H:%M:%S.%f%z`` and ``%Y-%m-%d %H:%M:%S%z``, and a fallback
that reads a time without a zone as UTC). ``channel.json``'s ``type`` (1 a direct message, 3 a
group direct message) and ``recipients`` (user ids) are from formats.md. Packages of about 2020
(CSV) to 2024 (JSON).

Only the account's **sent** messages are in the package (formats.md §4.8: no author column,
received messages absent): every event is the owner's, direction ``outgoing``.

What is read, one ``message`` event (platform ``discord``) per message:

* Time ``Timestamp``: with an offset of zero (``+00:00``, ``Z``) → basis ``utc``; another offset
  → basis ``offset``; without a zone → basis ``local`` (read in the source's time zone; the event
  says so, because other tools read such times as UTC: give the source ``timezone = "UTC"`` in the
  case file if that is what the package means). Precision ``ms`` when a fraction is written, else
  ``s``. Discord's servers wrote it: a source's clock offset does not apply.
* Sender: ``discord:<id>`` of the account when ``account/user.json`` is found (its username in
  details), else none, with ``owner_side = "sender"`` (the core names the owner from the case
  file). ``user.json`` is two folders up from the messages file (``../../account/user.json``,
  also when the package is a zip whose root holds ``account/`` and ``messages/``).
* Recipients: ``discord:<id>`` of each of ``channel.json``'s ``recipients`` other than the account
  (all of them, and the event says so, when the account's id is not known). A server channel has
  no recipients: the channel and its server are in details, not people.
* Text ``Contents`` (bounded; flag ``truncated``; empty → no text). ``Attachments``: the links
  (space-separated, or a list) in ``details.attachment_urls``; the package holds no files, so
  nothing is hashed. ``ID`` and the channel (``id``, ``type``, ``name``, ``guild``, and its name in
  ``index.json``) are in details.

Recognised by content: a JSON array whose first object has the keys ``ID``, ``Timestamp`` and
``Contents``; a CSV whose first line is exactly ``ID,Timestamp,Contents,Attachments`` (a byte
order mark allowed). The call-log CSV parser does not claim such a file (no number column).

Locators: ``json:[N]`` (0-based), ``csv:row=N`` (the N-th row after the header; ``,line=L`` when a
message of several lines has moved it; ``csv:line=L`` for a line the csv module refuses). A
message without a usable time is a reject naming it; a CSV row with the wrong number of fields, a
field longer than :data:`MAX_CSV_FIELD_CHARS`, an element that is not an object or that is not
JSON (or is nested too deeply to read) is a reject, and the next one is read; a file cut short
gives the messages before the cut and one reject naming the message it ends in (``json:byte=N``
between messages). Bytes that are not UTF-8 are read as U+FFFD and said once in a source note.

Memory: both layouts are read in chunks (``_json_stream``: ``RecordWalk`` for the JSON, whose
messages are decoded one at a time; ``text_lines`` for the CSV), so a channel of any length costs
a chunk and one message (a 500 MB ``messages.json``: about 15 MB). ``channel.json``,
``index.json`` and ``user.json`` are small and read whole, up to :data:`MAX_SMALL_FILE` (the
last two once per package, not once per channel).

Not read: ``activity/`` (analytics events), ``servers/``, ``account/`` beyond the owner's id and
username, ``README.txt``; messages other people sent (not in the package); who the other party of
a direct message is by name (``index.json``'s "Direct Message with …" is kept in details as
written, not read as an identifier).

Checked on synthetic files only (tests/parsers/test_discord.py), built in the shapes formats.md
§4.8 and purarue/discord_data describe: no public sample of a real package was found.
"""

from __future__ import annotations

import codecs
import csv
import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import detail_value, flagged_text, platform_id
from courseline.parsers._json_stream import (JsonStream, RecordWalk, TextChunks,
                                             read_small_json, text_lines)
from courseline.timeline.event import (MAX_TEXT_CHARS, Event, RawTime, Reject, SourceNote,
                                       bounded, clean_text)

PLATFORM = "discord"
CSV_HEADER = ["ID", "Timestamp", "Contents", "Attachments"]
JSON_KEYS = ('"ID"', '"Timestamp"', '"Contents"')
TIMESTAMP_LAYOUTS = ("%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z")
CHANNEL_TYPES = {0: "server text channel", 1: "direct message", 2: "server voice channel",
                 3: "group direct message", 4: "server category", 5: "server announcements",
                 10: "thread", 11: "thread", 12: "private thread", 13: "stage", 15: "forum"}
ACCOUNT_FOLDERS = ("account", "Account")
MAX_LIST_ITEMS = 1_000
CHUNK_BYTES = 1024 * 1024            # read size; memory is about this plus one message
# One CSV field at most (Discord's messages are a few thousand characters): csv's limit is
# process-wide and only ever raised, by the call-log CSV parser to this same bound, so a file
# reads the same whichever parser ran first in the process.
MAX_CSV_FIELD_CHARS = 4 * 1024 * 1024
MAX_SMALL_FILE = 64 * 1024 * 1024     # channel.json, index.json, user.json larger are not read
NAIVE_NOTE = ("Timestamp written without a zone: read in the source's time zone (other tools read "
              "Discord times without a zone as UTC; set the source's timezone to UTC if so)")

_DECODER = json.JSONDecoder()
_HEAD_ARRAY = re.compile(r"\A\ufeff?\s*\[\s*\{")
_CHANNEL_FOLDER = re.compile(r"\Ac?(\d+)\Z")


# -- files of the package --------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _read_small_json(path: str) -> Any:
    """A small JSON file of the package (evidence copies never change: cached by path)."""
    return read_small_json(Path(path), MAX_SMALL_FILE)


def small_json(source: SourceFile, relative: str) -> tuple[Any, str | None]:
    """The JSON of a file beside the source: (value, None), or (None, why not)."""
    path = source.related(relative)
    if path is None:
        return None, "not in the export"
    try:
        return _read_small_json(str(path)), None
    except (OSError, ValueError, RecursionError) as error:
        return None, f"could not be read ({type(error).__name__}: {bounded(str(error), 200)[0]})"


@dataclass(frozen=True)
class Owner:
    user_id: str | None
    username: str | None


def read_owner(source: SourceFile) -> tuple[Owner | None, str]:
    reasons = []
    for folder in ACCOUNT_FOLDERS:
        data, problem = small_json(source, f"../../{folder}/user.json")
        if problem is None and isinstance(data, dict) and platform_id(data.get("id")):
            owner = Owner(platform_id(data.get("id")), _short(data.get("username")))
            return owner, f"the account ({folder}/user.json): id {owner.user_id}"
        reasons.append(f"{folder}/user.json {problem or 'holds no id'}")
    return None, ("the account's id is not known (" + "; ".join(reasons)
                  + "): the sender is left to the case file's owner")


@dataclass(frozen=True)
class Channel:
    channel_id: str | None
    recipients: list[str]
    details: dict[str, Any]


def read_channel(source: SourceFile) -> tuple[Channel, list[str]]:
    """The channel the messages file belongs to, from ``channel.json`` and ``../index.json``."""
    notes: list[str] = []
    folder_name = posixpath.basename(posixpath.dirname(source.case_path)).rsplit("!", 1)[-1]
    from_folder = _CHANNEL_FOLDER.match(folder_name)
    data, problem = small_json(source, "channel.json")
    if problem is not None or not isinstance(data, dict):
        notes.append(f"channel.json {problem or 'is not an object'}: the channel's recipients "
                     "are not known")
        data = {}
    channel_id = platform_id(data.get("id")) or (from_folder.group(1) if from_folder else None)
    details: dict[str, Any] = {"id": channel_id}
    kind = data.get("type")
    if kind is not None:
        details["type"] = detail_value(kind)
        if isinstance(kind, int) and kind in CHANNEL_TYPES:
            details["type_name"] = CHANNEL_TYPES[kind]
    if data.get("name") is not None:
        details["name"] = detail_value(data["name"])
    guild = data.get("guild")
    if isinstance(guild, dict):
        details["guild"] = {"id": platform_id(guild.get("id")), "name": _short(guild.get("name"))}
    index, _ = small_json(source, "../index.json")
    if isinstance(index, dict) and channel_id in index:
        details["index_name"] = detail_value(index[channel_id])
    recipients = []
    raw = data.get("recipients")
    for item in raw[:MAX_LIST_ITEMS] if isinstance(raw, list) else []:
        found = platform_id(item.get("id")) if isinstance(item, dict) else platform_id(item)
        if found is not None and found not in recipients:
            recipients.append(found)
    return Channel(channel_id, recipients, details), notes


# -- small values ----------------------------------------------------------------------------------

def _short(value: Any) -> str | None:
    return bounded(clean_text(value), 1000)[0] if isinstance(value, str) else None


def message_time(value: Any) -> RawTime | str:
    """``Timestamp`` as a raw time, or why it is not one."""
    if not isinstance(value, str) or not value.strip():
        return "no Timestamp"
    written = value.strip()
    moment = None
    for layout in TIMESTAMP_LAYOUTS:
        try:
            moment = datetime.strptime(written, layout)
            break
        except ValueError:
            continue
    if moment is None:
        try:
            moment = datetime.fromisoformat(written)
        except ValueError:
            return f"Timestamp {bounded(value, 100)[0]!r} is not a time Discord writes"
    precision = "ms" if re.search(r":\d\d\.\d", written) else "s"
    offset = moment.utcoffset()
    if offset is None:
        return RawTime(raw=value, value=moment.replace(tzinfo=None), basis="local",
                       precision=precision, source="Timestamp", device_clock=False)
    if offset.total_seconds() == 0:
        return RawTime(raw=value, value=moment.astimezone(UTC), basis="utc", precision=precision,
                       source="Timestamp", device_clock=False)
    return RawTime(raw=value, value=moment, basis="offset", precision=precision,
                   source="Timestamp", device_clock=False)


def attachment_urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [bounded(u, 2000)[0] for u in value.split()][:MAX_LIST_ITEMS]
    if isinstance(value, list):
        return [bounded(u, 2000)[0] for u in value if isinstance(u, str)][:MAX_LIST_ITEMS]
    return []


# -- one message -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    owner: Owner | None
    channel: Channel

    @property
    def sender(self) -> str | None:
        return f"discord:{self.owner.user_id}" if self.owner and self.owner.user_id else None

    def recipients(self) -> list[str]:
        own = self.owner.user_id if self.owner else None
        return [f"discord:{r}" for r in self.channel.recipients if r != own]


def message_event(fields: dict[str, Any], locator: str, context: Context) -> Event | Reject:
    notes: list[str] = []
    flags: list[str] = []
    when = message_time(fields.get("Timestamp"))
    if isinstance(when, str):
        return Reject(locator, when)
    if when.basis == "local":
        notes.append(NAIVE_NOTE)
    text = None
    contents = fields.get("Contents")
    if isinstance(contents, str) and contents != "":
        text = flagged_text(contents, MAX_TEXT_CHARS, flags)
    elif contents not in (None, ""):
        notes.append("Contents is not text: kept in details")
    details: dict[str, Any] = {"message_id": platform_id(fields.get("ID")),
                               "channel": context.channel.details}
    if contents not in (None, "") and not isinstance(contents, str):
        details["Contents"] = detail_value(contents)
    urls = attachment_urls(fields.get("Attachments"))
    if urls:
        details["attachment_urls"] = urls
        notes.append("attachments are links to Discord's servers: the package holds no files")
    other = {k: detail_value(v) for k, v in list(fields.items())[:MAX_LIST_ITEMS]
             if k not in CSV_HEADER}
    if other:
        details["other_fields"] = other
    if context.owner is not None:
        details["account"] = {"id": context.owner.user_id, "username": context.owner.username}
    elif context.channel.recipients:
        notes.append("the account's id is not known: every recipient of the channel is listed, "
                     "the account among them")
    sender = context.sender
    return Event(kind="message", platform=PLATFORM, time=when, locator=locator,
                 direction="outgoing", sender=sender, recipients=context.recipients(), text=text,
                 flags=flags, details=details, notes=notes,
                 owner_side=None if sender else "sender")


# -- the two layouts -------------------------------------------------------------------------------

def json_messages(path: Path, name: str, context: Context
                  ) -> Iterator[Event | Reject | SourceNote]:
    """The messages of ``messages.json``, read in chunks and decoded one at a time."""
    with path.open("rb") as handle:
        walk = RecordWalk(JsonStream(handle, CHUNK_BYTES, errors="replace"), name, "message")
        yield from walk.guarded(_json_records(walk, name, context))


def _json_records(walk: RecordWalk, name: str, context: Context
                  ) -> Iterator[Event | Reject]:
    """Each message of the array. Raises ``WALK_ENDS``."""
    if walk.stream.peek() != "[":
        yield Reject("json:byte=0", f"{name} is not a JSON array: no message read")
        return
    for locator, found in walk.records("json:"):
        if isinstance(found, Reject):
            yield found
        elif isinstance(found.value, dict):
            yield message_event(found.value, locator, context)
        else:
            yield Reject(locator, "not an object")


def csv_messages(path: Path, name: str, context: Context
                 ) -> Iterator[Event | Reject | SourceNote]:
    if csv.field_size_limit() < MAX_CSV_FIELD_CHARS:
        csv.field_size_limit(MAX_CSV_FIELD_CHARS)
    with path.open("rb") as handle:
        chunks = TextChunks(handle, CHUNK_BYTES)
        yield from _csv_rows(csv.reader(text_lines(chunks)), context)
        note = chunks.decoding_note(name)
        if note:
            yield SourceNote(note)


def _csv_rows(reader: Any, context: Context) -> Iterator[Event | Reject]:
    """The rows after the header (checked by ``recognises``). A row the csv module refuses (a
    field over its size limit) is a reject, and reading goes on with the next line."""
    number = 0
    previous_end = 1
    started = False
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            previous_end = reader.line_num
            yield Reject(f"csv:line={reader.line_num}", f"the CSV breaks here: {error}")
            continue
        if not started:
            started = True
            previous_end = reader.line_num
            continue               # the header
        start, previous_end = previous_end + 1, reader.line_num
        if not row:
            continue               # a blank line is no record
        number += 1
        locator = f"csv:row={number}" if start == number + 1 \
            else f"csv:row={number},line={start}"
        if len(row) != len(CSV_HEADER):
            yield Reject(locator, f"the row has {len(row)} field(s), the header "
                                  f"{len(CSV_HEADER)}")
            continue
        yield message_event(dict(zip(CSV_HEADER, row, strict=True)), locator, context)


# -- the parser ------------------------------------------------------------------------------------

class DiscordMessagesParser(Parser):
    NAME = "discord-messages"
    DATA_FORMAT = "Discord data package messages (messages/c<id>/messages.json or .csv)"
    VERSION = "2"
    PRIORITY = 10    # above the call-log CSV parser, should it ever claim the same file

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        # Asked of every file: only one that opens with the CSV header's "ID" or an array is
        # decoded.
        if sample.text_head.removeprefix(codecs.BOM_UTF8).lstrip()[:1] not in (b"[", b"I"):
            return False
        text = sample.text_head.decode("utf-8", "replace")
        first = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
        if first == ",".join(CSV_HEADER):
            return True
        found = _HEAD_ARRAY.match(text)
        if not found:
            return False
        try:
            first, _ = _DECODER.raw_decode(text, found.end() - 1)
        except json.JSONDecodeError:    # the first message runs past the head: its keys lead it
            return all(key in text[:4096] for key in JSON_KEYS)
        return isinstance(first, dict) and {"ID", "Timestamp", "Contents"} <= first.keys()

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        owner, owner_note = read_owner(source)
        channel, channel_notes = read_channel(source)
        yield SourceNote(f"{owner_note}; channel {channel.channel_id} "
                         f"({channel.details.get('type_name', channel.details.get('type'))})")
        for note in channel_notes:
            yield SourceNote(note)
        context = Context(owner, channel)
        head = source.sample.text_head.decode("utf-8", "replace").lstrip("\ufeff")
        if head.startswith(",".join(CSV_HEADER)):
            yield from csv_messages(source.path, source.name, context)
        else:
            yield from json_messages(source.path, source.name, context)
