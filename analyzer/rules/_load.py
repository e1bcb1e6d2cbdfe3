"""Read, validate and merge the knowledge base: causes, reply codes, providers and rules.

The shipped knowledge base is the TOML files next to this module; a site may add or override
entries by id with its own files. Every problem is reported as one line naming the file, the
entry and what is wrong (:class:`RulesError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._cache import parsed_files

HERE = Path(__file__).parent
SHIPPED = ("causes.toml", "codes.toml", "providers.toml", "rules.toml", "provider_codes.toml",
           "phrasings.toml", "generalise.toml")

SEVERITIES = ("info", "warning", "critical")
OUTCOMES = ("ok", "transient_failure", "permanent_failure", "info")
CAUSE_KEYS = {"title", "meaning", "when", "fix", "references", "severity", "outcome", "generic",
              "see_also", "inbound", "outbound", "inbound_fix", "outbound_fix"}
#: Directions a cause may name a variant for (`inbound = "client.listed"`).
VARIANT_DIRECTIONS = ("inbound", "outbound")
CODE_KEYS = {"title", "meaning", "when", "cause", "references"}
PROVIDER_KEYS = {"name", "text", "host", "kind"}
RULE_KEYS = {"id", "cause", "fix", "code", "enhanced", "dsn", "text", "provider", "event", "status",
             "stage", "quit", "mta", "priority", "band", "examples", "note", "disable"}
EXAMPLE_KEYS = {"text", "code", "enhanced", "dsn", "event", "status", "stage", "quit", "relay_host",
                "mta", "detail", "direction"}

# Specificity weights: text + provider > text > provider > enhanced code > basic code > class.
W_TEXT, W_PROVIDER, W_OTHER = 1000, 1000, 5
ENHANCED_CLASS, ENHANCED_SUBJECT, ENHANCED_DETAIL, ENHANCED_RANGE = 10, 30, 60, 40
CODE_EXACT, CODE_TENS, CODE_CLASS = 50, 20, 10
DSN_FACTOR = 0.3
#: Precedence bands for text rules. A "verdict" phrase says only that the server refused
#: ('Sender address rejected:', 'Access denied', 'not allowed', 'message rejected', 'policy'):
#: it loses to every phrase that names a reason, whatever their priorities, and still beats
#: every code-only or enhanced-code-only rule (a text rule weighs W_TEXT).
BANDS = {"reason": 0, "verdict": -300}
SITE_BONUS = 100  # a site rule beats shipped rules of the same kind


class RulesError(ValueError):
    """A knowledge-base file is broken: ``FILE: rule ID: what is wrong`` on one line."""

    hint = "Fix the entry named in the message, or run without --rules to use the shipped rules."


@dataclass(frozen=True)
class StatusPattern:
    """One enhanced-code pattern: class.subject.detail, each part a number, a range or any."""

    classes: frozenset[int] | None
    subject: int | None
    detail: tuple[int, int] | None

    def matches(self, parts: tuple[int, int, int] | None) -> bool:
        if parts is None:
            return False
        c, s, d = parts
        if self.classes is not None and c not in self.classes:
            return False
        if self.subject is not None and s != self.subject:
            return False
        return self.detail is None or self.detail[0] <= d <= self.detail[1]

    @property
    def score(self) -> int:
        score = ENHANCED_CLASS if self.classes is not None and len(self.classes) == 1 else 0
        score += ENHANCED_SUBJECT if self.subject is not None else 0
        if self.detail is not None:
            score += ENHANCED_DETAIL if self.detail[0] == self.detail[1] else ENHANCED_RANGE
        return score


@dataclass
class Rule:
    """A compiled rule: conditions that must all hold, the cause they mean, a specificity."""

    id: str
    cause: str
    source: str
    fix: str | None = None
    codes: frozenset[int] | None = None
    code_score: int = 0
    enhanced: tuple[StatusPattern, ...] = ()
    dsn: tuple[StatusPattern, ...] = ()
    text: str | None = None
    provider: frozenset[str] | None = None
    event: frozenset[str] | None = None
    status: frozenset[str] | None = None
    stage: frozenset[str] | None = None
    quit: bool | None = None
    mta: frozenset[str] | None = None
    priority: int = 0
    band: str = "reason"
    examples: list[dict[str, Any]] = field(default_factory=list)
    site: bool = False

    @property
    def score(self) -> float:
        s: float = self.priority + self.code_score + (SITE_BONUS if self.site else 0)
        s += BANDS[self.band]
        s += W_TEXT if self.text else 0
        s += W_PROVIDER if self.provider else 0
        s += max((p.score for p in self.enhanced), default=0)
        s += DSN_FACTOR * max((p.score for p in self.dsn), default=0)
        s += W_OTHER * sum(x is not None for x in (self.event, self.status, self.stage,
                                                   self.quit, self.mta))
        return s


@dataclass
class KnowledgeBase:
    """Everything classify() and explain() know: causes, codes, providers, ordered rules."""

    causes: dict[str, dict[str, Any]]
    codes: dict[str, dict[str, Any]]
    enhanced: dict[str, dict[str, Any]]
    providers: dict[str, dict[str, Any]]
    rules: list[Rule]
    files: list[str]

    def cause_for(self, cause_id: str, direction: str | None) -> str:
        """The cause that applies in ``direction``: the variant a cause names for it, else itself."""
        if direction in VARIANT_DIRECTIONS:
            return str(self.causes.get(cause_id, {}).get(direction) or cause_id)
        return cause_id

    def fix_for(self, fix_id: str, direction: str | None) -> str:
        """The entry whose fix applies in ``direction``: a cause variant or a fix-only variant."""
        if direction in VARIANT_DIRECTIONS:
            entry = self.causes.get(fix_id, {})
            return str(entry.get(direction) or entry.get(f"{direction}_fix") or fix_id)
        return fix_id

    def variants(self, cause_id: str) -> dict[str, str]:
        """{direction: entry id} for each direction that reads ``cause_id`` differently."""
        base = self.causes.get(cause_id, {})
        return {d: base.get(d) or base.get(f"{d}_fix") for d in VARIANT_DIRECTIONS
                if base.get(d) or base.get(f"{d}_fix")}

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


# --------------------------------------------------------------------------------------------
# parsing helpers


def _err(src: str, what: str, ident: str, msg: str) -> RulesError:
    return RulesError(f"{src}: {what} {ident}: {msg}")


def _strings(value: Any, src: str, what: str, ident: str, key: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise _err(src, what, ident, f"'{key}' must be a non-empty string or list of strings")
    return items


def parse_status_pattern(text: str) -> StatusPattern:
    """Parse ``5.7.1``, ``X.1.10``, ``4.7.500-699`` or ``5.X.X``; ValueError when malformed."""
    parts = text.strip().split(".")
    if len(parts) != 3:
        raise ValueError(f"'{text}' is not class.subject.detail")
    c, s, d = (p.strip().lower() for p in parts)
    any_ = ("x", "*", "xx", "xxx")
    if c in any_:
        classes = None
    elif c in ("2", "4", "5"):
        classes = frozenset({int(c)})
    elif c == "4|5" or c == "45":
        classes = frozenset({4, 5})
    else:
        raise ValueError(f"'{text}': class must be 2, 4, 5 or X")
    subject = None if s in any_ else int(s) if s.isdigit() else None
    if subject is None and s not in any_:
        raise ValueError(f"'{text}': subject must be a number or X")
    if d in any_:
        detail = None
    elif d.isdigit():
        detail = (int(d), int(d))
    elif re.fullmatch(r"\d+-\d+", d):
        lo, hi = (int(x) for x in d.split("-"))
        detail = (lo, hi)
    else:
        raise ValueError(f"'{text}': detail must be a number, a range a-b or X")
    return StatusPattern(classes, subject, detail)


def parse_status(text: str | None) -> tuple[int, int, int] | None:
    """``'5.7.26'`` -> (5, 7, 26); None for anything that is not an enhanced code."""
    if not text:
        return None
    m = re.fullmatch(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\s*", text)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _codes(value: Any, src: str, ident: str) -> tuple[frozenset[int], int]:
    items = value if isinstance(value, list) else [value]
    out: set[int] = set()
    score = CODE_EXACT
    for item in items:
        spec = str(item).strip().lower()
        if re.fullmatch(r"[1-5]\d\d", spec):
            out.add(int(spec))
        elif re.fullmatch(r"[1-5]\dx", spec):
            base = int(spec[:2]) * 10
            out.update(range(base, base + 10))
            score = min(score, CODE_TENS)
        elif re.fullmatch(r"[1-5]xx", spec):
            base = int(spec[0]) * 100
            out.update(range(base, base + 100))
            score = min(score, CODE_CLASS)
        else:
            raise _err(src, "rule", ident, f"code '{item}' is not like 550, 55x or 5xx")
    return frozenset(out), score


def check_regex(pattern: str, *, re2: bool = True) -> str | None:
    """None when ``pattern`` compiles both in Python and in RE2 (pyarrow); else the problem.

    ``re2=False`` checks Python's compile only (the shipped files, whose RE2 check is a test)."""
    try:
        re.compile(pattern)
    except re.error as e:
        return f"text regex does not compile: {e}"
    if not re2:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array(["x"]), pattern, ignore_case=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        first = str(e).splitlines()[0]
        return f"text regex is not RE2-compatible (no lookaround or backreferences): {first}"
    return None


