"""The reply-code knowledge base, kept as data (TOML files in this folder).

- ``causes.toml``: what each cause means, when you see it, how to fix it, references.
- ``codes.toml``: every basic reply code (RFC 5321 §4.2, RFC 7504) and enhanced status code
  (IANA registry: RFC 3463, 5248 and later) with its meaning and default cause.
- ``providers.toml``: how to recognise who answered (reply text signatures, relay host names).
- ``rules.toml``: rules from (code, enhanced code, text, provider, event ...) to a cause, each
  with example replies that the tests run through it.

The most specific matching rule wins: text + provider > text > provider > enhanced code >
basic code > class. Sites add or override entries by id with their own file.
"""

import threading

from analyzer.rules._load import KnowledgeBase, Rule, RulesError, load_rules

__all__ = ["KnowledgeBase", "Rule", "RulesError", "load_rules", "shipped_rules"]

_SHIPPED: list[KnowledgeBase] = []
_LOADING = threading.Lock()


def shipped_rules() -> KnowledgeBase:
    """The shipped knowledge base, loaded once per process (``load_rules()`` reads the files again;
    a thread that asks while another loads it waits for that one: ``maillens parse`` loads it on
    a thread to compile its patterns, analyzer.rule_sets)."""
    if not _SHIPPED:
        with _LOADING:
            if not _SHIPPED:
                _SHIPPED.append(load_rules())
    return _SHIPPED[0]
