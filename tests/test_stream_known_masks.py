"""The stream's classifier hands wait_columns the sources and the ends of messages it knows from
its masks (the carried rows are sources, the batch's rows as classified): they are what
wait_columns would find on the strings, and its answers equal those it gives finding them itself,
on generated days with deferral build-ups (wait lines), the sample logs, odd cuts and batches out
of time order. _domains skips the quoted domains where no recipient's domain is null: its answer
equals the coalesce of both over texts with nulls, addresses without domains and quotes."""

from __future__ import annotations

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
from bench.generate_logs import generate
from tests.conftest import SAMPLES
from tests.test_stream_joined import _events


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, pa.Table]:
    d = tmp_path_factory.mktemp("known-days")
    out = {}
    for mta, seed in (("exim", 11), ("postfix", 12)):
        generate(mta, 5000, seed=seed, out=str(d / f"{mta}.log"), start="2026-11-25T20:00:00", hours=30,
                 host="mx1", incidents=["deferral_buildup@4h+6h"])
        out[mta] = _events(d / f"{mta}.log")
    out["samples"] = pa.concat_tables([_events(SAMPLES / "exim" / "mainlog"), _events(SAMPLES / "postfix" / "mail.log")],
                                      promote_options="permissive")
    return out


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


def _run(batches: list[pa.Table], per_call: int) -> None:
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
    _run([events.slice(a, step) for a in range(0, events.num_rows, step)], per_call)
    if name == "exim":
        assert sum(seen) > 0  # (wait lines attributed)


def test_known_masks_out_of_time_order(days, monkeypatch):
    seen = _checked(monkeypatch)
    events = days["exim"]
    parts = [events.slice(a, 400) for a in range(0, events.num_rows, 400)]
    _run(parts[4:8] + parts[:4] + [events.slice(0, 0)] + parts[8:], 3)
    assert sum(seen) > 0


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_known_masks_odd_cuts(days, data):
    events = days[data.draw(st.sampled_from(["exim", "postfix", "samples"]))]
    cuts = sorted(set(data.draw(st.lists(st.integers(0, events.num_rows), min_size=1, max_size=25))))
    per_call = data.draw(st.integers(1, 5))
    with pytest.MonkeyPatch.context() as mp:
        _checked(mp)
        _run([events.slice(a, b - a) for a, b in zip([0, *cuts], [*cuts, events.num_rows], strict=True)], per_call)


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
    dom = pc.extract_regex(pc.utf8_lower(df.column("recipient").combine_chunks().take(take)),
                           r"@(?P<d>[^@>\s]+)>?$").field("d")
    quoted = pc.extract_regex(pc.utf8_lower(df.column("reply_text").combine_chunks().take(take)),
                              attribution._DOMAIN_IN_TEXT).field("d")
    assert attribution._domains(df, at).equals(pc.coalesce(dom, quoted))