def _rule(raw: dict[str, Any], src: str, index: int, site: bool, full: bool = True) -> Rule:
    ident = raw.get("id")
    if not isinstance(ident, str) or not ident:
        raise _err(src, "rule", f"#{index + 1}", "missing 'id'")
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise _err(src, "rule", ident, f"unknown key(s) {sorted(unknown)}; "
                   f"allowed: {sorted(RULE_KEYS)}")
    if not isinstance(raw.get("cause"), str):
        raise _err(src, "rule", ident, "missing 'cause' (a cause id)")
    rule = Rule(id=ident, cause=raw["cause"], source=src, site=site)
    if "fix" in raw:
        rule.fix = _strings(raw["fix"], src, "rule", ident, "fix")[0]
    if "code" in raw:
        rule.codes, rule.code_score = _codes(raw["code"], src, ident)
    for key in ("enhanced", "dsn"):
        if key in raw:
            pats = []
            for text in _strings(raw[key], src, "rule", ident, key):
                try:
                    pats.append(parse_status_pattern(text))
                except ValueError as e:
                    raise _err(src, "rule", ident, f"{key} {e}") from None
            setattr(rule, key, tuple(pats))
    if "text" in raw:
        if not isinstance(raw["text"], str) or not raw["text"]:
            raise _err(src, "rule", ident, "'text' must be a non-empty regex string")
        # the shipped files' regexes are checked (Python and RE2) by a test, not at every start:
        # compiling ~300 of them in Python took 0.25 s of each run (bench/bench_startup.py)
        problem = check_regex(raw["text"]) if full else None
        if problem:
            raise _err(src, "rule", ident, problem)
        rule.text = raw["text"]
    closed: dict[str, Any] = {"event": None, "stage": None}
    if full:  # the schema imports pandas and pyarrow; the shipped files are checked against it by a test
        from analyzer import schema

        closed = {"event": schema.EVENTS, "stage": schema.STAGES}
    for key, allowed in (("event", closed["event"]), ("stage", closed["stage"]),
                         ("mta", ("postfix", "exim")), ("status", None), ("provider", None)):
        if key in raw:
            values = _strings(raw[key], src, "rule", ident, key)
            if allowed is not None:
                bad = [v for v in values if v not in allowed]
                if bad:
                    raise _err(src, "rule", ident, f"{key} {bad} not in the schema's closed set")
            setattr(rule, key, frozenset(values))
    if "quit" in raw:
        if not isinstance(raw["quit"], bool):
            raise _err(src, "rule", ident, "'quit' must be true or false")
        rule.quit = raw["quit"]
    if "priority" in raw:
        if not isinstance(raw["priority"], int):
            raise _err(src, "rule", ident, "'priority' must be an integer")
        rule.priority = raw["priority"]
    if "band" in raw:
        if raw["band"] not in BANDS:
            raise _err(src, "rule", ident, f"'band' must be one of {sorted(BANDS)}")
        if "text" not in raw:
            raise _err(src, "rule", ident, "'band' applies to text rules only")
        rule.band = raw["band"]
    examples = raw.get("examples", [])
    if not isinstance(examples, list):
        raise _err(src, "rule", ident, "'examples' must be a list")
    for ex in examples:
        if isinstance(ex, str):
            rule.examples.append({"text": ex})
        elif isinstance(ex, dict) and set(ex) <= EXAMPLE_KEYS:
            rule.examples.append(dict(ex))
        else:
            raise _err(src, "rule", ident, f"example {ex!r} must be a reply text or a table "
                       f"with keys from {sorted(EXAMPLE_KEYS)}")
    if not any((rule.codes, rule.enhanced, rule.dsn, rule.text, rule.provider, rule.event,
                rule.status, rule.stage, rule.quit is not None, rule.mta)):
        raise _err(src, "rule", ident, "matches nothing: give at least one of code, enhanced, "
                   "text, provider, event, status, stage, quit")
    return rule


