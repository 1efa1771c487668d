"""The report's three charts, drawn as inline SVG.

What each chart shows and how to read it
----------------------------------------
``calendar_heatmap``
    Contacts per civil day. Each small square is one day; the weeks are columns (Monday at the
    top, Sunday at the bottom) and run left to right from the first to the last day with a
    contact, with the month (and, in January and at the start, the year) written above. A white
    square with a grey outline is a day in the range with no contact; the darker the square, the
    more contacts that day. The shades are fixed bins that double: 1, 2-3, 4-7, 8-15 and 16 or
    more (see ``HEAT_BINS``), so two reports can be compared and the legend always means the same.
    More than 53 weeks are drawn as several bands one under the other; more than ``MAX_DAYS``
    days, only the last ``MAX_DAYS`` days, and the chart says what was left out.
``hour_of_day``
    Contacts by hour of the day: 24 bars, 00 (midnight to 00:59) to 23, with the count written
    over each bar and an axis of counts. The night hours are on a grey band labelled "night" and
    their bars are darker, so contact at night stands out on screen and on a black-and-white
    print.
``channels_over_time``
    One row (swimlane) per channel in the order the channels first appear, weeks left to right
    (the day of the month of each week's Monday under the column, the month above). A dot's area
    grows with that week's contacts on that channel; the total per channel is on the right. A
    reader sees the contact moving from one channel to the next. At most ``MAX_CHANNELS`` rows,
    the rest together as "other"; more than ``MAX_WEEKS`` weeks, only the last ``MAX_WEEKS``.

Every chart has ``role="img"`` and a ``<title>`` and ``<desc>`` that say in words what it shows,
with the totals; each day, bar and dot also carries its own ``<title>`` (a tooltip on screen).
With no contact to show, a chart is a one-line SVG that says so.

Why SVG built by hand
---------------------
* Deterministic bytes: the same counts always give the same text (no randomness, ids taken from
  a hash of the chart's own content, every number written with fixed decimals), so a report made
  again from the sealed outputs can be compared byte for byte.
* No dependency: only the standard library and markupsafe (which Jinja2 already needs).
* The report's Content-Security-Policy (``default-src 'none'`` and a hash for its one style
  sheet) forbids scripts, ``style`` attributes and ``<style>`` elements, so the charts use SVG
  presentation attributes only (fill, stroke, font-size, text-anchor) and refer to nothing
  outside themselves. WeasyPrint draws the same markup in the PDF.
* Every piece of text (platform names come from the evidence) goes through
  ``markupsafe.escape`` after control and bidirectional-override characters are replaced.
"""

from __future__ import annotations

import hashlib
import math
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

__all__ = ["HEAT_BINS", "MAX_CHANNELS", "MAX_DAYS", "MAX_WEEKS", "WEEKS_PER_BAND",
           "calendar_heatmap", "channels_over_time", "hour_of_day"]

# Bounds, so hostile or huge input cannot make a chart the size of the report.
MAX_DAYS = 1096          # three years (one of them leap) of days in the heat map
MAX_WEEKS = 157          # three years of weeks in the channel chart
WEEKS_PER_BAND = 53      # a year of weeks per band; longer ranges are split into bands
MAX_CHANNELS = 12        # channel rows; the rest are drawn together as "other"
LABEL_CHARS = 24         # longest channel name written in full (all of it is in <desc>)
TITLE_CHARS = 110        # longest visible title (all of it is in <title>)

# Dark text on light ground; a single hue (ColorBrewer "Blues") so shades print as greys.
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
INK = "#111111"
MUTED = "#444444"
GRID = "#cccccc"
EMPTY_STROKE = "#a8a8a8"
STRIPE = "#f0f0f0"
NIGHT_BAND = "#e2e2e2"
DAY_BAR = "#6baed6"
NIGHT_BAR = "#08519c"
DOT = "#08519c"

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_KEY = re.compile(r"\d{4}-\d{2}-\d{2}")
# C0/C1 controls, surrogates, non-characters, and the bidi controls that could reorder a label.
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
                           "\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class HeatBin:
    """Days with ``low`` to ``high`` contacts (``high`` None: or more) share one shade."""

    low: int
    high: int | None
    fill: str

    @property
    def label(self) -> str:
        if self.high is None:
            return f"{self.low}+"
        return str(self.low) if self.low == self.high else f"{self.low}\u2013{self.high}"

    def holds(self, count: int) -> bool:
        return count >= self.low and (self.high is None or count <= self.high)


