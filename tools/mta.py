"""Install, configure, start, flush and stop the real MTAs (Debian packages) for a run.

:class:`Postfix` and :class:`Exim` share one small interface used by
:mod:`make_sample_logs`. Both are configured for a loopback-only sandbox from the
templates in ``tools/conf/``: every test domain is routed to a ``127.0.0.x`` fake MX,
DNS/ident lookups are off, timers are short. There is no systemd here: daemons are
started and stopped by hand.

Installing ``exim4-daemon-light`` removes ``postfix`` and the other way round (both
provide ``mail-transport-agent``), so a full run does Postfix first, then Exim.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from scenarios import (
    BLOCKED_SENDER,
    CONTENT_REJECT_SUBJECT,
    DISCARD_SUBJECT,
    LOCAL_DOMAIN,
    MTA_HOSTNAME,
    PANIC_SENDER,
    ROUTES,
    SASL_PASSWORD,
    SASL_USER,
)

__all__ = ["DELAY_WARNING", "LOCAL_USERS", "MTA", "QUEUE_LIFETIME", "Exim", "Postfix"]

CONF = Path(__file__).resolve().parent / "conf"
LOCAL_USERS = ("alice", "bob")
QUEUE_LIFETIME = 100   # seconds; messages injected early expire, later ones stay deferred
DELAY_WARNING = 45     # seconds


def sh(*cmd: str, check: bool = True, env: dict | None = None, input: str | None = None) -> str:
    """Run a command, return its stdout; raise with its output on failure when ``check``."""
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, input=input, check=False)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res.stdout


def apt_install(*packages: str) -> None:
    """``apt-get install -y`` non-interactively (run ``apt-get update`` first if lists are empty)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not any(Path("/var/lib/apt/lists").glob("*Packages*")):
        sh("apt-get", "update", env=env)
    sh("apt-get", "install", "-y", "-o", "Dpkg::Options::=--force-confold", *packages, env=env)


def fill(template: str, **values: str | int) -> str:
    """Replace ``@@NAME@@`` placeholders (Postfix and Exim both use ``$``, so no str.Template)."""
    for k, v in values.items():
        template = template.replace(f"@@{k}@@", str(v))
    if "@@" in template:
        raise ValueError("unfilled placeholder in template: " + template[template.index("@@"):][:40])
    return template


def wait_port(host: str, port: int, timeout: float = 30) -> None:
    """Wait until something accepts TCP connections on ``host:port``."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection((host, port), timeout=1) as s:
                s.recv(512)
                s.sendall(b"QUIT\r\n")
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"nothing listening on {host}:{port}")


def ensure_users() -> None:
    """Create the local mailbox users (no home, no login shell) and remove their mailboxes."""
    for user in LOCAL_USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            sh("useradd", "-M", "-s", "/usr/sbin/nologin", user)
        # remove (not truncate) old mailboxes: Postfix creates them 0600, Exim wants 0660
        (Path("/var/mail") / user).unlink(missing_ok=True)


def write_aliases() -> None:
    """A minimal /etc/aliases: postmaster and root end up in alice's mailbox."""
    Path("/etc/aliases").write_text("# maillens sandbox\npostmaster: root\nroot: alice\n")


RSYSLOG_DIR = Path("/var/log/maillens-rsyslog")
RSYSLOG_PIDFILE = "/run/maillens-rsyslogd.pid"


def start_rsyslog(files: dict[str, str]) -> None:
    """Start rsyslogd writing the mail facility to ``RSYSLOG_DIR/<name>`` with each template."""
    RSYSLOG_DIR.mkdir(exist_ok=True)
    conf = Path("/etc/maillens-rsyslog.conf")
    lines = ['# maillens: mail facility only', 'module(load="imuxsock")']
    lines += [f'mail.* action(type="omfile" file="{RSYSLOG_DIR / name}" template="{tmpl}")'
              for name, tmpl in files.items()]
    conf.write_text("\n".join(lines) + "\n")
    sh("rsyslogd", "-f", str(conf), "-i", RSYSLOG_PIDFILE)
    time.sleep(1)


