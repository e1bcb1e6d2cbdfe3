"""Known replies: real replies with the cause their source gives, and the nearest one to a reply.

The rules (``rules/*.toml``) decide by a phrase, a provider's signature, an enhanced code, a basic
code or a fallback by class. Where they could only read a code, a real reply that says nearly the
same thing knows better: ``rules/known_replies.jsonl`` holds about 1.6k replies quoted by
providers' pages, MTAs' sources and bounce corpora (written by ``tools/build_known_replies.py``
from ``bench/replies/dev.jsonl``), each with its cause, provider and source.

Similarity is TF-IDF cosine over tokens of the reply with addresses, IPs and ids masked (the
classifier's MASK and OPAQUE) and a Postfix wrapper (``host H said:``, ``(in reply to ...)``) removed: the
reply code and its class, the enhanced code and its subject, lower-case words, and character
pairs of Chinese and Japanese text (written without spaces). The :data:`NEIGHBOURS` nearest
known replies vote for their causes, each with its squared similarity: a reply whose close
neighbours disagree is less certain than one whose neighbours agree; how much support overrules
a rule depends on how the rule decided (:data:`THRESHOLDS`, chosen with ``bench/cv_known.py``).
Letters glued to digits are read as an id, not words. Only the first
:data:`MAX_CHARS` characters of a reply are read, so the work per reply is bounded and linear in
its length. A batch of replies is scored with an inverted index (numpy): each token of a query
visits only the known replies holding that token.

Nothing here needs more than numpy and pyarrow (already dependencies): the table is small, and a
sparse-matrix library would add a large dependency for one product.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

__all__ = ["FIELDS", "INDEX", "MAX_CHARS", "NEAR_DUPLICATE", "NEIGHBOURS", "SIMILAR_ENOUGH", "WEAK_EVIDENCE",
           "KnownReplies", "default_known_replies", "index_text", "kept_nearest", "normalise", "overrules", "read_index",
           "rows_from_records", "tokens"]

TABLE = Path(__file__).parent / "rules" / "known_replies.jsonl"
#: A reply longer than this is read up to here (an SMTP reply line is at most 512 octets; a
#: multi-line reply joined into one is rarely longer than a few of them).
MAX_CHARS = 2048
#: How close a known reply must be to overrule a rule that read only a code, a class or the
#: event (or found nothing) ...
SIMILAR_ENOUGH = 0.3
#: ... and to overrule a rule that matched a phrase or a provider's signature: a near-duplicate.
NEAR_DUPLICATE = 0.9
#: The rules' ways of deciding (:func:`analyzer.classify.rule_evidence`) that a close known
#: reply overrules.
WEAK_EVIDENCE = frozenset({"unknown", "context", "class", "code", "enhanced"})
#: Known replies that vote on a query's cause.
NEIGHBOURS = 5
#: Support needed per kind of evidence, where it differs from the two thresholds above. A rule
#: that read only a basic code (or its class), or no rule at all, says little: a known reply
#: sharing a few telling words decides. Chosen with bench/cv_known.py (r12-learn, RESULTS.md):
#: on the rounds replayed with the rules before them, 1135 -> 1156/1454 (table from the other
#: rounds) and 1142 -> 1167/1454 (plus half the round); k-fold with today's rules 1908 -> 1907/1981.
#: A phrase rule whose cause is one the rules also give as a bare verdict (evidence 'verdict',
#: :mod:`analyzer.evidence`: 'policy.rejected', 'server.unavailable' ...) is overruled by a known
#: reply at 0.7 (r14-learn: rounds 1351 -> 1357/1721, mixed 1365 -> 1369, k-fold 2149 -> 2150/2248).
THRESHOLDS: dict[str, float] = {"unknown": 0.1, "code": 0.15, "class": 0.15, "verdict": 0.7}
#: Token features of the shipped model (:func:`tokens`' options).
FEATURES: dict[str, bool] = {"codes": True, "bigrams": False, "stem": False, "stop": False, "ids": False}
#: Queries scored together: bounds the score matrix to CHUNK x table rows.
CHUNK = 256

#: The Postfix wrapper around a remote reply, removed before comparing (RE2, linear).
_WRAPPER_HEAD = r"^.*?\b(?:said|refused to talk to me):\s*"
_WRAPPER_TAIL = r"\s*\(in reply to [^)]*\)\s*\)?$"
_CODE = re.compile(r"\s*([2-5])(\d\d)(?:[\s-]|$)")
_ENHANCED = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w.]*\d)")
_WORD = re.compile(r"[^\W\d_]+")
#: Letters glued to digits (or to "~", what the masks leave of one) are part of an id (a queue
#: id, a ticket, a hash), not words: with ``ids=False`` a run of word characters holding one gives
#: no tokens, so an id the masks do not know changes no similarity.
_CHUNK = re.compile(r"[\w~]+")
_ID_MARK = re.compile(r"[\d~]")
#: Scripts written without spaces between words: read as character pairs.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def normalise(texts: Sequence[str | None]) -> list[str]:
    """Replies as the matcher reads them: masked like the classifier, wrapper removed, lower case,
    cut at :data:`MAX_CHARS` (one vectorised RE2 pass per step)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from analyzer.classify import CONTINUATION, mask_texts

    arr = pa.array([t or "" for t in texts], pa.string())
    arr = pc.utf8_slice_codeunits(arr, 0, MAX_CHARS)
    arr = mask_texts(arr)
    arr = pc.replace_substring_regex(arr, CONTINUATION, r"\1 ")
    arr = pc.replace_substring_regex(arr, _WRAPPER_HEAD, "")
    arr = pc.replace_substring_regex(arr, _WRAPPER_TAIL, "")
    return pc.utf8_lower(arr).to_pylist()