# Fixed doubling bins rather than quantiles: the same shade means the same count in every report.
HEAT_BINS: tuple[HeatBin, ...] = (
    HeatBin(0, 0, "#ffffff"),
    HeatBin(1, 1, "#c6dbef"),
    HeatBin(2, 3, "#9ecae1"),
    HeatBin(4, 7, "#6baed6"),
    HeatBin(8, 15, "#3182bd"),
    HeatBin(16, None, "#08519c"),
)


# --- SVG text, built by hand -------------------------------------------------------------


def _num(value: float) -> str:
    """A coordinate with one fixed decimal (never "-0.0"), so output bytes never vary."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _clean(text: object) -> str:
    """Text safe to put in XML once escaped: no control, surrogate or bidi-override characters."""
    return " ".join(_UNSAFE_CHARS.sub("\ufffd", str(text)).split())


def _sentence(text: str) -> str:
    return _clean(text).rstrip(".") + "."


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _esc(text: object) -> str:
    return str(escape(_clean(text)))


def _attrs(attributes: Mapping[str, object]) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None:
            continue
        shown = _num(value) if isinstance(value, float) else value
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{escape(str(shown))}"')
    return "".join(parts)


def _element(tag: str, tooltip: str | None = None, **attributes: object) -> str:
    """One element; a tooltip becomes a ``<title>`` child (what screen readers and hover show)."""
    if tooltip is None:
        return f"<{tag}{_attrs(attributes)}/>"
    return f"<{tag}{_attrs(attributes)}><title>{_esc(tooltip)}</title></{tag}>"


def _text(x: float, y: float, content: str, *, size: float = 9.0, anchor: str = "start",
          fill: str = INK, weight: str | None = None) -> str:
    attributes = {"x": float(x), "y": float(y), "font-size": float(size), "fill": fill,
                  "text-anchor": anchor, "font-weight": weight}
    return f"<text{_attrs(attributes)}>{_esc(content)}</text>"


def _text_width(content: str, size: float) -> float:
    """A generous estimate of DejaVu Sans' advance (it has no metrics at hand), for layout only."""
    return len(content) * size * 0.62


def _svg(kind: str, title: str, desc: str, width: float, height: float,
         body: Iterable[str]) -> Markup:
    """The whole chart. Ids come from a hash of the content: stable, and distinct per chart."""
    inner = "".join(body)
    token = hashlib.sha256(f"{kind}\n{title}\n{desc}\n{inner}".encode("utf-8", "replace"))
    ident = f"cl-{kind}-{token.hexdigest()[:12]}"
    width, height = math.ceil(width), math.ceil(height)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' font-family="{FONT}" aria-labelledby="{ident}-t {ident}-d">'
        f'<title id="{ident}-t">{_esc(title)}</title><desc id="{ident}-d">{_esc(desc)}</desc>'
        f'<rect x="0.0" y="0.0" width="{width}.0" height="{height}.0" fill="#ffffff"/>'
        f"{inner}</svg>")


def _no_events(kind: str, title: str) -> Markup:
    shown = _short(_clean(title), TITLE_CHARS)
    message = "No events to chart."
    width = max(_text_width(shown, 12) + 20, 320.0)
    return _svg(kind, title, f"{_clean(title)}: no events to chart.", width, 48,
                [_text(10, 18, shown, size=12, weight="bold"), _text(10, 38, message, fill=MUTED)])


def _heading(title: str) -> tuple[str, float]:
    """The visible title and the width it needs."""
    shown = _short(_clean(title), TITLE_CHARS)
    return _text(10, 18, shown, size=12, weight="bold"), _text_width(shown, 12) + 20


# --- Input checks (the charts refuse what they cannot draw truthfully) -----------------------


