"""Google Voice in a Google Takeout export: ``Takeout/Voice/Calls/*.html``.

How it is made: takeout.google.com → *Deselect all* → tick *Voice* → *Next step* → *Create
export*. Each call, voicemail and text conversation is one XHTML page, named
``<contact or number> - <Text|Placed|Received|Missed|Voicemail|Recorded> - <YYYY-MM-DDTHH_MM_SSZ>
.html`` (the contact part may be empty, the type part absent; ``Group Conversation - <time>.html``
for group texts), with its media beside it: ``<same stem>-<message>-<part>`` plus ``.jpg``,
``.vcf``… for pictures and contact cards of texts, ``<same stem>.mp3`` for voicemail and recorded
calls. Spam lives in ``Voice/Spam/``.

Sources: research formats.md §4.7 (the microformats, the U+202F, the file names), the
psanford/google-voice-takeout-parser and wjcarpenter/gvoice-sms-takeout-xml test pages (read as
samples, see below).

What is read (with the standard library's ``html.parser``; no class is trusted to be where it
was seen unless it is inside the element named):

* Calls, ``div.haudio`` (one per page): one ``call`` event (platform ``google-voice``). Time from
  ``abbr.published``'s ``title`` (ISO 8601 with an offset: basis ``offset``; precision ``ms``
  when the milliseconds are not ``.000``, else ``s``: calls before 2019 are all written ``.000``);
  the visible text (``… Pacific Time``) is kept in ``details.time_shown``. ``device_clock`` is
  false: Google's servers wrote it. Duration from ``abbr.duration``'s ``title`` (``PT18S``,
  ``PT1M``, ``PT12M51S``…). The kind of call from the labels (``div.tags``, read by the code in
  each ``href``, ``…/voice#missed``, which does not change with the account's language), else
  from the English title (``Missed call from``…), else from the file name: *Placed* → outgoing
  (answered, or *unanswered* when it lasted 0 s, said in a note, as Android's log is read);
  *Received* → incoming answered; *Missed* → incoming missed; *Voicemail* → incoming voicemail,
  its duration the message's length and its text the transcript (``span.full-text``; the per-word
  timings and confidences are not read); *Recorded* → direction unknown (the page does not say
  who called) and status answered (a recording was made), the other party in
  ``details.other_party``. The other party: ``a.tel`` ``href`` (``tel:+1…`` → ``tel:`` identifier;
  an empty ``tel:`` → ``tel:Unknown``), else the contact name (``name:``); the name shown is kept
  in ``details.contact_name``. As for a phone's own call log the page names only the other party:
  ``owner_side`` is ``recipients`` for incoming and ``sender`` for outgoing calls. The recording
  (``audio src``) is hashed when it is in the export, else named in
  ``details.attachments_not_in_export``. Recording warnings and user notes are kept in details.
* Texts, ``div.hChatLog``: one event per ``div.message``: time from ``abbr.dt``'s ``title`` (as
  above), sender from ``cite.sender`` (``a.tel`` ``href`` and the ``fn`` name), text from ``q``
  (``<br>`` read as a line break). The account's own messages are marked ``Me`` (an ``abbr.fn``
  where others have a ``span.fn``; both signs are read): their sender is left out with
  ``owner_side = "sender"`` and direction ``outgoing`` (the page says so), the account's number
  (the ``href`` of ``Me``) is kept in ``details.own_number`` and said once in a source note.
  Others' messages are ``incoming`` with ``owner_side = "recipients"``. Recipients: in a group
  conversation the participants (``div.participants``) other than the sender; in a conversation
  with one person, that person (from the senders of the page, else the page's title ``Me to
  <name>``, else the contact part of the file name, said in a note). Kind ``sms``, or ``mms`` when
  the message carries media: pictures (``img src``, written without extension: the file is found
  beside the page by trying the extensions Takeout writes), contact cards (``a.vcard href``) and
  audio or video, each hashed when it is in the export, else named in
  ``details.attachments_not_in_export``. The text ``MMS Sent`` / ``MMS Received`` that Google
  writes for a message that is only a picture is kept as written.
* Labels (``div.tags``) in ``details.labels`` and their codes in ``details.label_codes``;
  ``div.deletedStatusContainer`` ("User Deleted: True") → flag ``deleted``; a ``spam`` label or a
  page in the export's ``Spam`` folder → flag ``spam``; a ``trash`` label → flag ``trash``.
* The file name's time (``2016-11-22T17_57_49Z``) is not used as a time: only the microformat is.

Not read: ``Phones.vcf``, ``Bills.html``, ``Greetings/`` and the media files themselves (they are
hashed as attachments of the events that name them, and are exhibits of their own). Which number
is the account's own for calls (the pages do not name it).

Streaming: a page is read in chunks of :data:`CHUNK_BYTES` and fed to the parser; each record
is kept only until it ends. A text conversation is read twice: the labels and deleted status
that concern every message come after the messages, and the other party of a one-to-one
conversation may appear only after the owner's first messages. Memory is bounded by a chunk and
one record, and a record's text is kept only up to ``MAX_TEXT_CHARS`` while it is read (a 500 MB
page: under 10 MB). A page cut short gives the records it holds, the last one noted as cut short,
and a reject (``html:file``) saying that the page ends inside its records. Hostile pages are
bounded too, each with a reject saying where reading stopped: elements nested more than
:data:`MAX_DEPTH` deep, or a tag, comment or script that does not end within
:data:`MAX_PENDING_CHARS` (``html.parser`` rescans what it holds at every read, so such a page
would cost time growing with the square of its size); every element costs constant time,
however deep the page.

Locators: ``html:div.message[N]`` (N counted from 1, as Google numbers the media of message N:
``…-N-1.jpg``) and ``html:div.haudio[N]``; ``html:file`` for the page as a whole.

Checked on real data (tests/parsers/test_google_voice.py): the 20 pages of
``realworld/google_takeout/voice/wjcarpenter/Voice/Calls`` (names and numbers faked by their
author; placed, received, missed, voicemail with transcripts, recorded, texts with ``Me`` in both
directions, group conversations, pictures with one ``.jpg`` present, contact cards ``.vcf``, a
page with an empty contact and ``tel:``, pages without a type in the file name) and the 5
``realworld/google_takeout/voice/psanford_*.html`` pages (one of them, a voicemail, starts at
``<title>`` without the XML prologue). Not checked on a real file: Spam and trash labels,
``User Deleted: True``, audio or video media of texts, pages in other languages.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._phone import UNKNOWN_NUMBER
from courseline.parsers._chat import (
    NOT_IN_EXPORT,
    flagged_text,
    followable,
    related_attachment,
)
from courseline.parsers._json_stream import TextChunks
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

CHUNK_BYTES = 256 * 1024
MAX_DEPTH = 1_000            # elements open at once; Google's pages nest about ten
MAX_PENDING_CHARS = 4 * 1024 * 1024    # text the HTML parser may hold unparsed (an open tag,
                                       # comment or script): beyond it the rest is not read
MAX_MEDIA = 100              # media kept per message; more are counted
MAX_PARTICIPANTS = 1_000
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "param", "source", "track", "wbr"})
# Extensions tried for a media file named without one, by the element that names it.
EXTENSIONS = {
    "image": (".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".bmp"),
    "contact card": (".vcf",),
    "audio": (".mp3", ".amr", ".m4a", ".wav", ".ogg", ".3gp"),
    "video": (".mp4", ".3gp", ".mov", ".webm"),
}
CALL_KINDS = ("voicemail", "missed", "received", "placed", "recorded")
# English titles of call pages, used only when no label says what the call was.
_TITLE_KINDS = (("voicemail from", "voicemail"), ("missed call", "missed"),
                ("received call", "received"), ("placed call", "placed"),
                ("recorded call", "recorded"))
_FILE_NAME = re.compile(r"(?P<contact>.*?) - (?:(?P<kind>Text|Placed|Received|Missed|Voicemail|"
                        r"Recorded) - )?\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}Z\.html", re.DOTALL)
_DURATION = re.compile(r"P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?"
                       r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?")


# -- reading a page -------------------------------------------------------------------------------

@dataclass
class Party:
    """A person as a page shows them: ``a.tel`` and the ``fn`` name."""

    number: str | None = None     # the href without "tel:", None when there is no a.tel
    name: str | None = None
    marked_me: bool = False       # the name is an ``abbr.fn`` (how the page writes "Me")

    @property
    def is_me(self) -> bool:
        return self.marked_me or self.name == "Me"

    @property
    def identifier(self) -> str | None:
        if self.number:
            return f"tel:{self.number}"
        if self.name and not self.is_me:
            return f"name:{self.name}"
        return None


@dataclass
class Media:
    kind: str        # image, contact card, audio, video
    name: str


@dataclass
class Message:
    index: int
    time_title: str | None = None
    time_shown: str = ""
    sender: Party | None = None
    text: str | None = None
    media: list[Media] = field(default_factory=list)
    media_dropped: int = 0
    cut_short: bool = False
    text_chars: int = 0         # the length of the text as written (more than is kept)


@dataclass
class Call:
    index: int
    title: str = ""
    party: Party | None = None
    time_title: str | None = None
    time_shown: str = ""
    duration_title: str | None = None
    transcript: str | None = None
    audio: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cut_short: bool = False


@dataclass
class Page:
    """What concerns the whole page: read as the page is, complete at its end."""

    title: str = ""
    participants: list[Party] = field(default_factory=list)
    labels: list[tuple[str, str]] = field(default_factory=list)   # (code, name shown)
    deleted_status: str | None = None
    note: str | None = None


@dataclass
class _Open:
    tag: str
    role: str | None
    text: list[str] | None      # the text inside, for an element whose text is read
    size: int = 0               # characters of text met inside, kept or not
    kept: int = 0               # characters kept: up to MAX_TEXT_CHARS + 1 (so a cut shows)


class VoicePageReader(HTMLParser):
    """Collects the records of a page; finished records wait in :attr:`done`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.done: deque[Message | Call] = deque()
        self.stack: list[_Open] = []
        self.captures: list[_Open] = []     # the open elements whose text is read, innermost last
        self.open_roles: Counter[str] = Counter()
        self.open_tags: Counter[str] = Counter()
        self.stopped: str | None = None     # why the rest of the page is not read
        self.cut_short = False              # the page ends inside its records
        self.message: Message | None = None
        self.call: Call | None = None
        self.party: Party | None = None
        self.messages = 0
        self.calls = 0
        self._label_code = ""     # the code of the label being read (``…/voice#missed``)

    # -- elements ---------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        if len(self.stack) >= MAX_DEPTH:
            self.stopped = (f"elements nested more than {MAX_DEPTH} deep (a Google Voice page "
                            "nests a few): not a page Google wrote")
            return
        values = {name: value or "" for name, value in attrs}
        classes = set(values.get("class", "").split())
        if tag == "br":
            self._text_break()
            return
        self._media(tag, classes, values)
        if tag in VOID:
            return
        role = self._role(tag, classes, values)
        element = _Open(tag, role, [] if role in _CAPTURING else None)
        self.stack.append(element)
        self.open_tags[tag] += 1
        if role is not None:
            self.open_roles[role] += 1
        if element.text is not None:
            self.captures.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        # An end tag with no open element of its name is ignored, as browsers do; one with an
        # open element closes it and every element opened inside it. The counts keep each tag
        # constant-time, whatever the page's nesting.
        if self.stopped or not self.open_tags[tag]:
            return
        while self._pop().tag != tag:
            pass

    def _pop(self) -> _Open:
        element = self.stack.pop()
        self.open_tags[element.tag] -= 1
        if element.role is not None:
            self.open_roles[element.role] -= 1
        if self.captures and self.captures[-1] is element:
            self.captures.pop()
        self._close(element)
        return element

    def handle_data(self, data: str) -> None:
        if not self.captures or self.stopped:
            return
        element = self.captures[-1]
        element.size += len(data)
        room = MAX_TEXT_CHARS + 1 - element.kept       # read when called: tests lower it
        if room > 0 and element.text is not None:
            element.text.append(data[:room])
            element.kept += min(room, len(data))

    def _text_break(self) -> None:
        self.handle_data("\n")

    def _inside(self, role: str) -> bool:
        return self.open_roles[role] > 0

    def _role(self, tag: str, classes: set[str], values: dict[str, str]) -> str | None:
        if tag in ("style", "script"):
            return "skip"
        if tag == "title":
            return "title"
        if tag == "div":
            if "hChatLog" in classes:
                return "chatlog"
            if "haudio" in classes:
                self.calls += 1
                self.call = Call(self.calls)
                return "haudio"
            if "message" in classes and self._inside("chatlog"):
                self.messages += 1
                self.message = Message(self.messages)
                return "message"
            if "participants" in classes:
                return "participants"
            if "contributor" in classes and self.call is not None:
                self.party = Party()
                return "party"
            if "tags" in classes:
                return "tags"
            if "deletedStatusContainer" in classes:
                return "deleted"
            if "noteContainer" in classes:
                return "note"
        if tag == "cite" and "sender" in classes:
            self.party = Party()
            return "party"
        if tag == "a":
            if "tel" in classes and self.party is not None:
                href = values.get("href", "")
                number = unquote(href[4:] if href.lower().startswith("tel:") else href).strip()
                self.party.number = bounded(clean_text(number), 200)[0] or None
            if values.get("rel") == "tag" and self._inside("tags"):
                href = values.get("href", "")
                self._label_code = href.rpartition("#")[2] if "#" in href else href
                return "tag"
        if "fn" in classes:
            if self.party is not None and self._inside("party"):
                self.party.marked_me = tag == "abbr"
                return "fn"
            if self.call is not None and not self._inside("party"):
                return "call-fn"
        if tag == "abbr":
            if "dt" in classes and self.message is not None:
                self.message.time_title = values.get("title")
                return "dt"
            if "published" in classes and self.call is not None:
                self.call.time_title = values.get("title")
                return "published"
            if "duration" in classes and self.call is not None:
                self.call.duration_title = values.get("title")
                return "duration"
        if tag == "q" and self.message is not None:
            return "q"
        if tag == "span":
            if "full-text" in classes and self.call is not None:
                return "full-text"
            if classes & {"recording-warning-message", "recording-error-message"}:
                return "warning"
        return None

    def _media(self, tag: str, classes: set[str], values: dict[str, str]) -> None:
        """Media named by an element: pictures, contact cards, recordings."""
        kind, name = None, None
        if tag == "img":
            kind, name = "image", values.get("src")
        elif tag == "a" and "vcard" in classes and "href" in values:
            kind, name = "contact card", values.get("href")
        elif tag in ("audio", "video", "source") and values.get("src"):
            kind, name = ("video" if tag == "video" else "audio"), values.get("src")
        elif tag == "a" and values.get("rel") == "enclosure":
            kind, name = "audio", values.get("href")
        if not kind or not name:
            return
        name = bounded(clean_text(name), 1_000)[0]
        if self.message is not None:
            if any(m.name == name for m in self.message.media):
                return
            if len(self.message.media) < MAX_MEDIA:
                self.message.media.append(Media(kind, name))
            else:
                self.message.media_dropped += 1
        elif self.call is not None and name not in self.call.audio and \
                len(self.call.audio) < MAX_MEDIA:
            self.call.audio.append(name)

    def _close(self, element: _Open) -> None:
        text = "".join(element.text) if element.text is not None else ""
        role = element.role
        if role == "message" and self.message is not None:
            self.done.append(self.message)
            self.message = None
        elif role == "haudio" and self.call is not None:
            self.done.append(self.call)
            self.call = None
        elif role == "party" and self.party is not None:
            self._place(self.party)
            self.party = None
        elif role == "fn" and self.party is not None:
            self.party.name = _field(text)
        elif role == "dt" and self.message is not None:
            self.message.time_shown = _shown(text)
        elif role == "q" and self.message is not None:
            self.message.text = text
            self.message.text_chars = element.size
        elif role == "published" and self.call is not None:
            self.call.time_shown = _shown(text)
        elif role == "call-fn" and self.call is not None:
            self.call.title = _shown(text)
        elif role == "full-text" and self.call is not None:
            self.call.transcript = text.strip()
        elif role == "warning" and self.call is not None:
            self.call.warnings.append(_shown(text))
        elif role == "tag":
            self.page.labels.append((bounded(clean_text(self._label_code), 200)[0],
                                     _shown(text)))
        elif role == "deleted":
            self.page.deleted_status = _shown(text)
        elif role == "note":
            self.page.note = _shown(text)
        elif role == "title":
            self.page.title = bounded(clean_text(text.strip()), MAX_FIELD_CHARS)[0]

    def _place(self, party: Party) -> None:
        if self.message is not None and self.message.sender is None:
            self.message.sender = party
        elif self._inside("participants"):
            if len(self.page.participants) < MAX_PARTICIPANTS:
                self.page.participants.append(party)
        elif self.call is not None and self.call.party is None:
            self.call.party = party

    def finish(self) -> None:
        """The end of the page (or of what is read of it): elements still open are closed, a
        record among them having been cut short."""
        if not self.stopped:
            self.close()
        self.cut_short = bool(self.open_roles["chatlog"] or self.open_roles["haudio"])
        if self.message is not None:
            self.message.cut_short = True
        if self.call is not None:
            self.call.cut_short = True
        while self.stack:
            self._pop()


