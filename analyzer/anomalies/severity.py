"""The severity policy, applied after detection: what a finding's severity means, and one finding
per cause instead of one per destination.

Detectors say *how far* from normal something is; this layer says *whose problem* it is. Its
rules are data: the ``[severity]`` section of ``analyzer/anomalies.toml`` (a site file can
override any key). In order:

1. **Per-recipient causes** (unknown user, full mailbox, one domain's size limit …) concern one
   address, not the destination nor us: the destination-level findings they made become one
   finding per cause listing the destinations (detector ``per_recipient``), and no finding with
   such a cause is above ``per_recipient_max``.
2. **Related findings grouped**: destination-level findings with one cause become one finding
   listing the destinations (refusals of ``group_by_cause`` detectors together, others per
   detector; a provider-level finding leads, else the most severe and earliest).
3. **Critical means "act now, on our side"**: a finding stays (or becomes) critical only when it is
   our server (``critical_detectors``), an our-side cause (our IP or domain listed, our
   authentication records, local resources), a big mailbox provider refusing us broadly, or an
   authentication attack (from an address or a network) that succeeded or persisted, counted
   over all its findings. Any other critical becomes a warning.
   ``Finding.reason`` says which rule decided.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pandas as pd

from .context import Context, _domain, _str_eq
from .finding import _RANK, Finding, _fingerprint

__all__ = ["apply_severity_policy"]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _destination_level(f: Finding, rules: dict[str, Any]) -> bool:
    """A finding about one destination domain or provider (not a client address, not a cause)."""
    return f.detector in rules["destination_detectors"] and not _is_ip(f.entity)


def _cap(severity: str, most: str) -> str:
    return severity if _RANK[severity] <= _RANK[most] else most


def _names(items: Iterable[str], limit: int = 6) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _group(ctx: Context, members: list[Finding], *, detector: str, entity: str, title: str, severity: str,
           detail: str, reason: str) -> Finding:
    """One finding standing for ``members`` (the first leads): their time span, the lead's fix,
    evidence from each."""
    lead = members[0]
    starts = [f.window_start for f in members if f.window_start is not None]
    ends = [f.window_end for f in members if f.window_end is not None]
    start = min(starts) if starts else None
    n = int(ctx.params["general"]["max_evidence"])
    evidence: list[tuple[str, int]] = []
    for i in range(max(len(f.evidence) for f in members)):  # round robin: every member shows its lines
        for f in members:
            if i < len(f.evidence) and f.evidence[i] not in evidence:
                evidence.append(f.evidence[i])
    entities = tuple(dict.fromkeys(f.entity for f in members))
    same_unit = {f.unit for f in members} == {lead.unit}
    return Finding(_fingerprint(detector, entity, lead.cause, start), severity, title, detector, start,
                   max(ends) if ends else None, entity, max(f.observed for f in members) if same_unit else lead.observed,
                   lead.expected if same_unit else None, tuple(sorted(evidence[:n])), lead.cause, lead.fix, detail,
                   lead.unit, entities, reason)


def _per_recipient(ctx: Context, findings: list[Finding], rules: dict[str, Any]) -> list[Finding]:
    per_rcpt = set(rules["per_recipient"])
    most = str(rules["per_recipient_max"])
    keep: list[Finding] = []
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        if f.cause not in per_rcpt:
            keep.append(f)
        elif _destination_level(f, rules):
            groups.setdefault(f.cause, []).append(f)
        elif _RANK[f.severity] > _RANK[most]:
            keep.append(replace(f, severity=most, reason=f"{f.cause} concerns single recipients: at most {most}"))
        else:
            keep.append(f)
    for cause, members in groups.items():
        members.sort(key=lambda f: (-_RANK[f.severity], f.window_start or pd.Timestamp.max.tz_localize("UTC")))
        dests = list(dict.fromkeys(f.entity for f in members))
        title = ctx.cause_title(cause)
        sev = _cap(max((f.severity for f in members), key=_RANK.__getitem__), most)
        keep.append(_group(
            ctx, members, detector="per_recipient", entity=cause, severity=sev,
            title=f"{title}: single recipients refused at {len(dests)} destination{'s' if len(dests) > 1 else ''} "
                  f"({_names(dests)})",
            detail=f"Each refusal concerns one address ({title.lower()}), not the destination and not us; "
                   f"{len(members)} destination finding{'s' if len(members) > 1 else ''} folded into this one.",
            reason=f"{cause} concerns single recipients: one finding for the cause, at most {most}"))
        if not keep[-1].fix:
            keep[-1] = replace(keep[-1], fix=tuple(rules.get("fix", ())))
    return keep


def _related(ctx: Context, findings: list[Finding], rules: dict[str, Any]) -> list[Finding]:
    groups: dict[tuple[str, str], list[Finding]] = {}
    keep: list[Finding] = []
    for f in findings:
        if f.cause and _destination_level(f, rules) and f.detector != "per_recipient":
            family = "refusal" if f.detector in rules["group_by_cause"] else f.detector
            groups.setdefault((family, f.cause), []).append(f)
        else:
            keep.append(f)
    for (_family, cause), members in groups.items():
        if len(members) == 1:
            keep.extend(members)
            continue
        providers = getattr(ctx.kb, "providers", None) or {}
        # a provider-level finding leads (it names who refuses us), then the most severe and earliest
        lead = min(members, key=lambda f: (f.entity not in providers, -_RANK[f.severity], f.detector != "failure_spike",
                                           f.window_start or pd.Timestamp.max.tz_localize("UTC")))
        detector = lead.detector
        others = [f for f in members if f is not lead]
        dests = list(dict.fromkeys([lead.entity] + [f.entity for f in others]))
        sev = max((f.severity for f in members), key=_RANK.__getitem__)
        keep.append(_group(
            ctx, [lead, *others], detector=detector, entity=lead.entity, severity=sev,
            title=f"{ctx.cause_title(cause)}: " + (f"{len(dests)} destinations affected ({_names(dests)})"
                                                   if len(dests) > 1 else f"{dests[0]}, {len(members)} times"),
            detail=f"{len(members)} findings with this cause grouped into one; the first: {lead.title}. "
                   f"{lead.detail}".strip(),
            reason=""))
    return keep


def _providers_of(ctx: Context, entities: set[str]) -> dict[str, str]:
    """The provider most replies of each destination domain in ``entities`` came from."""
    from .sent import pair_counts

    ev = ctx.events
    out = ev[_str_eq(ev["direction"], "outbound") & ev["provider"].notna().to_numpy()]
    folded = pair_counts(ctx.bulk, entities) if entities else None  # the weekly's sent deliveries
    if (out.empty and (folded is None or folded.empty)) or not entities:
        return {}
    dom = _domain(out["recipient"])
    sel = dom.isin(list(entities)).fillna(False).to_numpy(dtype=bool)
    if not sel.any() and (folded is None or folded.empty):
        return {}
    pairs = pd.DataFrame({"d": dom[sel].to_numpy(), "p": out.loc[sel, "provider"].astype(str).to_numpy()})
    if folded is None or folded.empty:
        return pairs.groupby("d")["p"].agg(lambda s: s.mode().iloc[0]).to_dict()
    # with counts: the most frequent provider of each domain, the least name among equals (as mode())
    w = pd.concat([pairs.assign(w=1), folded], ignore_index=True).astype({"d": object, "p": object})
    c = w.groupby(["d", "p"])["w"].sum().reset_index().sort_values(["d", "w", "p"], ascending=[True, False, True])
    return dict(zip(c["d"].drop_duplicates().to_list(), c.drop_duplicates("d")["p"].to_list(), strict=True))


def _auth_succeeded(ctx: Context, ip: str, after: pd.Timestamp | None) -> bool:
    """A client that failed to authenticate also logged in (a line with a SASL user name that is
    not a failure) at or after its first failure."""
    ev = ctx.events
    m = _str_eq(ev["client_ip"], ip) & ev["sasl_username"].notna().to_numpy() & ~_str_eq(ev["event"], "auth_failure")
    if after is not None:
        m &= (ev["ts"] >= after).fillna(False).to_numpy(dtype=bool)
    logins = ctx.bulk.logins if ctx.bulk is not None else None  # the weekly's, folded per step
    if not m.any() and logins is not None and len(logins):
        seen = logins["ts_max"].to_numpy()[(logins["client_ip"] == ip).to_numpy(dtype=bool)]
        return bool(len(seen)) and (after is None or bool((seen >= pd.Timestamp(after).value).any()))
    return bool(m.any())


def _why_not(f: Finding, rules: dict[str, Any]) -> str:
    """Why a finding the detector called critical is a warning under the policy."""
    if f.detector in rules["attack_detectors"]:
        hours = float(rules["attack_persist"]) / 3600
        return f"an attack that neither succeeded nor lasted {hours:g} h: a warning"
    if _destination_level(f, rules):
        return "one destination's trouble, not ours: a warning"
    return "not trouble on our side: a warning"


def _critical_gate(ctx: Context, findings: list[Finding], rules: dict[str, Any]) -> list[Finding]:
    our_side = set(rules["our_side_causes"])
    big = set(rules["big_providers"])
    attacks = set(rules["attack_causes"])
    persist = pd.Timedelta(seconds=float(rules["attack_persist"]))
    candidates = {f.entity for f in findings if f.severity == "critical" and _destination_level(f, rules)}
    provider_of = _providers_of(ctx, candidates)
    # how long each attacking address or network kept at it, over all its attack findings
    spans: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for f in findings:
        if f.cause in attacks and f.detector in rules["attack_detectors"] and f.window_start is not None \
                and f.window_end is not None:
            a, b = spans.get(f.entity, (f.window_start, f.window_end))
            spans[f.entity] = (min(a, f.window_start), max(b, f.window_end))
    out: list[Finding] = []
    for f in findings:
        reason = ""
        if f.detector in rules["critical_detectors"]:
            reason = "our own server"
        elif f.cause in our_side:
            reason = f"{f.cause} is trouble on our side"
        elif f.cause in attacks and f.detector in rules["attack_detectors"]:
            first, last = spans.get(f.entity, (None, None))
            span = (last - first) if first is not None and last is not None else pd.Timedelta(0)
            if _is_ip(f.entity) and _auth_succeeded(ctx, f.entity, f.window_start):
                reason = "the attacking address also logged in"
            elif span >= persist:
                reason = f"the attack lasted {span / pd.Timedelta(hours=1):.1f} h"
            if reason:  # an attack that succeeds or persists is critical whatever its rate
                out.append(replace(f, severity="critical", reason=reason))
                continue
        elif _destination_level(f, rules):
            members = f.entities or (f.entity,)
            if any(e in big or provider_of.get(e) in big for e in members):
                reason = "a big mailbox provider refuses us broadly"
        if f.severity != "critical":
            out.append(f)
        elif reason:
            out.append(replace(f, reason=reason))
        else:
            out.append(replace(f, severity="warning", reason=_why_not(f, rules)))
    return out


def apply_severity_policy(findings: list[Finding], ctx: Context) -> list[Finding]:
    """The findings after the ``[severity]`` rules: per-recipient causes folded and capped,
    related destination findings grouped, critical kept for our-side trouble."""
    rules = ctx.params.get("severity")
    if not rules:
        return findings
    found = _per_recipient(ctx, findings, rules)
    found = _related(ctx, found, rules)
    return _critical_gate(ctx, found, rules)
