"""A file kept in the user's cache directory between runs: read only when it is intact and private,
written atomically. Shared by the rules' parsed TOML (:mod:`analyzer.rules._cache`) and the rule
walk's screen literals (:mod:`analyzer.screen_cache`).

A kept file is ``MAGIC + blake2b(payload) + payload``. It is read only where its magic and hash
hold and where the file (as opened) and its directory are this user's own and not writable by
others (a root run whose HOME is a user's reads no file of theirs). It is written to a temporary
file beside it, then renamed; older files of its kind are removed. Both are best effort: any
error means the caller computes what the file would have held.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

__all__ = ["DIGEST", "keep", "read_kept"]

#: bytes of the payload's blake2b
DIGEST = 32


def _private(st: os.stat_result) -> bool:
    """Whether a file or directory is this user's and not writable by anyone else."""
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def read_kept(path: Path, magic: bytes) -> bytes | None:
    """The payload kept at ``path``: None where there is none intact, or the file or its
    directory is another user's or writable by others."""
    try:
        with open(path, "rb") as f:
            if not (_private(os.fstat(f.fileno())) and _private(os.stat(path.parent))):
                return None
            data = f.read()
    except OSError:
        return None
    head = len(magic) + DIGEST
    if len(data) < head or not data.startswith(magic):
        return None
    payload = data[head:]
    return payload if hashlib.blake2b(payload, digest_size=DIGEST).digest() == data[len(magic):head] else None


def keep(path: Path, magic: bytes, payload: bytes, *, kind: str, others_kept: int = 0) -> None:
    """Keep ``payload`` at ``path`` atomically; of the other files of its kind (``kind``: a glob
    in its directory) the ``others_kept`` newest stay. Best effort: errors are let pass."""
    import tempfile  # (only when a file is written: not on every run's start)

    tmp = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".kept-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(magic + hashlib.blake2b(payload, digest_size=DIGEST).digest() + payload)
        os.replace(tmp, path)
        tmp = None
        others = [p for p in path.parent.glob(kind) if p.name != path.name]
        others.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in others[others_kept:]:
            with contextlib.suppress(OSError):
                old.unlink()
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