def _entry(raw: Any, src: str, what: str, ident: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _err(src, what, ident, "must be a table")
    unknown = set(raw) - keys
    if unknown:
        raise _err(src, what, ident, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(keys)}")
    return dict(raw)


def _check_cause(c: dict[str, Any], src: str, ident: str) -> None:
    for key in ("title", "meaning", "when"):
        if not isinstance(c.get(key), str) or not c[key].strip():
            raise _err(src, "cause", ident, f"missing '{key}' (text)")
    for key in ("fix", "references"):
        if not isinstance(c.get(key), list) or not c[key] or \
                not all(isinstance(x, str) and x for x in c[key]):
            raise _err(src, "cause", ident, f"'{key}' must be a non-empty list of strings")
    if c.get("severity") not in SEVERITIES:
        raise _err(src, "cause", ident, f"'severity' must be one of {list(SEVERITIES)}")
    if c.get("outcome") not in OUTCOMES:
        raise _err(src, "cause", ident, f"'outcome' must be one of {list(OUTCOMES)}")


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise RulesError(f"{path}: cannot read: {e.strerror or e}") from None
    return _parse(path, data)


def _parse(path: Path, data: bytes) -> dict[str, Any]:
    """A rule file's content (``data``) parsed as TOML (tomllib.load's reading of the bytes)."""
    import tomllib  # (not imported where the cache holds the shipped files)

    try:
        return tomllib.loads(data.decode())
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"{path}: not valid TOML: {e}") from None


