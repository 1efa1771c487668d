"""Snapchat "My Data" download: the chat history (``json/chat_history.json``).

How it is made: in the Snapchat app, profile → ⚙ *Settings* → *Privacy Controls* → *My Data*
(or accounts.snapchat.com → *My Data*), tick *Chat History* (and *Export JSON files*), choose
the dates, *Submit*; Snapchat e-mails a link to ``mydata~<id>.zip``. Add the zip as it is, or
its ``json/chat_history.json``.

Sources: research formats.md §4.6 (both layouts and their fields), §0.3 and pitfall 18 of §6
(``Created(microseconds)`` holds Unix **milliseconds**, whatever its name says; ``Content`` is
null for chats nobody saved). The field names of the newer layout come from public code found by
code search (TypeScript types of the export, a Python media matcher with the comment that the
field "is misnamed as microseconds", test fixtures with ``"Created(microseconds)":
1788611483050`` beside ``"Created": "2026-09-05 12:00:00 UTC"``; repository names not returned);
the older layout from raleighlittles/Snapchat-Chats-And-Location-Analyzer
``snapchat_chat_parser.py``. Layouts of about 2019-2022 (older) and 2023 onwards (newer).

Recognised by content: a JSON object whose head holds a message's fields (``"Media Type"`` and
``"Created"`` with ``"From"`` or ``"To"``, or ``"Created(microseconds)"``). A ``snap_history.json``
written in the same shapes (snaps instead of chats) is read the same way: a snap is a message
whose content Snapchat never keeps.

What is read, one ``message`` event (platform ``snapchat``) per record:

* Newer layout: an object keyed by conversation (the other party's username, or an id for a
  group) → a list of ``{From, "Media Type", Created, Content, "Conversation Title", IsSender,
  "Created(microseconds)", IsSaved, "Media IDs"}``.
  Time: ``Created(microseconds)`` read as Unix milliseconds → basis ``utc``, precision ``ms`` (a
  value too large to be milliseconds is read as microseconds, one too small as seconds, and the
  event says so); it is checked against ``Created`` and a disagreement of a second or more is
  noted on the event. Without it, ``Created`` (``YYYY-MM-DD HH:MM:SS UTC``) → basis ``utc``,
  precision ``s``. Snapchat's servers wrote both: a source's clock offset does not apply.
  Sender ``snapchat:<From>``; ``IsSender`` says who sent it relative to the account: true →
  outgoing, false → incoming. Recipients: in a one-to-one conversation (no ``Conversation
  Title``), when the account sent it, the other party (the one other ``From`` seen in the
  conversation, else the conversation's key); when the other party sent it, the account, whom
  the record leaves out (``owner_side = "recipients"``: the core names the owner from the case
  file). In a group, every other ``From`` seen in the conversation (the group's membership is
  not in the file; the event says so); the account is among them when one of its own records
  shows its username, else it is left to the core (``owner_side = "recipients"``). A sent
  record with no ``From`` has no sender and ``owner_side = "sender"``; a received one-to-one
  record with no ``From`` has the other party as sender, and says so.
  ``Content`` → the text (bounded; flag ``truncated``); null → no text, and a note "not saved:
  Snapchat keeps no content". ``Media Type``, ``IsSaved``, ``Media IDs`` (split on ``|``), the
  conversation key and title are in details; any other field is kept verbatim.
* Older layout: ``{"Received Saved Chat History": [{From, "Media Type", Created, Text}],
  "Sent Saved Chat History" / "Sent Chat History": [{To, …}]}`` (and the same with ``Snap``):
  received → sender ``snapchat:<From>``, incoming, the account as recipient
  (``owner_side = "recipients"``); sent → recipients ``snapchat:<To>``, outgoing, no sender
  (``owner_side = "sender"``). Time ``Created`` as above. ``Text`` is HTML-unescaped (this layout
  writes ``&#39;``), said on the event when it changed anything.

Locators: ``json:["<conversation or section>"][N]``, N the 0-based index in its list. A record
without a usable time is a reject naming it and the values; a conversation whose value is not a
list, or an element that is not an object, is a reject; a record that is not JSON (or is nested
too deeply to read) is a reject naming it, and the next is read; a file cut short gives every
record before the cut (those of the conversation it ends in among them) and one reject naming the
record it ends in and the byte (``json:byte=N`` between records). Bytes that are not UTF-8 are
read as U+FFFD and said once in a source note.

Memory: the file is read in chunks (``_json_stream.RecordWalk``) and each record is decoded on
its own, so a history of any size costs a chunk and one record (a 500 MB ``chat_history.json``:
about 15 MB; read whole it took nearly three times the file's size). It is read twice: the first
pass learns each conversation's title and senders (up to :data:`MAX_LIST_ITEMS`), which the
recipients of its records need, wherever in the conversation they appear.

Not read: ``chat_media/`` (the files ``Media IDs`` point to: their naming is not documented in
the sources consulted, and ``source.related`` cannot list a folder), ``talk_history.json``
(calls), ``memories_history.json``, friends, location and the HTML twins of the JSON files. Which
username is the account's is not in the file except as the ``From`` of its own sent records.

Checked on synthetic files only (tests/parsers/test_snapchat.py), built in the shapes
formats.md §4.6 describes: no public sample of a real download was found.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import detail_value, flagged_text
from courseline.parsers._json_stream import (WALK_ENDS, Decoded, JsonStream, RecordWalk,
                                             json_head)
from courseline.timeline.event import (MAX_TEXT_CHARS, Event, RawTime, Reject, SourceNote,
                                       bounded, clean_text)

PLATFORM = "snapchat"
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CREATED_LAYOUT = "%Y-%m-%d %H:%M:%S UTC"
EPOCH_FIELD = "Created(microseconds)"
# The older layout's sections: which side the account is on in each.
SENT_SECTIONS = frozenset({"Sent Chat History", "Sent Saved Chat History", "Sent Snap History"})
RECEIVED_SECTIONS = frozenset({"Received Chat History", "Received Saved Chat History",
                               "Received Snap History"})
NEWER_FIELDS = frozenset({"From", "Media Type", "Created", "Content", "Conversation Title",
                          "IsSender", "isSender", EPOCH_FIELD, "IsSaved", "Media IDs"})
OLDER_FIELDS = frozenset({"From", "To", "Media Type", "Created", "Text"})
# Unix values by magnitude: below 1e11 seconds (before 5138 as seconds, 1973 as ms), below 1e14
# milliseconds (before 5138), else microseconds.
MS_FROM, US_FROM = 10**11, 10**14
LATEST_US = 253_402_300_799_999_999          # 9999-12-31T23:59:59.999999Z
NOT_SAVED = "not saved: Snapchat keeps no content"
GROUP_NOTE = ("group recipients: every other sender seen in this conversation; the group's "
              "membership is not in the file")
MAX_LIST_ITEMS = 1_000               # details kept per record; senders kept per conversation
CHUNK_BYTES = 1024 * 1024            # read size; memory is about this plus one record

_HEAD_OBJECT = json_head(rb"\{")


# -- reading the file ------------------------------------------------------------------------------

def locator_of(key: str, index: int | None = None) -> str:
    where = f"json:[{json.dumps(bounded(key, 1000)[0], ensure_ascii=False)}]"
    return where if index is None else f"{where}[{index}]"


@contextmanager
def _walk(source: SourceFile) -> Iterator[RecordWalk]:
    with source.path.open("rb") as handle:
        yield RecordWalk(JsonStream(handle, CHUNK_BYTES, errors="replace"), source.name)


def _is_section(key: str) -> bool:
    return key in SENT_SECTIONS or key in RECEIVED_SECTIONS


# -- times -----------------------------------------------------------------------------------------

def created_time(value: Any) -> RawTime | str:
    """``Created`` (``2024-03-02 21:14:05 UTC``) as a UTC time, or why it is not one."""
    if not isinstance(value, str) or not value.strip():
        return "no Created"
    try:
        moment = datetime.strptime(value.strip(), CREATED_LAYOUT).replace(tzinfo=UTC)
    except ValueError:
        return f"Created {bounded(value, 100)[0]!r} is not 'YYYY-MM-DD HH:MM:SS UTC'"
    return RawTime(raw=value, value=moment, basis="utc", precision="s", source="Created",
                   device_clock=False)


def epoch_time(value: Any, notes: list[str]) -> RawTime | str | None:
    """``Created(microseconds)`` as a UTC time (Unix ms, unit checked by magnitude); None when
    absent, a reason when present and unusable."""
    if value is None or value == "":
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is None or number <= 0:
        return f"{EPOCH_FIELD} {bounded(str(value), 100)[0]!r} is not a positive whole number"
    if number < MS_FROM:
        micros, unit = number * 1_000_000, "s"
    elif number < US_FROM:
        micros, unit = number * 1_000, "ms"
    else:
        micros, unit = number, "us"
    if micros > LATEST_US:
        return f"{EPOCH_FIELD} {number} is beyond the calendar"
    if unit != "ms":
        word = "seconds" if unit == "s" else "microseconds"
        notes.append(f"{EPOCH_FIELD} {number} read as Unix {word} (decided by its size; "
                     "Snapchat normally writes milliseconds)")
    return RawTime(raw=str(value), value=UNIX_EPOCH + timedelta(microseconds=micros),
                   basis="utc", precision="s" if unit == "s" else "ms", source=EPOCH_FIELD,
                   device_clock=False)


def record_time(record: dict[str, Any], notes: list[str]) -> RawTime | str:
    """The record's time: ``Created(microseconds)`` checked against ``Created``, else
    ``Created``; or why there is none."""
    created = created_time(record.get("Created")) if "Created" in record else None
    epoch = epoch_time(record.get(EPOCH_FIELD), notes)
    if isinstance(epoch, RawTime):
        if isinstance(created, RawTime) and created.value and epoch.value:
            gap = (epoch.value - created.value).total_seconds()
            if not 0 <= gap < 1:
                notes.append(f"{EPOCH_FIELD} and Created disagree by {gap:+.3f} s (Created "
                             f"{created.raw!r}); {EPOCH_FIELD} is used")
        return epoch
    if isinstance(created, RawTime):
        if isinstance(epoch, str):
            notes.append(f"{epoch}: Created used")
        return created
    reasons = [r for r in (epoch, created) if isinstance(r, str)]
    return "; ".join(reasons) or f"no {EPOCH_FIELD} and no Created"


# -- small values ----------------------------------------------------------------------------------

def _name(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return bounded(clean_text(value.strip()), 200)[0]
    return None


def _text(value: Any, flags: list[str]) -> str | None:
    if not isinstance(value, str) or value == "":
        return None
    return flagged_text(value, MAX_TEXT_CHARS, flags)


def _media_ids(value: Any) -> list[str] | Any:
    if isinstance(value, str):
        return [bounded(part.strip(), 200)[0] for part in value.split("|") if part.strip()]
    return detail_value(value)


# -- the newer layout: conversations ---------------------------------------------------------------

@dataclass
class Conversation:
    key: str
    title: str | None
    senders: list[str] = field(default_factory=list)   # every From seen, in order
    own: set[str] = field(default_factory=set)          # the From of the account's own records

    @property
    def group(self) -> bool:
        return self.title is not None

    def add(self, record: dict[str, Any]) -> None:
        """What one record shows: the conversation's title, a sender, the account's username."""
        self.title = self.title or _name(record.get("Conversation Title"))
        sender = _name(record.get("From"))
        if sender is not None and sender not in self.senders \
                and len(self.senders) < MAX_LIST_ITEMS:
            self.senders.append(sender)
        if sender is not None and is_sender_of(record) is True:
            self.own.add(sender)

    @property
    def other_party(self) -> str:
        """Who a one-to-one conversation is with: the one sender seen other than the account,
        else the conversation's key (the other party's username in the files described)."""
        others = [s for s in self.senders if s not in self.own]
        return others[0] if len(others) == 1 else (_name(self.key) or self.key)


def conversations_of(source: SourceFile) -> dict[int, Conversation]:
    """First pass: each conversation (by its place among the file's keys) with its title and
    the senders its records show, wherever in the conversation they are."""
    found: dict[int, Conversation] = {}
    with _walk(source) as walk:
        stream = walk.stream
        try:
            if stream.peek() != "{":
                return found
            for ordinal, key in enumerate(stream.members()):
                if _is_section(key) or stream.peek() != "[":
                    stream.skip()
                    continue
                conversation = found[ordinal] = Conversation(key, None)
                for _, record in walk.records(locator_of(key)):
                    if isinstance(record, Decoded) and isinstance(record.value, dict):
                        conversation.add(record.value)
        except WALK_ENDS:
            pass                     # said by the second pass, which meets the same fault
    return found


def newer_record(record: dict[str, Any], locator: str,
                 conversation: Conversation) -> Event | Reject:
    notes: list[str] = []
    flags: list[str] = []
    when = record_time(record, notes)
    if isinstance(when, str):
        return Reject(locator, when)
    sender = _name(record.get("From"))
    is_sender = is_sender_of(record)
    details: dict[str, Any] = {"conversation": bounded(conversation.key, 1000)[0],
                               "conversation_title": conversation.title}
    for name in ("Media Type", "IsSaved", "IsSender", "isSender"):
        if name in record:
            details[name] = detail_value(record[name])
    if "Media IDs" in record:
        details["Media IDs"] = _media_ids(record["Media IDs"])
    other = {k: detail_value(v) for k, v in list(record.items())[:MAX_LIST_ITEMS]
             if k not in NEWER_FIELDS}
    if other:
        details["other_fields"] = other
    content = record.get("Content")
    text = _text(content, flags)
    if content is None:
        notes.append(NOT_SAVED)
    direction = {True: "outgoing", False: "incoming"}.get(is_sender, "unknown") \
        if isinstance(is_sender, bool) else "unknown"
    if direction == "unknown":
        notes.append("IsSender missing or not true/false: who sent it relative to the account "
                     "is left to the case file")
    recipients, owner_side = recipients_of(conversation, sender, direction, notes)
    if sender is None and direction == "outgoing":
        owner_side = "sender"
    elif sender is None and direction == "incoming" and not conversation.group:
        sender = _name(conversation.key)   # one-to-one: the key is the other party
        notes.append("no From: the sender is the conversation's key (the other party)")
    return Event(kind="message", platform=PLATFORM, time=when, locator=locator,
                 direction=direction, sender=_snap(sender), recipients=recipients, text=text,
                 flags=flags, details=details, notes=notes, owner_side=owner_side)


def recipients_of(conversation: Conversation, sender: str | None, direction: str,
                  notes: list[str]) -> tuple[list[str], str | None]:
    """Who a record went to, and whether the account must be added by the core."""
    if not conversation.group:
        if direction == "outgoing":
            return [f"snapchat:{conversation.other_party}"], None
        if direction == "incoming":
            return [], "recipients"
        return [], None
    notes.append(GROUP_NOTE)
    others = [f"snapchat:{s}" for s in conversation.senders if s != sender]
    account_known = bool(conversation.own)
    # The account is in every group it has a history of: the core adds it when no record of
    # its own shows its username.
    owner_side = "recipients" if direction == "incoming" and not account_known else None
    return others, owner_side


def is_sender_of(record: dict[str, Any]) -> Any:
    """``IsSender`` (``isSender`` in some files)."""
    return record.get("IsSender", record.get("isSender"))


def _snap(name: str | None) -> str | None:
    return f"snapchat:{name}" if name else None


# -- the older layout: sent and received sections --------------------------------------------------

def older_record(record: dict[str, Any], locator: str, sent: bool, section: str) -> Event | Reject:
    notes: list[str] = []
    flags: list[str] = []
    when = record_time(record, notes)
    if isinstance(when, str):
        return Reject(locator, when)
    party = _name(record.get("To" if sent else "From"))
    if party is None:
        notes.append(f"no {'To' if sent else 'From'}: the other party is not known")
    raw_text = record.get("Text")
    text = raw_text
    if isinstance(raw_text, str):
        text = html.unescape(raw_text)
        if text != raw_text:
            notes.append("text HTML-unescaped (this layout writes &#39; and other entities)")
    text = _text(text, flags)
    if raw_text is None:
        notes.append(NOT_SAVED)
    details: dict[str, Any] = {"section": section}
    if "Media Type" in record:
        details["Media Type"] = detail_value(record["Media Type"])
    other = {k: detail_value(v) for k, v in list(record.items())[:MAX_LIST_ITEMS]
             if k not in OLDER_FIELDS}
    if other:
        details["other_fields"] = other
    if sent:
        return Event(kind="message", platform=PLATFORM, time=when, locator=locator,
                     direction="outgoing", recipients=[f"snapchat:{party}"] if party else [],
                     text=text, flags=flags, details=details, notes=notes, owner_side="sender")
    return Event(kind="message", platform=PLATFORM, time=when, locator=locator,
                 direction="incoming", sender=_snap(party), text=text, flags=flags,
                 details=details, notes=notes, owner_side="recipients")


# -- the parser ------------------------------------------------------------------------------------

class SnapchatChatParser(Parser):
    NAME = "snapchat-chat-json"
    DATA_FORMAT = "Snapchat My Data chat history (json/chat_history.json)"
    VERSION = "2"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if not _HEAD_OBJECT.match(sample.text_head):
            return False
        text = sample.text_head.decode("utf-8", "replace")
        if f'"{EPOCH_FIELD}"' in text:
            return True
        return ('"Media Type"' in text and '"Created"' in text
                and ('"From"' in text or '"To"' in text))

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        conversations = conversations_of(source)
        layouts: set[str] = set()
        with _walk(source) as walk:
            try:
                if walk.stream.peek() != "{":
                    yield Reject("json:byte=0", f"{source.name} is not a JSON object: nothing read")
                else:
                    for ordinal, key in enumerate(walk.stream.members()):
                        layouts.add("older (sent and received sections)" if _is_section(key)
                                    else "newer (keyed by conversation)")
                        yield from _member(walk, key, conversations.get(ordinal))
                    trailing = walk.trailing_note()
                    if trailing:
                        yield trailing
            except WALK_ENDS as error:
                yield walk.fault(error)
            yield SourceNote(f"layout: {', '.join(sorted(layouts)) or 'no records'}; "
                             f"{EPOCH_FIELD} is read as Unix milliseconds (the field's name "
                             "notwithstanding; unit checked by size on each record)")
            decoding = walk.decoding_note()
            if decoding:
                yield decoding


def _member(walk: RecordWalk, key: str, conversation: Conversation | None
            ) -> Iterator[Event | Reject]:
    """The records of one conversation (or one section of the older layout), each decoded on
    its own. Raises ``WALK_ENDS``."""
    locator = locator_of(key)
    if walk.stream.peek() != "[":
        found = walk.value(locator)
        yield found if isinstance(found, Reject) else Reject(locator, "not a list of records")
        return
    for place, found in walk.records(locator):
        if isinstance(found, Reject):
            yield found
        elif not isinstance(found.value, dict):
            yield Reject(place, "not an object")
        elif _is_section(key):
            yield older_record(found.value, place, key in SENT_SECTIONS, key)
        else:
            yield newer_record(found.value, place, conversation or Conversation(key, None))
