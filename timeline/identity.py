"""Identifiers (``scheme:value``) and the persons they belong to.

``tel:`` values are normalised to E.164 with ``phonenumbers`` and the case region, using
``is_possible_number`` (the Ofcom drama range 07700 900xxx is possible but not "valid", and must
not be dropped). Withheld numbers, short codes and alphanumeric sender IDs are kept as written and
are never matched to a person. ``email:`` is lower-cased; ``name:`` and platform handles compare
after NFC, with invisible marks removed, case folded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping

import phonenumbers

PLATFORM_SCHEMES = frozenset({
    "whatsapp", "facebook", "instagram", "x", "telegram", "snapchat", "discord", "google", "signal",
})
SCHEMES = frozenset({"tel", "email", "name"}) | PLATFORM_SCHEMES
# Marks that exports scatter through names and numbers and that a reader cannot see.
INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c"
                               "\u202d\u202e\u2066\u2067\u2068\u2069"), None)
_PUNCTUATED_DIGITS = re.compile(r"\+?[\d\s().\-]*\d[\d\s().\-]*")
SPACES = dict.fromkeys(map(ord, "\u202f\u00a0\u2007\u2009"), " ")


class IdentifierError(ValueError):
    """An identifier written by a person (in case.toml or on the command line) is malformed."""


@dataclass(frozen=True)
class Identifier:
    scheme: str
    value: str           # normalised
    is_person_id: bool   # False for withheld numbers, short codes, sender IDs: never matched

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


def fold_name(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(INVISIBLE).translate(SPACES)
    return " ".join(text.split()).casefold()


@lru_cache(maxsize=65_536)
def _e164(value: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    # Short codes (e.g. 88020) parse as "possible" numbers but belong to services, not people.
    if len(phonenumbers.national_significant_number(number)) < 7:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def split(text: str) -> tuple[str, str]:
    scheme, sep, value = text.partition(":")
    if not sep:
        return "", text
    return scheme.strip().lower(), value


@lru_cache(maxsize=262_144)
def normalise(text: str, region: str) -> Identifier:
    """Normalise an identifier from a source. Never raises: what cannot be read is kept as written."""
    scheme, value = split(text)
    value = value.translate(INVISIBLE).strip()
    if scheme == "tel":
        e164 = _e164(value, region)
        if e164 is not None:
            return Identifier("tel", e164, True)
        if _PUNCTUATED_DIGITS.fullmatch(value):
            # Not a number of the region (a short code, a foreign number without its +), but
            # written with spaces or dashes: "1 555-521-5554" and "15555215554" in one database
            # are one identifier. Letters ("Withheld", "HSBC") are kept exactly as written.
            return Identifier("tel", re.sub(r"[^\d+]", "", value), False)
        return Identifier("tel", value, False)
    if scheme == "email":
        return Identifier("email", value.lower(), "@" in value)
    if scheme == "whatsapp" and _PUNCTUATED_DIGITS.fullmatch(value):
        # A WhatsApp account is a phone number: written as one, it is the number in E.164, so
        # that it meets the person's tel: identifier (Directory.person_of).
        e164 = _e164(value, region)
        if e164 is not None:
            return Identifier("whatsapp", e164, True)
    if scheme in SCHEMES:
        return Identifier(scheme, fold_name(value), bool(value))
    return Identifier(scheme or "unknown", value, False)


# Ofcom's numbers for drama (TV, film, fiction and test data), by their first digits in E.164
# (each block is 1,000 numbers): possible numbers, some not "valid" to phonenumbers, never anyone's.
_DRAMA_BLOCKS = ("+44113496", "+44114496", "+44115496", "+44116496", "+44117496", "+44118496",
                 "+44121496", "+44131496", "+44141496", "+44151496", "+44161496", "+44191498",
                 "+442079460", "+442896496", "+442920180", "+441632960", "+447700900",
                 "+448081570", "+449098790", "+443069990")


def doubtful_number(identifier: Identifier) -> bool:
    """A normalised tel: identifier that is a possible number but not one any network issues
    (a digit missing or extra is the usual cause); Ofcom's drama numbers are not doubted."""
    if identifier.scheme != "tel" or not identifier.is_person_id:
        return False
    value = identifier.value
    if any(value.startswith(block) and len(value) == len(block) + 3 for block in _DRAMA_BLOCKS):
        return False
    return not phonenumbers.is_valid_number(phonenumbers.parse(value))


def could_be_a_person(identifier: str) -> bool:
    """Whether a normalised identifier can name someone: False for a withheld or unknown caller,
    a short code or a sender name, which many people share and no one can be tied to."""
    scheme, value = split(identifier)
    if scheme == "tel":
        return value.startswith("+") and value[1:].isdigit()
    if scheme == "email":
        return "@" in value
    return scheme in SCHEMES and bool(value)


def parse_written(text: str, region: str) -> Identifier:
    """Parse an identifier a person wrote, raising IdentifierError saying what is expected."""
    scheme, value = split(text)
    if not scheme:
        raise IdentifierError(
            f"identifier {text!r} has no scheme; expected scheme:value such as "
            f"'tel:07700 900001', 'email:a@example.org' or 'name:Dave'")
    if scheme not in SCHEMES:
        raise IdentifierError(
            f"identifier {text!r} has unknown scheme {scheme!r}; expected one of "
            f"{', '.join(sorted(SCHEMES))}")
    if not value.strip():
        raise IdentifierError(f"identifier {text!r} has an empty value")
    ident = normalise(text, region)
    if scheme == "tel" and not ident.is_person_id:
        raise IdentifierError(
            f"identifier {text!r} is not a possible phone number for region {region}; write it "
            f"with its country code, e.g. 'tel:+44 7700 900001'")
    if scheme == "email" and (value.count("@") != 1 or value.startswith("@")
                              or value.endswith("@") or " " in value.strip()):
        raise IdentifierError(f"identifier {text!r} is not an e-mail address (name@domain)")
    return ident


class Directory:
    """Which person each identifier belongs to."""

    def __init__(self, persons: Mapping[str, Iterable[Identifier]]):
        self._owner: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._keys = frozenset(persons)
        for key in sorted(persons):
            for ident in persons[key]:
                target = self._names if ident.scheme == "name" else self._owner
                target[ident.value if ident.scheme == "name" else str(ident)] = key

    def person_of(self, identifier: str | None) -> str | None:
        """The person key of a normalised identifier (``scheme:value``), or None."""
        if not identifier:
            return None
        found = self._owner.get(identifier)
        if found is None and identifier.startswith("whatsapp:+"):
            found = self._owner.get("tel:" + identifier[9:])   # the account is the number
        if found is None and identifier.startswith("owner:"):
            # The device owner, written by the core where the record leaves them out.
            key = identifier.partition(":")[2]
            return key if key in self._keys else None
        if found is None:
            scheme, value = split(identifier)
            if scheme in PLATFORM_SCHEMES or scheme == "name":
                # A display name shown by a platform matches the person's `name:` identifier.
                found = self._names.get(value)
        return found
