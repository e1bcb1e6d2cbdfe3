"""How a rule of the knowledge base decided a reply (:func:`rule_evidence`): what a close known
reply (:mod:`analyzer.similar`) needs to overrule it depends on it.

A phrase rule whose cause is one the knowledge base also gives as a bare verdict
(:func:`verdict_causes`: the causes of the "verdict" band's phrases and of the fallbacks that
read only an enhanced code's subject or a reply code's class: 'policy.rejected',
'server.unavailable', 'mailbox.unavailable' ...) names no more reason than a refusal does:
its evidence is 'verdict', and a known reply overrules it at less than a near-duplicate's
similarity (:data:`analyzer.similar.THRESHOLDS`). The set is worked out from the rules
themselves, so an older rule set replayed (bench/replay_rules.py, bench/cv_known.py) gets its own.
"""

from __future__ import annotations

from typing import Any

from analyzer.rules._load import CODE_CLASS

__all__ = ["rule_evidence", "verdict_causes"]

_VERDICTS: dict[int, tuple[list[Any], frozenset[str]]] = {}


def verdict_causes(rules: list[Any]) -> frozenset[str]:
    """The causes a rule list gives as a bare verdict: those of its "verdict" band and of its
    fallbacks (no text, no provider; only enhanced codes without a detail, such as X.7.X, or
    only a reply code's class). Worked out once per rule list."""
    got = _VERDICTS.get(id(rules))
    if got is not None and got[0] is rules:
        return got[1]
    out = {r.cause for r in rules if r.band == "verdict" or _fallback(r)}
    if len(_VERDICTS) > 16:
        _VERDICTS.clear()
    _VERDICTS[id(rules)] = (rules, frozenset(out))
    return _VERDICTS[id(rules)][1]


def _fallback(r: Any) -> bool:
    """A rule that reads no text and no provider, only enhanced codes without a detail or only
    a reply code's class."""
    if r.text or r.provider:
        return False
    if r.enhanced:
        return all(p.detail is None for p in r.enhanced)
    return bool(r.codes) and not r.dsn and r.code_score <= CODE_CLASS


def rule_evidence(rule: Any, verdicts: frozenset[str] = frozenset()) -> str:
    """How a rule decides: 'phrase' (a text pattern), 'verdict' (a text pattern whose cause is in
    ``verdicts``, :func:`verdict_causes`), 'provider' (a provider's signature), 'enhanced' (an
    enhanced code only), 'code' (a basic code only), 'class' (the code's class only), 'context'
    (the event or status only); 'unknown' for no rule."""
    if rule is None:
        return "unknown"
    if rule.text:
        return "verdict" if rule.cause in verdicts else "phrase"
    if rule.provider:
        return "provider"
    if rule.enhanced or rule.dsn:
        return "enhanced"
    if rule.codes:
        return "class" if rule.code_score <= CODE_CLASS else "code"
    return "context"
