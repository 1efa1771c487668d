"""Deciding the day/month order of numeric dates from a whole file (CSV call logs, WhatsApp).

``03/04/2024`` is 3 April in the UK and 4 March in the US, and exports write dates in the order
of the phone's or the account's locale without saying which. One row cannot decide it; a file
usually can: a first number over 12 makes it day-first, a second number over 12 month-first.
When nothing in the file decides, day-first is assumed (courseline's users are in day-first
regions), and the note says so and names the case-file setting that overrides it.

It also holds the English month names that the parsers of dates written in words share.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"

# English month names and the abbreviations exports write (``sept`` too), lower case → number.
ENGLISH_MONTHS: dict[str, int] = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")), 1) for name in names}


@dataclass
class OrderEvidence:
    """What the records say about the day/month order of numeric dates (a first pass)."""

    record: str = "row"                          # what a record is called in the notes
    day_first: tuple[int, str] | None = None     # first record with a first number over 12
    month_first: tuple[int, str] | None = None   # first record with a second number over 12
    first_ambiguous: tuple[int, str] | None = None   # first record readable either way
    ambiguous_count: int = 0

    def add(self, where: int, text: str, first: int, second: int, times: int = 1) -> None:
        """Record ``where`` with date ``text`` (first and second numbers); ``times``: how many
        records write this same date (the first of them is ``where``)."""
        if first > 12 and second <= 12:
            self.day_first = self.day_first or (where, text)
        elif second > 12 and first <= 12:
            self.month_first = self.month_first or (where, text)
        elif first <= 12 and second <= 12 and first != second:
            self.ambiguous_count += times
            self.first_ambiguous = self.first_ambiguous or (where, text)


@dataclass(frozen=True)
class Order:
    value: str | None      # DAY_FIRST, MONTH_FIRST, or None: each record must decide
    assumed: bool
    note: str | None


def decide_order(evidence: OrderEvidence, override: str) -> Order:
    """The file's order and the note that says how it was decided. ``override``: how the user
    sets the order in the case file, for the notes (``time_format = "%m/%d/%Y %H:%M"``)."""
    what = evidence.record
    if evidence.day_first and evidence.month_first:
        (d_row, d_text), (m_row, m_text) = evidence.day_first, evidence.month_first
        return Order(None, False, (
            f"day/month order: the {what}s disagree ({what} {d_row} {d_text!r} is day first, "
            f"{what} {m_row} {m_text!r} month first); {what}s that show their own order are "
            f"read so, the {evidence.ambiguous_count} that do not are rejected; set {override} "
            f"for this source in the case file"))
    if evidence.day_first:
        row, text = evidence.day_first
        return Order(DAY_FIRST, False, f"day/month order: day first, decided from the file "
                                       f"({what} {row} {text!r} has a first number over 12)")
    if evidence.month_first:
        row, text = evidence.month_first
        return Order(MONTH_FIRST, False, f"day/month order: month first, decided from the file "
                                         f"({what} {row} {text!r} has a second number over 12)")
    if evidence.first_ambiguous:
        row, text = evidence.first_ambiguous
        return Order(DAY_FIRST, True, (
            f"day/month order ASSUMED day first: no {what} has a number over 12 in either place "
            f"({evidence.ambiguous_count} {what}(s) could be read either way, e.g. {what} {row} "
            f"{text!r}); if the phone or account wrote month first, set {override} for this "
            f"source in the case file"))
    return Order(DAY_FIRST, False, None)