def _auto_rules(kb: KnowledgeBase) -> list[Rule]:
    """Rules implied by the code tables: each basic and enhanced code with a default cause."""
    out = []
    for code, entry in kb.codes.items():
        if entry.get("cause"):
            out.append(Rule(id=f"code.{code}", cause=entry["cause"], source="codes.toml",
                            codes=frozenset({int(code)}), code_score=CODE_EXACT,
                            examples=[{"text": f"{code}", "code": int(code)}]))
    for key, entry in kb.enhanced.items():
        if not entry.get("cause"):
            continue
        pat = parse_status_pattern(key)
        if pat.classes is None:  # X.S.D: only failures; a 2.x.x success means nothing failed
            pat = StatusPattern(frozenset({4, 5}), pat.subject, pat.detail)
        concrete = key.replace("X", "5").replace("x", "5")
        basic = {"2": 250, "4": 450, "5": 550}[concrete[0]]
        out.append(Rule(id=f"enhanced.{key}", cause=entry["cause"], source="codes.toml",
                        enhanced=(pat,), examples=[{"text": f"{basic} {concrete}"}]))
        out.append(Rule(id=f"dsn.{key}", cause=entry["cause"], source="codes.toml", dsn=(pat,),
                        examples=[{"text": "", "dsn": concrete, "event": "delivery",
                                   "status": "bounced" if concrete[0] == "5" else "deferred"}]))
    return out


