"""The report's inline SVG charts: deterministic, well-formed, CSP-safe, escaped and bounded."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from jinja2 import Environment
from markupsafe import Markup

from courseline.report_templates import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script>"&'
COORDINATES = {"x", "y", "width", "height", "x1", "y1", "x2", "y2", "cx", "cy", "r", "font-size"}


def parse(svg: Markup) -> ET.Element:
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    return root


def days(first: str, count: int, value: int = 1) -> dict[str, int]:
    start = date.fromisoformat(first)
    return {(start + timedelta(days=offset)).isoformat(): value for offset in range(count)}


def cells(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}rect") if "data-day" in e.attrib]


def centre(cell: ET.Element) -> tuple[float, float]:
    half = float(cell.get("width")) / 2
    return float(cell.get("x")) + half, float(cell.get("y")) + half


def texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG}text")]


def month_labels(root: ET.Element) -> list[str]:
    return [e.text for e in root.iter(f"{SVG}text") if e.get("font-size") == "8.5"]


def sample_charts() -> list[Markup]:
    weekly = {"2024-01-01": {"sms": 3, HOSTILE: 2}, "2024-01-15": {"email": 9}}
    return [
        charts.calendar_heatmap({"2024-01-02": 3, "2024-01-20": 17, "2024-02-03": 1},
                                title="Per day"),
        charts.hour_of_day([index % 5 for index in range(24)], title="Per hour"),
        charts.channels_over_time(weekly, title="Per channel"),
        charts.calendar_heatmap({}, title="Empty"),
        charts.hour_of_day([0] * 24, title="Empty"),
        charts.channels_over_time({}, title="Empty"),
    ]


# --- Properties every chart has -----------------------------------------------------------


def test_charts_are_markup_and_byte_identical_when_made_again():
    first, second = sample_charts(), sample_charts()
    assert all(isinstance(chart, Markup) for chart in first)
    assert [str(chart) for chart in first] == [str(chart) for chart in second]


def test_input_order_does_not_change_the_bytes():
    by_day = {"2024-03-01": 2, "2024-02-10": 5, "2024-02-11": 0}
    assert charts.calendar_heatmap(by_day, title="t") == charts.calendar_heatmap(
        dict(reversed(list(by_day.items()))), title="t")
    weekly = {"2024-01-08": {"sms": 1, "email": 1, "call": 4}, "2024-01-01": {"post": 2}}
    shuffled = {"2024-01-01": {"post": 2}, "2024-01-08": {"call": 4, "email": 1, "sms": 1}}
    assert charts.channels_over_time(weekly, title="t") == charts.channels_over_time(
        shuffled, title="t")


@pytest.mark.parametrize("index", range(6))
def test_every_chart_is_well_formed_accessible_svg(index):
    root = parse(sample_charts()[index])
    assert root.get("role") == "img"
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))
    assert root.get("width") == root.get("viewBox").split()[2]
    title, desc = root[0], root[1]
    assert (title.tag, desc.tag) == (f"{SVG}title", f"{SVG}desc")
    assert title.text and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


@pytest.mark.parametrize("index", range(6))
def test_nothing_the_content_security_policy_would_block(index):
    svg = str(sample_charts()[index])
    root = parse(sample_charts()[index])
    assert all("style" not in element.attrib for element in root.iter())
    assert not [e for e in root.iter() if e.tag in (f"{SVG}style", f"{SVG}script")]
    for forbidden in ("style=", "<style", "<script", "href", "url(", "javascript:", "<image",
                      "<foreignObject"):
        assert forbidden not in svg


@pytest.mark.parametrize("index", range(3))
def test_numbers_are_written_with_fixed_decimals(index):
    root = parse(sample_charts()[index])
    for element in list(root.iter())[1:]:   # the <svg> itself is sized in whole units
        for name, value in element.attrib.items():
            if name in COORDINATES:
                assert re.fullmatch(r"\d+\.\d", value), (element.tag, name, value)


def test_a_hostile_platform_name_appears_only_escaped():
    weekly = {"2024-01-01": {HOSTILE: 4}, "2024-01-08": {"sms": 1}}
    svg = str(charts.channels_over_time(weekly, title=HOSTILE))
    assert "<script" not in svg and "alert(1)</" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&amp;" in svg
    root = parse(Markup(svg))
    # Read back as text, the name is whole in the title, description and tooltips.
    assert root[0].text == HOSTILE
    assert HOSTILE in root[1].text
    assert any(HOSTILE in (e.text or "") for e in root.iter(f"{SVG}title"))
    assert not [e for e in root.iter() if e.tag.endswith("script")]


def test_control_and_bidi_characters_are_replaced_so_the_xml_stays_valid():
    name = "sms\x00\x1b[31m\u202egnp.exe\ud800"
    for svg in (charts.channels_over_time({"2024-01-01": {name: 1}}, title=name),
                charts.calendar_heatmap({"2024-01-01": 1}, title=name),
                charts.hour_of_day([1] * 24, title=name)):
        root = parse(svg)
        for element in root.iter():
            assert not re.search("[\x00-\x1f\u202e\ud800]", element.text or "")


def test_the_chart_is_not_escaped_again_by_jinja():
    chart = charts.hour_of_day([1] * 24, title="a & b")
    rendered = Environment(autoescape=True).from_string("{{ chart }}").render(chart=chart)
    assert rendered == str(chart)


# --- 1. Calendar heat map -------------------------------------------------------------------


def test_heatmap_has_one_cell_per_day_from_first_to_last_day_with_data():
    by_day = {"2024-03-04": 2, "2024-03-10": 0, "2024-03-20": 7, "2024-02-01": 0}
    root = parse(charts.calendar_heatmap(by_day, title="t"))
    drawn = cells(root)
    assert [c.get("data-day") for c in drawn] == [
        (date(2024, 3, 4) + timedelta(days=n)).isoformat() for n in range(17)]
    assert sum(int(c.get("data-count")) for c in drawn) == 9
    # Days without contact are empty (white, outlined) cells.
    empty = [c for c in drawn if c.get("data-count") == "0"]
    assert len(empty) == 15
    assert all(c.get("fill") == "#ffffff" and c.get("stroke") for c in empty)


def test_heatmap_weeks_are_columns_monday_first():
    root = parse(charts.calendar_heatmap({"2024-05-06": 1, "2024-05-19": 1}, title="t"))
    drawn = {c.get("data-day"): centre(c) for c in cells(root)}
    monday, sunday, next_monday = drawn["2024-05-06"], drawn["2024-05-12"], drawn["2024-05-13"]
    assert monday[0] == sunday[0] < next_monday[0]      # same week, same column
    assert monday[1] < sunday[1] and monday[1] == next_monday[1]   # Monday on top
    weekdays = [t for t in texts(root) if t in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
    assert weekdays == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def test_heatmap_legend_shows_the_fixed_bins_and_cells_use_them():
    assert [b.label for b in charts.HEAT_BINS] == ["0", "1", "2–3", "4–7", "8–15", "16+"]
    fills = [b.fill for b in charts.HEAT_BINS]
    assert len(set(fills)) == len(fills)
    counts = [1, 2, 3, 4, 7, 8, 15, 16, 1000]
    by_day = {f"2024-06-{day:02d}": count for day, count in enumerate(counts, start=1)}
    root = parse(charts.calendar_heatmap(by_day, title="t"))
    legend = [e.get("data-bin") for e in root.iter(f"{SVG}rect") if "data-bin" in e.attrib]
    assert legend == ["0", "1", "2–3", "4–7", "8–15", "16+"]
    expected = [1, 2, 2, 3, 3, 4, 4, 5, 5]   # index into HEAT_BINS
    assert [c.get("fill") for c in cells(root)] == [fills[i] for i in expected]
    assert "16+" in root[1].text and "Contacts per day:" in texts(root)


def test_heatmap_single_day():
    root = parse(charts.calendar_heatmap({"2024-02-29": 4}, title="One day"))
    assert [(c.get("data-day"), c.get("data-count")) for c in cells(root)] == [("2024-02-29", "4")]
    assert month_labels(root) == ["Feb 2024"]
    assert "4 contacts on 1 of 1 day" in root[1].text


def test_heatmap_over_a_year_boundary():
    by_day = {"2023-12-20": 2, "2024-01-10": 5}
    root = parse(charts.calendar_heatmap(by_day, title="t"))
    drawn = cells(root)
    assert len(drawn) == 22
    assert drawn[0].get("data-day") == "2023-12-20" and drawn[-1].get("data-day") == "2024-01-10"
    assert month_labels(root) == ["Dec", "Jan 2024"]
    assert len({centre(c)[0] for c in drawn}) == 4   # weeks of 18 Dec, 25 Dec, 1 Jan and 8 Jan
    assert "2023-12-20 to 2024-01-10" in root[1].text


def test_heatmap_names_the_year_at_the_start():
    root = parse(charts.calendar_heatmap(days("2024-03-01", 70), title="t"))
    assert month_labels(root) == ["Mar 2024", "Apr", "May"]


def test_heatmap_longer_than_a_year_is_split_into_bands_of_at_most_53_weeks():
    root = parse(charts.calendar_heatmap(days("2022-01-03", 500), title="t"))
    columns = sorted({float(c.get("x")) for c in cells(root)})
    assert len(columns) <= charts.WEEKS_PER_BAND
    assert len(cells(root)) == 500
    assert texts(root).count("Mon") == 2


def test_heatmap_keeps_only_the_last_max_days_and_says_so():
    by_day = days("2019-01-01", 1500, value=2)
    root = parse(charts.calendar_heatmap(by_day, title="t"))
    drawn = cells(root)
    assert len(drawn) == charts.MAX_DAYS
    last = date(2019, 1, 1) + timedelta(days=1499)
    assert drawn[-1].get("data-day") == last.isoformat()
    assert drawn[0].get("data-day") == (last - timedelta(days=charts.MAX_DAYS - 1)).isoformat()
    left_out = 1500 - charts.MAX_DAYS
    note = f"{left_out * 2:,} contacts on {left_out:,} earlier days, from 2019-01-01, are not drawn"
    assert any(note in t for t in texts(root))
    assert note in root[1].text


@pytest.mark.parametrize("by_day", [{}, {"2024-01-01": 0, "2024-01-05": 0}])
def test_heatmap_without_contacts_says_so(by_day):
    root = parse(charts.calendar_heatmap(by_day, title="Nothing"))
    assert cells(root) == []
    assert "No events to chart." in texts(root)
    assert "no events" in root[1].text


@pytest.mark.parametrize("by_day", [{"2024-1-5": 1}, {"20240105": 1}, {"2024-02-30": 1},
                                    {"2024-01-05": -1}, {"2024-01-05": 1.5}])
def test_heatmap_refuses_what_it_cannot_draw_truthfully(by_day):
    with pytest.raises(ValueError):
        charts.calendar_heatmap(by_day, title="t")


# --- 2. Hour of the day ---------------------------------------------------------------------


def bars(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}rect") if "data-hour" in e.attrib]


def test_hour_chart_has_24_bars_with_the_counts_and_heights_in_proportion():
    counts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 40]
    root = parse(charts.hour_of_day(counts, title="t"))
    drawn = bars(root)
    assert [int(b.get("data-hour")) for b in drawn] == list(range(24))
    assert [int(b.get("data-count")) for b in drawn] == counts
    assert float(drawn[23].get("height")) == 2 * float(drawn[20].get("height"))
    assert float(drawn[0].get("height")) == 0
    hour_labels = [e.text for e in root.iter(f"{SVG}text")
                   if e.get("font-size") == "8.0" and e.get("text-anchor") == "middle"
                   and e.text != "night"]
    assert hour_labels == [f"{hour:02d}" for hour in range(24)]
    axis = [e.text for e in root.iter(f"{SVG}text") if e.get("text-anchor") == "end"]
    assert axis == ["0", "10", "20", "30", "40", "contacts"]


def test_hour_chart_marks_and_labels_the_night_across_midnight():
    root = parse(charts.hour_of_day([1] * 24, night_hours=(22, 6), title="t"))
    night = [int(b.get("data-hour")) for b in bars(root) if b.get("fill") == charts.NIGHT_BAR]
    assert night == [0, 1, 2, 3, 4, 5, 22, 23]
    bands = [e.get("data-night") for e in root.iter(f"{SVG}rect") if "data-night" in e.attrib]
    assert bands == ["00-05", "22-23"]
    assert texts(root).count("night") == 2
    assert "8 (33%) in the night hours (22:00 to 06:00)" in root[1].text


def test_hour_chart_night_options():
    for night_hours, expected in (((0, 0), 0), ((23, 0), 1), ((0, 24), 24), ([21, 7], 10)):
        root = parse(charts.hour_of_day([1] * 24, night_hours=night_hours, title="t"))
        assert sum(b.get("fill") == charts.NIGHT_BAR for b in bars(root)) == expected


def test_hour_chart_single_contact_and_empty():
    one = parse(charts.hour_of_day([0] * 3 + [1] + [0] * 20, title="t"))
    assert len(bars(one)) == 24
    assert "busiest hour was 03:00 to 03:59 with 1" in one[1].text
    empty = parse(charts.hour_of_day([0] * 24, title="t"))
    assert bars(empty) == [] and "No events to chart." in texts(empty)


@pytest.mark.parametrize(("by_hour", "night"), [([1] * 23, (22, 6)), ([1] * 25, (22, 6)),
                                                ([-1] + [0] * 23, (22, 6)),
                                                ([1] * 24, (24, 6)), ([1] * 24, (22,))])
def test_hour_chart_refuses_bad_input(by_hour, night):
    with pytest.raises(ValueError):
        charts.hour_of_day(by_hour, night_hours=night, title="t")


# --- 3. Channels over time ------------------------------------------------------------------


def lane_labels(root: ET.Element) -> list[str]:
    return [e.text for e in root.iter(f"{SVG}text")
            if e.get("text-anchor") == "end" and e.get("font-size") == "9.0"]


def dots(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}circle") if "data-week" in e.attrib]


def test_channels_are_rows_in_order_of_first_appearance():
    weekly = {"2024-01-15": {"email": 1, "whatsapp": 9}, "2024-01-01": {"sms": 5},
              "2024-01-08": {"sms": 2, "email": 4}, "2024-01-22": {"sms": 1}}
    root = parse(charts.channels_over_time(weekly, title="t"))
    assert lane_labels(root) == ["sms", "email", "whatsapp"]
    assert len(dots(root)) == 6
    assert sum(int(d.get("data-count")) for d in dots(root)) == 22
    # A dot's area grows with the count: the busiest week has the largest dot.
    radii = {(d.get("data-week"), d.get("data-count")): float(d.get("r")) for d in dots(root)}
    assert radii[("2024-01-15", "9")] == max(radii.values())
    assert radii[("2024-01-01", "5")] > radii[("2024-01-08", "2")]
    assert "sms: 8, first in the week of 2024-01-01" in root[1].text


def test_channels_every_week_in_range_has_a_column_and_a_label():
    weekly = {"2024-01-01": {"sms": 1}, "2024-02-05": {"sms": 1}}
    root = parse(charts.channels_over_time(weekly, title="t"))
    ticks = [e for e in root.iter(f"{SVG}text") if e.get("font-size") == "7.0"
             and e.text.isdigit()]
    assert [t.text for t in ticks] == ["1", "8", "15", "22", "29", "5"]
    assert month_labels(root) == ["Jan 2024", "Feb"]


def test_channels_over_a_year_boundary():
    weekly = {"2023-12-18": {"sms": 2}, "2024-01-08": {"email": 3}}
    root = parse(charts.channels_over_time(weekly, title="t"))
    assert month_labels(root) == ["Dec", "Jan 2024"]
    assert [d.get("data-week") for d in dots(root)] == ["2023-12-18", "2024-01-08"]
    assert "the weeks of 2023-12-18 to 2024-01-08" in root[1].text


def test_channels_single_week():
    root = parse(charts.channels_over_time({"2024-02-26": {"sms": 1}}, title="t"))
    assert [(d.get("data-week"), d.get("data-count")) for d in dots(root)] == [("2024-02-26", "1")]
    assert lane_labels(root) == ["sms"]


def test_channels_beyond_twelve_are_drawn_together_as_other():
    weekly = {"2024-01-01": {f"app{n:02d}": 20 - n for n in range(15)}}
    root = parse(charts.channels_over_time(weekly, title="t"))
    labels = lane_labels(root)
    assert len(labels) == charts.MAX_CHANNELS + 1
    assert labels[:-1] == [f"app{n:02d}" for n in range(12)]   # the busiest twelve
    assert labels[-1] == "other (3 channels)"
    assert "other (3 channels) (app12, app13, app14): 21" in root[1].text


def test_long_channel_names_are_shortened_on_the_chart_but_whole_in_the_description():
    name = "a very long channel name that goes on and on"
    root = parse(charts.channels_over_time({"2024-01-01": {name: 1}}, title="t"))
    assert lane_labels(root) == [name[:charts.LABEL_CHARS - 1] + "…"]
    assert name in root[1].text


def test_channels_keep_only_the_last_max_weeks_in_bands_and_say_so():
    start = date(2020, 1, 6)
    weekly = {(start + timedelta(weeks=n)).isoformat(): {"sms": 1} for n in range(200)}
    root = parse(charts.channels_over_time(weekly, title="t"))
    drawn = [d.get("data-week") for d in dots(root)]
    assert len(drawn) == charts.MAX_WEEKS
    assert drawn[-1] == (start + timedelta(weeks=199)).isoformat()
    assert lane_labels(root).count("sms") == 3          # three bands of at most 53 weeks
    note = "43 contacts in 43 earlier weeks, from the week of 2020-01-06, are not drawn"
    assert any(note in t for t in texts(root)) and note in root[1].text


@pytest.mark.parametrize("weekly", [{}, {"2024-01-01": {}}, {"2024-01-01": {"sms": 0}}])
def test_channels_without_contacts_say_so(weekly):
    root = parse(charts.channels_over_time(weekly, title="t"))
    assert dots(root) == [] and "No events to chart." in texts(root)


@pytest.mark.parametrize("weekly", [{"2024-01-02": {"sms": 1}}, {"2024-01-01": {"sms": -2}},
                                    {"week 1": {"sms": 1}}])
def test_channels_refuse_bad_input(weekly):
    with pytest.raises(ValueError):
        charts.channels_over_time(weekly, title="t")
