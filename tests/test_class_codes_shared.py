"""analyzer.class_codes.RowCodes.put: a column keeps the cache's shared list of words (and so the
Arrow array made once of it) until a word it does not hold is put, and the strings are those put."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import analyzer.class_codes as cc
from analyzer.class_codes import CLASS_NAMES, RowCodes


def _codes(words: list[list[str | None]], rows: int) -> RowCodes:
    codes = np.zeros((len(CLASS_NAMES), rows), np.int32)
    for j, w in enumerate(words):
        codes[j] = np.arange(rows) % len(w)
    return RowCodes(codes, words)


def test_known_words_put_keep_the_shared_list_and_its_array(monkeypatch):
    shared = [[None, "a", "b", "c"] for _ in CLASS_NAMES]
    made = []
    monkeypatch.setattr(cc, "_laid_out", lambda words: made.append(words) or None)
    first, second = _codes(shared, 6), _codes(shared, 5)
    j = CLASS_NAMES.index("cause")
    first.column("cause")
    second.put("cause", np.array([0, 4]), pa.array(["c", None]))
    assert second.words[j] is shared[j]  # no word added: still the cache's list
    assert second.column("cause").to_pylist() == ["c", "a", "b", "c", None]
    assert len(made) == 1  # one Arrow array of the shared list, for both batches
    second.put("cause", np.array([1]), pa.array(["new"]))
    assert second.words[j] is not shared[j] and shared[j] == [None, "a", "b", "c"]
    assert second.column("cause").to_pylist() == ["c", "new", "b", "c", None]
    assert first.column("cause").to_pylist() == [None, "a", "b", "c", None, "a"]
    assert len(made) == 2


def test_words_put_twice_take_one_code():
    rows = _codes([[None, "x"] for _ in CLASS_NAMES], 4)
    rows.put("fix_id", np.array([0, 1, 3]), pa.array(["y", "x", "y"]))
    j = CLASS_NAMES.index("fix_id")
    assert rows.words[j] == [None, "x", "y"]
    assert rows.codes[j].tolist() == [2, 1, 0, 2]
    assert rows.column("fix_id").to_pylist() == ["y", "x", None, "y"]
