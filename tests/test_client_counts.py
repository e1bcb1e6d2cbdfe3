"""The abuse detectors counted on codes (analyzer/anomalies/client_counts.py) find what the
group-bys over copies of the rows found: the same findings, field by field, on random tables
with low thresholds (many findings), client addresses and recipients as strings and as
Categoricals (the weekly's form), with and without a history."""

from __future__ import annotations

import ipaddress
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies import default_params
from analyzer.anomalies.abuse import detect_abuse
from analyzer.anomalies.baseline import _runs, _with_bucket
from analyzer.anomalies.client_counts import per_key, runs
from analyzer.anomalies.context import Context, _finding, _str_eq
from analyzer.anomalies.delivery import _client_rejects
from analyzer.anomalies.longwindow import UNKNOWN_RECIPIENT, detect_slow_abuse

# ---- the reference: the detectors as they were, group-bys over copies of the rows ----


def _ref_abuse(ctx: Context) -> list:
    p = ctx.params["abuse"]
    src = ctx.events
    ev = src.loc[src["client_ip"].notna().to_numpy(dtype=bool) & _str_eq(src["event"], ("auth_failure", "reject")),
                 ["ts", "client_ip", "event", "cause", "recipient", "sasl_username", "source", "line_no"]]
    ev = _with_bucket(ctx, ev)
    out = []
    checks = [
        ("SASL brute force", _str_eq(ev["event"], "auth_failure"), None, int(p["sasl_failures"]),
         "authentication failures"),
        ("Dictionary attack", _str_eq(ev["event"], "reject") & _str_eq(ev["cause"], UNKNOWN_RECIPIENT),
         "recipient", int(p["unknown_recipients"]), "unknown recipients"),
        ("Relay probing", _str_eq(ev["event"], "reject") & _str_eq(ev["cause"], ("relay.denied", "client.relay_denied")),
         None, int(p["relay_attempts"]), "relay attempts refused"),
    ]
    for title, mask, distinct, threshold, what in checks:
        rows = ev[mask]
        if rows.empty:
            continue
        g = rows.groupby(["client_ip", "bucket"])[distinct].nunique() if distinct else \
            rows.groupby(["client_ip", "bucket"]).size()
        g = g[g >= threshold]
        for ip in sorted(g.index.get_level_values(0).unique()):
            for run in _runs(g.loc[ip].index.tolist(), ctx.bucket):
                r = rows[(rows["client_ip"] == ip).to_numpy() & rows["bucket"].isin(run).to_numpy()]
                n = int(r[distinct].nunique()) if distinct else len(r)
                crit = title == "SASL brute force" and n >= p["sasl_critical"]
                users = r["sasl_username"].dropna().nunique()
                out.append(_finding(ctx, detector="abuse", severity="critical" if crit else "warning",
                                    entity=str(ip), rows=r, title=f"{title} from {ip}: {n} {what}",
                                    observed=float(n), expected=float(threshold), cause=r["cause"].mode().iloc[0],
                                    detail=f"{len(r)} log lines" + (f", {users} user names tried" if users else "")))
    return out


def _ref_client_finding(ctx: Context, ip: str, rows: pd.DataFrame, rejects: int):
    share = len(rows) / rejects
    cause = rows["cause"].mode().iloc[0]
    return _finding(ctx, detector="concentration", severity="warning", entity=ip, rows=rows,
                    title=f"Client {ip} caused {share:.0%} of all rejects ({len(rows)})",
                    observed=share, expected=None, cause=cause, unit="share",
                    detail=f"mostly {ctx.cause_title(cause)}")


def _ref_client_rejects(ctx: Context) -> list:
    p = ctx.params["concentration"]
    src = ctx.events
    rej = _with_bucket(ctx, src.loc[_str_eq(src["event"], "reject") & src["client_ip"].notna().to_numpy(dtype=bool),
                                    ["ts", "client_ip", "cause", "source", "line_no"]])
    out = []
    if rej.empty:
        return out
    tot = rej.groupby("bucket").size()
    g = rej.groupby(["client_ip", "bucket"]).size().reset_index(name="n")
    g["share"] = g["n"] / g["bucket"].map(tot).to_numpy()
    g = g[(g["n"] >= p["client_min_rejects"]) & (g["share"] >= p["client_min_share"])]
    for ip, grp in g.groupby("client_ip", sort=True):
        for run in _runs(grp["bucket"].tolist(), ctx.bucket):
            rows = rej[(rej["client_ip"] == ip).to_numpy() & rej["bucket"].isin(run).to_numpy()]
            out.append(_ref_client_finding(ctx, str(ip), rows, int(tot[run].sum())))
    return out


