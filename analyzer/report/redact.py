"""Pseudonymise output: the local part of every address, bare local parts and login names, optionally IPs.

A pseudonym is an HMAC-SHA256 of the original under a key, so the same address becomes the same
pseudonym in every section and every format of one run (and across runs that share the key),
while nobody without the key can go back. The domain stays readable:
``alice@example.com`` -> ``u-3f9a1c0b7e@example.com``; ``<carol>`` -> ``<u-5d41402abc>``;
``192.0.2.7`` -> ``ip-5d41402abc``.

What counts as address-shaped (one scan over the text, linear time whatever a field holds — the
scanner only uses maximal runs of one character class and bounded look-arounds, never a pattern
that backtracks over unbounded text):

* ``<…>`` with an ``@``: everything before the last ``@`` is the local part (spaces, quotes, ``=``
  included); without an ``@`` (``to=<carol>``, ``<alice>: Recipient address rejected``) the whole
  content is a bare local part — except a HELO name (``helo=<…>``, ``<…>: Helo command
  rejected``), ``host[ip]`` and the SMTP words ``<DATA>``/``<END-OF-MESSAGE>``;
* ``"quoted local part"@domain``;
* any other run of characters with an ``@`` (``john=smith@x`` is hashed whole; a known field
  name before ``=``, such as ``sasl_username=``, stays readable);
* login names without a domain: ``sasl_username=``, ``sasl_sender=``, ``user=``, Exim ``U=`` and
  ``A=mechanism:``, the word after an Exim delivery arrow (``=> carol <carol@host>``) and Dovecot's
  ``lmtp(carol)``;
* in a dict or table, a value of a field that holds an address (``sender``, ``recipient``, …)
  even when it has no ``@``;
* with ``ips=True``: every IPv4 and IPv6 address, also with a port or a ``:`` after it.

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

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..textsafe import is_text

__all__ = ["ADDRESS_FIELDS", "ENV_KEY", "Redactor"]

ENV_KEY = "MAILLENS_REDACT_KEY"

#: Fields (report keys, table columns) whose value is an address or a login name, with or without '@'.
ADDRESS_FIELDS = frozenset({"sender", "recipient", "orig_recipient", "sasl_username", "sasl_sender", "user",
                            "login", "address", "from", "to", "orig_to", "mailbox", "user_name"})
#: Keys whose values are never personal data (and must keep their shape).
KEEP = frozenset({"schema_version", "generator", "generated_at", "since", "until", "first_event", "last_event",
                  "hour", "window_start", "window_end", "severity", "detector", "reply_class", "outcome"})
#: Field names that may precede '=' in a log line; what follows is the value (kept: the name).
_KEYS = frozenset({"from", "to", "orig_to", "sasl_username", "sasl_sender", "user", "sender", "recipient",
                   "rcpt", "mail_from", "rcpt_to", "login", "username", "orig_rcpt", "for", "delivered-to",
                   "return-path", "envelope-from", "smtp.mailfrom", "header.from", "mailfrom", "helo", "id",
                   "message-id", "msgid"})
#: A key whose value is a login name even without '@' (bounded: linear whatever the run).
_LOGIN = re.compile(r"(?<![\w.-])(?:(?i:sasl_username|sasl_sender|user|login|username)=|U=|A=[\w-]*:)")
_NOT_LOCAL = frozenset({"DATA", "END-OF-MESSAGE"})
#: Dovecot writes the user in parentheses after these: lmtp(carol), passwd-file(carol,192.0.2.7).
_USER_IN_PARENS = ("lmtp", "imap", "pop3", "managesieve", "submission", "lda", "doveadm", "passwd-file", "passwd",
                   "shadow", "pam", "sql", "ldap", "checkpassword", "static", "auth-worker")
_ARROWS = ("=> ", "-> ", "** ", "== ")

#: One token: <…> (no nesting, one line), "quoted"@, or a maximal run of non-delimiters. Each
#: alternative either consumes what it scanned or fails at the next delimiter: linear overall.
_TOKEN = re.compile(r'<([^<>\r\n]*)>|"((?:[^"\\\r\n]|\\.)*)"@|([^\s<>(),;"\\]+)')
_DOMAIN = re.compile(r"\[[^\]\s]*\]|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_HOST_IP = re.compile(r"[\w.-]*\[[0-9A-Fa-f:.]*\]")
#: Candidate IPs: maximal runs of hex digits, ':' and '.', starting where such a run starts.
_IP_RUN = re.compile(r"(?<![0-9A-Fa-f:.])[0-9A-Fa-f:.]+")
_IPV4 = re.compile(r"(?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9])")


def _is_ip(s: str) -> bool:
    if len(s) > 45:  # longer than any IPv6 text form: not one (and no costly parse of a huge run)
        return False
    if ":" in s:
        try:
            ipaddress.IPv6Address(s)
        except ValueError:
            return False
        return True
    parts = s.split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)


def _find_ip(run: str) -> tuple[int, int] | None:
    """Where an IP address lies in ``run`` (a run of hex digits, ':' and '.'), if it holds one."""
    starts = [0]
    if ":" in run:
        starts.append(run.index(":") + 1)  # "6:2001:db8::1" from [IPv6:…], ":2001:db8::1" from host:…
    for a in starts:
        s = run[a:]
        for _ in range(3):  # bounded: a run of ':' and '.' must not make this quadratic
            if _is_ip(s):
                return a, a + len(s)
            if not s or s[-1] not in ":." or s.endswith("::"):
                break
            s = s[:-1]  # "2001:db8::66:" in a title, "192.0.2.1." ending a sentence
    m = _IPV4.search(run)
    while m is not None:  # "192.0.2.1:25", "1.2.0.192.zen" …
        if _is_ip(m.group(0)):
            return m.span()
        m = _IPV4.search(run, m.end())
    return None


class Redactor:
    """Callable that returns a redacted deep copy of a report dict (or any JSON-like data)."""

    def __init__(self, key: str | bytes | None = None, *, ips: bool = False) -> None:
        if key is None:
            key = os.environ.get(ENV_KEY) or secrets.token_hex(32)
        self.key = key.encode() if isinstance(key, str) else key
        self.ips = ips

    def _h(self, text: str, n: int = 10) -> str:
        return hmac.new(self.key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:n]

    def address(self, local: str, domain: str) -> str:
        """The pseudonym of ``local@domain`` (the domain stays)."""
        return f"u-{self._h(local + '@' + domain.lower())}@{domain}"

    def local(self, name: str) -> str:
        """The pseudonym of a bare local part or login name."""
        return f"u-{self._h(name)}"

    def field(self, value: str) -> str:
        """A value of an address field (``sender``, ``recipient`` …): the whole of it is the address."""
        v = value.strip()
        if not v or v == "<>":
            return value
        if v.startswith("<") and v.endswith(">"):
            return "<" + self.field(v[1:-1]) + ">"
        out = self.local(v) if "@" not in v else self.address(v[: v.rindex("@")], v[v.rindex("@") + 1:])
        return self._ip_text(out)

    # -- text -------------------------------------------------------------------------------

    def _angle(self, content: str, text: str, start: int, end: int) -> str:
        if "@" in content:
            at = content.rindex("@")
            if at == 0:
                return f"<{content}>"
            return f"<{self.address(content[:at], content[at + 1:])}>"
        if (not content.strip() or content in _NOT_LOCAL or _HOST_IP.fullmatch(content)
                or text[max(0, start - 5):start].lower() == "helo="
                or text.startswith(": Helo command rejected", end)):
            return f"<{content}>"
        return f"<{self.local(content)}>"

    def _run(self, run: str, text: str, start: int) -> str:
        if "@" in run:
            at = run.rindex("@")
            local, rest = run[:at], run[at + 1:]
            prefix = ""
            colon = local.rfind(":")
            if colon >= 0:  # Exim A=plain:alice@x; "rcpt:bob@x"
                prefix, local = local[: colon + 1], local[colon + 1:]
            eq = local.find("=")
            if eq > 0 and (local[:eq].lower() in _KEYS or (eq == 1 and local[0].isupper())):
                prefix, local = prefix + local[: eq + 1], local[eq + 1:]
            lead = len(local) - len(local.lstrip("'`["))
            prefix, local = prefix + local[:lead], local[lead:]
            if not local:
                return run
            dm = _DOMAIN.match(rest)
            domain = dm.group(0) if dm else ""
            return prefix + self.address(local, domain) + rest[len(domain):]
        login = _LOGIN.search(run) if "=" in run else None
        if login is not None and login.end() < len(run):  # sasl_username=alice, Exim U=alice, A=plain:alice
            return run[: login.end()] + self.local(run[login.end():])
        if start >= 3 and text[start - 3:start] in _ARROWS:
            return self.local(run)  # Exim: "=> carol <carol@host>"
        if start and text[start - 1] == "(" and text[max(0, start - 14):start - 1].endswith(_USER_IN_PARENS):
            return self.local(run)  # Dovecot: "lmtp(carol)"
        return run

    def _ip_text(self, text: str) -> str:
        if not self.ips:
            return text
        parts: list[str] = []
        pos = 0
        for m in _IP_RUN.finditer(text):
            run = m.group(0)
            if ":" not in run and run.count(".") < 3:
                continue
            skip = 2 if run.startswith("6:") and text[max(0, m.start() - 3):m.start()] == "IPv" else 0
            span = _find_ip(run[skip:])  # [IPv6:2001:db8::1]: the address starts after "6:"
            if span is None:
                continue
            a, b = m.start() + skip + span[0], m.start() + skip + span[1]
            parts.append(text[pos:a])
            parts.append(f"ip-{self._h(text[a:b].lower())}")
            pos = b
        if not parts:
            return text
        parts.append(text[pos:])
        return "".join(parts)

    def text(self, text: str) -> str:
        """``text`` with every address-shaped token (and, if asked, every IP) pseudonymised."""
        parts: list[str] = []
        pos = 0
        n = len(text)
        while pos < n:
            m = _TOKEN.search(text, pos)
            if m is None:
                break
            a, b = m.span()
            parts.append(text[pos:a])
            angle, quoted, run = m.group(1), m.group(2), m.group(3)
            if angle is not None:
                parts.append(self._angle(angle, text, a, b))
            elif quoted is not None:
                dm = _DOMAIN.match(text, b)
                domain = dm.group(0) if dm else ""
                parts.append(self.address(f'"{quoted}"', domain))
                b += len(domain)
            else:
                parts.append(self._run(run, text, a))
            pos = b
        parts.append(text[pos:])
        return self._ip_text("".join(parts))

    # -- structures -------------------------------------------------------------------------

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
            return self.field(obj) if key in ADDRESS_FIELDS else self.text(obj)
        return obj

    def frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """A copy of a table with every text column redacted (address columns as addresses).

        Each distinct value is redacted once (tables repeat values), not each cell.
        """
        out = df.copy()
        for col in out.columns:
            s = out[col]
            if not is_text(s):
                continue
            fn = self.field if col in ADDRESS_FIELDS else self.text
            values = s.dropna().unique()
            mapping = {v: fn(v) if isinstance(v, str) else v for v in values}
            mapped = s.map(mapping, na_action="ignore")
            out[col] = mapped if s.dtype == object else mapped.astype("string[pyarrow]")
        return out

    def table(self, table: pa.Table) -> pa.Table:
        """:meth:`frame` for a pyarrow table (a batch of a streamed output): each distinct value once."""
        cols = []
        for name, col in zip(table.column_names, table.columns, strict=True):
            typ = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
            if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
                cols.append(col)
                continue
            col = col.cast(typ) if pa.types.is_dictionary(col.type) else col
            fn = self.field if name in ADDRESS_FIELDS else self.text
            uniques = pc.unique(col).drop_null()
            redacted = pa.array([fn(v) for v in uniques.to_pylist()], type=typ)
            cols.append(pc.take(redacted, pc.index_in(col, value_set=uniques)))
        return pa.Table.from_arrays(cols, names=table.column_names)
