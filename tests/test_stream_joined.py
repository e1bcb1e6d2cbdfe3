"""StreamClassifier.classify_many attributes the waits of several batches in one call where their
stamps allow (_waits_joined): the tables and the codes beside them equal those of one call a
batch (its own _waits), on generated days with deferral build-ups, the sample logs, odd cuts,
batches out of time order and bare rejects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import attribution
from analyzer import classify_stream as cs
from analyzer.class_cache import Groups, class_key
from analyzer.classify_stream import StreamClassifier
from analyzer.reader import open_stream
from bench.generate_logs import generate
from tests.conftest import SAMPLES


def _events(path: Path) -> pa.Table:
    return pa.concat_tables([b.table for b in open_stream([str(path)], tz="UTC", year=2026, workers=1)])


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, pa.Table]:
    d = tmp_path_factory.mktemp("joined-days")
    out = {}
    for mta, seed in (("exim", 7), ("postfix", 8)):
        generate(mta, 6000, seed=seed, out=str(d / f"{mta}.log"), start="2026-11-25T20:00:00", hours=30,
                 host="mx1", incidents=["deferral_buildup@4h+6h"])
        out[mta] = _events(d / f"{mta}.log")
    out["samples"] = pa.concat_tables([_events(SAMPLES / "exim" / "mainlog"), _events(SAMPLES / "postfix" / "mail.log")],
                                      promote_options="permissive")
    return out


def _run(batches: list[pa.Table], per_call: int, joined: bool, monkeypatch) -> tuple[list[tuple], int]:
    """Each batch classified (``per_call`` batches a classify_many call) and its codes' strings;
    how many calls attributed joined."""
    clf = StreamClassifier()
    clf.keep_codes = True
    calls = 0
    real = StreamClassifier._waits_joined

    def waits_joined(self, *args):
        nonlocal calls
        if not joined:  # (its stamps still kept: the same state either way)
            self._attributed_to = None
            return False
        done = real(self, *args)
        calls += done
        return done

    monkeypatch.setattr(StreamClassifier, "_waits_joined", waits_joined)
    out = []
    for i in range(0, len(batches), per_call):
        group = batches[i: i + per_call]
        for t in clf.classify_many(group, [Groups.of(class_key(b)) for b in group]):
            codes = clf.codes_beside(t)
            out.append((t, None if codes is None else codes.table()))
        out.append((clf.tail if clf.tail is not None else pa.table({}), None))  # (the last line kept)
    return out, calls


def _same(events: pa.Table, cuts: list[int], per_call: int, monkeypatch) -> int:
    batches = [events.slice(a, b - a) for a, b in zip([0, *cuts], [*cuts, events.num_rows], strict=True)]
    got, calls = _run(batches, per_call, True, monkeypatch)
    want, _ = _run(batches, per_call, False, monkeypatch)
    assert len(got) == len(want)
    for (g, gc), (w, wc) in zip(got, want, strict=True):
        assert g.equals(w)
        assert (gc is None) == (wc is None) and (gc is None or gc.equals(wc))
    return calls


@pytest.mark.parametrize("name", ["exim", "postfix", "samples"])
@pytest.mark.parametrize("per_call", [3, 8])
def test_joined_equals_one_call_a_batch(days, name, per_call, monkeypatch):
    events = days[name]
    step = max(1, events.num_rows // 23)
    calls = _same(events, list(range(step, events.num_rows, step)), per_call, monkeypatch)
    if name != "samples":  # (the samples' files go back in time from one to the next)
        assert calls > 0


def test_batches_out_of_time_order_and_empty_ones(days, monkeypatch):
    events = days["exim"]
    n = events.num_rows
    parts = [events.slice(a, 500) for a in range(0, n, 500)]
    shuffled = parts[3:6] + parts[:3] + [events.slice(0, 0)] + parts[6:]
    _same(pa.concat_tables(shuffled), [500 * i for i in range(1, len(shuffled))], 4, monkeypatch)


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_odd_cuts(days, data):
    events = days[data.draw(st.sampled_from(["exim", "postfix", "samples"]))]
    n = events.num_rows
    cuts = sorted(set(data.draw(st.lists(st.integers(0, n), min_size=1, max_size=30))))
    per_call = data.draw(st.integers(1, 6))
    with pytest.MonkeyPatch.context() as mp:
        _same(events, cuts, per_call, mp)


@settings(max_examples=60, deadline=None)
@given(stamps=st.lists(st.lists(st.integers(-5, 5), max_size=6), min_size=1, max_size=5),
       since=st.none() | st.integers(-5, 5), offset=st.integers(0, 2))
def test_in_time_order_read_in_place_as_cast(stamps, since, offset):
    """in_time_order reads the stamps' chunks in place (sliced ones too): the answer of the cast."""
    from analyzer.fold_attribution import _in_time_order_cast, in_time_order

    typ = pa.timestamp("ns", "UTC")
    subs = [pa.table({"ts": pa.chunked_array([pa.array([0] * offset + s, typ).slice(offset)], typ)}) for s in stamps]
    chunks = [c for t in subs for c in t.column("ts").chunks if len(c)]
    want = _in_time_order_cast(chunks, since) if chunks else (True, since)
    assert in_time_order(subs, since) == want

