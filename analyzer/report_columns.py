"""The event columns the report reads: a module of its own, without pandas, so that the report
command names them to its stream before anything heavy is imported (its worker processes then
send only those, :attr:`analyzer.pipeline.EventStream.columns`); :mod:`analyzer.report.run`
keeps the rows and folds of these."""

from __future__ import annotations

__all__ = ["REPORT_COLUMNS"]

#: The columns the report and the detectors read (classified events).
REPORT_COLUMNS = ("ts", "host", "mta", "program", "queue_id", "event", "direction", "client_host", "client_ip",
                  "relay_host", "sender", "recipient", "status", "smtp_stage", "reply_text", "delay", "size", "quit",
                  "sasl_username", "detail", "source", "line_no", "reply_class", "outcome", "cause", "provider",
                  "severity", "helo", "relay_ip", "orig_recipient", "fix_id", "action", "cause_ref")
