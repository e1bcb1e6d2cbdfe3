"""parsers._program_is: each program name matched once per process (a cache across batches),
the same answers as pyarrow's match_substring_regex row by row, nulls kept null."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import parsers
from analyzer.parsers import _program_is, exim, postfix

NAMES = ["postfix/smtpd", "postfix/smtp", "postfix-out/qmgr", "exim", "exim4", "exim-4.97", "dovecot", "sshd",
         "amavis", "postfix", "postfix/submission/smtpd", "", "exim[1]", "mypostfix/smtp", "Postfix/smtp"]


def _expected(col: pa.Array, regex: str) -> list:
    return pc.match_substring_regex(col, regex).to_pylist()


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(parsers, "_PROGRAM_MATCH", {})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(NAMES), st.text(max_size=12)), max_size=40),
       st.integers(1, 4))
def test_same_answers_as_pyarrow_batch_after_batch(names, held):
    parsers._PROGRAM_MATCH.clear()
    col = pa.array(names, pa.string())
    for cap in (10_000, held):  # a cache that holds all, one that is emptied over and over
        parsers._PROGRAMS_HELD = cap
        try:
            for _ in range(2):  # the second batch answered from the cache
                pf, ex = _program_is(col, postfix.POSTFIX_PROGRAM, exim.EXIM_PROGRAM)
                assert pf.to_pylist() == _expected(col, postfix.POSTFIX_PROGRAM)
                assert ex.to_pylist() == _expected(col, exim.EXIM_PROGRAM)
        finally:
            parsers._PROGRAMS_HELD = 10_000


def test_chunked_and_empty():
    col = pa.chunked_array([pa.array(NAMES[:5]), pa.array([*NAMES[5:], None])])
    (pf,) = _program_is(col, postfix.POSTFIX_PROGRAM)
    assert pf.to_pylist() == _expected(col.combine_chunks(), postfix.POSTFIX_PROGRAM)
    (none,) = _program_is(pa.array([], pa.string()), postfix.POSTFIX_PROGRAM)
    assert len(none) == 0


def test_python_engine(monkeypatch):
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    col = pa.array(NAMES, pa.string())
    (ex,) = _program_is(col, exim.EXIM_PROGRAM)
    assert ex.to_pylist() == _expected(col, exim.EXIM_PROGRAM)


def test_names_met_before_keep_their_answer_when_the_cache_is_emptied():
    """A batch with names the cache holds and new ones that overflow it: the cache is emptied, and
    the names it held must still get their answer (they read as null, their lines neither parsed nor
    counted as foreign: review of round 23)."""
    parsers._PROGRAMS_HELD = 6
    try:
        _program_is(pa.array(["postfix/smtp", "exim"]), postfix.POSTFIX_PROGRAM)
        col = pa.array(["postfix/smtp", "exim", "x1", "x2", "x3", "x4", "x5"])
        (pf,) = _program_is(col, postfix.POSTFIX_PROGRAM)
        assert pf.to_pylist() == _expected(col, postfix.POSTFIX_PROGRAM)
        assert None not in pf.to_pylist()
    finally:
        parsers._PROGRAMS_HELD = 10_000
