"""WhatsApp "Export chat" text: ``WhatsApp Chat with <name>.txt`` (Android) and ``_chat.txt``
inside ``WhatsApp Chat - <name>.zip`` (iPhone), with or without media.

How it is made: in the chat, ⋮ (Android) or the contact's name (iPhone) → *More* → *Export chat*
→ *Without media* / *Attach media*. Research formats.md §4.1 (citing joweich/chat-miner,
gesiscss/WhatsR, starkdmi/whats_json test data, Pustur/whatsapp-chat-parser and
lucasrodes/whatstk issues, and AyazKhuraishi/whatsapp-export-inconsistencies).

What is read:

* The text is UTF-8, as WhatsApp writes it; a file that starts with a byte-order mark is read in
  the encoding the mark names (a chat re-saved as "Unicode" by an editor is UTF-16), and a source
  note says so. Bytes that are not text in the file's encoding are shown as U+FFFD: the message
  holding them says so, and a source note names the first lines (the hashed file keeps the
  bytes).
* One record per message: a header line and the lines that continue it (a message of several
  lines). Android writes ``<date>, <time> - <author>: <text>``, the iPhone ``[<date>, <time>]
  <author>: <text>``; a line without an author is a notice of WhatsApp's own (a group created,
  someone added, the encryption notice). The iPhone puts its notices under an author (the chat's
  name): notices are recognised by their words, wherever they stand.
* Times are the phone's wall clock with no zone (basis ``local``: the core reads them in the
  source's zone), precise to the minute or the second as written. Dates are numeric in the order
  of the phone's language: year first (``2019/01/20``) is read as such; otherwise the day/month
  order is decided from the whole file (:mod:`courseline.parsers._dates`); when no line decides,
  the case file's ``date_order`` for the source is used, else the source's region (month first
  for the United States and its territories, the Philippines, and the Pacific states that follow
  them), else day first, and a source note says which and that it was assumed. Two-digit years are
  20xx. Buddhist-era years (``2565``, with or without ``BE``: any year from 2400) are converted
  (−543) and noted; Japanese era years (``R4`` Reiwa, ``H30`` Heisei) are converted and noted; a
  year in another era is rejected with the reason. Twelve-hour clocks with AM/PM markers in the
  languages of :data:`AM_MARKERS` / :data:`PM_MARKERS`, before or after the time; ``00:08 AM``
  (seen in real exports) is read as 00:08.
* The invisible characters real exports carry (U+200E/U+200F marks, isolates, a byte-order mark on
  any line, U+202F and U+00A0 before AM/PM) are removed from headers and author names; message
  text is kept as written, except the left-to-right mark WhatsApp puts before its placeholders.
* Senders: the author as shown, ``name:<display name>``, or ``whatsapp:<number>`` when the author
  is a phone number (a contact not in the phone's address book). Recipients: in a chat of two
  authors, the other one; in a group, every other author seen in the file (the export does not
  list silent members), with the group's name (from the file name, when it says) in details. A
  chat where only one author wrote names the other party from the file name when it can; when
  that author is the one the chat is named after, the other side is the phone's owner
  (``owner_side``), whom the core names from the case file.
* Markers, in English, German, French, Spanish, Italian, Portuguese, Dutch, Russian, Arabic and
  Hindi (:data:`PHRASES`): "This message was deleted" / "You deleted this message" → flag
  ``deleted``; "<This message was edited>" → flag ``edited`` (marker removed from the text); media
  left out ("<Media omitted>", "image omitted"…) → details ``media: omitted``; media attached
  ("IMG-….jpg (file attached)", "<attached: 0000-PHOTO-….jpg>") → the file, found beside the
  chat in the same export, hashed as an attachment (listed by name when absent); missed voice and
  video calls → ``call`` events, status ``missed``; group notices (created, added, joined with a
  link, left, removed, changed number, subject or icon, the encryption notice) → ``message``
  events with ``details.notice``. A notice not recognised is kept as text with
  ``details.notice = "unrecognised"``: nothing is dropped.

Not read: the media files' own dates (the attachment is hashed; its EXIF is another parser's job);
reactions and polls (the export leaves them out); which member is the phone's owner (the case
file's ``owner`` and identifiers decide direction).

Checked on real data: ``realworld/whatsapp/chatminer_test_*.txt`` (joweich/chat-miner: one chat in
five layouts: dd/mm/yy, mm/dd/yy, [mm/dd/yy hh:mm] without a comma, yyyy/mm/dd, mm/dd/yyyy with
``a. m.``/``p. m.`` and ``00:08 a. m.``): 9 records each, 7 messages and 2 notices. The phrases
in languages other than English, the iPhone layout, Buddhist and Japanese-era years and attached
media follow formats.md's citations and were checked on synthetic files only (the real exports
cited there are not in the corpus, for licence and privacy reasons).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache, partial
from itertools import chain
from pathlib import Path
from typing import NamedTuple, TextIO

from courseline.collectors.identify import Sample, bom_codec
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import INVISIBLE, SPACES, related_attachment
from courseline.parsers._dates import (
    DAY_FIRST,
    MONTH_FIRST,
    Order,
    OrderEvidence,
    decide_order,
)
from courseline.parsers._text import head_text
from courseline.timeline.event import (
    MAX_TEXT_CHARS,
    Event,
    RawTime,
    Reject,
    SourceNote,
    bounded,
)

_DATE = r"(?P<date>[A-Z]?\d{1,4}[./\-][A-Z]?\d{1,2}[./\-][A-Z]?\d{1,4}(?:\s?(?:BE|พ\.ศ\.))?)"
_TIME = r"(?P<time>[^\]\-–]*?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?[^\]\-–]*?)"
# A header line: its date and time, then the author and a colon (none for a notice), then text.
# The author's run is greedy: it cannot hold a colon, so it stops at the first one anyway.
_REST = r"(?P<rest>(?:(?P<author>[^:\n]{1,100}):\s?)?(?P<text>.*))$"
# The same, up to the author: what the first pass reads (the text never changes what matches
# before it, as ".*$" matches anything).
_AUTHOR_ONLY = r"(?:(?P<author>[^:\n]{1,100}):)?"
# Most exports write every header one way: digits only, one space, a 24-hour clock. That usual
# header is one path through the general pattern: where the general one has a choice, the usual
# one takes the general one's first (greedy runs over the same characters, lazy runs empty) or
# fails, so whatever it matches the general pattern matches with the same groups. It is tried
# first because it is matched in half the time; a line it does not match is matched in full.
_USUAL_DATE = r"(?P<date>\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4})"
_USUAL_TIME = r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)"


def _patterns(rest: str) -> dict[str, tuple[re.Pattern, re.Pattern]]:
    """Each layout's (usual, general) header patterns, followed by ``rest``."""
    return {
        "android": (re.compile(rf"{_USUAL_DATE},? {_USUAL_TIME} - {rest}", re.S),
                    re.compile(rf"{_DATE}[,،]?\s+{_TIME}\s[-–]\s{rest}", re.S)),
        "iphone": (re.compile(rf"\[{_USUAL_DATE},? {_USUAL_TIME}\]\s?{rest}", re.S),
                   re.compile(rf"\[{_DATE}[,،]?\s+{_TIME}\]\s?{rest}", re.S)),
    }


