"""Differential tests: the native engine gives the same event tables and line counts as the
Python engine (the specification) on real logs, generated days and generated lines."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import hypothesis.strategies as st
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from analyzer import native
from analyzer.parsers import FileContext, parse_batch
from analyzer.parsers.syslog import Clock, HeaderState
from analyzer.pipeline import EventStream
from analyzer.sources import expand_inputs

from .conftest import CORPUS, ROOT, SAMPLES

pytestmark = pytest.mark.skipif(not native.available(), reason="the native engine is not built (no cargo at install)")

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
#: hypothesis examples per property (CI's fuzz pass raises it: MAILLENS_FUZZ_EXAMPLES)
EXAMPLES = int(os.environ.get("MAILLENS_FUZZ_EXAMPLES", "40"))


def _stream(engine: str, paths: list[str], monkeypatch: pytest.MonkeyPatch, **opts) -> tuple[pa.Table, object]:
    monkeypatch.setenv(native.ENV, engine)
    assert native.engine() == engine
    s = EventStream(expand_inputs(paths), tz=opts.pop("tz", "UTC"), now=NOW, **opts)
    batches = list(s)
    tables = [b.table for b in batches]
    return (pa.concat_tables(tables) if tables else None), s.counts


def assert_same(paths: list[str], monkeypatch: pytest.MonkeyPatch, **opts) -> pa.Table:
    py, py_counts = _stream("python", paths, monkeypatch, **dict(opts))
    nat, nat_counts = _stream("native", paths, monkeypatch, **dict(opts))
    assert py is not None and nat is not None
    assert nat.schema == py.schema
    for name in py.column_names:  # column by column, so that a failure names the column
        assert nat.column(name).equals(py.column(name)), name
    assert nat_counts == py_counts
    return py


@pytest.mark.parametrize("folder", sorted(p.name for p in SAMPLES.iterdir() if p.is_dir() and p.name != "expected"))
def test_sample_logs_identical(folder, monkeypatch):
    """Every sample_logs folder: identical tables and counts from both engines."""
    table = assert_same([str(SAMPLES / folder)], monkeypatch, batch_lines=2000)
    assert table.num_rows > 0


def test_corpus_identical(monkeypatch):
    """The whole shared corpus (every header flavour, both MTAs, odd lines): identical."""
    if not CORPUS.exists():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    table = assert_same([str(CORPUS)], monkeypatch)
    assert table.num_rows > 1000


@pytest.mark.parametrize(("mta", "style"), [("postfix", "syslog"), ("postfix", "rfc3339"), ("exim", "syslog")])
def test_generated_day_identical(mta, style, tmp_path, monkeypatch):
    """A generated day (bench/generate_logs.py, small) with an incident, read in small batches
    (batch boundaries, the year carry-over): identical."""
    out = tmp_path / f"{mta}.log"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate_logs.py"), "--mta", mta, "--lines", "6000",
                    "--style", style, "--seed", "7", "-q", "-o", str(out),
                    "--incident", "microsoft_block@6h+2h"], check=True, timeout=120)
    table = assert_same([str(out)], monkeypatch, batch_lines=1500)
    assert table.num_rows > 5000


# ---- generated lines --------------------------------------------------------------------------------

def _real_lines() -> list[str]:
    lines: list[str] = []
    for p in sorted(SAMPLES.rglob("*")):
        if p.is_file() and p.suffix not in (".gz", ".md", ".json", ".zst", ".bz2", ".xz"):
            lines.extend(p.read_text(encoding="utf-8", errors="replace").splitlines()[:400])
    return lines


REAL = _real_lines()


def parse_in_batches(engine: str, lines: list[str], monkeypatch: pytest.MonkeyPatch, *, step: int = 7,
                     tz: str = "Europe/Berlin", name: str = "gen.log") -> tuple[pa.Table, list]:
    """Parse ``lines`` with ``engine`` in batches of ``step`` (several batches: header order and
    the year carry over): the table and each batch's counts."""
    monkeypatch.setenv(native.ENV, engine)
    ctx = FileContext(name, HeaderState(Clock(tz=tz, reference=NOW)))
    tables, counts = [], []
    for i in range(0, len(lines), step):
        t, c = parse_batch(lines[i:i + step], i + 1, ctx)
        tables.append(t)
        counts.append(c)
    return pa.concat_tables(tables), counts


def _parse(engine: str, lines: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Table, list]:
    return parse_in_batches(engine, lines, monkeypatch)


def _same_lines(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    py = _parse("python", lines, monkeypatch)
    nat = _parse("native", lines, monkeypatch)
    assert nat[0].equals(py[0])
    assert nat[1] == py[1]


@st.composite
def mutated(draw) -> str:
    """A real line with a few characters inserted, deleted or replaced."""
    line = draw(st.sampled_from(REAL))
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(["ins", "del", "rep"]))
        ch = draw(st.one_of(st.sampled_from(list(" []:<>=()/,;.\\\"\t\x00\x0b\u00a0\u00e9\u0663\U0001F4E7-0123456789")),
                            st.characters(codec="utf-8")))
        if op == "ins":
            line = line[:i] + ch + line[i:]
        elif op == "del":
            line = line[:i] + line[i + 1:]
        else:
            line = line[:i] + ch + line[i + 1:]
    return line


_settings = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                  HealthCheck.function_scoped_fixture])


