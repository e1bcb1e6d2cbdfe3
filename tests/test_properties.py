"""Property tests: the parsers never raise, whatever the input, and keep their promises."""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from analyzer.parsers import postfix
from analyzer.reader import parse_lines, parse_logs
from analyzer.schema import validate

PREFIXES = [
    "Nov 29 10:00:00 mx postfix/smtpd[1]: ",
    "Nov 29 10:00:00 mx postfix/smtp[2]: 3F1A2B4C5D: ",
    "2026-11-29T10:00:00.5+01:00 mx postfix/qmgr[3]: ",
    "2026-11-29 10:00:00 ",
    "2026-11-29 10:00:00 [77] 1rKqXY-000ABC-1x ",
    "mx exim[4]: 2026-11-29 10:00:00 ",
    "",
]
FRAGMENTS = ["to=<", "relay=", "status=", "said: ", "550 5.1.1 ", "<= ", "=> ", "** ", "== ", "H=", "[",
             "]:", "(", ")", " from ", "reject: RCPT from ", "NOQUEUE: ", "connect from ", "C=\"", "\\\"",
             "refused to talk to me: ", "quit=1", "commands=", "\t", "\u00e9", "\U0001F4E7", ":", ";"]

line_text = st.builds(lambda pre, parts: pre + "".join(parts), st.sampled_from(PREFIXES),
                      st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=12))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line_text, min_size=1, max_size=20))
def test_never_raises_on_mail_like_text(lines):
    """Lines built from real fragments in any order parse without raising and fit the schema."""
    lines = [ln.replace("\n", " ").replace("\r", " ") for ln in lines]
    res = parse_lines(lines)
    validate(res.events)
    c = res.counts
    accounted = (c.events + c.unrecognised + c.headerless + c.blank + c.meta + c.continuation + c.debug
                 + sum(c.foreign.values()))
    assert accounted == len(lines)  # every line is counted exactly once


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_never_raises_on_arbitrary_bytes(tmp_path_factory, blob):
    """Arbitrary bytes in a file (binary junk, broken UTF-8, fake magic numbers) never raise."""
    p = tmp_path_factory.mktemp("b") / "junk.log"
    p.write_bytes(blob)
    res = parse_logs([str(p)], tz="UTC", year=2026, now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))
    validate(res.events)
    if not blob.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")):
        # plain text: every line is read and accounted for, none lost
        expected = 0 if not blob else blob.count(b"\n") + (0 if blob.endswith(b"\n") else 1)
        c = res.counts
        assert c.lines == expected
        assert c.events + c.unrecognised + c.headerless + c.blank + c.meta + c.continuation + c.debug \
            + sum(c.foreign.values()) + c.duplicates == expected


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=st.sampled_from("(a]<[ :=>*\\\""), min_size=1000, max_size=5000))
def test_long_adversarial_lines_parse(text):
    """Long runs of the characters patterns care about parse (RE2: linear time, no blow-up)."""
    res = parse_lines(["Nov 29 10:00:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from " + text,
                       "2026-11-29 10:00:00 1rKqXY-000ABC-1x == " + text])
    validate(res.events)


def test_patterns_are_re2():
    """Every pattern compiles in RE2 (pyarrow) — so none can backtrack exponentially."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from analyzer.parsers import exim
    for pat in postfix.PATTERNS + exim.PATTERNS:
        pc.match_substring_regex(pa.array(["x"]), pattern=pat.regex)
