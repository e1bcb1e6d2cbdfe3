"""SMTP clients that talk to the MTA under test on 127.0.0.1:25.

Each client plays one :class:`scenarios.Scenario` and returns a list of per-recipient
records of what the MTA answered (for sessions without a message: one record). Only
loopback is ever contacted; the source address picks whether the MTA sees a trusted
(127.0.0.1) or an outside (127.0.0.66) client.
"""

from __future__ import annotations

import base64
import contextlib
import smtplib
import socket
import subprocess
import time
from email.message import EmailMessage
from email.utils import formatdate

from scenarios import (
    DEBUG_CLIENT_IP,
    OUTSIDE_CLIENT_IP,
    PROXY_FILTER_PORT,
    SASL_PASSWORD,
    SASL_USER,
    SYNC_CLIENT_IP,
    TRUSTED_CLIENT_IP,
    Scenario,
)

__all__ = ["CLIENTS", "MTA_ADDR", "make_message", "run_client"]

MTA_ADDR = ("127.0.0.1", 25)
TIMEOUT = 30


def make_message(sc: Scenario, message_id: str) -> EmailMessage:
    """Build the message for ``sc`` with a unique Message-ID."""
    msg = EmailMessage()
    msg["From"] = sc.sender
    msg["To"] = ", ".join(sc.recipients)
    msg["Subject"] = sc.subject or f"maillens sample: {sc.name}"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    line = "The quick brown fox jumps over the lazy dog. maillens sample log generator.\n"
    body = f"Scenario: {sc.name}\n{sc.summary}\n\n" + line * max(1, (sc.body_kib * 1024) // len(line))
    msg.set_content(body)
    return msg


def _reply(code: int, text: bytes | str) -> dict:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return {"code": code, "text": text}


def _send(sc: Scenario, message_id: str, source_ip: str, login: tuple[str, str] | None = None,
          port: int = MTA_ADDR[1]) -> list[dict]:
    """Send the scenario's message with smtplib; record the MTA's reply per recipient."""
    msg = make_message(sc, message_id)
    results = {r: {"recipient": r} for r in sc.recipients}
    with smtplib.SMTP(MTA_ADDR[0], port, local_hostname=_helo(source_ip), timeout=TIMEOUT,
                      source_address=(source_ip, 0)) as smtp:
        smtp.ehlo()
        if login:
            smtp.login(*login)
        code, text = smtp.mail(sc.sender)
        if code >= 400:
            for r in results.values():
                r.update(stage="MAIL FROM", mta_reply=_reply(code, text))
            smtp.rset()
            smtp.quit()
            return list(results.values())
        accepted = []
        for rcpt in sc.recipients:
            code, text = smtp.rcpt(rcpt)
            if code >= 400:
                results[rcpt].update(stage="RCPT TO", mta_reply=_reply(code, text))
            else:
                accepted.append(rcpt)
        if accepted:
            code, text = smtp.data(msg.as_bytes())
            for rcpt in accepted:
                results[rcpt].update(stage="end of DATA", mta_reply=_reply(code, text))
        else:
            smtp.rset()
        smtp.quit()
    return list(results.values())


def _helo(ip: str) -> str:
    return "client.maillens.test" if ip == TRUSTED_CLIENT_IP else "outside-client.sender.example"


def _raw(source_ip: str) -> socket.socket:
    s = socket.create_connection(MTA_ADDR, timeout=TIMEOUT, source_address=(source_ip, 0))
    return s


def _read_reply(s: socket.socket) -> str:
    """Read one (possibly multi-line) SMTP reply."""
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
        lines = data.split(b"\r\n")
        complete = [ln for ln in lines[:-1]]
        if complete and len(complete[-1]) >= 4 and complete[-1][3:4] == b" ":
            break
    return data.decode("utf-8", "replace")


def client_submit(sc: Scenario, mid: str) -> list[dict]:
    """A trusted local client (127.0.0.1) submits a message for relaying."""
    return _send(sc, mid, TRUSTED_CLIENT_IP)


def client_outside(sc: Scenario, mid: str) -> list[dict]:
    """An outside client (127.0.0.66) sends a message."""
    return _send(sc, mid, OUTSIDE_CLIENT_IP)


def client_auth(sc: Scenario, mid: str) -> list[dict]:
    """An outside client authenticates with SASL PLAIN, then relays."""
    return _send(sc, mid, OUTSIDE_CLIENT_IP, login=(SASL_USER, SASL_PASSWORD))


def client_sendmail(sc: Scenario, mid: str) -> list[dict]:
    """Submit with the MTA's sendmail command (Postfix pickup / Exim local submission)."""
    msg = make_message(sc, mid)
    res = subprocess.run(["/usr/sbin/sendmail", "-f", sc.sender, "--", *sc.recipients], input=msg.as_bytes(),
                         capture_output=True, timeout=TIMEOUT, check=False)
    return [{"recipient": r, "stage": "sendmail", "mta_reply": {"code": res.returncode,
             "text": res.stderr.decode("utf-8", "replace")}} for r in sc.recipients]


def client_drop_after_rcpt(sc: Scenario, mid: str) -> list[dict]:
    """EHLO, MAIL, RCPT, then close the socket without QUIT."""
    s = _raw(OUTSIDE_CLIENT_IP)
    transcript = [_read_reply(s)]
    for cmd in (f"EHLO {_helo(OUTSIDE_CLIENT_IP)}", f"MAIL FROM:<{sc.sender}>", f"RCPT TO:<{sc.recipients[0]}>"):
        s.sendall(cmd.encode() + b"\r\n")
        transcript.append(_read_reply(s))
    s.close()
    return [{"transcript": transcript}]


def client_ehlo_quit(sc: Scenario, mid: str, source_ip: str = OUTSIDE_CLIENT_IP) -> list[dict]:
    """EHLO then QUIT."""
    with smtplib.SMTP(*MTA_ADDR, local_hostname="idle.sender.example", timeout=TIMEOUT,
                      source_address=(source_ip, 0)) as smtp:
        code, text = smtp.ehlo()
        smtp.quit()
    return [{"ehlo_reply": _reply(code, text)}]


def client_debug_peer(sc: Scenario, mid: str) -> list[dict]:
    """EHLO then QUIT from the address in Postfix's debug_peer_list."""
    return client_ehlo_quit(sc, mid, DEBUG_CLIENT_IP)


def client_proxy_filter(sc: Scenario, mid: str) -> list[dict]:
    """A trusted client sends through the smtpd that has a before-queue filter."""
    return _send(sc, mid, TRUSTED_CLIENT_IP, port=PROXY_FILTER_PORT)


def client_unqualified(sc: Scenario, mid: str) -> list[dict]:
    """MAIL FROM and RCPT TO with addresses that have no domain, RSET between, then QUIT."""
    s = _raw(OUTSIDE_CLIENT_IP)
    transcript = [_read_reply(s)]
    for cmd in (f"EHLO {_helo(OUTSIDE_CLIENT_IP)}", "MAIL FROM:<nodomain>", "RSET",
                "MAIL FROM:<stranger@sender.example>", "RCPT TO:<alice>", "RSET", "QUIT"):
        s.sendall(cmd.encode() + b"\r\n")
        transcript.append(_read_reply(s))
    s.close()
    return [{"transcript": transcript}]


def client_auth_fail(sc: Scenario, mid: str) -> list[dict]:
    """Two AUTH PLAIN attempts with a wrong password, then QUIT."""
    out = []
    with smtplib.SMTP(*MTA_ADDR, local_hostname="guesser.sender.example", timeout=TIMEOUT,
                      source_address=(OUTSIDE_CLIENT_IP, 0)) as smtp:
        smtp.ehlo()
        for pw in ("wrong-password", "123456"):
            token = base64.b64encode(f"\0{SASL_USER}\0{pw}".encode()).decode()
            code, text = smtp.docmd("AUTH", f"PLAIN {token}")
            out.append(_reply(code, text))
            time.sleep(0.2)
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.quit()
    return [{"auth_replies": out}]


def client_pregreet(sc: Scenario, mid: str) -> list[dict]:
    """Send EHLO and MAIL before the server's greeting, in one packet."""
    s = _raw(SYNC_CLIENT_IP)
    s.sendall(b"EHLO impatient.sender.example\r\nMAIL FROM:<impatient@sender.example>\r\n")
    time.sleep(1.0)
    got = _drain(s)
    s.close()
    return [{"received": got}]


def _drain(s: socket.socket, timeout: float = 5) -> str:
    """Read whatever the server still sends until it closes or goes quiet."""
    got = b""
    s.settimeout(timeout)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return got.decode("utf-8", "replace")


def client_data_too_soon(sc: Scenario, mid: str) -> list[dict]:
    """EHLO, then MAIL/RCPT/DATA and the message text in one write, before the 354."""
    s = _raw(SYNC_CLIENT_IP)
    banner = _read_reply(s)
    s.sendall(b"EHLO hasty.sender.example\r\n")
    ehlo = _read_reply(s)
    s.sendall(b"MAIL FROM:<hasty@sender.example>\r\nRCPT TO:<alice@maillens.test>\r\nDATA\r\n"
              b"Subject: too soon\r\n\r\nsent without waiting for 354\r\n.\r\nQUIT\r\n")
    rest = _drain(s)
    s.close()
    return [{"banner": banner, "ehlo": ehlo, "received": rest}]


def client_http(sc: Scenario, mid: str) -> list[dict]:
    """Send an HTTP request line to the SMTP port."""
    s = _raw(OUTSIDE_CLIENT_IP)
    banner = _read_reply(s)
    s.sendall(b"GET / HTTP/1.1\r\nHost: mx.maillens.test\r\n\r\n")
    got = _drain(s)
    s.close()
    return [{"banner": banner, "received": got}]


CLIENTS = {
    "submit": client_submit,
    "sendmail": client_sendmail,
    "outside": client_outside,
    "auth": client_auth,
    "drop_after_rcpt": client_drop_after_rcpt,
    "ehlo_quit": client_ehlo_quit,
    "auth_fail": client_auth_fail,
    "pregreet": client_pregreet,
    "http": client_http,
    "data_too_soon": client_data_too_soon,
    "unqualified": client_unqualified,
    "proxy_filter": client_proxy_filter,
    "debug_peer": client_debug_peer,
}


def run_client(sc: Scenario, mid: str) -> list[dict]:
    """Play ``sc`` against the MTA; never raises for SMTP-level refusals."""
    try:
        return CLIENTS[sc.client](sc, mid)
    except smtplib.SMTPException as exc:
        return [{"recipient": r, "client_error": f"{type(exc).__name__}: {exc}"} for r in sc.recipients] \
            or [{"client_error": f"{type(exc).__name__}: {exc}"}]

