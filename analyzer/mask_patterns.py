"""What classification masks in reply texts (:data:`MASK`, :data:`OPAQUE`) and the events whose
detail it does not read (:data:`DETAIL_IGNORED`), held without pyarrow: `maillens parse FILE`
builds the native fold's masker from them (:func:`analyzer.native.masker`) on a thread while the
main thread still imports pyarrow (:mod:`analyzer.early_fold`). :mod:`analyzer.classify`
re-exports them under the same names.
"""

from __future__ import annotations

__all__ = ["DETAIL_IGNORED", "MASK", "MASKED", "OPAQUE"]

#: One RE2 pass masks what varies between otherwise identical replies: addresses, IPs, ids. An
#: address's two halves stop at CJK and fullwidth text as at a space (Hangul Jamo, the CJK radicals
#: to the unified ideographs with the kana, CJK punctuation and Hangul compatibility Jamo between,
#: Hangul syllables, compatibility ideographs and forms, halfwidth and fullwidth forms, the
#: supplementary ideographic planes): Chinese and Japanese write an address inside the sentence
#: with no space around it ('收件人user@example.com不存在'), and the sentence's words are what the
#: rules read. Explicit ranges, not \p{Han}: RE2 and the regex crate read them alike (their Unicode
#: tables' versions may differ), and native/src/translate.rs passes them through.
_ADDRESS_HALF = (r"[^\s<>()\[\],;:\"'\x{1100}-\x{11FF}\x{2E80}-\x{9FFF}\x{A960}-\x{A97F}\x{AC00}-\x{D7FF}"
                 r"\x{F900}-\x{FAFF}\x{FE30}-\x{FE4F}\x{FF00}-\x{FFEF}\x{20000}-\x{3FFFF}]+")
MASK = (rf"(?i){_ADDRESS_HALF}@{_ADDRESS_HALF}"
        r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"
        r"|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b"
        r"|\b[a-z0-9]*\d[a-z0-9]*[a-z][a-z0-9]*\d[a-z0-9._-]*"
        r"|\d{6,}")
MASKED = "~"
#: What MASK leaves of tokens that are opaque by their place in a well-known reply, masked after
#: it (two RE2 passes over distinct texts only): Dovecot LMTP's session id (base64 or base64url:
#: '250 2.0.0 <~> CwKQ92SGjPbZOjBou/U/lp Saved'), Exchange Online's size and rate ('2000 bytes in 0.074, 165.734
#: KB/sec') and a queue id ('queued as F83037DEDEA'). Without them nearly every success reply of
#: such a server is a text of its own, and the classifier's work grows with them (issue 12). Each
#: is anchored on the words around the token and keeps those words; no rule, code or known reply
#: reads what they remove (tests/test_classify_keys.py: the shipped rules' examples, the known and
#: dev replies hold no such token, and random ids answer as with MASK alone). One deliberate
#: change: an id that happens to spell a provider's signature ('comcastAbC1/xy') names no provider.
#: (literal, pattern, replacement): a pattern runs only over the texts holding its literal (None:
#: all); the first two share one pass (a group that took no part is empty in the replacement).
OPAQUE = (
    (None, r"(<~> )[A-Za-z0-9+/=~_-]+( Saved)\b|\b(queued as )[0-9A-Za-z]+", r"\1\3~\2"),
    (" KB/sec", r"\b\d+ bytes in \d+(?:\.\d+)?, \d+(?:\.\d+)? KB/sec\b", "~ bytes in ~, ~ KB/sec"),
)
#: Events whose `detail` is bookkeeping (command counts, sizes), not a reason worth matching.
DETAIL_IGNORED = ("connect", "disconnect", "received", "message_id", "queued", "removed", "stats",
                  "queue_run", "bounce_notice", "delivery", "info", "daemon", "screen")