HEADERS = _patterns(_REST)
DATES_AND_AUTHORS = _patterns(_AUTHOR_ONLY)


def match_layout(patterns: dict[str, tuple[re.Pattern, re.Pattern]],
                 line: str) -> tuple[str, re.Match] | None:
    """The line's layout and header match, or None for a line that continues a message. The
    iPhone's lines open with a bracket, Android's with a digit; any other line is not matched at
    all (most of a chat's lines are one or the other)."""
    first = line[:1]
    layout = "iphone" if first == "[" else "android" if first.isdigit() else None
    if layout is None:
        return None
    usual, general = patterns[layout]
    match = usual.match(line) or general.match(line)
    return (layout, match) if match else None


DATE_PARTS = re.compile(r"^(?P<a>[A-Z]?\d{1,4})[./\-](?P<b>[A-Z]?\d{1,2})[./\-](?P<c>[A-Z]?\d{1,4})"
                        r"(?:\s?(?P<era>BE|พ\.ศ\.))?$")
CLOCK = re.compile(r"(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?")
PHONE_AUTHOR = re.compile(r"^\+?[\d\s().\-]{7,}$")

# AM/PM as phones write them, lower-cased with dots and spaces taken out.
AM_MARKERS = frozenset({"am", "a", "vorm", "午前", "上午", "오전", "ص", "पूर्वाह्न", "पूर्वा",
                        "قظ", "ก่อนเที่ยง", "πμ", "дп", "sa", "fm", "ap", "vm", "de"})
PM_MARKERS = frozenset({"pm", "p", "nachm", "午後", "下午", "오후", "م", "अपराह्न", "अपरा",
                        "بظ", "หลังเที่ยง", "μμ", "пп", "ch", "em", "ip", "nm", "du"})
# Words some languages put between the date and the time ("klo" in Finnish).
CONNECTORS = frozenset({"klo", "um", "à", "a las", "alle", "om", "в", "às"})
MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI", "UM"})
ERAS = {"R": 2018, "H": 1988, "S": 1925}   # Reiwa 1 = 2019, Heisei 1 = 1989, Shōwa 1 = 1926
BUDDHIST_FROM = 2400
MAX_AUTHORS_NAMED = 256   # group members listed as recipients; more are counted, not listed


def _phrases(*texts: str) -> tuple[str, ...]:
    return tuple(t.casefold() for t in texts)


