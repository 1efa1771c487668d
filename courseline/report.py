"""Rendering the report from the sealed outputs, with the templates in ``report_templates/``.

Everything shown comes from ``out/`` (timeline, manifest, conduct) and the case file; every value is
escaped by Jinja2's autoescape, and a Content-Security-Policy forbids scripts, fetches and any
resource not in the file. The chronology is streamed from ``timeline.jsonl`` to the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from courseline import __version__
from courseline.pipeline import BuildResult, CasePipeline
from courseline.timeline.seal import read_timeline
from courseline.timeline.timeutil import civil_time

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


def _merged_per_source(pipeline: CasePipeline) -> dict[tuple[str, str], int]:
    rows = pipeline.db.conn.execute(
        "SELECT s.sha256, s.case_path, COUNT(*) FROM merges m JOIN events e ON e.id = m.absorbed "
        "JOIN sources s ON s.id = e.source_id GROUP BY s.sha256, s.case_path")
    return {(sha, path): n for sha, path, n in rows}


def render_report(pipeline: CasePipeline, result: BuildResult) -> Path:
    case = pipeline.case
    out_dir = result.out_dir
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    conduct = json.loads((out_dir / "conduct.json").read_text(encoding="utf-8"))
    zone = case.info.timezone
    local = _local(zone)
    labels = {p.key: f"{p.name} ({p.role})" for p in case.persons}
    merged = _merged_per_source(pipeline)
    sources = [{**s, "merged": merged.get((s["sha256"], s["path"]), 0)} for s in manifest["sources"]]
    breaches: dict[str, int] = conduct["breach_counts"]
    orders = [{
        "kind": o.kind, "reference": o.reference, "protects": o.protects, "against": o.against,
        "served_local": civil_time(_utc(o.served), zone),
        "expires_local": civil_time(_utc(o.expires), zone) if o.expires else None,
        "terms": o.terms, "breach_count": breaches.get(o.reference or o.kind, 0),
    } for o in case.orders]
    span = _span(out_dir / "timeline.jsonl", local)
    css = _css(manifest["seal"]["value"])
    template = _environment().get_template("report.html.j2")
    stream = template.generate(
        case={"reference": case.info.reference, "examiner": case.info.examiner, "timezone": zone},
        version=__version__, css=Markup(css), csp=content_security_policy(css),
        seal=manifest["seal"], counts={
            "files": len(sources), "exhibits": len({s["exhibit"] for s in sources}),
            "merged": result.merged, "rejected": result.rejected},
        span=span, conduct=conduct, unknown=manifest["unknown_identifiers"],
        persons=case.persons, orders=orders, sources=sources, refused=manifest["refused"],
        rows=read_timeline(out_dir / "timeline.jsonl"), excerpt_chars=EXCERPT_CHARS,
        local=local, person_label=lambda key: labels.get(key, key),
    )
    target = out_dir / "report.html"
    partial = target.with_name("report.html.partial")
    with partial.open("w", encoding="utf-8", newline="\n") as handle:
        for chunk in stream:
            handle.write(chunk)
    partial.replace(target)
    pipeline.db.audit("report", pipeline.examiner, parameters={"seal": manifest["seal"]["value"]},
                      outputs=[{"path": "out/report.html",
                                "sha256": hashlib.sha256(target.read_bytes()).hexdigest()}])
    return target


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(path: Path, local) -> dict[str, Any] | None:
    first = last = None
    for row in read_timeline(path):
        first = first or row["occurred_utc"]
        last = row["occurred_utc"]
    return {"first": local(first), "last": local(last)} if first else None
