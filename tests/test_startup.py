"""Fast start: the command line and `import analyzer` load neither pandas nor pyarrow until a
command needs them (the time itself is measured by bench/bench_startup.py, not here)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "pyarrow", "numpy")


def _imported(*args: str) -> set[str]:
    """Top-level names of the modules a `python -X importtime -m analyzer ARGS` run imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "analyzer", *args], capture_output=True,
                       text=True, env=env, cwd=ROOT, check=False, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    names = set()
    for line in r.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "analyzer" in names  # the parse of -X importtime's output worked
    return names


def test_import_of_the_package_and_cli_loads_no_heavy_module():
    """`import analyzer, analyzer.cli` leaves pandas, pyarrow and numpy out of sys.modules."""
    code = f"import sys, analyzer, analyzer.cli; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["version"], ["report", "--help"],
                                  ["search", "--help"], ["metrics", "--help"], ["explain", "521"],
                                  ["explain", "5.7.26"], ["explain", "host.no_mail", "-f", "json"]])
def test_help_and_version_import_no_heavy_module(args):
    """--help, --version, version and explain of a code or cause answer without importing pandas,
    pyarrow, numpy or pydantic
    (which typer >= 0.24 would import to convert option values)."""
    assert not {*HEAVY, "pydantic"} & _imported(*args)


def test_public_api_is_still_there():
    """Every name in analyzer.__all__ resolves; a function keeps its name over a same-named submodule."""
    import importlib

    import analyzer

    for name in analyzer.__all__:
        assert getattr(analyzer, name) is not None, name
    importlib.import_module("analyzer.search")
    assert callable(analyzer.search) and analyzer.search.__module__ == "analyzer.search"
    from analyzer import explain, trace

    assert callable(explain) and callable(trace)
    with pytest.raises(AttributeError):
        analyzer.no_such_name  # noqa: B018


def test_shipped_rules_pass_the_full_checks():
    """The shipped knowledge base, loaded without its RE2 and schema checks at start-up, passes them
    here, and both loads give the same knowledge base."""
    from analyzer.rules import load_rules

    full = load_rules(verify_shipped=True)
    quick = load_rules()
    assert full.causes == quick.causes and full.codes == quick.codes and full.enhanced == quick.enhanced
    assert [(r.id, r.cause, r.text) for r in full.rules] == [(r.id, r.cause, r.text) for r in quick.rules]


def test_site_rules_are_still_checked_in_re2(tmp_path):
    """A site file's regex that Python accepts but RE2 does not is still refused at load."""
    from analyzer.rules import RulesError, load_rules

    site = tmp_path / "site.toml"
    site.write_text('[[rules]]\nid = "site.x"\ncause = "mailbox.unknown"\ntext = "(?=lookahead)"\n')
    with pytest.raises(RulesError, match="RE2"):
        load_rules([site])


def test_a_run_without_a_settings_file_reads_no_toml(tmp_path, monkeypatch):
    """Without a settings file nothing reads TOML: tomllib (~4 CPU-ms) is not imported in the
    serial start of `parse` (the shipped rules come from their cache)."""
    from analyzer import config

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    if config.SYSTEM_FILE.exists():
        pytest.skip("this machine has a system-wide settings file")
    assert "tomllib" not in _imported("parse", "sample_logs/postfix/mail.log", "--tz", "UTC", "-f", "json")
    (tmp_path / "maillens.toml").write_text('tz = "UTC"\n')
    assert "tomllib" in _imported("parse", "sample_logs/postfix/mail.log", "-f", "json")


def test_runtime_dependencies_hold_no_plotting_library():
    """`pip install .` pulls no plotting library: matplotlib & co. are not runtime dependencies
    (a `pip install . --dry-run --report` on 2026-12-01 listed none among 21 packages)."""
    import re
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[;! ]", d, maxsplit=1)[0].lower() for d in deps}
    assert not names & {"matplotlib", "seaborn", "plotly", "bokeh", "pillow", "kiwisolver", "contourpy", "fonttools"}