_LAYOUT_SPACE = re.compile(r"[ \t\r\n]+")
_CAPTURING = frozenset({"skip", "title", "fn", "dt", "q", "published", "duration", "call-fn",
                        "full-text", "warning", "tag", "deleted", "note"})


def _shown(text: str) -> str:
    """Display text as one line (the page breaks lines inside elements for layout only); other
    spaces, such as the U+202F before PM, are kept as written."""
    return bounded(clean_text(_LAYOUT_SPACE.sub(" ", text).strip(" ")), MAX_FIELD_CHARS)[0]


def _field(text: str) -> str | None:
    return _shown(text) or None


def read_page(path: Path, chunk_bytes: int | None = None
              ) -> tuple[Iterator[Message | Call], VoicePageReader, TextChunks]:
    """The records of a page as they end, the reader (whose ``page`` is complete once the
    records are exhausted) and the decoder (which says whether the page was valid UTF-8)."""
    reader = VoicePageReader()
    handle = path.open("rb")
    chunks = TextChunks(handle, chunk_bytes or CHUNK_BYTES)

    def records() -> Iterator[Message | Call]:
        fed = 0
        try:
            while not reader.stopped and (text := chunks.read()):
                reader.feed(text)
                fed += len(text)
                while reader.done:
                    yield reader.done.popleft()
                if len(reader.rawdata) > MAX_PENDING_CHARS and not reader.stopped:
                    # html.parser rescans what it holds at every feed: an element that never
                    # ends would cost time growing with the square of its length.
                    reader.stopped = (f"from character {fed - len(reader.rawdata)} the page "
                                      f"holds a tag, comment or script that does not end within "
                                      f"{MAX_PENDING_CHARS} characters")
            reader.finish()
            while reader.done:
                yield reader.done.popleft()
        finally:
            handle.close()

    return records(), reader, chunks


