"""The rule walk's screen literals kept between runs (:mod:`analyzer.screen_cache`): a screen
built from kept literals lets through what one read off the patterns does, a file for other
patterns, a damaged one or one others may write is not read, and ``compile_ahead`` leaves the
screened patterns to their first use."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from analyzer import native, rule_sets, screen_cache
from analyzer.kept_file import keep
from analyzer.rules import shipped_rules

pytestmark = pytest.mark.skipif(native.engine() != "native" or not hasattr(getattr(native._module()[0], "RuleSet", None), "screen_from"),
                                reason="the native core builds the screen")

TEXTS = ["550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in virtual mailbox table",
         "452 4.2.2 Mailbox full", "421 4.7.0 Try again later, closing connection", "554 5.7.1 Spam message rejected",
         "Сообщение отклонено как спам", "réessayez plus tard", "", "host mx.example said: 550 blocked by policy"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "maillens"


def _set(patterns: tuple[str | None, ...]):
    return native._module()[0].RuleSet(["" if p is None else p for p in patterns], True)


def _marks(rules, n: int) -> bytes:
    texts = native._module()[0].Texts(*native.string_buffers(pa.array(TEXTS)))
    got = rules.screen_marks(texts)
    assert len(got) == n * len(TEXTS)
    return got


def _ready(patterns: tuple[str | None, ...]):
    rules = _set(patterns)
    screen_cache.prepare_screen(native._module()[0], rules, patterns)
    return rules


def _spy(rules, calls: list[str]):
    """``rules`` noting the names of the methods called on it."""

    class Spy:
        def __getattr__(self, name: str):
            attr = getattr(rules, name)

            def called(*args):
                calls.append(name)
                return attr(*args)
            return called

    return Spy()


def _shipped() -> tuple[str | None, ...]:
    return rule_sets.runner_patterns(shipped_rules())


def test_a_screen_from_kept_literals_lets_through_what_the_patterns_do(cache: Path) -> None:
    pats = _shipped()
    read = _set(pats)
    read.prepare_screen()
    first = _ready(pats)  # reads them off the patterns and keeps them
    files = list(cache.glob("screen-*.bin"))
    assert len(files) == 1 and files[0] == screen_cache.screen_path(native._module()[0], pats)
    assert os.stat(files[0]).st_mode & 0o077 == 0
    again = _ready(pats)  # from the file
    assert again.compiled() == 0
    want = _marks(read, len(pats))
    assert _marks(first, len(pats)) == want and _marks(again, len(pats)) == want
    assert b"\x00" in want and b"\x01" in want  # (the screen keeps some pairs out, lets some through)


def test_kept_literals_are_used_not_read_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pats = _shipped()
    _ready(pats)
    rules = _set(pats)
    asked: list[str] = []
    screen_cache.prepare_screen(native._module()[0], _spy(rules, asked), pats)
    assert asked == ["screen_from"] and rules.compiled() == 0


def test_other_patterns_are_another_file(cache: Path) -> None:
    pats = _shipped()
    other = (*pats[:-1], "quota (is )?exceeded")
    m = native._module()[0]
    assert screen_cache.screen_path(m, pats) != screen_cache.screen_path(m, other)
    _ready(pats)
    got = _ready(other)
    assert len(list(cache.glob("screen-*.bin"))) == 2
    fresh = _set(other)
    fresh.prepare_screen()
    assert _marks(got, len(other)) == _marks(fresh, len(other))


def test_the_case_flag_is_part_of_the_key(cache: Path) -> None:
    """A set matched with case kept reads other literals than one ignoring case: the two never
    share a kept file, and the shipped sets (all ignoring case) use the flag's key."""
    pats = _shipped()
    m = native._module()[0]
    folded = screen_cache.screen_path(m, pats)
    assert folded == screen_cache.screen_path(m, pats, ignore_case=rule_sets.IGNORE_CASE)
    assert folded != screen_cache.screen_path(m, pats, ignore_case=False)