# The stream's classifier hands wait_columns the sources and the ends of messages it knows from its
# masks (the carried rows are sources, the batch's rows as classified): they are what wait_columns
# would find on the strings, and its answers equal those it gives finding them itself (the days
# above, odd cuts, batches out of time order). _domains skips the quoted domains where no
# recipient's domain is null: its answer equals the coalesce of both.


def _checked(monkeypatch) -> list[int]:
    """wait_columns wrapped: the masks handed to it checked against the strings' (how many calls)."""
    real, seen = attribution.wait_columns, []

    def wait_columns(df, kb, target, domains=None, known=None):
        got = real(df, kb, target, domains, known)
        if known is not None:
            cause = attribution._arrow(df, "cause")
            source = (attribution._isin(attribution._arrow(df, "outcome"), attribution.FAILED)
                      & attribution._isin(attribution._arrow(df, "event"), attribution.ATTEMPT_EVENTS)
                      & ~attribution._isin(cause, attribution.NOT_A_REASON) & ~target)
            waiting = (attribution._isin(cause, attribution.WAITING_CAUSES)
                       & attribution._isin(attribution._arrow(df, "action"), attribution.WAITING_ACTIONS))
            assert np.array_equal(target, waiting)
            assert np.array_equal(known[0], source)
            assert np.array_equal(known[1], attribution.message_ends(df))
            want = real(df, kb, target, domains)
            assert got.keys() == want.keys() and all(got[k].equals(want[k]) for k in got)
            seen.append(int(target.sum()))
        return got

    monkeypatch.setattr(cs, "wait_columns", wait_columns)
    return seen


def _run_known(batches: list[pa.Table], per_call: int) -> None:
    clf = StreamClassifier()
    for i in range(0, len(batches), per_call):
        group = batches[i: i + per_call]
        clf.classify_many(group, [Groups.of(class_key(b)) for b in group])


@pytest.mark.parametrize("name", ["exim", "postfix", "samples"])
@pytest.mark.parametrize("per_call", [1, 4])
def test_known_masks_are_the_strings(days, name, per_call, monkeypatch):
    seen = _checked(monkeypatch)
    events = days[name]
    step = max(1, events.num_rows // 19)
    _run_known([events.slice(a, step) for a in range(0, events.num_rows, step)], per_call)
    if name == "exim":
        assert sum(seen) > 0  # (wait lines attributed)


def test_known_masks_out_of_time_order(days, monkeypatch):
    seen = _checked(monkeypatch)
    events = days["exim"]
    parts = [events.slice(a, 400) for a in range(0, events.num_rows, 400)]
    _run_known(parts[4:8] + parts[:4] + [events.slice(0, 0)] + parts[8:], 3)
    assert sum(seen) > 0


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_known_masks_odd_cuts(days, data):
    events = days[data.draw(st.sampled_from(["exim", "postfix", "samples"]))]
    cuts = sorted(set(data.draw(st.lists(st.integers(0, events.num_rows), min_size=1, max_size=25))))
    per_call = data.draw(st.integers(1, 5))
    with pytest.MonkeyPatch.context() as mp:
        _checked(mp)
        _run_known([events.slice(a, b - a) for a, b in zip([0, *cuts], [*cuts, events.num_rows], strict=True)], per_call)


_ADDRESS = st.one_of(st.none(), st.text(max_size=12),
                     st.builds(lambda a, b, c: f"{a}@{b}{c}", st.text("aZ.ß@> ", max_size=5),
                               st.text("aB.İx- >", max_size=8), st.sampled_from(["", ">", ">>", " "])))
_TEXT = st.one_of(st.none(), st.text(max_size=10),
                  st.builds(lambda d: f"retry time not reached for any host for '{d}'", st.text("aB.'", max_size=6)))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(_ADDRESS, _TEXT), max_size=12))
def test_domains_as_the_coalesce(rows):
    df = pa.table({"recipient": pa.array([r for r, _ in rows], pa.string()),
                   "reply_text": pa.array([t for _, t in rows], pa.string())})
    at = np.arange(len(rows))
    take = pa.array(at, pa.int64())
    # (struct_field: null where the regex did not match, so a row without a domain takes the quoted
    # one, and rows without either share no key; .field gave "" there)
    dom = pc.struct_field(pc.extract_regex(pc.utf8_lower(df.column("recipient").combine_chunks().take(take)),
                                           r"@(?P<d>[^@>\s]+)>?$"), "d")
    quoted = pc.struct_field(pc.extract_regex(pc.utf8_lower(df.column("reply_text").combine_chunks().take(take)),
                                              attribution._DOMAIN_IN_TEXT), "d")
    assert attribution._domains(df, at).equals(pc.coalesce(dom, quoted))
