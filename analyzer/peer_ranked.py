"""The peers' result made of codes (r25-rpeers): what the report shows named, the rest counted.

:func:`first_ties` narrows the relayed pairs that tie at the top-th count to those a ranking can
show, naming only the distinct sending hosts among them (a day's pairs are mostly seen once: all
tie); :func:`sending_hosts` counts pflogsumm's sending hosts/domains from each distinct sender's
domain, pairing senders with clients only where a sender has none. ``tests/test_peers_ranked.py``
holds both equal to the plain formulas (every pair named and ranked; every (sender, client) pair).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .peer_ended import DOMAIN
from .totals import mask

__all__ = ["first_ties", "sending_hosts"]


def first_ties(agg: Any, rows: np.ndarray, tied: np.ndarray, need: int) -> np.ndarray:
    """Of the relayed pairs ``rows`` (``tied``: those whose count ties at the top-th largest),
    those untied and the ``need`` tied ones that a ranking by count, sending host (by its
    string: only the distinct hosts among the ties are named) and first line puts first."""
    at = rows[tied]
    src = agg.codes_of(0, at)
    hosts, inv = np.unique(src, return_inverse=True)
    order = np.asarray(pc.sort_indices(agg.strings_of(0, hosts)))
    place = np.empty(len(hosts), dtype=np.int64)
    place[order] = np.arange(len(hosts))
    first = agg.values("first")[at]
    kept = at[np.lexsort((first, place[inv.reshape(-1)]))[:need]]
    return np.concatenate([rows[~tied], kept])


def _distinct_codes(codes: np.ndarray) -> np.ndarray:
    """The distinct codes, ascending (dense vocabulary codes: by a mark per code, not sorted)."""
    if not len(codes) or codes.min() < 0:
        return np.unique(codes)
    seen = np.zeros(int(codes.max()) + 1, dtype=bool)
    seen[codes] = True
    return np.flatnonzero(seen)


def sending_hosts(senders: Any, clients: Any, codes: np.ndarray, client_codes: np.ndarray) -> int:
    """pflogsumm's sending hosts/domains of the received messages (``codes``: their senders' in
    the vocabulary ``senders``, ``client_codes``: their clients' in ``clients``): a sender's
    domain, else its client (else the sender). Each distinct sender's domain found once;
    (sender, client) pairs paired only for the senders without one."""
    distinct = _distinct_codes(codes)
    dom = pc.extract_regex(senders.take(distinct), DOMAIN)
    has = mask(pc.is_valid(dom))
    sending = [dom.field("d").filter(pa.array(has))]
    if not has.all():
        if distinct.min() >= 0:
            bare = np.zeros(int(distinct.max()) + 1, dtype=bool)
            bare[distinct[~has]] = True
            rows = bare[codes]
        else:
            rows = np.isin(codes, distinct[~has])
        m = clients.n + 1  # each distinct (sender, client) once: the count of distinct hosts is the same
        pairs = np.unique(codes[rows].astype(np.int64) * m + client_codes[rows])
        sender, client = senders.take(pairs // m), clients.take(pairs % m)
        sending.append(pc.if_else(pc.equal(client, ""), sender, client).cast(sending[0].type))
    return len(pc.unique(pa.concat_arrays(sending)))
