"""Where this machine keeps its mail logs, for commands run without log arguments.

The usual files first (Debian's ``/var/log/mail.log*``, Red Hat's ``/var/log/maillog*``, Exim's
``/var/log/exim4/mainlog*`` and ``/var/log/exim/main.log*`` with their reject logs); only when
there are none, the systemd journal of the Postfix and Exim units (``journalctl -o short-iso``).
``MAILLENS_ROOT`` (or ``root=``) puts the search under another directory tree, as for a
mounted backup or a test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .intake import NoMailLines
from .sources import Input, rotation_key

__all__ = ["JOURNAL_UNITS", "PLACES", "ROOT_ENV", "Located", "NoLogsFound", "find_logs"]

ROOT_ENV = "MAILLENS_ROOT"
#: Globs under the root, in the order they are tried; every match is read.
PLACES = (
    "var/log/mail.log*",
    "var/log/maillog*",
    "var/log/exim4/mainlog*",
    "var/log/exim4/rejectlog*",
    "var/log/exim/main.log*",
    "var/log/exim/reject.log*",
)
#: systemd units whose journal is read when no file is found (postfix@- is Debian's instance).
JOURNAL_UNITS = ("postfix", "postfix@*", "exim4", "exim")
JOURNAL_NAME = "journalctl -u postfix -u exim4"


class NoLogsFound(NoMailLines):
    """No log argument was given and none of the usual places holds a mail log."""

    hint = "give the logs to read, e.g. maillens report /path/to/mail.log (or set MAILLENS_ROOT)"


@dataclass
class Located:
    """What was found: inputs for :func:`analyzer.reader.parse_logs`, and a line saying so."""

    inputs: list[str | Input]
    message: str
    journal_file: Path | None = None
    looked: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        """Remove the journal's temporary copy, if one was made."""
        if self.journal_file is not None:
            self.journal_file.unlink(missing_ok=True)
            self.journal_file = None


def _root(root: str | os.PathLike | None) -> Path:
    return Path(root if root is not None else os.environ.get(ROOT_ENV) or "/")


def _files(root: Path) -> list[str]:
    found: list[str] = []
    for pattern in PLACES:
        names = [str(p) for p in root.glob(pattern) if p.is_file() and not p.name.startswith(".")]
        found.extend(sorted(names, key=rotation_key))
    return list(dict.fromkeys(found))


def _journal(root: Path, journalctl: str | None) -> Path | None:
    """The journal's Postfix/Exim lines in a temporary file, or None when it has none."""
    exe = shutil.which(journalctl or "journalctl")
    if exe is None:
        return None
    cmd = [exe, "--no-pager", "--quiet", "-o", "short-iso"]
    if root != Path("/"):
        cmd.append(f"--root={root}")
    for unit in JOURNAL_UNITS:
        cmd += ["-u", unit]
    fd, name = tempfile.mkstemp(prefix="maillens-journal-", suffix=".log")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=False)
        if done.returncode == 0 and path.stat().st_size > 0:
            return path
    except OSError:
        pass
    path.unlink(missing_ok=True)
    return None


def _names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def find_logs(root: str | os.PathLike | None = None, *, journalctl: str | None = None) -> Located:
    """The mail logs of this machine (or of the tree at ``root``, default ``$MAILLENS_ROOT`` or /).

    Raises :class:`NoLogsFound`, saying where it looked, when there are none.
    """
    base = _root(root)
    looked = [str(base / p) for p in PLACES]
    files = _files(base)
    if files:
        return Located(list(files), f"Reading {len(files)} file(s) found in the usual places: {_names(files)}",
                       looked=looked)
    journal = _journal(base, journalctl)
    if journal is not None:
        return Located([Input(JOURNAL_NAME, journal)],
                       f"Reading the systemd journal ({JOURNAL_NAME} -o short-iso): no mail log files in "
                       f"{base / 'var/log'}", journal_file=journal, looked=looked)
    raise NoLogsFound("no mail logs found: looked in " + ", ".join(looked)
                      + f" and the systemd journal ({JOURNAL_NAME})")
