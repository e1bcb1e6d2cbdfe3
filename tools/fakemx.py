"""Scripted fake remote MX servers for generating sample logs on loopback.

Each :class:`MXScript` describes one fake mail exchanger listening on a
``127.0.0.x:port`` address and what it answers at every SMTP stage. A stage's
behaviour is an :data:`Action`:

* :class:`Reply` -- send an SMTP reply (single- or multi-line);
* :class:`Hang`  -- say nothing and keep the connection open (the client times out);
* :class:`Drop`  -- close the TCP connection at once (no reply, no 221).

A stage may also be given a *sequence* of actions: attempt ``n`` (counted per
stage and per key -- the recipient for ``RCPT``, the envelope for end of DATA,
the listener for the other stages) uses ``seq[min(n, len(seq) - 1)]``. That is
how greylisting ("450 the first time, 250 afterwards") is scripted.

Only loopback addresses may be used: :func:`serve` refuses anything else.

Run standalone for manual experiments::

    python tools/fakemx.py --demo 127.0.0.99 2525
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Action", "Drop", "FakeMXFarm", "Hang", "MXScript", "Reply", "serve"]

ENHANCED_RE = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")


@dataclass(frozen=True)
class Reply:
    """An SMTP reply: a code and one or more text lines (the enhanced code is part of the text).

    ``close`` makes the server close the connection right after sending it (as a real
    server does after a 421).
    """

    code: int
    lines: tuple[str, ...]
    close: bool = False

    @classmethod
    def of(cls, code: int, *lines: str, close: bool = False) -> Reply:
        """Build a reply from a code and text lines."""
        return cls(code, tuple(lines) or ("",), close)

    def render(self, **fmt: str) -> bytes:
        """The reply on the wire: ``550-line one\\r\\n550 line two\\r\\n``."""
        out = []
        for i, line in enumerate(self.lines):
            sep = " " if i == len(self.lines) - 1 else "-"
            out.append(f"{self.code}{sep}{line.format(**fmt)}\r\n")
        return "".join(out).encode()

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 enhanced status code at the start of the first line, if any."""
        m = ENHANCED_RE.match(self.lines[0])
        return m.group(1) if m else None

    def as_dict(self) -> dict:
        """A JSON-friendly description of the reply."""
        return {"code": self.code, "enhanced": self.enhanced, "text": list(self.lines)}


@dataclass(frozen=True)
class Hang:
    """Never answer; read and discard input until the client gives up."""

    def as_dict(self) -> dict:
        return {"action": "hang"}


@dataclass(frozen=True)
class Drop:
    """Close the connection immediately, without a reply."""

    def as_dict(self) -> dict:
        return {"action": "drop"}


Action = Reply | Hang | Drop
StageBehaviour = Action | Sequence[Action]

EHLO_KEYWORDS = ("PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES")


def _ok(code: int, text: str) -> Reply:
    return Reply.of(code, text)


@dataclass
class MXScript:
    """What one fake MX at ``host:port`` answers at each stage.

    ``rcpt_by_localpart`` overrides ``rcpt`` for particular recipient local parts, so one
    transaction can mix accepted and refused recipients.
    """

    name: str
    host: str
    port: int = 25
    greeting: StageBehaviour = field(default_factory=lambda: _ok(220, "{hostname} ESMTP fakemx ready"))
    ehlo: StageBehaviour = None  # type: ignore[assignment]  # default: 250 + keywords
    mail: StageBehaviour = field(default_factory=lambda: _ok(250, "2.1.0 Sender OK"))
    rcpt: StageBehaviour = field(default_factory=lambda: _ok(250, "2.1.5 Recipient OK"))
    rcpt_by_localpart: dict[str, StageBehaviour] = field(default_factory=dict)
    data: StageBehaviour = field(default_factory=lambda: _ok(354, "End data with <CR><LF>.<CR><LF>"))
    eod: StageBehaviour = field(default_factory=lambda: _ok(250, "2.0.0 Ok: queued as {queue_id}"))
    quit: StageBehaviour = field(default_factory=lambda: _ok(221, "2.0.0 Bye"))
    hostname: str = ""

    def __post_init__(self) -> None:
        if not self.hostname:
            self.hostname = f"mx.{self.name}.example"
        if self.ehlo is None:
            lines = (self.hostname, *EHLO_KEYWORDS)
            self.ehlo = Reply(250, lines)


