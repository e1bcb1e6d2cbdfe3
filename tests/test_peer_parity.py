"""Peer parity: pflogsumm and eximstats, run on the same logs, print the totals analyzer.totals computes.

Both tools are Debian packages (``pflogsumm``, ``exim4-base``); ``.ci/run`` installs them. Every
grand total with the same definition must be equal; the one named difference (eximstats adds
remote servers' replies that mention "rejected"/"refused"/"dropped" to its rejects) is computed
from our events and documented in the README's "Totals and the peers" table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.reader import parse_logs
from analyzer.totals import DEFINITIONS, peer_totals
from tools.peers import (
    EXIMSTATS,
    PF_LABELS,
    PFLOGSUMM,
    concat_rotated,
    generated_day,
    pflogsumm_units,
    run_eximstats,
    run_pflogsumm,
)

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_logs"




@pytest.mark.skipif(PFLOGSUMM is None, reason="pflogsumm not installed (apt-get install pflogsumm)")
@pytest.mark.parametrize("run", ["postfix", "postfix-syslog", "generated"])
def test_pflogsumm_totals_equal(run, tmp_path):
    """Every pflogsumm grand total equals ours, on real-daemon logs and on a generated day."""
    log = generated_day(tmp_path / "generated.postfix.log", "postfix", seed=7) if run == "generated" else \
        concat_rotated(SAMPLES / run, "mail.log", tmp_path / f"{run}.log")
    theirs = run_pflogsumm(log)
    assert set(theirs) == {*PF_LABELS.values(), "deferrals"}
    ours = {k: pflogsumm_units(v) for k, v in peer_totals(parse_logs([str(log)], tz="UTC", year=2026).events)["pflogsumm"].items()}
    diff = {k: (theirs[k], ours[k]) for k in theirs if theirs[k] != ours[k]}
    assert not diff, f"pflogsumm vs maillens (theirs, ours): {diff}"
    assert ours["received"] > 0 and ours["delivered"] > 0 and ours["deferrals"] > 0


@pytest.mark.skipif(EXIMSTATS is None, reason="eximstats not installed (apt-get install exim4-base)")
@pytest.mark.parametrize("run", ["exim", "generated"])
def test_eximstats_totals_equal(run, tmp_path):
    """Every eximstats grand total equals ours; its rejects = ours + remote replies that mention a reject."""
    log = generated_day(tmp_path / "generated.exim.log", "exim", seed=7) if run == "generated" else \
        concat_rotated(SAMPLES / "exim", "mainlog", tmp_path / "mainlog")
    theirs = run_eximstats(log)
    ours = dict(peer_totals(parse_logs([str(log)], tz="UTC", year=2026, fmt="exim").events)["eximstats"])
    ours["rejects"] += ours.pop("remote_reject_mentions")  # the documented difference
    diff = {k: (theirs[k], ours[k]) for k in theirs if theirs[k] != ours[k]}
    assert not diff, f"eximstats vs maillens (theirs, ours): {diff}"
    assert ours["received"] > 0 and ours["rejects"] > 0


def test_every_total_has_a_definition():
    """Each total peer_totals returns is defined in DEFINITIONS and named in the README's peer table."""
    res = parse_logs([str(SAMPLES / "postfix"), str(SAMPLES / "exim")], tz="UTC", year=2026)
    got = peer_totals(res.events)
    assert set(got) == {"pflogsumm", "eximstats"}
    readme = (REPO / "README.md").read_text()
    for tool, totals in got.items():
        for key in totals:
            assert (tool, key) in DEFINITIONS
            assert f"`{key}`" in readme, f"README's peer table lacks {tool} {key}"