# What WhatsApp writes, by language (en, de, fr, es, it, pt, nl, ru, ar, hi). Matched after
# invisible marks are removed, case-folded.
PHRASES: dict[str, tuple[str, ...]] = {
    "deleted": _phrases(
        "This message was deleted", "You deleted this message",
        "Diese Nachricht wurde gelöscht", "Du hast diese Nachricht gelöscht",
        "Ce message a été supprimé", "Vous avez supprimé ce message",
        "Se eliminó este mensaje", "Eliminaste este mensaje", "Este mensaje fue eliminado",
        "Questo messaggio è stato eliminato", "Hai eliminato questo messaggio",
        "Mensagem apagada", "Você apagou esta mensagem", "Esta mensagem foi apagada",
        "Dit bericht is verwijderd", "Je hebt dit bericht verwijderd",
        "Данное сообщение удалено", "Вы удалили данное сообщение", "Это сообщение удалено",
        "تم حذف هذه الرسالة", "لقد حذفت هذه الرسالة",
        "यह मैसेज डिलीट किया गया था", "आपने यह मैसेज डिलीट किया"),
    "edited": _phrases(
        "<This message was edited>", "<Diese Nachricht wurde bearbeitet>",
        "<Ce message a été modifié>", "<Se editó este mensaje.>", "<Se editó este mensaje>",
        "<Questo messaggio è stato modificato>", "<Esta mensagem foi editada>",
        "<Dit bericht is bewerkt>", "<Сообщение изменено>", "<تم تعديل هذه الرسالة>",
        "<यह मैसेज एडिट किया गया था>"),
    "omitted": _phrases(
        "<Media omitted>", "<Medien ausgeschlossen>", "<Médias omis>", "<Multimedia omitido>",
        "<Media omessi>", "<Mídia oculta>", "<Ficheiro omitido>", "<Media weggelaten>",
        "<Без медиафайлов>", "<تم استبعاد الوسائط>", "<मीडिया के बिना>",
        "image omitted", "video omitted", "audio omitted", "sticker omitted", "GIF omitted",
        "document omitted", "Contact card omitted",
        "Bild weggelassen", "Video weggelassen", "Audio weggelassen", "Sticker weggelassen",
        "image absente", "vidéo absente", "audio absent", "autocollant absent",
        "imagen omitida", "video omitido", "audio omitido", "sticker omitido",
        "immagine omessa", "video omesso", "audio omesso",
        "imagem ocultada", "vídeo omitido", "áudio ocultado",
        "afbeelding weggelaten", "video weggelaten", "audio weggelaten",
        "изображение отсутствует", "видео отсутствует", "аудиофайл отсутствует",
        "تم استبعاد الصورة", "تم استبعاد الفيديو", "छवि छोड़ी गई", "वीडियो छोड़ा गया"),
    "missed voice call": _phrases(
        "Missed voice call", "Verpasster Sprachanruf", "Appel vocal manqué", "Llamada perdida",
        "Llamada de voz perdida", "Chiamata vocale persa", "Chamada de voz perdida",
        "Gemiste spraakoproep", "Пропущенный аудиозвонок", "مكالمة صوتية فائتة",
        "मिस्ड वॉइस कॉल"),
    "missed video call": _phrases(
        "Missed video call", "Verpasster Videoanruf", "Appel vidéo manqué", "Videollamada perdida",
        "Videochiamata persa", "Chamada de vídeo perdida", "Gemiste video-oproep",
        "Пропущенный видеозвонок", "مكالمة فيديو فائتة", "मिस्ड वीडियो कॉल"),
}
FILE_ATTACHED = frozenset(_phrases(
    "(file attached)", "(Datei angehängt)", "(fichier joint)", "(archivo adjunto)",
    "(file allegato)", "(arquivo anexado)", "(ficheiro anexado)", "(bestand bijgevoegd)",
    "(файл добавлен)", "(الملف مرفق)", "(फ़ाइल अटैच की गई)"))
_ATTACHED_TAILS = frozenset(len(phrase) - 1 for phrase in FILE_ATTACHED)   # after the "("
ATTACHED_TAG = re.compile(r"^<(?:attached|Anhang|pièce jointe|adjunto|allegato|anexado|anexo|"
                          r"bijlage|вложение|مرفق|संलग्न)\s?:\s?(?P<name>[^>]+)>$", re.I)
# Notices of WhatsApp's own, by what they say (the text that follows a name, or the whole line).
NOTICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("encryption notice", _phrases(
        "end-to-end encrypted", "Ende-zu-Ende-verschlüsselt", "de bout en bout",
        "de extremo a extremo", "crittografia end-to-end", "crittografati end-to-end",
        "ponta a ponta", "end-to-end versleuteld", "сквозным шифрованием",
        "تمامًا بين الطرفين", "एंड-टू-एंड")),
    ("security code changed", _phrases(
        "security code changed", "security code with", "Sicherheitsnummer", "code de sécurité",
        "código de seguridad", "codice di sicurezza", "código de segurança",
        "beveiligingscode", "код безопасности", "رمز الأمان", "सुरक्षा कोड")),
    ("changed number", _phrases(
        "changed their phone number", "changed to +", "changed to a new number",
        "hat die Telefonnummer", "a changé de numéro",
        "cambió su número", "ha cambiato numero", "mudou seu número", "mudou o número",
        "heeft zijn/haar nummer gewijzigd", "сменил(-а) номер", "غيّر رقم هاتفه",
        "ने अपना फ़ोन नंबर बदल")),
    ("joined with a link", _phrases(
        "joined using this group's invite link", "joined using this group", "ist über den Einladungslink",
        "a rejoint ce groupe via le lien", "se unió usando el enlace", "si è unito tramite il link",
        "entrou usando o link", "neemt deel via de uitnodigingslink",
        "присоединился(-ась) по ссылке", "انضم باستخدام رابط", "लिंक से शामिल हुए")),
    ("created group", _phrases(
        "created group", "created this group", "hat die Gruppe", "a créé le groupe",
        "creó el grupo", "ha creato il gruppo", "criou o grupo", "heeft groep",
        "создал(-а) группу", "أنشأ المجموعة", "ने ग्रुप बनाया")),
    ("added", _phrases(
        "You were added", "added you", " added ", "hat dich hinzugefügt", " hinzugefügt",
        "vous a ajouté", " a ajouté ", "te añadió", " añadió a ", "ti ha aggiunto",
        " ha aggiunto ", "adicionou você", " adicionou ", "heeft je toegevoegd", " toegevoegd",
        "добавил(-а)", "أضافك", " أضاف ", "ने आपको जोड़ा", "ने जोड़ा")),
    ("left", _phrases(
        " left ", "hat die Gruppe verlassen", " est parti", "salió del grupo", " è uscito",
        " saiu ", "heeft de groep verlaten", "вышел(-а) из группы", " غادر ",
        "ने ग्रुप छोड़ दिया")),
    ("removed", _phrases(
        " removed ", "hat dich entfernt", " entfernt ", " a retiré ", " eliminó a ",
        " ha rimosso ", " removeu ", " verwijderd ", "удалил(-а)", " أزال ", "ने हटाया")),
    ("changed the subject", _phrases(
        "changed the subject", "changed the group name", "hat den Betreff", "a modifié le sujet",
        "cambió el asunto", "ha cambiato l'oggetto", "mudou o assunto", "heeft het onderwerp",
        "изменил(-а) тему", "غيّر الموضوع", "ने विषय बदल")),
    ("changed the icon", _phrases(
        "changed this group's icon", "changed the group icon", "hat das Gruppenbild",
        "a changé l'icône", "cambió el ícono", "ha cambiato l'immagine", "mudou a imagem",
        "heeft de groepsafbeelding", "изменил(-а) изображение", "غيّر صورة", "ने ग्रुप आइकन")),
    ("changed the description", _phrases(
        "changed the group description", "hat die Gruppenbeschreibung", "a modifié la description",
        "cambió la descripción", "ha cambiato la descrizione", "mudou a descrição",
        "heeft de groepsbeschrijving", "изменил(-а) описание", "غيّر وصف", "ने विवरण बदल")),
    ("message timer", _phrases(
        "disappearing messages", "selbstlöschende Nachrichten", "messages éphémères",
        "mensajes temporales", "messaggi effimeri", "mensagens temporárias",
        "verdwijnende berichten", "исчезающие сообщения", "الرسائل المؤقتة", "गायब होने वाले मैसेज")),
)
CHAT_NAME = re.compile(r"^(?:WhatsApp Chat (?:with|-) |WhatsApp-Chat mit |Discussion WhatsApp avec |"
                       r"Chat de WhatsApp con |Chat WhatsApp con |Conversa do WhatsApp com |"
                       r"WhatsApp-chat met |Чат WhatsApp с |دردشة واتساب مع |"
                       r"WhatsApp चैट )(?P<name>.+?)(?:\.txt|\.zip)?$", re.I)