def test_a_core_replaced_with_its_old_size_and_mtime_is_another_key(cache: Path, tmp_path: Path) -> None:
    """A rebuilt core copied over with its size and mtime kept (``cp -p``, a wheel's fixed
    times) must not read the literals kept for the old build: its change time and inode differ."""
    import shutil
    import types

    old = tmp_path / "old.so"
    old.write_bytes(b"x" * 4096)
    new = tmp_path / "new.so"
    shutil.copy2(old, new)  # same size, same mtime
    assert new.stat().st_mtime_ns == old.stat().st_mtime_ns and new.stat().st_size == old.stat().st_size
    pats = ("a(b|c)d",) * screen_cache.SMALL
    key_old = screen_cache.screen_path(types.SimpleNamespace(__file__=str(old)), pats)
    key_new = screen_cache.screen_path(types.SimpleNamespace(__file__=str(new)), pats)
    assert key_old is not None and key_new is not None and key_old != key_new


def test_a_damaged_or_foreign_file_is_not_read(cache: Path) -> None:
    pats = _shipped()
    want = _marks(_ready(pats), len(pats))
    path = screen_cache.screen_path(native._module()[0], pats)
    data = path.read_bytes()
    half = len(data) // 2
    flipped = [data[:k] + bytes([data[k] ^ 1]) + data[k + 1:] for k in (3, 40, half)]  # magic, digest, payload
    for bad in (data[:-7], *flipped, b"", b"x" * len(data)):
        path.write_bytes(bad)
        assert _marks(_ready(pats), len(pats)) == want
        assert path.read_bytes() == data  # written again
    # a payload of another number of patterns, stored intact: the core refuses it
    small = _set(pats[:150])
    keep(path, screen_cache._MAGIC, small.screen_literals(), kind="screen-*.bin", others_kept=screen_cache.KEPT - 1)
    assert _marks(_ready(pats), len(pats)) == want
    # a file others may write is never read (the screen is read off the patterns, the file kept)
    path.write_bytes(data)
    os.chmod(path, 0o666)
    calls: list[str] = []
    screen_cache.prepare_screen(native._module()[0], _spy(_set(pats), calls), pats)
    assert calls == ["screen_literals"]


def test_few_patterns_and_no_cache_directory_build_without_a_file(cache: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    few = ("quota", r"mailbox (is )?full", None, "spam")
    rules = _ready(few)
    assert not cache.exists() and len(_marks(rules, len(few))) == len(few) * len(TEXTS)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    pats = _shipped()
    fresh = _set(pats)
    fresh.prepare_screen()
    assert _marks(_ready(pats), len(pats)) == _marks(fresh, len(pats))


def test_only_the_newest_files_are_kept(cache: Path) -> None:
    pats = _shipped()
    for i in range(screen_cache.KEPT + 2):
        _ready((*pats, f"pattern {i}"))
    assert len(list(cache.glob("screen-*.bin"))) == screen_cache.KEPT


def test_compile_ahead_compiles_only_what_the_screen_cannot_screen(cache: Path) -> None:
    kb = shipped_rules()
    pats = rule_sets.runner_patterns(kb)
    rule_sets.rule_set.cache_clear()
    rule_sets.compile_ahead(lambda: kb)
    rule_sets.join_ahead()
    rules = rule_sets.rule_set(pats)
    unscreened = _set(pats)
    unscreened.compile_unscreened()  # builds its own screen, compiles those
    assert 0 < rules.compiled() == unscreened.compiled() < len(pats) // 10
    stop = threading.Event()
    stop.set()
    rule_sets.rule_set.cache_clear()
    rule_sets.compile_screened(pats, stop)  # stopped: nothing made
    assert rule_sets.rule_set(pats).compiled() == 0
    rule_sets.rule_set.cache_clear()


def test_the_screen_is_built_once_a_rule_set(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compile-ahead and the classifier's warm-up both ready the screen: the second asks for the
    set already built and reads neither the cache file nor the patterns' literals again."""
    from analyzer import rulematch

    kb = shipped_rules()
    pats = rule_sets.runner_patterns(kb)
    rule_sets.rule_set.cache_clear()
    built: list[int] = []
    real = screen_cache.prepare_screen
    monkeypatch.setattr(screen_cache, "prepare_screen", lambda *a, **k: (built.append(1), real(*a, **k))[1])
    rule_sets.compile_screened(pats)
    rulematch.prepare(kb)
    rule_sets.prepare_screen(pats)
    assert len(built) == 1
    rule_sets.rule_set.cache_clear()  # another set of the same patterns is built again
    rule_sets.prepare_screen(pats)
    assert len(built) == 2
    rule_sets.rule_set.cache_clear()
