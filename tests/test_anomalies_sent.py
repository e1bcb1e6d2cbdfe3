"""Sent deliveries counted per hour (the weekly report's fold, :mod:`analyzer.anomalies.sent`)
give the detectors the same findings as the same deliveries held as rows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analyzer.anomalies import detect_anomalies
from analyzer.anomalies.aggregates import DELIVERED, ORDER_COLUMN, BulkFold, row_order
from analyzer.anomalies.sent import is_local_sent, is_sent, sent_counts
from analyzer.classify import classify
from analyzer.reader import parse_logs
from bench.generate_logs import generate

INCIDENTS = ["521_burst:acme.example@6h+1h", "microsoft_block@12h+1h", "silence@15h+1h",
             "deferral_buildup@18h+3h"]


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_sent_deliveries_folded_give_the_rows_findings(tmp_path, mta):
    path = tmp_path / f"{mta}.log"
    generate(mta=mta, lines=6000, seed=11, out=path, incidents=INCIDENTS)
    events = classify(parse_logs([str(path)], year=2026, tz="UTC").events)
    want = [f.to_dict() for f in detect_anomalies(events)]
    assert {"failure_spike", "deferral_buildup"} <= {f["detector"] for f in want}

    sent, local = is_sent(events), is_local_sent(events)
    assert sent.sum() > 100 and not (sent & local).any()
    fold = BulkFold()
    fold.add(events, mask=sent | local)
    bulk = dataclasses.replace(fold.result(), sent=sent_counts(events[sent], 3600), sent_step=3600)
    assert (bulk.table["kind"] == DELIVERED).all() and int(bulk.sent["n"].sum()) == int(sent.sum())
    assert int(bulk.table["n"].sum()) == int((sent | local).sum())
    rows = events.assign(**{ORDER_COLUMN: row_order(events)})[~(sent | local)].reset_index(drop=True)
    got = [f.to_dict() for f in detect_anomalies(rows, bulk=bulk)]
    assert got == want


def test_a_bucket_that_is_no_multiple_of_the_step_is_refused(tmp_path):
    from analyzer.anomalies import default_params

    path = tmp_path / "p.log"
    generate(mta="postfix", lines=2000, seed=3, out=path, incidents=[])
    events = classify(parse_logs([str(path)], year=2026, tz="UTC").events)
    sent = is_sent(events)
    fold = BulkFold()
    fold.add(events, mask=sent)
    bulk = dataclasses.replace(fold.result(), sent=sent_counts(events[sent], 3600), sent_step=3600)
    params = default_params()
    params["general"]["bucket"] = 1800
    with pytest.raises(ValueError, match="3600"):
        detect_anomalies(events[~sent], bulk=bulk, params=params)
    assert np.asarray(sent).any()