class WhatsAppChatParser(Parser):
    NAME = "whatsapp-txt"
    DATA_FORMAT = 'WhatsApp "Export chat" text'
    VERSION = "2"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        text = head_text(sample.head)
        if text is None:
            return False
        lines = [clean(line) for line in text.splitlines()[:12]]
        lines = [line for line in lines if line.strip()]
        # The first line of every export is a dated line (the encryption notice, or a message).
        return bool(lines) and _header(lines[0]) is not None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        survey = _survey(source.path)
        order = _order(survey.evidence, source)
        if order.note:
            yield SourceNote(order.note)
        if survey.codec != "utf-8":
            yield SourceNote(f"decoded as {survey.codec.upper().removesuffix('-SIG')} "
                             f"(the file starts with a byte-order mark)")
        if survey.undecoded:
            first, count = survey.undecoded[0], survey.undecoded_count
            yield SourceNote(f"{count} line(s) hold bytes that are not "
                             f"{survey.codec.upper().removesuffix('-SIG')} (first: line "
                             f"{first}): they are shown as U+FFFD (\ufffd), and each message "
                             f"they are in says so; the original bytes are in the hashed file")
        if survey.too_many_authors:
            yield SourceNote(f"more than {MAX_AUTHORS_NAMED} people wrote in this chat: each "
                             f"message names the first {MAX_AUTHORS_NAMED} seen as its "
                             f"recipients, not every member")
        chat = _chat_name(source)
        parties = Parties(sorted(survey.authors), chat)
        times = _Times(order.value)
        for record in _records(source.path, survey.codec):
            yield _event(record, times, parties, chat, source)


# -- lines and records -----------------------------------------------------------------------------

def clean(line: str) -> str:
    """A line as headers are matched: invisible marks out, odd spaces made plain."""
    if line.isascii():   # no mark or odd space can be in it: the common case, kept cheap
        return line.rstrip("\r\n")
    return line.translate(INVISIBLE).translate(SPACES).rstrip("\r\n")


def fold(text: str) -> str:
    """Text as phrases are compared: marks out, spaces plain and single, case folded."""
    if not text.isascii():
        text = text.translate(INVISIBLE).translate(SPACES)
    return " ".join(text.casefold().split())


class Header(NamedTuple):   # one per message of the file: kept cheap
    date: str
    time: str
    author: str | None   # the author's name as shown; None: a notice of WhatsApp's own
    text: str            # what follows the author (or the notice), as written
    layout: str          # "android" or "iphone"


# A NamedTuple's own constructor is Python code; made from one tuple in C it costs a quarter.
_new_header = partial(tuple.__new__, Header)


# Marks that stand before a header's first character (a byte-order mark on any line, the
# iPhone's left-to-right mark before lines with media).
LEADING_MARKS = "\ufeff\u200e\u200f\u2066\u2067\u2068\u2069"


def _header(line: str) -> Header | None:
    """A line's header, or None for a line that continues a message. The line is matched as
    written first, so that the text keeps its marks; only a line that does not match is
    matched again with its leading marks, and then all its marks and odd spaces, taken out
    (a right-to-left date holds U+200F between its numbers)."""
    found = match_layout(HEADERS, line)
    if found is None and not line.isascii():
        for candidate in (line.lstrip(LEADING_MARKS), clean(line)):
            if candidate != line:
                found = match_layout(HEADERS, candidate)
                if found is not None:
                    break
    if found is None:
        return None
    layout, match = found
    date, clock, author, text = match.group("date", "time", "author", "text")
    if author is not None:
        author = _author_name(author)
        if author is None:   # a notice quoting something with a colon in it
            text = match.group("rest")
    return _new_header((date, clock.strip(), author, text, layout))