def _count(value: object, where: str) -> int:
    try:
        number = operator.index(value)  # ints only: a float count would be a caller's bug
    except TypeError:
        raise ValueError(f"{where}: the count {value!r} is not a whole number") from None
    if number < 0:
        raise ValueError(f"{where}: the count {number} is negative")
    return number


def _day(key: object, where: str) -> date:
    if not isinstance(key, str) or not _DAY_KEY.fullmatch(key):
        raise ValueError(f"{where}: {key!r} is not a day written YYYY-MM-DD")
    try:
        return date.fromisoformat(key)
    except ValueError:
        raise ValueError(f"{where}: {key!r} is not a real day") from None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


# --- Week bands, shared by the heat map and the channel chart -------------------------------


def _bands(weeks: int) -> list[range]:
    """Split ``weeks`` columns into the fewest bands of at most a year, as even as possible."""
    count = math.ceil(weeks / WEEKS_PER_BAND)
    size = math.ceil(weeks / count)
    return [range(start, min(start + size, weeks)) for start in range(0, weeks, size)]


def _month_labels(openings: Sequence[tuple[int, date]], band: range,
                  band_first_day: date) -> list[tuple[int, str]]:
    """(column in the band, text) for the months beginning in ``band``.

    ``openings`` are (column, day) for each month's beginning. A band that opens part-way through
    a month names that month too when there is room before the next label. The first label and
    January's carry the year, passed on to the next label when it would not fit.
    """
    months = [(column, day) for column, day in openings if column in band]
    if not months or months[0][0] - band.start >= 2:  # "Mmm" needs two columns
        months.insert(0, (band.start, band_first_day))
    labels = []
    year_owed = True
    for index, (column, day) in enumerate(months):
        room = months[index + 1][0] - column if index + 1 < len(months) else 99
        name = MONTHS[day.month - 1]
        if (year_owed or day.month == 1) and room >= 4:  # "Mmm YYYY" needs four columns
            name += f" {day.year}"
            year_owed = False
        elif day.month == 1:
            year_owed = True
        labels.append((column - band.start, name))
    return labels


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


# --- 1. Calendar heat map -------------------------------------------------------------------


CELL = 12.0     # side of a day's square
PITCH = 14.0    # distance between squares


def _heat_bin(count: int) -> HeatBin:
    return next(b for b in HEAT_BINS if b.holds(count))


