"""Anomaly detection: small pure detectors over the classified event table.

``detect_anomalies(events, baseline=None, params=None, now=None)`` runs every detector in
:data:`DETECTORS` and returns their :class:`Finding` objects, most severe first.

* ``events`` is the classified event table of the report window (``analyzer.classify`` adds
  the classification when it is missing).
* ``baseline`` is an earlier events table with the same columns (a history store, or the part
  of the input before the report window). Detectors compare each time bucket of ``events``
  with the baseline *and* the earlier buckets of ``events`` themselves, so a single night's log
  is its own baseline.
* ``params`` are the thresholds: :func:`load_params` reads the documented defaults in
  ``analyzer/anomalies.toml`` and merges a site file over them.
* ``now`` is the end of observation: a gap between the last event and ``now`` counts as
  silence. Library code never reads the clock.

Each detector is ``fn(ctx) -> list[Finding]`` where ``ctx`` holds the frames and parameters;
it has no side effects. Their findings then pass the severity policy (``severity.py``):
critical only for trouble on our side, per-recipient causes folded into one finding per cause,
one cause at several destinations grouped into one finding.

The package, by responsibility:

* ``finding.py``   the :class:`Finding`, its fingerprint, merging related findings
* ``params.py``    thresholds: the defaults file, a site file merged over it
* ``context.py``   what detectors read (:class:`Context`), building a finding, column helpers
* ``baseline.py``  time buckets and robust (median/MAD) baselines
* ``aggregates.py`` the lines only counted (sessions, TLS, postscreen, message-id/removed), folded
  per second apart from the rows (``Context.bulk``), and the fold that makes them
* ``sent.py``, ``folded.py``, ``failed.py``  sent deliveries, session ends and logins, quiet
  failures counted per hour instead of held as rows (the weekly report's fold: ``Context.bulk``)
* ``delivery.py``  failure and cause spikes, new signatures, concentration, deferral build-up
* ``abuse.py``     SASL brute force, dictionary attacks, relay probing
* ``health.py``    silence, abnormal session ends, server trouble
* ``severity.py``  the severity policy applied after the detectors (``[severity]`` in anomalies.toml)
* ``detect.py``    :data:`DETECTORS` and :func:`detect_anomalies`
"""

from __future__ import annotations

from .abuse import detect_abuse as detect_abuse
from .baseline import MAD_SCALE as MAD_SCALE
from .context import BASELINE_COLUMNS
from .context import FAILURES as FAILURES
from .context import Context as Context
from .delivery import detect_concentration as detect_concentration
from .delivery import detect_deferral_buildup as detect_deferral_buildup
from .delivery import detect_failure_spike as detect_failure_spike
from .delivery import detect_new_signature as detect_new_signature
from .detect import DETECTORS, detect_anomalies
from .finding import SEVERITIES, Finding
from .finding import merge_related as merge_related
from .health import detect_server_trouble as detect_server_trouble
from .health import detect_session_ends as detect_session_ends
from .health import detect_silence as detect_silence
from .params import DEFAULTS_FILE as DEFAULTS_FILE
from .params import AnomalyConfigError, default_params, load_params

# Also importable from here, as before the split (not part of ``__all__``): FAILURES, MAD_SCALE,
# DEFAULTS_FILE, Context, merge_related and each detect_* function.
__all__ = [
    "BASELINE_COLUMNS",
    "DETECTORS",
    "SEVERITIES",
    "AnomalyConfigError",
    "Finding",
    "default_params",
    "detect_anomalies",
    "load_params",
]
