"""The batch pipeline: read → parse → (classify) → sinks, one Arrow batch at a time.

**What a batch is.** An :class:`EventBatch`: ``table``, a :class:`pyarrow.Table` with exactly the columns of
:data:`analyzer.schema.SCHEMA` (plus :data:`analyzer.schema.CLASS_SCHEMA`'s columns when the stream classifies;
only those of ``EventStream.columns`` when a consumer names the few it reads), rows in file order; and ``counts``,
the :class:`analyzer.parsers.LineCounts` of the lines that batch came from (lines read, events, foreign,
unrecognised by kind with samples ...). ``source`` names the input. Batches of one input come in line order,
inputs in the order :func:`analyzer.sources.expand_inputs` gives (rotated sets oldest first); an empty ``table``
with non-zero ``counts`` is a valid batch.

A batch holds the lines of one *block* of its input: the lines between the last newlines before two multiples of
:data:`analyzer.sources.BLOCK_BYTES` (4 MiB, ~28,000 Postfix lines). The cuts depend only on the bytes, so a file
read whole, read as ranges by worker processes, or decompressed on the fly gives the same batches, and every
result that depends on batching (the per-batch attribution of :class:`Classifier`) is the same with any number of
workers. (``batch_lines=N`` cuts every ~N lines instead: tests that split a day at awkward places.)

**Who produces batches.** :class:`EventStream` (and its generator form :func:`iter_event_batches`): today the
pure-Python parser (:mod:`analyzer.parsers`) turns each batch of raw lines from :mod:`analyzer.sources` into an
event batch. A native parser plugs in as another *producer*: anything callable as ``produce(lines, first_line,
ctx) -> (table, counts)`` with the same schema may replace :func:`analyzer.parsers.parse_batch`
(``EventStream(producer=…)``). A producer takes the year of yearless stamps from ``ctx.headers.clock.years(months,
days)`` and counts the header flavours it matched in ``ctx.headers.counts`` (as ``parse_batch`` does): that is the
state that carries from batch to batch.

**Both cores.** With ``workers`` > 1 (default ``$MAILLENS_WORKERS``, else the cores), an input of two blocks or
more (a compressed one from 512 KiB, stdin always) is parsed block by block in forked worker processes
(:mod:`analyzer.parallel`), each running the producer (and the classifier, when nothing downstream needs the
unclassified table; a classifier that carries state across batches has its answers per key made there from
:data:`ANSWER_IN_WORKERS` workers on — ``EventBatch.answered``: only its attribution is left, made in order here;
else the worker computes the rows' classification keys, :func:`analyzer.class_cache.class_key`) and sending back
Arrow IPC (a file in shared memory that the main process maps, where there is /dev/shm); the stream takes the
results in order, checks each block's guessed starting state (year, header flavour) against the true one and
parses a block again in-process when the guess was wrong. The batches are then made (taken, classified) on a
thread, up to :data:`AHEAD` batches ahead of the consumer. Compressed input is decompressed on a thread of its own
(:func:`analyzer.sources.iter_blocks`).

Across batches the stream keeps: the year carry-over of yearless stamps (one
:class:`~analyzer.parsers.FileContext` per input), and the merging of lines that a secondary log repeats (Exim's
rejectlog, syslog's mail.warn/mail.err copies of mail.log): the secondary inputs of a run are parsed first and
held (they are small); each primary batch marks which of their events it has; the secondary inputs' batches are
emitted, minus those events, after the last primary batch (``EventBatch.index`` keeps each batch's place in the
input order, which :func:`analyzer.reader.collect` restores). Memory is bounded by the batch size and the
secondary logs, never by the primary logs' length. One exception: when the inputs hold more than one set of files
(``mail.log*`` and ``other/mail.log*``), one set may be a copy of another in different stamps
(:mod:`analyzer.overlap`), which only the whole table tells: such runs are held whole.

**Who consumes batches.** Sinks (:mod:`analyzer.sinks`): the Parquet/CSV/JSON-lines writers of ``parse -o``, the
summary fold of ``parse``, the report and weekly folds; and :func:`analyzer.reader.parse_logs`, which collects
them into one table for the library API. Classification (:class:`Classifier`, :mod:`analyzer.class_cache`) sits
between producer and sinks and keeps a cache of answers keyed by the distinct classification key, shared across
batches: its cost grows with the keys it has not seen, not with the rows.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from . import parallel, parallel_threads
from .ahead import run_ahead
from .class_cache import CLASS_KEY, Classifier
from .parsers import FileContext, LineCounts, split_batch
from .parsers.syslog import Clock, HeaderState
from .rowhash import content_hash, row_hash  # noqa: F401  (row_hash: analyzer.narrow imports it here)
from .schema import SCHEMA, to_pandas
from .sources import BLOCK_BYTES, Input, is_plain_file, iter_batches, iter_blocks, plan_blocks, read_range, rotation_key

__all__ = ["CLASS_KEY", "Classifier", "EventBatch", "EventStream", "FileSummary", "classify_grouped", "is_secondary",
           "iter_event_batches"]

#: Worker processes that parse the blocks of big inputs: $MAILLENS_WORKERS, else the cores.
WORKERS = parallel.default_workers()
#: Batches are blocks of :data:`analyzer.sources.BLOCK_BYTES` (~28,000 lines): one batch costs
#: ~3 KiB of Arrow working memory per line while it is matched, so a run's peak memory stays flat
#: (bench/bench_pipeline.py measures it). ``batch_lines`` (tests) cuts by lines instead.
STREAM_BATCH_LINES: int | None = None
STREAM_WORKERS = 0  # WORKERS, read when a stream opens
_POOL = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 1)), thread_name_prefix="maillens-parse")
#: An uncompressed file is parsed in worker processes from this many blocks on (a compressed
#: one from an eighth of a block of compressed bytes; stdin always): below, forking costs more.
PARALLEL_MIN_BLOCKS = 2
#: Consecutive batches are classified together up to this many events (five or six batches):
#: a call for the new keys costs ~0.05 CPU-s whatever its size (each rule's pattern is compiled
#: per call), so fewer, bigger calls cost less; the batches wait for it (on the 1M-line Postfix
#: day 160k rows cost ~30 MiB more than 80k and save ~0.3 CPU-s; bench/bench_native.py).
CLASSIFY_ROWS = 160_000
#: ... the first call from this many (about one block), each next call's limit doubled up to
#: CLASSIFY_ROWS: the first batches reach the consumer (report's fold, the Parquet writer) while the
#: workers parse, not after six blocks and the classifier's warm-up; a 1M-line day: 1-2 more calls
CLASSIFY_FIRST_ROWS = 25_000
#: Batches made ahead of the consumer, on a thread (with workers > 1; EventStream.ahead)
AHEAD = 2
#: Blocks handed to the worker processes and not yet taken, per worker (on threads, EventStream.lean: 1)
PENDING_PER_WORKER = 2
#: Batches taken from the workers ahead of the classification (EventStream.results_ahead's default):
#: the workers' results are taken, and the next blocks handed out, on a thread of their own
#: (``maillens-results``), so that the workers do not wait while a classify call runs (r17-pout:
#: they did, 0.1-0.5 CPU-s of a 1M-line day with one core idle); 0: on the batches thread
RESULTS_AHEAD = 4
#: From this many worker processes on, a classifier that carries state from batch to batch
#: (:class:`analyzer.classify_stream.StreamClassifier`) has its answers per key made in the workers
#: (``by_key``, a cache in each) and only attributes here. Below, it classifies here: on two cores
#: it costs the workers ~1.0 CPU-s per 1M Postfix lines (a call for new keys costs ~10 ms whatever
#: its size, and each worker meets most keys: 35 calls instead of 6) to save the main process ~0.5
#: (bench/RESULTS.md, r8-stream); with spare cores the main process is the one to relieve.
ANSWER_IN_WORKERS = 3

#: Files that repeat lines another file of the same set already has: Exim's rejectlog (every
#: rejection is also in the mainlog) and syslog's per-severity copies (Debian's rsyslog writes
#: mail.warn and mail.err lines to mail.log too).
_SECONDARY = re.compile(r"(?:rejectlog|(?:^|[./_-])mail\.(?:warn|err|info|crit|notice))", re.IGNORECASE)


@dataclass
class FileSummary:
    name: str
    lines: int
    events: int
    flavour: str | None
    not_mail: int = 0  # lines with no header, or from programs other than Postfix/Exim


@dataclass
class EventBatch:
    """One batch: events (the event schema, classified or not) and what became of its lines."""

    table: pa.Table
    counts: LineCounts
    source: str
    index: int = 0  # position of the input in the run's input order
    classified: bool = False  # the producer's worker already classified it
    keys: Any = None  # the rows' classification keys (an array, or class_cache.Groups), when a worker computed them
    answered: bool = False  # a worker added the answers per key; the stream's attribution is still to do


def is_secondary(name: str) -> bool:
    """Whether an input repeats lines of another (rejectlog, mail.warn, mail.err ...)."""
    return bool(_SECONDARY.search(os.path.basename(name)))


Producer = Callable[[list[str], int, FileContext], tuple[pa.Table, LineCounts]]


@dataclass
class EventStream:
    """The event batches of some inputs; iterate once. After iteration ``files``, ``counts`` and
    ``warnings`` hold the run's totals."""

    inputs: list[Input]
    year: int | None = None
    tz: str = "UTC"
    fmt: str = "auto"
    now: dt.datetime | None = None
    batch_lines: int | None = None  # None: batches are blocks of block_bytes
    classifier: Classifier | None = None
    progress: Callable[[int, int], None] | None = None
    producer: Producer | None = None  # None: the Python parser, split/finish on worker threads
    workers: int = 0  # processes for big inputs (analyzer.parallel); 1: none; 0: WORKERS
    block_bytes: int = BLOCK_BYTES
    classify_rows: int = 0  # batches classified together up to this many rows (0: CLASSIFY_ROWS)
    ahead: bool = True  # with workers > 1: batches made on a thread, ahead of the consumer (see __iter__)
    #: with workers > 1 and ``ahead``: batches taken from the workers up to this many ahead of
    #: the classification, on a thread of their own (:data:`RESULTS_AHEAD`); None: that many
    #: when the classification is made in this process, the consumer takes whole batches
    #: (``columns`` None: ``parse -o``) and the inputs are plain files, else 0 (the report and
    #: summary keep their memory; a SIGTERM's stop waits for a blocked reader one thread deep)
    results_ahead: int | None = None
    block_threads: bool = False  # blocks on threads of this process where they may (analyzer.parallel_threads)
    lean: bool = False  # blocks on threads: one pending per thread, the heap trimmed (parallel.TRIM_BLOCKS)
    paced: bool = False  # a consumer slower than the parse (text outputs): AHEAD and RESULTS_AHEAD 1
    #: the only columns the consumer (and the classifier) reads, or None: all. Batches then have
    #: only these (and line_no), and worker processes send back only these (less to put in line
    #: order, write and map). Runs that merge secondary logs or sets of files keep all columns
    columns: tuple[str, ...] | None = None
    reparsed: int = 0  # blocks parsed again because their guessed state was wrong (analyzer.parallel)
    files: list[FileSummary] = field(default_factory=list)
    counts: LineCounts = field(default_factory=LineCounts)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.workers <= 0:
            self.workers = parallel.default_workers()  # read now: $MAILLENS_WORKERS may have changed
        self._total = sum(i.path.stat().st_size for i in self.inputs if i.path is not None)
        self._done, self._inline = 0, False  # (_inline: the blocks on threads, parallel_threads.block_pool)

    def __iter__(self) -> Iterator[EventBatch]:
        if self.workers > 1 and self.ahead:
            # the batches are made (parsed, classified) on a thread of their own, one or two ahead of the
            # consumer: a consumer that releases the GIL (the Parquet writer) works while the next are classified
            yield from run_ahead(self._batches(), 1 if self.paced else AHEAD, "maillens-batches")
            return
        yield from self._batches()

    def _batches(self) -> Iterator[EventBatch]:
        self._endings: list[Any] = []  # the pools' ends on threads (parallel.end_pool), joined at the end
        try:
            yield from self._made()
        finally:
            for ending in filter(None, self._endings):
                ending.join()

    def _made(self) -> Iterator[EventBatch]:
        sets = len({rotation_key(i.name)[0] for i in self.inputs if not is_secondary(i.name)})
        # workers may classify what no later step changes (no secondary logs, one set of files)
        # and a classifier that carries state from batch to batch classifies here, in order
        secondary = any(is_secondary(i.name) for i in self.inputs)
        self._classify_in_worker = (self.classifier is not None and sets <= 1
                                    and not getattr(self.classifier, "carries_state", False) and not secondary)
        # a classifier that carries state has its answers per key made there (its ``by_key``,
        # each worker with a cache of its own) and attributes here, in order (``attribute``)
        self._answer_in_worker = (self.classifier is not None and sets <= 1 and not secondary
                                  and self.workers >= ANSWER_IN_WORKERS
                                  and getattr(self.classifier, "by_key", None) is not None)
        # the merging of secondary logs and of repeated sets hashes every column: whole tables then
        self._send_columns = self.columns if sets <= 1 and not secondary else None
        batches = self._merged()
        if self._send_columns is not None:
            batches = _projected(batches, self._send_columns)
        if sets > 1:
            # several sets of files: one may be another's copy in other stamps (analyzer.overlap),
            # which only the whole table tells; such runs are held, checked, then streamed
            batches = self._without_repeated_runs(batches)
        if self.classifier is None:
            yield from batches
            return
        results = self.results_ahead
        if results is None:  # (plain files: a reader that may block for ever, stdin, stays one thread from main)
            plain = all(i.path is not None and is_plain_file(i) for i in self.inputs)
            results = (1 if self.paced else RESULTS_AHEAD) if self.columns is None and not self._in_worker() and plain else 0
        if results > 0 and self.workers > 1 and self.ahead:
            batches = run_ahead(batches, results, "maillens-results")
        yield from classify_grouped(batches, self.classifier, self.classify_rows)

    def _without_repeated_runs(self, batches: Iterator[EventBatch]) -> Iterator[EventBatch]:
        from .overlap import drop_repeated_runs

        held = sorted(batches, key=lambda b: b.index)  # input order, as the whole table would be
        tables = [b.table for b in held if b.table.num_rows]
        if not tables:
            yield from held
            return
        df = drop_repeated_runs(to_pandas(pa.concat_tables(tables)), self.counts, self.warnings)
        table = pa.Table.from_pandas(df, schema=SCHEMA, preserve_index=False)
        del df, tables
        for b in held:
            b.table = b.table.slice(0, 0)
            b.keys = None  # the workers' keys were the blocks' rows: the classifier computes the table's
        held[-1].table = table  # the counts stay with their batches; the events come at the end
        yield from held

    def _merged(self) -> Iterator[EventBatch]:
        """Parsed batches in input order, secondary logs' repeated lines merged (see module doc)."""
        secondary = [i for i, inp in enumerate(self.inputs) if is_secondary(inp.name)]
        merge = bool(secondary) and len(secondary) < len(self.inputs)
        held: dict[int, list[EventBatch]] = {}
        summaries: dict[int, FileSummary] = {}
        sec_hash = np.empty(0, np.uint64)
        if merge:  # small: parsed first and held until the primaries are read
            for b in self._parse(secondary, summaries):
                held.setdefault(b.index, []).append(b)
            sec_hash = np.unique(np.concatenate(
                [content_hash(b.table) for bs in held.values() for b in bs] or [np.empty(0, np.uint64)]))
        seen = np.zeros(len(sec_hash), dtype=bool)
        primary = [i for i in range(len(self.inputs)) if not merge or i not in set(secondary)]
        for b in self._parse(primary, summaries):
            if len(sec_hash) and b.table.num_rows:
                seen |= np.isin(sec_hash, content_hash(b.table))
            self.counts.merge(b.counts)
            yield b
        if merge:
            dup = sec_hash[seen]
            for i in sorted(held):
                for b in held[i]:
                    if len(dup) and b.table.num_rows:
                        drop = np.isin(content_hash(b.table), dup)
                        n = int(drop.sum())
                        if n:
                            b.table = b.table.filter(pa.array(~drop))
                            b.counts.duplicates += n
                            b.counts.events -= n
                    self.counts.merge(b.counts)
                    yield b
        self.files = [summaries[i] for i in sorted(summaries)]

    def _parse(self, indices: list[int], summaries: dict[int, FileSummary]) -> Iterator[EventBatch]:
        """The batches of some inputs, in order. Big inputs go to worker processes block by block
        (:mod:`analyzer.parallel`). Otherwise headers are read in order (yearless stamps carry
        the year over) and the messages of a batch are matched on a worker thread while the next
        is read; a file that is one short batch is matched together with its neighbours
        (:mod:`analyzer.coalesce`)."""
        from .coalesce import SmallFiles, _finish_one, finish_many, split_many

        small = SmallFiles()
        pending: deque[tuple[Future, Callable[[Any], Iterator[EventBatch]]]] = deque()
        limit = 1 if self.workers <= 1 else parallel_threads.pending(self, PENDING_PER_WORKER) * self.workers
        self._pool: Any = None
        self._spool: str | None = None  # parallel.spool_dir() while the pool runs
        self._recycle = parallel.Recycler(limit + AHEAD + 2)  # its files free for the next blocks

        def results() -> Iterator[EventBatch]:
            fut, take = pending.popleft()
            yield from take(fut.result())

        def submit(fut: Future, take: Callable[[Any], Iterator[EventBatch]]) -> Iterator[EventBatch]:
            pending.append((fut, take))
            while len(pending) > limit:
                yield from results()

        def finished(owners: list[int]) -> Callable[[Any], Iterator[EventBatch]]:
            def take(res: Any) -> Iterator[EventBatch]:
                table, c, stats = res
                for i, st in zip(owners, stats, strict=True):
                    summaries[i].lines += st.lines
                    summaries[i].events += st.events
                    summaries[i].not_mail += st.not_mail
                yield EventBatch(table, c, self.inputs[owners[0]].name, owners[0])
            return take

        # small whole files wait here before their headers are read, then are read together
        deferred: list[tuple[Any, int, FileContext, int]] = []
        deferred_lines = [0]

        def send_joined() -> Iterator[EventBatch]:
            if small.splits:
                splits, owners = small.take()
                yield from submit(_POOL.submit(finish_many, splits), finished(owners))

        def take_deferred() -> Iterator[EventBatch]:
            if not deferred:
                return
            items = list(deferred)
            deferred.clear()
            deferred_lines[0] = 0
            for sp, (_, _, ctx, index) in zip(split_many([(ln, first, ctx) for ln, first, ctx, _ in items]), items,
                                              strict=True):
                summaries[index].flavour = ctx.flavour
                if not small.fits(sp):
                    yield from send_joined()
                if small.add(sp, index):
                    yield from send_joined()

        def send_small() -> Iterator[EventBatch]:
            yield from take_deferred()
            yield from send_joined()

        last, taken = None, False
        try:
            for index in indices:
                if last is not None and index != last + 1:
                    yield from send_small()  # a joined batch never spans an input read elsewhere
                last = index
                inp = self.inputs[index]
                ref = dt.datetime.fromtimestamp(inp.mtime, dt.UTC) if inp.path is not None else self.now
                summaries[index] = FileSummary(inp.name, 0, 0, None)
                size = inp.path.stat().st_size if inp.path is not None else None
                if self._in_blocks(inp, size):
                    yield from send_small()
                    if self._pool is None:
                        while pending:  # fork with no thread of ours in the middle of a batch
                            yield from results()
                        self._pool, self._spool, self._inline = parallel_threads.block_pool(self, inp, ref)
                        if not self._in_worker() and hasattr(self.classifier, "prepare"):
                            self.classifier.prepare()  # its one-time loads, while the workers start
                    for fut, take in self._blocks(index, inp, ref, size, summaries):
                        yield from submit(fut, take)
                    continue
                clock = Clock(tz=self.tz, year=self.year, reference=ref)
                ctx = FileContext(inp.name, HeaderState(clock, forced=None if self.fmt == "auto" else self.fmt),
                                  panic="panic" in os.path.basename(inp.name).lower())
                seen = [0, 0]  # lines, characters of this input so far
                for batch in iter_batches(inp, self.warnings.append, batch_lines=self.batch_lines,
                                          block_bytes=self.block_bytes):
                    if self.progress is not None:  # per batch: decoded characters, capped at the size
                        seen[0] += len(batch.lines)
                        seen[1] += _size(batch.lines)
                        if size is None:
                            self.progress(seen[0], -1)
                        else:
                            self.progress(self._done + min(seen[1], size), self._total)
                    if self.producer is not None:
                        yield from send_small()
                        while pending:
                            yield from results()
                        table, c = self.producer(batch.lines, batch.first_line, ctx)
                        st = summaries[index]
                        st.lines, st.events = st.lines + c.lines, st.events + c.events
                        st.not_mail += c.headerless + sum(c.foreign.values())
                        yield EventBatch(table, c, inp.name, index)
                        continue
                    if batch.first_line == 1 and len(batch.lines) < min(self.batch_lines or small.limit, small.limit):
                        deferred.append((batch.lines, batch.first_line, ctx, index))
                        deferred_lines[0] += len(batch.lines)
                        if deferred_lines[0] >= small.limit:
                            yield from take_deferred()
                        continue
                    yield from send_small()
                    sp = split_batch(batch.lines, batch.first_line, ctx)
                    yield from submit(_POOL.submit(_finish_one, sp), finished([index]))
                summaries[index].flavour = ctx.flavour
                self._file_done(size)
            yield from send_small()
            while pending:
                yield from results()
            taken = True  # every result taken: the pool ends beside the rest of the run (_batches joins it)
        finally:  # (else: an error, a consumer that stopped: ended here, results never taken removed)
            self._endings.append(parallel.end_pool(self._pool, self._spool, wait=not taken))
            self._pool = self._spool = None

    def _warm_job(self, inp: Input, ref: dt.datetime | None) -> Any:
        """A small block of the input's first lines for :func:`analyzer.parallel.pool` to parse
        before it forks (None for stdin and compressed input)."""
        if inp.path is None or not is_plain_file(inp):
            return None
        try:
            head = read_range(inp.path, 0, parallel.WARM_BYTES)
        except OSError:
            return None
        head = head[: head.rfind(b"\n") + 1]
        if not head:
            return None
        return parallel.BlockJob(inp.name, None, 0, 0, head, False, self.tz, self.year, ref,
                                 None if self.fmt == "auto" else self.fmt, "panic" in os.path.basename(inp.name).lower(),
                                 parallel.Start(), self._in_worker(), False, None, self._send_columns)

    def _in_worker(self) -> bool:
        """Whether the workers classify (wholly, or the answers per key)."""
        return self._classify_in_worker or self._answer_in_worker

    def _worker_classifier(self) -> Any:
        if self._classify_in_worker:
            return self.classifier
        return self.classifier.by_key if self._answer_in_worker else None  # type: ignore[union-attr]

    def _file_done(self, size: int | None) -> None:
        self._done += size or 0
        if self.progress is not None and size is not None:
            self.progress(self._done, self._total)

    def _in_blocks(self, inp: Input, size: int | None) -> bool:
        """Whether an input is parsed block by block in worker processes."""
        if self.workers <= 1 or self.batch_lines is not None:
            return False
        if size is None:
            return True  # stdin: as big as it turns out
        if is_plain_file(inp):
            return size >= PARALLEL_MIN_BLOCKS * self.block_bytes
        return size >= self.block_bytes // 8

    def _blocks(self, index: int, inp: Input, ref: dt.datetime | None, size: int | None,
                summaries: dict[int, FileSummary]) -> Iterator[tuple[Future, Callable[[Any], Iterator[EventBatch]]]]:
        """Submit an input's blocks to the worker processes; each comes with the step that takes
        its result in order (check the guessed state, parse again if it was wrong, number the lines)."""
        from .class_cache import Groups
        from .parallel import BlockJob, Guesser, Start, TrueState, run_block

        forced = None if self.fmt == "auto" else self.fmt
        panic = "panic" in os.path.basename(inp.name).lower()
        guess = Guesser(self.tz, self.year, ref)
        truth = TrueState()
        done = [0]

        def job(path: str | None, start: int, end: int, data: bytes | None, head: bytes, first: bool) -> BlockJob:
            state = guess.state(head)
            return BlockJob(inp.name, path, start, end, data, True, self.tz, self.year, ref, forced, panic,
                            Start() if first else state, self._in_worker(),
                            getattr(self.classifier, "uses_keys", False) and not self._in_worker(),
                            self._spool, self._send_columns, self._recycle.take() if self._spool else None,
                            self._inline, self._inline and self.lean)

        def taker(j: BlockJob, last: bool) -> Callable[[Any], Iterator[EventBatch]]:
            def take(r: Any) -> Iterator[EventBatch]:
                if r.warning:
                    self.warnings.append(r.warning)
                if not truth.agrees(j, r):
                    j.state = Start(truth.start.clock, dict(truth.start.counts))
                    r = run_block(j)  # from the true state, here
                    self.reparsed += 1
                table = truth.shift(r.table(self._recycle), r.counts)
                truth.take(r)
                st = summaries[index]
                st.lines += r.lines
                st.events += table.num_rows
                st.not_mail += r.not_mail
                st.flavour = parallel.flavour(truth.start.counts)
                done[0] += j.end - j.start if j.data is None else len(j.data)
                if self.progress is not None:
                    self.progress(self._done + min(done[0], size or done[0]), self._total if size else -1)
                if last:
                    self._file_done(size)
                keys = None if r.keys is None else Groups.from_bytes(r.keys)
                yield EventBatch(table, r.counts, inp.name, index, classified=j.classify and self._classify_in_worker,
                                 keys=keys, answered=j.classify and self._answer_in_worker)
            return take

        def submit(j: BlockJob) -> Future:
            if not self._pool:  # no fork here: parse in-process
                fut: Future = Future()
                fut.set_result(run_block(j))
                return fut
            return self._pool.submit(run_block, j)

        if size is not None and is_plain_file(inp):
            assert inp.path is not None
            ranges = plan_blocks(inp.path, self.block_bytes, size)
            for k, (s, e) in enumerate(ranges):
                j = job(str(inp.path), s, e, None, read_range(inp.path, s, min(e, s + 4096)), k == 0)
                yield submit(j), taker(j, k == len(ranges) - 1)
            if not ranges:
                self._file_done(size)
            return
        prev: BlockJob | None = None
        for data in iter_blocks(inp, self.warnings.append, self.block_bytes):
            if prev is not None:
                yield submit(prev), taker(prev, False)
            prev = job(None, 0, 0, data, data[:4096], prev is None)
        if prev is not None:
            yield submit(prev), taker(prev, True)
        else:
            self._file_done(size)