#: Words too common in replies to tell causes apart (dropped with ``stop=True``).
_STOP = ("the a an of to is are was be been for in on at by or and not no this that with from your you "
         "we our it its has have please try again later mail message sender recipient smtp server")
STOP_WORDS = frozenset(_STOP.split())
_SUFFIX = re.compile(r"(?:ing|ed|es|s|ly|ion|ions|ment|ments|er|ers)$")


def _stem(w: str) -> str:
    """A word with a common English ending removed (kept when that leaves fewer than 4 letters)."""
    if len(w) < 6 or not w.isascii():
        return w
    cut = _SUFFIX.sub("", w)
    return cut if len(cut) >= 4 else w


def tokens(text: str, *, codes: bool = True, bigrams: bool = False, stem: bool = False,
           stop: bool = False, ids: bool = False) -> list[str]:
    """The tokens of one normalised reply (see the module's docstring); linear in its length.
    Options (model variants, bench/cv_known.py): ``codes`` the reply and enhanced codes, ``bigrams``
    pairs of adjacent words too, ``stem`` common endings removed, ``stop`` common words dropped,
    ``ids`` letters glued to digits read as words too."""
    text = text[:MAX_CHARS]
    out: list[str] = []
    m = _CODE.match(text)
    if m and codes:
        out += [f"#{m[1]}{m[2]}", f"#{m[1]}xx"]
    e = _ENHANCED.search(text)
    if e and codes:
        out += [f"={e[1]}.{int(e[2])}.{int(e[3])}", f"={e[1]}.{int(e[2])}"]
    words: list[str] = []
    found = _WORD.findall(text) if ids else [
        w for chunk in _CHUNK.findall(text) if not _ID_MARK.search(chunk) for w in _WORD.findall(chunk)]
    for w in found:
        runs = _CJK.findall(w)
        if runs:
            for r in runs:
                out += [r] if len(r) == 1 else [r[i:i + 2] for i in range(len(r) - 1)]
            rest = _CJK.sub(" ", w).split()
            words += [x for x in rest if len(x) > 1]
        elif len(w) > 1:
            words.append(w)
    if stop:
        words = [w for w in words if w not in STOP_WORDS]
    if stem:
        words = [_stem(w) for w in words]
    if bigrams:
        words += [f"{a}_{b}" for a, b in itertools.pairwise(words)]
    return out + words