def _parse_imports(args: list[str], stdin: Path | None = None, workers: int | None = None) -> tuple[list[str], str]:
    """(which of pandas and pyarrow the main process of `maillens parse ARGS` imported, its stdout)."""
    code = ("import sys\nfrom analyzer.cli import main\n"
            f"sys.argv = ['maillens', 'parse', *{args!r}, '--tz', 'UTC']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    if workers is not None:
        env["MAILLENS_WORKERS"] = str(workers)
    with open(stdin or os.devnull, "rb") as fh:
        r = subprocess.run([sys.executable, "-c", code], stdin=fh, capture_output=True, text=True, cwd=ROOT,
                           check=True, env=env, timeout=300)
    *out, imported = r.stdout.strip().splitlines()
    return ast.literal_eval(imported), "\n".join(out)


def _native_engine() -> None:
    from analyzer import native

    if native.engine() != "native":  # the Python engine's parsers build frames: there pandas is needed
        pytest.skip("the Python engine parses into pandas frames")


def test_parse_to_parquet_never_imports_pandas(tmp_path):
    """`parse -o x.parquet` of a rotated set of Postfix logs (classified)
    writes the table without importing pandas in the main process: the classifier works on Arrow,
    the file's pandas metadata is built without it and pyarrow's own attempt is refused
    (analyzer.lazy.arrow_without_pandas)."""
    _native_engine()
    out = tmp_path / "e.parquet"
    imported, _ = _parse_imports([str(ROOT / "sample_logs" / "postfix"), "-o", str(out), "-q"])
    assert out.stat().st_size
    assert imported == ["pyarrow"]


@pytest.mark.parametrize("args", [["sample_logs/postfix"], ["sample_logs/postfix/mail.log.2.gz", "-f", "json"],
                                  ["sample_logs/exim/mainlog"], ["sample_logs/exim/mainlog", "-f", "json"]])
def test_parse_summary_never_imports_pandas(args):
    """`parse FILE` (the summary, no -o: analyzer.fast_summary, in process for small inputs)
    prints its summary without importing pandas: groups classified on Arrow, stamps as datetimes."""
    _native_engine()
    imported, out = _parse_imports(args)
    assert imported == ["pyarrow"]
    assert '"by_code": [' in out if "json" in args else "lines read" in out


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_parse_summary_in_workers_never_imports_pandas(tmp_path, mta):
    """The same with the blocks parsed and summarised in worker processes (stdin is always cut
    into blocks when there are workers), as for a big day."""
    _native_engine()
    from bench.generate_logs import generate

    log = tmp_path / "day.log"
    generate(mta=mta, lines=3000, seed=5, out=log, start="2026-11-28T00:00:00", hours=24)
    imported, out = _parse_imports(["-", "--year", "2026", "-f", "json"], stdin=log, workers=2)
    assert imported == ["pyarrow"]
    assert '"events": 0' not in out and '"by_cause": [' in out


def test_pyarrow_sees_pandas_once_it_is_imported():
    """After pyarrow's attempt was refused, the first import of pandas revives its pandas support:
    ``pa.array`` of a Series and of a Categorical answer as in a process that never refused."""
    code = ("import sys, pyarrow as pa\n"
            "if sys.argv[1] == 'refuse':\n"
            "    from analyzer.lazy import arrow_without_pandas\n"
            "    arrow_without_pandas()\n"
            "    pa.array(['x'])\n"
            "    assert 'pandas' not in sys.modules\n"
            "import pandas as pd\n"
            "print(pa.array(pd.Series([1, None])).to_pylist(), pa.array(pd.Series(['a', 'b'], dtype='category')).type,"
            " pa.Table.from_pandas(pd.DataFrame({'a': [1.5]})).schema.metadata is not None)\n")
    got = [subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, cwd=ROOT, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120).stdout for mode in ("plain", "refuse")]
    assert got[0] == got[1] and "dictionary" in got[0]


#: What `report` imports for its own work, which the parse workers need not have (analyzer.cli.report._HEAVY).
REPORT_HEAVY = ("pandas", "analyzer.anomalies", "analyzer.report", "analyzer.report.run")


def _report_forks(log: Path, workers: int, **more_env: str) -> tuple[list[list[str]], str]:
    """(for each fork of the main process of `maillens report - -f json`, which of REPORT_HEAVY it
    had imported then; the report). ``more_env``: further environment variables."""
    code = ("import os, sys\nfrom analyzer.cli import main\nheld = []\n"
            f"os.register_at_fork(before=lambda: held.append(sorted(m for m in {REPORT_HEAVY!r} if m in sys.modules)))\n"
            "sys.argv = ['maillens', 'report', '-', '--year', '2026', '--tz', 'UTC', '-f', 'json',"
            " '--now', '2026-11-29T00:00:00Z']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print()\nprint(held)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "MAILLENS_WORKERS": str(workers), **more_env}
    with open(log, "rb") as fh:
        r = subprocess.run([sys.executable, "-c", code], stdin=fh, capture_output=True, text=True, cwd=ROOT,
                           check=True, env=env, timeout=300)
    *out, held = r.stdout.strip().splitlines()
    return ast.literal_eval(held), "\n".join(out)


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_report_forks_its_workers_before_its_heavy_imports(tmp_path, mta):
    """`report` starts its parse workers before it imports pandas and the report's modules (a
    thread imports them while the workers parse): at every fork the main process held none of
    them. With ``MAILLENS_BLOCK_THREADS=1`` its blocks are parsed on threads of its own process and
    it forks nothing. The report is the same either way, and the one a single process makes."""
    _native_engine()
    from bench.generate_logs import generate

    log = tmp_path / "day.log"
    generate(mta=mta, lines=3000, seed=5, out=log, start="2026-11-28T00:00:00", hours=24)
    forks, two = _report_forks(log, 2)
    assert forks and all(held == [] for held in forks), forks
    no_forks, threads = _report_forks(log, 2, MAILLENS_BLOCK_THREADS="1")
    assert no_forks == [] and threads == two
    _, one = _report_forks(log, 1)
    assert one == two and '"schema_version"' in two


@pytest.mark.parametrize(("first", "kept"), [(["parse"], ["parse"]), (["store"], ["store"]),
                                             (["--help"], None), (["pars"], None), ([], None)])
def test_a_named_command_is_the_only_one_built(monkeypatch, first, kept):
    """The first argument naming a command (or the store sub-app) leaves only it registered
    (typer then builds no other command's options); anything else leaves them all."""
    import typer.main

    from analyzer.cli import _only_named, app

    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))
    monkeypatch.setattr(app, "registered_groups", list(app.registered_groups))
    everything = sorted(typer.main.get_command(app).commands)
    assert {"parse", "store", "report", "explain"} <= set(everything)
    _only_named(first)
    assert sorted(typer.main.get_command(app).commands) == (kept or everything)
