"""A naive Bayes model of the development replies' wording: the learned fallback measured for the rules'
weak decisions (issue #9, r18-learn) and not shipped, since leave-one-group-out it gains too little
(``bench/cv_learned.py``; bench/RESULTS.md ``## r18-learn``). Kept here to measure it again when the
reply set grows. numpy only.

A reply is read as the known replies are read (masked, wrapper removed:
:func:`analyzer.similar.normalise`; tokens: :func:`analyzer.similar.tokens` with :data:`FEATURES`).
The model holds integer counts only (per cause: replies; per token and cause: replies holding the
token, each token once per reply). A reply's score for a cause is the log of its prior plus, per
token the model knows, the log of the token's smoothed share of that cause's tokens (multinomial);
the answer is the cause of highest posterior, taken only where the posterior reaches
:data:`THRESHOLDS` for the kind of evidence the rule had (:mod:`analyzer.evidence`). Scoring is
vectorised: one gather and one ``np.add.at`` over the (reply, token) pairs, the counts kept sparse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FEATURES", "THRESHOLDS", "Learned", "fit", "fit_tokens", "overrules"]

#: Tokens read (:func:`analyzer.similar.tokens` options) and the additive smoothing.
FEATURES: dict[str, bool] = {"codes": True, "bigrams": False, "stem": False, "stop": False, "ids": False}
ALPHA = 0.1
#: Posterior a learned answer needs, per kind of evidence the rule decided by; kinds not named are
#: never overruled. By the grouped cross-validation (leave one source / provider out, r18-learn in
#: bench/RESULTS.md): a basic code alone at 0.7 (+3 / +3 right, none lost; 0.5: +4 -2), no rule at
#: all at 0.5 (+0 / +1); a code's class as a code. An enhanced code's subject and a verdict phrase
#: are left to the rules: the model gains nothing net there at any posterior (verdict:
#: +9 -62 at 0.7, +1 -13 at 0.99; enhanced: +2 -9 at 0.7, +2 -2 at 0.99).
THRESHOLDS: dict[str, float] = {"unknown": 0.5, "class": 0.7, "code": 0.7}


@dataclass
class Learned:
    """The model: causes, per cause the replies seen, the tokens and, per token, the causes of the
    replies holding it with their counts (CSR: ``indptr`` over ``tokens``)."""

    causes: list[str]
    docs: np.ndarray
    tokens: list[str]
    indptr: np.ndarray
    cause_idx: np.ndarray
    counts: np.ndarray
    alpha: float = ALPHA
    features: dict[str, bool] | None = None

    def __post_init__(self) -> None:
        self.features = dict(FEATURES if self.features is None else self.features)
        self.vocab = {t: i for i, t in enumerate(self.tokens)}
        n_tok = len(self.tokens)
        docs = self.docs.astype(np.float64)
        # P(token | cause) = (replies of the cause holding it + a) / (tokens of the cause + a * V):
        # multinomial, each token once per reply, smoothed; a token the cause never shows scores
        # log(a / denom).
        mass = np.bincount(self.cause_idx, weights=self.counts, minlength=len(self.causes))
        denom = np.log(mass + self.alpha * max(n_tok, 1))
        self._base = np.log(self.alpha) - denom  # per cause: a known token absent from the cause
        rows = np.repeat(np.arange(n_tok), np.diff(self.indptr))
        self._extra = np.log(self.counts + self.alpha) - np.log(self.alpha)  # over the base, per pair
        self._rows = rows
        self._prior = np.log(docs / docs.sum()) if len(docs) else docs

    def __len__(self) -> int:
        return len(self.causes)

    def token_ids(self, toks: Sequence[str]) -> np.ndarray:
        """The model's ids of the distinct tokens of one reply (:func:`analyzer.similar.tokens`)."""
        got = {self.vocab.get(t, -1) for t in toks}
        got.discard(-1)
        return np.fromiter(sorted(got), dtype=np.int64, count=len(got))

    def posterior(self, texts: Sequence[str], *, normalised: bool = False,
                  toks: Sequence[Sequence[str]] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per text: the index of the most probable cause (-1: no known token) and its posterior
        (``toks``: the texts' tokens already read, :func:`analyzer.similar.tokens`)."""
        from analyzer.similar import normalise, tokens

        if toks is None:
            norm = list(texts) if normalised else normalise(texts)
            toks = [tokens(t, **(self.features or FEATURES)) for t in norm]
        ids = [self.token_ids(t) for t in toks]
        n = len(ids)
        if not n or not len(self.causes):
            return np.full(n, -1, dtype=np.int64), np.zeros(n)
        lens = np.array([len(x) for x in ids], dtype=np.int64)
        scores = self._prior[None, :] + lens[:, None] * self._base[None, :]
        if lens.sum():
            doc = np.repeat(np.arange(n), lens)
            tok = np.concatenate(ids)
            width = self.indptr[tok + 1] - self.indptr[tok]
            pair = np.repeat(self.indptr[tok] - np.cumsum(np.concatenate([[0], width[:-1]])), width) + \
                np.arange(width.sum())
            np.add.at(scores, (np.repeat(doc, width), self.cause_idx[pair]), self._extra[pair])
        scores -= scores.max(axis=1, keepdims=True)
        prob = np.exp(scores)
        prob /= prob.sum(axis=1, keepdims=True)
        best = prob.argmax(axis=1)
        p = prob[np.arange(n), best]
        return np.where(lens > 0, best, -1), np.where(lens > 0, p, 0.0)


def fit(texts: Sequence[str], labels: Sequence[str], *, alpha: float = ALPHA,
        features: dict[str, bool] | None = None, normalised: bool = False) -> Learned:
    """The model of some replies (their text and cause)."""
    from analyzer.similar import normalise, tokens

    feats = {**FEATURES, **(features or {})}
    norm = list(texts) if normalised else normalise(texts)
    return fit_tokens([tokens(t, **feats) for t in norm], labels, alpha=alpha, features=feats)


def fit_tokens(docs: Sequence[Sequence[str]], labels: Sequence[str], *, alpha: float = ALPHA,
               features: dict[str, bool] | None = None) -> Learned:
    """The model of some replies given as their tokens (:func:`analyzer.similar.tokens` with
    ``features``) and causes."""
    feats = {**FEATURES, **(features or {})}
    causes = sorted(set(labels))
    c_of = {c: i for i, c in enumerate(causes)}
    lab = np.array([c_of[c] for c in labels], dtype=np.int64)
    toks = [sorted(set(ts)) for ts in docs]
    vocab = sorted({t for ts in toks for t in ts})
    t_of = {t: i for i, t in enumerate(vocab)}
    lens = np.array([len(ts) for ts in toks], dtype=np.int64)
    tok = np.fromiter((t_of[t] for ts in toks for t in ts), dtype=np.int64, count=int(lens.sum()))
    cls = np.repeat(lab, lens)
    key, counts = np.unique(tok * max(len(causes), 1) + cls, return_counts=True)
    tok_u, cls_u = np.divmod(key, max(len(causes), 1))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(tok_u, minlength=len(vocab)))]).astype(np.int64)
    docs = np.bincount(lab, minlength=len(causes)).astype(np.int64)
    return Learned(causes, docs, vocab, indptr, cls_u.astype(np.int64), counts.astype(np.int64), alpha, feats)


def overrules(kind: str, rule_cause: str, cause: str, p: float, kb: Any,
              thresholds: dict[str, float] | None = None) -> bool:
    """Whether the model's ``cause`` at posterior ``p`` decides instead of a rule that decided by
    evidence ``kind`` on ``rule_cause``: only the kinds in ``thresholds`` (None: :data:`THRESHOLDS`)
    at their posterior, never for the rule's own cause or one the knowledge base lacks."""
    limits = THRESHOLDS if thresholds is None else thresholds
    return kind in limits and p >= limits[kind] and cause != rule_cause and cause in kb.causes
