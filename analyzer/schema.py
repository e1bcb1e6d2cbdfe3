"""The event table: one row per SMTP event, the single schema every stage shares.

Every parser returns exactly these columns, in this order, with these Arrow types.
A column's meaning is written here and nowhere else; ``docs`` in the README is generated
from :data:`COLUMNS`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

import pyarrow as pa

from .lazy import lazy_module

pd = lazy_module("pandas")  # imported when first used (analyzer.lazy)

__all__ = [
    "CODE_ORIGINS",
    "COLUMNS",
    "DIRECTIONS",
    "EVENTS",
    "SCHEMA",
    "STAGES",
    "STATUSES",
    "Column",
    "empty_table",
    "pandas_metadata",
    "to_pandas",
    "validate",
]


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    meaning: str


TS = pa.timestamp("us", tz="UTC")

COLUMNS: tuple[Column, ...] = (
    Column("ts", TS, "When the line was logged, timezone-aware UTC. Yearless syslog stamps take "
           "the year from --year or the file's modification time and the zone from --tz."),
    Column("host", pa.string(), "The server that logged the line (syslog hostname); null for "
           "Exim's own log files, which carry none."),
    Column("mta", pa.string(), "'postfix' or 'exim'."),
    Column("program", pa.string(), "The logging program as written, e.g. postfix/smtp, "
           "postfix/submission/smtpd, postfix-out/qmgr, exim."),
    Column("pid", pa.int32(), "Process id from the syslog tag or Exim's [pid]; null when absent."),
    Column("queue_id", pa.string(), "Postfix queue id or Exim message id the line belongs to; null "
           "for session-level lines (and Postfix NOQUEUE)."),
    Column("event", pa.string(), "What happened, from the closed set EVENTS."),
    Column("direction", pa.string(), "inbound (a client talking to us), outbound (we talk to a "
           "remote server), local (pickup, local/virtual/pipe delivery, our own queue); null "
           "where it does not apply."),
    Column("client_host", pa.string(), "Inbound: the client's reverse-DNS name ('unknown' when it "
           "had none), as the MTA logged it."),
    Column("client_ip", pa.string(), "Inbound: the client's IP address."),
    Column("client_port", pa.int32(), "Inbound: the client's TCP port, where logged."),
    Column("helo", pa.string(), "The HELO/EHLO name the client gave, where logged."),
    Column("relay_host", pa.string(), "Outbound/local: the host or transport the message was "
           "handed to (Postfix relay=, Exim H= on deliveries), e.g. mx.example.com, local, none."),
    Column("relay_ip", pa.string(), "Outbound: the relay's IP address."),
    Column("relay_port", pa.int32(), "Outbound: the relay's TCP port."),
    Column("sender", pa.string(), "Envelope sender (MAIL FROM); '' is the null sender <>."),
    Column("recipient", pa.string(), "Envelope recipient (RCPT TO) of this event."),
    Column("orig_recipient", pa.string(), "The recipient before aliasing/rewriting (Postfix "
           "orig_to=, Exim's <original> address)."),
    Column("status", pa.string(), "The MTA's verdict or the event's sub-kind, from STATUSES."),
    Column("dsn", pa.string(), "The enhanced status code the MTA itself logged (Postfix dsn=). It "
           "is the MTA's decision and may differ from what the server said (a 521 greeting is "
           "dsn=4.3.2 under smtp_skip_5xx_greeting)."),
    Column("reply_code", pa.int16(), "The SMTP reply code the server said (remote server for "
           "outbound, our server for inbound rejects), e.g. 221, 250, 421, 521, 550."),
    Column("enhanced_code", pa.string(), "The RFC 3463 enhanced status code found in the reply "
           "text, e.g. 5.1.1; also found in multi-line replies (550-5.7.1 ...)."),
    Column("code_origin", pa.string(), "Where reply_code comes from: 'logged' (the line holds it) or "
           "'inferred' (the MTA sent it without logging it: Exim's default 550/451/501/552 ... for "
           "its own rejects, 221 after QUIT); null where reply_code is null."),
    Column("smtp_stage", pa.string(), "The SMTP stage the event happened at, from STAGES."),
    Column("reply_text", pa.string(), "The reply or reason text as logged."),
    Column("delay", pa.float64(), "Seconds from arrival to this delivery attempt (Postfix delay=, "
           "Exim QT=)."),
    Column("size", pa.int64(), "Message size in bytes (Postfix size=, Exim S=)."),
    Column("nrcpt", pa.int32(), "Number of recipients (Postfix nrcpt=)."),
    Column("quit", pa.bool_(), "Session ends only: true when the client sent QUIT (and so got "
           "its 221), false when the session ended any other way; null elsewhere."),
    Column("message_id", pa.string(), "The Message-ID header (Postfix cleanup message-id=, Exim id=)."),
    Column("related_id", pa.string(), "Another queue id this line links to: the bounce notice "
           "a bounce created, the queue id a content filter re-injected as ('queued as')."),
    Column("sasl_username", pa.string(), "SASL login name (successful submissions; tried name "
           "where the failure logs it)."),
    Column("protocol", pa.string(), "Protocol the message came in by (Postfix proto=, Exim P=)."),
    Column("tls", pa.string(), "TLS version and cipher where logged (Exim X=, Postfix TLS lines)."),
    Column("detail", pa.string(), "Other free text worth keeping: disconnect command counts, "
           "warning text, DNSBL domain, postscreen test."),
    Column("source", pa.string(), "The file the line came from ('-' for stdin)."),
    Column("line_no", pa.int64(), "1-based line number in that file (after decompression)."),
)

SCHEMA = pa.schema([pa.field(c.name, c.type) for c in COLUMNS])
NAMES = tuple(c.name for c in COLUMNS)

#: The closed set of events.
EVENTS: dict[str, str] = {
    "connect": "A client connected to us (smtpd, postscreen, Exim SMTP connection).",
    "disconnect": "A session ended in an orderly way; `quit` says whether QUIT/221 happened.",
    "lost_connection": "A session ended abruptly (lost connection, postscreen HANGUP, Exim "
                       "unexpected disconnection); `smtp_stage` says where.",
    "timeout": "A session or conversation timed out; `smtp_stage` says where.",
    "too_many_errors": "A session was dropped for too many errors or non-mail commands.",
    "protocol_error": "A client broke the protocol: improper pipelining, pregreet, non-SMTP "
                      "command, Exim synchronization/syntax error.",
    "reject": "We refused a client's command (smtpd/postscreen/cleanup/milter reject, Exim "
              "rejected connection/HELO/MAIL/RCPT/DATA).",
    "reject_warning": "A reject that was only logged (warn_if_reject, Exim warn ACL).",
    "filter_action": "A header/body/milter/access action other than reject: hold, discard, "
                     "redirect, filter, prepend, info ... (`status` says which).",
    "received": "A message entered the queue: Postfix smtpd client= or pickup, Exim <=.",
    "message_id": "Postfix cleanup logged the Message-ID.",
    "queued": "Postfix qmgr took the message into the active queue (from=, size=, nrcpt=).",
    "delivery": "A delivery attempt for one recipient: `status` sent, deferred, bounced ...",
    "reply": "A remote server's reply logged outside a delivery line (Postfix 'host X said', "
             "Exim per-host SMTP error).",
    "connect_failure": "We could not connect to a remote server (refused, timed out, unreachable).",
    "expired": "A message stayed in the queue too long and was returned (qmgr status=expired).",
    "bounce_notice": "A bounce/delay/success notification was created (`related_id` is its queue id).",
    "removed": "A message left the queue (Postfix qmgr removed, Exim Completed).",
    "admin": "An administrator acted on the queue (postsuper, Exim -Mrm ...).",
    "frozen": "Exim froze or thawed a message.",
    "auth_failure": "SASL authentication failed (ours as server, or at a remote server).",
    "tls": "A TLS session was established or failed (`status` established or failed).",
    "dnsbl": "A DNSBL listed a client (postscreen DNSBL rank, dnsblog).",
    "screen": "A postscreen verdict (PASS NEW, PASS OLD, allow/deny list).",
    "dns": "A DNS problem with a peer (hostname does not resolve, no host name found).",
    "rate_limit": "A client hit a rate or concurrency limit.",
    "verify": "An address verification result (Postfix verify, Exim sender/recipient verify).",
    "queue_run": "Exim started or ended a queue run.",
    "daemon": "The mail system started, stopped or reloaded.",
    "stats": "Periodic statistics (anvil, scache, cache cleanup).",
    "info": "Other informational lines we recognise (EHLO keywords discarded, PIX workarounds).",
    "warning": "A warning logged by the MTA.",
    "error": "An error logged by the MTA.",
    "fatal": "A fatal error: the daemon stopped.",
    "panic": "A panic (Postfix panic:, Exim paniclog).",
}

#: Known values of `status` (the column is open to the MTA's own words, e.g. postsuper's).
STATUSES: dict[str, str] = {
    "sent": "Delivered (2xx at the end of DATA, or local delivery done).",
    "deferred": "Delivery failed for now; will be retried (temporary).",
    "bounced": "Delivery failed permanently; the sender gets a bounce.",
    "expired": "Given up after the maximal queue lifetime.",
    "rejected": "We refused the client's command permanently.",
    "tempfailed": "We refused the client's command temporarily (4xx).",
    "undeliverable": "Address verification found the address undeliverable.",
    "deliverable": "Address verification found the address deliverable.",
    "suppressed": "Exim *> delivery suppressed by -N.",
    "discarded": "Exim => blackhole: the recipients were discarded (discard verb, :blackhole:).",
    "force-expired": "Postfix qmgr: the postmaster expired the message (postsuper -e); returned to sender.",
    "established": "TLS session established.",
    "failed": "The thing tried (TLS, verify, auth, connect) failed.",
}

STAGES: tuple[str, ...] = (
    "connect", "greeting", "HELO/EHLO", "STARTTLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA",
    "end of DATA", "BDAT", "QUIT", "RSET", "VRFY", "ETRN", "NOOP", "other",
)

DIRECTIONS: tuple[str, ...] = ("inbound", "outbound", "local")

CODE_ORIGINS: tuple[str, ...] = ("logged", "inferred")


def empty_table() -> pa.Table:
    """A table with the event schema and no rows."""
    return SCHEMA.empty_table()


def cast_or_null(arr: pa.Array | pa.ChunkedArray, typ: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """``arr`` cast to ``typ``; where a value does not convert (a corrupt line's ``delay=0..5``, a
    size past int64), that value is null and the rest of the batch is kept: one value at a time,
    only in a batch that holds such a value (a good batch costs one cast, as before)."""
    try:
        return arr.cast(typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if isinstance(arr, pa.ChunkedArray):
            return pa.chunked_array([cast_or_null(c, typ) for c in arr.chunks], typ)
        out = []
        for v in arr.to_pylist():
            try:
                out.append(pa.array([v], arr.type).cast(typ)[0].as_py())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError, OverflowError):
                out.append(None)
        return pa.array(out, typ)


def conform(table: pa.Table) -> pa.Table:
    """Return ``table`` with exactly the schema's columns: missing ones null, types cast."""
    n, names = table.num_rows, set(table.column_names)  # (column_names is a new list each call)
    cols = []
    for field in SCHEMA:
        if field.name in names:
            col = table.column(field.name)
            if col.type != field.type:
                col = cast_or_null(col, field.type)
        else:
            col = pa.nulls(n, field.type)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=SCHEMA)


