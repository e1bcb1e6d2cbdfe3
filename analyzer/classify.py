"""Classify every event: reply class, outcome, cause, provider, severity and the fix to show.

``classify(events)`` returns the event table with :data:`analyzer.schema.CLASS_COLUMNS` appended.
It is vectorized: reply texts are normalised by RE2 passes over the distinct texts (addresses,
IPs, ids and the opaque tokens of well-known replies masked: :func:`mask_texts`),
the few distinct combinations of (event, status, code, enhanced code, stage, quit, text,
provider) are classified against the knowledge base, and the answers are mapped back by index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analyzer import schema
from analyzer.evidence import rule_evidence, verdict_causes
from analyzer.lazy import lazy_module
from analyzer.mask_patterns import DETAIL_IGNORED, MASK, MASKED, OPAQUE  # (held without pyarrow, re-exported)
from analyzer.quoted import best_with_quoted
from analyzer.rulematch import match as _match
from analyzer.rules import KnowledgeBase, RulesError, load_rules, shipped_rules
from analyzer.rules._load import parse_status

pd = lazy_module("pandas")  # imported when first used (analyzer.lazy)

__all__ = ["KnowledgeBase", "RulesError", "classify", "load_rules", "reply_class", "rule_evidence"]

#: The line prefixes inside a multi-line reply joined into one ('550-5.7.1 The IP you are using
#: is not authorized to 550-5.7.1 send email directly'): removed so a phrase split across lines
#: reads whole. Only inside the text (after a word, never after 'said:'), so the reply's own
#: leading code stays where the code is read from the text.
CONTINUATION = r"([^:\s])\s+[2-5]\d\d-(?:[245]\.\d{1,3}\.\d{1,3}\s)?"


STATUS_OUTCOME = {
    "sent": "ok", "deliverable": "ok", "established": "ok", "suppressed": "ok",
    "deferred": "transient_failure", "tempfailed": "transient_failure",
    "bounced": "permanent_failure", "expired": "permanent_failure",
    "rejected": "permanent_failure", "undeliverable": "permanent_failure",
}
#: Events whose `status` is the MTA's verdict on the mail (and so decides the outcome).
VERDICT_EVENTS = frozenset({"delivery", "reply", "verify", "reject", "expired", "tls",
                            "connect_failure", "auth_failure", "screen"})
CLASS_OUTCOME = {"2xx": "ok", "3xx": "ok", "4xx": "transient_failure",
                 "5xx": "permanent_failure"}

#: What the MTA did with the mail (the `action` column), by the event's status ...
STATUS_ACTION = {
    "sent": "delivered", "deliverable": "delivered", "suppressed": "delivered",
    "deferred": "retrying", "tempfailed": "retrying",
    "bounced": "bounced", "undeliverable": "bounced", "failed": "bounced",
    "rejected": "rejected", "expired": "expired",
}
EVENT_ACTION = {"reject": "rejected", "expired": "expired", "frozen": "frozen"}
ACTION_EVENTS = frozenset({"delivery", "reply", "verify", "expired", "reject", "frozen"})
#: ... refined by the wrapper phrase: deferred without an attempt, or given up for good.
WAIT_TEXT = (r"retry time not (yet )?reached|retry timeout not reached|delivery temporarily "
             r"suspended|have been failing for a long time \(and retry time not reached\)")
EXPIRE_TEXT = (r"retry timeout exceeded|have been failing for a long time|message expired|"
               r"too long in (the )?queue|returned to sender")
#: The name of the host a wrapper names ('host mx.example[~] said:', 'lost connection with
#: mx.example[~]'): masked for rule matching, so a host called spamfilter.example is no reason.
HOST_IN_WRAPPER = r"\b((?:host|with|to|from) )[^\s\[\]]+(\[~\])"

_CODE_IN_TEXT = re.compile(r"(?:^|said:\s*|:\s|^(?:smtp|x-[\w-]+)\s*;\s*|\bwith\s)([2-5]\d\d)(?:[ -]|$)",
                           re.I)
_ENH_AFTER_CODE = re.compile(r"\b[2-5]\d\d[ -]+(?:\S+ )?([245]\.\d{1,3}\.\d{1,3})(?![\d.]*\d)")
_ENH_ANY = re.compile(r"(?<![\w.])#?([245]\.\d{1,3}\.\d{1,3})(?![\d.]*\d)")

#: Events that carry a remote server's answer to us: the only ones a known reply may explain.
KNOWN_REPLY_EVENTS = frozenset({"reply", "delivery", "verify"})

_KB: KnowledgeBase | None = None


def default_rules() -> KnowledgeBase:
    """The shipped knowledge base, loaded once."""
    global _KB
    if _KB is None:
        _KB = shipped_rules()  # the one `maillens` commands load too (cli._app.load_kb)
    return _KB


def mask_texts(texts: pa.Array) -> pa.Array:
    """Texts as the classifier reads them: :data:`MASK` then :data:`OPAQUE` masked (the
    classification key hashes this form, :func:`analyzer.class_cache.class_key`). Where the
    native core runs, its masker does it (:func:`_masked_natively`); the passes below are the
    specification."""
    done = _masked_natively(texts)
    if done is not None:
        return done
    texts = pc.replace_substring_regex(texts, MASK, MASKED)
    for literal, pattern, replacement in OPAQUE:
        if literal is None:
            texts = pc.replace_substring_regex(texts, pattern, replacement)
            continue
        hit = pc.fill_null(pc.match_substring(texts, literal), False)
        if pc.any(hit).as_py():
            texts = pc.replace_with_mask(texts, hit, pc.replace_substring_regex(texts.filter(hit), pattern, replacement))
    return texts


#: The patterns the native masker is built from (analyzer.native.masker): these, as they are at import.
_MASKED_BY = (MASK, MASKED, OPAQUE)


def _masked_natively(texts: Any) -> pa.Array | None:
    """:func:`mask_texts` of a string array by the native masker (the fold's: patterns compiled
    once, not at each call; native/src/pclass3_mask.rs); None where it does not run (the
    Python engine, no masker, another type)."""
    from . import native

    if MASK is not _MASKED_BY[0] or MASKED is not _MASKED_BY[1] or OPAQUE is not _MASKED_BY[2]:
        return None  # (the patterns changed since: a test's; the native masker is built once from these)
    m = native.masker()
    fn = getattr(native._module()[0], "mask_texts", None) if m is not None else None
    if fn is None or not isinstance(texts, pa.Array) or texts.type != pa.string():
        return None
    off, data = fn(m, *native._string_views_of(texts))
    out = pa.StringArray.from_buffers(len(texts), pa.py_buffer(off), pa.py_buffer(data))
    return pc.if_else(pc.is_valid(texts), out, pa.scalar(None, pa.string())) if texts.null_count else out


def reply_class(code: int | None) -> str | None:
    """'2xx' ... '5xx' for a reply code; None for no code or a code outside 2xx-5xx."""
    if code is None or not 200 <= int(code) <= 599:
        return None
    return f"{int(code) // 100}xx"


# --------------------------------------------------------------------------------------------
# columnar helpers


def _column(events: pd.DataFrame, name: str) -> pa.Array:
    typ = schema.SCHEMA.field(name).type
    if name not in events.columns:
        return pa.nulls(len(events), typ)
    s = events[name]
    arr: Any = s.array.__arrow_array__() if isinstance(s.dtype, pd.ArrowDtype) else \
        pa.array(s.to_numpy(dtype=object), from_pandas=True)
    return _one_array(arr, typ)


def _one_array(arr: pa.Array | pa.ChunkedArray, typ: pa.DataType) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr if arr.type == typ else arr.cast(typ)


def _key_table(events: pd.DataFrame) -> pa.Table:
    """The columns classify reads (:data:`analyzer.class_cache.CLASS_KEY`) of a frame, as Arrow
    arrays of the event schema's types (nulls for a column the frame lacks)."""
    from analyzer.class_cache import CLASS_KEY

    return pa.table({name: _column(events, name) for name in CLASS_KEY})


