"""Google Chat in a Google Takeout export: ``Google Chat/Groups/<DM|Space> <id>/messages.json``.

How it is made: takeout.google.com → *Deselect all* → tick *Google Chat* → *Next step* → *Create
export*; the zip holds ``Takeout/Google Chat/Groups/<DM|Space> <id>/`` with ``messages.json``,
``group_info.json`` and the attached files (``File-<original name>``) of each conversation, and
``Users/User <id>/user_info.json``. Google Chat replaced Hangouts in Takeout in 2023; the same
layout is written for older Hangouts conversations converted to Chat (the real samples go back to
2015).

Sources: research formats.md §4.7 (fields, the U+202F before AM/PM, the sample files); the
layouts of ``created_date``, ``attached_files`` and ``annotations`` described again in the public
"Google Chat Messages Schema" notes and the mrwoof/google-chat-takeout-reader viewer (which both
say that Takeout writes ``?`` and ``:`` of an ``export_name`` as ``_`` on disk, that a missing
extension is written ``.jpg``, and that the second and later files of one name in a conversation
are numbered ``File-x(1).jpg``, ``File-x(2).jpg`` in order); a public transcript script
(``process_takeout.py``) reads deleted messages as ``message_state: "DELETED"`` with
``deletion_metadata.deletion_type`` and shows a British account's dates as ``Thursday, 8 August
2024 at 12:04:08 UTC`` (day first, 24-hour clock). None of those three was seen in a real file.

What is read, one ``message`` event (platform ``google-chat``) per element of ``messages``:

* Time: ``created_date``, an English sentence written by Google's servers, read exactly: US
  layout ``Monday, January 7, 2019 at 7:25:08\\u202fPM UTC`` (U+202F, NBSP or a space before
  AM/PM) and the day-first 24-hour layout ``Thursday, 8 August 2024 at 12:04:08 UTC``. The zone
  word ``UTC`` (or ``GMT``) gives basis ``utc``; ``UTC+1`` / ``GMT-07:00`` give basis ``offset``;
  any other zone word, a month name that is not English or a date that does not exist is a reject
  naming the record and the value (nothing is guessed). Precision ``s``; ``device_clock`` false
  (the server wrote it). A weekday that does not match the date is noted, not corrected.
* Sender: ``email:<creator.email>``, or ``name:<creator.name>`` without an e-mail; the name and
  ``user_type`` are kept in details. Recipients: the members listed in ``group_info.json`` beside
  the file (read through ``source.related``) other than the creator, matched by e-mail (by name
  when either has no e-mail). Direction is left to the core (the owner's e-mail decides it).
* Text: ``text``, bounded by ``MAX_TEXT_CHARS`` (flag ``truncated``).
* ``attached_files``: each ``export_name`` is looked up beside ``messages.json`` (with the
  on-disk spellings above, each derivation noted on the event) and hashed as it is read; a file
  not in the export is listed in ``details.attachments_not_in_export``. A name that is absolute
  or holds a path separator or ``..`` is not followed.
* ``annotations``: link targets (``url_metadata.url``) and titles in ``details.links``; other
  annotations (Drive files, YouTube, formatting) kept verbatim in ``details.annotations``.
* ``message_id`` (used by the core to merge duplicates), ``topic_id``, ``reactions`` and any
  other field kept verbatim in details (strings bounded by ``MAX_FIELD_CHARS``). A
  ``message_state`` of ``DELETED`` or a ``deletion_metadata`` gives flag ``deleted``.
* The conversation: its folder (``DM …`` / ``Space …``) and the ``name`` from ``group_info.json``
  in ``details.conversation``.

Not read: ``Users/…/user_info.json`` (which would name the account's owner: it is not beside the
messages, and the case file names the owner); Hangouts ``Hangouts.json`` (another format);
``created_date`` strings in other languages (rejected with the reason).

Streaming: ``messages.json`` is one JSON document that can be tens of megabytes for a long
conversation, so it is never loaded whole: the parsers' shared chunked reader
(``_json_stream.JsonStream``, walked by its ``RecordWalk``) reads it in chunks of
:data:`CHUNK_BYTES` and decodes one message at a time with the standard library's C decoder
(``JSONDecoder.raw_decode``). Memory is bounded by a chunk plus one message (a 500 MB file: about
20 MB). ``group_info.json`` (a few hundred bytes) is read whole, up to
:data:`MAX_GROUP_INFO_BYTES`. A message that is not JSON, nested too deeply to read or larger
than :data:`MAX_MESSAGE_CHARS` is a reject naming it, and the next is read. A file cut short (or
whose structure between messages breaks) gives the messages before that point and one reject
naming the message it ends in and the byte (``json:byte=N`` between messages). Bytes that are not
UTF-8 are read as U+FFFD and said once in a source note.

Locators: ``json:messages[N]``, N counted from 0 as in JSON (jq's ``.messages[N]``);
``json:file`` for the file as a whole.

Checked on real data: the four ``messages.json`` files in
``realworld/google_takeout/chat/wjcarpenter/Google Chat/Groups`` (wjcarpenter/gvoice-sms-takeout-
xml test data: names, e-mail addresses and attachments faked by its author;
tests/parsers/test_google_chat.py): 51, 2, 9 and 5 messages, every ``created_date`` in the US
layout with U+202F, two DMs and two Spaces with their ``group_info.json``, attachments named in
the JSON but not in the export (among them one ``?account_id=0`` name and names used by two
messages), URL and BOLD annotations. Not checked on a real file (synthetic tests only): the
day-first layout, other zone words, deleted messages, reactions, attached files present in the
export.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import (
    NOT_IN_EXPORT,
    SPACES,
    flagged_text,
    followable,
    related_attachment,
)
from courseline.parsers._dates import ENGLISH_MONTHS
from courseline.parsers._json_stream import (WALK_ENDS, JsonStream, RecordWalk, json_head,
                                             read_small_json)
from courseline.timeline.event import (
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    Event,
    RawTime,
    Reject,
    SourceNote,
    bounded,
    clean_text,
)

CHUNK_BYTES = 1024 * 1024            # read size; memory is about this plus one message
MAX_MESSAGE_CHARS = 64 * 1024 * 1024  # one message larger than this ends the read
MAX_GROUP_INFO_BYTES = 16 * 1024 * 1024
MAX_LIST_ITEMS = 1_000               # items kept of a list copied verbatim into details
MAX_DEPTH = 12                       # nesting kept of a value copied verbatim into details

# -- values kept in details -----------------------------------------------------------------------


def verbatim(value: Any, depth: int = 0) -> Any:
    """A JSON value as it may be kept in details: strings bounded, long lists cut, deep nesting
    summarised (untrusted content must not grow an event without limit)."""
    if isinstance(value, str):
        return bounded(clean_text(value), MAX_FIELD_CHARS)[0]
    if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
        return f"<{type(value).__name__} nested deeper than {MAX_DEPTH} levels, not kept>"
    if isinstance(value, dict):
        return {bounded(clean_text(str(k)), 200)[0]: verbatim(v, depth + 1)
                for k, v in list(value.items())[:MAX_LIST_ITEMS]}
    if isinstance(value, list):
        kept = [verbatim(v, depth + 1) for v in value[:MAX_LIST_ITEMS]]
        if len(value) > MAX_LIST_ITEMS:
            kept.append(f"<{len(value) - MAX_LIST_ITEMS} more items not kept>")
        return kept
    return value


# -- created_date ---------------------------------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_CREATED = re.compile(
    r"(?P<weekday>[^\W\d_]+),? "
    r"(?:(?P<us_month>[^\W\d_]+)\.? (?P<us_day>\d{1,2}),? (?P<us_year>\d{4})"
    r"|(?P<day>\d{1,2}) (?P<month>[^\W\d_]+)\.?,? (?P<year>\d{4}))"
    r",? at (?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?: ?(?P<half>[AaPp])\.? ?[Mm]\.?)? (?P<zone>\S+)")
_ZONE = re.compile(r"(?:UTC|GMT)(?:(?P<sign>[+\-\u2212])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?)?")


class DateError(ValueError):
    """A ``created_date`` courseline cannot read exactly; the message says why."""


def read_created_date(raw: str) -> tuple[RawTime, list[str]]:
    """The time of ``created_date`` and notes on it, or DateError saying why it is not read."""
    # Google writes U+202F before AM/PM since 2023, NBSP or thin spaces elsewhere.
    text = " ".join(raw.translate(SPACES).split())
    match = _CREATED.fullmatch(text)
    if match is None:
        raise DateError(f"created_date {bounded(raw, 200)[0]!r} is not in a layout courseline "
                        "reads (an English date such as 'Monday, January 7, 2019 at 7:25:08 PM "
                        "UTC' or 'Monday, 7 January 2019 at 19:25:08 UTC')")
    parts = match.groupdict()
    month_name = (parts["us_month"] or parts["month"]).lower()
    month = ENGLISH_MONTHS.get(month_name)
    if month is None:
        raise DateError(f"created_date {raw!r}: {month_name!r} is not an English month name")
    day = int(parts["us_day"] or parts["day"])
    year = int(parts["us_year"] or parts["year"])
    hour, minute, second = int(parts["hour"]), int(parts["minute"]), int(parts["second"])
    if parts["half"]:
        if not 1 <= hour <= 12:
            raise DateError(f"created_date {raw!r}: hour {hour} with AM/PM")
        hour = hour % 12 + (12 if parts["half"].lower() == "p" else 0)
    zone = _zone(parts["zone"], raw)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError as error:
        raise DateError(f"created_date {raw!r} is not a real time: {error}") from None
    notes = []
    weekday = parts["weekday"].lower()
    if weekday in WEEKDAYS and WEEKDAYS.index(weekday) != moment.weekday():
        notes.append(f"created_date names {parts['weekday']} but {moment.date().isoformat()} is "
                     f"a {WEEKDAYS[moment.weekday()].capitalize()}: the date was read as written")
    elif weekday not in WEEKDAYS:
        notes.append(f"created_date: {parts['weekday']!r} is not an English weekday name")
    basis = "utc" if zone is UTC else "offset"
    if basis == "utc":
        return RawTime(raw, moment, "utc", "s", "created_date", device_clock=False), notes
    return RawTime(raw, moment, "offset", "s", "created_date", device_clock=False), notes


def _zone(word: str, raw: str) -> timezone:
    match = _ZONE.fullmatch(word)
    if match is None:
        raise DateError(f"created_date {raw!r} names the zone {word!r}, which courseline does not "
                        "map to an offset (only UTC, GMT and UTC±hh:mm are read exactly); the "
                        "time is not guessed")
    if match["sign"] is None:
        return UTC
    offset = timedelta(hours=int(match["hours"]), minutes=int(match["minutes"] or 0))
    if offset >= timedelta(hours=24):
        raise DateError(f"created_date {raw!r}: the offset {word!r} is not a UTC offset")
    if offset == timedelta(0):
        return UTC
    return timezone(-offset if match["sign"] in "-\u2212" else offset)


# -- the conversation: group_info.json ------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    email: str | None
    name: str | None

    @property
    def identifier(self) -> str | None:
        if self.email:
            return f"email:{self.email}"
        return f"name:{self.name}" if self.name else None

    def is_creator(self, email: str | None, name: str | None) -> bool:
        if self.email and email:
            return self.email.lower() == email.lower()
        return bool(self.name and name and self.name == name)


@dataclass
class Conversation:
    """What the folder and ``group_info.json`` say about the conversation of a messages.json."""

    folder: str | None
    name: str | None = None
    members: list[Member] | None = None      # None: group_info.json not read
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, source: SourceFile) -> Conversation:
        folder = posixpath.basename(posixpath.dirname(source.case_path.replace("\\", "/")))
        conversation = cls(folder=folder or None)
        path = source.related("group_info.json")
        if path is None:
            conversation.notes.append(
                "group_info.json is not beside messages.json in the export: the members of the "
                "conversation, and so the recipients of its messages, are not known")
            return conversation
        conversation._read_group_info(path)
        return conversation

    def _read_group_info(self, path: Path) -> None:
        try:
            info = read_small_json(path, MAX_GROUP_INFO_BYTES)
        except (OSError, ValueError, RecursionError) as error:
            self.notes.append(f"group_info.json could not be read ({type(error).__name__}: "
                              f"{bounded(str(error), 300)[0]}): the recipients are not known")
            return
        if not isinstance(info, dict) or not isinstance(info.get("members"), list):
            self.notes.append("group_info.json has no members list: the recipients are not known")
            return
        if isinstance(info.get("name"), str):
            self.name = bounded(clean_text(info["name"]), MAX_FIELD_CHARS)[0]
        members = []
        for entry in info["members"]:
            if isinstance(entry, dict):
                member = Member(_plain(entry.get("email")), _plain(entry.get("name")))
                if member.identifier:
                    members.append(member)
        self.members = members
        shown = ", ".join(m.identifier or "" for m in members[:20])
        more = f" and {len(members) - 20} more" if len(members) > 20 else ""
        self.notes.append(f"group_info.json lists {len(members)} member(s) ({shown}{more}): the "
                          "recipients of each message are the members other than its creator")

    def recipients(self, email: str | None, name: str | None) -> list[str]:
        if not self.members or not (email or name):
            return []     # without a creator, which members received the message is not known
        return [m.identifier for m in self.members
                if m.identifier and not m.is_creator(email, name)]

    def details(self) -> dict[str, str]:
        shown = {}
        if self.folder:
            shown["folder"] = self.folder
        if self.name:
            shown["name"] = self.name
        return shown


def _plain(value: Any) -> str | None:
    """A string field of the export, bounded; None when absent or empty."""
    if not isinstance(value, str) or not value.strip():
        return None
    return bounded(clean_text(value.strip()), MAX_FIELD_CHARS)[0]


# -- the parser -----------------------------------------------------------------------------------

_HEAD = json_head(rb"\{", rb'"messages"', rb":", rb"\[")
_EMPTY = json_head(rb"\{", rb'"messages"', rb":", rb"\[", rb"\]", rb"\}", rb"\Z")
KNOWN_FIELDS = frozenset({"creator", "created_date", "text", "topic_id", "message_id",
                          "attached_files", "annotations", "message_state", "deletion_metadata",
                          "reactions"})
_URL_KEY = "private_do_not_access_or_else_safe_url_wrapped_value"


class GoogleChatParser(Parser):
    NAME = "google-chat-json"
    DATA_FORMAT = "Google Chat messages.json (Google Takeout)"
    VERSION = "2"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        head = sample.text_head
        if _HEAD.match(head) is None:
            return False
        if b'"created_date"' in head and b'"creator"' in head:
            return True
        # A conversation with no messages left: only its name and content say what it is.
        return sample.name == "messages.json" and _EMPTY.match(head) is not None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        conversation = Conversation.of(source)
        for note in conversation.notes:
            yield SourceNote(note)
        with source.path.open("rb") as handle:
            walk = RecordWalk(JsonStream(handle, CHUNK_BYTES, errors="replace"), source.name,
                              "message")
            yield from _Reading(source, conversation, walk).run()
            decoding = walk.decoding_note()
            if decoding:
                yield decoding


class _Reading:
    """One pass over one messages.json."""

    def __init__(self, source: SourceFile, conversation: Conversation, walk: RecordWalk):
        self.source = source
        self.conversation = conversation
        self.walk = walk
        self.file_uses: Counter[str] = Counter()   # export names met so far, for numbering

    def run(self) -> Iterator[Event | Reject | SourceNote]:
        walk, stream = self.walk, self.walk.stream
        other_keys: list[str] = []
        found = False
        try:
            if stream.peek() != "{":
                yield Reject("json:file", f"{self.source.name} is not a JSON object: nothing read")
                return
            for key in stream.members():
                if key == "messages" and stream.peek() == "[" and not found:
                    found = True
                    for locator, message in walk.records("json:messages", MAX_MESSAGE_CHARS):
                        yield message if isinstance(message, Reject) else \
                            self._event(locator, message.value)
                else:
                    stream.skip()
                    other_keys.append(bounded(clean_text(key), 100)[0] or "")
            trailing = walk.trailing_note()
        except WALK_ENDS as error:
            yield walk.fault(error)
            return
        if not found:
            yield Reject("json:file", "the JSON object has no top-level \"messages\" list: "
                                      "nothing read")
        if other_keys:
            yield SourceNote(f"top-level field(s) not read: {', '.join(other_keys[:20])}")
        if trailing:
            yield trailing

    # -- one message ------------------------------------------------------------------------------

    def _event(self, locator: str, message: Any) -> Event | Reject:
        if not isinstance(message, dict):
            return Reject(locator, f"not a message object but a JSON {type(message).__name__}")
        created = message.get("created_date")
        if not isinstance(created, str) or not created.strip():
            return Reject(locator, f"no created_date (found {verbatim(created)!r}): the time of "
                                   "the message is not in the export")
        try:
            time, notes = read_created_date(created)
        except DateError as error:
            return Reject(locator, str(error))
        details: dict[str, Any] = {}
        sender, email, name = self._creator(message.get("creator"), details, notes)
        event = Event(kind="message", platform="google-chat", time=time, locator=locator,
                      sender=sender, recipients=self.conversation.recipients(email, name),
                      details=details, notes=notes)
        conversation = self.conversation.details()
        if conversation:
            details["conversation"] = conversation
        self._text(message, event)
        for key in ("message_id", "topic_id"):
            if key in message:
                details[key] = verbatim(message[key])
        self._attachments(message.get("attached_files"), event)
        self._annotations(message.get("annotations"), event)
        self._state(message, event)
        if "reactions" in message:
            details["reactions"] = verbatim(message["reactions"])
        for key, value in message.items():
            if key not in KNOWN_FIELDS:
                details.setdefault("other_fields", {})[bounded(clean_text(key), 200)[0]] = \
                    verbatim(value)
        return event

    @staticmethod
    def _creator(creator: Any, details: dict[str, Any], notes: list[str]
                 ) -> tuple[str | None, str | None, str | None]:
        if not isinstance(creator, dict):
            notes.append("the message names no creator: its sender is not known")
            return None, None, None
        email, name = _plain(creator.get("email")), _plain(creator.get("name"))
        if name:
            details["creator_name"] = name
        if "user_type" in creator:
            details["creator_user_type"] = verbatim(creator["user_type"])
        if email:
            return f"email:{email}", email, name
        if name:
            notes.append("the creator has no e-mail address: the sender is their display name")
            return f"name:{name}", None, name
        notes.append("the creator has neither an e-mail address nor a name: the sender is not "
                     "known")
        return None, None, None

    @staticmethod
    def _text(message: dict[str, Any], event: Event) -> None:
        text = message.get("text")
        if text is None:
            return
        if not isinstance(text, str):
            event.details["text_value"] = verbatim(text)
            event.notes.append("text is not a string: kept in details.text_value")
            return
        event.text = flagged_text(text, MAX_TEXT_CHARS, event.flags)
        if len(text) > MAX_TEXT_CHARS:
            event.notes.append(f"text cut to {MAX_TEXT_CHARS} characters of {len(text)}")

    def _attachments(self, files: Any, event: Event) -> None:
        if files is None:
            return
        if not isinstance(files, list):
            event.details["attached_files"] = verbatim(files)
            event.notes.append("attached_files is not a list: kept in details as written")
            return
        event.details["attached_files"] = verbatim(files)
        missing: list[dict[str, Any]] = []
        for entry in files[:MAX_LIST_ITEMS]:
            if not isinstance(entry, dict):
                continue
            export_name, original = _plain(entry.get("export_name")), _plain(
                entry.get("original_name"))
            shown = {"original_name": original, "export_name": export_name}
            if export_name is None:
                missing.append({**shown, "reason": "no export_name"})
                continue
            use = self.file_uses[export_name]
            self.file_uses[export_name] += 1
            if not followable(export_name):
                missing.append({**shown, "reason": "the name is a path: not followed"})
                continue
            found = self._find_file(export_name, use, event)
            attachment, status = (None, NOT_IN_EXPORT) if found is None else \
                related_attachment(self.source, found, original or export_name)
            if attachment is None:
                missing.append({**shown, "reason": status})
            else:
                event.attachments.append(attachment)
        if missing:
            event.details["attachments_not_in_export"] = missing

    def _find_file(self, export_name: str, use: int, event: Event) -> str | None:
        """The name under which an ``export_name`` is beside messages.json: as written, then as
        Takeout writes names on disk (``?`` and ``:`` as ``_``, ``.jpg`` added to a name without
        extension), and for the second and later message naming the same file, numbered ``(1)``,
        ``(2)``…"""
        spellings: list[tuple[str, list[str]]] = [(export_name, [])]
        on_disk = re.sub(r"[?:]", "_", export_name)
        if on_disk != export_name:
            spellings.append((on_disk, ["Takeout writes '?' and ':' of a name as '_'"]))
        if not re.search(r"\.[0-9A-Za-z]+\Z", on_disk):
            spellings.append((on_disk + ".jpg", [*spellings[-1][1],
                                                 "Takeout adds .jpg to a name without one"]))
        if use:
            numbering = (f"message {use + 1} of this conversation to name {export_name!r}, and "
                         "Takeout numbers same-named files (1), (2)... in order")
            spellings = [(_numbered(name, use), [*why, numbering]) for name, why in spellings]
        for name, why in spellings:
            if self.source.related(name) is not None:
                if why:
                    event.notes.append(f"attachment {export_name!r} found as {name!r} ("
                                       + "; ".join(why) + "): the file name was derived, not "
                                       "written in messages.json")
                return name
        return None

    @staticmethod
    def _annotations(annotations: Any, event: Event) -> None:
        if annotations is None:
            return
        if not isinstance(annotations, list):
            event.details["annotations"] = verbatim(annotations)
            return
        links, others = [], []
        for entry in annotations[:MAX_LIST_ITEMS]:
            meta = entry.get("url_metadata") if isinstance(entry, dict) else None
            url = meta.get("url") if isinstance(meta, dict) else None
            target = url.get(_URL_KEY) if isinstance(url, dict) else url
            if isinstance(target, str) and target:
                link = {"url": verbatim(target)}
                if isinstance(meta.get("title"), str) and meta["title"]:
                    link["title"] = verbatim(meta["title"])
                links.append(link)
            else:
                others.append(verbatim(entry))
        if links:
            event.details["links"] = links
        if others:
            event.details["annotations"] = others

    @staticmethod
    def _state(message: dict[str, Any], event: Event) -> None:
        state = message.get("message_state")
        deletion = message.get("deletion_metadata")
        if state is not None:
            event.details["message_state"] = verbatim(state)
        if deletion is not None:
            event.details["deletion_metadata"] = verbatim(deletion)
        if (isinstance(state, str) and state.upper() == "DELETED") or deletion:
            event.flags.append("deleted")


def _numbered(name: str, number: int) -> str:
    """``File-x.jpg`` → ``File-x(1).jpg``."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return f"{name}({number})"
    return f"{stem}({number}).{extension}"


__all__ = [
    "DateError",
    "GoogleChatParser",
    "read_created_date",
    "verbatim",
]