# -- times, durations, parties --------------------------------------------------------------------

class TimeError(ValueError):
    pass


def read_iso_time(title: str | None, field_name: str) -> RawTime:
    """An ``abbr`` title (ISO 8601 with an offset) as a RawTime; TimeError says why not."""
    if title is None or not title.strip():
        raise TimeError(f"no {field_name}: the time is not in the page")
    raw = title
    try:
        moment = datetime.fromisoformat(title.strip())
    except ValueError:
        raise TimeError(f"{field_name} {bounded(raw, 100)[0]!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TimeError(f"{field_name} {raw!r} has no UTC offset: the time is not guessed")
    fraction = re.search(r"[.,](\d+)", title.partition("T")[2])
    precise = bool(fraction and fraction.group(1).strip("0"))
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return RawTime(raw, moment, "offset", "ms" if precise else "s", field_name,
                   device_clock=False)


def duration_seconds(title: str | None) -> int | None:
    """``PT1M5S`` → 65; None when absent or not an ISO 8601 duration."""
    if not title:
        return None
    match = _DURATION.fullmatch(title.strip())
    if match is None or not any(match.groupdict().values()):
        return None
    days, hours, minutes = (int(match[k] or 0) for k in ("d", "h", "m"))
    return int(((days * 24 + hours) * 60 + minutes) * 60 + float(match["s"] or 0))


def _file_contact(name: str) -> tuple[str | None, str | None]:
    """The contact and kind parts of a page's file name (display only)."""
    match = _FILE_NAME.fullmatch(name)
    if match is None:
        return None, None
    return (match["contact"].strip() or None), (match["kind"] or None)


def _contact_identifier(contact: str) -> str:
    """A contact as the file name writes it: a number (``+17323217777``) or a name."""
    if re.fullmatch(r"\+?[\d\s().\-]{3,}", contact):
        return f"tel:{contact}"
    return f"name:{contact}"


def _find_media(source: SourceFile, media: Media) -> str | None:
    """The name a file the page names is found under: as written, else with one of the
    extensions Takeout gives media of that kind (the page writes pictures without one)."""
    for name in (media.name, *(media.name + ext for ext in EXTENSIONS.get(media.kind, ()))):
        if source.related(name) is not None:
            return name
    return None


def _attach(source: SourceFile, media: list[Media], event: Event) -> None:
    missing: list[dict[str, str]] = []
    for item in media:
        shown = {"kind": item.kind, "name": item.name}
        if not followable(item.name):
            missing.append({**shown, "reason": "the name is a path or a URL: not followed"})
            continue
        name = _find_media(source, item)
        attachment, status = (None, NOT_IN_EXPORT) if name is None else \
            related_attachment(source, name, name)
        if attachment is None:
            missing.append({**shown, "reason": status})
        else:
            event.attachments.append(attachment)
    if missing:
        event.details["attachments_not_in_export"] = missing


# -- the parser -----------------------------------------------------------------------------------

_CLASSES = re.compile(rb'class="(?:haudio|hChatLog)[\s"]')
_VOICE_SIGNS = (b'class="tel"', b"deletedStatusContainer", b"google.com/voice")


class GoogleVoiceParser(Parser):
    NAME = "google-voice-html"
    DATA_FORMAT = "Google Voice call and text pages (Google Takeout Voice/Calls/*.html)"
    VERSION = "2"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        head = sample.text_head
        # The page itself, not a file that holds one (an uncompressed zip of the export).
        if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            return False
        return _CLASSES.search(head) is not None and any(sign in head for sign in _VOICE_SIGNS)

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        records, reader, chunks = read_page(source.path)
        calls: list[Call] = []
        senders = _Senders()
        messages = 0
        for record in records:
            if isinstance(record, Call):
                calls.append(record)   # one per page: kept for the page's labels, read at its end
            else:
                messages += 1
                senders.add(record.sender)
        page = reader.page
        note = chunks.decoding_note(source.name)
        if note:
            yield SourceNote(note)
        context = _PageContext.of(source, page)
        for call in calls:
            yield _call_event(call, context, source)
        if messages:
            yield from self._texts(source, context, senders)
        if reader.stopped:
            yield Reject("html:file", f"reading stopped: {reader.stopped}; the rest of the page "
                                      "was not read")
        elif reader.cut_short:
            yield Reject("html:file", f"{source.name} ends inside its records (a div.hChatLog or "
                                      "div.haudio is not closed): the file is cut short (an "
                                      "interrupted download or an incomplete copy?); records "
                                      "after the cut are not in it")
        elif not calls and not messages:
            yield Reject("html:file", "the page holds no div.message and no div.haudio: no "
                                      "Google Voice record was found")

    @staticmethod
    def _texts(source: SourceFile, context: _PageContext, senders: _Senders
               ) -> Iterator[Event | Reject | SourceNote]:
        conversation = _TextConversation.of(source, context, senders)
        for text in conversation.notes:
            yield SourceNote(text)
        records, _, _ = read_page(source.path)
        for record in records:
            if isinstance(record, Message):
                yield conversation.event(record)


@dataclass
class _Senders:
    """Who wrote the messages of a page (first pass)."""

    others: dict[str, str | None] = field(default_factory=dict)   # identifier → name shown
    own_numbers: list[str] = field(default_factory=list)

    def add(self, party: Party | None) -> None:
        if party is None:
            return
        if party.is_me:
            if party.number and party.number not in self.own_numbers:
                self.own_numbers.append(party.number)
            return
        ident = party.identifier
        if ident and ident not in self.others and len(self.others) < MAX_PARTICIPANTS:
            self.others[ident] = party.name


@dataclass
class _PageContext:
    """What every record of a page shares: labels, deletion, spam."""

    details: dict[str, Any]
    flags: list[str]
    notes: list[str]
    label_codes: list[str]
    title: str
    participants: list[Party]

    @classmethod
    def of(cls, source: SourceFile, page: Page) -> _PageContext:
        details: dict[str, Any] = {}
        flags: list[str] = []
        notes: list[str] = []
        codes = [code.lower() for code, _ in page.labels]
        if page.labels:
            details["labels"] = [name for _, name in page.labels]
            details["label_codes"] = [code for code, _ in page.labels]
        if page.deleted_status is not None:
            details["deleted_status"] = page.deleted_status
            if re.search(r"\bTrue\b", page.deleted_status, re.IGNORECASE):
                flags.append("deleted")
        if page.note:
            details["note"] = page.note
        if page.title:
            details["page_title"] = _shown(page.title)
        if "spam" in codes:
            flags.append("spam")
        elif any(part.lower() == "spam" for part in re.split(r"[/!\\]", source.case_path)[:-1]):
            flags.append("spam")
            notes.append("the page is in the export's Spam folder")
        if "trash" in codes:
            flags.append("trash")
        return cls(details, flags, notes, codes, page.title, list(page.participants))

    def new_event(self, kind: str, time: RawTime, locator: str) -> Event:
        return Event(kind=kind, platform="google-voice", time=time, locator=locator,
                     flags=list(self.flags), details=dict(self.details), notes=list(self.notes))


# -- calls ----------------------------------------------------------------------------------------

def _call_kind(call: Call, context: _PageContext, source: SourceFile) -> tuple[str | None, str]:
    """What the call was (placed, received…) and how that was decided."""
    for kind in CALL_KINDS:
        if kind in context.label_codes:
            if kind == "recorded":
                # A recorded call may carry another label that says its direction.
                other = next((k for k in CALL_KINDS[:4] if k in context.label_codes), None)
                return (other or kind), "labels"
            return kind, "labels"
    for words in (call.title, context.title):
        shown = " ".join(words.split()).lower()
        for prefix, kind in _TITLE_KINDS:
            if shown.startswith(prefix):
                return kind, "the page title"
    named = _file_contact(source.name)[1]
    if named:
        return named.lower(), "the file name"
    return None, ""


def _call_event(call: Call, context: _PageContext, source: SourceFile) -> Event | Reject:
    locator = f"html:div.haudio[{call.index}]"
    try:
        time = read_iso_time(call.time_title, "abbr.published title")
    except TimeError as error:
        return Reject(locator, str(error))
    event = context.new_event("call", time, locator)
    details, notes = event.details, event.notes
    if call.time_shown:
        details["time_shown"] = call.time_shown
    if call.cut_short:
        notes.append("the page ends inside this call: what follows the cut is not known")
    event.duration_s = duration_seconds(call.duration_title)
    if call.duration_title is not None:
        details["duration_written"] = bounded(call.duration_title, 100)[0]
        if event.duration_s is None:
            notes.append(f"the duration {call.duration_title!r} is not an ISO 8601 duration")
    if call.title:
        details["call_title"] = call.title
    party = call.party or Party()
    other = party.identifier or UNKNOWN_NUMBER
    if party.name:
        details["contact_name"] = party.name
    if other == UNKNOWN_NUMBER:
        notes.append("the page names no number and no name for the other party")
    kind, decided_by = _call_kind(call, context, source)
    details["call_type"] = kind or "unknown"
    if decided_by and decided_by != "labels":
        notes.append(f"the kind of call ({kind}) was read from {decided_by}: no label says it")
    _call_meaning(kind, event, other, context)
    if call.transcript:
        event.text = flagged_text(call.transcript, MAX_TEXT_CHARS, event.flags)
        notes.append("the text is Google's transcript of the voicemail or recording")
    if call.warnings:
        details["recording_messages"] = call.warnings
    _attach(source, [Media("audio", name) for name in call.audio], event)
    return event


def _call_meaning(kind: str | None, event: Event, other: str, context: _PageContext) -> None:
    """Direction, status, parties and ``owner_side`` of a call of this kind."""
    direction, status = {
        "placed": ("outgoing", "answered"),
        "received": ("incoming", "answered"),
        "missed": ("incoming", "missed"),
        "voicemail": ("incoming", "voicemail"),
        "recorded": ("unknown", "answered"),
    }.get(kind or "", ("unknown", None))
    if kind == "placed" and event.duration_s == 0:
        status = "unanswered"
        event.notes.append("call status 'unanswered' derived: a placed call lasting 0 s")
    if kind == "recorded":
        event.notes.append("call status 'answered' derived: the call was recorded; the page "
                           "does not say who placed it, so the direction is unknown")
    if kind == "voicemail" and event.duration_s is not None:
        event.notes.append("the duration is the length of the voicemail message")
    event.direction, event.call_status = direction, status
    if direction == "incoming":
        event.sender, event.owner_side = other, "recipients"
    elif direction == "outgoing":
        event.recipients, event.owner_side = [other], "sender"
    else:
        event.details["other_party"] = other
        event.notes.append("direction unknown: the other party is kept in details.other_party, "
                           "not as sender or recipient")


# -- texts ----------------------------------------------------------------------------------------

@dataclass
class _TextConversation:
    """The parties of a text page, decided after the first pass."""

    source: SourceFile
    context: _PageContext
    parties: list[str]                  # the other side: everyone but the account's owner
    names: dict[str, str | None]
    own_numbers: list[str]
    group: bool
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, source: SourceFile, context: _PageContext, senders: _Senders
           ) -> _TextConversation:
        # The participants come from the page, which the first pass has read whole.
        page_parties = context.participants
        names: dict[str, str | None] = {}
        parties: list[str] = []
        for party in page_parties:
            ident = party.identifier
            if ident and ident not in parties:
                parties.append(ident)
                names[ident] = party.name
        group = bool(page_parties)
        notes: list[str] = []
        for ident, name in senders.others.items():
            if ident not in parties:
                parties.append(ident)
                names[ident] = name
        if not parties:
            derived = _party_from_title(context.title) or _party_from_file_name(source.name)
            if derived:
                ident, where = derived
                parties.append(ident)
                notes.append(f"only the account's own messages are on this page: the other party "
                             f"({ident}) was read from {where}")
            else:
                notes.append("only the account's own messages are on this page and it does not "
                             "name the other party: their recipients are not known")
        if senders.own_numbers:
            numbers = ", ".join(f"tel:{n}" for n in senders.own_numbers)
            notes.append(f"the account's own messages (shown as \"Me\") come from {numbers}: "
                         "the Google Voice number of the account's owner")
        return cls(source, context, parties, names, senders.own_numbers, group, notes)

    def event(self, message: Message) -> Event | Reject:
        locator = f"html:div.message[{message.index}]"
        try:
            time = read_iso_time(message.time_title, "abbr.dt title")
        except TimeError as error:
            return Reject(locator, str(error))
        kind = "mms" if message.media else "sms"
        event = self.context.new_event(kind, time, locator)
        details, notes = event.details, event.notes
        if message.time_shown:
            details["time_shown"] = message.time_shown
        if self.group:
            details["group_conversation"] = True
        if message.cut_short:
            notes.append("the page ends inside this message: its text may be incomplete")
        self._parties(message.sender, event)
        if message.text:
            event.text = flagged_text(message.text, MAX_TEXT_CHARS, event.flags)
            if message.text_chars > MAX_TEXT_CHARS:
                notes.append(f"text cut to {MAX_TEXT_CHARS} characters of {message.text_chars}")
        _attach(self.source, message.media, event)
        if message.media_dropped:
            notes.append(f"{message.media_dropped} more media element(s) not read")
        return event

    def _parties(self, sender: Party | None, event: Event) -> None:
        details = event.details
        if sender is None:
            details["recipients_unknown_side"] = self.parties
            event.notes.append("the message names no sender: who sent it is not known")
            return
        if sender.name:
            details["sender_name"] = sender.name
        if sender.is_me or (sender.number and sender.number in self.own_numbers):
            event.direction, event.owner_side = "outgoing", "sender"
            event.recipients = list(self.parties)
            if sender.number:
                details["own_number"] = f"tel:{sender.number}"
            return
        ident = sender.identifier or UNKNOWN_NUMBER
        event.direction, event.sender, event.owner_side = "incoming", ident, "recipients"
        event.recipients = [p for p in self.parties if p != ident] if self.group else []


def _party_from_title(title: str) -> tuple[str, str] | None:
    """``Me to <name>`` (English pages): the other party of a page of the owner's messages."""
    words = " ".join(title.split())
    if words.lower().startswith("me to "):
        name = words[6:].strip()
        if name:
            return _contact_identifier(name), "the page title"
    return None


def _party_from_file_name(name: str) -> tuple[str, str] | None:
    contact = _file_contact(name)[0]
    if contact and contact.lower() != "group conversation":
        return _contact_identifier(contact), "the file name"
    return None


__all__ = [
    "GoogleVoiceParser",
    "VoicePageReader",
    "duration_seconds",
    "read_iso_time",
    "read_page",
]
