"""Values kept between runs in the user's cache directory as private :mod:`marshal` files (the
shipped rules' parsed tables, :mod:`analyzer.rules._cache`; the native fold's arguments,
:mod:`analyzer.head_start`).

A file is ``MAGIC``, a blake2b digest of the payload, then the payload: a truncated or damaged
file (or one of another program) is not read. Nor is one that is not this user's own, or that
others may write (nor its directory): marshal is not meant for data someone else could have
made (a root run whose HOME is a user's reads no file of theirs). Written atomically (a
temporary file in the same directory, then renamed), the directory private to the user. Any
problem (no home directory, a read-only one, a full disk, a value marshal cannot hold) only
means nothing is kept: the callers then make the value as before."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from pathlib import Path
from typing import Any

__all__ = ["DIGEST", "cache_dir", "read_kept", "write_kept"]

DIGEST = 32  # bytes of the payload's blake2b


def cache_dir() -> Path | None:
    """Where the cache lives (None: no home directory to put it in)."""
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    except (RuntimeError, KeyError):  # no home directory
        return None
    return root / "maillens"


def read_kept(path: Path, magic: bytes) -> Any:
    """The value kept at ``path`` (see the module doc), or None."""
    try:
        for p in (path.parent, path):
            st = os.stat(p)
            if st.st_uid != os.geteuid() or st.st_mode & 0o022:
                return None
        data = path.read_bytes()
    except OSError:
        return None
    head = len(magic) + DIGEST
    if len(data) < head or not data.startswith(magic):
        return None
    payload = memoryview(data)[head:]
    if hashlib.blake2b(payload, digest_size=DIGEST).digest() != data[len(magic):head]:
        return None
    try:
        return marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None


def write_kept(path: Path, magic: bytes, value: Any) -> bool:
    """Keep ``value`` at ``path`` (see the module doc); whether it was. Best effort."""
    try:
        payload = marshal.dumps(value)
    except ValueError:  # a value marshal cannot hold
        return False
    import tempfile

    tmp = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(magic + hashlib.blake2b(payload, digest_size=DIGEST).digest() + payload)
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