@lru_cache(maxsize=4096)
def _author_name(written: str) -> str | None:
    """An author as shown (marks out, spaces single), or None when what stands before the colon
    is not a name but a notice: 'Chris changed the subject from "A" to "B: C"'. Only a notice
    quoting something can hold a colon, so only then are its words looked at."""
    author = written if written.isascii() else written.translate(INVISIBLE).translate(SPACES)
    author = " ".join(author.split())
    if not author or (('"' in author or "\u201c" in author) and _notice(author) is not None):
        return None
    return author


@dataclass(slots=True)
class Record:
    line: int            # the header's line number (1-based)
    header: Header
    raw_header: str      # the line as written
    more: list[str] | None = None   # the lines that continue it (most messages have none)
    cut: bool = False    # more than a message may hold: lines, or one line longer than is read
    undecoded: bool = False   # bytes that are not text in the encoding, shown as U+FFFD


# Bytes the decoder could not read, kept as lone surrogates ("surrogateescape") so that the
# lines holding them can be named; they become U+FFFD in what is shown.
UNDECODED = re.compile("[\udc80-\udcff]")
MAX_NOTED_LINES = 10


def file_codec(path: Path) -> str:
    """The export's encoding: WhatsApp writes UTF-8; a byte-order mark says otherwise (a chat
    re-saved by an editor as "Unicode")."""
    with path.open("rb") as handle:
        codec = bom_codec(handle.read(4))
    return codec or "utf-8"


def _shown(line: str, codec: str) -> str:
    """A line holding undecoded bytes as it is shown: each byte a U+FFFD."""
    codec = codec.removesuffix("-sig")
    return line.encode(codec, "surrogateescape").decode(codec, "replace")


# A line is kept to at most this many characters, so that one enormous line (a damaged or hostile
# file) never has to be held whole; what a message keeps is bounded anyway.
MAX_LINE_CHARS = MAX_TEXT_CHARS
BLOCK_CHARS = 1 << 16


def _open(path: Path, codec: str) -> TextIO:
    # Universal newlines: a line ends at \n, \r\n or a lone \r, and each becomes \n.
    return path.open(encoding=codec, errors="surrogateescape")


def _physical_lines(handle: TextIO) -> Iterator[str]:
    """The file's lines without their ends, split in C a block at a time (a chat has millions of
    them). A line of :data:`MAX_LINE_CHARS` or more is cut to that length, and the rest of it
    never read into memory: a line that long is one that was cut."""
    return chain.from_iterable(_line_blocks(handle))


def _line_blocks(handle: TextIO) -> Iterator[list[str]]:
    tail = ""          # the start of a line that the block read last cut
    dropping = False   # reading past the rest of a line cut to MAX_LINE_CHARS
    while block := handle.read(BLOCK_CHARS):
        if dropping:
            end = block.find("\n")
            if end < 0:
                continue
            block, dropping = block[end + 1:], False
        text = tail + block if tail else block
        lines = text.split("\n")
        tail = lines.pop()
        if len(text) > MAX_LINE_CHARS and max(map(len, lines), default=0) > MAX_LINE_CHARS:
            lines = [line[:MAX_LINE_CHARS] for line in lines]
        if len(tail) >= MAX_LINE_CHARS:
            lines.append(tail[:MAX_LINE_CHARS])
            tail, dropping = "", True
        if lines:
            yield lines
    if tail:
        yield [tail]


def _records(path: Path, codec: str) -> Iterator[Record | Reject]:
    current: Record | None = None
    size = 0
    with _open(path, codec) as handle:
        for number, line in enumerate(_physical_lines(handle), 1):
            overlong = len(line) >= MAX_LINE_CHARS
            undecoded = not line.isascii() and UNDECODED.search(line) is not None
            if undecoded:
                line = _shown(line, codec)
            first = line[:1]
            # A line that opens with neither a bracket nor a digit continues a message unless it
            # has marks before its date: only those are matched.
            header = _header(line) if first == "[" or first.isdigit() or not line.isascii() \
                else None
            if header is not None:
                if current is not None:
                    yield current
                current, size = Record(number, header, line, None, overlong, undecoded), len(line)
            elif current is None:
                if line.strip("\ufeff\u200e\u200f \t"):
                    yield Reject(f"line:{number}", "text before the first dated line: not part "
                                                   "of any message")
            elif size < MAX_TEXT_CHARS:
                if current.more is None:
                    current.more = [line]
                else:
                    current.more.append(line)
                size += len(line) + 1
                current.undecoded = current.undecoded or undecoded
                current.cut = current.cut or overlong
            else:
                current.cut = True
    if current is not None:
        yield current


@dataclass
class Survey:
    """The first pass: what the whole file says about its dates and who wrote in it."""

    codec: str = "utf-8"
    evidence: OrderEvidence = field(default_factory=lambda: OrderEvidence("line"))
    authors: set[str] = field(default_factory=set)
    too_many_authors: bool = False
    undecoded: list[int] = field(default_factory=list)   # the first lines with undecoded bytes
    undecoded_count: int = 0


