"""The course-of-conduct analysis, on rows built here (invented people) with figures worked out
by hand, and on the demo case's timeline."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from courseline.annotations import Annotation
from courseline.timeline.analysis import analyse

ZONE = "Europe/London"
ID = {"v": "tel:+447700900123", "s": "tel:+447700900456", "w": "email:w@example.org"}


@dataclass(frozen=True)
class Person:
    key: str
    role: str


PERSONS = (Person("v", "victim"), Person("s", "suspect"), Person("w", "witness"))
_seq = itertools.count(1)


def row(when: str | None, sender: str | None = "s", to: tuple = ("v",), *, kind: str = "sms",
        platform: str = "phone", sender_id: str | None = None, to_ids: tuple | None = None,
        flags: tuple = (), event_id: str | None = None) -> dict:
    seq = next(_seq)
    return {"occurred_utc": when, "kind": kind, "platform": platform, "direction": "incoming",
            "sender": sender_id or ID.get(sender or "", "tel:+447700900999"),
            "sender_person": sender,
            "recipients": list(to_ids) if to_ids else [ID.get(p or "", "email:x@example.org")
                                                        for p in to],
            "recipient_persons": list(to), "flags": list(flags), "seq": seq,
            "event_id": event_id or f"{seq:064x}", "provenance": []}


def note(event_id: str, *tags: str, seq: int = 1, by: str = "DC Example",
         text: str = "") -> Annotation:
    return Annotation(seq, "2025-01-01T09:00:00Z", by, event_id, tuple(tags), text, "0" * 64, "")


def at(start: str, minutes: float) -> str:
    moment = datetime.fromisoformat(start) + timedelta(minutes=minutes)   # start: UTC, "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run(rows: list[dict], **options) -> dict:
    options.setdefault("persons", PERSONS)
    return analyse(rows, zone=ZONE, **options)


def pair(result: dict, frm: str, to: str) -> dict:
    return next(p for p in result["pairs"] if (p["from"], p["to"]) == (frm, to))


def indicators(result: dict, suspect: str = "s", victim: str = "v") -> dict:
    entry = next(f for f in result["focus"] if (f["suspect"], f["victim"]) == (suspect, victim))
    return entry["indicators"]


# ------------------------------------------------------------------------------ civil time

def test_hours_and_days_are_civil_across_the_autumn_clock_change():
    rows = [row("2024-10-26T22:59:59Z"),   # 23:59:59 BST on the 26th
            row("2024-10-26T23:30:00Z"),   # 00:30 BST on the 27th
            row("2024-10-27T00:30:00Z"),   # 01:30 BST (the first 01:30)
            row("2024-10-27T01:30:00Z"),   # 01:30 GMT (the second)
            row("2024-10-27T06:00:00Z")]   # 06:00 GMT: day again
    found = pair(run(rows), "s", "v")
    assert found["by_day"] == {"2024-10-26": 1, "2024-10-27": 4}
    expected = [0] * 24
    expected[23], expected[0], expected[1], expected[6] = 1, 1, 2, 1
    assert found["by_hour"] == expected
    assert found["night_events"] == 4      # 23, 0, 1, 1; not 6
    assert (found["days"], found["span_days"]) == (2, 2)


def test_spring_clock_change_and_a_night_that_does_not_span_midnight():
    rows = [row("2024-03-31T00:30:00Z"),   # 00:30 GMT
            row("2024-03-31T01:30:00Z"),   # 02:30 BST
            row("2024-03-31T23:30:00Z")]   # 00:30 BST on 1 April
    found = pair(run(rows, night_hours=(2, 5)), "s", "v")
    assert [h for h, n in enumerate(found["by_hour"]) for _ in range(n)] == [0, 0, 2]
    assert found["by_day"] == {"2024-03-31": 2, "2024-04-01": 1}
    assert found["night_events"] == 1


# ------------------------------------------------------------------------- what is counted

def test_drafts_failures_diary_entries_and_undated_rows_count_in_no_figure():
    rows = [row("2024-01-10T12:00:00Z"),
            row("2024-01-11T12:00:00Z", flags=("draft",)),
            row("2024-01-12T12:00:00Z", flags=("failed", "edited")),
            row("2024-01-13T12:00:00Z", kind="diary", platform="diary"),
            row(None),
            row("2024-01-14T12:00:00Z", flags=("edited",))]
    result = run(rows)
    found = pair(result, "s", "v")
    assert (found["events"], found["days"]) == (2, 2)
    assert (found["first_utc"], found["last_utc"]) == ("2024-01-10T12:00:00Z",
                                                       "2024-01-14T12:00:00Z")
    assert indicators(result)["fixated"]["suspect_events"] == 2
    assert [p["events"] for p in result["focus"][0]["channel_hopping"]["platforms"]] == [2]


def test_each_distinct_recipient_counts_once_and_never_the_sender_or_no_one():
    rows = [row("2024-01-10T12:00:00Z", to=("v", "v", None, "s", "w"),
                to_ids=(ID["v"], "email:v2@example.org", "tel:+447700900777", ID["s"], ID["w"]))]
    result = run(rows)
    assert [(p["from"], p["to"], p["events"]) for p in result["pairs"]] == [("s", "v", 1),
                                                                          ("s", "w", 1)]


# ----------------------------------------------------------------------------------- pairs

def test_runs_gaps_zero_weeks_and_a_falling_trend():
    days = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-10", "2024-01-11", "2024-01-29"]
    rows = [row(f"{d}T12:00:00Z", platform="email" if d == "2024-01-02" else "phone",
                kind="email" if d == "2024-01-02" else "sms") for d in days]
    found = pair(run(rows), "s", "v")
    assert (found["events"], found["days"], found["span_days"]) == (6, 6, 29)
    assert (found["longest_run_days"], found["run_start"], found["run_end"]) == (
        3, "2024-01-01", "2024-01-03")
    # Gaps: 6 days (4th to 9th) and 17 days (12th to 28th).
    assert (found["longest_gap_days"], found["gap_after"], found["gap_before"]) == (
        17, "2024-01-11", "2024-01-29")
    assert found["weekly"] == [{"week_start": "2024-01-01", "events": 3},
                               {"week_start": "2024-01-08", "events": 2},
                               {"week_start": "2024-01-15", "events": 0},
                               {"week_start": "2024-01-22", "events": 0},
                               {"week_start": "2024-01-29", "events": 1}]
    assert found["by_week_platform"] == {"2024-01-01": {"email": 1, "phone": 2},
                                         "2024-01-08": {"phone": 2},
                                         "2024-01-29": {"phone": 1}}
    assert found["by_platform"] == {"email": 1, "phone": 5}
    assert found["by_kind"] == {"email": 1, "sms": 5}
    assert found["by_hour"][12] == 6 and sum(found["by_hour"]) == 6
    assert found["night_events"] == 0
    # Halves: weeks 1-2 (3, 2) and 4-5 (0, 1); slope: sum(x*c)/sum(x*x), x = -2..2: -6/10.
    assert found["trend"] == {"weeks": 5, "first_half_per_week": 2.5,
                              "second_half_per_week": 0.5, "slope_per_week": -0.6,
                              "rising": False}


def test_a_rising_trend_ties_and_consecutive_days_without_a_gap():
    # Weeks of 1, 0 and 3 events; a run of one day, then one of two.
    when = ["2024-01-02T09:00:00Z", "2024-01-15T09:00:00Z", "2024-01-16T09:00:00Z",
            "2024-01-16T10:00:00Z"]
    found = pair(run([row(w, "v", ("s",)) for w in when]), "v", "s")
    assert found["trend"] == {"weeks": 3, "first_half_per_week": 1.0,
                              "second_half_per_week": 3.0, "slope_per_week": 1.0, "rising": True}
    assert (found["longest_run_days"], found["run_start"]) == (2, "2024-01-15")
    only = pair(run([row("2024-01-02T09:00:00Z"), row("2024-01-03T09:00:00Z")]), "s", "v")
    assert (only["longest_run_days"], only["run_start"], only["run_end"]) == (
        2, "2024-01-02", "2024-01-03")
    assert (only["longest_gap_days"], only["gap_after"], only["gap_before"]) == (0, None, None)
    assert only["trend"] == {"weeks": 1, "first_half_per_week": None,
                             "second_half_per_week": None, "slope_per_week": None,
                             "rising": False}


def test_first_and_last_keep_the_rows_own_strings_and_ties_go_by_seq():
    rows = [row("2024-05-01T10:00:00.000Z", sender_id="tel:+447700900111"),
            row("2024-05-01T10:00:00Z", sender_id="tel:+447700900222"),
            row("2024-05-02T10:00:00.250Z")]
    result = run(list(reversed(rows)))       # the order rows arrive in does not matter
    found = pair(result, "s", "v")
    assert (found["first_utc"], found["last_utc"]) == ("2024-05-01T10:00:00.000Z",
                                                       "2024-05-02T10:00:00.250Z")
    hop = result["focus"][0]["channel_hopping"]["identifiers"]
    assert [i["identifier"] for i in hop[:2]] == ["tel:+447700900111", "tel:+447700900222"]
    assert result == run(rows)


# ----------------------------------------------------------------------------------- focus

def test_every_suspect_with_every_victim_even_without_traffic():
    persons = (*PERSONS, Person("s2", "suspect"), Person("v2", "victim"))
    result = run([row("2024-01-01T10:00:00Z")], persons=persons)
    assert [(f["suspect"], f["victim"]) for f in result["focus"]] == [
        ("s", "v"), ("s", "v2"), ("s2", "v"), ("s2", "v2")]
    quiet = indicators(result, "s2", "v2")
    assert quiet["fixated"]["share"] is None
    assert quiet["repeated"] == {"events": 0, "days": 0, "first_utc": None, "last_utc": None,
                                 "span_days": 0, "label": quiet["repeated"]["label"]}
    assert (quiet["obsessive"]["max_in_window"], quiet["obsessive"]["bursts"]) == (0, [])
    assert indicators(result, "s", "v2")["fixated"] == {
        **indicators(result, "s", "v2")["fixated"], "suspect_events": 1, "to_victim": 0,
        "share": 0.0}


def test_fixated_is_the_share_of_what_the_suspect_sent_and_says_so():
    rows = [row(f"2024-01-0{d}T10:00:00Z") for d in range(1, 5)]
    rows += [row("2024-01-05T10:00:00Z", to=("w",)),
             row("2024-01-06T10:00:00Z", to=(None,)),          # to someone tied to no person
             row("2024-01-07T10:00:00Z", to=("v", "w")),       # one event, to both
             row("2024-01-08T10:00:00Z", "v", ("s",))]          # received: not sent
    fixated = indicators(run(rows))["fixated"]
    assert (fixated["suspect_events"], fixated["to_victim"], fixated["share"]) == (7, 5, 0.71)
    assert "not a finding" in fixated["label"] and "these exhibits only" in fixated["label"]


def test_a_burst_of_twenty_in_forty_five_minutes():
    start = "2024-02-01T20:00:00Z"
    rows = [row(at(start, -600)), row(at(start, -300))]
    rows += [row(at(start, i * 45 / 19), kind="call" if i % 2 else "sms") for i in range(20)]
    rows += [row(at(start, 200)), row(at(start, 700))]
    obsessive = indicators(run(rows))["obsessive"]
    assert (obsessive["max_in_window"], obsessive["max_window_start_utc"]) == (20, start)
    assert obsessive["bursts"] == [{"start_utc": start, "end_utc": "2024-02-01T20:45:00Z",
                                    "events": 20, "by_kind": {"call": 10, "sms": 10}}]
    assert obsessive["bursts_total"] == 1
    assert "not a finding" in obsessive["label"]


def test_bursts_are_chosen_greedily_largest_first_and_never_share_an_event():
    start = "2024-02-01T20:00:00Z"
    minutes = [0, 30, 70, 75, 80, 85, 90, 200, 210]
    # Windows of 60 minutes: at 0 → 2 events (0, 30); at 30 → 5 (30…85); at 70 → 5 (70…90).
    # Largest first, the earliest of equals: 30…85. The window at 0 shares the event at 30 and
    # that at 70 shares four: neither is taken. Then 200, 210. Listed in time order.
    obsessive = indicators(run([row(at(start, m)) for m in minutes],
                               burst_min_events=2))["obsessive"]
    assert [(b["start_utc"], b["end_utc"], b["events"]) for b in obsessive["bursts"]] == [
        (at(start, 30), at(start, 85), 5), (at(start, 200), at(start, 210), 2)]
    assert (obsessive["max_in_window"], obsessive["bursts_total"]) == (5, 2)
    # A window is [start, start + length): an event exactly an hour later is not in it.
    edge = indicators(run([row(at(start, 0)), row(at(start, 60))], burst_min_events=2))
    assert (edge["obsessive"]["max_in_window"], edge["obsessive"]["bursts"]) == (1, [])


def test_at_most_fifty_bursts_are_listed_the_largest_and_all_are_counted():
    start = "2024-03-01T09:00:00Z"
    rows = []
    for n in range(60):   # 60 pairs of events a day apart; the 10 from day 20 on have three
        rows += [row(at(start, n * 1440)), row(at(start, n * 1440 + 5))]
        if 20 <= n < 30:
            rows.append(row(at(start, n * 1440 + 6)))
    obsessive = indicators(run(rows, burst_min_events=2))["obsessive"]
    assert obsessive["bursts_total"] == 60
    listed = obsessive["bursts"]
    assert len(listed) == 50
    assert [b["start_utc"] for b in listed] == sorted(b["start_utc"] for b in listed)
    assert sum(b["events"] == 3 for b in listed) == 10
    # Then the earliest windows of two: days 0-19 and 30-49 (days 20-29's second windows share
    # events with their windows of three).
    assert listed[-1]["start_utc"] == at(start, 49 * 1440)


def test_unwanted_after_asked_to_stop_and_a_new_identifier_after_blocked():
    new = "tel:+447700900999"
    rows = [row("2024-06-01T10:00:00Z"),
            row("2024-06-02T10:00:00Z", "v", ("s",), event_id="a" * 64),         # asked to stop
            row("2024-06-02T10:00:00Z", platform="whatsapp", sender_id="whatsapp:+447700900456",
                kind="message"),                                                 # same instant
            row("2024-06-03T10:00:00Z", platform="whatsapp", sender_id="whatsapp:+447700900456",
                kind="message"),
            row("2024-06-04T10:00:00Z", event_id="b" * 64),                      # then blocked
            row("2024-06-05T10:00:00Z", sender_id=new),
            row("2024-06-05T11:00:00Z", sender_id=new),
            row("2024-06-06T10:00:00Z")]                                          # the old number
    notes = [note("b" * 64, "blocked", "threat", seq=2),
             note("a" * 64, "asked-to-stop", seq=1, text="Please stop contacting me"),
             note("f" * 64, "changed-number", seq=3),                            # not on it
             note("c" * 64, "threat", seq=4)]                                     # not on it
    result = run(rows, annotations=notes)
    unwanted = indicators(result)["unwanted"]
    assert unwanted["marks"] == [
        {"tag": "asked-to-stop", "event_id": "a" * 64, "marked_utc": "2024-06-02T10:00:00Z",
         "by": "DC Example", "note": "Please stop contacting me", "seq": 1},
        {"tag": "blocked", "event_id": "b" * 64, "marked_utc": "2024-06-04T10:00:00Z",
         "by": "DC Example", "note": "", "seq": 2}]
    # Strictly after the first mark: not the message of the same instant.
    assert unwanted["after_first_mark"] == {"events": 5, "days": 4,
                                            "first_utc": "2024-06-03T10:00:00Z",
                                            "by_platform": {"phone": 4, "whatsapp": 1}}
    assert unwanted["new_identifiers_after_block"] == [
        {"identifier": new, "platform": "phone", "first_utc": "2024-06-05T10:00:00Z",
         "events": 2}]
    assert unwanted["marks_not_on_timeline"] == 1
    assert "not a finding" in unwanted["label"]
    assert result["annotations"] == {"entries": 2, "by_tag": {"asked-to-stop": 1, "blocked": 1,
                                                              "threat": 1},
                                     "not_on_timeline": 2}


def test_without_marks_nothing_is_measured_after_them():
    result = run([row("2024-06-01T10:00:00Z", event_id="a" * 64)],
                 annotations=[note("a" * 64, "threat")])
    unwanted = indicators(result)["unwanted"]
    assert (unwanted["marks"], unwanted["after_first_mark"],
            unwanted["new_identifiers_after_block"]) == ([], None, None)
    assert result["annotations"]["by_tag"] == {"threat": 1}


def test_a_mark_on_another_victims_event_is_that_victims():
    persons = (*PERSONS, Person("v2", "victim"))
    rows = [row("2024-06-01T10:00:00Z", "v2", ("s",), event_id="a" * 64),
            row("2024-06-01T11:00:00Z", None, (), kind="media", event_id="b" * 64),
            row("2024-06-02T10:00:00Z"), row("2024-06-02T10:00:00Z", to=("v2",))]
    result = run(rows, persons=persons,
                 annotations=[note("a" * 64, "asked-to-stop"), note("b" * 64, "blocked", seq=2)])
    assert [m["tag"] for m in indicators(result, "s", "v")["unwanted"]["marks"]] == ["blocked"]
    assert [m["tag"] for m in indicators(result, "s", "v2")["unwanted"]["marks"]] == [
        "asked-to-stop", "blocked"]


def test_repeated_counts_events_and_days():
    rows = [row("2024-07-01T08:00:00Z"), row("2024-07-01T09:00:00Z"),
            row("2024-07-04T22:30:00Z"),   # 23:30 BST, still the 4th
            row("2024-07-04T23:30:00Z")]   # 00:30 BST on the 5th
    repeated = indicators(run(rows))["repeated"]
    assert {k: v for k, v in repeated.items() if k != "label"} == {
        "events": 4, "days": 3, "first_utc": "2024-07-01T08:00:00Z",
        "last_utc": "2024-07-04T23:30:00Z", "span_days": 5}


def test_channel_hopping_lists_identifiers_and_platforms_as_they_appear():
    rows = [row("2024-08-01T10:00:00Z"),                                        # tel, phone
            row("2024-08-02T10:00:00Z", "v", ("s", "s"), platform="email", kind="email",
                to_ids=("email:s@example.net", "email:s.alt@example.net"),
                sender_id="email:v@example.org"),
            row("2024-08-03T10:00:00Z", platform="whatsapp", kind="message",
                sender_id="name:someone"),
            row("2024-08-04T10:00:00Z", platform="email", kind="email",
                sender_id="email:s@example.net", to_ids=("email:v@example.org",)),
            row("2024-08-05T10:00:00Z", None, ("s",), sender_id="tel:+447700900888"),
            row("2024-08-06T10:00:00Z", flags=("draft",), sender_id="tel:+447700900555")]
    hopping = run(rows)["focus"][0]["channel_hopping"]
    assert hopping["identifiers"] == [
        {"identifier": ID["s"], "platform": "phone", "first_utc": "2024-08-01T10:00:00Z",
         "last_utc": "2024-08-05T10:00:00Z", "events": 2},
        {"identifier": "email:s@example.net", "platform": "email",
         "first_utc": "2024-08-02T10:00:00Z", "last_utc": "2024-08-04T10:00:00Z", "events": 2},
        {"identifier": "email:s.alt@example.net", "platform": "email",
         "first_utc": "2024-08-02T10:00:00Z", "last_utc": "2024-08-02T10:00:00Z", "events": 1},
        {"identifier": "name:someone", "platform": "whatsapp",
         "first_utc": "2024-08-03T10:00:00Z", "last_utc": "2024-08-03T10:00:00Z", "events": 1}]
    assert hopping["platforms"] == [
        {"platform": "phone", "first_utc": "2024-08-01T10:00:00Z", "events": 2},
        {"platform": "email", "first_utc": "2024-08-02T10:00:00Z", "events": 2},
        {"platform": "whatsapp", "first_utc": "2024-08-03T10:00:00Z", "events": 1}]


# --------------------------------------------------------------------------- the whole dict

def test_an_empty_timeline():
    result = run([], annotations=[note("a" * 64, "blocked")])
    assert result["pairs"] == []
    assert result["zone"] == ZONE and result["night_hours"] == [22, 6]
    assert result["burst"] == {"window_min": 60, "min_events": 10}
    assert result["annotations"] == {"entries": 0, "by_tag": {}, "not_on_timeline": 1}
    focus = indicators(result)
    assert focus["fixated"]["suspect_events"] == 0
    assert focus["unwanted"]["marks_not_on_timeline"] == 1
    assert result["focus"][0]["channel_hopping"] == {"identifiers": [], "platforms": []}
    assert analyse([], zone=ZONE, persons=())["focus"] == []


def test_the_same_rows_give_the_same_bytes_and_plain_json():
    generator = random.Random(7)
    rows = []
    for n in range(400):
        who = generator.choice(["s", "v", "w", None])
        to = generator.choice([("v",), ("s",), ("w", "v"), (None,)])
        rows.append(row(at("2024-09-01T00:00:00Z", n * 97), who, to,
                        platform=generator.choice(["phone", "email", "whatsapp"])))
    notes = [note(rows[50]["event_id"], "asked-to-stop"), note(rows[90]["event_id"], "blocked")]
    first = json.dumps(run(rows, annotations=notes, burst_min_events=2), sort_keys=True,
                       allow_nan=False)
    generator.shuffle(rows)
    second = json.dumps(run(rows, annotations=notes, burst_min_events=2), sort_keys=True,
                        allow_nan=False)
    assert first == second


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        run([], night_hours=(22, 24))
    with pytest.raises(ValueError):
        run([], burst_window_min=0)


def test_the_demo_timeline_agrees_with_its_conduct_figures(built_demo):
    from courseline.annotations import AnnotationLog
    from courseline.casefile import load_case

    case = load_case(built_demo)
    notes = AnnotationLog(built_demo).entries()
    out = built_demo / "out"
    with (out / "timeline.jsonl").open(encoding="utf-8") as handle:
        result = analyse((json.loads(line) for line in handle), zone=case.info.timezone,
                         persons=case.persons, annotations=notes)
    json.dumps(result, allow_nan=False)
    conduct = json.loads((out / "conduct.json").read_text(encoding="utf-8"))
    keys = ("from", "to", "events", "days", "first_utc", "last_utc", "by_platform", "by_kind")
    assert [{k: p[k] for k in keys} for p in result["pairs"]] == [
        {k: p[k] for k in keys} for p in conduct["pairs"]]
    suspect_to_victim = pair(result, "suspect", "victim")
    focus = indicators(result, "suspect", "victim")
    assert focus["fixated"]["to_victim"] == suspect_to_victim["events"] == \
        focus["repeated"]["events"]
    assert sum(suspect_to_victim["by_hour"]) == suspect_to_victim["events"]
    identifiers = [i["identifier"] for i in result["focus"][0]["channel_hopping"]["identifiers"]]
    assert identifiers[:2] == ["email:chris.walker@example.net", "tel:+447700900456"]
    # Every annotation of the demo is on its timeline; its marks are listed in time order.
    assert result["annotations"]["entries"] == len(notes)
    marks = focus["unwanted"]["marks"]
    assert len(marks) == sum(tag in ("asked-to-stop", "blocked", "changed-number")
                             for n in notes for tag in n.tags)
    if marks:
        assert focus["unwanted"]["after_first_mark"] is not None
