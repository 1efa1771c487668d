"""``--format jsonl``: the sealed ``timeline.jsonl`` itself, copied line by line as each line's
chain is checked (no second way of writing the timeline: the bytes are the build's)."""

from __future__ import annotations

from pathlib import Path

from courseline.export import SealedTimeline


def write(sealed: SealedTimeline, target: Path) -> None:
    with target.open("wb") as handle:
        for line, _ in sealed.lines():
            handle.write(line)