def _survey(path: Path) -> Survey:
    survey = Survey(codec=file_codec(path))
    authors = survey.authors
    dates: dict[str, list[int]] = {}   # date as written → [first line, lines]
    with _open(path, survey.codec) as handle:
        for number, line in enumerate(_physical_lines(handle), 1):
            if not line.isascii() and UNDECODED.search(line) is not None:
                survey.undecoded_count += 1
                if len(survey.undecoded) < MAX_NOTED_LINES:
                    survey.undecoded.append(number)
                line = _shown(line, survey.codec)
            # Most lines match as written: their date and author are read from the match alone.
            header = None
            found = match_layout(DATES_AND_AUTHORS, line)
            if found is not None:
                date, author = found[1].group("date", "author")   # a date has no spaces at its ends
                if author is not None and author not in authors:
                    header = _header(line)
                    author = header.author
            elif line.isascii() or (header := _header(line)) is None:
                continue
            else:
                date, author = header.date, header.author
            seen = dates.get(date)
            if seen is None:
                dates[date] = [number, 1]
            else:
                seen[1] += 1
            if author is None or author in authors:
                continue
            # The iPhone puts its notices under the chat's name: that name is no author of them.
            if header.layout == "android" or _authored_notice(header.text) is None:
                if len(authors) < MAX_AUTHORS_NAMED:
                    authors.add(author)
                else:
                    survey.too_many_authors = True
    for date, (first_line, lines) in dates.items():
        numbers = _day_month_numbers(date)
        if numbers is not None:
            survey.evidence.add(first_line, date, *numbers, times=lines)
    return survey


@lru_cache(maxsize=1024)
def _day_month_numbers(date: str) -> tuple[int, int] | None:
    """The first two numbers of a date that is not year first (whose order is to be decided)."""
    parts = DATE_PARTS.match(date)
    if parts and len(parts.group("a")) <= 2 and parts.group("a").isdigit() \
            and parts.group("b").isdigit():
        return int(parts.group("a")), int(parts.group("b"))
    return None


def _order(evidence: OrderEvidence, source: SourceFile) -> Order:
    override = 'date_order = "month-first" (or "day-first")'
    chosen = source.sample.options.get("date_order")
    if chosen in (DAY_FIRST, MONTH_FIRST):
        decided = decide_order(evidence, override)
        if decided.assumed or decided.value is None:
            return Order(chosen, False, f"day/month order: {chosen.replace('-', ' ')}, as the "
                                        f"case file sets for this source")
        return decided
    decided = decide_order(evidence, override)
    if decided.assumed and source.region in MONTH_FIRST_REGIONS:
        return Order(MONTH_FIRST, True, decided.note.replace(
            "ASSUMED day first", f"ASSUMED month first (the source's region is {source.region})")
            .replace("if the phone or account wrote month first", "if the phone wrote day first")
            .replace('date_order = "month-first" (or "day-first")', 'date_order = "day-first"'))
    return decided


def _chat_name(source: SourceFile) -> str | None:
    """The chat's name from the export's file name (``WhatsApp Chat with Chris.txt``), or from
    the zip it came out of for an iPhone's ``_chat.txt``."""
    for candidate in (source.name, source.case_path.rpartition("!")[0].rpartition("/")[2]):
        match = CHAT_NAME.match(candidate.translate(INVISIBLE))
        if match:
            return match.group("name").strip()
    return None


# -- what a record says ----------------------------------------------------------------------------

STRONG_NOTICES = frozenset({"encryption notice", "security code changed"})


def _notice_pattern(kinds: list[tuple[str, tuple[str, ...]]]) -> re.Pattern:
    return re.compile("|".join(
        f"(?P<k{index}>{'|'.join(re.escape(p) for p in phrases)})"
        for index, (_, phrases) in enumerate(kinds)))


_ALL_NOTICES = list(NOTICES)
_STRONG = [item for item in NOTICES if item[0] in STRONG_NOTICES]
_ALL_PATTERN, _STRONG_PATTERN = _notice_pattern(_ALL_NOTICES), _notice_pattern(_STRONG)


def _notice(text: str, authored: bool = False) -> str | None:
    """What kind of WhatsApp notice a text is, or None. A text under an author (``authored``)
    is a notice only when it is one of the long, unmistakable ones, or when it starts with the
    left-to-right mark the iPhone puts before its notices: "Chris left" from a person is a
    message, not a notice."""
    if authored and not text.lstrip(" ").startswith("\u200e"):
        kinds, pattern = _STRONG, _STRONG_PATTERN
    else:
        kinds, pattern = _ALL_NOTICES, _ALL_PATTERN
    found = pattern.search(f" {fold(text)} ")
    return kinds[int(found.lastgroup[1:])][0] if found else None


# Whole-message phrases (deleted, media left out, missed calls), by their folded text.
_PHRASE_KINDS = {phrase: kind for kind in ("deleted", "omitted", "missed voice call",
                                           "missed video call") for phrase in PHRASES[kind]}
_EDITED_MARKERS = PHRASES["edited"]
# A text longer than this (plus spaces a fold would take out) is none of those phrases.
_LONGEST_PHRASE = 2 * max(map(len, _PHRASE_KINDS))
# A plain, single-spaced text can be one only if it is as long as one.
_PHRASE_LENGTHS = frozenset(map(len, _PHRASE_KINDS))


def _phrase_kind(text: str) -> str | None:
    """The whole-message phrase a text is (deleted, media left out, a missed call), or None.
    Most texts are plain and single-spaced: they are looked up as they are, and folded only
    when folding could change them."""
    folded = text.casefold()
    said = _PHRASE_KINDS.get(folded)
    if said is None and not (folded.isascii() and "  " not in folded and "\t" not in folded
                             and "\n" not in folded):
        said = _PHRASE_KINDS.get(fold(text))
    return said