def kill_pidfile(path: str, timeout: float = 15) -> None:
    """SIGTERM the process whose pid is in ``path`` (if any) and wait for it to exit."""
    try:
        pid = int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.time() + timeout
    while time.time() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


class MTA:
    """What the driver needs from an MTA."""

    name = ""
    main_log = ""

    def install(self) -> None: ...
    def configure(self) -> None: ...
    def reset(self) -> None: ...
    def start(self) -> None: ...
    def flush(self) -> None: ...
    def stop(self) -> None: ...
    def version(self) -> str: ...
    def log_files(self) -> dict[str, str]: ...
    def format_copies(self) -> dict[str, str]: ...
    def force_expire(self, domain: str) -> list[str]: ...

    binary = ""

    def queue_size(self) -> int:
        raise NotImplementedError

    def installed(self) -> bool:
        """Whether the MTA's package is (still) installed -- another apt run can swap MTAs."""
        return Path(self.binary).exists()

    def log_offset(self) -> int:
        """Current size of the main log (used to split it into a rotated set)."""
        try:
            return os.path.getsize(self.main_log)
        except OSError:
            return 0


class Postfix(MTA):
    """Debian's Postfix, logging with its own postlogd (``maillog_file``) or to syslog."""

    name = "postfix"
    binary = "/usr/sbin/postfix"

    def __init__(self, syslog: bool = False) -> None:
        self.syslog = syslog
        self.main_log = "/var/log/maillens-rsyslog/mail.log" if syslog else "/var/log/postfix.log"
        self.rsyslog_pidfile = RSYSLOG_PIDFILE

    def install(self) -> None:
        if shutil.which("postfix") and shutil.which("saslpasswd2") and (not self.syslog or shutil.which("rsyslogd")):
            return
        sh("debconf-set-selections", input="postfix postfix/main_mailer_type select No configuration\n")
        apt_install("postfix", "libsasl2-modules", "sasl2-bin", *(["rsyslog"] if self.syslog else []))

    def version(self) -> str:
        return "Postfix " + sh("postconf", "-h", "-d", "mail_version").strip() + " (Debian package " + \
            sh("dpkg-query", "-W", "-f", "${Version}", "postfix").strip() + ")"

    def configure(self) -> None:
        ensure_users()
        write_aliases()
        etc = Path("/etc/postfix")
        maillog = "# maillog_file unset: Postfix logs to syslog" if self.syslog \
            else f"maillog_file = {self.main_log}"
        (etc / "main.cf").write_text(fill((CONF / "postfix/main.cf").read_text(), MTA_HOSTNAME=MTA_HOSTNAME,
                                          LOCAL_DOMAIN=LOCAL_DOMAIN, MAILLOG_LINE=maillog,
                                          QUEUE_LIFETIME=QUEUE_LIFETIME, DELAY_WARNING=DELAY_WARNING))
        shutil.copy(CONF / "postfix/master.cf", etc / "master.cf")
        lines = ["# generated by tools/mta.py from scenarios.ROUTES"]
        lines += [f"{dom}\t{tr}:[{ip}]:{port}" for dom, (ip, port, tr) in ROUTES.items()]
        (etc / "maillens_transport").write_text("\n".join(lines) + "\n")
        shutil.copy(CONF / "postfix/sender_access", etc / "maillens_sender_access")
        shutil.copy(CONF / "postfix/header_checks", etc / "maillens_header_checks")
        assert BLOCKED_SENDER in (etc / "maillens_sender_access").read_text()
        assert CONTENT_REJECT_SUBJECT in (etc / "maillens_header_checks").read_text()
        # Default DSN templates say "$delay_warning_time_hours hour(s)", which is 0 with our
        # second-scale timers and makes bounce(8) log warnings; speak in seconds instead.
        tmpl = sh("postconf", "-t", "/dev/null").replace("$delay_warning_time_hours hour(s)", "$delay_warning_time_seconds second(s)")
        tmpl = tmpl.replace("$maximal_queue_lifetime_days day(s)", "$maximal_queue_lifetime_seconds second(s)")
        (etc / "maillens_bounce.cf").write_text(tmpl)
        sh("postmap", str(etc / "maillens_transport"))
        sh("postmap", str(etc / "maillens_sender_access"))
        sh("newaliases")
        sasl = etc / "sasl"
        sasl.mkdir(exist_ok=True)
        (sasl / "sasldb2").unlink(missing_ok=True)
        shutil.copy(CONF / "postfix/smtpd.conf", sasl / "smtpd.conf")
        user, realm = SASL_USER.split("@")
        # Debian's way: /etc/sasldb2 is root:sasl 0640 and postfix is in group sasl.
        sh("saslpasswd2", "-p", "-c", "-f", "/etc/sasldb2", "-u", realm, user, input=SASL_PASSWORD)
        shutil.chown("/etc/sasldb2", "root", "sasl")
        os.chmod("/etc/sasldb2", 0o640)
        sh("adduser", "--quiet", "postfix", "sasl")
        sh("postfix", "check")

    def _running(self) -> bool:
        return subprocess.run(["postfix", "status"], capture_output=True, check=False).returncode == 0

    def reset(self) -> None:
        """Stop Postfix, empty its queue and remove old logs."""
        if self._running():
            sh("postfix", "stop")
            time.sleep(2)
        kill_pidfile(self.rsyslog_pidfile)
        sh("postsuper", "-d", "ALL", check=False)
        for f in ("/var/log/postfix.log", "/var/log/maillens-rsyslog/mail.log",
                  "/var/log/maillens-rsyslog/mail.rfc3339.log"):
            Path(f).unlink(missing_ok=True)
        ensure_users()

    def _start_rsyslog(self) -> None:
        start_rsyslog({"mail.log": "RSYSLOG_TraditionalFileFormat", "mail.rfc3339.log": "RSYSLOG_FileFormat"})

    def start(self) -> None:
        if self.syslog:
            self._start_rsyslog()
        sh("postfix", "start")
        wait_port("127.0.0.1", 25)

    def flush(self) -> None:
        sh("postqueue", "-f")

    def queue_size(self) -> int:
        return len([ln for ln in sh("postqueue", "-j").splitlines() if ln.strip()])

    def stop(self) -> None:
        sh("postfix", "stop")
        time.sleep(2)  # postlogd/rsyslog write the last lines
        if self.syslog:
            kill_pidfile(self.rsyslog_pidfile)

    def force_expire(self, domain: str) -> list[str]:
        """``postsuper -e`` every queued message with a recipient in ``domain``, then flush them."""
        import json
        ids = []
        for line in sh("postqueue", "-j").splitlines():
            if line.strip():
                msg = json.loads(line)
                if any(r.get("address", "").endswith("@" + domain) for r in msg.get("recipients", [])):
                    ids.append(msg["queue_id"])
        for qid in ids:
            sh("postsuper", "-e", qid)
            sh("postqueue", "-i", qid)
        return ids

    def log_files(self) -> dict[str, str]:
        return {"mail.log": self.main_log}

    def format_copies(self) -> dict[str, str]:
        """The same run in another log format: ``sample_logs``-relative path -> source file."""
        if self.syslog:
            return {"formats/postfix-syslog-rfc3339/mail.log": "/var/log/maillens-rsyslog/mail.rfc3339.log"}
        return {}