def _table_column(table: pa.Table, name: str) -> pa.Array:
    typ = schema.SCHEMA.field(name).type
    if name not in table.column_names:
        return pa.nulls(table.num_rows, typ)
    return _one_array(table.column(name), typ)


def _factorize(table: pa.Table, name: str, as_list: bool = True) -> tuple[np.ndarray, Any]:
    """Integer codes (0 = null, i+1 = vocab[i]) and the distinct values (list or Arrow array),
    distinct values in the order first seen (as pandas' factorize)."""
    if name not in table.column_names:
        codes, uniq = np.zeros(table.num_rows, dtype=np.int64), pa.array([], pa.string())
    else:
        enc = pc.dictionary_encode(_table_column(table, name))
        codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64) + 1
        uniq = enc.dictionary
    return codes, (uniq.to_pylist() if as_list else uniq)


def _factorize_list(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """pandas' factorize of a list of hashable values: codes (-1 for None) and the distinct values."""
    seen: dict[Any, int] = {}
    codes = np.fromiter((-1 if v is None else seen.setdefault(v, len(seen)) for v in values), dtype=np.int64,
                        count=len(values))
    return codes, list(seen)


@dataclass
class _Uniques:
    """The distinct combinations to classify, one numpy array per key (U long)."""

    cols: dict[str, np.ndarray]
    vocab: dict[str, list[Any]]
    inverse: np.ndarray


def _combine(cols: dict[str, np.ndarray], sizes: dict[str, int]) -> _Uniques:
    """The distinct combinations of the codes ``cols`` (their order does not matter: each is
    classified on its own) and each row's one."""
    names = list(cols)
    total = 1
    for n in names:
        total *= sizes[n]
    if total < 2**62:
        key = np.zeros(len(next(iter(cols.values()))), dtype=np.int64)
        for n in names:
            key = key * sizes[n] + cols[n]
        uniq, inverse = np.unique(key, return_inverse=True)
        out: dict[str, np.ndarray] = {}
        for n in reversed(names):
            uniq, out[n] = np.divmod(uniq, sizes[n])
        return _Uniques({n: out[n] for n in names}, {}, inverse.reshape(-1))
    # Too many combinations for one int64 key: factorize pairwise.
    key = cols[names[0]]
    for n in names[1:]:
        _, key = np.unique(key * sizes[n] + cols[n], return_inverse=True)
        key = key.reshape(-1).astype(np.int64)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return _Uniques({n: cols[n][first] for n in names}, {}, inverse.reshape(-1))


def host_patterns(kb: KnowledgeBase) -> tuple[tuple[str, str], ...]:
    """The providers' relay host signatures, (provider id, pattern), in the table's order."""
    return tuple((pid, p["host"]) for pid, p in kb.providers.items() if p.get("host"))


@lru_cache(maxsize=8)
def _compiled_hosts(pats: tuple[tuple[str, str], ...]) -> list[tuple[str, re.Pattern[str]]]:
    return [(pid, re.compile(p, re.I)) for pid, p in pats]


#: Relay host -> provider, per set of signatures: a day has a few hundred relay hosts, seen in
#: every batch (bounded: emptied when it holds more than _HOSTS_HELD hosts).
_HOST_PROVIDER: dict[tuple[tuple[str, str], ...], dict[str, str | None]] = {}
_HOSTS_HELD = 100_000


def _provider_of_hosts(kb: KnowledgeBase, hosts: list[str]) -> list[str | None]:
    """The provider each relay host names (the first signature that matches; None for none)."""
    key = host_patterns(kb)
    pats = _compiled_hosts(key)
    held = _HOST_PROVIDER.setdefault(key, {})
    if len(held) > _HOSTS_HELD:
        held.clear()
    out: list[str | None] = []
    for h in hosts:
        if h not in held:
            held[h] = next((pid for pid, rx in pats if h and rx.search(h)), None)
        out.append(held[h])
    return out


def _provider_texts(kb: KnowledgeBase) -> list[tuple[str, str]]:
    return [(pid, p["text"]) for pid, p in kb.providers.items() if p.get("text")]


def compile_patterns(kb: KnowledgeBase) -> None:
    """Ready now what the first classification call would work out once (the classifier's warm-up runs it on a
    thread): the rules' walk (:func:`analyzer.rulematch.prepare`: their order, the native walk, the screen of
    their patterns and the patterns it cannot screen compiled; the others compile when the screen first lets a
    text through, ~80 of ~570 in a 1M report), the providers' host signatures, the verdict causes, and the
    providers' and wait/give-up phrases compiled where the native core runs them."""
    from analyzer.rule_sets import compile_all
    from analyzer.rulematch import prepare

    prepare(kb)
    _compiled_hosts(host_patterns(kb))
    verdict_causes(kb.rules)
    compile_all((*(p for _, p in _provider_texts(kb)), WAIT_TEXT, EXPIRE_TEXT))


def _text_patterns(kb: KnowledgeBase, texts: pa.Array) -> tuple[list[str | None], np.ndarray, np.ndarray]:
    """Per distinct text: the provider whose signature it holds (the table's first), and whether
    it says the MTA waits (:data:`WAIT_TEXT`) or gave up (:data:`EXPIRE_TEXT`), as lookups by
    text code (0 = no text). The patterns run as the rules' do (:mod:`analyzer.rulematch`: each
    compiled once per process by the native core), ignoring case, nulls matching nothing."""
    from analyzer.rulematch import TextRunner

    provs = _provider_texts(kb)
    found: list[str | None] = [None] * len(texts)
    wait = np.zeros(len(texts) + 1, dtype=bool)
    expire = np.zeros(len(texts) + 1, dtype=bool)
    if not len(texts):
        return found, wait, expire
    hits = TextRunner((*(p for _, p in provs), WAIT_TEXT, EXPIRE_TEXT), texts).hits_every()
    for i, (pid, _) in enumerate(provs):
        for j in np.flatnonzero(hits[i]):
            if found[j] is None:
                found[j] = pid
    wait[1:] = hits[len(provs)]
    expire[1:] = hits[len(provs) + 1]
    return found, wait, expire


def _text_codes(texts: list[str | None]) -> tuple[list[int | None], list[str | None]]:
    codes: list[int | None] = []
    enh: list[str | None] = []
    for t in texts:
        if not t:
            codes.append(None)
            enh.append(None)
            continue
        m = _CODE_IN_TEXT.search(t)
        codes.append(int(m[1]) if m else None)
        m2 = _ENH_AFTER_CODE.search(t) or _ENH_ANY.search(t)
        enh.append(m2[1] if m2 else None)
    return codes, enh


# --------------------------------------------------------------------------------------------
# the classifier


def classify(events: pd.DataFrame, rules: KnowledgeBase | None = None, *,
             rule_ids: bool = False, attribute_causes: bool = True,
             known_replies: Any = None,
             known_directions: tuple[str | None, ...] = ("outbound",)) -> pd.DataFrame:
    """Return ``events`` with the classification columns appended (Arrow-backed dtypes).

    Every row gets a cause ('unknown' only where no rule matches), read in the event's
    direction (a cause's inbound/outbound variant). A remote server's failure reply that the
    rules read only by its code (or not at all) takes the cause of the closest known reply
    (:mod:`analyzer.similar`) when that one is close enough; a reply a phrase rule matched
    keeps the rule's cause unless a known reply is a near-duplicate that says otherwise.
    ``known_replies`` is the table (None: the shipped one; False: rules only) and
    ``known_directions`` the directions it applies to (known replies are remote servers
    answering us: outbound; explain adds None for a pasted reply). Retry-wait and give-up
    lines then take the cause of the last real error for the same message or domain
    (:func:`analyzer.attribution.attribute`; ``attribute_causes=False`` skips that, for rows
    that are not a whole log). With ``rule_ids=True`` a ``rule_id`` column names the rule
    that decided (``known_reply:<id>`` for a known reply), for tests and debugging.
    """
    kb = rules or default_rules()
    answers = classify_table(_key_table(events), kb, rule_ids=rule_ids, known_replies=known_replies,
                             known_directions=known_directions)
    out = events.copy(deep=False)
    for name in answers.column_names:
        if name != "cause_ref":
            out[name] = pd.Series(pd.arrays.ArrowExtensionArray(answers.column(name).combine_chunks()),
                                  index=events.index)
    from analyzer.attribution import attribute

    return attribute(out, kb) if attribute_causes else attribute(out, kb, only_columns=True)


def classify_table(table: pa.Table, rules: KnowledgeBase | None = None, *, rule_ids: bool = False,
                   known_replies: Any = None, known_directions: tuple[str | None, ...] = ("outbound",)) -> pa.Table:
    """The classification columns of ``table`` (an Arrow table of the event schema's types; the
    columns classify reads, :data:`analyzer.class_cache.CLASS_KEY`, missing ones read as nulls),
    row for row: :data:`analyzer.schema.CLASS_SCHEMA` (``cause_ref`` null: no attribution)
    and, with ``rule_ids``, ``rule_id``. What :func:`classify` appends with
    ``attribute_causes=False``, without pandas (the stream's classifier calls it)."""
    kb = rules or default_rules()
    events = table
    cols: dict[str, np.ndarray] = {}
    vocab: dict[str, list[Any]] = {}
    for key, name in (("event", "event"), ("status", "status"), ("stage", "smtp_stage"),
                      ("mta", "mta"), ("dsn", "dsn"), ("enh_col", "enhanced_code"),
                      ("direction", "direction")):
        cols[key], vocab[key] = _factorize(events, name)

    # The text a rule reads: the reply, else the detail of events where detail is a reason.
    reply_idx, reply_vocab = _factorize(events, "reply_text", as_list=False)
    detail_idx, detail_vocab = _factorize(events, "detail", as_list=False)
    if len(detail_vocab):
        ignored = np.array([True] + [e in DETAIL_IGNORED for e in vocab["event"]])
        use_detail = (reply_idx == 0) & (detail_idx > 0) & ~ignored[cols["event"]]
        raw_idx = np.where(use_detail, detail_idx + len(reply_vocab), reply_idx)
        raw_vocab = pa.concat_arrays([reply_vocab, detail_vocab])
    else:
        raw_idx, raw_vocab = reply_idx, reply_vocab
    norm = pc.replace_substring_regex(mask_texts(raw_vocab), CONTINUATION, r"\1 ")
    norm_enc = pc.dictionary_encode(norm)
    norm_map = np.concatenate([[0], norm_enc.indices.to_numpy(zero_copy_only=False) + 1])
    texts = norm_enc.dictionary
    cols["text"] = norm_map[raw_idx]

    host_idx, hosts = _factorize(events, "relay_host")
    host_prov = _provider_of_hosts(kb, hosts)
    prov_names = sorted(kb.providers)
    prov_code = {p: i + 1 for i, p in enumerate(prov_names)}
    cols["relay_prov"] = np.array([0] + [prov_code.get(p, 0) for p in host_prov])[host_idx]
    code = pc.fill_null(_table_column(events, "reply_code").cast(pa.int64()), -1).to_numpy(
        zero_copy_only=False)
    cols["code"] = np.where((code >= 100) & (code <= 999), code, -1) + 1
    cols["quit"] = pc.fill_null(_table_column(events, "quit").cast(pa.int8()), -1).to_numpy(
        zero_copy_only=False).astype(np.int64) + 1
    sizes = {k: len(vocab[k]) + 1 for k in vocab}
    sizes.update(relay_prov=len(prov_names) + 1, code=1001, quit=3, text=len(texts) + 1)
    uq = _combine(cols, sizes)
    u = uq.cols

    # Per distinct text: codes found in it and the provider it names.
    text_list = texts.to_pylist()
    t_code, t_enh = _text_codes(text_list)
    t_prov, t_wait, t_expire = _text_patterns(kb, texts)
    t_code_arr = np.array([-1] + [c if c is not None else -1 for c in t_code])
    eff_code = np.where(u["code"] > 0, u["code"] - 1, t_code_arr[u["text"]])
    enh_col = [None] + [e if parse_status(e) else None for e in vocab["enh_col"]]
    t_enh_full = [None, *t_enh]
    eff_enh = [enh_col[a] or t_enh_full[b] for a, b in zip(u["enh_col"], u["text"], strict=False)]
    enh_codes, enh_vocab = _factorize_list(eff_enh)
    t_prov_full = [None, *t_prov]
    eff_prov = [prov_names[rp - 1] if rp else t_prov_full[t]
                for rp, t in zip(u["relay_prov"], u["text"], strict=False)]
    p_codes, p_vocab = _factorize_list(eff_prov)
    uu = dict(event=u["event"], status=u["status"], stage=u["stage"], mta=u["mta"],
              dsn=u["dsn"], quit=u["quit"], code=eff_code, text=u["text"],
              enh=enh_codes.astype(np.int64) + 1, provider=p_codes.astype(np.int64) + 1)
    vv = dict(event=vocab["event"], status=vocab["status"], stage=vocab["stage"],
              mta=vocab["mta"], dsn=vocab["dsn"], enh=list(enh_vocab), provider=list(p_vocab))
    rule_texts = pc.replace_substring_regex(texts, HOST_IN_WRAPPER, r"\1~\2")
    best = best_with_quoted(kb, _match, uu, vv, rule_texts)
    verdicts = verdict_causes(kb.rules)
    evidence = [rule_evidence(kb.rules[b], verdicts) if b >= 0 else "unknown" for b in best]
    known, picks = _known_picks(kb, known_replies, evidence, best, eff_code, texts, u,
                                vocab, known_directions)
    wait_hit = t_wait[u["text"]]
    expire_hit = t_expire[u["text"]]
    dir_v = [None] + vocab["direction"]

    # Answers per distinct combination of what they are made of (many combinations differ only in
    # their text and take the same rule: each answer is worked out once)
    ev_v = [None] + vocab["event"]
    st_v = [None] + vocab["status"]
    res: dict[str, list[Any]] = {c.name: [] for c in schema.CLASS_COLUMNS
                                 if c.name != "cause_ref"}
    res["rule_id"] = []
    made_of = np.stack([best, picks, u["direction"], eff_code, u["event"], u["status"], wait_hit, expire_hit,
                        p_codes]).astype(np.int64, copy=False)
    _, first, answer_of = np.unique(made_of, axis=1, return_index=True, return_inverse=True)
    for j in first.tolist():
        rule = kb.rules[best[j]] if best[j] >= 0 else None
        base_id = rule.cause if rule else "unknown"
        rule_id = rule.id if rule else None
        if picks[j] >= 0:
            known_row = known.rows[picks[j]]
            base_id, rule_id, rule = known_row["cause"], f"known_reply:{known_row['id']}", None
        cause_id = kb.cause_for(base_id, dir_v[u["direction"][j]])
        cause = kb.causes[cause_id]
        rc = reply_class(eff_code[j]) if eff_code[j] >= 0 else None
        event, status = ev_v[u["event"][j]], st_v[u["status"][j]]
        res["action"].append(_action(event, status, bool(wait_hit[j]), bool(expire_hit[j])))
        if event == "reject_warning":
            outcome = "info"
        else:
            verdict = STATUS_OUTCOME.get(status) if event in VERDICT_EVENTS else None
            outcome = verdict or CLASS_OUTCOME.get(rc) or cause["outcome"]
        res["reply_class"].append(rc)
        res["outcome"].append(outcome)
        res["cause"].append(cause_id)
        res["provider"].append(eff_prov[j])
        res["severity"].append(cause["severity"])
        fix = rule.fix if rule and rule.fix else base_id
        res["fix_id"].append(kb.fix_for(fix, dir_v[u["direction"][j]]))
        res["rule_id"].append(rule_id)

    names = [c.name for c in schema.CLASS_COLUMNS if c.name in res] + (["rule_id"] if rule_ids else [])
    inverse = pa.array(answer_of.reshape(-1)[uq.inverse].astype(np.int32))
    arrays = {name: pc.take(pa.array(res[name], pa.string()), inverse) for name in names}
    arrays["cause_ref"] = pa.nulls(table.num_rows, pa.string())
    order = [c.name for c in schema.CLASS_COLUMNS if c.name in arrays] + (["rule_id"] if rule_ids else [])
    return pa.table({name: arrays[name] for name in order})


def _known_picks(kb: KnowledgeBase, known_replies: Any, evidence: list[str], best: np.ndarray,
                 eff_code: np.ndarray, texts: pa.Array, u: dict[str, np.ndarray],
                 vocab: dict[str, list[Any]], directions: tuple[str | None, ...]
                 ) -> tuple[Any, np.ndarray]:
    """The table and, per unique combination, the known reply that decides (-1: the rule).

    Only a remote server's failure reply (4xx/5xx, or no code and no success status) in an
    allowed direction is looked up, one query per distinct text."""
    from analyzer import similar

    picks = np.full(len(best), -1, dtype=np.int64)
    if known_replies is False or not len(best):
        return None, picks
    dir_ok = np.array([None in directions] + [d in directions for d in vocab["direction"]])
    ev_ok = np.array([False] + [e in KNOWN_REPLY_EVENTS for e in vocab["event"]])
    st_ok = np.array([True] + [STATUS_OUTCOME.get(s) != "ok" for s in vocab["status"]])
    failing = (eff_code >= 400) & (eff_code <= 599) | ((eff_code < 0) & st_ok[u["status"]])
    cand = dir_ok[u["direction"]] & ev_ok[u["event"]] & failing & (u["text"] > 0)
    if not cand.any():
        return None, picks
    known = similar.default_known_replies() if known_replies is None else known_replies
    if not len(known):
        return known, picks
    wanted = np.unique(u["text"][cand])
    near = similar.kept_nearest(known, texts.take(pa.array(wanted - 1)).to_pylist())
    at = np.full(len(texts) + 1, -1, dtype=np.int64)
    at[wanted] = np.arange(len(wanted))
    for j in np.flatnonzero(cand):
        k = at[u["text"][j]]
        i = int(near.index[k])
        if i < 0:
            continue
        row = known.rows[i]
        rule_cause = kb.rules[best[j]].cause if best[j] >= 0 else "unknown"
        if row["cause"] in kb.causes and known.overrules(
                evidence[j], rule_cause, row, float(near.similarity[k])):
            picks[j] = i
    return known, picks


def _action(event: str | None, status: str | None, wait: bool, expire: bool) -> str | None:
    """What the MTA did with the mail on this line; None for lines that are not about that."""
    if event not in ACTION_EVENTS:
        return None
    if event == "reject":
        return "rejected"  # our server refused (a 4xx reject asks the client to retry)
    if event == "frozen" and "unfrozen" in (status or "").lower():
        return None  # thawed: the fate is decided by the next delivery attempt
    act = STATUS_ACTION.get(status or "") or EVENT_ACTION.get(event or "")
    if act == "retrying" and wait:
        return "waiting_retry"
    if act == "bounced" and expire:
        return "expired"
    return act


# --------------------------------------------------------------------------------------------
# examples: rows built from the knowledge base's own example replies


def example_frame(examples: list[dict[str, Any]]) -> pd.DataFrame:
    """An event table with one row per example (text, code, event, status, quit ...)."""
    cols: dict[str, list[Any]] = {k: [] for k in (
        "event", "status", "reply_code", "enhanced_code", "smtp_stage", "quit", "reply_text",
        "relay_host", "mta", "dsn", "detail", "direction")}
    for ex in examples:
        cols["event"].append(ex.get("event", "reply"))
        cols["status"].append(ex.get("status"))
        cols["reply_code"].append(ex.get("code"))
        cols["enhanced_code"].append(ex.get("enhanced"))
        cols["smtp_stage"].append(ex.get("stage"))
        cols["quit"].append(ex.get("quit"))
        cols["reply_text"].append(ex.get("text") or None)
        cols["relay_host"].append(ex.get("relay_host"))
        cols["mta"].append(ex.get("mta"))
        cols["dsn"].append(ex.get("dsn"))
        cols["detail"].append(ex.get("detail"))
        cols["direction"].append(ex.get("direction"))
    table = pa.table({k: pa.array(v, schema.SCHEMA.field(k).type) for k, v in cols.items()})
    return schema.to_pandas(schema.conform(table))


def check_examples(kb: KnowledgeBase, only_site: bool = False) -> list[str]:
    """One line per rule example that does not end on its own rule (empty when all do)."""
    pairs = [(r, ex) for r in kb.rules if (r.site or not only_site) for ex in r.examples]
    if not pairs:
        return []
    got = classify(example_frame([ex for _, ex in pairs]), kb, rule_ids=True,
                   attribute_causes=False)["rule_id"]
    problems = []
    by_id = {r.id: r for r in kb.rules}
    for (rule, ex), hit in zip(pairs, got.tolist(), strict=False):
        # A code's default rule may be shadowed by an explicit rule saying the same thing.
        implied = rule.source == "codes.toml" and hit in by_id and by_id[hit].cause == rule.cause
        if hit != rule.id and not implied:
            problems.append(f"{rule.source}: rule {rule.id}: example {ex.get('text')!r} "
                            f"matched rule {hit} instead")
    return problems