def identifier(author: str) -> str:
    """``whatsapp:<number>`` for an author shown as a phone number, else ``name:<author>``."""
    if PHONE_AUTHOR.match(author) and sum(c.isdigit() for c in author) >= 7:
        return f"whatsapp:{author}"
    return f"name:{author}"


class Parties:
    """Who a message is from and to, by its author (worked out once per author): the other
    authors of the chat, or the party the file is named after, or the phone's owner."""

    def __init__(self, names: list[str], chat: str | None):
        self.names, self.chat = names, chat
        self.group = len(names) > 2
        self._known: dict[str, tuple[str, tuple[str, ...], str | None, str | None]] = {}

    def of(self, name: str) -> tuple[str, tuple[str, ...], str | None, str | None]:
        found = self._known.get(name)
        if found is None:
            found = self._work_out(name)
            if len(self._known) < MAX_AUTHORS_NAMED:
                self._known[name] = found
        return found

    def _work_out(self, name: str) -> tuple[str, tuple[str, ...], str | None, str | None]:
        chat = self.chat
        others = tuple(identifier(n) for n in self.names if n != name)
        if not others and chat and chat != name:
            return identifier(name), (identifier(chat),), None, (
                f"the other party ({chat}) is named from the export's file name: they wrote "
                f"nothing in this chat")
        if not others and chat == name:
            # The chat is named after its one author, so the phone's owner is the other side
            # and never wrote in it: the core names them from the case file.
            return identifier(name), (), "recipients", None
        return identifier(name), others, None, None


def _event(record: Record | Reject, times: _Times, parties: Parties, chat: str | None,
           source: SourceFile) -> Event | Reject:
    if isinstance(record, Reject):
        return record
    header = record.header
    locator = f"line:{record.line}"
    try:
        time, time_notes = times.of(header.date, header.time)
    except ValueError as error:
        return Reject(locator, f"{error}: {record.raw_header[:200]!r}")
    text = "\n".join([header.text, *record.more]) if record.more else header.text
    notes = list(time_notes)
    if record.undecoded:
        notes.append(UNDECODED_NOTE)
    details: dict = {"layout": header.layout}
    if chat:
        details["chat"] = chat
    author = header.author
    # Android writes its notices without an author; only the iPhone puts them under one.
    if author is None:
        notice = _notice(text) if len(text) < 2000 else None
    elif header.layout == "iphone":
        notice = _authored_notice(text)
    else:
        notice = None
    if author is None or notice is not None:
        details["notice"] = notice or "unrecognised"
        if author is not None:
            details["shown_under"] = author
        body, cut = bounded(text.translate(INVISIBLE).strip(), MAX_TEXT_CHARS)
        return Event(kind="message", platform="whatsapp", time=time, locator=locator, text=body,
                     flags=["truncated"] if cut or record.cut else [], details=details,
                     notes=notes)
    sender, others, owner_side, note = parties.of(author)
    if note:
        notes.append(note)
    if parties.group and chat:
        details["group"] = chat
    flags: list[str] = []
    attachments = []
    kind, call_status = "message", None
    stripped = (text if text.isascii() else text.translate(INVISIBLE)).strip()
    if stripped.endswith(">"):
        folded_end = stripped.casefold()
        for marker in _EDITED_MARKERS:
            if folded_end.endswith(marker):
                stripped = stripped[:len(stripped) - len(marker)].rstrip()
                flags.append("edited")
                break
    said = _phrase_kind(stripped) if len(stripped) < _LONGEST_PHRASE \
        and (len(stripped) in _PHRASE_LENGTHS or not stripped.isascii() or "  " in stripped) \
        and "\n" not in stripped else None
    if said == "deleted":
        flags.append("deleted")
    elif said == "omitted":
        details["media"] = "omitted"
    elif said in ("missed voice call", "missed video call"):
        kind, call_status = "call", "missed"
        details["call"] = "video" if said == "missed video call" else "voice"
    else:
        # Most texts hold neither character: the test in C spares them the call.
        media = _attached_name(stripped) if ")" in stripped or "<" in stripped else None
        if media:
            found = _attachment(source, media)
            if found is not None:
                attachments.append(found)
            else:
                details["media_not_in_export"] = media
    body, cut = bounded(text.removeprefix("\u200e"), MAX_TEXT_CHARS)
    if cut or record.cut:
        flags.append("truncated")
    if "edited" in flags:
        body = stripped
    # Positional, in the order of _EVENT_FIELDS: made for every message of chats of millions,
    # and a call by keyword costs twice as much (the order is checked when this module loads).
    return Event(kind, "whatsapp", time, locator, "unknown",
                 sender, list(others), None, body, call_status, None, attachments, None, flags,
                 details, notes, owner_side)


_EVENT_FIELDS = ("kind", "platform", "time", "locator", "direction", "sender", "recipients",
                 "subject", "text", "call_status", "duration_s", "attachments", "location",
                 "flags", "details", "notes", "owner_side")
if tuple(f.name for f in fields(Event)) != _EVENT_FIELDS:
    raise ImportError("Event's fields changed: update the positional call in whatsapp._event")

UNDECODED_NOTE = ("this message holds bytes the file's encoding could not read: they are shown "
                  "as U+FFFD (\ufffd); the original bytes are in the hashed file")


def _authored_notice(text: str) -> str | None:
    """The kind of notice an iPhone line under an author is, or None: a line the iPhone marks
    as its own (left-to-right mark) or one of the unmistakable ones; never a media line."""
    if len(text) >= 2000 or text.lstrip(LEADING_MARKS + " ").startswith("<"):
        return None
    return _notice(text, authored=True)


