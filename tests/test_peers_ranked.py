"""The peers' result made of codes (r25-rpeers) against the plain formulas it replaces: the relayed
pairs ranked from the ties' hosts alone (``ExFold.relayed_ranked``) against the whole table
ranked; pflogsumm's sending hosts/domains from each distinct sender's domain
(``peer_ranked.sending_hosts``) against every distinct (sender, client) pair's. Both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from analyzer import native
from analyzer.peer_agg import rank
from analyzer.peer_ranked import sending_hosts
from analyzer.report.peers import PeersFold
from tests.test_peers_cycles import parsed_days

ENGINES = ["python", *(["native"] if native.available() else [])]


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    return parsed_days(tmp_path_factory.mktemp("ranked"), 8000)


def _fold(monkeypatch, ev: pd.DataFrame, engine: str) -> PeersFold:
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    fold = PeersFold()
    for a in range(0, len(ev), 1000):
        fold.add(ev.iloc[a:a + 1000].reset_index(drop=True))
    return fold


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("top", [1, 3, 10, 25])
def test_relayed_ranked_equals_the_whole_table_ranked(monkeypatch, days, engine, top):
    ex = _fold(monkeypatch, days["exim"], engine).ex
    whole, n = ex.relayed_pairs()
    assert n > 4 * top  # (the ties narrowed)
    want = rank(whole, ["count"], "from").head(top).reset_index(drop=True)
    got = ex.relayed_ranked(top)
    assert got.attrs["rows_total"] == n
    pd.testing.assert_frame_equal(got.reset_index(drop=True).astype({"from": object, "to": object}),
                                  want.astype({"from": object, "to": object}))


def _sending_by_pairs(pf) -> int:
    """The specification: every distinct (sender, client) pair's sending host or domain."""
    codes, client_codes, _ = pf._got()
    m = pf.clients.n + 1
    pairs = np.unique(codes.astype(np.int64) * m + client_codes)
    sender, client = pf.senders.take(pairs // m), pf.clients.take(pairs % m)
    dom = pc.extract_regex(sender, r"^[^@]+@(?P<d>.+)$")
    by_client = pc.if_else(pc.equal(client, ""), sender, client)
    return len(pc.unique(pc.if_else(pc.is_valid(dom), dom.field("d"), by_client)))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["samples", "postfix"])
def test_sending_hosts_equal_the_pairs(monkeypatch, days, engine, name):
    """The fold's count against the pairs of every received message: those of a fold of the day
    without its 'removed' lines (no message ended, each one's slot read at the end)."""
    ev = days[name]
    pf = _fold(monkeypatch, ev, engine).pf
    whole = _fold(monkeypatch, ev[ev["event"] != "removed"].reset_index(drop=True), engine).pf
    got = pf.totals()["sending_hosts_domains"]
    whole.tables()  # (finished: a native fold's slots read)
    assert len(pf._got()[0]) < len(whole._got()[0])  # (messages ended)
    assert got == _sending_by_pairs(whole) > 0


def test_sending_hosts_mixed_senders(monkeypatch):
    """Senders with a domain, without one (from=<>, a bare name) and the same text as a client."""
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    from analyzer.peer_folds import PfFold

    pf = PfFold()
    for s in ("a@x.org", "from=<>", "bare", "x.org", "b@y.org"):
        pf.senders.encode(pa.array([s]))
    for c in ("", "x.org", "mx.z.net"):
        pf.clients.encode(pa.array([c]))
    rows = [(0, 0), (1, 0), (1, 1), (2, 2), (2, 0), (3, 0), (4, 2), (1, 1), (0, 2)]
    codes, clients = (np.array(v, dtype=np.int32) for v in zip(*rows, strict=True))
    pf._got = lambda: (codes, clients, np.zeros(len(codes), dtype=np.int64))  # type: ignore[method-assign]
    assert sending_hosts(pf.senders, pf.clients, codes, clients) == _sending_by_pairs(pf) == 5
