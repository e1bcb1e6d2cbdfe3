"""The thresholds: documented defaults in ``analyzer/anomalies.toml``, a site file merged over them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DEFAULTS_FILE = Path(__file__).parent.with_name("anomalies.toml")


class AnomalyConfigError(ValueError):
    """A thresholds file is broken: ``FILE: [section] key: what is wrong``."""

    hint = "Fix the key named in the message (see analyzer/anomalies.toml for every key and its default)."


def _merge(base: dict[str, Any], extra: dict[str, Any], src: str) -> dict[str, Any]:
    out = {k: dict(v) for k, v in base.items()}
    for section, values in extra.items():
        if section not in out or not isinstance(values, dict):
            raise AnomalyConfigError(f"{src}: [{section}]: unknown section (known: {', '.join(out)})")
        for key, value in values.items():
            if key not in out[section]:
                raise AnomalyConfigError(f"{src}: [{section}] {key}: unknown key")
            want = type(out[section][key])
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, want) or isinstance(value, bool) != (want is bool):
                raise AnomalyConfigError(f"{src}: [{section}] {key}: expected {want.__name__}, "
                                         f"got {value!r}")
            out[section][key] = value
    return out


def default_params() -> dict[str, dict[str, Any]]:
    """The documented defaults from ``analyzer/anomalies.toml``."""
    with open(DEFAULTS_FILE, "rb") as fh:
        return tomllib.load(fh)


def load_params(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then a site TOML file, then ``overrides`` (same shape); errors name file and key."""
    params = default_params()
    if path is not None:
        try:
            with open(path, "rb") as fh:
                site = tomllib.load(fh)
        except OSError as exc:
            raise AnomalyConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise AnomalyConfigError(f"{path}: not valid TOML ({exc})") from exc
        params = _merge(params, site, str(path))
    if overrides:
        params = _merge(params, overrides, "overrides")
    _check_bucket(params["general"]["bucket"], str(path) if path is not None else "overrides")
    return params


def _check_bucket(bucket: int, src: str) -> None:
    """The bucket is whole minutes: the report counts sent deliveries per minute (not kept as rows)."""
    if bucket <= 0 or bucket % 60:
        raise AnomalyConfigError(f"{src}: [general] bucket: must be a positive multiple of 60 seconds "
                                 f"(sent deliveries are counted per minute), got {bucket}")