@_settings
@given(lines=st.lists(st.sampled_from(REAL), min_size=1, max_size=40))
def test_real_lines_identical(lines, monkeypatch):
    """Real lines in any order and mix (flavours, MTAs, foreign programs): identical."""
    _same_lines(lines, monkeypatch)


@_settings
@given(lines=st.lists(mutated(), min_size=1, max_size=30))
def test_mutated_lines_identical(lines, monkeypatch):
    """Real lines with characters inserted, deleted or replaced (Unicode digits and spaces, NUL,
    vertical tab): identical."""
    _same_lines([ln.replace("\n", " ").replace("\r", " ") for ln in lines], monkeypatch)


@_settings
@given(blobs=st.lists(st.binary(max_size=200), min_size=1, max_size=20))
def test_arbitrary_bytes_identical(blobs, monkeypatch):
    """Arbitrary bytes, decoded as the reader decodes them: identical."""
    lines = [b.decode("utf-8", errors="replace").replace("\n", " ").replace("\r", " ") for b in blobs]
    _same_lines(lines, monkeypatch)


def test_patterns_translate_and_compile():
    """Every pattern of the Python tables compiles in the native engine (nothing is skipped)."""
    from analyzer.parsers import exim, postfix
    from analyzer.parsers.syslog import HEADERS

    for regexes in ([p.regex for p in postfix.PATTERNS], [p.regex for p in exim.PATTERNS], list(HEADERS.values())):
        m = native.Matcher(regexes, [None] * len(regexes))
        assert len(m.groups) == len(regexes)


def test_fast_paths_follow_the_tables():
    """The hand-read syslog header, reply codes and masks of the native core are the Python patterns
    verbatim (each is used only then; if this fails, a pattern changed: update native/src/syslog.rs,
    fields.rs's ``leading_codes`` or maskhand.rs)."""
    from analyzer import _native
    from analyzer.parsers.fields import _CODE
    from analyzer.parsers.syslog import HEADERS

    assert HEADERS["syslog"] in _native.FAST_PATTERNS
    assert _CODE in _native.FAST_PATTERNS
    # classify's mask and first opaque pass (native/src/maskhand.rs)
    from analyzer.classify import MASK, OPAQUE

    assert MASK in _native.FAST_PATTERNS
    assert OPAQUE[0][1] in _native.FAST_PATTERNS


@pytest.mark.parametrize(("re2", "text", "expected"), [
    (r"^(?P<d>\d+)$", "٣٤", None),             # RE2's \d is ASCII
    (r"^(?P<w>\w+)$", "é", None),
    (r"^a(?P<s>\s)b$", "a\x0bb", None),         # RE2's \s has no vertical tab
    (r"^a(?P<s>\s)b$", "a\tb", "\t"),
    (r"^(?P<x>[^\s\[\]]+)$", "é[", None),
    (r"^(?P<x>[^\s\[\]]+)$", "é", "é"),
    (r"^(?P<x>\S+)\b", "ab", "ab"),
])
def test_translated_classes_match_as_re2(re2, text, expected):
    """The RE2 to Rust rewrite keeps RE2's ASCII meaning of the Perl classes (checked against
    pyarrow's RE2 on the same text)."""
    import pyarrow.compute as pc

    m = native.Matcher([re2], [None])
    rows, _, cols = m.run(pa.array([text]))
    got = cols[m.groups[0][0]][0].as_py() if len(rows) else None
    ref = pc.extract_regex(pa.array([text]), pattern=re2)[0]
    ref = ref.as_py()[m.groups[0][0]] if ref.is_valid else None
    assert got == ref == expected


def test_version_names_the_engine():
    """`maillens version` says which parser runs, and MAILLENS_ENGINE=python changes it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "analyzer", "version"]
    assert "parser: native" in subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    env[native.ENV] = "python"
    assert "parser: python" in subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout


def test_native_runs_without_the_gil():
    """Two threads match at once (the GIL is released while the core runs): same results."""
    from concurrent.futures import ThreadPoolExecutor

    from analyzer.parsers import postfix

    m = native.Matcher([p.regex for p in postfix.PATTERNS], [p.daemons for p in postfix.PATTERNS])
    msgs = pa.array([ln.split(": ", 1)[-1] for ln in REAL] * 20)
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda _: m.run(msgs), range(2))
    assert a[0].equals(b[0]) and len(a[0]) > 0


@pytest.mark.parametrize("pid", ["99999999999", "2147483648", "4294967296", "0000000001"])
def test_pid_too_large_is_read_without_it(pid, monkeypatch):
    """A pid no system gives (over 2**31 - 1) used to crash both engines; the line is read with
    no pid, the same by both, and a normal pid beside it is kept."""
    lines = [f"Nov 23 10:00:00 mx postfix/qmgr[{pid}]: 4F1A2B3C4D: removed",
             "Nov 23 10:00:01 mx postfix/qmgr[123]: 4F1A2B3C4E: removed",
             f"2026-11-23 10:00:02 [{pid}] 1vABCD-000001-AB Completed"]
    _same_lines(lines, monkeypatch)
    table, _ = _parse("python", lines, monkeypatch)
    pids = table.column("pid").to_pylist()
    assert table.column("event").to_pylist()[:2] == ["removed", "removed"]
    assert pids[1] == 123
    assert pids[0] == (1 if pid == "0000000001" else None)