def _ref_networks(ips: pd.Series) -> pd.Series:
    def net(ip):
        if pd.isna(ip):
            return pd.NA
        try:
            return str(ipaddress.ip_network(f"{ip}/{24 if '.' in ip and ':' not in ip else 64}", strict=False))
        except ValueError:
            return pd.NA
    return pd.Series([net(ip) for ip in ips.astype(object)], index=ips.index, dtype="string")


def _ref_slow_finding(ctx: Context, kind: tuple, entity: str, scope: str, st: pd.Series, ent_rows: pd.DataFrame):
    p = ctx.params["long_window"]
    title, what, per_hour_limit, per_span, distinct = kind
    total, days = int(st["total"]), int(st["days"])
    recent = ent_rows[(ent_rows["ts"] >= ctx.first_ts).to_numpy()]
    users = ent_rows["sasl_username"].dropna().nunique()
    who = f"network {entity} ({int(st['ips'])} addresses)" if scope == "network" else entity
    sev = "critical" if days >= p["critical_days"] and not distinct else "warning"
    return _finding(
        ctx, detector="long_window", severity=sev, entity=entity, rows=recent if len(recent) else ent_rows,
        title=f"{title} from {who}: {total:,} {what} over {days} "
              f"day{'' if days == 1 else 's'} (at most {int(st['per_hour'])} an hour)",
        observed=float(total), expected=float(per_span), cause=str(ent_rows["cause"].mode().iloc[0]),
        start=st["first"], end=st["last"],
        detail=f"{len(ent_rows):,} log lines, at most {int(st['per_day'])} {what} in one day"
               + (f", {users} user names tried" if users else "")
               + f"; below the hourly threshold ({per_hour_limit} an hour) all along")


def _ref_stats(rows: pd.DataFrame, key: str, distinct: str | None) -> pd.DataFrame:
    g = rows.groupby(key, observed=True)
    if distinct:
        total = g[distinct].nunique()
        per_day = rows.groupby([key, "day"], observed=True)[distinct].nunique().groupby(level=0).max()
        per_hour = rows.groupby([key, "hour"], observed=True)[distinct].nunique().groupby(level=0).max()
    else:
        total = g.size()
        per_day = rows.groupby([key, "day"], observed=True).size().groupby(level=0).max()
        per_hour = rows.groupby([key, "hour"], observed=True).size().groupby(level=0).max()
    return pd.DataFrame({"total": total, "days": g["day"].nunique(), "per_day": per_day, "per_hour": per_hour,
                         "ips": g["client_ip"].nunique(), "first": g["ts"].min(), "last": g["ts"].max()})


def _ref_slow_abuse(ctx: Context) -> list:
    p, hourly, df = ctx.params["long_window"], ctx.params["abuse"], ctx.all
    window_start = ctx.first_ts
    base = df["client_ip"].notna().to_numpy(dtype=bool)
    kinds = [
        ("Slow SASL brute force", _str_eq(df["event"], "auth_failure"), None, int(hourly["sasl_failures"]),
         "authentication failures", int(p["sasl_per_day"]), int(p["sasl_per_span"])),
        ("Slow dictionary attack", _str_eq(df["event"], "reject") & _str_eq(df["cause"], UNKNOWN_RECIPIENT),
         "recipient", int(hourly["unknown_recipients"]), "unknown recipients", int(p["unknown_per_day"]),
         int(p["unknown_per_span"])),
    ]
    out = []
    for title, mask, distinct, per_hour_limit, what, per_day, per_span in kinds:
        rows = df.loc[mask & base, ["ts", "client_ip", "recipient", "cause", "sasl_username", "source", "line_no"]]
        if rows.empty:
            continue
        rows = rows.assign(day=rows["ts"].dt.floor("D"), hour=rows["ts"].dt.floor(ctx.bucket))
        ips = _ref_stats(rows, "client_ip", distinct)
        slow = ips[ips["per_hour"] < per_hour_limit]
        rows = rows[rows["client_ip"].isin(slow.index).to_numpy()]
        if rows.empty:
            continue

        def flagged(st, per_day=per_day, per_span=per_span):
            return (((st["per_day"] >= per_day) | ((st["total"] >= per_span) & (st["days"] >= p["min_days"])))
                    & (st["last"] >= window_start))

        persistent = slow.index[slow["total"] >= p["network_ip_min"]]
        nrows = rows[rows["client_ip"].isin(persistent).to_numpy()]
        nrows = nrows.assign(net=_ref_networks(nrows["client_ip"]).to_numpy())
        nets = _ref_stats(nrows.dropna(subset=["net"]), "net", distinct) if len(nrows) else pd.DataFrame()
        nets = nets[(nets["ips"] >= p["network_min_ips"]) & flagged(nets)] if len(nets) else nets
        in_net = nrows.dropna(subset=["net"])
        covered = set(in_net.loc[in_net["net"].isin(nets.index), "client_ip"].tolist()) if len(nets) else set()
        single = slow[flagged(slow) & ~slow.index.isin(list(covered))]
        found = [(str(n), "network", s, in_net[(in_net["net"] == n).to_numpy()]) for n, s in nets.iterrows()]
        found += [(str(ip), "address", s, rows[(rows["client_ip"] == ip).to_numpy()]) for ip, s in single.iterrows()]
        for entity, scope, s, ent_rows in found:
            out.append(_ref_slow_finding(ctx, (title, what, per_hour_limit, per_span, distinct is not None), entity,
                                    scope, s, ent_rows))
    return out


