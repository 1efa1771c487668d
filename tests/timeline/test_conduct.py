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
