"""The cause lists' entry keys: each row's (cause, fix id) pair as an integer code into the
distinct pairs' strings (:func:`_pair_codes`), and a column's values numbered in the order they
first appear (:func:`first_seen_codes`); read by :func:`.build._cause_list`."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["dense_codes", "first_seen_codes", "pair_numbers"]


def _pair_keys(cause: pd.Series, fix_id: pd.Series) -> np.ndarray:
    """``cause + "\x00" + fix_id`` (the cause where there is no fix id) per row, as an object
    array; each distinct pair's string made once and shared (not a new string per row: measured
    +30 MiB in the cause lists at 3M Exim lines)."""
    codes, names = _pair_codes(cause, fix_id)
    return names[codes]


def _pair_codes(cause: pd.Series, fix_id: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_pair_keys` as a code per row into the distinct pairs' strings (``names[codes]``
    are the keys): the cause lists group by the codes, not by hashing a string per row."""
    if cause.isna().any():  # how a null cause reads depends on the column's type: as it always did
        keys = (cause.astype(str) + "\x00" + fix_id.astype(object).where(fix_id.notna(), cause).astype(str)
                ).to_numpy(dtype=object)
        codes, uniq = pd.factorize(keys)
        return codes, np.asarray(uniq, dtype=object)
    cc, cu = first_seen_codes(cause)
    fc, fu = first_seen_codes(fix_id)
    cn = np.array(cu, dtype=object)
    fn = np.array([*fu, None], dtype=object)
    pair = pair_numbers(cc, fc, len(fu))
    del cc, fc
    inv, uniq = dense_codes(pair, (len(cu) + 1) * (len(fu) + 1))
    ci, fi = np.divmod(uniq, len(fu) + 1)
    names = np.array([cn[c - 1] + "\x00" + (fn[f - 1] if f else cn[c - 1]) for c, f in zip(ci, fi, strict=True)],
                     dtype=object)
    return inv, names


def pair_numbers(first: np.ndarray, second: np.ndarray, n_second: int) -> np.ndarray:
    """Each row's pair of codes (-1: none, in either) as one integer, ``(first + 1) * (n_second + 1)
    + second + 1``, made in place (not an array per operation); the caller may drop its codes
    before :func:`dense_codes` numbers the pairs."""
    pair = first.astype(np.int64)
    pair += 1
    pair *= n_second + 1
    pair += second
    pair += 1
    return pair


def dense_codes(pair: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """(each row's code among the distinct ``pair`` numbers present, those numbers sorted), as
    ``np.unique(pair, return_inverse=True)`` gives them; by a count over their range ``0 ..
    span-1`` where it is small (pairs of few causes and fixes, hosts and files; measured: np.unique's
    sort +50 MiB at 800k rows), the codes 4 bytes a row."""
    if span <= max(len(pair), 1 << 16):
        uniq = np.flatnonzero(np.bincount(pair, minlength=span))
        at = np.zeros(span, dtype=np.int32 if len(uniq) < 1 << 31 else np.intp)
        at[uniq] = np.arange(len(uniq))
        return at[pair], uniq
    uniq, inv = np.unique(pair, return_inverse=True)
    return inv.reshape(-1), uniq


def first_seen_codes(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """``pd.factorize(s)``'s codes (-1 null; values numbered in the order they first appear) and
    its values as strings; of a Categorical, from its small codes (no hash table over the rows)."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        return codes, [str(v) for v in uniq]
    cat = s.cat.codes.to_numpy()
    n, ncat = len(cat), len(s.cat.categories)
    valid = np.flatnonzero(cat >= 0)
    first = np.full(ncat, n, dtype=np.int64)  # each category's first row
    np.minimum.at(first, cat[valid], valid)
    del valid
    seen = np.flatnonzero(first < n)
    seen = seen[np.argsort(first[seen], kind="stable")]
    rank = np.full(ncat + 1, -1, dtype=np.int32 if ncat < 1 << 31 else np.int64)  # (code -1 takes the last)
    rank[seen] = np.arange(len(seen))
    return rank[cat], [str(v) for v in s.cat.categories[seen]]