def load_rules(extra: list[Path] | tuple[Path, ...] = (), *, verify_shipped: bool = False) -> KnowledgeBase:
    """The shipped knowledge base plus site files that add or override entries by id.

    Site files are checked in full (regexes in RE2, events and stages against the schema). The
    shipped files are checked in full only with ``verify_shipped`` (the test suite does): they
    cannot change after installation, and skipping the checks keeps pandas and pyarrow out of
    `maillens explain`'s start-up."""
    kb = KnowledgeBase({}, {}, {}, {}, [], [])
    shipped_rules: list[Rule] = []
    site_rules: list[Rule] = []
    files = [(HERE / name, False) for name in SHIPPED] + [(Path(p), True) for p in extra]
    # the shipped files' parsed tables, from the user's cache where it holds their contents
    # (_cache.py: ~0.035 CPU-s of TOML parsing a run); verify_shipped (the tests) parses them
    cached = None if verify_shipped else parsed_files([p for p, _ in files[:len(SHIPPED)]], _parse)
    for at, (path, site) in enumerate(files):
        src = str(path) if site else path.name
        data = cached[at] if cached is not None and at < len(cached) else _read(path)
        kb.files.append(src)
        unknown = set(data) - {"causes", "codes", "enhanced", "providers", "rules"}
        if unknown:
            raise RulesError(f"{src}: unknown table(s) {sorted(unknown)}; expected causes, codes, "
                             "enhanced, providers, rules")
        for ident, raw in data.get("causes", {}).items():
            entry = _entry(raw, src, "cause", ident, CAUSE_KEYS)
            merged = {**kb.causes.get(ident, {}), **entry}
            _check_cause(merged, src, ident)
            kb.causes[ident] = merged
        for ident, raw in data.get("codes", {}).items():
            if not re.fullmatch(r"[1-5]\d\d", ident):
                raise _err(src, "code", ident, "must be a three-digit reply code")
            kb.codes[ident] = {**kb.codes.get(ident, {}), **_entry(raw, src, "code", ident,
                                                                   CODE_KEYS)}
        for ident, raw in data.get("enhanced", {}).items():
            try:
                parse_status_pattern(ident)
            except ValueError as e:
                raise _err(src, "enhanced", ident, str(e)) from None
            kb.enhanced[ident] = {**kb.enhanced.get(ident, {}),
                                  **_entry(raw, src, "enhanced", ident, CODE_KEYS)}
        for ident, raw in data.get("providers", {}).items():
            entry = _entry(raw, src, "provider", ident, PROVIDER_KEYS)
            for key in ("text", "host"):
                if key in entry:
                    problem = check_regex(entry[key]) if site or verify_shipped else None
                    if problem:
                        raise _err(src, "provider", ident, problem.replace("text regex",
                                                                            f"{key} regex"))
            kb.providers[ident] = {**kb.providers.get(ident, {}), **entry}
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            raise RulesError(f"{src}: 'rules' must be an array of tables ([[rules]])")
        for i, raw in enumerate(rules):
            if not isinstance(raw, dict):
                raise RulesError(f"{src}: rule #{i + 1}: must be a table")
            rule = _rule(raw, src, i, site, full=site or verify_shipped)
            (site_rules if site else shipped_rules).append(rule)
            if raw.get("disable"):
                rule.cause = ""  # marked for removal below
    _finish(kb, shipped_rules, site_rules)
    return kb


def _finish(kb: KnowledgeBase, shipped: list[Rule], site: list[Rule]) -> None:
    """Merge site rules over shipped ones by id, add the implied code rules, cross-check ids."""
    for ident, entry in {**kb.codes, **kb.enhanced}.items():
        for key in ("title", "meaning"):
            if not isinstance(entry.get(key), str):
                raise RulesError(f"code {ident}: missing '{key}'")
        if entry.get("cause") and entry["cause"] not in kb.causes:
            raise RulesError(f"code {ident}: cause '{entry['cause']}' is not defined")
    seen: dict[str, Rule] = {}
    for rule in shipped:
        if rule.id in seen:
            raise _err(rule.source, "rule", rule.id, f"duplicate id (also in {seen[rule.id].source})")
        seen[rule.id] = rule
    overridden = {r.id for r in site}
    merged = [r for r in site if r.cause] + [r for r in shipped if r.id not in overridden]
    merged += [r for r in _auto_rules(kb) if r.id not in overridden]
    for rule in merged:
        if rule.cause not in kb.causes:
            raise _err(rule.source, "rule", rule.id, f"cause '{rule.cause}' is not defined; "
                       f"known causes: {', '.join(sorted(kb.causes))}")
        if rule.fix and rule.fix not in kb.causes:
            raise _err(rule.source, "rule", rule.id, f"fix '{rule.fix}' is not a known entry")
        if rule.provider:
            bad = sorted(rule.provider - set(kb.providers))
            if bad:
                raise _err(rule.source, "rule", rule.id, f"provider {bad} is not defined in "
                           "providers")
    for ident, cause in kb.causes.items():
        for d in VARIANT_DIRECTIONS:
            for key in (d, f"{d}_fix"):
                if key in cause and cause[key] not in kb.causes:
                    raise RulesError(f"cause {ident}: {key} '{cause[key]}' is not defined")
    if "unknown" not in kb.causes:
        raise RulesError("causes: the 'unknown' cause must be defined")
    kb.rules = merged