def _projected(batches: Iterator[EventBatch], columns: tuple[str, ...]) -> Iterator[EventBatch]:
    """The batches with only ``columns`` and line_no (those parsed in this process have all)."""
    keep = set(columns) | {"line_no"}
    for b in batches:
        if len(b.table.column_names) != len(keep):
            b.table = b.table.select([c for c in b.table.column_names if c in keep])
        yield b


def _size(lines: Any) -> int:
    """About the bytes some lines were read from (a :class:`~analyzer.sources.Lines` knows)."""
    nbytes = getattr(lines, "nbytes", None)
    return nbytes if nbytes is not None else sum(map(len, lines)) + len(lines)


def classify_grouped(batches: Iterable[EventBatch], classifier: Any, rows: int = 0) -> Iterator[EventBatch]:
    """Classify batches (those a worker did not classify already), in order; consecutive ones together when
    the classifier can (``classify_many``: its cost is mostly per call, its answers do not depend on the
    grouping), up to ``rows`` rows (:data:`CLASSIFY_ROWS`, the first call :data:`CLASSIFY_FIRST_ROWS`,
    doubling) or where the Parquet writer's row groups end (its ``group_rows``, set on the classifier), or
    once the held tables reach its ``group_bytes`` (read at each batch; the report's fold sets it)."""
    most = rows or CLASSIFY_ROWS
    limit = min(CLASSIFY_FIRST_ROWS, most)  # doubled after each call, up to ``most``
    many = getattr(classifier, "classify_many", None)
    attribute, group = getattr(classifier, "attribute", None), getattr(classifier, "group_rows", 0)
    held: list[EventBatch] = []
    size = grouped = nbytes = 0  # (grouped: rows since the consumer's last row group ended)

    def flush() -> Iterator[EventBatch]:
        nonlocal size, nbytes, limit
        if not held:
            return
        out: list[Any] = held[:]
        keys = [one.keys for one in out]
        held.clear()
        if many is None:
            tables = [classifier(one.table) for one in out]
        elif all(k is None for k in keys) or not getattr(classifier, "uses_keys", False):
            tables = many([one.table for one in out])
        else:
            tables = many([one.table for one in out], keys)
        size, nbytes, limit, keys = 0, 0, min(2 * limit, most), None
        for k in range(len(out)):  # each let go of once handed on, not held until the group's last is
            one, out[k] = out[k], None
            one.table, one.keys, tables[k] = tables[k], None, None
            yield one
            del one

    for b in batches:
        grouped, ended = (0, True) if group and grouped + b.table.num_rows >= group else (grouped + b.table.num_rows, False)
        if b.classified or b.answered:
            yield from flush()
            if b.answered:  # the answers came from a worker; the attribution carries from batch to batch
                b.table, b.answered = attribute(b.table), False
            yield b
            del b  # (not held while the next batch is awaited)
            continue
        held.append(b)
        size += b.table.num_rows
        bound = getattr(classifier, "group_bytes", 0)
        nbytes += b.table.nbytes if bound else 0
        del b
        if (ended or size >= most) if group else (size >= limit or many is None or (bound and nbytes >= bound)):
            yield from flush()
    yield from flush()


def iter_event_batches(inputs: Iterable[Input], **options: Any) -> Iterator[EventBatch]:
    """The event batches of ``inputs`` (see :class:`EventStream` for the options)."""
    yield from EventStream(list(inputs), **options)
