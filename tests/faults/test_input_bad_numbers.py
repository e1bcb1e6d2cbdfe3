"""A corrupt number in one line (Postfix ``delay=0..5``, an Exim ``S=`` past int64) is a null
in that row: the line is still an event and the rest of its batch is kept, with both engines
and in every command (it failed the whole run with ArrowInvalid before)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from analyzer.cli import app

POSTFIX = [
    "Nov 23 00:00:01 mx postfix/smtp[123]: 8BEA358063A: to=<a@b.example>, relay=mx[192.0.2.4]:25, delay=0..5, "
    "delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 ok)",
    "Nov 23 00:00:02 mx postfix/smtp[123]: 8BEA358063B: to=<c@b.example>, relay=mx[192.0.2.4]:25, delay=0.5, "
    "delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 ok)",
]
EXIM = [
    "2026-11-23 00:00:02 1xVHTW-0000ZZ-KK <= a@b.example H=(x) [192.0.2.1]:25 P=esmtp S=999999999999999999999999 id=x@y",
    "2026-11-23 00:00:03 1xVHTW-0000ZZ-KL <= a@b.example H=(x) [192.0.2.1]:25 P=esmtp S=12 id=x@y",
]


@pytest.mark.parametrize("engine", ["native", "python"])
@pytest.mark.parametrize("lines, column, values", [(POSTFIX, "delay", [None, 0.5]), (EXIM, "size", [None, 12])])
def test_corrupt_number_is_null_and_the_batch_is_kept(tmp_path, monkeypatch, engine, lines, column, values):
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    log = tmp_path / "mail.log"
    log.write_text("\n".join(lines) + "\n")
    out = tmp_path / "events.jsonl"
    res = CliRunner().invoke(app, ["parse", str(log), "--tz", "UTC", "--year", "2026", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r[column] for r in rows] == values
    for cmd in (["parse", "-f", "json"], ["report", "-f", "json"]):
        res = CliRunner().invoke(app, [*cmd, str(log), "--tz", "UTC", "--year", "2026"])
        assert res.exit_code == 0, res.output
    assert json.loads(CliRunner().invoke(app, ["parse", "-f", "json", str(log), "--tz", "UTC", "--year", "2026"]).stdout)["events"] == 2