# ---- random tables ----

_CAUSES = ["mailbox.unknown", "client.recipient_unknown", "relay.denied", "client.relay_denied", "auth.failed",
           "reputation.ip_listed"]


def _clients(r: random.Random) -> list[str]:
    v4 = [f"198.51.{a}.{b}" for a in (1, 2, 30) for b in range(1, 9)]
    v6 = [f"2001:db8:{a}::{b:x}" for a in (1, 2) for b in range(1, 7)]
    return v4 + v6 + ["not-an-ip", "10.0.0"]


def _table(seed: int, n: int, days: int, start: str) -> pd.DataFrame:
    r = random.Random(seed)
    clients = _clients(r)
    hot = r.sample(clients, 6)  # a few busy ones, so that thresholds are reached
    t0 = pd.Timestamp(start).value
    span = days * 86_400 * 10**9
    rows = []
    for i in range(n):
        ip = r.choice(hot) if r.random() < 0.6 else (None if r.random() < 0.05 else r.choice(clients))
        ev = r.choice(["auth_failure", "reject", "reject", "delivery", "connect"])
        rows.append({
            "ts": t0 + (r.randrange(span) if r.random() < 0.7 else r.randrange(span // 20)),
            "client_ip": ip, "event": ev,
            "cause": r.choice(_CAUSES[:4]) if r.random() < 0.7 else r.choice(_CAUSES),
            "recipient": None if r.random() < 0.1 else f"u{r.randrange(40)}@example.org",
            "sasl_username": None if r.random() < 0.4 else f"user{r.randrange(9)}",
            "source": None if r.random() < 0.05 else "mail.log", "line_no": i + 1,
        })
    # (no row: the columns all the same, empty)
    df = pd.DataFrame(rows, columns=["ts", "client_ip", "event", "cause", "recipient", "sasl_username", "source",
                                     "line_no"])
    df["ts"] = pd.to_datetime(df["ts"].astype("int64"), unit="ns", utc=True)
    for c in ("client_ip", "event", "cause", "recipient", "sasl_username", "source"):
        df[c] = df[c].astype("string[pyarrow]")
    return df.sort_values("ts", kind="stable").reset_index(drop=True)


def _params(hourly: int) -> dict:
    params = default_params()
    params["abuse"].update(sasl_failures=hourly, sasl_critical=hourly * 2, unknown_recipients=hourly,
                           relay_attempts=hourly)
    params["concentration"].update(client_min_rejects=3, client_min_share=0.15)
    params["long_window"].update(sasl_per_day=8, sasl_per_span=15, min_days=2, unknown_per_day=6, unknown_per_span=12,
                                 network_min_ips=2, network_ip_min=3, critical_days=3)
    return params


def _ctx(seed: int, hourly: int, categorical: bool, history: bool) -> Context:
    r = random.Random(seed)
    ev = _table(seed, r.randrange(50, 900), r.randrange(1, 5), "2026-11-20T00:00Z")
    hist = _table(seed + 1, r.randrange(0, 700), r.randrange(1, 8), "2026-11-10T00:00Z") if history else ev.iloc[0:0]
    hist = hist[(hist["ts"] < ev["ts"].min()).to_numpy()]
    if categorical:  # the weekly hands the rows' client addresses over as Categoricals of sorted categories
        both = pd.concat([hist["client_ip"], ev["client_ip"]]).dropna().unique()
        dtype = pd.CategoricalDtype(sorted(both))
        ev, hist = ev.assign(client_ip=ev["client_ip"].astype(dtype)), hist.assign(client_ip=hist["client_ip"].astype(dtype))
        # and the recipients too (the dictionary attacks' distinct recipients counted on their codes)
        rcpt = pd.CategoricalDtype(sorted(pd.concat([hist["recipient"], ev["recipient"]]).dropna().unique()))
        ev, hist = ev.assign(recipient=ev["recipient"].astype(rcpt)), hist.assign(recipient=hist["recipient"].astype(rcpt))
        # and the causes as the report's rows hold them, categories not sorted (a mode's tie goes
        # to the first category)
        causes = pd.CategoricalDtype(_CAUSES[::-1])
        ev, hist = ev.assign(cause=ev["cause"].astype(causes)), hist.assign(cause=hist["cause"].astype(causes))
    bucket = pd.Timedelta(minutes=r.choice([60, 30, 90]))
    return Context(events=ev, history=hist, params=_params(hourly), bucket=bucket)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), hourly=st.sampled_from([2, 3, 5, 8]), categorical=st.booleans(),
       history=st.booleans())
