"""Masking the people who are not parties, for a copy of the report that can be disclosed.

``courseline report CASE --redact`` makes a copy of the report for a victim's advocate or another
third party. The *parties* are the persons of the case file whose role is ``victim`` or
``suspect``; their names and identifiers stay, because the copy is about them. Everyone else is
masked with a pseudonym:

* a person whose role is ``witness`` or ``third-party``: their key and name become ``Witness A``,
  ``Third party B`` (one letter per person, in case-file order), their identifiers
  ``tel:[Witness A, number 1]``, ``email:[Witness A, address 1]``, ``facebook:[Witness A, handle 1]``;
  their ``name:`` identifiers are ``[Witness A]``;
* an identifier tied to no person in the case file (a number, an address, a handle, a display
  name, a short code or sender ID) becomes ``tel:[number 1]``, ``email:[address 2]``,
  ``instagram:[handle 1]``, ``name:[name 3]``, ``tel:[other 1]``. It belongs to someone who is
  not a party as far as the case file says: an identifier the examiner believes is the suspect's
  is shown only once it is tied to the suspect in ``case.toml``. Withheld, unknown and payphone
  callers (``tel:Withheld``) name no one and stay.

Pseudonyms are consistent: one original (a number however it is written, an address in any case,
a name or handle after folding) always gets the same pseudonym in one report, in fields and in
text alike. They are numbered in the order they are first met. A redactor made with the timeline
(``Redactor(persons, rows=…)`` or :meth:`Redactor.prime`) meets them in the timeline's order,
so the numbering is the same whatever order the report then shows things in; without it, the
order of the report's own calls, which is the same on every run. Either way the same inputs give
byte-identical output. A pseudonym is a counter, not a hash of the original, so nothing in it can
be reversed: a hash of a phone number, even salted with something printed in the report, gives
the number back to anyone who tries the billion or so possible numbers.

What is masked in a timeline row (:meth:`Redactor.row`): the sender and recipients, the persons
they were tied to, the subject, text, notes, attachment names and, in the provenance, paths and
locators (a folder is often named after the phone's owner: ``exports/jo-iphone``). The parser's
``details`` (e-mail headers, raw columns) can hold anything, so they are withheld whole and the
withholding is logged. Times, kinds, platforms, flags, hashes, exhibits and locations are kept.

Free text (:meth:`Redactor.text`) is searched for:

* phone numbers, with ``phonenumbers``' PhoneNumberMatcher in the case region, compared in E.164
  with the parties' numbers. A number nobody in the case file has is masked only when it is written
  as dialled (starting with ``+``, ``00`` or ``0``), because the matcher also finds dates,
  references and amounts ("2024-09-20", "12345678"); a known number is masked in any form;
* e-mail addresses (a regular expression bounded per match);
* ``@handles``;
* the names of persons who are not parties: their ``name`` (their key when the case file gives
  none) and ``name:`` identifiers, and their handles, as whole phrases: in any case and spacing,
  with or without accents, with straight or curly apostrophes, run together or with a dot, hyphen
  or underscore between the words (``JoTaylor``, ``jo_taylor``, ``Jo.Taylor``); in a path also
  as ``jo-iphone``. A name *word* alone (``Jo`` for Jo Taylor) is masked too, because messages
  call people by their first name: in any case when it has three letters or more and is not an
  ordinary English word; written with a capital only (``Jo``, ``JO``) when it is shorter or is
  one ("Will", "May", "Hope"), so that "I will" stays; never alone when it is also a word of a
  party's name (a surname shared with the victim), as that would mask the party; a word two
  non-parties share becomes ``[Witness A or Third party B]``;
* display names and handles met in the timeline's identifiers that cannot be ordinary words
  (they hold a digit, a dot, a space…: ``chris.w.83``, ``Dave Smith``).

Where two finds overlap, the one that starts first wins, then the longer, then a party's: a
party's address ``sam.taylor@example.org`` is shown whole, never with a witness's surname
masked inside it. The work is linear in the length of the text: every pattern is bounded per
match, names are tried only where a word starts that begins one, and the phone matcher, the
slowest part (a few seconds per megabyte of text dense with digits, a fraction of a second for
ordinary text), runs only where seven digits stand close together. It is told to try every
candidate, so a long text cannot make it stop early and let numbers through.

Known limits, which the redacted report states (:data:`LIMITS`):

* a person described in words ("my sister", "her boss") is not masked; only names, numbers,
  addresses and handles are recognised;
* a number written in words or letters ("oh seven seven…", ``O77OO``), split across lines, in a
  foreign national format without ``+`` or ``00``, or with no leading ``0``, is not recognised
  unless it is a number the case already knows; neither is an address written out
  ("jo at example dot org");
* a nickname, misspelling or initials of a name that the case file does not list are not
  recognised; a display name met in the timeline that is one plain word ("Mum", "Dave") is masked
  where it is an identifier, not in text; a name word written with a capital at the start of a
  sentence may be masked when it is an ordinary word ("Will you…");
* pictures, audio, video and the content of attachments are not redacted, nor are locations
  (latitude and longitude), times or file hashes;
* ``event_id`` and ``chain`` are hashes over the unredacted event, kept so that each row can be
  checked against the sealed original. They also bind the masked values: someone who could guess
  every other field of an event, the withheld parser details included, could test guesses of a
  masked number against its ``event_id``;
* the redaction is automatic: a person must read the copy before it is disclosed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from courseline.casefile import Person
from courseline.parsers._phone import PAYPHONE, UNKNOWN_NUMBER, WITHHELD
from courseline.timeline.identity import PLATFORM_SCHEMES, fold_name, normalise, split

PARTY_ROLES = frozenset({"victim", "suspect"})
CATEGORIES = ("person", "phone", "email", "handle", "name", "other")
ROLE_WORDS = {"witness": "Witness", "third-party": "Third party"}
# The word a pseudonym of each category uses: "[number 1]", "[Witness A, address 2]".
_NOUN = {"phone": "number", "email": "address", "handle": "handle", "name": "name", "other": "other"}
# Callers with no number: they name no one, and a reader needs to see that a call was withheld.
_NO_NUMBER = frozenset(split(i)[1].casefold() for i in (WITHHELD, UNKNOWN_NUMBER, PAYPHONE))

# Row fields shown as they are: what and when, not who. Hashes and chain tie the row to the seal.
KEEP_FIELDS = frozenset({
    "event_id", "seq", "chain", "occurred_utc", "precision", "time_basis", "time_raw",
    "time_flags", "time_readings", "time_source", "time_uncorrected_utc", "time_zone", "kind",
    "platform", "direction", "direction_basis", "owner_side", "flags", "call_status",
    "duration_s", "location",
})
# Free-form parser detail (headers, raw columns): anything can be in it, so none of it is shown.
WITHHELD_FIELDS = frozenset({"details"})
_KEEP_ATTACHMENT = frozenset({"sha256", "size", "media_type"})
_KEEP_PROVENANCE = frozenset({"exhibit", "source_sha256", "parser", "parser_version"})

LIMITS = (
    ('People described in words ("my sister", "her boss") are not masked: only names, phone '
     'numbers, e-mail addresses and handles are recognised.'),
    ('Numbers written in words or letters, split across lines, or without a leading 0, + or 00 are'
     ' not recognised unless the case already knows them; nor are e-mail addresses written out '
     '("name at example dot org").'),
    ('Nicknames, misspellings and initials that the case file does not list are not recognised; a '
     'display name that is one plain word ("Mum") is masked where it is an identifier, not in '
     'message text.'),
    ('Pictures, audio, video and the content of attachments are not redacted; nor are locations, '
     'times or file hashes.'),
    ('Identifiers not tied to the suspect in the case file are masked even where the messages '
     'suggest whose they are.'),
    ('Event ids and the chain are hashes of the unredacted events, kept so that each row can be '
     'checked against the sealed timeline.'),
    "The redaction is automatic: it must be read and checked by a person before disclosure.",
)

# Given names and surnames that are also ordinary English words: alone, they are masked only when
# written with a capital, so that "I will", "may be" and "hope so" stay readable.
_COMMON_WORDS = """
ace amber angel apple april art august autumn baker banks bell bill bird bishop black bloom bob
brandy brook brown bud buddy bunny bush butch candy carol cash chance chase cherry chip clay cliff
colt cook crystal daisy dale dawn dean destiny dick doc don drew duke earl eve faith fields fisher
ford fox frank free frost gale gay gene ginger glen grace gray green grey guy hale hall happy
harmony hazel heath heather hill holly honey hope hunt hunter iris ivy jack jade jasmine jay jewel
joy june king kit kitty lamb lane lee liberty lily little long lord lucky mac mark marsh mason may
melody mercy miles misty moss olive page pat patience pearl penny pepper poppy potter price
prince rich river robin rock rocky rose royal ruby rusty sage sandy sharp sherry short sky smith
small sonny spike star sterling stone storm strong summer sunny tiny true violet wade ward white
will willow win winter wood young
"""
COMMON_WORDS = frozenset(_COMMON_WORDS.split())

# Seven digits near one another: a text without them holds no number the matcher would accept
# (the shortest kept has 7 digits, and it allows a few characters between two digits), so the
# matcher, slow on long texts, is not run. Digits and non-digits are disjoint: no backtracking.
_SEVEN_DIGITS = re.compile(r"(?:\d\D{0,6}){6}\d")
# A date as people write it, which the matcher can take for a number: 01.02.2024, 1-2-24, 01 02 2024.
_DATE = re.compile(r"\d{1,2}([.\- ])\d{1,2}\1(?:\d{2}|\d{4})")
# An e-mail address. The look-behind lets a match start only where a run of address characters
# starts, so each run is scanned once; labels are bounded, so a hostile text stays linear.
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,63}(?![\w-])")
# An @handle: a letter or underscore first (so "@8pm" is not one), no trailing dot.
_HANDLE = re.compile(r"(?<![\w@.+-])@([^\W\d][\w.]{0,62}(?<!\.))")
_WORD = re.compile(r"[^\W\d_]+")          # the letters-only words of a name
_COMPOUND = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)+")   # O'Brien, Brown-Okafor
_ALNUM = re.compile(r"[^\W_]+")           # the chunks of a phrase as a path may write it
_RUN = re.compile(r"\w+")                 # a run of word characters: where a name may start
MAX_FORMS = 50                            # written forms kept per log entry


@dataclass
class _Entry:
    """One pseudonym and what it stands for (the redaction log's line)."""

    label: str                    # "Witness A", "Witness A, number 1", "number 3"
    category: str                 # one of CATEGORIES
    original: str                 # the normalised original: E.164, lower-cased address, folded name
    reason: str                   # why it is masked, in words safe to disclose
    rank: int                     # order of assignment: the log's order within a category
    person_key: str | None = None
    forms: dict[str, None] = field(default_factory=dict)   # as written where masked, in order
    forms_not_listed: int = 0
    occurrences: int = 0


# A place values are masked in: an event's field (and item), or a digest of a string masked
# outside a row. The same place met twice (the HTML and the PDF, or priming then rendering) counts
# once in the log.
Place = tuple[Any, ...]
Key = tuple[str, str]


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    keep: bool                    # a party's: shown as written, and shields what it overlaps
    key: Key | None = None
    category: str = "other"
    prefix: str = ""              # written before the bracket: "@" for a handle


class Redactor:
    """Masks identifiers and names of persons who are not parties, consistently in one report."""

    active = True

    def __init__(self, persons: Sequence[Person], region: str = "GB",
                 rows: Iterable[dict[str, Any]] | None = None):
        self.region = region
        self._persons = {p.key: p for p in persons}
        self._entries: dict[Key, _Entry] = {}       # every key of an original → its entry
        self._party: set[Key] = set()               # originals that are a party's: shown
        self._labels: set[str] = set()              # labels issued, so masking is idempotent
        self._counters: dict[tuple[str | None, str], int] = {}
        self._places: set[Place] = set()
        self._withheld: dict[str, dict[str, Any]] = {}
        # Names and handles to look for (a key of None: a party's, shown and shielding).
        self._in_text = _NameIndex(_RUN, re.compile(r"\s+|[.\-]"))
        self._in_paths = _NameIndex(_ALNUM, re.compile(r"[\s._-]+"))
        self._capitals: dict[str, Key] = {}         # short/common name word as written → key
        self._capitals_pattern: re.Pattern[str] | None = None
        self._register(persons)
        if rows is not None:
            self.prime(rows)

    @classmethod
    def none(cls, persons: Sequence[Person] = ()) -> Redactor:
        """A redactor that masks nothing, for the full report: the same calls, values unchanged."""
        return _Unredacted(persons)

    # -- the case file's persons --------------------------------------------------------------

    def _register(self, persons: Sequence[Person]) -> None:
        """Parties first (what they own stays), then each other person's pseudonym and
        identifiers in case-file order, so the numbering does not depend on the timeline."""
        party_words: set[str] = set()
        for person in persons:
            if person.role not in PARTY_ROLES:
                continue
            for ident in person.normalised:
                key = self._key_of(str(ident))[1]
                if key is not None:
                    self._party.add(key)
            # A party's names and display names shield what they overlap, and their words are
            # never masked alone (a surname the victim shares with a witness).
            for phrase in (person.name, *_names_of(person), *_handles_of(person)):
                if fold_name(phrase):
                    self._party.add(("account", fold_name(phrase)))
                    self._add_phrase(phrase, None)
                party_words.update(w.casefold() for w in _name_words(phrase))
        words: dict[str, tuple[set[Key], set[str]]] = {}   # folded word → owners, as written
        letter = 0
        for person in persons:
            if person.role in PARTY_ROLES:
                continue
            label = f"{ROLE_WORDS.get(person.role, 'Person')} {_letters(letter)}"
            letter += 1
            role = ROLE_WORDS.get(person.role, "person").lower()
            entry_key: Key = ("person", person.key)
            self._new(entry_key, label, "person", person.name,
                      f"a {role} in the case, not a party", person.key)
            for phrase in (person.name, *_names_of(person)):
                folded = fold_name(phrase)
                if not folded:
                    continue
                self._alias(("account", folded), entry_key)
                if not _WORD.fullmatch(folded):
                    self._add_phrase(phrase, entry_key)             # "Jo Taylor", "J.T."
                for word in _name_words(phrase):
                    if len(word) >= 2 and word.casefold() not in party_words:
                        owners, written = words.setdefault(word.casefold(), (set(), set()))
                        owners.add(entry_key)
                        written.add(word)
            for written, ident in zip(person.identifiers, person.normalised, strict=True):
                self._register_identifier(ident.scheme, str(ident), split(written)[1].strip(),
                                          label, person)
        self._register_words(words)

    def _register_identifier(self, scheme: str, ident: str, written: str, label: str,
                             person: Person) -> None:
        key = self._key_of(ident)[1]
        if key is None or key in self._entries or key in self._party:
            return        # a name already tied to the person, or one a party shares
        category = _category(scheme, key)
        number = self._next(person.key, category)
        self._new(key, f"{label}, {_NOUN[category]} {number}", category, key[1],
                  f"an identifier of {label} ({ROLE_WORDS.get(person.role, 'person').lower()})",
                  person.key)
        if key[0] == "account":
            self._learn(key[1], key, written)

    def _register_words(self, words: dict[str, tuple[set[Key], set[str]]]) -> None:
        """Name words alone. A word two non-parties share gets a pseudonym naming both
        ("Witness A or Third party B"), so that it neither stays nor points at the wrong one."""
        for folded in sorted(words):
            owners, written = words[folded]
            ranked = sorted(owners, key=lambda k: self._entries[k].rank)
            key = ranked[0]
            if len(ranked) > 1:
                key = ("shared", " ".join(k[1] for k in ranked))
                if key not in self._entries:
                    shared = sorted(w for w, (o, _) in words.items() if o == owners)
                    self._new(key, " or ".join(self._entries[k].label for k in ranked), "name",
                              ", ".join(shared),
                              "a name word shared by more than one person who is not a party")
            for word in sorted(written):
                self._learn(folded, key, word)

    def _learn(self, folded: str, key: Key, written: str) -> None:
        """Mask a name, name word or handle in text from now on. A single word that is short
        or an ordinary English word is matched only as written with a capital ("Jo", "JO",
        "Will"), so that "will" and "may" in a message stay; any other in any case."""
        if not folded:
            return
        if _WORD.fullmatch(folded) and (len(folded) < 3 or folded in COMMON_WORDS):
            for form in sorted({written[:1].upper() + written[1:], written.upper(),
                                written.capitalize()}):
                self._capitals.setdefault(form, key)
            self._capitals_pattern = _words(sorted(self._capitals, key=lambda w: (-len(w), w)))
            self._in_paths.add(folded, key)       # in a path, any case: exports/jo-iphone
        else:
            self._add_phrase(written, key)

    def _add_phrase(self, written: str, key: Key | None) -> None:
        """Look for a phrase as written and as folded: folding is not only lower-casing
        ("Strauß" folds to "strauss"), and a text may hold either. A party's (key None) wins."""
        folded = fold_name(written)
        if not folded:
            return
        as_written = " ".join(unicodedata.normalize("NFC", written).split())
        # People often type a name without its accents ("Zoe" for "Zoë"), and phones turn a
        # straight apostrophe into a curly one ("O’Brien").
        forms = {folded, as_written, _unaccented(as_written), _unaccented(folded)}
        forms |= {f.replace("'", "\u2019") for f in forms} | {f.replace("\u2019", "'") for f in forms}
        # Written as one word, as handles and file names do: "JoTaylor", "jo_taylor", "chrisw83".
        # (One dot or hyphen in place of a space, "Jo.Taylor", is allowed by the pattern itself;
        # not ". ", which ends a sentence: "… to Jo. Taylor said …".)
        chunks = [_ALNUM.findall(f) for f in forms]
        forms |= {joiner.join(c) for c in chunks if len(c) > 1 for joiner in ("", "_")}
        for form in sorted(forms):                          # sorted: no hash-seed order
            for variant in (form, unicodedata.normalize("NFD", form)):
                self._in_text.add(variant, key)
                self._in_paths.add(variant, key)

    # -- pseudonyms ------------------------------------------------------------------------------

    def _new(self, key: Key, label: str, category: str, original: str, reason: str,
             person_key: str | None = None) -> _Entry:
        entry = _Entry(label, category, original, reason, len(self._labels), person_key)
        self._entries[key] = entry
        self._labels.add(label)
        return entry

    def _alias(self, key: Key, target: Key) -> None:
        if key not in self._party:
            self._entries.setdefault(key, self._entries[target])

    def _next(self, owner: str | None, category: str) -> int:
        number = self._counters.get((owner, category), 0) + 1
        self._counters[(owner, category)] = number
        return number

    def _entry(self, key: Key, category: str) -> _Entry:
        """The entry of an original, made on first meeting: tied to no person in the case file."""
        entry = self._entries.get(key)
        if entry is None:
            category = category if category in _NOUN else "other"
            label = f"{_NOUN[category]} {self._next(None, category)}"
            entry = self._new(key, label, category, key[1],
                              "not tied to any person in the case file")
            if key[0] == "account" and _distinctive(key[1]):
                # Seen as an identifier, a handle or full name is masked in text from now on.
                self._learn(key[1], key, key[1])
        return entry

    def _first_visit(self, place: Place) -> bool:
        """Whether a place (a field of an event, or a string masked outside a row) is met for
        the first time: what is masked there is counted only then."""
        if place in self._places:
            return False
        self._places.add(place)
        return True

    def _count(self, entry: _Entry, form: str) -> None:
        entry.occurrences += 1
        if form in entry.forms:
            return
        if len(entry.forms) < MAX_FORMS:
            entry.forms[form] = None
        else:
            entry.forms_not_listed += 1

    # -- identifiers -----------------------------------------------------------------------------

    def _key_of(self, ident: str) -> tuple[str, Key | None]:
        """The scheme to show and the key an identifier is known by; None: shown as written.

        A number is known by its E.164 form whichever scheme carries it (a WhatsApp account is
        a number), names and handles by their folded value on any platform."""
        scheme, value = split(ident)
        if scheme == "owner":
            return scheme, ("person", value) if value in self._persons else ("other", ident)
        norm = normalise(ident, self.region)
        if norm.scheme == "tel":
            if norm.is_person_id:
                return "tel", ("phone", norm.value)
            if not norm.value or norm.value.casefold() in _NO_NUMBER:
                return "tel", None
            return "tel", ("other", str(norm))
        if norm.scheme == "whatsapp" and norm.value.startswith("+") and norm.value[1:].isdigit():
            return "whatsapp", ("phone", norm.value)
        if norm.scheme == "email":
            return "email", ("email", norm.value) if norm.value else None
        if norm.scheme == "name" or norm.scheme in PLATFORM_SCHEMES:
            return norm.scheme, ("account", norm.value) if norm.value else None
        return norm.scheme, ("other", str(norm))

    def _identifier(self, ident: str | None, place: Place) -> str | None:
        if not ident:
            return ident
        scheme, value = split(ident)
        if not scheme:
            return self._text(ident, place, "text")      # no scheme: read it as text
        if value.startswith("[") and value.endswith("]") and value[1:-1] in self._labels:
            return ident                                   # masked already
        shown, key = self._key_of(ident)
        if key is None or key in self._party:
            return ident
        if key[0] == "person" and key not in self._entries:
            return ident                                   # owner: of a party
        entry = self._entry(key, _category(shown, key))
        if self._first_visit(place):
            self._count(entry, ident)
        return f"{shown}:[{entry.label}]"

    def _person(self, key: str | None, place: Place) -> str | None:
        if key is None or key in self._labels:
            return key
        person = self._persons.get(key)
        if person is not None and person.role in PARTY_ROLES:
            return key
        entry = self._entries.get(("person", key)) or self._entry(("other", f"person:{key}"),
                                                                   "other")
        if self._first_visit(place):
            self._count(entry, key)
        return entry.label

    # -- text ------------------------------------------------------------------------------------

    def _text(self, text: str | None, place: Place, mode: str) -> str | None:
        """``mode`` "text" for messages and notes (with @handles); "path" for file paths and
        locators, where a name may be written with - _ . or nothing between its words."""
        if not text:
            return text
        spans = [*self._email_spans(text), *self._phone_spans(text)]
        if mode == "text":
            spans.extend(self._handle_spans(text))
            spans.extend(self._in_text.spans(text))
            if self._capitals_pattern is not None:
                spans.extend(_Span(m.start(), m.end(), False, self._capitals[m.group()], "name")
                             for m in self._capitals_pattern.finditer(text))
        else:
            spans.extend(self._in_paths.spans(text))
        return self._apply(text, spans, place)

    def _email_spans(self, text: str) -> Iterator[_Span]:
        if "@" not in text:
            return
        for match in _EMAIL.finditer(text):
            key = ("email", match.group().lower())
            yield _Span(match.start(), match.end(), key in self._party, key, "email")

    def _phone_spans(self, text: str) -> Iterator[_Span]:
        if not _SEVEN_DIGITS.search(text):
            return
        # Every candidate is tried (max_tries is the text's length: each uses a character up),
        # so a long text cannot make the matcher stop early and let numbers through.
        matcher = PhoneNumberMatcher(text, self.region, leniency=Leniency.POSSIBLE,
                                     max_tries=len(text) + 1)
        for match in matcher:
            number = match.number
            national = phonenumbers.national_significant_number(number)
            # Short codes belong to services (identity's rule), not people.
            if len(national) < 7 or not phonenumbers.is_possible_number(number):
                continue
            key = ("phone", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
            if key in self._party:
                yield _Span(match.start, match.end, True)
            elif key in self._entries or _dialled(match.raw_string, national, number):
                yield _Span(match.start, match.end, False, key, "phone")

    def _handle_spans(self, text: str) -> Iterator[_Span]:
        if "@" not in text:
            return
        for match in _HANDLE.finditer(text):
            key = ("account", fold_name(match.group(1)))
            yield _Span(match.start(), match.end(), key in self._party, key, "handle", "@")

    def _apply(self, text: str, spans: list[_Span], place: Place) -> str:
        """Replace the spans that win: the earliest, then the longest, a party's on a tie."""
        if not spans:
            return text
        spans.sort(key=lambda s: (s.start, -s.end, not s.keep))
        counting = self._first_visit(place)
        out: list[str] = []
        done = 0
        for span in spans:
            if span.start < done:
                continue
            out.append(text[done:span.start])
            written = text[span.start:span.end]
            if span.keep or span.key is None:
                out.append(written)
            else:
                entry = self._entry(span.key, span.category)
                if counting:
                    self._count(entry, written)
                out.append(f"{span.prefix}[{entry.label}]")
            done = span.end
        out.append(text[done:])
        return "".join(out)

    # -- rows ------------------------------------------------------------------------------------

    def _row(self, row: dict[str, Any]) -> dict[str, Any]:
        event = row.get("event_id") or f"seq:{row.get('seq')}"
        out: dict[str, Any] = {}
        withheld: list[str] = []
        for name, value in row.items():
            place: Place = (event, name)
            if name in WITHHELD_FIELDS:
                if value:
                    withheld.append(name)
                    self._withhold(event, row.get("seq"), name, value)
            elif name in KEEP_FIELDS:
                out[name] = value
            elif name == "sender":
                out[name] = self._identifier(value, place)
            elif name == "recipients":
                out[name] = _each(value, place, self._identifier)
            elif name == "sender_person":
                out[name] = self._person(value, place)
            elif name == "recipient_persons":
                out[name] = _each(value, place, self._person)
            elif name in ("text", "subject"):
                out[name] = self._text(value, place, "text")
            elif name == "attachments":
                out[name] = _each(value, place, lambda a, p: self._part(a, p, _KEEP_ATTACHMENT))
            elif name == "provenance":
                out[name] = _each(value, place, lambda a, p: self._part(a, p, _KEEP_PROVENANCE))
            else:
                out[name] = self._scrub(value, place)   # notes, and fields added later
        if withheld:
            out["withheld"] = sorted(set(withheld) | set(row.get("withheld") or ()))
        return out

    def _part(self, part: Any, place: Place, keep: frozenset[str]) -> Any:
        """An attachment or a provenance entry: names, paths and locators read as paths."""
        if not isinstance(part, dict):
            return self._scrub(part, place)
        shown: dict[str, Any] = {}
        for name, value in part.items():
            if name in keep:
                shown[name] = value
            elif name in ("name", "path", "locator") and isinstance(value, str):
                shown[name] = self._text(value, place + (name,), "path")
            else:
                shown[name] = self._scrub(value, place + (name,))
        return shown

    def _scrub(self, value: Any, place: Place) -> Any:
        """Any other value: strings read as text, lists and objects item by item."""
        if isinstance(value, str):
            return self._text(value, place, "text")
        if isinstance(value, list):
            return [self._scrub(v, place + (i,)) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self._scrub(v, place + (k,)) for k, v in value.items()}
        return value

    def _withhold(self, event: str, seq: Any, name: str, value: Any) -> None:
        entry = self._withheld.setdefault(f"{event}\0{name}", {
            "event_id": event, "seq": seq, "field": name,
            "keys": sorted(map(str, value)) if isinstance(value, dict) else []})
        entry["keys"] = entry["keys"][:200]

    # -- the public methods ----------------------------------------------------------------------

    def prime(self, rows: Iterable[dict[str, Any]]) -> None:
        """Meet every row once, in the order given (the timeline's seq order), so pseudonyms are
        numbered by first appearance in the timeline whatever order the report shows things in.
        Occurrences are counted by place, so rendering the rows again does not count them twice."""
        for row in rows:
            self._row(row)

    def person(self, key: str | None) -> str | None:
        """A person key as shown: a party's key, or the pseudonym of anyone else."""
        return self._person(key, ("person", key))

    def person_name(self, key: str | None) -> str:
        """The name shown for a person: a party's name, or the pseudonym of anyone else."""
        person = self._persons.get(key or "")
        if person is not None and person.role in PARTY_ROLES:
            return person.name
        return self.person(key) or ""

    def identifier(self, ident: str | None) -> str | None:
        """An identifier (``scheme:value``, as written or normalised) as shown: a party's as it
        is, anyone else's as ``scheme:[pseudonym]``."""
        return self._identifier(ident, ("identifier", ident))

    def text(self, text: str | None) -> str | None:
        """Free text with the numbers, addresses, handles and names of non-parties masked."""
        return self._text(text, ("text", _digest(text)), "text")

    def path(self, text: str | None) -> str | None:
        """A file path or locator with non-parties' names and identifiers masked."""
        return self._text(text, ("path", _digest(text)), "path")

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A timeline row with every shown field masked and ``details`` withheld (the row gets
        ``withheld: ["details"]``). The row given is not changed."""
        return self._row(row)

    def log(self) -> dict[str, Any]:
        """The key to the pseudonyms, for the disclosure officer: never part of the redacted copy."""
        return {
            "about": "Key to the pseudonyms of a redacted courseline report. It holds the "
                     "originals: keep it with the unredacted case; do not disclose it.",
            "region": self.region,
            "cautions": [
                ("Event ids and the chain are SHA-256 hashes of the unredacted events. Someone who "
                 "could guess every other field of an event, the withheld details included, could "
                 "test guesses of a masked value against its event id: consider this before "
                 "disclosing events whose details are few and predictable."),
                *LIMITS],
            "entries": [{
                "pseudonym": e.label, "category": e.category, "original": e.original,
                "person_key": e.person_key, "forms": list(e.forms),
                "forms_not_listed": e.forms_not_listed, "occurrences": e.occurrences,
                "reason": e.reason} for e in self._ordered()],
            "withheld": sorted(self._withheld.values(),
                               key=lambda w: (w["seq"] is None, w["seq"] or 0, w["event_id"],
                                              w["field"])),
        }

    def public_summary(self) -> list[dict[str, Any]]:
        """What was masked and why, without any original: for the redacted report to print."""
        return [{"pseudonym": e.label, "category": e.category, "occurrences": e.occurrences,
                 "reason": e.reason} for e in self._ordered() if e.occurrences]

    @property
    def withheld_events(self) -> int:
        """How many events had parser details withheld."""
        return len({w["event_id"] for w in self._withheld.values()})

    def _ordered(self) -> list[_Entry]:
        unique = {id(e): e for e in self._entries.values()}.values()
        return sorted(unique, key=lambda e: (CATEGORIES.index(e.category), e.rank))


class _Unredacted(Redactor):
    """The full report's redactor: every call returns its value unchanged."""

    active = False

    def __init__(self, persons: Sequence[Person] = (), region: str = "GB"):
        self.region = region
        self._persons = {p.key: p for p in persons}

    def prime(self, rows: Iterable[dict[str, Any]]) -> None:
        return None

    def person(self, key: str | None) -> str | None:
        return key

    def person_name(self, key: str | None) -> str:
        person = self._persons.get(key or "")
        return person.name if person is not None else (key or "")

    def identifier(self, ident: str | None) -> str | None:
        return ident

    def text(self, text: str | None) -> str | None:
        return text

    def path(self, text: str | None) -> str | None:
        return text

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        return row

    def log(self) -> dict[str, Any]:
        return {"about": "Nothing was redacted.", "entries": [], "withheld": []}

    def public_summary(self) -> list[dict[str, Any]]:
        return []

    @property
    def withheld_events(self) -> int:
        return 0


class _NameIndex:
    """Names to look for, as a trie of their words: each word of a text that begins a name is
    followed word by word, so the work grows with the text (times the words of the longest
    name) and not with the number of names, and learning a name compiles nothing.

    Words are runs of ``run`` compared case-folded; between two words a ``flexible`` gap (a
    space, or a dot or hyphen in text; any of ``- _ .`` in a path) may be written any of those
    ways, any other gap (the apostrophe of "O'Brien") exactly.
    """

    def __init__(self, run: re.Pattern[str], flexible: re.Pattern[str]):
        self._run = run
        self._flexible = flexible
        self._root: dict[tuple[str, str], Any] = {}

    def _gap(self, gap: str) -> tuple[str, str]:
        return ("gap", "" if self._flexible.fullmatch(gap) else gap.casefold())

    def add(self, form: str, key: Key | None) -> None:
        """Look for ``form``; the first key given for it stays, unless a party's (None) comes."""
        runs = list(self._run.finditer(form))
        if not runs or runs[0].start() or sum(len(r.group()) for r in runs) < 2:
            return                      # a name starts with a word; one letter is not a name
        node = self._root
        for before, run in zip([None, *runs], runs):
            if before is not None:
                node = node.setdefault(self._gap(form[before.end():run.start()]), {})
            node = node.setdefault(("word", run.group().casefold()), {})
        if _END not in node or key is None:
            node[_END] = key

    def spans(self, text: str) -> Iterator[_Span]:
        if not self._root:
            return
        for run in self._run.finditer(text):
            node = self._root.get(("word", run.group().casefold()))
            if node is None:
                continue
            end, key = (run.end(), node[_END]) if _END in node else (0, _MISSING)
            position = run.end()
            while len(node) > (_END in node):
                # The next word, if it starts within a gap's length: a bounded look ahead.
                found = self._run.search(text, position, position + _MAX_GAP + 1)
                if found is None:
                    break
                after = self._run.match(text, found.start())
                node = node.get(self._gap(text[position:after.start()]), {}).get(
                    ("word", after.group().casefold()))
                if node is None:
                    break
                position = after.end()
                if _END in node:
                    end, key = position, node[_END]
            if key is _MISSING:
                continue
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1                # "Zoe" + U+0308 is "Zoë": the accent goes with the name
            yield _Span(run.start(), end, key is None, key, "name")


def _words(words: list[str]) -> re.Pattern[str] | None:
    """Whole words, exactly as written (name words matched only with a capital)."""
    if not words:
        return None
    return re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, words))})(?!\w)")


