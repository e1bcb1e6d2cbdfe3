"""The reply evaluation set (bench/replies/) is well formed and split cleanly, and the two scoring
scripts (bench/eval_classify.py, bench/eval_samples.py) count what they claim to count."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
REPLIES = BENCH / "replies"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPLIES))

import eval_classify  # noqa: E402
import eval_samples  # noqa: E402
import split  # noqa: E402

from analyzer.classify import default_rules  # noqa: E402

FIELDS = {"id": str, "text": str, "provider": str, "direction": str, "expected_cause": str,
          "family": str, "proposed": bool, "meaning": str, "meaning_by": str, "source": str,
          "licence": str}


def _load(part: str) -> list[dict]:
    return eval_classify.load(REPLIES / f"{part}.jsonl")


@pytest.fixture(scope="module")
def parts() -> dict[str, list[dict]]:
    return {p: _load(p) for p in ("dev", "heldout")}


def _proposed_in_readme() -> set[str]:
    text = (REPLIES / "README.md").read_text(encoding="utf-8")
    section = text.split("### Causes proposed", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_.]+)` \|", section, re.MULTILINE))


def test_every_record_has_its_fields(parts):
    """Each record has every field with the right type; id is the text's hash; family is the prefix."""
    for part, recs in parts.items():
        for r in recs:
            for name, typ in FIELDS.items():
                assert isinstance(r.get(name), typ), (part, r.get("id"), name)
                if typ is str:
                    assert r[name].strip(), (part, r["id"], name)
            assert r["id"] == hashlib.sha256(r["text"].encode()).hexdigest()[:12], r["id"]
            assert r["family"] == r["expected_cause"].split(".")[0], r["id"]
            assert r["direction"] in ("inbound", "outbound", "local"), r["id"]
            assert r["meaning_by"] in ("source", "evalset"), r["id"]


def test_size_and_breadth(parts):
    """At least 500 distinct reply texts from at least 40 named providers or servers."""
    recs = parts["dev"] + parts["heldout"]
    assert len({r["text"] for r in recs}) >= 500
    assert len(recs) == len({r["text"] for r in recs}), "a text appears twice"
    named = {r["provider"] for r in recs if not r["provider"].startswith("unidentified")}
    assert len(named) >= 40, sorted(named)


def test_no_text_in_both_parts(parts):
    """The development and held-out parts share no reply text."""
    dev = {r["text"] for r in parts["dev"]}
    assert not dev & {r["text"] for r in parts["heldout"]}


def test_split_follows_the_rule_and_covers_families(parts):
    """Both files follow split.py's rule, and every family with two or more records is in both parts."""
    assert split.mismatches() == []
    fams = {p: Counter(r["family"] for r in recs) for p, recs in parts.items()}
    for fam in set(fams["dev"]) | set(fams["heldout"]):
        if fams["dev"][fam] + fams["heldout"][fam] >= 2:
            assert fams["dev"][fam] and fams["heldout"][fam], fam
    unpinned_dev = [r for r in parts["dev"] if r.get("split") != "dev"]
    share = len(parts["heldout"]) / (len(unpinned_dev) + len(parts["heldout"]))
    assert 0.3 < share < 0.5
    assert not any(r.get("split") for r in parts["heldout"]), "a held-out record is pinned"


def test_expected_causes_exist_or_are_proposed(parts):
    """Every expected (and also-accepted) cause is in the knowledge base or listed as proposed in the README."""
    known = set(default_rules().causes)
    proposed = _proposed_in_readme()
    assert proposed, "README lists no proposed causes section"
    for r in parts["dev"] + parts["heldout"]:
        assert r["expected_cause"] in known or (r["proposed"] and r["expected_cause"] in proposed), r["id"]
        for c in r.get("also_accept", []):
            assert c in known, (r["id"], c)


# ----------------------------------------------------------------------------- eval_classify

def _slice() -> tuple[list[dict], list[dict]]:
    """Ten hand-made records with a fake classifier's answers in 'fake'."""
    def rec(i, cause, fake, prov="P"):
        return {"id": f"{i:012x}", "text": f"550 reply {i}", "provider": prov, "direction": "outbound",
                "expected_cause": cause, "family": cause.split(".")[0], "proposed": False,
                "meaning": "m", "meaning_by": "source", "source": "s", "licence": "MIT", "fake": fake}
    dev = [rec(1, "mailbox.unknown", "mailbox.unknown"), rec(2, "mailbox.unknown", "mailbox.full"),
           rec(3, "mailbox.full", "mailbox.full"), rec(4, "auth.dmarc", "auth.dmarc"),
           rec(5, "auth.spf", "auth.dmarc"), rec(6, "network.timeout", "session.timeout")]
    dev[5]["also_accept"] = ["session.timeout"]
    held = [rec(7, "relay.denied", "relay.denied"), rec(8, "relay.denied", "unknown"),
            rec(9, "reputation.ip_listed", "reputation.ip_listed"),
            rec(10, "reputation.poor", "policy.rejected")]
    held[1]["text"] = "554 SECRET-HELDOUT-TEXT"
    return dev, held