def test_codes_find_what_the_group_bys_found(seed: int, hourly: int, categorical: bool, history: bool):
    ctx = _ctx(seed, hourly, categorical, history)
    assert detect_abuse(ctx) == _ref_abuse(ctx)
    assert _client_rejects(ctx) == _ref_client_rejects(ctx)
    assert detect_slow_abuse(ctx) == _ref_slow_abuse(ctx)


@pytest.mark.parametrize("seed", [1, 7, 23])
def test_the_random_tables_do_make_findings(seed: int):
    """The comparison above is not of empty lists: each detector finds something on these tables."""
    found = {d: [] for d in ("abuse", "concentration", "long_window")}
    for s in range(seed, seed + 6):
        ctx = _ctx(s, 3 if s % 2 else 8, s % 3 == 0, True)
        found["abuse"] += detect_abuse(ctx)
        found["concentration"] += _client_rejects(ctx)
        found["long_window"] += detect_slow_abuse(ctx)
    assert all(found.values()), {k: len(v) for k, v in found.items()}
    assert any(f.entity.endswith(("/24", "/64")) for f in found["long_window"])


def test_per_key_counts_lines_and_distinct_values():
    a = np.array([2, 1, 2, 2, 1, 3], dtype=np.int64)
    b = np.array([0, 5, 0, 1, 5, 0], dtype=np.int64)
    d = np.array([7, -1, 7, 8, -1, -1], dtype=np.int64)
    (ka, kb), n = per_key([a, b])
    assert ka.tolist() == [1, 2, 2, 3] and kb.tolist() == [5, 0, 1, 0] and n.tolist() == [2, 2, 1, 1]
    (ka, kb), n = per_key([a, b], d)
    assert n.tolist() == [0, 1, 1, 0]  # nulls are no value; a key of nulls only counts 0, as nunique
    assert [x.tolist() for x in runs(np.array([30, 0, 10, 50], dtype=np.int64), 10)] == [[0, 10], [30], [50]]
    assert runs(np.zeros(0, dtype=np.int64), 10) == []


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), wide=st.booleans(), nkeys=st.integers(1, 3), with_distinct=st.booleans())
def test_packed_counts_equal_the_lexsort(seed: int, wide: bool, nkeys: int, with_distinct: bool):
    """Packed in one int64 (times of one step: their common step taken out) or too wide for it
    (the lexsort): the same tuples and counts."""
    from analyzer.anomalies.client_counts import _packed, _per_key_lexsort

    r = np.random.default_rng(seed)
    n = int(r.integers(1, 400))
    keys = [r.integers(0, 7, n).astype(np.int64)]
    if nkeys > 1:  # bucket starts in ns: a large common step
        keys.append(1_764_000_000 * 10**9 + r.integers(0, 50, n).astype(np.int64) * 3_600 * 10**9)
    if nkeys > 2:
        keys.append(r.integers(0, 2**62 if wide else 30, n).astype(np.int64))
    d = r.integers(-1, 12, n).astype(np.int64) if with_distinct else None
    got, want = per_key(keys, d), _per_key_lexsort(keys, d)
    assert [k.tolist() for k in got[0]] == [k.tolist() for k in want[0]]
    assert got[1].tolist() == want[1].tolist()
    if nkeys == 2:  # a bucket's ns take few bits once their common step is out
        assert _packed(keys) is not None
    if wide and nkeys > 2 and int(np.ptp(keys[2])) >= 2**56 and int(np.gcd.reduce(keys[2] - keys[2].min())) == 1:
        assert _packed(keys) is None  # (with no common step to take out: two lines' one step fits)


