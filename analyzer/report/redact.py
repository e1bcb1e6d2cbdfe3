"""Pseudonymise a finished report: the local part of every address, optionally every client IP.

Login names without a domain (``sasl_username=alice``, Exim ``A=plain:alice``) are
pseudonymised too. A pseudonym is an HMAC-SHA256 of the original under a key, so the same address becomes the
same pseudonym in every section and every format of one run (and across runs that share the
key), while nobody without the key can go back. The domain stays readable:
``alice@example.com`` -> ``u-3f9a1c0b7e@example.com``; ``192.0.2.7`` -> ``ip-5d41402abc``.

The key comes from ``--redact-key`` or ``$MAILLENS_REDACT_KEY``; without one, a random key per
run (pseudonyms then differ between runs).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from typing import Any

__all__ = ["ENV_KEY", "Redactor"]

ENV_KEY = "MAILLENS_REDACT_KEY"

#: A quoted local part ("a b"@x) or a run of characters that are not address delimiters, then @domain.
#: '=' ends a local part too, so key=value prefixes (sasl_username=, SRS0=...=) stay readable.
ADDRESS = re.compile(r'("(?:[^"\\\r\n]|\\.)*"|[^\s<>()\[\],;:"@\\=]+)@((?:\[[^\]\s]+\])|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)')
#: Login names without a domain: Postfix sasl_username=NAME, Exim A=authenticator:NAME.
LOGIN = re.compile(r"(sasl_username=|\bA=[\w-]+:)([^\s,@]+)(?=[\s,]|$)")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")
#: Keys whose values are never personal data (and must keep their shape).
KEEP = frozenset({"schema_version", "generator", "generated_at", "since", "until", "first_event", "last_event",
                  "hour", "window_start", "window_end", "severity", "detector", "reply_class", "outcome"})


class Redactor:
    """Callable that returns a redacted deep copy of a report dict."""

    def __init__(self, key: str | bytes | None = None, *, ips: bool = False) -> None:
        if key is None:
            key = os.environ.get(ENV_KEY) or secrets.token_hex(32)
        self.key = key.encode() if isinstance(key, str) else key
        self.ips = ips

    def _h(self, text: str, n: int = 10) -> str:
        return hmac.new(self.key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:n]

    def address(self, local: str, domain: str) -> str:
        return f"u-{self._h(local + '@' + domain.lower())}@{domain}"

    def _ip(self, m: re.Match[str]) -> str:
        raw = m.group(0)
        try:
            ipaddress.ip_address(raw.split("%")[0])
        except ValueError:
            return raw
        return f"ip-{self._h(raw.lower())}"

    def text(self, text: str) -> str:
        """``text`` with every address's local part (and, if asked, every IP) pseudonymised."""
        out = ADDRESS.sub(lambda m: self.address(m.group(1), m.group(2)), text)
        out = LOGIN.sub(lambda m: f"{m.group(1)}u-{self._h(m.group(2))}", out)
        if self.ips:
            out = IPV6.sub(self._ip, IPV4.sub(self._ip, out))
        return out

    def __call__(self, obj: Any, key: str | None = None) -> Any:
        if isinstance(obj, dict):
            out = {k: (v if k in KEEP else self(v, k)) for k, v in obj.items()}
            if "fingerprint" in out and isinstance(out["fingerprint"], str):
                # Fingerprints hash the entity; key them too so they give nothing away.
                out["fingerprint"] = self._h("fp:" + out["fingerprint"], 16)
            return out
        if isinstance(obj, list):
            return [self(v, key) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self(v, key) for v in obj)
        if isinstance(obj, str):
            return self.text(obj)
        return obj
