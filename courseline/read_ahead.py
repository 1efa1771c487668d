"""Reading small files while the export they belong to is still being collected.

A camera roll is thousands of small files, and collecting one (hashing it, copying it into the
evidence store, identifying it) costs about as much as reading it. So, once an export has shown
that it holds many small files, a worker process reads each one soon after it is collected, on
another processor, while this process collects the next; where the worker falls behind, this
process reads some itself, from the other end. What was read is held here until the parse stage,
which stores it in the order of the case, in the same transaction and with the same audit entry
as a file it reads itself: the case database cannot tell the difference.

What is read ahead is only ever a head start, never a different reading:

* a parser that asks for another file of the export (a database's write-ahead log, a chat's
  media) is not taken from here: the export was not complete when it was read, so the parse
  stage reads it again;
* a reading is taken only under the parse key it was read with (parser, version, settings);
* SQLite files and files of 1 MiB or more are not read ahead, nor is anything once what is held
  reaches ``MAX_HELD_BYTES``, or after a worker failed (killed, or a parser's error: the parse
  stage meets that error where a build in one process would). The parse stage reads them.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from courseline.reading import ReadJob, ReadOutcome, read_rows, worker_pool
from courseline.timeline.records import SourceSettings

MIN_FILES = 400
"""A worker is started once an export has offered this many small files: it takes a fraction of
a second to start, which fewer files would not repay."""

BATCH_FILES = 50
"""Files sent to the worker at a time: enough to make sending them cheap, few enough that it
never waits long for the next."""

MAX_HELD_BYTES = 64 * 1024 * 1024
"""Rows held until the parse stage stops here (about 40,000 photos); the rest is read then."""

MAX_WAITING_BATCHES = 4
"""Batches that may wait for each worker; beyond that, this process reads one itself."""


@dataclass
class Held:
    """One source read ahead: its outcome and rows, read under ``key``."""

    key: str
    settings: SourceSettings
    outcome: ReadOutcome
    events: list[tuple]
    rejects: list[tuple]


Batch = list[tuple[int, str, ReadJob]]   # (source id, parse key, job) of each file


class ReadAhead:
    """Small files offered as they are collected, read by ``workers`` processes (none: off).

    Each worker has at most two batches at a time; the others wait here. When more wait than
    ``MAX_WAITING_BATCHES`` (the workers are slower than collecting), and once collection is
    over, this process reads waiting batches itself, taking them from the last while the workers
    take them from the first."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._offered = 0
        self._filling: Batch = []
        self._waiting: deque[Batch] = deque()
        self._sent: deque[tuple[Batch, Future]] = deque()
        self._held: dict[int, Held] = {}
        self._held_bytes = 0
        self._stopped = workers < 1
        self._stack = ExitStack()
        self._pool: Any = None

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def offer(self, source_id: int, key: str, job: ReadJob) -> None:
        """A small file just collected (its row in the case database is ``source_id``)."""
        if self._stopped:
            return
        self._offered += 1
        self._filling.append((source_id, key, job))
        if len(self._filling) >= BATCH_FILES:
            self._waiting.append(self._filling)
            self._filling = []
        if self._pool is None and self._offered >= MIN_FILES:
            self._pool = self._stack.enter_context(worker_pool(self._workers))
        if self._pool is not None:
            self._keep_going()
            if len(self._waiting) > MAX_WAITING_BATCHES * self._workers:
                self._read_here(self._waiting.pop())

    def finish(self) -> None:
        """Collection is over: read what is left from both ends, then let the workers go.
        Files offered before any worker started are left for the parse stage."""
        if self._pool is not None:
            if self._filling:
                self._waiting.append(self._filling)
                self._filling = []
            while not self._stopped and (self._waiting or self._sent):
                self._keep_going()
                if self._waiting:
                    self._read_here(self._waiting.pop())
                elif self._sent:
                    self._gather(wait=True)
        self._stack.close()
        self._pool = None
        self._filling, self._waiting = [], deque()

    def take(self, source_id: int, key: str) -> Held | None:
        """What was read ahead of this source under this parse key, or None: read it now."""
        held = self._held.pop(source_id, None)
        return held if held is not None and held.key == key else None

    def _keep_going(self) -> None:
        """Hold what the workers have read; give each up to two batches."""
        self._gather(wait=False)
        while not self._stopped and self._waiting and len(self._sent) < 2 * self._workers:
            batch = self._waiting.popleft()
            try:
                future = self._pool.submit(read_rows, [job for _, _, job in batch])
            except BrokenProcessPool:
                self._stop()
                return
            self._sent.append((batch, future))

    def _read_here(self, batch: Batch) -> None:
        try:
            read = read_rows([job for _, _, job in batch])
        except Exception:   # noqa: BLE001 - a parser's error: the parse stage meets it again
            self._stop()
            return
        self._hold(batch, read)

    def _gather(self, wait: bool) -> None:
        """Hold what the workers have read: the first batch sent, and any done after it."""
        while self._sent and (wait or self._sent[0][1].done()):
            batch, future = self._sent.popleft()
            wait = False
            try:
                read = future.result()
            except Exception:   # noqa: BLE001 - a worker killed (out of memory, a signal), or a
                # parser's error: never the collection's. The parse stage reads these files and
                # meets the error where a build with one process would.
                self._stop()
                return
            self._hold(batch, read)

    def _hold(self, batch: Batch, read: list[tuple[ReadOutcome, list[tuple], list[tuple]]]
              ) -> None:
        for (source_id, key, job), (outcome, events, rejects) in zip(batch, read, strict=True):
            if outcome.looked_beside:
                continue
            self._held[source_id] = Held(key, job.settings, outcome, events, rejects)
            self._held_bytes += (sum(len(row[5]) + len(row[6]) for row in events)
                                 + sum(len(row[1]) + len(row[2]) for row in rejects))
        if self._held_bytes >= MAX_HELD_BYTES:
            self._stop()

    def _stop(self) -> None:
        """Read no more ahead; what is held stays held."""
        self._stopped = True
        self._filling, self._waiting = [], deque()
        self._sent.clear()
