from datetime import datetime, timezone

from courseline.casefile import Order
from courseline.timeline.conduct import ConductAccumulator


def row(when: str, sender: str, to: str, event_id: str) -> dict:
    return {"occurred_utc": when, "sender": f"email:{sender}@example.net",
            "sender_person": sender, "recipients": [f"email:{to}@example.org"],
            "recipient_persons": [to], "platform": "email", "kind": "email", "event_id": event_id}


def test_breaches_are_counted_per_order_even_without_references():
    served = datetime(2024, 1, 1, tzinfo=timezone.utc)
    orders = [Order("spo", "", "victim", "suspect", served, None, True, ()),
              Order("spo", "", "sister", "suspect", served, None, True, ())]
    conduct = ConductAccumulator("Europe/London", ["victim"], orders)
    conduct.add(row("2023-12-31T23:00:00Z", "suspect", "victim", "a"))  # before service
    conduct.add(row("2024-01-02T10:00:00Z", "suspect", "victim", "b"))
    conduct.add(row("2024-01-03T10:00:00Z", "suspect", "victim", "c"))
    conduct.add(row("2024-01-04T10:00:00Z", "suspect", "sister", "d"))
    result = conduct.conduct()
    assert result["breach_counts"] == {"spo (order 1 in the case file)": 2,
                                       "spo (order 2 in the case file)": 1}
    assert result["repeated_breaches"] == ["spo (order 1 in the case file)"]
    # Under each order, contact with anyone but the protected person is possible indirect contact.
    assert [(i["order"][:12], i["event_id"]) for i in result["possible_indirect_contact"]] == [
        ("spo (order 2", "b"), ("spo (order 2", "c"), ("spo (order 1", "d")]
    pair = next(p for p in result["pairs"] if p["to"] == "victim")
    assert (pair["events"], pair["days"]) == (3, 3)


def test_figures_gathered_in_stretches_add_up_to_the_whole(built_demo):
    """The timeline is written in stretches by several processes; their figures, joined in
    order, are those of one pass over the whole timeline."""
    import json

    from courseline.casefile import load_case

    case = load_case(built_demo)
    victims = [p.key for p in case.persons if p.role == "victim"]
    rows = [json.loads(line) for line in
            (built_demo / "out" / "timeline.jsonl").read_text(encoding="utf-8").splitlines()]
    whole = ConductAccumulator("Europe/London", victims, case.orders)
    for item in rows:
        whole.add(item)
    for cuts in ([10], [1, 2, 30], [25, 26]):
        parts = []
        for start, end in zip([0, *cuts], [*cuts, len(rows)], strict=True):
            part = ConductAccumulator("Europe/London", victims, case.orders)
            for item in rows[start:end]:
                part.add(item)
            parts.append(part)
        joined = parts[0]
        for part in parts[1:]:
            joined.extend(part)
        assert joined.conduct() == whole.conduct()
        assert joined.unknown_identifiers() == whole.unknown_identifiers()


def test_events_within_a_places_radius_are_listed_under_it():
    from courseline.casefile import Place
    from courseline.timeline.conduct import distance_m

    home = Place("Person A's home", 51.5007, -0.1246, 200)
    # 0.001 degree of latitude is about 111 m; of longitude at 51.5 N about 69 m.
    assert round(distance_m(51.5007, -0.1246, 51.5017, -0.1246)) == 111
    conduct = ConductAccumulator("Europe/London", ["victim"], [], [home])
    base = {"kind": "location", "platform": "device", "sender_person": None, "sender": None,
            "recipients": [], "recipient_persons": [],
            "provenance": [{"exhibit": "AO/3"}, {"exhibit": "AO/2"}]}
    near = {**base, "event_id": "n", "seq": 1, "occurred_utc": "2024-03-02T02:10:00Z",
            "location": {"lat": 51.5017, "lon": -0.1246, "accuracy_m": 20.0, "basis": "gps"}}
    far = {**base, "event_id": "f", "seq": 2, "occurred_utc": "2024-03-02T03:10:00Z",
           "location": {"lat": 51.5107, "lon": -0.1246, "accuracy_m": None, "basis": "gps"}}
    nowhere = {**base, "event_id": "x", "seq": 3, "occurred_utc": "2024-03-02T04:10:00Z",
               "location": None}
    for item in (near, far, nowhere):
        conduct.add(item)
    (place,) = conduct.conduct()["places"]
    assert (place["place"], place["events"], place["radius_m"]) == ("Person A's home", 1, 200)
    assert place["near"] == [{"event_id": "n", "seq": 1, "occurred_utc": "2024-03-02T02:10:00Z",
                              "kind": "location", "platform": "device", "distance_m": 111,
                              "accuracy_m": 20.0, "exhibits": ["AO/2", "AO/3"]}]