class _Session(asyncio.Protocol):
    """One SMTP server session driven by an :class:`MXScript`."""

    def __init__(self, farm: FakeMXFarm, script: MXScript) -> None:
        self.farm = farm
        self.script = script
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.hung = False
        self.in_data = False
        self.data_lines: list[bytes] = []
        self.mail_from = ""
        self.rcpts: list[str] = []
        self.record: dict = {}

    # --- asyncio callbacks -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.record = {"ts": time.time(), "mx": self.script.name, "listen": f"{self.script.host}:{self.script.port}",
                       "peer": f"{peer[0]}:{peer[1]}", "events": []}
        self.farm.sessions.append(self.record)
        self._act("greeting", "", self.script.greeting)

    def data_received(self, data: bytes) -> None:
        if self.hung or self.transport is None or self.transport.is_closing():
            return
        self.buf += data
        while b"\n" in self.buf and not self.hung and not self.transport.is_closing():
            line, self.buf = self.buf.split(b"\n", 1)
            self._line(line.rstrip(b"\r"))

    def eof_received(self) -> bool | None:
        """The client half-closed (Exim does ``shutdown(SHUT_WR)`` after its final dot).

        Keep the connection open when hanging, so the client sees a timeout, not a close.
        """
        self.record["events"].append({"client": "<EOF>"})
        return True if self.hung else None

    def connection_lost(self, exc: Exception | None) -> None:
        self.record["events"].append({"closed_by": "server" if self.record.get("server_closed") else "client"})

    # --- protocol ----------------------------------------------------------
    def _line(self, line: bytes) -> None:
        if self.in_data:
            if line == b".":
                self.in_data = False
                key = self.mail_from + "|" + ",".join(sorted(self.rcpts))
                body = b"\n".join(self.data_lines)
                m = re.search(rb"(?im)^message-id:\s*(<[^>]*>)", body)
                self.record["events"].append({"message_id": m.group(1).decode() if m else None})
                self.data_lines = []
                self._act("end of DATA", key, self.script.eod)
                self.mail_from, self.rcpts = "", []
            else:
                self.data_lines.append(line[1:] if line.startswith(b"..") else line)
            return
        text = line.decode("utf-8", "replace")
        self.record["events"].append({"client": text})
        verb = text.split(" ", 1)[0].upper().split(":", 1)[0]
        if verb in ("EHLO", "HELO"):
            act = self.script.ehlo if verb == "EHLO" else _first_line_as_helo(self.script.ehlo)
            self._act("HELO/EHLO", "", act)
        elif verb == "MAIL":
            self.mail_from = _addr(text)
            self.rcpts = []
            self._act("MAIL FROM", self.mail_from, self.script.mail)
        elif verb == "RCPT":
            rcpt = _addr(text)
            local = rcpt.split("@", 1)[0].lower()
            behaviour = self.script.rcpt_by_localpart.get(local, self.script.rcpt)
            reply = self._act("RCPT TO", rcpt, behaviour)
            if isinstance(reply, Reply) and reply.code < 300:
                self.rcpts.append(rcpt)
        elif verb == "DATA":
            if not self.rcpts:
                self._send(Reply.of(554, "5.5.1 Error: no valid recipients"), "DATA")
                return
            reply = self._act("DATA", "", self.script.data)
            if isinstance(reply, Reply) and reply.code == 354:
                self.in_data = True
        elif verb == "RSET":
            self.mail_from, self.rcpts = "", []
            self._send(Reply.of(250, "2.0.0 Ok"), "RSET")
        elif verb == "NOOP":
            self._send(Reply.of(250, "2.0.0 Ok"), "NOOP")
        elif verb == "QUIT":
            self._act("QUIT", "", self.script.quit)
            self._close()
        else:
            self._send(Reply.of(502, "5.5.2 Error: command not recognized"), "other")

    def _act(self, stage: str, key: str, behaviour: StageBehaviour) -> Action:
        """Pick the action for this attempt of ``stage``/``key`` and carry it out."""
        action = self.farm.pick(self.script, stage, key, behaviour)
        if isinstance(action, Reply):
            self._send(action, stage, rcpt=key if stage == "RCPT TO" else "")
            if action.close:
                self._close()
        elif isinstance(action, Hang):
            self.record["events"].append({"stage": stage, "action": "hang"})
            self.hung = True
        else:
            self.record["events"].append({"stage": stage, "action": "drop"})
            self._close()
        return action

    def _send(self, reply: Reply, stage: str, rcpt: str = "") -> None:
        assert self.transport is not None
        self.farm.counter += 1
        wire = reply.render(hostname=self.script.hostname, queue_id=f"FAKE{self.farm.counter:06d}", rcpt=rcpt)
        self.record["events"].append({"stage": stage, "reply": wire.decode()})
        self.transport.write(wire)

    def _close(self) -> None:
        self.record["server_closed"] = True
        if self.transport is not None:
            self.transport.close()


