"""A retry-wait line whose recipient has no domain (a local user) and quotes none is not explained by
another message's error: rows without a domain share no key (attribution._domains gave "" for all
of them, so the last domainless error of the run was taken). Both the frame path and the stream's
classifier, with both engines' batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from analyzer import attribution
from analyzer.class_cache import Groups, class_key
from analyzer.classify_stream import StreamClassifier
from analyzer.reader import open_stream
from tests.test_diagnosis import lines_of

FULL = ("2026-11-29 15:55:28 1xXhFQ-0003ra-17 == alice R=localuser T=local_delivery defer (-22): mailbox is full "
        "(MTA-imposed quota exceeded while writing to /var/mail/alice)")
WAIT = "2026-11-29 15:56:22 1xXhFR-0003t9-0m == {rcpt} R=localuser T=local_delivery defer (-54) DT=0s: retry time not reached"


def test_domains_are_null_where_none_is_known():
    t = pa.table({"recipient": ["a@B.example", "root", None, "x@"],
                  "reply_text": [None, None, "retry time not reached for any host for 'q.example'", None]})
    got = attribution._domains(t, np.arange(4)).to_pylist()
    # a local user and "x@" know no domain; the third row's quoted one is taken
    assert got == ["b.example", None, "q.example", None]


def test_quoted_domain_is_taken_where_the_recipient_has_none():
    t = pa.table({"recipient": [None], "reply_text": ["retry time not reached for any host for 'q.example'"]})
    assert attribution._domains(t, np.arange(1)).to_pylist() == ["q.example"]


def test_local_wait_is_not_explained_by_another_users_error():
    ev = lines_of(FULL, WAIT.format(rcpt="bob"))
    assert ev.iloc[0]["cause"] == "mailbox.full"
    wait = ev.iloc[1]
    assert (wait["cause"], wait["action"]) == ("queue.earlier_error_unseen", "waiting_retry")
    assert wait.isna()["cause_ref"]


def test_same_domain_still_carries_the_error():
    """The mend does not cut real attribution: a wait for the failing domain still takes its error."""
    ev = lines_of(FULL.replace("== alice", "== alice@full.example"), WAIT.format(rcpt="bob@full.example"))
    assert ev.iloc[1]["cause"] == "mailbox.full"
    assert ev.iloc[1]["cause_ref"] == "<lines>:1"


@pytest.mark.parametrize("engine", ["python", "native"])
def test_stream_classifier_agrees(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    log = tmp_path / "mainlog"
    log.write_text(FULL + "\n" + WAIT.format(rcpt="bob") + "\n")
    table = pa.concat_tables([b.table for b in open_stream([str(log)], tz="UTC", year=2026, workers=1)])
    assert table.num_rows == 2
    clf = StreamClassifier()
    outs = clf.classify_many([table], [Groups.of(class_key(table))])
    if clf.tail is not None:  # (the last line may be held back to the next call: its table is narrower)
        outs.append(clf.tail)
    causes = {n: c for t in outs for n, c in zip(t.column("line_no").to_pylist(), t.column("cause").to_pylist(), strict=True)}
    assert causes[1] == "mailbox.full"
    assert causes[2] == "queue.earlier_error_unseen"
