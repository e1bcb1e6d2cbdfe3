"""The shipped rule files' parsed tables kept between runs (analyzer/rules/_cache.py): the
knowledge base is the same from the cache as from the files, a changed file is never answered
from the cache, and a damaged, foreign or unwritable cache only means the files are parsed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analyzer.rules import _cache, _load
from analyzer.rules._load import load_rules


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "maillens"


def _files(cache: Path) -> list[Path]:
    return sorted(cache.glob("rules-*.marshal"))


def _parsed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records the files the loader parses from their TOML."""
    seen: list[Path] = []
    parse = _load._parse

    def counting(path: Path, data: bytes):
        seen.append(path)
        return parse(path, data)

    monkeypatch.setattr(_load, "_parse", counting)
    return seen


def test_cached_knowledge_base_equals_the_parsed_one(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = load_rules(verify_shipped=True)  # the files themselves, fully checked, no cache
    assert not cache.exists()
    first = load_rules()  # parses and keeps
    assert len(_files(cache)) == 1
    seen = _parsed(monkeypatch)
    second = load_rules()  # from the cache: nothing parsed
    assert seen == []
    assert first == parsed and second == parsed
    assert [r.id for r in second.rules] == [r.id for r in parsed.rules]
    assert list(second.causes) == list(parsed.causes) and list(second.providers) == list(parsed.providers)


def test_site_files_are_parsed_beside_the_cached_shipped_ones(cache: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[[rules]]\nid = "site.x"\ncause = "unknown"\ntext = "zzz frobnicated"\n')
    load_rules()
    seen = _parsed(monkeypatch)
    kb = load_rules([site])
    assert seen == [site]
    assert kb.rule("site.x").site


def _copy_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    here = tmp_path / "shipped"
    here.mkdir()
    for name in _load.SHIPPED:
        shutil.copy(_load.HERE / name, here / name)
    monkeypatch.setattr(_load, "HERE", here)
    return here


def test_a_changed_file_is_parsed_again(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = _copy_shipped(tmp_path, monkeypatch)
    before = load_rules()
    old = _files(cache)
    causes = here / "causes.toml"
    text = causes.read_text()
    title = before.causes["unknown"]["title"]
    assert f'title = "{title}"' in text
    causes.write_text(text.replace(f'title = "{title}"', 'title = "Changed since the cache was written"', 1))
    after = load_rules()
    assert after.causes["unknown"]["title"] == "Changed since the cache was written"
    new = _files(cache)
    assert len(new) == 1 and new != old  # the old key's file removed
    assert load_rules() == after


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "foreign", "shape"])
def test_a_damaged_cache_is_ignored_and_written_again(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                      damage: str) -> None:
    import hashlib
    import marshal

    good = load_rules()
    (where,) = _files(cache)
    data = where.read_bytes()
    if damage == "truncate":
        bad = data[: len(data) // 2]
    elif damage == "flip":
        bad = data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:]
    elif damage == "empty":
        bad = b""
    elif damage == "foreign":
        bad = b"something else entirely" * 100
    else:  # intact, but not the tables of these files
        payload = marshal.dumps([{"causes": {}}])
        bad = _cache._MAGIC + hashlib.blake2b(payload, digest_size=_cache._DIGEST).digest() + payload
    where.write_bytes(bad)
    seen = _parsed(monkeypatch)
    assert load_rules() == good
    assert len(seen) == len(_load.SHIPPED)
    assert where.read_bytes() == data  # written again


def test_a_cache_others_may_write_is_not_read(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = load_rules()
    (where,) = _files(cache)
    for target, mode in ((where, 0o666), (cache, 0o777)):
        old = target.stat().st_mode & 0o777
        target.chmod(mode)
        seen = _parsed(monkeypatch)
        try:
            assert load_rules() == good
            assert len(seen) == len(_load.SHIPPED)  # parsed: the file was not read
        finally:
            target.chmod(old)
            monkeypatch.undo()
            monkeypatch.setenv("XDG_CACHE_HOME", str(cache.parent))
    seen = _parsed(monkeypatch)
    load_rules()
    assert seen == []  # private again: read


def test_no_usable_cache_directory_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    good = load_rules(verify_shipped=True)
    assert load_rules() == good
    assert load_rules() == good
    assert not list(tmp_path.glob("**/rules-*.marshal")) and not list(tmp_path.glob("**/.rules-*"))


def test_the_cache_goes_where_xdg_says_or_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert _cache.cache_dir() == tmp_path / "x" / "maillens"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/not/used")  # the spec: relative paths are ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _cache.cache_dir() == tmp_path / "home" / ".cache" / "maillens"


def test_unmarshallable_tables_are_not_kept(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    tables = [{"when": dt.date(2026, 1, 1)}]
    _cache._store(cache / "rules-x.marshal", tables)
    assert not cache.exists() or not list(cache.iterdir())


def test_unreadable_shipped_file_reports_as_before(cache: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    here = _copy_shipped(tmp_path, monkeypatch)
    (here / "codes.toml").unlink()
    with pytest.raises(_load.RulesError, match=r"codes\.toml: cannot read"):
        load_rules()
    (here / "codes.toml").write_text("this is = = not toml")
    with pytest.raises(_load.RulesError, match=r"codes\.toml: not valid TOML"):
        load_rules()
    assert not list(cache.glob("rules-*.marshal"))