def _write(path: Path, recs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return path


def test_eval_classify_counts_a_hand_computed_slice(tmp_path, monkeypatch, capsys):
    """On 6 dev and 4 held-out records the script reports 4/6 and 2/4, per family as counted by hand."""
    dev, held = _slice()
    monkeypatch.setattr(eval_classify, "maillens_classifier", lambda: (lambda r: r["fake"]))
    args = ["--dev", str(_write(tmp_path / "d.jsonl", dev)), "--heldout", str(_write(tmp_path / "h.jsonl", held))]
    assert eval_classify.main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["dev"]["records"], out["dev"]["correct"]) == (6, 4)
    assert out["dev"]["families"]["mailbox"] == {"records": 3, "correct": 2, "accuracy": 0.6667}
    assert out["dev"]["families"]["auth"] == {"records": 2, "correct": 1, "accuracy": 0.5}
    assert out["dev"]["families"]["network"]["correct"] == 1  # also_accept counts
    assert (out["heldout"]["records"], out["heldout"]["correct"], out["heldout"]["accuracy"]) == (4, 2, 0.5)
    assert out["heldout"]["misses_per_family"] == {"relay": 1, "reputation": 1}

    assert eval_classify.main([*args, "--min-heldout", "0.95"]) == 1
    text = capsys.readouterr().out
    assert "SECRET-HELDOUT-TEXT" not in text          # held-out misses are never printed
    assert "550 reply 2" in text                        # dev misses are
    assert "held-out: 2/4 correct = 50.0%" in text
    assert eval_classify.main([*args, "--min-heldout", "0.5"]) == 0