def _first_line_as_helo(behaviour: StageBehaviour) -> StageBehaviour:
    """A HELO gets only the first line of the EHLO reply."""
    if isinstance(behaviour, Reply) and behaviour.code == 250:
        return Reply(250, behaviour.lines[:1])
    return behaviour


def _addr(cmd: str) -> str:
    m = re.search(r"<([^>]*)>", cmd)
    return m.group(1) if m else cmd.split(":", 1)[-1].strip()


class FakeMXFarm:
    """A set of fake MX listeners sharing one attempt counter table and transcript."""

    def __init__(self, scripts: Sequence[MXScript]) -> None:
        self.scripts = list(scripts)
        self.attempts: dict[tuple[str, str, str], int] = defaultdict(int)
        self.sessions: list[dict] = []
        self.counter = 0
        self.servers: list[asyncio.base_events.Server] = []

    def pick(self, script: MXScript, stage: str, key: str, behaviour: StageBehaviour) -> Action:
        """Return the action for the next attempt of ``stage`` with ``key`` on ``script``."""
        if isinstance(behaviour, (Reply, Hang, Drop)):
            return behaviour
        seq = list(behaviour)
        k = (script.name, stage, key)
        n = self.attempts[k]
        self.attempts[k] += 1
        return seq[min(n, len(seq) - 1)]

    async def start(self) -> None:
        """Bind every listener (loopback only)."""
        loop = asyncio.get_running_loop()
        for script in self.scripts:
            if not ipaddress.ip_address(script.host).is_loopback:
                raise ValueError(f"refusing to listen on non-loopback address {script.host}")
            server = await loop.create_server(lambda s=script: _Session(self, s), script.host, script.port,
                                              reuse_address=True)
            self.servers.append(server)

    async def stop(self) -> None:
        """Close all listeners."""
        for server in self.servers:
            server.close()
            await server.wait_closed()
        self.servers.clear()

    def write_transcript(self, path: str) -> None:
        """Write one JSON line per session the farm served."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(rec, sort_keys=True) + "\n" for rec in self.sessions)


async def serve(scripts: Sequence[MXScript], stop: asyncio.Event) -> FakeMXFarm:
    """Run a farm of fake MXes until ``stop`` is set; return it (with its transcript)."""
    farm = FakeMXFarm(scripts)
    await farm.start()
    await stop.wait()
    await farm.stop()
    return farm


def _main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", nargs=2, metavar=("HOST", "PORT"), required=True,
                    help="run one always-accepting fake MX on a loopback HOST PORT")
    args = ap.parse_args()
    script = MXScript("demo", args.demo[0], int(args.demo[1]))

    async def run() -> None:
        farm = FakeMXFarm([script])
        await farm.start()
        print(f"fake MX listening on {script.host}:{script.port}; Ctrl-C to stop")
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    _main()
