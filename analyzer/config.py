"""The optional configuration file: a site's time zone, store, rules, thresholds and redaction.

Read from ``/etc/maillens.toml``, then ``$XDG_CONFIG_HOME/maillens.toml`` (``~/.config/maillens.toml``),
the later file's keys winning; ``--config FILE`` reads that file instead of both. An option given
on the command line wins over the file, and the file over the built-in defaults.

Example (every key is optional)::

    tz = "Europe/Berlin"                      # --tz
    store = "/var/lib/maillens"               # --store (report: the baseline; search, trace, metrics: when no LOGS)
    rules = ["/etc/maillens/site-rules.toml"] # --rules
    anomalies = "/etc/maillens/thresholds.toml"   # --anomalies (report)

    [redact]                                  # --redact, --redact-ips, --redact-key (report, weekly,
    enabled = true                            #   search, trace); ips and key apply only when enabled
    ips = false
    key_file = "/etc/maillens/redact.key"     # the key's text; keep the file private

Relative paths are read from the directory of the file that names them. Standard library only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SYSTEM_FILE", "Config", "ConfigError", "default_files", "load_config"]

SYSTEM_FILE = Path("/etc/maillens.toml")

_TOP = {"tz": str, "store": str, "rules": list, "anomalies": str, "redact": dict}
_REDACT = {"enabled": bool, "ips": bool, "key": str, "key_file": str}

#: option name (as the CLI spells its parameter) -> Config attribute
OPTION_KEYS = {"tz": "tz", "store": "store", "rules": "rules", "anomalies": "anomalies",
               "redact": "redact", "redact_ips": "redact_ips", "redact_key": "redact_key"}


class ConfigError(ValueError):
    """A configuration file that cannot be read or holds a wrong key or value (message names both)."""

    hint = "fix the file, or point --config at another one"


@dataclass(frozen=True)
class Config:
    """Settings from the configuration files; None (or empty) where no file set them."""

    tz: str | None = None
    store: str | None = None
    rules: tuple[str, ...] = ()
    anomalies: str | None = None
    redact: bool | None = None
    redact_ips: bool | None = None
    redact_key: str | None = None
    files: tuple[str, ...] = field(default=())

    def values(self) -> dict[str, Any]:
        """The settings a file gave, by CLI parameter name (only those that were set).

        The ``[redact]`` table applies as a whole when ``enabled = true``; otherwise its ``ips`` and
        key are not passed on (a command would refuse --redact-ips or --redact-key without --redact).
        """
        out: dict[str, Any] = {}
        for option, attr in OPTION_KEYS.items():
            v = getattr(self, attr)
            if v is None or v == ():
                continue
            if option in ("redact_ips", "redact_key") and self.redact is not True:
                continue
            out[option] = list(v) if isinstance(v, tuple) else v
        return out


def default_files(env: dict[str, str] | None = None) -> list[Path]:
    """The files looked for when --config is not given, system first."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME") or (str(Path(env["HOME"]) / ".config") if env.get("HOME") else None)
    files = [SYSTEM_FILE]
    if xdg:
        files.append(Path(xdg) / "maillens.toml")
    return files


def _check(path: Path, data: dict[str, Any], spec: dict[str, type], prefix: str = "") -> None:
    for key, value in data.items():
        want = spec.get(key)
        if want is None:
            raise ConfigError(f"{path}: unknown key '{prefix}{key}'; known keys: {', '.join(prefix + k for k in spec)}")
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ConfigError(f"{path}: {prefix}{key} must be a {want.__name__}, not {type(value).__name__}")


def _read(path: Path) -> dict[str, Any]:
    import tomllib  # (only where there is a file: ~4 CPU-ms of every run's start otherwise)

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    _check(path, data, _TOP)
    if "rules" in data and not all(isinstance(r, str) for r in data["rules"]):
        raise ConfigError(f"{path}: rules must be a list of file names")
    if "redact" in data:
        _check(path, data["redact"], _REDACT, "redact.")
        if "key" in data["redact"] and "key_file" in data["redact"]:
            raise ConfigError(f"{path}: give redact.key or redact.key_file, not both")
    return data


def _resolve(base: Path, name: str) -> str:
    p = Path(name).expanduser()
    return str(p if p.is_absolute() else base / p)


def load_config(path: str | os.PathLike | None = None, *, files: list[Path] | None = None) -> Config:
    """Read ``path`` (it must exist), or else the default files that exist, later ones winning."""
    if path is not None:
        chosen = [Path(path)]
        if not chosen[0].is_file():
            raise ConfigError(f"{path}: no such configuration file")
    else:
        chosen = [p for p in (default_files() if files is None else files) if p.is_file()]
    merged: dict[str, Any] = {}
    for f in chosen:
        data = _read(f)
        base = f.resolve().parent
        if "store" in data:
            merged["store"] = _resolve(base, data["store"])
        if "anomalies" in data:
            merged["anomalies"] = _resolve(base, data["anomalies"])
        if "rules" in data:
            merged["rules"] = tuple(_resolve(base, r) for r in data["rules"])
        if "tz" in data:
            merged["tz"] = data["tz"]
        red = data.get("redact", {})
        if "enabled" in red:
            merged["redact"] = red["enabled"]
        if "ips" in red:
            merged["redact_ips"] = red["ips"]
        if "key" in red:
            merged["redact_key"] = red["key"]
        if "key_file" in red:
            key_path = Path(_resolve(base, red["key_file"]))
            try:
                merged["redact_key"] = key_path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{f}: redact.key_file {key_path}: cannot read ({exc.strerror or exc})") from None
    return Config(**merged, files=tuple(str(f) for f in chosen))
