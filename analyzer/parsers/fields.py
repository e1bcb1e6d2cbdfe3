"""Turn captured groups into event columns, vectorized over a whole batch.

The patterns capture strings; this module splits ``host[ip]:port``, reads Exim ``NAME=value``
items, finds reply codes, enhanced codes and SMTP stages in reply texts, and casts to the
schema's types.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..line_patterns import CODE, ENH_ANY, QUEUED_AS, STAGE_RULES, STAGE_TEXT
from ..schema import cast_or_null
from .engine import map_uniques, nonempty, sparse_extract

__all__ = ["canonical_stage", "finish", "reply_codes", "stage_from_text"]

_HOSTPORT = r"^(?P<h>[^\[\]\s]*)\[(?P<ip>[^\]]*)\](?::(?P<port>\d+))?$"
_EXIM_H = r"^(?P<h>[^\s()\[\]]+)?\s*(?:\((?P<helo>[^)]*)\))?\s*(?:\[(?P<ip>[^\]]+)\](?:[:.](?P<port>\d+))?)?$"
_CODE, _ENH_ANY, _STAGE_TEXT, _QUEUED_AS = CODE, ENH_ANY, STAGE_TEXT, QUEUED_AS  # (analyzer.line_patterns)

# Exim NAME=value items (value quoted or not); first occurrence wins.
_EXIM_FIELDS = {  # matched against " " + the items, so each key is preceded by a space
    "H": r" H=(?P<v>(?:[^\s()\[\]]+ )?(?:\([^)]*\) )?\[[^\]]+\](?::\d+)?)",
    "F": r" F=(?P<v><[^>]*>|\S+)",
    "P": r" P=(?P<v>\S+)",
    "S": r" S=(?P<v>\d+)",
    "id": r" id=(?P<v>\S+)",
    "X": r" X=(?P<v>\S+)",
    "C": r" C=\"(?P<v>(?:[^\"\\]|\\.)*)\"",
    "QT": r" QT=(?P<v>[\dsmhdw.]+)",
    "R": r" R=(?P<v>\S+)",
    "A": r" A=(?P<v>\S+)",
    "U": r" U=(?P<v>\S+)",
    "errno": r"defer \((?P<v>-?\d+)\)",
    "CQUIT": r" C=(?P<v>\S*QUIT)",
    "T": r" T=(?P<v>\S*smtp\S*)",  # a remote (SMTP) transport: the delivery went outbound
}
# the events each item is read for (None: all)
_EXIM_FIELD_EVENTS = {
    "F": ("reject", "delivery", "verify", "filter_action", "reject_warning"),
    "P": ("received",), "S": ("received",), "id": ("received",), "U": ("received",),
    "A": ("received",), "R": ("received",), "X": ("received", "delivery"),
    "C": ("delivery",), "QT": ("delivery",), "T": ("delivery",), "errno": ("delivery",), "CQUIT": ("disconnect",),
}

_STAGE_RULES = STAGE_RULES  # (analyzer.line_patterns)


def canonical_stage(raw: str) -> str:
    """Map an MTA's wording of a stage (RCPT, 'end of DATA', 'receiving the initial server
    greeting', 'RCPT TO:<a@b>') to one of schema.STAGES."""
    up = raw.upper().replace("_", " ")
    for key, stage in _STAGE_RULES:
        if key in up:
            return stage
    return "other"


def _stage_column(raw: pa.Array) -> pa.Array:
    trimmed = pc.utf8_slice_codeunits(pc.replace_substring_regex(raw, r"[:<].*$", ""), 0, 60)
    return map_uniques(trimmed, canonical_stage)


def stage_from_text(text: pa.Array) -> pa.Array:
    """The stage a reply text names ('in reply to RCPT TO command', 'while receiving the initial
    server greeting', Exim 'after end of data'), canonical, or null."""
    g = sparse_extract(text, _STAGE_TEXT)
    raw = pc.coalesce(*[g[k] for k in "abcdef"])
    return _stage_column(raw)