@pytest.mark.parametrize("seed", [1, 2])
def test_distinct_counts_over_many_slices_equal_the_group_by(seed: int):
    """Lines over several of the slices the packed tuples are made and compacted in (its distinct
    tuples written over the packed array's start, the values' nulls counted a slice at a time),
    some of them kept (``sel``): ``nunique`` per key of a group-by of the kept lines."""
    from analyzer.anomalies.client_counts import _CHUNK

    r = np.random.default_rng(seed)
    n = 3 * _CHUNK + 1234
    key, step = r.integers(0, 40, n).astype(np.int32), r.integers(0, 9, n).astype(np.int32)
    value = r.integers(-1, 90_000, n).astype(np.int32)  # (a field over 16 bits; -1 null)
    sel = r.random(n) < 0.7
    (kk, ks), got = per_key([key, step], value, sel=sel)
    frame = pd.DataFrame({"k": key[sel], "s": step[sel], "v": pd.Series(value[sel]).replace(-1, np.nan)})
    want = frame.groupby(["k", "s"])["v"].nunique()
    assert len(want) == 40 * 9
    assert list(zip(kk.tolist(), ks.tolist(), strict=True)) == list(want.index)
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("dtype", ["datetime64[ns, UTC]", "datetime64[us, UTC]", "timestamp[us, tz=UTC][pyarrow]",
                                   "timestamp[ns, tz=UTC][pyarrow]", "timestamp[s, tz=UTC][pyarrow]"])
@pytest.mark.parametrize("nulls", [False, True])
def test_times_at_are_the_times_in_ns(dtype: str, nulls: bool):
    from analyzer.anomalies.aggregates import _seconds_ns
    from analyzer.anomalies.client_counts import times_at

    t = pd.Series(pd.to_datetime(["2026-11-23 10:00:01", "2026-11-23 10:59:59", "2026-11-24 00:00:00",
                                  "2026-11-25 13:14:15"], utc=True))
    if nulls:
        t[1] = pd.NaT
    t = t.astype(dtype)
    pos = np.array([3, 0, 1], dtype=np.int64)
    assert times_at(t, pos).tolist() == _seconds_ns(t.iloc[pos])[1].tolist()
    assert times_at(t, np.zeros(0, dtype=np.int64)).tolist() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=80), st.data())
def test_lines_of_each_client_are_its_lines_in_order(clients: list[int], data):
    """abuse._lines_of: of some lines, each wanted client's, in line order (what the mask
    ``lines & (client == c)`` selected before)."""
    from analyzer.anomalies.abuse import _lines_of

    client = np.array(clients, dtype=np.int64)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(client), max_size=len(client))), dtype=bool)
    wanted = data.draw(st.lists(st.integers(0, 7), unique=True))
    got = _lines_of(np.flatnonzero(mask), client, wanted)
    assert sorted(got) == sorted(wanted)
    for c in wanted:
        assert got[c].tolist() == np.flatnonzero(mask & (client == c)).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_lines_read_at_positions_as_at_a_mask(seed: int):
    """Lines.distinct/span/mode/evidence given the positions of some lines say what they say
    given those lines' mask."""
    from analyzer.anomalies.client_counts import Lines

    rng = np.random.default_rng(seed)
    n = 300
    df = pd.DataFrame({
        "ts": pd.Series(pd.Timestamp("2026-11-23", tz="UTC") + pd.to_timedelta(rng.integers(0, 86400, n), unit="s")),
        "cause": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        "sasl_username": pd.Series(rng.choice(["u1", "u2", None], n), dtype="string[pyarrow]"),
        "source": pd.Series(rng.choice(["f", None], n, p=[0.8, 0.2]), dtype="string[pyarrow]"),
        "line_no": pd.Series(np.arange(n), dtype="int64[pyarrow]"),
    })
    lines = Lines.of(df, rng.random(n) < 0.7)
    for _ in range(20):
        mask = rng.random(len(lines.pos)) < rng.random()
        if not mask.any():
            continue
        at = np.flatnonzero(mask)
        assert lines.distinct(df, "sasl_username", at) == lines.distinct(df, "sasl_username", mask)
        assert lines.span(df, at) == lines.span(df, mask)
        assert lines.mode(df, "cause", at) == lines.mode(df, "cause", mask)
        assert lines.evidence(df, at, 5) == lines.evidence(df, mask, 5)
