"""``--format parquet``: the timeline with typed columns, for pandas, DuckDB and Spark.

Every field of every row, one column each (:data:`COLUMNS`): instants as ``timestamp[us,
tz=UTC]`` (``occurred_utc``, ``time_uncorrected_utc``, and ``time_readings`` as a list of them),
counts as ``int64``, lists of words or identifiers as ``list<string>``, and the objects whose keys
come from the source (``details``, ``location``, ``attachments``, ``provenance``) as canonical
JSON text (DuckDB: ``json_extract``). Nothing is lost: :func:`timeline_rows` gives back the sealed
rows, and the seal is recomputed from them. A time is written back as text at the row's
``precision`` (``format_utc``), so each instant is checked on the way in to give its text again.

The file's key-value metadata ``courseline`` holds the seal, the event count and the case
reference. The same sealed timeline gives the same bytes: the columns, their order, the row
groups (:data:`ROW_GROUP_ROWS`) and the compression are fixed, and the writer records only its
own version (``created_by``), no time; another pyarrow or zstd version may write other bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from courseline.export import ExportError, SealedTimeline, made_by
from courseline.timeline.event import canonical_json, read_json
from courseline.timeline.timeutil import format_utc, parse_utc

_TIME = pa.timestamp("us", tz="UTC")
_WORDS = pa.list_(pa.string())
_JSON = pa.string()
COLUMNS: dict[str, pa.DataType] = {
    "seq": pa.int64(), "event_id": pa.string(), "occurred_utc": _TIME,
    "precision": pa.string(), "time_basis": pa.string(), "time_raw": pa.string(),
    "time_source": pa.string(), "time_zone": pa.string(), "time_flags": _WORDS,
    "time_readings": pa.list_(_TIME), "time_uncorrected_utc": _TIME,
    "kind": pa.string(), "platform": pa.string(), "direction": pa.string(),
    "direction_basis": pa.string(), "owner_side": pa.string(),
    "sender": pa.string(), "sender_person": pa.string(), "recipients": _WORDS,
    "recipient_persons": _WORDS, "subject": pa.string(), "text": pa.string(),
    "call_status": pa.string(), "duration_s": pa.int64(), "attachments": _JSON,
    "location": _JSON, "flags": _WORDS, "notes": _WORDS, "details": _JSON,
    "provenance": _JSON, "chain": pa.string(),
}
JSON_TEXT = frozenset({"attachments", "details", "location", "provenance"})
INSTANTS = frozenset({"occurred_utc", "time_uncorrected_utc"})
INSTANT_LISTS = frozenset({"time_readings"})
ROW_GROUP_ROWS = 65_536
COMPRESSION = "zstd"


def schema(sealed: SealedTimeline) -> pa.Schema:
    about = {"seal": sealed.seal, "events": sealed.events, "case_reference": sealed.reference,
             "made_by": made_by(), "json_text": sorted(JSON_TEXT)}
    return pa.schema([pa.field(name, kind) for name, kind in COLUMNS.items()],
                     metadata={"courseline": json.dumps(about, sort_keys=True)})


def write(sealed: SealedTimeline, target: Path) -> None:
    table_schema = schema(sealed)
    with pq.ParquetWriter(target, table_schema, compression=COMPRESSION,
                          use_dictionary=True, write_statistics=True) as writer:
        batch: list[dict[str, Any]] = []
        for row in sealed.rows():
            batch.append(row)
            if len(batch) == ROW_GROUP_ROWS:
                writer.write_table(_table(batch, table_schema), row_group_size=ROW_GROUP_ROWS)
                batch = []
        if batch:
            writer.write_table(_table(batch, table_schema), row_group_size=ROW_GROUP_ROWS)


def _table(rows: list[dict[str, Any]], table_schema: pa.Schema) -> pa.Table:
    for row in rows:
        if row.keys() != COLUMNS.keys():
            unknown = sorted(set(row) ^ set(COLUMNS))
            raise ExportError(f"row {row.get('seq')} has fields the Parquet export does not type "
                              f"({', '.join(unknown)}): a courseline fault, please report it")
    columns = {name: [_typed(name, row[name], row) for row in rows] for name in COLUMNS}
    return pa.Table.from_pydict(columns, schema=table_schema)


def _typed(name: str, value: Any, row: dict[str, Any]) -> Any:
    if name in JSON_TEXT:
        return None if value is None else canonical_json(value)
    if name in INSTANTS:
        return _instant(value, row)
    if name in INSTANT_LISTS:
        return [_instant(text, row) for text in value]
    return value


def _instant(text: str | None, row: dict[str, Any]) -> datetime | None:
    """A UTC time as an instant, checked to be written back as the same text."""
    if text is None:
        return None
    moment = parse_utc(text)
    if format_utc(moment, row["precision"]) != text:
        raise ExportError(f"row {row['seq']}: the time {text!r} would not be read back as written "
                          f"at precision {row['precision']!r}: a courseline fault, please report it")
    return moment


def timeline_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The timeline rows a Parquet export holds, as ``timeline.jsonl`` has them (the inverse of
    :func:`write`), in order."""
    for batch in pq.ParquetFile(path).iter_batches():
        for item in batch.to_pylist():
            precision = item["precision"]
            for name in INSTANTS:
                if item[name] is not None:
                    item[name] = format_utc(item[name], precision)
            for name in INSTANT_LISTS:
                item[name] = [format_utc(moment, precision) for moment in item[name]]
            for name in JSON_TEXT:
                if item[name] is not None:
                    item[name] = read_json(item[name])
            yield item