_MISSING: Any = object()
_END = ("end", "")           # a trie node's entry for a name that ends there
_MAX_GAP = 24                # the most characters between two words of one name


def _name_words(phrase: str) -> list[str]:
    """The words of a name, alone: "O'Brien" and "Brien", "Brown-Okafor", "Brown" and "Okafor"."""
    return [*_COMPOUND.findall(phrase), *_WORD.findall(phrase)]


def _unaccented(text: str) -> str:
    return unicodedata.normalize("NFC", "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)))


def _names_of(person: Person) -> list[str]:
    """The person's ``name:`` identifiers as written (without the scheme)."""
    return [split(w)[1].strip() for w in person.identifiers if split(w)[0] == "name"]


def _handles_of(person: Person) -> list[str]:
    """The person's platform handles and display names as written (without the scheme)."""
    values = [split(w)[1].strip() for w in person.identifiers if split(w)[0] in PLATFORM_SCHEMES]
    return [v for v in values if _RUN.match(v)]     # "+44 7700 900001" is a number, not a name


def _category(scheme: str, key: Key) -> str:
    space = key[0]
    if space == "account":
        return "name" if scheme == "name" else "handle"
    return {"phone": "phone", "email": "email", "person": "person"}.get(space, "other")


def _distinctive(value: str) -> bool:
    """A display name or handle that cannot be an ordinary word: it holds something other than
    letters (a digit, a dot, a space between two names). Masked in text once met."""
    return len(value) >= 3 and not _WORD.fullmatch(value)


def _dialled(raw: str, national: str, number: phonenumbers.PhoneNumber) -> bool:
    """Whether a number found in text is written as someone would dial it: with +, 00 or a
    leading 0. Dates, amounts and references the matcher also finds are written otherwise, or
    look like a date ("01.02.2024", "01-02-2024", "01 02 2024", "0001/2024")."""
    written = raw.lstrip("([ ")
    if "/" in raw or written[:1] not in ("+", "0") or _DATE.fullmatch(raw.strip()):
        return False
    # A national number starting 0 after its trunk 0 is a reference, unless the metadata
    # knows it (Italy keeps its 0).
    return not national.startswith("0") or phonenumbers.is_valid_number(number)


def _each(values: Any, place: Place, fn) -> Any:
    if not isinstance(values, list):
        return fn(values, place) if values is not None else values
    return [fn(v, place + (i,)) for i, v in enumerate(values)]


def _letters(index: int) -> str:
    """A, B, … Z, AA, AB, …: one letter per person while there are fewer than 27."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _digest(text: str | None) -> str:
    return hashlib.blake2b((text or "").encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
