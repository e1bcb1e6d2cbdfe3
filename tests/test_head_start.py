"""`maillens parse FILE`'s first blocks read and folded while the run imports (analyzer.head_start):
taken by the block threads only where they are what those would make, and the summary the same
with it, without it, with a stale or damaged copy of the native objects' arguments."""

from __future__ import annotations

import marshal
import threading
from pathlib import Path

import pytest

from analyzer import cli, head_start, native, pipeline
from bench.generate_logs import generate

pytestmark = pytest.mark.skipif(native.fold_postfix() is None or native.masker() is None,
                                reason="needs the native fold")


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    """A Postfix and an Exim day of three summary blocks each (analyzer.summary_blocks.BLOCK_BYTES)."""
    d = tmp_path_factory.mktemp("head-start")
    out = {}
    for mta, n in (("postfix", 125_000), ("exim", 120_000)):
        out[mta] = d / f"{mta}.log"
        generate(mta, n, seed=7, out=str(out[mta]), start="2026-12-31T20:00:00", hours=30, host="mx1")
    return out


@pytest.fixture(params=["postfix", "exim"])
def big(days, request) -> Path:
    return days[request.param]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MAILLENS_HEAD_START", raising=False)
    monkeypatch.delenv("MAILLENS_WORKERS", raising=False)
    monkeypatch.setattr("analyzer.parallel_workers.default_workers", lambda: 2)
    return tmp_path / "cache" / "maillens" / head_start._NAME


def _parse(monkeypatch, capsys, *args: str) -> str:
    monkeypatch.setattr("sys.argv", ["maillens", "parse", "--tz", "UTC", "-f", "json", *args])
    with pytest.raises(SystemExit) as got:
        cli.main()
    assert got.value.code == 0
    return capsys.readouterr().out


def _spied(monkeypatch, used: list[bool] | None = None) -> list[bool]:
    """Whether each block took a read made ahead (and in ``used``, whether each fold asked for was made ahead)."""
    from analyzer import fast_summary

    took: list[bool] = []
    take, folded = head_start.take, head_start.folded

    def spy(*a):
        got = take(*a)
        took.append(got is not None)
        return got

    def spy_folded(*a):
        got = folded(*a)
        if used is not None:
            used.append(got is not None)
        return got

    monkeypatch.setattr(head_start, "take", spy)
    monkeypatch.setattr(head_start, "folded", spy_folded)
    monkeypatch.setattr(fast_summary, "folded", spy_folded)
    return took


def _compiles(monkeypatch) -> list[object]:
    """The rules' compilations ahead asked for (none made)."""
    asked: list[object] = []
    monkeypatch.setattr("analyzer.rule_sets.compile_ahead", asked.append)
    return asked


def test_the_blocks_read_ahead_are_taken_and_the_summary_is_the_same(big, cache, monkeypatch, capsys):
    assert not cache.exists()
    first = _parse(monkeypatch, capsys, str(big))  # no copy yet: kept for the next run
    assert head_start._cached() == head_start._own_args()
    used: list[bool] = []
    took = _spied(monkeypatch, used)
    compiled = _compiles(monkeypatch)
    second = _parse(monkeypatch, capsys, str(big))
    assert any(took) and len(took) == 3
    assert sum(used) == sum(took)  # each block read ahead was folded ahead, with the fold of its kind
    assert not compiled  # (the second core is the head start's)
    assert head_start._RUN is None  # ended with the command
    monkeypatch.setenv("MAILLENS_HEAD_START", "0")
    took.clear()
    off = _parse(monkeypatch, capsys, str(big))
    assert not any(took)
    assert compiled
    assert first == second == off


def test_a_stale_copy_is_not_used_and_is_kept_anew(big, cache, monkeypatch, capsys):
    own = head_start._own_args()
    stale = dict(own, masker=(*own["masker"][:3], [*own["masker"][3], "smtp"]))
    head_start._store(stale)
    assert head_start._cached() == stale
    took = _spied(monkeypatch)
    got = _parse(monkeypatch, capsys, str(big))
    assert took and not any(took)
    assert head_start._cached() == own
    monkeypatch.setenv("MAILLENS_HEAD_START", "0")
    assert _parse(monkeypatch, capsys, str(big)) == got


def test_a_damaged_or_foreign_copy_is_ignored(cache):
    head_start._store(head_start._own_args())
    data = bytearray(cache.read_bytes())
    data[-1] ^= 1
    cache.write_bytes(bytes(data))
    assert head_start._cached() is None
    cache.write_bytes(marshal.dumps({"fast": 1}))
    assert head_start._cached() is None
    head_start._store(head_start._own_args())
    cache.chmod(0o666)
    assert head_start._cached() is None


