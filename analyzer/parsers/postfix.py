"""What Postfix's daemons write, as data: the tables live in :mod:`analyzer.postfix_patterns`
(without pyarrow, for :mod:`analyzer.early_fold`) and are re-exported here under their old names."""

from __future__ import annotations

from ..postfix_patterns import (  # noqa: F401 (re-exported)
    ADDR,
    CLIENT,
    CLIENTS,
    DAEMON_DIRECTION,
    DAEMONS,
    DEBUG,
    DELIVERY,
    INBOUND,
    LOCAL,
    LOOSE_ADDR,
    LOOSE_SENDER,
    OUTBOUND,
    PATTERNS,
    POSTFIX_PROGRAM,
    QID,
    QMGR,
    REJECT_ACTIONS,
    REJECTERS,
    SCREEN,
    SMTPD,
    is_postfix_program,
)

__all__ = ["DAEMON_DIRECTION", "DEBUG", "PATTERNS", "POSTFIX_PROGRAM", "is_postfix_program"]