class SchemaError(ValueError):
    """A table does not follow the event schema."""


def validate(table: pa.Table | pd.DataFrame) -> None:
    """Raise SchemaError unless ``table`` has the schema's columns, types and closed sets."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    names = table.column_names[: len(NAMES)]
    if tuple(names) != NAMES:
        raise SchemaError(f"columns {names} differ from the schema's {list(NAMES)}")
    for field in SCHEMA:
        got = table.schema.field(field.name).type
        if got != field.type:
            raise SchemaError(f"column {field.name} is {got}, the schema says {field.type}")
    for name, allowed in (("event", EVENTS), ("smtp_stage", STAGES), ("direction", DIRECTIONS),
                          ("code_origin", CODE_ORIGINS),
                          ("mta", ("postfix", "exim"))):
        values = set(table.column(name).unique().drop_null().to_pylist())
        bad = values - set(allowed)
        if bad:
            raise SchemaError(f"column {name} has values outside its closed set: {sorted(bad)}")


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """The event table as a pandas DataFrame with Arrow-backed dtypes: the frame that
    ``table.to_pandas(types_mapper=pd.ArrowDtype)`` gives (each column an ``ArrowExtensionArray``
    of the column as it is, a ``RangeIndex``), made without pyarrow's pandas conversion, which
    looks for a pandas index in the metadata and plans and casts every column (~0.45 ms a
    28k-row batch of the report's 33 columns, against ~0.28 ms: the report's prep thread makes
    one a batch). Tables that need that conversion (pandas' metadata, repeated or no column
    names, extension types) get it."""
    names = table.column_names
    meta = table.schema.metadata
    if (not names or (meta and b"pandas" in meta) or len(set(names)) != len(names)
            or any(isinstance(t, pa.BaseExtensionType) for t in table.schema.types)):
        return table.to_pandas(types_mapper=pd.ArrowDtype)
    array = pd.arrays.ArrowExtensionArray
    return pd.DataFrame({name: array(col) for name, col in zip(names, table.columns, strict=True)},
                        index=pd.RangeIndex(table.num_rows), copy=False)


#: Columns that analyzer.classify() adds to the event table (the knowledge base fills them).
CLASS_COLUMNS: tuple[Column, ...] = (
    Column("reply_class", pa.string(), "RFC 5321 class of reply_code: 2xx positive completion, "
           "3xx positive intermediate, 4xx transient negative, 5xx permanent negative; null "
           "where the event has no code."),
    Column("outcome", pa.string(), "ok | transient_failure | permanent_failure | info."),
    Column("cause", pa.string(), "Stable cause id from the knowledge base (e.g. session.closed, "
           "host.no_mail, mailbox.unknown); 'unknown' only where no rule matches."),
    Column("provider", pa.string(), "Who answered, when the text or host tells (gmail, microsoft, "
           "yahoo, apple, proofpoint, mimecast, barracuda, spamhaus ...); null otherwise."),
    Column("severity", pa.string(), "info | warning | critical: how much the cause matters to the "
           "administrator."),
    Column("fix_id", pa.string(), "The knowledge-base entry that explains the cause and its fix "
           "(what `maillens explain` shows)."),
    Column("action", pa.string(), "What the MTA did with the mail on this line, apart from why: "
           "delivered | retrying (deferred after an attempt) | waiting_retry (deferred without "
           "an attempt: retry time not reached, delivery temporarily suspended) | bounced | "
           "expired (gave up at the queue lifetime or retry timeout) | rejected | frozen; null "
           "for lines that are not about a message's fate."),
    Column("cause_ref", pa.string(), "For a retry-wait or give-up line whose cause was taken from "
           "an earlier line: 'source:line_no' of that line; null otherwise."),
)
CLASS_SCHEMA = pa.schema([pa.field(c.name, c.type) for c in CLASS_COLUMNS])


_PANDAS_METADATA: dict[pa.Schema, dict] = {}


def pandas_metadata(schema: pa.Schema) -> dict:
    """The metadata pandas would write for a table of ``schema`` (computed once per schema):
    without importing pandas when it is not (:func:`_metadata_without_pandas`)."""
    key = schema.remove_metadata()
    if key not in _PANDAS_METADATA:
        got = None if "pandas" in sys.modules else _metadata_without_pandas(key)
        if got is None:
            got = pa.Schema.from_pandas(to_pandas(key.empty_table()), preserve_index=False).metadata
        _PANDAS_METADATA[key] = got
    return _PANDAS_METADATA[key]


def _metadata_without_pandas(schema: pa.Schema) -> dict | None:
    """What ``pa.Schema.from_pandas`` writes for a frame of ``schema``'s Arrow-backed columns
    (:func:`analyzer.schema.to_pandas`), built without pandas (~0.3 CPU-s to import in a
    ``parse -o`` that needs nothing else of it): per column its name, pyarrow's logical type of
    it and the ArrowDtype's name; no index. None for a type whose entry holds more (decimals,
    dictionaries, nested types ...) or without pandas installed. tests/test_sinks.py
    checks it equals pandas' for the event table's schema."""
    import json

    from pyarrow.pandas_compat import get_logical_type

    plain = (pa.types.is_string, pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_timestamp)
    if not all(any(t(f.type) for t in plain) for f in schema):
        return None
    pandas_version = _pandas_version()
    if pandas_version is None:
        return None
    columns = [{"name": f.name, "field_name": f.name, "pandas_type": get_logical_type(f.type),
                "numpy_type": f"{f.type}[pyarrow]", "metadata": None} for f in schema]
    return {b"pandas": json.dumps({"index_columns": [], "column_indexes": [], "columns": columns, "attributes": {},
                                   "creator": {"library": "pyarrow", "version": pa.__version__},
                                   "pandas_version": pandas_version}).encode("utf8")}


def _pandas_version() -> str | None:
    """The installed pandas' version, as ``importlib.metadata.version`` gives it (the first
    ``pandas-*.dist-info`` on ``sys.path``, its METADATA's Version), read without importing
    importlib.metadata (~15 ms, on the way to the first row group); that where this finds
    nothing plain (an egg, a zip, another layout). None without pandas."""
    import glob

    for entry in sys.path:
        entry = entry or "."
        if os.path.isfile(entry):
            break  # a zip: importlib.metadata looks inside
        found = glob.glob(os.path.join(glob.escape(entry), "[Pp][Aa][Nn][Dd][Aa][Ss][-_.]*"))
        if len(found) > 1 or (found and not found[0].endswith(".dist-info")):
            break
        if found:
            found = [os.path.join(found[0], "METADATA")]
            with contextlib.suppress(OSError), open(found[0], encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        break
            break
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pandas")
    except PackageNotFoundError:
        return None