def test_the_fold_made_ahead_is_the_block_threads(big, cache):
    """Differential: each block's read and fold made on the head thread equal those made where the
    block is parsed (one thread, classes merged)."""
    from analyzer.parsers.exim_fast import reader
    from analyzer.sources import plan_blocks
    from analyzer.summary_blocks import BLOCK_BYTES

    head_start._store(head_start._own_args())
    head_start.begin({"logs": [str(big)], "output": None, "classify": True, "log_format": "auto"})
    run = head_start._RUN
    assert run is not None
    run.thread.join()
    ranges = plan_blocks(big, BLOCK_BYTES)
    assert len(ranges) == 3 and set(run.blocks) == set(ranges) and all(run.blocks[r].out for r in ranges)
    mod = native._module()[0]
    for start, end in ranges:
        got, out = head_start.take(str(big), start, end)
        read = mod.read_lines(str(big), start, end)
        assert _plain(got) == _plain(read)
        if "exim" in big.name:
            own = ("exim", mod.fold_exim(reader(), read[0], read[1], 1, native.masker(), True))
        else:
            own = ("postfix", native.fold_postfix()(native.fast_postfix(), read[0], read[1], 1, native.masker(),
                                                   native.foreign(), True))
        assert _plain(out) == _plain(own)
    head_start.end()


def _plain(x):
    """The native results' buffers as bytes, all the way down."""
    if isinstance(x, (tuple, list)):
        return type(x)(_plain(v) for v in x)
    if isinstance(x, (str, int, float, bool, type(None))):
        return x
    return bytes(memoryview(x))


def test_a_block_asked_for_first_is_not_read_ahead(big, cache):
    from analyzer.sources import plan_blocks
    from analyzer.summary_blocks import BLOCK_BYTES

    head_start._store(head_start._own_args())
    ranges = plan_blocks(big, BLOCK_BYTES)
    gate = threading.Event()
    real = head_start._ahead

    def later(*a):
        gate.wait()
        real(*a)

    head_start._ahead = later
    try:
        head_start.begin({"logs": [str(big)], "output": None, "classify": True, "log_format": "auto"})
        assert head_start.take(str(big), *ranges[1]) is None  # asked before the thread came to it
        gate.set()
        head_start._RUN.thread.join()
        assert not head_start._RUN.blocks  # (and the thread stopped: the blocks are parsed)
        assert head_start.take(str(big), *ranges[1]) is None
        assert head_start.take("/elsewhere", *ranges[0]) is None
    finally:
        head_start._ahead = real
        head_start.end()


def test_a_fold_is_handed_over_only_for_its_own_bytes():
    import pyarrow as pa

    mine, other = pa.py_buffer(bytes(bytearray(b"a\nb\n"))), pa.py_buffer(bytes(bytearray(b"a\nb\n")))
    for kind, data, threads, classes in (("postfix", other, 1, True), ("postfix", mine, 4, True),
                                         ("postfix", mine, 1, False)):
        head_start.hand_over(("postfix", "folded"), mine)
        assert head_start.folded(kind, data, threads, classes) is None
    head_start.hand_over(("exim", "folded"), mine)
    assert head_start.folded("postfix", mine, 1, True) is None  # (the block tries the Postfix fold first)
    assert head_start.folded("exim", mine, 1, True) == "folded"
    head_start.hand_over(("postfix", "folded"), mine)
    assert head_start.folded("postfix", mine, 1, True) == "folded"
    assert head_start.folded("postfix", mine, 1, True) is None  # once
    head_start.hand_over(None, None)
    assert head_start.folded("postfix", mine, 1, True) is None


@pytest.mark.parametrize("change", [
    {"output": "x.parquet"}, {"classify": False}, {"logs": ["-"]}, {"log_format": "exim"}, {"logs": ["a", "b"]},
    {"env": ("MAILLENS_ENGINE", "python")}, {"env": ("MAILLENS_FAST", "0")}, {"env": ("MAILLENS_BLOCK_THREADS", "0")},
    {"env": ("MAILLENS_HEAD_START", "0")}, {"workers": 1}, {"small": True}])
def test_not_begun_where_the_blocks_would_not_take_it(big, cache, monkeypatch, tmp_path, change):
    head_start._store(head_start._own_args())
    values = {"logs": [str(big)], "output": None, "classify": True, "log_format": "auto"}
    if "env" in change:
        monkeypatch.setenv(*change["env"])
    elif "workers" in change:
        monkeypatch.setattr("analyzer.parallel_workers.default_workers", lambda: 1)
    elif "small" in change:
        small = tmp_path / "small.log"
        small.write_bytes(big.read_bytes()[: 1 << 20])
        values["logs"] = [str(small)]
    else:
        values.update(change)
    head_start.begin(values)
    assert head_start._RUN is None


def test_its_constants_are_the_runs():
    assert head_start.MIN_BLOCKS == pipeline.PARALLEL_MIN_BLOCKS
