"""Issue 11, item 7: redaction takes linear time whatever a field holds (fields of 120k and 480k characters).

Each hostile shape is timed at n and 4n characters; linear time gives a ratio near 4, the old
quadratic scanner gave ~16 (3.7 s and 66 s for a 15k and a 60k-character host name; it is stopped
early here). The bound (8)
is generous for a shared machine; the best of several runs is compared, with a 20 ms noise floor.
Times are the test thread's CPU time (``time.thread_time``), not the wall clock: at a load of 30 the
wall clock counts the time the thread waited for a core, which made a linear scan look quadratic.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from analyzer.report.redact import Redactor

N = 120_000  # and 4N = 480k: beyond the caches at both sizes (small sizes skew the ratio)
SHAPES = {
    "long host name": lambda n: "a" * n,
    "long name then @": lambda n: "b" * (n - 10) + "@x.example",
    "many @": lambda n: "x@" * (n // 2),
    "open angles": lambda n: "<" * n,
    "unclosed angles": lambda n: ("<" + "c" * 40) * (n // 41),
    "quotes without @": lambda n: ('"' + "d" * 20) * (n // 21),
    "colons (IPv6-like)": lambda n: "1:" * (n // 2),
    "dots (IPv4-like)": lambda n: "1.2." * (n // 4),
    "dots and colons": lambda n: ".:" * (n // 2),
    "IPv4 with ports": lambda n: "1.2.3.4:5 " * (n // 10),
    "hex run": lambda n: "abcdef0123" * (n // 10),
    "key=value": lambda n: "sasl_username=" + "e" * n,
    "arrows": lambda n: "=> a " * (n // 5),
    "equals in local part": lambda n: ("f=" * (n // 2)) + "@x.example",
}


def _best(fn, text: str, repeat: int = 3, loops: int = 1, stop: float = float("inf")) -> float:
    """Best of ``repeat`` CPU timings of ``loops`` calls (the machine is shared: the best is the cost).
    Gives up after one timing longer than ``stop`` (a regression fails at once, not after minutes)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.thread_time()
        for _ in range(loops):
            fn(text)
            if time.thread_time() - t0 > stop:
                return time.thread_time() - t0
        best = min(best, time.thread_time() - t0)
    # Below 20 ms, cache and scheduler effects on a shared machine dominate (a linear scan can show
    # a 10x step between 15k and 60k characters); the quadratic scanner took seconds here.
    return max(best, 20e-3)


def _ratio(fn, small: str, large: str, attempts: int = 3) -> float:
    """t(large)/t(small), the lowest of a few attempts: a burst of load on the shared machine can
    spoil one attempt; a quadratic scanner spoils them all."""
    ratios = []
    for _ in range(attempts):
        t_small = _best(fn, small)
        ratios.append(_best(fn, large, stop=8 * t_small) / t_small)
        if ratios[-1] < 8:
            break
    return min(ratios)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_text_is_linear(shape):
    """Redactor.text on a hostile n and 4n (480k) character field: t(4n)/t(n) < 8."""
    r = Redactor("k", ips=True)
    small, large = SHAPES[shape](N), SHAPES[shape](4 * N)
    ratio = _ratio(r.text, small, large)
    assert ratio < 8, f"{shape}: t(4n)/t(n) = {ratio:.1f}"


def test_field_and_table_are_linear():
    """An address field and a table column of very long values scale linearly too."""
    r = Redactor("k", ips=True)
    for make in (lambda n: "g" * n + "@x.example", lambda n: "h" * n):
        assert _ratio(r.field, make(N), make(4 * N)) < 8

    def table(n: int) -> pd.DataFrame:
        return pd.DataFrame({"sender": ["i" * n + str(k) for k in range(20)],
                             "text": [f"<{'j' * n}{k}" for k in range(20)]})

    small, large = table(N), table(4 * N)
    assert _ratio(r.frame, small, large) < 8


def test_sixty_thousand_characters_still_redacted():
    """A 60k-character local part is pseudonymised whole, not cut at some length."""
    out = Redactor("k").text("to=<" + "k" * 60_000 + "@x.example>")
    assert "kkkk" not in out and out.endswith("@x.example>")