class Exim(MTA):
    """Debian's exim4-daemon-light with a complete config in /etc/exim4/exim4.conf."""

    name = "exim"
    binary = "/usr/sbin/exim4"
    main_log = "/var/log/exim4/mainlog"
    pidfile = "/run/exim4/exim.pid"

    def install(self) -> None:
        if shutil.which("exim4") and Path("/usr/sbin/exim4").exists() and shutil.which("rsyslogd"):
            return
        apt_install("exim4-daemon-light", "rsyslog")

    def version(self) -> str:
        first = sh("exim4", "-bV").splitlines()[0]
        return first + " (Debian package " + \
            sh("dpkg-query", "-W", "-f", "${Version}", "exim4-daemon-light").strip() + ")"

    def configure(self) -> None:
        ensure_users()
        write_aliases()
        conf = fill((CONF / "exim/exim4.conf").read_text(), MTA_HOSTNAME=MTA_HOSTNAME,
                     LOCAL_DOMAIN=LOCAL_DOMAIN, QUEUE_LIFETIME=QUEUE_LIFETIME, DELAY_WARNING=DELAY_WARNING,
                     PANIC_SENDER=PANIC_SENDER, BLOCKED_SENDER=BLOCKED_SENDER,
                     CONTENT_REJECT_SUBJECT=CONTENT_REJECT_SUBJECT, SASL_USER=SASL_USER,
                     DISCARD_SUBJECT=DISCARD_SUBJECT,
                     SASL_PASSWORD=SASL_PASSWORD)
        Path("/etc/exim4/exim4.conf").write_text(conf)
        lines = ["# generated by tools/mta.py from scenarios.ROUTES"]
        lines += [f"{dom}: {ip}::{port}" if port != 25 else f"{dom}: {ip}"
                  for dom, (ip, port, tr) in ROUTES.items() if tr == "smtp"]
        Path("/etc/exim4/maillens_routes").write_text("\n".join(lines) + "\n")
        out = sh("exim4", "-bV")
        if "/etc/exim4/exim4.conf" not in out:
            raise RuntimeError("exim4 does not read /etc/exim4/exim4.conf:\n" + out)

    def reset(self) -> None:
        """Stop the daemon, empty the spool (queue and retry hints) and remove old logs."""
        kill_pidfile(self.pidfile)
        spool = Path("/var/spool/exim4")
        for sub in ("input", "msglog", "db"):
            for p in (spool / sub).glob("*"):
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()
        for name in ("mainlog", "rejectlog", "paniclog"):
            for p in Path("/var/log/exim4").glob(name + "*"):
                p.unlink()
        kill_pidfile(RSYSLOG_PIDFILE)
        (RSYSLOG_DIR / "mail.log").unlink(missing_ok=True)
        ensure_users()

    def start(self) -> None:
        start_rsyslog({"mail.log": "RSYSLOG_TraditionalFileFormat"})
        sh("exim4", "-bd", "-q20s")
        wait_port("127.0.0.1", 25)

    def __init__(self) -> None:
        self.runners: list[subprocess.Popen] = []

    def flush(self) -> None:
        """Start a forced queue run (``exim4 -qff``) without waiting for it to finish."""
        self.runners.append(subprocess.Popen(["exim4", "-qff"], stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL))

    def queue_size(self) -> int:
        return int(sh("exim4", "-bpc").strip() or 0)

    def stop(self) -> None:
        for runner in self.runners:
            runner.wait(timeout=60)
        kill_pidfile(self.pidfile)
        time.sleep(2)
        kill_pidfile(RSYSLOG_PIDFILE)

    def force_expire(self, domain: str) -> list[str]:
        """Postfix only (``postsuper -e``); Exim has no such command."""
        return []

    def log_files(self) -> dict[str, str]:
        return {n: f"/var/log/exim4/{n}" for n in ("mainlog", "rejectlog", "paniclog")}

    def format_copies(self) -> dict[str, str]:
        """Exim's lines through syslog under a wrapper's program name (``syslog_processname``)."""
        return {"formats/exim-syslog/mail.log": str(RSYSLOG_DIR / "mail.log")}