def test_eval_classify_dev_part_alone_never_opens_the_heldout_part(tmp_path, monkeypatch, capsys):
    """--part dev scores the development part only: the held-out path is not even opened."""
    dev, _ = _slice()
    monkeypatch.setattr(eval_classify, "maillens_classifier", lambda: (lambda r: r["fake"]))
    args = ["--dev", str(_write(tmp_path / "d.jsonl", dev)), "--heldout", str(tmp_path / "missing.jsonl")]
    assert eval_classify.main([*args, "--part", "dev", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["dev"]
    assert eval_classify.main([*args, "--part", "dev"]) == 0
    text = capsys.readouterr().out
    assert "dev: 4/6 correct" in text and "held-out" not in text
    assert eval_classify.main(args) == 2                  # both parts: the missing file is an error


def test_eval_classify_round_scores_that_round_alone(tmp_path, monkeypatch, capsys):
    """--round N scores only the development records of round N and never opens the held-out part."""
    dev, _ = _slice()
    for r in dev[:3]:
        r["round"] = 5
    monkeypatch.setattr(eval_classify, "maillens_classifier", lambda: (lambda r: r["fake"]))
    args = ["--dev", str(_write(tmp_path / "d.jsonl", dev)), "--heldout", str(tmp_path / "missing.jsonl")]
    assert eval_classify.main([*args, "--round", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["dev"]
    assert (out["dev"]["records"], out["dev"]["correct"]) == (3, 2)   # records 1-3: one miss (2)


def test_round_five_records_are_pinned_and_counted(parts):
    """Round 5's records are all in the development part, pinned, and none repeats a held-out id."""
    r5 = [r for r in parts["dev"] if r.get("round") == 5]
    assert len(r5) == 301
    assert all(r.get("split") == "dev" for r in r5)
    assert not {r["id"] for r in r5} & {r["id"] for r in parts["heldout"]}
    assert not any(r.get("round") for r in parts["heldout"])


def test_split_pins_round_three_records_to_dev():
    """A record marked split=dev stays in dev whatever its hash says, and moves no other record."""
    recs = [{"id": f"{i:08x}0000", "expected_cause": "mailbox.full"} for i in range(0, 100, 7)]
    base = split.assign(recs)
    pinned = [{"id": "00000000aaaa", "expected_cause": "mailbox.full", "split": "dev"}]  # hash says held out
    after = split.assign(recs + pinned)
    assert after["00000000aaaa"] == "dev"
    assert {k: v for k, v in after.items() if k != "00000000aaaa"} == base


def test_eval_classify_uses_maillens_explain(tmp_path, capsys):
    """With the real classifier, the script's counts equal explain()'s answers on a 10-record slice."""
    from analyzer.explain import UnknownQuery, explain

    dev, held = _load("dev")[:5], _load("dev")[-5:]
    args = ["--dev", str(_write(tmp_path / "d.jsonl", dev)), "--heldout", str(_write(tmp_path / "h.jsonl", held))]
    assert eval_classify.main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)

    def cause(text):
        try:
            return explain(text)["cause"]
        except UnknownQuery:
            return "unknown"
    for name, recs in (("dev", dev), ("heldout", held)):
        hits = sum(cause(r["text"]) in [r["expected_cause"], *r.get("also_accept", [])] for r in recs)
        assert out[name]["correct"] == hits


# ----------------------------------------------------------------------------- eval_samples

SAMPLES = ROOT / "sample_logs"
SLICE = ["connect-refused", "greeting-521", "greeting-521-noskip", "rcpt-550-unknown-user",
         "eod-552-too-big", "rcpt-556-null-mx", "mail-421", "greeting-421",
         "eod-550-5.7.26-gmail-dmarc", "in-relay-denied"]
#: A stand-in classifier: the cause is a function of the reply code only.
BY_CODE = {521: "host.no_mail", 550: "mailbox.unknown", 552: "message.too_big", 421: "server.unavailable",
           554: "relay.denied"}


def _fake_classify(events, rules=None, **kw):
    out = events.copy()
    codes = events["reply_code"].astype(object).tolist()
    causes = [BY_CODE.get(int(c), "unknown") if c is not None and not pd.isna(c) else "unknown" for c in codes]
    for name, vals in (("cause", causes), ("outcome", ["x"] * len(causes)), ("fix_id", causes)):
        out[name] = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(vals, pa.string())), index=out.index)
    return out


def _sample_rows() -> list[dict]:
    rows = [json.loads(line) for line in (SAMPLES / "expected" / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["run"] == "postfix" and r["scenario"] in SLICE and r["outcome"] != "sent"]


@pytest.mark.skipif(not (SAMPLES / "expected" / "messages.jsonl").exists(), reason="no sample_logs")
def test_eval_samples_counts_a_hand_computed_slice(tmp_path, monkeypatch, capsys):
    """Ten failed Postfix messages, a code-only stand-in classifier: 6 of 10 get their scripted cause.

    By hand: 521 (deferred and bounced), 550 5.1.1, 552 and 421-at-MAIL match; 554 relay denied
    matches; connection refused (no code), 556 null MX (not in the table), 421 at greeting
    (expected rate.limited) and 550 5.7.26 (expected auth.dmarc) do not.
    """
    rows = _sample_rows()
    assert sorted(r["scenario"] for r in rows) == sorted(SLICE)
    log = Path(rows[0]["log"])
    (tmp_path / "expected").mkdir()
    (tmp_path / log.parent).mkdir(parents=True)
    for f in eval_samples.rotated_set(SAMPLES / log):
        shutil.copy(f, tmp_path / log.parent / f.name)
    _write(tmp_path / "expected" / "messages.jsonl", rows)
    import importlib
    monkeypatch.setattr(importlib.import_module("analyzer.classify"), "classify", _fake_classify)
    assert eval_samples.main(["--root", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] == {"messages": 10, "correct": 6}
    got = {m["scenario"]: m["ok"] for m in out["messages"]}
    assert got == {"connect-refused": False, "greeting-521": True, "greeting-521-noskip": True,
                   "rcpt-550-unknown-user": True, "eod-552-too-big": True, "rcpt-556-null-mx": False,
                   "mail-421": True, "greeting-421": False, "eod-550-5.7.26-gmail-dmarc": False,
                   "in-relay-denied": True}
    assert eval_samples.main(["--root", str(tmp_path), "--min", "0.97"]) == 1
    assert "failed messages with the expected cause: 6/10 = 60.0%" in capsys.readouterr().out


def test_eval_samples_maps_every_shipped_scenario():
    """Every scenario in the shipped expected files has an expected cause (table or MX answer)."""
    for exp in eval_samples.find_expected(SAMPLES):
        for line in open(exp, encoding="utf-8").read().splitlines():  # noqa: SIM115 - a small file read whole
            r = json.loads(line)
            if r["outcome"] in eval_samples.FAILED:
                assert eval_samples.expected_causes(r)[0], r["scenario"]


def test_add_round_drops_texts_in_either_part_and_pins_the_rest():
    """add_round.build: a text already in dev, a text whose id is a held-out id and a repeated
    candidate are dropped; the others get their id, family, split=dev and round."""
    import add_round

    def cand(text, cause="mailbox.full"):
        return {"text": text, "provider": "P", "expected_cause": cause, "meaning": "m",
                "meaning_by": "source", "source": "s", "licence": "MIT"}
    dev = [{"id": split.record_id("552 in dev"), "text": "552 in dev"}]
    held = {split.record_id("552 held out")}
    new, dropped = add_round.build(
        [cand("552 in dev"), cand("552 held out"), cand("552 new"), cand("552 new"),
         cand("550 other", "no.such.cause")], dev, held, 5, known_causes={"mailbox.full"})
    assert dropped == {"in dev": 1, "in held-out": 1, "repeated": 1}
    assert [r["text"] for r in new] == ["552 new", "550 other"]
    assert new[0]["id"] == split.record_id("552 new") and new[0]["family"] == "mailbox"
    assert (new[0]["split"], new[0]["round"], new[0]["proposed"]) == ("dev", 5, False)
    assert new[1]["proposed"] is True
    with pytest.raises(ValueError):
        add_round.build([{"text": "x"}], dev, held, 5)