#: The fields of a known reply, in the table's order.
FIELDS = ("id", "text", "cause", "also_accept", "provider", "source", "licence")


def rows_from_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Known replies from reply evaluation records (``bench/replies/*.jsonl``): the outbound
    ones, sorted by id."""
    out = []
    for rec in records:
        if rec.get("direction", "outbound") != "outbound":
            continue
        row = {"id": rec["id"], "text": rec["text"], "cause": rec["expected_cause"],
               "also_accept": list(rec.get("also_accept", [])), "provider": rec.get("provider", ""),
               "source": rec.get("source", ""), "licence": rec.get("licence", "")}
        out.append({k: row[k] for k in FIELDS})
    return sorted(out, key=lambda r: r["id"])


@dataclass
class Nearest:
    """For each query: the known reply that speaks for the cause its neighbours vote for (the
    closest one of that cause; -1: no known reply shares a token) and the support for that
    cause, 0..1: that reply's cosine similarity times the cause's share of the votes."""

    index: np.ndarray
    similarity: np.ndarray


class KnownReplies:
    """A table of known replies with an inverted index over their TF-IDF vectors."""

    def __init__(self, rows: Sequence[dict[str, Any]], *, similar_enough: float = SIMILAR_ENOUGH,
                 near_duplicate: float = NEAR_DUPLICATE, thresholds: dict[str, float] | None = None,
                 neighbours: int = NEIGHBOURS, power: float = 2.0, index: dict[str, Any] | None = None,
                 **features: bool):
        self.rows: Sequence[dict[str, Any]] = rows if isinstance(rows, _Rows) else list(rows)
        self.similar_enough = similar_enough
        self.near_duplicate = near_duplicate
        self.thresholds = dict(THRESHOLDS if thresholds is None else thresholds)
        self.neighbours = neighbours
        self.power = power
        self.features = {**FEATURES, **features}
        self._by_id: dict[str, int] | None = None  # (made by the first row(): every row read)
        n = len(self.rows)
        #: the weight of a token no known reply holds (it still counts in a query's length)
        self.idf_unseen = math.log(n + 1) + 1.0
        if index is not None:  # precomputed (:func:`read_index`): what _index() would compute
            self.vocab = {t: i for i, t in enumerate(index["vocab"])}
            self.idf, self.indptr = index["idf"], index["indptr"]
            self.post_rows, self.post_vals = index["post_rows"], index["post_vals"]
            return
        self._index()

    def _index(self) -> None:
        """The table's token weights (IDF) and its inverted index (token -> rows, weights)."""
        toks = [self._tokens(t) for t in normalise([r["text"] for r in self.rows])]
        n = len(self.rows)
        df: Counter[str] = Counter()
        for ts in toks:
            df.update(set(ts))
        self.vocab = {t: i for i, t in enumerate(sorted(df))}
        self.idf = np.array([math.log((n + 1) / (df[t] + 1)) + 1.0 for t in sorted(df)])
        by_tok: list[list[tuple[int, float]]] = [[] for _ in self.vocab]
        for row, ts in enumerate(toks):
            vec = self._weights(ts)
            for tok, w in vec.items():
                by_tok[tok].append((row, w))
        lengths = np.array([len(p) for p in by_tok], dtype=np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.post_rows = np.array([r for p in by_tok for r, _ in p], dtype=np.int64)
        self.post_vals = np.array([w for p in by_tok for _, w in p], dtype=np.float64)

    @classmethod
    def load(cls, path: Path = TABLE, index: Path | None = None) -> KnownReplies:
        """The table in a JSONL file (one known reply per line), its index read from ``index``
        (default: :data:`INDEX` for :data:`TABLE`) where that was computed from this very text
        with these features, computed otherwise."""
        raw = path.read_bytes()
        if index is None and path == TABLE:
            index = INDEX
        got = None if index is None else read_index(index, raw)
        # with its index, a row is read when first asked (a classifying run asks a few hundred of
        # ~3.6k: reading them all was ~0.018 CPU-s); without, all are read to index them
        return cls(_Rows(raw) if got is not None else _table_rows(raw), index=got)

    def _tokens(self, text: str) -> list[str]:
        return tokens(text, **self.features)

    def overrules(self, evidence: str, rule_cause: str, row: dict[str, Any], similarity: float) -> bool:
        """:func:`overrules` with this table's thresholds (the classifier asks here)."""
        return overrules(evidence, rule_cause, row, similarity, similar_enough=self.similar_enough,
                         near_duplicate=self.near_duplicate, thresholds=self.thresholds)

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, ident: str) -> dict[str, Any] | None:
        """The known reply with this id."""
        if self._by_id is None:
            self._by_id = {r["id"]: i for i, r in enumerate(self.rows)}
        i = self._by_id.get(ident)
        return None if i is None else self.rows[i]

    def _weights(self, ts: Iterable[str], unseen: list[float] | None = None) -> dict[int, float]:
        """Token index -> L2-normalised weight (1 + log tf) * idf; unseen tokens only add to the
        length (their squared weights are appended to ``unseen`` when given)."""
        counts = Counter(ts)
        vec: dict[int, float] = {}
        norm2 = 0.0
        for t, c in counts.items():
            i = self.vocab.get(t)
            w = (1.0 + math.log(c)) * (self.idf[i] if i is not None else self.idf_unseen)
            norm2 += w * w
            if i is not None:
                vec[i] = w
        norm = math.sqrt(norm2) or 1.0
        return {i: w / norm for i, w in vec.items()}

    def nearest(self, texts: Sequence[str | None], *, normalised: bool = False) -> Nearest:
        """The nearest known reply to each text (raw replies; ``normalised=True`` when already
        passed through :func:`normalise`)."""
        norm = list(texts) if normalised else normalise(texts)
        q = len(norm)
        index = np.full(q, -1, dtype=np.int64)
        sim = np.zeros(q, dtype=np.float64)
        n = len(self.rows)
        if not n or not q:
            return Nearest(index, sim)
        k = min(self.neighbours, n)
        core = self.native_index()
        if core is not None:
            return self._nearest_native(core, norm, k)
        for start in range(0, q, CHUNK):
            size = min(CHUNK, q - start)
            qi, t_arr, wt = self._query_weights(norm[start:start + size])
            if not len(t_arr):
                continue
            lengths = self.indptr[t_arr + 1] - self.indptr[t_arr]
            total = int(lengths.sum())
            if not total:
                continue
            first = np.repeat(self.indptr[t_arr] - np.concatenate([[0], np.cumsum(lengths)[:-1]]),
                              lengths) + np.arange(total)
            rows = self.post_rows[first]
            vals = self.post_vals[first] * np.repeat(wt, lengths)
            qs = np.repeat(qi, lengths)
            scores = np.bincount(qs * n + rows, weights=vals, minlength=size * n).reshape(size, n)
            near = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            near_sims = np.take_along_axis(scores, near, axis=1)
            for r, (rows_r, sims_r) in enumerate(zip(near.tolist(), near_sims.tolist(), strict=True)):
                index[start + r], sim[start + r] = self._vote(*_lowest_of_ties(scores[r], rows_r, sims_r))
        return Nearest(index, sim)

    def native_index(self) -> Any:
        """The native core's copy of this table's index (``analyzer._native.KnownIndex``, made once), None
        where the Python engine runs or the core cannot read these replies' tokens (other features)."""
        if self.features != FEATURES:
            return None
        from analyzer import native

        mod = native._module()[0] if native.engine() == "native" else None
        if mod is None or not hasattr(mod, "KnownIndex"):
            return None
        core = self.__dict__.get("_native")
        if core is None:
            vocab = sorted(self.vocab, key=self.vocab.__getitem__)
            core = self._native = mod.KnownIndex(
                vocab, _le(self.idf, "<f8"), _le(self.indptr, "<i8"), _le(self.post_rows, "<i8"),
                _le(self.post_vals, "<f8"), len(self.rows), float(self.idf_unseen))
        return core

    def _nearest_native(self, core: Any, norm: list[str], k: int) -> Nearest:
        """:meth:`nearest`'s answers from the native core (pclass_near.rs): ASCII texts read into
        tokens there, others here; the neighbours' causes read here (rows are read when asked)."""
        from analyzer import native

        queries = [t if t.isascii() else self._tokens(t) for t in (x or "" for x in norm)]
        rows_b, sims_b = core.neighbours(queries, k)
        # each distinct row's cause read once (a row is read from its line when first asked)
        uniq, at = np.unique(np.frombuffer(rows_b, "<i8"), return_inverse=True)
        codes: dict[str, int] = {}
        of_uniq = np.array([codes.setdefault(self.rows[r]["cause"], len(codes)) if r >= 0 else -1
                            for r in uniq.tolist()], dtype="<i8")
        causes = of_uniq[at.reshape(-1)]
        idx_b, sim_b = native._module()[0].near_vote(rows_b, sims_b, causes.tobytes(), k, float(self.power))
        return Nearest(np.frombuffer(idx_b, "<i8").astype(np.int64), np.frombuffer(sim_b, "<f8").astype(np.float64))

    def _query_weights(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Normalised queries' weights as :meth:`_weights` gives them, for all at once: each
        (query, known token) pair's query, token and weight, queries in order and each one's
        tokens in order of first appearance (the sums below add in the same order)."""
        keys: list[str] = []
        counts: list[int] = []
        per_query: list[int] = []
        for text in texts:
            c = Counter(self._tokens(text or ""))
            keys += c
            counts += c.values()
            per_query.append(len(c))
        ids = np.array([self.vocab.get(t, -1) for t in keys], dtype=np.int64)
        known = ids >= 0
        idf = np.where(known, self.idf[np.where(known, ids, 0)] if len(self.idf) else 0.0, self.idf_unseen)
        w = (1.0 + np.array([math.log(c) for c in counts], dtype=np.float64)) * idf
        query = np.repeat(np.arange(len(texts), dtype=np.int64), per_query)
        norm = np.sqrt(np.bincount(query, weights=w * w, minlength=len(texts)))
        norm[norm == 0] = 1.0
        return query[known], ids[known], w[known] / norm[query[known]]

    def _vote(self, rows: list[int], sims: list[float]) -> tuple[int, float]:
        """(row, support) for one query from its nearest rows and their similarities (voting in order
        of similarity, then row: the sums do not depend on the order the rows come in)."""
        votes: dict[str, float] = {}
        best: dict[str, tuple[float, int]] = {}
        for i, s in sorted(zip(rows, sims, strict=True), key=lambda p: (-p[1], p[0])):
            if s <= 0:
                continue
            cause = self.rows[i]["cause"]
            votes[cause] = votes.get(cause, 0.0) + s ** self.power
            if s > best.get(cause, (0.0, -1))[0] or (s == best[cause][0] and i < best[cause][1]):
                best[cause] = (s, i)
        if not votes:
            return -1, 0.0
        cause = max(votes, key=lambda c: (votes[c], best[c][0], -best[c][1]))
        s, i = best[cause]
        return i, min(1.0, s * votes[cause] / sum(votes.values()))


def _lowest_of_ties(scores: np.ndarray, rows: list[int], sims: list[float]) -> tuple[list[int], list[float]]:
    """A query's ``k`` best rows as ``argpartition`` picked them (``rows``, ``sims``), those equal to the
    k-th best score being the lowest rows of that score (argpartition picks any of them)."""
    kth = min(sims)
    if kth <= 0:  # (rows not above 0 do not vote)
        return rows, sims
    tied = np.flatnonzero(scores == kth)
    have = sum(1 for s in sims if s == kth)
    if len(tied) <= have:
        return rows, sims
    above = [(i, s) for i, s in zip(rows, sims, strict=True) if s > kth]
    rest = tied[:len(rows) - len(above)].tolist()
    return [i for i, _ in above] + rest, [s for _, s in above] + [kth] * len(rest)


def _le(values: np.ndarray, dtype: str) -> bytes:
    return np.ascontiguousarray(values, dtype).tobytes()


def overrules(evidence: str, rule_cause: str, row: dict[str, Any], similarity: float, *,
              similar_enough: float = SIMILAR_ENOUGH, near_duplicate: float = NEAR_DUPLICATE,
              thresholds: dict[str, float] | None = None) -> bool:
    """Whether the known reply ``row`` (at ``similarity``) decides instead of the rule that
    decided by ``evidence`` on ``rule_cause``. Never where the rule already gives one of the
    causes the known reply accepts. ``thresholds`` (evidence -> support needed; None:
    :data:`THRESHOLDS`, ``{}``: none) overrides the two general thresholds for the kinds of
    evidence it names."""
    if rule_cause == row["cause"] or rule_cause in row.get("also_accept", ()):
        return False
    threshold = similar_enough if evidence in WEAK_EVIDENCE else near_duplicate
    per_kind = THRESHOLDS if thresholds is None else thresholds
    if evidence in per_kind:
        threshold = per_kind[evidence]
    return similarity >= threshold


#: The shipped table's index (tokens, IDF, inverted index), written with the table by
#: ``tools/build_known_replies.py`` (:func:`index_text`): tokenising ~2k replies took ~0.15-0.2
#: CPU-s of every classifying run's start. Read only where it was computed from the table's
#: very bytes (its SHA-256), this code's :data:`INDEX_VERSION`, :data:`FEATURES` and
#: :data:`MAX_CHARS`; computed again otherwise (tests/test_similar.py fails when it is stale).
INDEX = TABLE.with_name("known_replies.index.json")
#: Changes when what the index holds, or how replies are read into tokens, changes.
INDEX_VERSION = 1
#: The index's arrays: name, dtype stored (little-endian, base64), dtype in memory.
_ARRAYS = (("idf", "<f8", np.float64), ("indptr", "<i4", np.int64), ("post_rows", "<i4", np.int64),
           ("post_vals", "<f8", np.float64))


def _table_rows(table: bytes) -> list[dict[str, Any]]:
    """The known replies of a table file's bytes (one JSON object a line). Split as bytes, at
    newlines only: a reply's U+2028 or NEL, which the table writes unescaped (``ensure_ascii=False``),
    is no line break (``str.splitlines`` would cut the object there)."""
    return [json.loads(line) for line in table.splitlines() if line.strip()]


class _Rows(Sequence[dict[str, Any]]):
    """The known replies of a table file's bytes as :func:`_table_rows` reads them, each line's
    JSON read when its row is first asked for."""

    __slots__ = ("_lines", "_read")

    def __init__(self, table: bytes) -> None:
        self._lines = [line for line in table.splitlines() if line.strip()]
        self._read: list[dict[str, Any] | None] = [None] * len(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        got = self._read[i]
        if got is None:
            got = self._read[i] = json.loads(self._lines[i])
        return got


def _index_stamp(table: bytes) -> dict[str, Any]:
    import hashlib

    return {"version": INDEX_VERSION, "table_sha256": hashlib.sha256(table).hexdigest(),
            "features": dict(sorted(FEATURES.items())), "max_chars": MAX_CHARS}


def index_text(table: bytes) -> str:
    """The index file's text for a table file's bytes (its rows indexed with :data:`FEATURES`)."""
    import base64

    known = KnownReplies(_table_rows(table))
    data: dict[str, Any] = _index_stamp(table)
    data["vocab"] = sorted(known.vocab, key=known.vocab.__getitem__)
    for name, stored, _ in _ARRAYS:
        values = getattr(known, name)
        if not np.array_equal(values.astype(stored), values):  # an int32 overflow: not in 2k replies
            raise ValueError(f"known replies' index: {name} does not fit {stored}")
        data[name] = base64.b64encode(np.ascontiguousarray(values, stored).tobytes()).decode("ascii")
    return json.dumps(data, ensure_ascii=False, indent=0) + "\n"


def read_index(path: Path, table: bytes) -> dict[str, Any] | None:
    """The index in ``path`` as :class:`KnownReplies` takes it, None where it is missing,
    unreadable or not computed from ``table`` (the table file's bytes) by this code."""
    import base64

    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or any(data.get(k) != v for k, v in _index_stamp(table).items()):
            return None
        out: dict[str, Any] = {"vocab": list(data["vocab"])}
        for name, stored, dtype in _ARRAYS:
            out[name] = np.frombuffer(base64.b64decode(data[name]), stored).astype(dtype)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    n = len(out["vocab"])
    if len(out["idf"]) != n or len(out["indptr"]) != n + 1 or not (
            len(out["post_rows"]) == len(out["post_vals"]) == out["indptr"][-1]):
        return None
    return out


_DEFAULT: KnownReplies | None = None


def default_known_replies() -> KnownReplies:
    """The shipped table and its index (:data:`INDEX`), loaded once (a few ms)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = KnownReplies.load()
    return _DEFAULT


#: The nearest known reply of each text asked for, per table of known replies (its id: the table
#: is kept beside): a stream's calls ask again for texts an earlier call had (other statuses,
#: events), ~30 ms per call otherwise. Bounded: emptied past _NEAR_HELD texts. The shipped kind
#: of table is asked, and answers are kept, by the texts as it reads them (:func:`normalise`):
#: Postfix's wrappers name the remote host, removed there, so replies that differ only in it are
#: scored once (the 1M Postfix report's 765 texts asked are 411 so, r24-pclass).
_NEAR: dict[int, tuple[Any, dict[str, tuple[int, float]]]] = {}
_NEAR_HELD = 100_000
#: Texts asked of the table at once: each text's answer is its own (scores and neighbours per text), but the
#: table's scoring holds postings x texts and texts x known rows in memory; at 256 a call (:data:`CHUNK`) ~40 MB
#: of temporaries a call, 16 keep them in cache. The 1M Postfix day's 765 texts: 0.26-0.46 -> 0.08-0.12 CPU-s,
#: 18k -> 0.8k page faults (r16-classify). 8: the scores (texts x 2.6k known rows, float64) stay below the
#: report's 256 KiB mapping threshold (analyzer.heap.MAP_LARGE), where 16 mapped, faulted in and unmapped them
#: at each slice (the 765 texts with that threshold: 0.082 -> 0.038 CPU-s, 32.6k -> ~0 page faults; r21-nattr).
_NEAR_STEP = 8


def kept_nearest(known: Any, texts: list[str]) -> Nearest:
    """``known.nearest(texts)``, each text's answer worked out once per process (the classifier
    asks here: :func:`analyzer.classify.classify_table`)."""
    entry = _NEAR.get(id(known))
    if entry is None or entry[0] is not known:
        if len(_NEAR) > 8:
            _NEAR.clear()
        entry = _NEAR[id(known)] = (known, {})
    held = entry[1]
    # the shipped kind of table: asked the texts normalised (once: its RE2 passes compile their
    # patterns at each call); any other (bench/cv_known.py's recorder) is asked the texts
    shipped = isinstance(known, KnownReplies)
    keys = normalise(texts) if shipped and texts else list(texts)
    new = [t for t in dict.fromkeys(keys) if t not in held]
    if new:
        if len(held) + len(new) > _NEAR_HELD:
            held.clear()  # (and every text asked now is new again: its answer is read below)
            new = list(dict.fromkeys(keys))
        # small slices: the score matrices stay in cache (the native core scores a text at a time)
        step = len(new) if shipped and known.native_index() is not None else _NEAR_STEP
        for at in range(0, len(new), step):
            part = new[at: at + step]
            got = known.nearest(part, normalised=True) if shipped else known.nearest(part)
            held.update(zip(part, zip(got.index.tolist(), got.similarity.tolist(), strict=True), strict=True))
    pairs = [held[k] for k in keys]
    return Nearest(np.array([i for i, _ in pairs], dtype=np.int64), np.array([s for _, s in pairs], dtype=np.float64))
