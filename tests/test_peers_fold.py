"""The peers' totals and sections folded batch by batch equal those of the whole table, wherever
the day is cut (a message's size line and its deliveries in different batches, a delivery
before its size line, an arrival after its 'Completed' line)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.keyed import QidTable
from analyzer.peer_agg import KeyAgg
from analyzer.reader import parse_logs
from analyzer.report.peers import PeersFold, peer_sections
from analyzer.totals import peer_section
from tests.conftest import CORPUS, SAMPLES
from tools.peers import generated_day

LIGHTMETER = CORPUS / "lightmeter-controlcenter" / "test_files" / "postfix_logs" / "complete.tar.gz.extracted" / "logs_sample"
DDGREY = CORPUS / "ddgrey" / "mainlog.filtered-sample"


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Event tables: the sample logs of both MTAs together, generated Postfix and Exim days, the corpus."""
    tmp = tmp_path_factory.mktemp("fold")
    out = {"samples": parse_logs([str(SAMPLES / "postfix"), str(SAMPLES / "exim")], tz="UTC", year=2026).events,
           "postfix": parse_logs([str(generated_day(tmp / "pf.log", "postfix", lines=6000))], tz="UTC",
                                 year=2026).events,
           "exim": parse_logs([str(generated_day(tmp / "ex.log", "exim", lines=6000))], tz="UTC", year=2026,
                              fmt="exim").events}
    if LIGHTMETER.exists():
        out["lightmeter"] = parse_logs([str(LIGHTMETER)], tz="UTC", year=2026).events
    if DDGREY.exists():
        out["ddgrey"] = parse_logs([str(DDGREY)], tz="UTC", year=2026, fmt="exim").events
    return out


def _fold(ev: pd.DataFrame, cuts: list[int]) -> dict:
    fold = PeersFold()
    for a, b in zip([0, *cuts], [*cuts, len(ev)], strict=True):
        fold.add(ev.iloc[a:b].reset_index(drop=True))
    return fold.result()


@pytest.mark.parametrize("name", ["samples", "postfix", "exim", "lightmeter", "ddgrey"])
@pytest.mark.parametrize("size", [1, 7, 100, 1000])
def test_batches_fold_into_the_whole_tables(days, name, size):
    """Cut into batches of ``size`` lines (1: every line alone), the fold gives the whole table's sections."""
    if name not in days:
        pytest.skip(f"shared corpus not found at {CORPUS}")
    ev = days[name]
    if size == 1:
        ev = ev.iloc[: min(len(ev), 1500)].reset_index(drop=True)  # every cut, on a shorter stretch
    want = {"peer_totals": peer_section(ev), "peers": peer_sections(ev)}
    got = _fold(ev, list(range(size, len(ev), size)))
    assert got["peer_totals"] == want["peer_totals"]
    assert [s["id"] for s in got["peers"]] == [s["id"] for s in want["peers"]]
    for g, w in zip(got["peers"], want["peers"], strict=True):
        assert g == w, g["id"]


@pytest.mark.parametrize("name", ["postfix", "exim"])
def test_reversed_batches_resolve_sizes_read_later(days, name):
    """Batches folded last first (deliveries and 'Completed' lines before their size and arrival lines)
    give the tables of the table in that order: what waits for a size is resolved when it comes."""
    ev = days[name]
    step = 500
    chunks = [ev.iloc[a:a + step] for a in range(0, len(ev), step)][::-1]
    backwards = pd.concat(chunks, ignore_index=True)
    want = {"peer_totals": peer_section(backwards), "peers": peer_sections(backwards)}
    cuts = list(range(step, len(backwards), step))
    got = _fold(backwards, cuts)
    assert got == want
    totals = {t["key"]: t["value"] for t in want["peer_totals"][0]["totals"]}
    assert totals.get("bytes_delivered", totals.get("delivered_bytes", 0)) > 0


def test_empty_batches_and_no_events_give_nothing():
    """A fold of no events (or only empty batches) has no sections and no totals."""
    fold = PeersFold()
    ev = parse_logs([str(SAMPLES / "postfix")], tz="UTC", year=2026).events
    fold.add(ev.iloc[0:0])
    assert fold.result() == {"peer_totals": [], "peers": []}


@pytest.mark.parametrize("engine", ["python", "native"])
def test_qid_table_finds_fields_across_runs(engine, monkeypatch):
    """QidTable: keys added in many batches keep their fields; absent keys are reported as such
    (sorted runs under the Python engine, the native key map under the native one)."""
    from analyzer import native

    if engine == "native" and not native.available():
        pytest.skip("no native build")
    monkeypatch.setenv(native.ENV, engine)
    rng = np.random.default_rng(1)
    t = QidTable({"flags": 0, "size": -1})
    want: dict[int, int] = {}
    for _ in range(30):
        h = rng.integers(0, 2**63, rng.integers(1, 50)).astype(np.uint64)
        run, pos = t.ensure(h)
        sizes = rng.integers(0, 1000, len(h))
        t.put("size", run, pos, sizes)
        want.update({int(k): int(v) for k, v in zip(h, sizes, strict=True)})  # the last write of a key wins
    keys = np.array(list(want), dtype=np.uint64)
    run, pos = t.locate(keys)
    assert (run >= 0).all() and len(t) == len(want) and (len(t.keys) > 1) == (engine == "python")
    assert t.get("size", run, pos).tolist() == list(want.values())
    run, _ = t.locate(np.array([12345], dtype=np.uint64))
    assert run.tolist() == [-1] or 12345 in want


def test_agg_merges_batches_like_one_group_by():
    """KeyAgg: sums, maxima and minima of many batches equal one group-by of all rows, keys in
    first-seen order."""
    rng = np.random.default_rng(2)
    frames = [pd.DataFrame({"k": rng.integers(0, 50, 300).astype(str), "n": rng.integers(0, 9, 300),
                            "m": rng.random(300)}) for _ in range(40)]
    agg = KeyAgg(["k"], {"n": "sum", "m": "max"})
    for f in frames:
        agg.add([f["k"].to_numpy(dtype=object)], n=f["n"].to_numpy(), m=f["m"].to_numpy())
    result = agg.result()
    want = pd.concat(frames).groupby("k", sort=False).agg({"n": "sum", "m": "max"})
    assert result["k"].tolist() == want.index.tolist()
    got = result.set_index("k")
    assert got["n"].tolist() == want["n"].tolist() and got["m"].tolist() == want["m"].tolist()
