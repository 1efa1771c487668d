"""Rendering the report from the sealed outputs, with the templates in ``report_templates/``.

Everything shown comes from ``out/`` (timeline, manifest, conduct) and the case file, so the report
can be made again from them and compared (``courseline verify`` does); every value is
escaped by Jinja2's autoescape, and a Content-Security-Policy forbids scripts, fetches and any
resource not in the file. The chronology is streamed from ``timeline.jsonl`` to the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from courseline import __version__
from courseline.casefile import Case
from courseline.timeline.conduct import order_label
from courseline.timeline.seal import read_timeline
from courseline.timeline.timeutil import civil_time, format_utc

EXCERPT_CHARS = 2_000


def _environment() -> Environment:
    return Environment(loader=PackageLoader("courseline.report_templates", ""),
                       autoescape=select_autoescape(["html", "j2"], default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _css(seal: str) -> str:
    """The style sheet, with the seal in every printed page's margin (it is hex: safe in CSS)."""
    css = resources.files("courseline.report_templates").joinpath("report.css").read_text("utf-8")
    return css + ('@page { @bottom-center { content: "Seal (SHA-256 chain) %s \\B7  page " '
                  'counter(page) " of " counter(pages); } }\n' % seal)


def content_security_policy(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; "
            f"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _local(zone: str):
    def local(utc: str | None) -> str:
        return civil_time(utc, zone) if utc else "—"
    return local


def render_report(case: Case, out_dir: Path) -> Path:
    """Write ``out_dir/report.html`` from the sealed outputs in ``out_dir`` and the case file."""
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    conduct = json.loads((out_dir / "conduct.json").read_text(encoding="utf-8"))
    zone = case.info.timezone
    local = _local(zone)
    labels = {p.key: f"{p.name} ({p.role})" for p in case.persons}
    sources = manifest["sources"]
    breaches: dict[str, int] = conduct["breach_counts"]
    orders = []
    for index, order in enumerate(case.orders):
        label = order_label(order, index)
        orders.append({
            "label": label, "kind": order.kind, "protects": order.protects,
            "against": order.against, "served_local": civil_time(format_utc(order.served, "s"), zone),
            "expires_local": civil_time(format_utc(order.expires, "s"), zone) if order.expires else None,
            "terms": order.terms, "breach_count": breaches.get(label, 0)})
    css = _css(manifest["seal"]["value"])
    template = _environment().get_template("report.html.j2")
    stream = template.generate(
        case={"reference": case.info.reference, "examiner": case.info.examiner, "timezone": zone},
        version=__version__, css=Markup(css), csp=content_security_policy(css),
        seal=manifest["seal"], counts={
            "files": len(sources), "exhibits": len({s["exhibit"] for s in sources}),
            "merged": sum(s["merged"] for s in sources),
            "rejected": sum(s["rejected"] for s in sources)},
        span=_span(out_dir / "timeline.jsonl", local), conduct=conduct,
        unknown=manifest["unknown_identifiers"], persons=case.persons, orders=orders,
        sources=sources, refused=manifest["refused"],
        rows=read_timeline(out_dir / "timeline.jsonl"), excerpt_chars=EXCERPT_CHARS,
        local=local, person_label=lambda key: labels.get(key, key),
    )
    target = out_dir / "report.html"
    partial = target.with_name("report.html.partial")
    with partial.open("w", encoding="utf-8", newline="\n") as handle:
        for chunk in stream:
            handle.write(chunk)
    partial.replace(target)
    return target





def _span(path: Path, local) -> dict[str, Any] | None:
    first = last = None
    for row in read_timeline(path):
        if row["occurred_utc"] is None:
            break   # the undated records come last
        first = first or row["occurred_utc"]
        last = row["occurred_utc"]
    return {"first": local(first), "last": local(last)} if first else None