def _attached_name(text: str) -> str | None:
    first = text.partition("\n")[0].rstrip("\r")
    if not (first.endswith(")") or first.startswith("<")):
        return None
    match = ATTACHED_TAG.match(first)
    if match:
        return match.group("name").strip()
    name, bracket, tail = first.rpartition("(")
    if bracket and len(tail) in _ATTACHED_TAILS and f"({tail}".casefold() in FILE_ATTACHED:
        return name.strip()
    return None


def _attachment(source: SourceFile, name: str):
    found, _ = related_attachment(source, name, name)
    return found


# -- times -----------------------------------------------------------------------------------------

class _Times:
    """The times of a chat's headers in its day/month order. A chat's messages share their
    dates and clocks: each is read once (the last few thousand kept), and only the instant is
    made for each message; consecutive messages often share their minute, and then its time."""

    SOURCE = "chat line (the phone's clock, no zone)"
    KEPT = 4096

    def __init__(self, order: str | None):
        self.order = order
        self.date = self.clock = None
        self.last: tuple[RawTime, tuple[str, ...]] | None = None
        self.days: dict[str, tuple[int, int, int, tuple[str, ...]]] = {}
        self.clocks: dict[str, tuple[int, int, int, str, tuple[str, ...]]] = {}

    def of(self, date: str, clock: str) -> tuple[RawTime, tuple[str, ...]]:
        """Raises ValueError for a header that is not a date and time (never remembered)."""
        if clock == self.clock and date == self.date:
            return self.last
        day = self.days.get(date)
        if day is None:
            day = self._keep(self.days, date, _date(date, self.order))
        year, month, day_of_month, date_notes = day
        read = self.clocks.get(clock)
        if read is None:
            read = self._keep(self.clocks, clock, _clock(clock))
        hour, minute, second, precision, clock_notes = read
        try:
            moment = datetime(year, month, day_of_month, hour, minute, second)
        except ValueError as error:
            raise ValueError(f"not a date and time ({error})") from None
        found = (RawTime(f"{date} {clock}", moment, "local", precision, self.SOURCE),
                 date_notes + clock_notes if clock_notes else date_notes)
        self.date, self.clock, self.last = date, clock, found
        return found

    def _keep(self, kept: dict, key: str, value: tuple) -> tuple:
        if len(kept) >= self.KEPT:
            kept.clear()
        kept[key] = value
        return value


def _date(text: str, order: str | None) -> tuple[int, int, int, tuple[str, ...]]:
    """Year, month and day of a header's date; ``order``: the file's day/month order (None:
    the file's lines disagree, and this one must decide)."""
    parts = DATE_PARTS.match(text)
    if parts is None:
        raise ValueError("not a date")
    a, b, c, era = parts.group("a", "b", "c", "era")
    notes: list[str] = []
    if not b.isdigit():
        raise ValueError("not a date")
    if len(a) == 4 and a.isdigit():
        year_text, month, day = a, int(b), int(c) if c.isdigit() else -1
    else:
        if not a.isdigit():
            raise ValueError("not a date")
        first, second = int(a), int(b)
        chosen = order
        if chosen is None:   # the file's lines disagree: this line must decide on its own
            chosen = DAY_FIRST if first > 12 else MONTH_FIRST if second > 12 else None
            if chosen is None and first != second:
                raise ValueError("day/month order not decided: the file's lines disagree and "
                                 "this one could be read either way")
            chosen = chosen or DAY_FIRST
        day, month = (first, second) if chosen == DAY_FIRST else (second, first)
        year_text = c
    year, year_note = _year(year_text, era)
    if year_note:
        notes.append(year_note)
    if day < 0:
        raise ValueError("not a date")
    return year, month, day, tuple(notes)


def _year(text: str, era: str | None) -> tuple[int, str | None]:
    if text[:1].isalpha():
        start = ERAS.get(text[0])
        number = text[1:]
        if start is None or not number.isdigit():
            raise ValueError(f"year {text!r} is in a calendar era courseline does not convert "
                             f"(Reiwa R and Heisei H are converted)")
        year = start + int(number)
        return year, f"year {text} (Japanese era) read as {year}"
    value = int(text)
    if len(text) <= 2:
        return 2000 + value, None
    if era or value >= BUDDHIST_FROM:
        year = value - 543
        return year, f"year {text} (Buddhist era) read as {year}"
    return value, None


def _clock(text: str) -> tuple[int, int, int, str, tuple[str, ...]]:
    match = CLOCK.search(text)
    if match is None:
        raise ValueError("no time of day")
    hour, minute = int(match.group("h")), int(match.group("m"))
    second = int(match.group("s")) if match.group("s") else 0
    precision = "s" if match.group("s") else "min"
    marker = (text[:match.start()] + " " + text[match.end():]).strip()
    notes: list[str] = []
    words = [w for w in marker.split() if w.casefold() not in CONNECTORS]
    key = "".join(words).replace(".", "").casefold()
    if marker.casefold() in CONNECTORS or not key:
        return hour, minute, second, precision, tuple(notes)
    if key in AM_MARKERS or key in PM_MARKERS:
        if hour > 12:
            notes.append(f"{match.group(0)} {marker}: a 24-hour time with an AM/PM marker, "
                         f"read as {hour:02d}:{minute:02d}")
        elif key in AM_MARKERS:
            hour = 0 if hour == 12 else hour
        else:
            hour = 12 if hour == 12 else hour + 12
        return hour, minute, second, precision, tuple(notes)
    raise ValueError(f"time of day {text!r} has a marker courseline does not know as AM or PM "
                     f"({marker!r})")
