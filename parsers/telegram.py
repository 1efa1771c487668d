"""Telegram Desktop export, "Machine-readable JSON" (``result.json``): one chat or the account.

How it is made: Telegram Desktop → *Settings* → *Advanced* → *Export Telegram data* (the whole
account: tick *Personal chats*, *Private groups*… and choose *Machine-readable JSON*), or in one
chat ⋮ → *Export chat history* → format *JSON*. The export is a folder: ``result.json`` and the
media folders beside it (``photos/``, ``files/``, ``video_files/``, ``voice_messages/``,
``stickers/``, ``round_video_messages/`` …), named in the JSON by paths relative to it.

Sources: research formats.md §4.2, which cites telegramdesktop/tdesktop
``Telegram/SourceFiles/export/output/export_output_json.cpp`` (``SerializeMessage``,
``JsonWriter::writeDialogStart``; read again for this module: the field names, their order, the
placeholder strings, and ``SerializeString``, which writes control characters other than
newline, carriage return and tab as ``\\xHH`` — not JSON — see below), filippz/telegram_import#2
(placeholders) and telegramdesktop/tdesktop#25000 (``text`` as a string or a list).
Layout written by Telegram Desktop 1.3 (2018) and later; ``date_unixtime`` appeared in 2020
(exports before it have only ``date``).

What is read:

* The document: a single chat is ``{name, type, id, messages: [...]}``; the whole account is
  ``{about, personal_information, …, chats: {about, list: [chat…]}, left_chats: {…}}``.
  Each message of ``messages``, ``chats.list[*].messages`` and ``left_chats.list[*].messages`` is
  one record. ``personal_information`` is reported once as a source note (the account's user id,
  to be given as ``telegram:user<id>`` in the case file). ``about``, ``profile_pictures``,
  ``stories``, ``contacts``, ``frequent_contacts``, ``sessions``, ``web_sessions`` and
  ``other_data`` are stepped over and named in a source note as not read.
* Locators: ``json:messages[12]`` (one chat), ``json:chats.list[3].messages[12]`` and
  ``json:left_chats.list[0].messages[5]`` (whole account), indexes counted from 0 as in JSON.
* ``type: message``: one ``message`` event. ``type: service`` with ``action: phone_call``: a
  ``call`` event, its duration from ``duration_seconds`` and its status from ``discard_reason``:
  ``missed`` → missed; ``busy`` → rejected (Telegram Desktop sends "busy" when the callee
  declines a ringing call, and the server when the callee is on another call); ``hangup``,
  ``disconnect`` or none → answered when a duration is given, else unanswered (``hangup`` with no
  duration: the caller gave up, or the call ended before it connected). ``action: group_call`` (a voice chat
  started in a group): a ``call`` event with its ``duration`` (seconds) and no status. Every other
  service action (``create_group``, ``invite_members``, ``pin_message``, ``clear_history`` …, and
  custom ``information_text`` lines) is a ``message`` event whose text says what happened in
  courseline's words (said in a note) and whose details keep the action's fields verbatim.
  ``type: unsupported`` holds only an ``id`` (no time, no content): a reject saying so.
* Time: ``date_unixtime`` (Unix seconds as a string) → basis ``utc``, precision ``s``. Without it
  (exports before 2020) ``date``, the exporting computer's local wall-clock time with no offset,
  → basis ``local`` (the core reads it in the source's zone: set the source's ``timezone`` to the
  zone of the computer that made the export), with a note on the event and a source note. Both are
  the server's time, not a device clock: ``device_clock`` is false, so a source's clock offset
  does not apply. No usable time: a reject naming the message and both values.
  ``edited_unixtime`` (or ``edited``) → flag ``edited`` and ``details.edited_utc``; only the last
  edit is exported, never earlier versions.
* Sender: ``from_id`` (``user123``, ``channel123``, ``chat123``) → ``telegram:user123``; in
  service messages ``actor_id``. Early exports wrote the bare number: ``telegram:user<n>``, noted.
  Without an id, the display name ``from`` (``actor``) → ``name:<from>``. The display name is kept
  in details (``from`` / ``actor``) in every case.
* Recipients, decided from the chat (its ``type`` and ``id``, which tdesktop writes before the
  messages): a ``personal_chat`` or ``bot_chat`` has two parties and its ``id`` is the other
  party's user id. A message from ``user<id>`` is from that party to the account's owner, whom
  the record leaves out: no recipients, ``owner_side = "recipients"`` (the core names the owner
  from the case file). Any other sender in that chat is the owner writing to the party:
  recipients ``[telegram:user<id>]``. With only display names (no ``from_id``), the sender is
  taken to be the other party when ``from`` equals the chat's ``name`` (both are that person's
  name as the owner's account shows it), else the owner; a note says the decision was by name.
  Groups and channels: the recipient is the group, ``telegram:chat<id>`` for a ``private_group``
  (a basic group), ``telegram:channel<id>`` for supergroups and channels (Telegram's own peer
  kinds, as in ``from_id``); the owner's place among the members is not set (the record does not
  say whether the owner is the sender). ``saved_messages``, ``replies`` and chats without a known
  type: no recipients. The chat's name, type and id are in ``details.chat``.
* Text: a string, or a list of strings and ``{type, text, href | user_id | language …}``
  entities, joined as written; ``text_link`` targets and plain ``link`` URLs are listed in
  ``details.links``, ``mention_name`` user ids in ``details.mentioned_user_ids``. ``text_entities``
  repeats the text as entities and is not kept. Bounded by ``MAX_TEXT_CHARS`` (flag ``truncated``).
* Forwards: ``forwarded_from`` (also when null: a hidden sender) → flag ``forwarded``; replies:
  ``reply_to_message_id`` (and ``reply_to_peer_id``) kept in details; ``location_information`` →
  the event's location. Every other field of the message is kept verbatim in details (strings
  bounded by ``MAX_FIELD_CHARS``, lists by :data:`MAX_LIST_ITEMS`).
* Media: ``photo``, ``file``, ``thumbnail`` and ``contact_vcard`` hold a path relative to
  ``result.json``: the file, found through ``source.related``, is hashed as it is read (any size,
  memory bounded) and attached. A placeholder — "(File not included. Change data exporting
  settings to download.)", "(File exceeds maximum size…)", "(File unavailable, please try again
  later)" — or a file not in the export is listed in ``details.attachments_not_in_export`` with
  the reason; a path that is absolute or climbs out of the export folder (``..``) is not followed.

Streaming: a whole-account ``result.json`` can be hundreds of megabytes, so it is never loaded
whole. The parsers' shared chunked reader (``_json_stream.JsonStream``) reads it in chunks of
:data:`CHUNK_BYTES` bytes; this module walks the objects and arrays around the messages, and each
message is decoded on its own with the standard library's C decoder (``JSONDecoder.raw_decode``);
sections not read are stepped over without being decoded. Memory is bounded by a chunk plus one
message; a message larger than ``_json_stream.MAX_RECORD_CHARS`` is stepped over and rejected.

Damage: a message that is not valid JSON is stepped over (its end found by brackets and quotes)
and rejected with the reason, and the next message is read. Telegram Desktop writes control
characters as ``\\xHH``, which JSON has not: such a message is read after rewriting each as
``\\u00HH`` (and control characters written raw are accepted), said in a note. A file cut short
(an export interrupted, an incomplete copy) gives the messages before the cut and one reject naming
the file, the byte where it ends and the message it ends in (``json:byte=N`` when between
messages); a fault in the structure between messages ends the read the same way (the shared
``_json_stream.RecordWalk``). Bytes that are not UTF-8 (a file re-saved in another encoding) are
read as U+FFFD in the events and said once in a source note with the byte where they start.

Not read: contacts, sessions and the other account sections named above; reactions, polls and
inline buttons are kept verbatim in details but not interpreted; secret chats (never exported);
deleted messages (absent from exports); which account is the owner's (the case file decides,
with the owner's ``telegram:user<id>``).

Checked on real data: the three files in ``realworld/telegram`` (joweich/chat-miner test data,
tests/parsers/test_telegram.py): ``chatminer_tg_single_export.json`` (a reduced single-chat
export: ``messages`` only, no name/type/id, no ``from_id``): 2 messages, one with a plain string
text and one with an entity list; ``chatminer_tg_batch_export.json`` (a reduced whole-account
export: ``chats.list`` only): the same 2 messages; ``chatminer_tg_target.json`` (chat-miner's
expected output, a JSON list) is not recognised. Not checked on a real file (no public sample
holds them; synthetic tests follow tdesktop's writer): service messages and calls, media paths
and placeholders, ``from_id``, edits, forwards, ``\\xHH`` escapes, exports without
``date_unixtime``.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from courseline.collectors.identify import HEAD_BYTES, Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import NOT_IN_EXPORT, flagged_text, related_attachment
from courseline.parsers._json_stream import (
    MAX_KEY_CHARS,
    WALK_ENDS,
    Cut,
    Decoded,
    JsonStream,
    NotJson,
    RecordWalk,
    TooLarge,
    Unreadable,
)
from courseline.timeline.event import (
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    Event,
    Location,
    RawTime,
    Reject,
    SourceNote,
    bounded,
    clean_text,
)

CHUNK_BYTES = 1024 * 1024            # read size; memory is about this plus one message
MAX_LIST_ITEMS = 1_000               # items of a list kept in details; more are counted
MAX_DEPTH_KEPT = 8                   # nesting kept in details; deeper values are summarised
LATEST_UNIX_SECONDS = 253_402_300_799   # 9999-12-31T23:59:59Z

CHAT_TYPES = frozenset({
    "personal_chat", "bot_chat", "private_group", "private_supergroup", "public_supergroup",
    "private_channel", "public_channel", "saved_messages", "replies",
})
TWO_PARTY_CHATS = frozenset({"personal_chat", "bot_chat"})
BASIC_GROUPS = frozenset({"private_group"})
CHANNEL_PEERS = frozenset({"private_supergroup", "public_supergroup", "private_channel",
                           "public_channel"})
MESSAGE_TYPES = frozenset({"message", "service", "unsupported"})
MEDIA_PATH_FIELDS = ("photo", "file", "thumbnail", "contact_vcard")
NOT_KEPT = frozenset({"text", "text_entities"})   # the text is the event's; entities repeat it

# discard_reason → call status when it decides alone (see the module docstring).
DISCARD_STATUS = {"missed": "missed", "busy": "rejected"}

SERVICE_PHRASES = {
    "create_group": "created the group {title}",
    "create_channel": "created the channel {title}",
    "edit_group_title": "renamed the group {title}",
    "edit_group_photo": "changed the group's photo",
    "delete_group_photo": "removed the group's photo",
    "invite_members": "added {members}",
    "remove_members": "removed {members}",
    "join_group_by_link": "joined by an invite link",
    "join_group_by_request": "joined after a request to join was approved",
    "migrate_to_supergroup": "turned the group into a supergroup",
    "migrate_from_group": "made this supergroup from the group {title}",
    "pin_message": "pinned message {message_id}",
    "clear_history": "cleared the chat history",
    "take_screenshot": "took a screenshot",
    "joined_telegram": "joined Telegram",
    "set_messages_ttl": "set messages to delete themselves after {period} s",
    "invite_to_group_call": "invited {members} to the group call",
    "group_call_scheduled": "scheduled a group call",
    "edit_chat_theme": "changed the chat's theme",
    "set_chat_wallpaper": "changed the chat's wallpaper",
    "contact_sign_up": "joined Telegram",
    "requested_phone_number": "asked for a phone number",
    "topic_created": "created the topic {title}",
    "topic_edit": "edited a topic",
}

# -- reading: the shared chunked reader, with tdesktop's escapes repaired --------------------------

# tdesktop's ``\xHH`` for a control character, when its backslash is not itself escaped.
_X_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})")
# Qt's ISODate: 2018-12-05T11:39:10, with an offset or Z only when the exporting clock had one.
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def repair_tdesktop(text: str) -> Decoded | None:
    """A message that is not JSON as written, tried once more before it is given up: tdesktop's
    ``\\xHH`` escapes rewritten as ``\\u00HH``, then control characters written raw accepted."""
    rewritten, repairs = _X_ESCAPE.subn(r"\1\\u00\2", text)
    for strict in (True, False):
        try:
            return Decoded(json.loads(rewritten, strict=strict), repairs, not strict)
        except (json.JSONDecodeError, RecursionError):
            continue
    return None


# -- recognition -----------------------------------------------------------------------------------

def looks_like_export(head: bytes) -> bool:
    """Whether the first bytes of a file are those of a Telegram Desktop JSON export.

    One chat: an object with ``messages`` (a list) whose first message has a Telegram message
    ``type`` and a ``date``/``date_unixtime``, or, when that message does not fit in the head or
    the list is empty, a chat ``type`` and an ``id`` before it. The whole account: ``chats`` or
    ``left_chats`` holding a ``list``, or the ``about`` + ``personal_information`` object that
    starts every whole-account export (its chats may lie beyond the head).
    """
    stream = JsonStream(io.BytesIO(head))
    keys: dict[str, Any] = {}
    try:
        if stream.peek() != "{":
            return False
        for key in stream.members():
            if key == "messages":
                return stream.peek() == "[" and _first_message_fits(stream, keys)
            if key in ("chats", "left_chats"):
                return _holds_list(stream)
            if key in ("name", "type", "id", "about") and stream.peek() not in "[{":
                keys[key] = stream.value(limit=MAX_KEY_CHARS)
            elif key == "personal_information":
                return "about" in keys and stream.peek() == "{"
            else:
                stream.skip()
        return False
    except (Cut, NotJson, TooLarge, Unreadable, json.JSONDecodeError, RecursionError):
        return False   # the head ends (or is not JSON) before anything Telegram's was seen


def _first_message_fits(stream: JsonStream, keys: dict[str, Any]) -> bool:
    chat_like = keys.get("type") in CHAT_TYPES and isinstance(keys.get("id"), int)
    try:
        for _ in stream.items():
            first = stream.value()
            if not isinstance(first, dict):
                return False
            if first.get("type") not in MESSAGE_TYPES:
                return False
            return first.get("type") == "unsupported" or "date_unixtime" in first \
                or isinstance(first.get("date"), str)
        return chat_like          # an empty chat
    except (Cut, TooLarge, json.JSONDecodeError):
        return chat_like          # the first message runs past the head


def _holds_list(stream: JsonStream) -> bool:
    if stream.peek() != "{":
        return False
    try:
        for key in stream.members():
            if key == "list":
                return stream.peek() == "["
            stream.skip()
    except Cut:
        return False
    return False


# -- chats -----------------------------------------------------------------------------------------

@dataclass
class Chat:
    """What the chat around the messages says: its place, name, type and id."""

    prefix: str                  # "" for a single-chat export, "chats.list[3]." otherwise
    name: Any = None
    type: Any = None
    id: Any = None
    _made: tuple[tuple[Any, Any, Any], dict[str, Any]] | None = field(default=None, repr=False,
                                                                     compare=False)

    def as_details(self) -> dict[str, Any]:
        return {k: _kept(v) for k, v in (("name", self.name), ("type", self.type),
                                          ("id", self.id)) if v is not None}

    def details_copy(self) -> dict[str, Any]:
        """``as_details`` made once per chat (its fields come before its messages), copied."""
        made = self._made
        if made is None or made[0] != (self.name, self.type, self.id):
            made = self._made = ((self.name, self.type, self.id), self.as_details())
        return dict(made[1])

    @property
    def bare_id(self) -> str | None:
        if isinstance(self.id, bool):
            return None
        if isinstance(self.id, int):
            return str(self.id)
        if isinstance(self.id, str) and self.id.strip().isdigit():
            return self.id.strip()
        return None

    @property
    def peer(self) -> str | None:
        """``user<id>`` of the other party of a two-party chat."""
        if self.type in TWO_PARTY_CHATS and self.bare_id:
            return f"user{self.bare_id}"
        return None

    @property
    def group(self) -> str | None:
        """``chat<id>`` / ``channel<id>`` of a group or channel."""
        if self.bare_id is None:
            return None
        if self.type in BASIC_GROUPS:
            return f"chat{self.bare_id}"
        if self.type in CHANNEL_PEERS:
            return f"channel{self.bare_id}"
        return None


@dataclass
class Tally:
    """What is said once about the whole file."""

    kind: str = "one chat"
    single: Chat | None = None
    chats: Counter[str] = field(default_factory=Counter)       # chats per list
    local_times: int = 0
    repaired: int = 0
    late_metadata: list[str] = field(default_factory=list)
    not_read: list[str] = field(default_factory=list)
    account: str | None = None


# -- the parser ------------------------------------------------------------------------------------

class TelegramJsonParser(Parser):
    NAME = "telegram-json"
    DATA_FORMAT = "Telegram Desktop export, machine-readable JSON (result.json)"
    VERSION = "2"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        head = sample.text_head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith(b"{"):
            return False
        if not any(word in head for word in (b'"messages"', b'"chats"', b'"left_chats"',
                                             b'"personal_information"')):
            return False
        return looks_like_export(sample.text_head[:HEAD_BYTES])

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        with source.path.open("rb") as handle:
            stream = JsonStream(handle, CHUNK_BYTES, repair=repair_tdesktop)
            reading = _Reading(source, RecordWalk(stream, source.name, noun="message"))
            yield from reading.run()


class _Reading:
    """One pass over one export."""

    def __init__(self, source: SourceFile, walk: RecordWalk):
        self.source = source
        self.walk = walk
        self.stream = walk.stream
        self.tally = Tally()

    def run(self) -> Iterator[Event | Reject | SourceNote]:
        walk = self.walk
        try:
            if self.stream.peek() != "{":
                yield Reject("json:byte=0", f"{self.source.name} is not a JSON object: not a "
                                            "Telegram export after all; nothing read")
                return
            yield from self._document()
            trailing = walk.trailing_note()
            if trailing:
                yield trailing
        except WALK_ENDS as error:
            yield walk.fault(error)
        yield from self._notes()
        decoding = walk.decoding_note()
        if decoding:
            yield decoding

    def _document(self) -> Iterator[Event | Reject | SourceNote]:
        chat = Chat(prefix="")
        self.tally.single = chat
        seen_messages = False
        for key in self.stream.members():
            if key == "messages":
                seen_messages = True
                yield from self._messages(chat)
            elif key in ("name", "type", "id"):
                value = yield from self._meta(f"json:{key}")
                setattr(chat, key, value)
                if seen_messages:
                    self.tally.late_metadata.append("the export")
            elif key in ("chats", "left_chats"):
                self.tally.kind = "whole account"
                yield from self._chat_lists(key)
            elif key == "personal_information":
                self.tally.kind = "whole account"
                info = yield from self._meta("json:personal_information")
                self.tally.account = _account_note(info)
            else:
                self.tally.not_read.append(_kept(key))
                self.stream.skip()

    def _meta(self, locator: str) -> Iterator[Reject]:
        """A small value around the messages (a chat's name, type, id); None if unreadable."""
        found = self.walk.value(locator)
        if isinstance(found, Reject):
            yield found
            return None
        return found.value

    def _chat_lists(self, key: str) -> Iterator[Event | Reject | SourceNote]:
        stream = self.stream
        if stream.peek() != "{":
            self.tally.not_read.append(f"{key} (not an object)")
            stream.skip()
            return
        for inner in stream.members():
            if inner != "list" or stream.peek() != "[":
                stream.skip()
                continue
            for index in stream.items():
                self.tally.chats[key] += 1
                yield from self._chat(f"{key}.list[{index}]")

    def _chat(self, place: str) -> Iterator[Event | Reject | SourceNote]:
        stream = self.stream
        if stream.peek() != "{":
            yield Reject(f"json:{place}", f"not a chat object but {self._shown(place)}: no "
                                          "messages read")
            return
        chat = Chat(prefix=f"{place}.")
        seen_messages = False
        for key in stream.members():
            if key == "messages":
                seen_messages = True
                yield from self._messages(chat)
            elif key in ("name", "type", "id"):
                value = yield from self._meta(f"json:{place}.{key}")
                setattr(chat, key, value)
                if seen_messages:
                    self.tally.late_metadata.append(place)
            else:
                stream.skip()

    def _messages(self, chat: Chat) -> Iterator[Event | Reject]:
        stream = self.stream
        locator = f"json:{chat.prefix}messages"
        if stream.peek() != "[":
            yield Reject(locator, f"messages is not a list but {self._shown(locator)}: nothing "
                                  "read")
            return
        for place, decoded in self.walk.records(locator):
            if isinstance(decoded, Reject):
                yield decoded
                continue
            self.tally.repaired += bool(decoded.repairs or decoded.lenient)
            yield self._convert(decoded, place, chat)

    def _shown(self, locator: str) -> str:
        """What the value that starts here is, read to say so, when it is not what was wanted."""
        found = self.walk.value(locator)
        if isinstance(found, Reject):
            return f"unreadable ({found.reason})"
        return type(found.value).__name__

    def _convert(self, decoded: Decoded, locator: str, chat: Chat) -> Event | Reject:
        try:
            event = message_event(decoded.value, locator, chat, self.source)
        except (ValueError, TypeError, OverflowError) as error:  # a value of a shape never seen
            return Reject(locator, f"could not be read: {type(error).__name__}: {error}")
        if isinstance(event, Event):
            if event.time.basis == "local":
                self.tally.local_times += 1
            if decoded.repairs:
                event.notes.append(f"not valid JSON as written: {decoded.repairs} control "
                                   "character(s) written by Telegram Desktop as \\xHH were read "
                                   "as \\u00HH")
            if decoded.lenient:
                event.notes.append("not valid JSON as written: control characters inside its "
                                   "strings were accepted as written")
        return event

    def _notes(self) -> Iterator[SourceNote]:
        tally = self.tally
        single = tally.single
        if tally.kind == "one chat" and single is not None:
            said = ", ".join(f"{k} {v!r}" for k, v in single.as_details().items())
            yield SourceNote("Telegram Desktop single-chat export"
                             + (f": {bounded(said, 500)[0]}" if said else
                                " without the chat's name, type or id"))
        if tally.kind == "whole account":
            counts = ", ".join(f"{n} in {key}.list" for key, n in sorted(tally.chats.items()))
            yield SourceNote(f"Telegram Desktop whole-account export: "
                             f"{counts or 'no chats'}")
        if tally.account:
            yield SourceNote(tally.account)
        if tally.local_times:
            yield SourceNote(f"{tally.local_times} message(s) have no date_unixtime (an export "
                             "made before 2020): their time is `date`, the local time of the "
                             "computer that made the export, read in the source's time zone")
        if tally.repaired:
            yield SourceNote(f"{tally.repaired} message(s) were not valid JSON as written "
                             "(Telegram Desktop's \\xHH escapes for control characters) and were "
                             "read after repair; each says so")
        if tally.late_metadata:
            yield SourceNote("the chat's name/type/id come after its messages in "
                             f"{', '.join(tally.late_metadata[:20])}: those messages were read "
                             "without them (no recipients)")
        if tally.not_read:
            yield SourceNote("sections not read (they hold no messages): "
                             + ", ".join(tally.not_read[:50]))


def _account_note(info: Any) -> str | None:
    if not isinstance(info, dict):
        return None
    user = info.get("user_id")
    names = " ".join(str(info[k]) for k in ("first_name", "last_name")
                     if isinstance(info.get(k), str) and info[k])
    shown = clean_text(bounded(names, 200)[0] or "")
    if user is None:
        return f"the export's account: {shown or 'not named'} (no user_id)"
    user = _kept(user)
    return (f"the export's account is user{user} ({shown or 'no name'}): its owner's identifier "
            f"is telegram:user{user}")


# -- one message -----------------------------------------------------------------------------------

def message_event(record: Any, locator: str, chat: Chat, source: SourceFile) -> Event | Reject:
    """One message of the export as an event, or a reject saying why it cannot be one."""
    if not isinstance(record, dict):
        return Reject(locator, f"not a message object but a JSON {type(record).__name__}")
    kind = record.get("type")
    if kind == "unsupported":
        return Reject(locator, f"Telegram Desktop exported message id {record.get('id')!r} as "
                               "'unsupported' (a kind of message it cannot export): it holds no "
                               "time and no content")
    notes: list[str] = []
    time = _time(record, notes)
    if time is None:
        return Reject(locator, f"no usable time: date_unixtime {record.get('date_unixtime')!r}, "
                               f"date {record.get('date')!r}")
    details: dict[str, Any] = {_kept(k): _kept(v) for k, v in record.items() if k not in NOT_KEPT}
    details["chat"] = chat.details_copy()
    flags: list[str] = []
    event = Event(kind="message", platform="telegram", time=time, locator=locator,
                  flags=flags, details=details, notes=notes)
    if kind not in ("message", "service"):
        notes.append(f"message type {kind!r} is not one Telegram Desktop writes: read as a "
                     "message")
    if kind == "service":
        _service(event, record)
    else:
        event.sender = _party(record.get("from_id"), record.get("from"), "from", notes)
    _parties(event, record, chat)
    text, links, mentions = message_text(record.get("text"), notes)
    if not isinstance(record.get("text"), (str, list, type(None))):
        details["text_unread"] = _kept(record["text"])
    if text and event.text:      # a service line that also carries a text
        event.text = flagged_text(f"{event.text}\n{text}", MAX_TEXT_CHARS, flags)
    elif text:
        event.text = flagged_text(text, MAX_TEXT_CHARS, flags)
    if links:
        details["links"] = links
    if mentions:
        details["mentioned_user_ids"] = mentions
    _edited(record, flags, details)
    if "forwarded_from" in record:
        flags.append("forwarded")
        if record["forwarded_from"] is None:
            notes.append("forwarded from a sender whose name the export does not give")
    event.location = _location(record.get("location_information"))
    _media(event, record, source)
    return event


def _time(record: dict[str, Any], notes: list[str]) -> RawTime | None:
    unix = record.get("date_unixtime")
    if unix is not None:
        seconds = _unix_seconds(unix)
        if seconds is not None:
            return RawTime(raw=str(unix), value=datetime.fromtimestamp(seconds, UTC), basis="utc",
                           precision="s", source="date_unixtime", device_clock=False)
        notes.append(f"date_unixtime {bounded(str(unix), 100)[0]!r} is not a Unix time: the "
                     "time is read from date")
    written = record.get("date")
    if not isinstance(written, str):
        return None
    if not _ISO_DATE_TIME.match(written.strip()):
        return None
    try:
        wall = datetime.fromisoformat(written.strip())
    except ValueError:
        return None
    if wall.year < 1971:
        return None
    if wall.tzinfo is not None:
        return RawTime(raw=written, value=wall, basis="offset", precision="s", source="date",
                       device_clock=False)
    notes.append("no date_unixtime (an export made before 2020): the time is `date`, the local "
                 "time of the computer that made the export, read in the source's time zone")
    return RawTime(raw=written, value=wall, basis="local", precision="s",
                   source="date (exporting computer's local time)", device_clock=False)


def _unix_seconds(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        seconds = int(value.strip())
    else:
        return None
    return seconds if 0 < seconds <= LATEST_UNIX_SECONDS else None


def _edited(record: dict[str, Any], flags: list[str], details: dict[str, Any]) -> None:
    unix, written = record.get("edited_unixtime"), record.get("edited")
    if unix is None and written is None:
        return
    flags.append("edited")
    seconds = _unix_seconds(unix)
    if seconds is not None:
        details["edited_utc"] = datetime.fromtimestamp(seconds, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")


def _party(peer_id: Any, name: Any, label: str, notes: list[str]) -> str | None:
    """The identifier of a sender: its Telegram id, else its display name."""
    if isinstance(peer_id, str) and peer_id.strip():
        return f"telegram:{clean_text(bounded(peer_id.strip(), 200)[0] or '')}"
    if isinstance(peer_id, int) and not isinstance(peer_id, bool):
        notes.append(f"{label}_id is a bare number (early exports): read as the user id "
                     f"user{peer_id}")
        return f"telegram:user{peer_id}"
    if isinstance(name, str) and name.strip():
        return f"name:{clean_text(bounded(name.strip(), 500)[0])}"
    notes.append(f"no {label}_id and no {label} name: the sender is not known")
    return None


def _parties(event: Event, record: dict[str, Any], chat: Chat) -> None:
    """Recipients from the chat (see the module docstring)."""
    sender = event.sender
    if chat.type in TWO_PARTY_CHATS:
        peer = chat.peer
        if sender is None:
            return
        by_name = not sender.startswith("telegram:")
        if by_name:
            shown = record.get("actor" if record.get("type") == "service" else "from")
            from_peer = isinstance(shown, str) and isinstance(chat.name, str) \
                and shown.strip() == chat.name.strip()
            event.notes.append("the message has no from_id: its sender is taken to be "
                               + ("the chat's other party, whose name the chat bears"
                                  if from_peer else "the account's owner, as the name is not the "
                                                    "chat's"))
        else:
            from_peer = peer is not None and sender == f"telegram:{peer}"
        if from_peer:
            event.owner_side = "recipients"
        elif peer is not None:
            event.recipients = [f"telegram:{peer}"]
        else:
            event.notes.append("the chat has no usable id: its other party is not named")
        return
    group = chat.group
    if group is not None:
        if sender != f"telegram:{group}":
            event.recipients = [f"telegram:{group}"]
        return
    if chat.type is None and chat.id is None:
        event.notes.append("the chat's type and id are not in the export: no recipients")


def _service(event: Event, record: dict[str, Any]) -> None:
    notes, details = event.notes, event.details
    event.sender = _party(record.get("actor_id"), record.get("actor"), "actor", notes)
    action = record.get("action")
    if action == "phone_call":
        event.kind = "call"
        event.duration_s = _whole_seconds(record.get("duration_seconds"), "duration_seconds",
                                          notes)
        event.call_status = _call_status(record.get("discard_reason"), event.duration_s, notes)
        return
    if action == "group_call":
        event.kind = "call"
        raw = record.get("duration", record.get("duration_seconds"))
        event.duration_s = _whole_seconds(raw, "duration", notes)
        notes.append("a group call (voice chat) started in the chat: no call status applies")
        return
    actor = record.get("actor")
    who = actor if isinstance(actor, str) and actor else (
        record.get("actor_id") if isinstance(record.get("actor_id"), str) else "someone")
    if action is None and isinstance(record.get("information_text"), str):
        event.text = flagged_text(record["information_text"], MAX_TEXT_CHARS, event.flags)
        notes.append("a service line of the chat: its text is information_text")
        return
    phrase = SERVICE_PHRASES.get(action) if isinstance(action, str) else None
    if phrase is None:
        phrase = f"service action {action!r}"
    described = phrase.format_map(_Fields(record))
    event.text = flagged_text(f"{who} {described}", MAX_FIELD_CHARS, event.flags)
    details.setdefault("action", action)
    notes.append("a service message: its text was written by courseline from the action and its "
                 "fields (kept verbatim in details), not by a person")


class _Fields(dict):
    """The fields of a service message, formatted for a sentence; absent ones say so."""

    def __init__(self, record: dict[str, Any]):
        super().__init__()
        self._record = record

    def __missing__(self, key: str) -> str:
        value = self._record.get(key)
        if value is None:
            return "(not given)"
        if isinstance(value, list):
            names = ["a deleted account" if item is None else str(item)
                     for item in value[:50]]
            more = f" and {len(value) - 50} more" if len(value) > 50 else ""
            return (", ".join(names) or "nobody") + more
        return bounded(str(value), 500)[0] or ""


def _whole_seconds(value: Any, label: str, notes: list[str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    notes.append(f"{label} {bounded(str(value), 100)[0]!r} is not a number of seconds")
    return None


def _call_status(reason: Any, duration: int | None, notes: list[str]) -> str | None:
    if reason in DISCARD_STATUS:
        return DISCARD_STATUS[reason]
    if reason in ("hangup", "disconnect", None):
        if duration:
            return "answered"
        if reason is None:
            notes.append("no discard_reason and no duration: the call's outcome is not recorded")
            return None
        return "unanswered"
    notes.append(f"discard_reason {bounded(str(reason), 100)[0]!r} is not one Telegram Desktop "
                 "writes: no call status")
    return None


def message_text(value: Any, notes: list[str]) -> tuple[str | None, list[dict[str, Any]],
                                                        list[Any]]:
    """The text of ``text`` (a string, or strings and entity objects), its links and mentions."""
    if value is None or value == "":
        return None, [], []
    if isinstance(value, str):
        return clean_text(value), [], []
    if not isinstance(value, list):
        notes.append(f"text is a JSON {type(value).__name__}, not a string or list: kept in "
                     "details as text_unread")
        return None, [], []
    parts: list[str] = []
    links: list[dict[str, Any]] = []
    mentions: list[Any] = []
    for part in value:
        if isinstance(part, str):
            parts.append(part)
            continue
        if not isinstance(part, dict):
            notes.append(f"a part of the text is a JSON {type(part).__name__}: left out")
            continue
        shown = part.get("text")
        if isinstance(shown, str):
            parts.append(shown)
        kind = part.get("type")
        if kind == "text_link" and "href" in part and len(links) < MAX_LIST_ITEMS:
            links.append({"text": _kept(shown), "href": _kept(part["href"])})
        elif kind == "link" and isinstance(shown, str) and len(links) < MAX_LIST_ITEMS:
            links.append({"href": _kept(shown)})
        elif kind == "mention_name" and "user_id" in part and len(mentions) < MAX_LIST_ITEMS:
            mentions.append(_kept(part["user_id"]))
    text = "".join(parts)
    return (clean_text(text) if text else None), links, mentions


def _location(value: Any) -> Location | None:
    if not isinstance(value, dict):
        return None
    lat, lon = value.get("latitude"), value.get("longitude")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
               for x in (lat, lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Location(lat=float(lat), lon=float(lon), basis="location sent in the message")


# -- media -----------------------------------------------------------------------------------------

def _media(event: Event, record: dict[str, Any], source: SourceFile) -> None:
    missing: list[dict[str, Any]] = []
    for name in MEDIA_PATH_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            missing.append({"field": name, "reason": "the path is not a string"})
            continue
        if _is_placeholder(value):
            missing.append({"field": name, "reason": _kept(value)})
            continue
        relative = _safe_relative(value)
        if relative is None:
            missing.append({"field": name, "path": _kept(value),
                            "reason": "the path leaves the export folder: not followed"})
            continue
        file_name = PurePosixPath(relative).name
        attachment, status = related_attachment(source, relative, file_name)
        if attachment is not None:
            event.attachments.append(attachment)
        elif status == NOT_IN_EXPORT:
            missing.append({"field": name, "path": _kept(value),
                            "reason": "the file is not in the export"})
        else:
            event.notes.append(f"{file_name} is {status}")
            missing.append({"field": name, "path": _kept(value),
                            "reason": "the file is in the export but could not be read"})
    if missing:
        event.details["attachments_not_in_export"] = missing


def _is_placeholder(value: str) -> bool:
    """tdesktop's "(File not included. …)", "(File exceeds maximum size. …)", "(File
    unavailable, please try again later)" (and "(Photo …)" forms), written instead of a path."""
    text = value.strip()
    return text.startswith("(") and text.endswith(")")


def _safe_relative(value: str) -> str | None:
    path = value.strip().replace("\\", "/")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return None
    parts = PurePosixPath(path).parts
    if not parts or ".." in parts:
        return None
    return "/".join(part for part in parts if part != ".")


# -- bounding --------------------------------------------------------------------------------------

def _kept(value: Any, depth: int = 0) -> Any:
    """A verbatim value for details, bounded: long strings cut, long lists shortened, deep
    nesting summarised, and numbers JSON cannot hold (NaN, Infinity) written as text."""
    if isinstance(value, str):
        kept, cut = bounded(clean_text(value), MAX_FIELD_CHARS)
        return kept + " […cut]" if cut else kept
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= MAX_DEPTH_KEPT:
        return f"(a nested {type(value).__name__}, not kept)"
    if isinstance(value, list):
        kept_list = [_kept(item, depth + 1) for item in value[:MAX_LIST_ITEMS]]
        if len(value) > MAX_LIST_ITEMS:
            kept_list.append(f"(and {len(value) - MAX_LIST_ITEMS} more, not kept)")
        return kept_list
    if isinstance(value, dict):
        items = list(value.items())
        kept_dict = {_kept(str(k)): _kept(v, depth + 1) for k, v in items[:MAX_LIST_ITEMS]}
        if len(items) > MAX_LIST_ITEMS:
            kept_dict["(not kept)"] = f"{len(items) - MAX_LIST_ITEMS} more keys"
        return kept_dict
    return repr(value)


__all__ = [
    "TelegramJsonParser",
    "looks_like_export",
    "message_event",
    "message_text",
]