def calendar_heatmap(by_day: Mapping[str, int], *, title: str) -> Markup:
    """Contacts per civil day (keys "YYYY-MM-DD") as a calendar heat map; see the module text."""
    counts: dict[date, int] = {}
    for key, value in by_day.items():
        counts[_day(key, "calendar_heatmap")] = _count(value, f"calendar_heatmap {key}")
    active = sorted(day for day, number in counts.items() if number)
    if not active:
        return _no_events("heatmap", title)
    first, last = active[0], active[-1]
    shown_first = max(first, last - timedelta(days=MAX_DAYS - 1))
    shown = {day: counts.get(day, 0) for day in _days(shown_first, last)}
    left_out = {day: number for day, number in counts.items() if day < shown_first and number}

    first_monday = _monday(shown_first)
    weeks = (_monday(last) - first_monday).days // 7 + 1
    left = 38.0
    body: list[str] = []
    heading, width_needed = _heading(title)
    body.append(heading)
    y = 30.0
    for band in _bands(weeks):
        body.extend(_heat_band(shown, first_monday, band, shown_first, last, left, y))
        width_needed = max(width_needed, left + len(band) * PITCH + 10)
        y += 14 + 7 * PITCH + 10
    legend, legend_width = _heat_legend(10, y + 4)
    body.extend(legend)
    width_needed = max(width_needed, legend_width + 20)
    lines = _heat_summary(shown, left_out, shown_first, last)
    y += 36
    for line in lines:
        body.append(_text(10, y, line, fill=MUTED))
        width_needed = max(width_needed, _text_width(line, 9) + 20)
        y += 14
    desc = (f"{_sentence(title)} Calendar heat map of contacts per day, one square per day, "
            "weeks as columns from Monday to Sunday. " + " ".join(lines)
            + " Darker squares mean more contacts; the shades stand for "
            + ", ".join(b.label for b in HEAT_BINS)
            + " contacts a day; an outlined white square is a day with none.")
    return _svg("heatmap", title, desc, width_needed, y, body)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _heat_band(shown: Mapping[date, int], first_monday: date, band: range, first: date,
               last: date, left: float, top: float) -> list[str]:
    """One band of weeks: month labels, weekday labels, and a square per day in the range."""
    band_first_day = max(first, first_monday + timedelta(weeks=band.start))
    openings = []
    month = first if first.day == 1 else _next_month(first)
    while month <= last:  # the column of the week that holds each month's 1st
        openings.append(((month - first_monday).days // 7, month))
        month = _next_month(month)
    parts = [_text(left + column * PITCH, top + 10, name, size=8.5)
             for column, name in _month_labels(openings, band, band_first_day)]
    grid_top = top + 14
    for row, name in enumerate(WEEKDAYS):
        parts.append(_text(left - 5, grid_top + row * PITCH + 9.5, name, size=8, anchor="end",
                           fill=MUTED))
    for column in band:
        monday = first_monday + timedelta(weeks=column)
        for row in range(7):
            day = monday + timedelta(days=row)
            if day not in shown:
                continue  # before the first or after the last day: not part of the record
            count = shown[day]
            x = left + (column - band.start) * PITCH
            y = grid_top + row * PITCH
            parts.append(_heat_cell(x, y, day, count))
    return parts


def _heat_cell(x: float, y: float, day: date, count: int) -> str:
    tooltip = f"{day.isoformat()} {WEEKDAYS[day.weekday()]}: {_plural(count, 'contact')}"
    if count == 0:
        # Outlined, so a day without contact is visibly part of the range (and prints).
        return _element("rect", tooltip, x=x + 0.5, y=y + 0.5, width=CELL - 1, height=CELL - 1,
                        fill="#ffffff", stroke=EMPTY_STROKE, stroke_width="0.8",
                        data_day=day.isoformat(), data_count=count)
    return _element("rect", tooltip, x=x, y=y, width=CELL, height=CELL, fill=_heat_bin(count).fill,
                    data_day=day.isoformat(), data_count=count)


def _heat_legend(x: float, y: float) -> tuple[list[str], float]:
    """Swatches with the counts they stand for; returns the parts and the width used."""
    caption = "Contacts per day:"
    parts = [_text(x, y + 10, caption)]
    x += _text_width(caption, 9) + 8
    for heat_bin in HEAT_BINS:
        if heat_bin.low == 0:
            parts.append(_element("rect", x=x + 0.5, y=y + 0.5, width=CELL - 1, height=CELL - 1,
                                  fill="#ffffff", stroke=EMPTY_STROKE, stroke_width="0.8",
                                  data_bin=heat_bin.label))
        else:
            parts.append(_element("rect", x=x, y=y, width=CELL, height=CELL, fill=heat_bin.fill,
                                  data_bin=heat_bin.label))
        parts.append(_text(x + CELL + 4, y + 10, heat_bin.label))
        x += CELL + 4 + _text_width(heat_bin.label, 9) + 12
    return parts, x


def _heat_summary(shown: Mapping[date, int], left_out: Mapping[date, int], first: date,
                  last: date) -> list[str]:
    total = sum(shown.values())
    busy = sum(1 for number in shown.values() if number)
    peak_day = max(shown, key=lambda day: (shown[day], -day.toordinal()))  # earliest of the busiest
    lines = [f"{_plural(total, 'contact')} on {busy:,} of {_plural(len(shown), 'day')}, "
             f"{first.isoformat()} to {last.isoformat()}; the busiest day was "
             f"{peak_day.isoformat()} ({WEEKDAYS[peak_day.weekday()]}) with {shown[peak_day]:,}."]
    if left_out:
        lines.append(f"Only the last {MAX_DAYS:,} days are drawn: "
                     f"{_plural(sum(left_out.values()), 'contact')} on "
                     f"{_plural(len(left_out), 'earlier day')}, from {min(left_out).isoformat()}, "
                     f"are not drawn.")
    return lines


# --- 2. Hour of the day ---------------------------------------------------------------------


def _night(night_hours: Sequence[int]) -> tuple[int, int, frozenset[int]]:
    """The night's start and end hours (end excluded, wrapping past midnight) and its hours."""
    if len(night_hours) != 2:
        raise ValueError(f"hour_of_day: night_hours {tuple(night_hours)!r} is not (start, end)")
    start, end = (_count(hour, "hour_of_day night_hours") for hour in night_hours)
    if start > 23 or end > 24:
        raise ValueError(f"hour_of_day: night_hours ({start}, {end}) are not hours of a day")
    length = 24 - start if end == 24 else (end - start) % 24  # (0, 24): the whole day
    return start, end, frozenset((start + step) % 24 for step in range(length))


def _nice_step(peak: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that puts at most five steps up to ``peak``."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if peak <= 5 * factor * magnitude:
                return factor * magnitude
        magnitude *= 10


HOUR_LEFT, HOUR_PITCH, HOUR_BAR = 48.0, 26.0, 18.0   # axis margin, bar spacing, bar width
PLOT_TOP, PLOT_HEIGHT = 66.0, 160.0


def hour_of_day(by_hour: Sequence[int], *, night_hours: Sequence[int] = (22, 6),
                title: str) -> Markup:
    """Contacts by hour of the day (24 counts, hour 0 first); see the module text.

    ``night_hours`` is (first hour, hour the night ends), wrapping past midnight: (22, 6) is
    22:00 to 05:59. Equal hours mean no night is marked.
    """
    if len(by_hour) != 24:
        raise ValueError(f"hour_of_day: {len(by_hour)} counts given, one per hour (24) needed")
    counts = [_count(value, f"hour_of_day hour {hour}") for hour, value in enumerate(by_hour)]
    start, end, night = _night(night_hours)
    total = sum(counts)
    if not total:
        return _no_events("hours", title)
    step = _nice_step(max(counts))
    top_value = math.ceil(max(counts) / step) * step
    bottom = PLOT_TOP + PLOT_HEIGHT
    heading, width_needed = _heading(title)
    night_text = f"night hours ({start:02d}:00 to {end:02d}:00)"
    body = [heading, *_hour_legend(10.0, 28.0, night_text if night else None)]
    body.extend(_night_bands(night))  # first, so the bars and grid lie over the grey
    body.extend(_count_axis(top_value, step))
    for hour, count in enumerate(counts):
        body.extend(_hour_bar(hour, count, hour in night, count / top_value * PLOT_HEIGHT))
    at_night = sum(counts[hour] for hour in night)
    peak = max(range(24), key=lambda hour: (counts[hour], -hour))  # the earliest of the busiest
    summary = (f"{_plural(total, 'contact')}; "
               + (f"{at_night:,} ({100 * at_night / total:.0f}%) in the {night_text}; "
                  if night else "")
               + f"the busiest hour was {peak:02d}:00 to {peak:02d}:59 with {counts[peak]:,}.")
    y = bottom + 46
    body.append(_text(HOUR_LEFT, y, "Hour of the day (00 is midnight to 00:59)", size=8,
                      fill=MUTED))
    body.append(_text(10, y + 16, summary, fill=MUTED))
    width_needed = max(width_needed, HOUR_LEFT + 24 * HOUR_PITCH + 16,
                       _text_width(summary, 9) + 20)
    desc = (f"{_sentence(title)} Bar chart of contacts in each of the 24 hours of the day. "
            f"{summary} Per hour from 00 to 23: "
            + ", ".join(f"{hour:02d} {count:,}" for hour, count in enumerate(counts)) + ".")
    return _svg("hours", title, desc, width_needed, y + 26, body)


def _night_bands(night: frozenset[int]) -> list[str]:
    """A grey band over the plot and the hour labels for each run of night hours, labelled."""
    parts = []
    for first_hour, last_hour in _runs(sorted(night)):
        x = HOUR_LEFT + first_hour * HOUR_PITCH
        span = (last_hour - first_hour + 1) * HOUR_PITCH
        parts.append(_element("rect", x=x, y=PLOT_TOP, width=span, height=PLOT_HEIGHT + 30,
                              fill=NIGHT_BAND, data_night=f"{first_hour:02d}-{last_hour:02d}"))
        parts.append(_text(x + span / 2, PLOT_TOP + PLOT_HEIGHT + 26, "night", size=8,
                           anchor="middle", fill=MUTED))
    return parts


def _count_axis(top_value: int, step: int) -> list[str]:
    """Grid lines and counts from 0 to ``top_value``; the zero line is the dark baseline."""
    bottom, right = PLOT_TOP + PLOT_HEIGHT, HOUR_LEFT + 24 * HOUR_PITCH
    parts = []
    for value in range(0, top_value + 1, step):
        y = bottom - value / top_value * PLOT_HEIGHT
        parts.append(_element("line", x1=HOUR_LEFT, y1=y, x2=right, y2=y,
                              stroke=GRID if value else MUTED, stroke_width="0.8"))
        parts.append(_text(HOUR_LEFT - 5, y + 3, f"{value:,}", size=8, anchor="end",
                           fill=MUTED))
    parts.append(_text(HOUR_LEFT - 5, PLOT_TOP - 10, "contacts", size=8, anchor="end",
                       fill=MUTED))
    return parts


def _runs(hours: list[int]) -> list[tuple[int, int]]:
    """Consecutive hours as (first, last) runs: the night around midnight is two runs."""
    runs: list[tuple[int, int]] = []
    for hour in hours:
        if runs and runs[-1][1] == hour - 1:
            runs[-1] = (runs[-1][0], hour)
        else:
            runs.append((hour, hour))
    return runs


def _hour_bar(hour: int, count: int, is_night: bool, height: float) -> list[str]:
    """The bar (drawn even at zero height, so there are always 24), its count and its hour."""
    x = HOUR_LEFT + hour * HOUR_PITCH + (HOUR_PITCH - HOUR_BAR) / 2
    bottom = PLOT_TOP + PLOT_HEIGHT
    tooltip = (f"{hour:02d}:00 to {hour:02d}:59{' (night)' if is_night else ''}: "
               f"{_plural(count, 'contact')}")
    parts = [_element("rect", tooltip, x=x, y=bottom - height, width=HOUR_BAR, height=height,
                      fill=NIGHT_BAR if is_night else DAY_BAR, data_hour=hour, data_count=count)]
    if count:
        parts.append(_text(x + HOUR_BAR / 2, bottom - height - 3, f"{count:,}", size=7.5,
                           anchor="middle"))
    parts.append(_text(x + HOUR_BAR / 2, bottom + 12, f"{hour:02d}", size=8, anchor="middle"))
    return parts


def _hour_legend(x: float, y: float, night_text: str | None) -> list[str]:
    parts = [_element("rect", x=x, y=y, width=12.0, height=12.0, fill=DAY_BAR),
             _text(x + 16, y + 10, "day hours" if night_text else "contacts in the hour")]
    if night_text:
        x += 16 + _text_width("day hours", 9) + 14
        parts += [_element("rect", x=x - 3.0, y=y - 3.0, width=18.0, height=18.0,
                           fill=NIGHT_BAND),
                  _element("rect", x=x, y=y, width=12.0, height=12.0, fill=NIGHT_BAR),
                  _text(x + 19, y + 10, f"{night_text}, on the grey band")]
    return parts


# --- 3. Channels over time ------------------------------------------------------------------


@dataclass(frozen=True)
class _Lane:
    """One swimlane: a channel (or "other", several together) and its counts per week."""

    label: str
    weekly: dict[date, int]
    members: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(self.weekly.values())

    @property
    def first_week(self) -> date:
        return min(week for week, number in self.weekly.items() if number)


def _weekly_counts(by_week_platform: Mapping[str, Mapping[str, int]]) -> dict[str, dict[date, int]]:
    per_platform: dict[str, dict[date, int]] = {}
    for key, platforms in by_week_platform.items():
        week = _day(key, "channels_over_time")
        if week.weekday() != 0:
            raise ValueError(f"channels_over_time: {key} is not a Monday")
        for platform, value in platforms.items():
            number = _count(value, f"channels_over_time {key}")
            if number:
                name = str(platform)
                weekly = per_platform.setdefault(name, {})
                weekly[week] = weekly.get(week, 0) + number
    return per_platform


def _lanes(per_platform: Mapping[str, Mapping[date, int]]) -> list[_Lane]:
    """At most MAX_CHANNELS busiest channels, by first appearance, then "other" for the rest."""
    lanes = [_Lane(name, dict(weekly), (name,)) for name, weekly in per_platform.items() if weekly]
    # Ties broken by name so the order never depends on the order of the input mapping.
    by_size = sorted(lanes, key=lambda lane: (-lane.total, lane.label))
    kept, rest = by_size[:MAX_CHANNELS], by_size[MAX_CHANNELS:]
    kept.sort(key=lambda lane: (lane.first_week, -lane.weekly[lane.first_week], lane.label))
    if rest:
        merged: dict[date, int] = {}
        for lane in rest:
            for week, number in lane.weekly.items():
                merged[week] = merged.get(week, 0) + number
        names = tuple(sorted(lane.label for lane in rest))
        kept.append(_Lane(f"other ({len(rest)} channels)", merged, names))
    return kept


def channels_over_time(by_week_platform: Mapping[str, Mapping[str, int]], *,
                       title: str) -> Markup:
    """Contacts per week (keys: Monday "YYYY-MM-DD") and channel as swimlanes; see module text."""
    per_platform = _weekly_counts(by_week_platform)
    if not per_platform:
        return _no_events("channels", title)
    all_weeks = sorted({week for weekly in per_platform.values() for week in weekly})
    first, last = all_weeks[0], all_weeks[-1]
    shown_first = max(first, last - timedelta(weeks=MAX_WEEKS - 1))
    shown = {name: {week: n for week, n in weekly.items() if week >= shown_first}
             for name, weekly in per_platform.items()}
    lanes = _lanes({name: weekly for name, weekly in shown.items() if weekly})
    weeks = (last - shown_first).days // 7 + 1
    peak = max(number for lane in lanes for number in lane.weekly.values())

    labels = [_short(_clean(lane.label), LABEL_CHARS) for lane in lanes]
    left = max(70.0, max(_text_width(label, 9) for label in labels) + 16)
    bands = _bands(weeks)
    # Wide enough to read for a few weeks, narrow enough that a year of weeks fits a page.
    pitch = float(min(28, max(14, 560 // max(len(band) for band in bands))))
    row = max(18.0, pitch)
    heading, width_needed = _heading(title)
    body = [heading]
    y = 30.0
    for band in bands:
        body.extend(_channel_band(lanes, labels, shown_first, band, left, y, pitch, row, peak))
        width_needed = max(width_needed, left + len(band) * pitch + 56)
        y += 14 + len(lanes) * row + 32
    legend, legend_width = _dot_legend(10.0, y + 2, peak, pitch, row)
    body.extend(legend)
    width_needed = max(width_needed, legend_width + 20)
    lines = _channel_summary(lanes, weeks, shown_first, last,
                             {week: sum(weekly.get(week, 0) for weekly in per_platform.values())
                              for week in all_weeks if week < shown_first})
    y += row + 18
    for line in lines:
        body.append(_text(10, y, line, fill=MUTED))
        width_needed = max(width_needed, _text_width(line, 9) + 20)
        y += 14
    desc = (f"{_sentence(title)} One row per channel in the order the channels first appear, "
            "weeks from left to right; a dot's area grows with that week's contacts. "
            + " ".join(lines) + " By channel: " + "; ".join(_lane_words(lane) for lane in lanes)
            + ".")
    return _svg("channels", title, desc, width_needed, y, body)


def _channel_summary(lanes: Sequence[_Lane], weeks: int, first: date, last: date,
                     left_out: Mapping[date, int]) -> list[str]:
    total = sum(lane.total for lane in lanes)
    lines = [f"{_plural(total, 'contact')} on {_plural(len(lanes), 'row')} over "
             f"{_plural(weeks, 'week')}, the weeks of {first.isoformat()} to {last.isoformat()}."]
    if left_out:
        lines.append(f"Only the last {MAX_WEEKS} weeks are drawn: "
                     f"{_plural(sum(left_out.values()), 'contact')} in "
                     f"{_plural(len(left_out), 'earlier week')}, from the week of "
                     f"{min(left_out).isoformat()}, are not drawn.")
    return lines


def _lane_words(lane: _Lane) -> str:
    """A row in words for <desc>: its full name (and, for "other", which channels it holds)."""
    members = f" ({', '.join(_clean(m) for m in lane.members)})" if len(lane.members) > 1 else ""
    return (f"{_clean(lane.label)}{members}: {lane.total:,}, first in the week of "
            f"{lane.first_week.isoformat()}")


def _channel_band(lanes: Sequence[_Lane], labels: Sequence[str], first_monday: date,
                  band: range, left: float, top: float, pitch: float, row: float,
                  peak: int) -> list[str]:
    """One band of weeks: months above, a lane per channel, each Monday's day of month below."""
    mondays = [first_monday + timedelta(weeks=column) for column in band]
    # A month begins at its first Monday: the column whose day-of-month label is 1 to 7.
    openings = [(column, monday) for column, monday in zip(band, mondays, strict=True)
                if monday.day <= 7]
    parts = [_text(left + column * pitch + 1, top + 10, name, size=8.5)
             for column, name in _month_labels(openings, band, mondays[0])]
    lanes_top = top + 14
    plot_right = left + len(band) * pitch
    for index, (lane, label) in enumerate(zip(lanes, labels, strict=True)):
        y = lanes_top + index * row
        if index % 2 == 0:  # stripes guide the eye along a lane, and print as a pale grey
            parts.append(_element("rect", x=left, y=y, width=plot_right - left, height=row,
                                  fill=STRIPE))
        parts.append(_text(left - 6, y + row / 2 + 3, label, anchor="end"))
        parts.append(_text(plot_right + 8, y + row / 2 + 3, f"{lane.total:,}", size=8,
                           fill=MUTED))
        for column in band:
            week = first_monday + timedelta(weeks=column)
            count = lane.weekly.get(week, 0)
            if count:
                parts.append(_element(
                    "circle", f"{_clean(lane.label)}, week of {week.isoformat()}: "
                              f"{_plural(count, 'contact')}",
                    cx=left + (column - band.start) * pitch + pitch / 2, cy=y + row / 2,
                    r=_radius(count, peak, pitch, row), fill=DOT, data_week=week.isoformat(),
                    data_count=count))
    axis_y = lanes_top + len(lanes) * row
    parts.append(_element("line", x1=left, y1=axis_y, x2=plot_right, y2=axis_y, stroke=MUTED,
                          stroke_width="0.8"))
    for column in band:
        week = first_monday + timedelta(weeks=column)
        x = left + (column - band.start) * pitch + pitch / 2
        parts.append(_element("line", x1=x, y1=axis_y, x2=x, y2=axis_y + 3, stroke=MUTED,
                              stroke_width="0.6"))
        parts.append(_text(x, axis_y + 12, str(week.day), size=7, anchor="middle", fill=MUTED))
    parts.append(_text(left - 6, axis_y + 12, "week of", size=7, anchor="end", fill=MUTED))
    parts.append(_text(plot_right + 8, axis_y + 12, "total", size=7, fill=MUTED))
    return parts


def _radius(count: int, peak: int, pitch: float, row: float) -> float:
    """Area in proportion to the count, the busiest week filling its cell; never too small."""
    largest = min(pitch, row) / 2 - 1
    return max(1.6, largest * math.sqrt(count / peak))


def _dot_legend(x: float, y: float, peak: int, pitch: float,
                row: float) -> tuple[list[str], float]:
    """Dots for 1, about a quarter of the busiest week, and the busiest week, with their counts."""
    caption = "Contacts in a week:"
    parts = [_text(x, y + row / 2 + 3, caption)]
    x += _text_width(caption, 9) + 8
    for value in sorted({1, math.ceil(peak / 4), peak}):
        radius = _radius(value, peak, pitch, row)
        parts.append(_element("circle", cx=x + radius, cy=y + row / 2, r=radius, fill=DOT,
                              data_legend=value))
        parts.append(_text(x + 2 * radius + 4, y + row / 2 + 3, f"{value:,}"))
        x += 2 * radius + 4 + _text_width(f"{value:,}", 9) + 12
    return parts, x