def reply_codes(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(reply_code int16, enhanced_code) found in reply texts."""
    g = sparse_extract(text, _CODE)
    code = pc.cast(g["code"], pa.int16())
    enh = g["enh"]
    missing = pc.if_else(pc.is_null(enh), text, pa.scalar(None, pa.string()))
    enh = pc.coalesce(enh, sparse_extract(missing, _ENH_ANY, ".")["enh"])
    return code, enh


def _strip_brackets(arr: pa.Array) -> pa.Array:
    arr = nonempty(arr)
    inner = pc.replace_substring_regex(arr, r"^<(.*)>$", r"\1")
    return inner


def _col(t: dict[str, pa.Array], name: str, n: int) -> pa.Array:
    return t[name] if name in t else pa.nulls(n, pa.string())


def _port(port: pa.Array) -> pa.Array:
    """A port's digits, null where their value does not fit the schema's int32 (a broken line:
    the cast would fail). The native readers leave such lines to this path."""
    digits = pc.utf8_ltrim(port, characters="0")
    n = pc.utf8_length(digits)
    fits = pc.or_(pc.less_equal(n, 9), pc.and_(pc.equal(n, 10), pc.less_equal(digits, "2147483647")))
    return pc.if_else(fits, port, pa.scalar(None, pa.string()))


def _split_hostport(spec: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    g = sparse_extract(spec, _HOSTPORT, "[")
    has_ip = pc.is_valid(g["ip"])
    host = pc.if_else(has_ip, g["h"], spec)
    return host, g["ip"], _port(g["port"])


def _split_exim_h(spec: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    g = sparse_extract(spec, _EXIM_H)
    return g["h"], g["helo"], g["ip"], _port(g["port"])


def _exim_duration(arr: pa.Array) -> pa.Array:
    """Exim's 1d2h3m4s style durations in seconds."""
    arr = nonempty(arr)
    g = sparse_extract(arr, r"^(?P<w>\d+w)?(?P<d>\d+d)?(?P<h>\d+h)?(?P<m>\d+m)?(?P<s>[\d.]+s)?$")
    total = None
    for k, mult in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        num = pc.utf8_slice_codeunits(pc.coalesce(g[k], "0x"), 0, -1)
        v = pc.multiply(pc.cast(num, pa.float64()), float(mult))
        total = v if total is None else pc.add(total, v)
    return pc.if_else(pc.is_valid(arr), total, pa.scalar(None, pa.float64()))


def _set(cols: dict[str, pa.Array], name: str, value: pa.Array, *, override: bool = False) -> None:
    """Fill column ``name`` with ``value`` where it is null (or everywhere with override)."""
    if name not in cols or override:
        cols[name] = value
    else:
        cols[name] = pc.coalesce(cols[name], value)


def finish(cols: dict[str, pa.Array], mta: str, n: int) -> dict[str, pa.Array]:
    """Derive schema columns from captured groups (all strings) and pattern constants."""
    out = dict(cols)
    for k in ("sender", "recipient", "orig_recipient"):
        if k in out:
            out[k] = _strip_brackets(out[k])
    for k in ("queue_id", "detail", "reply_text", "helo", "sasl_username", "protocol", "tls",
              "related_id", "status", "dsn", "message_id", "client_host", "client_ip"):
        if k in out:
            out[k] = nonempty(out[k])

    if mta == "exim":
        _finish_exim(out, n)

    if "client" in out:
        h, ip, port = _split_hostport(nonempty(out.pop("client")))
        _set(out, "client_host", h)
        _set(out, "client_ip", ip)
        _set(out, "client_port", port)
    if "relay" in out:
        relay = nonempty(out.pop("relay"))
        h, ip, port = _split_hostport(relay)
        _set(out, "relay_host", h)
        _set(out, "relay_ip", ip)
        _set(out, "relay_port", port)

    # reply code and enhanced code from the text; a code the pattern knows wins
    text = _col(out, "reply_text", n)
    code, enh = reply_codes(text)
    if "reply_code" in out:
        out["reply_code"] = pc.coalesce(pc.cast(nonempty(out["reply_code"]), pa.int16()), code)
    else:
        out["reply_code"] = code
    out["enhanced_code"] = enh

    # stage: from the pattern's stage group, else the pattern constant, else the reply text
    raw = out.pop("stage", None)
    stage = _stage_column(nonempty(raw)) if raw is not None else pa.nulls(n, pa.string())
    if "smtp_stage" in out:
        stage = pc.coalesce(out["smtp_stage"], stage)
    out["smtp_stage"] = pc.coalesce(stage, stage_from_text(text))

    if "message_id" in out:
        out["message_id"] = _strip_brackets(out["message_id"])
    if "kv" in out:  # smtpd client= extras
        kv = out.pop("kv")
        g = pc.extract_regex(pc.coalesce(kv, ""), pattern=r"sasl_username=(?P<u>[^,]+)")
        _set(out, "sasl_username", nonempty(g.field("u")))
        g = pc.extract_regex(pc.coalesce(kv, ""), pattern=r"sasl_method=(?P<m>[^,]+)")
        _set(out, "detail", nonempty(g.field("m")))
        g = pc.extract_regex(pc.coalesce(kv, ""), pattern=r"orig_queue_id=(?P<q>[^,]+)")
        _set(out, "related_id", nonempty(g.field("q")))
    # a content filter or next hop that answered "queued as X"
    _set(out, "related_id", sparse_extract(text, _QUEUED_AS, "queued as")["q"])
    if "tls_trust" in out:
        trust = nonempty(out.pop("tls_trust"))
        if "tls" in out:
            out["tls"] = pc.binary_join_element_wise(trust, out["tls"], " ")
    if "delay" in out and out["delay"].type == pa.string():
        out["delay"] = cast_or_null(nonempty(out["delay"]), pa.float64())
    return out


def _map_small(arr: pa.Array, mapping: dict[str, str]) -> pa.Array:
    return pc.take(pa.array(list(mapping.values())), pc.index_in(arr, value_set=pa.array(list(mapping))))


def _finish_exim(out: dict[str, pa.Array], n: int) -> None:
    fields = out.pop("fields", None)
    f: dict[str, pa.Array] = {}
    if fields is not None:
        src = pc.binary_join_element_wise(" ", nonempty(fields), "")
        for key, rx in _EXIM_FIELDS.items():
            literal = "defer (" if key == "errno" else ("QUIT" if key == "CQUIT" else f"{key}=")
            events = _EXIM_FIELD_EVENTS.get(key)
            where = None if events is None else pc.is_in(out["event"], value_set=pa.array(events))
            f[key] = sparse_extract(src, rx, literal, where)["v"]
    event = out["event"]
    is_recv = pc.equal(event, "received")
    is_deliv = pc.is_in(event, value_set=pa.array(["delivery", "reply", "timeout", "lost_connection",
                                                     "connect_failure"]))
    # a delivery's lines name its message; a client's session lines ('H=... incomplete transaction
    # (connection lost)') do not, and their H= is the client
    is_deliv = pc.and_(is_deliv, pc.is_valid(out["queue_id"]) if "queue_id" in out else pa.scalar(False))
    if "H" in f:
        # H= on arrivals and session lines is the client; on deliveries the relay
        inbound_h = pc.if_else(is_deliv, pa.scalar(None, pa.string()), f["H"])
        outbound_h = pc.if_else(is_deliv, f["H"], pa.scalar(None, pa.string()))
        out["client_h"] = pc.coalesce(_col(out, "client_h", n), inbound_h)
        out["relay_h"] = pc.coalesce(_col(out, "relay_h", n), outbound_h)
    for which in ("client", "relay"):
        key = f"{which}_h"
        if key in out:
            h, helo, ip, port = _split_exim_h(nonempty(out.pop(key)))
            _set(out, f"{which}_host", h)
            _set(out, f"{which}_ip", ip)
            _set(out, f"{which}_port", port)
            if which == "client":
                _set(out, "helo", helo)
    if "F" in f:
        _set(out, "sender", _strip_brackets(f["F"]))
    if "P" in f:
        _set(out, "protocol", f["P"])
    if "S" in f:
        _set(out, "size", f["S"])
    if "id" in f:
        _set(out, "message_id", f["id"])
    if "X" in f:
        _set(out, "tls", f["X"])
    if "C" in f:
        _set(out, "reply_text", pc.replace_substring(f["C"], '\\"', '"'))
    if "reply_text" in out:  # Exim appends DT= (delivery time) after a failure's reason
        out["reply_text"] = pc.replace_substring_regex(out["reply_text"], r" DT=[\dsmhdw.]+$", "")
    if "QT" in f:
        _set(out, "delay", _exim_duration(f["QT"]))
    if "A" in f:
        user = pc.replace_substring_regex(f["A"], r"^[^:]*:", "")
        _set(out, "sasl_username", pc.if_else(pc.match_substring(f["A"], ":"), user, pa.scalar(None, pa.string())))
    if "R" in f:
        # on an arrival R= names the message a bounce is about
        rel = pc.if_else(pc.and_(is_recv, pc.match_substring_regex(pc.coalesce(f["R"], ""), r"^[0-9A-Za-z]{6}-")),
                         f["R"], pa.scalar(None, pa.string()))
        _set(out, "related_id", rel)
    if "T" in f:
        _set(out, "direction", pc.if_else(pc.is_valid(f["T"]), "outbound", pa.scalar(None, pa.string())))
    if "errno" in f:
        _set(out, "detail", pc.binary_join_element_wise("defer (", f["errno"], ")", ""))
    if "CQUIT" in f and "pattern" in out:
        no_mail = pc.equal(out["pattern"], "exim.no_mail")
        quit_ = pc.is_valid(f["CQUIT"])
        _set(out, "quit", pc.if_else(no_mail, quit_, pa.scalar(None, pa.bool_())))
    if "flag" in out:
        flag = out.pop("flag")
        _set(out, "status", pc.if_else(pc.equal(flag, "*>"), "suppressed", pa.scalar(None, pa.string())), override=False)
        out["status"] = pc.if_else(pc.equal(pc.coalesce(flag, ""), "*>"), "suppressed", out["status"])
        # '->' (a further address of the same delivery) and '>>' (cutthrough): the flag is kept in
        # detail, since Exim's own statistics count '=>' lines as messages and the others as addresses
        _set(out, "detail", pc.if_else(pc.is_in(flag, value_set=pa.array(["->", ">>"])), flag,
                                       pa.scalar(None, pa.string())))
    # the address an Exim reject or verify names: RCPT -> recipient, MAIL/sender verify -> sender
    if "addr" in out:
        addr = _strip_brackets(out.pop("addr"))
        stage = pc.coalesce(_col(out, "stage", n), "")
        vtype = pc.coalesce(_col(out, "vtype", n), "")
        is_rcpt = pc.or_(pc.is_in(stage, value_set=pa.array(["RCPT", "VRFY", "EXPN"])), pc.equal(vtype, "recipient"))
        is_mail = pc.or_(pc.equal(stage, "MAIL"), pc.equal(vtype, "sender"))
        _set(out, "recipient", pc.if_else(is_rcpt, addr, pa.scalar(None, pa.string())))
        _set(out, "sender", pc.if_else(is_mail, addr, pa.scalar(None, pa.string())))
    if "vres" in out:
        vres = nonempty(out.pop("vres"))
        status = _map_small(vres, {"fail": "failed", "failed": "failed", "defer": "deferred", "accepted": "deliverable"})
        _set(out, "status", status)
        if "vtype" in out:
            _set(out, "detail", pc.binary_join_element_wise(nonempty(out.pop("vtype")), "verify", " "))
    if "temp" in out:
        temp = nonempty(out.pop("temp"))
        is_reject = pc.equal(out["event"], "reject")
        verdict = pc.if_else(pc.is_valid(temp), "tempfailed", "rejected")
        _set(out, "status", pc.if_else(is_reject, verdict, pa.scalar(None, pa.string())))
    if "from" in out:
        _set(out, "client_h_from", out.pop("from"))
        out.pop("client_h_from")

