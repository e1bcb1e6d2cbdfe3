"""Fast start: the command line and `import analyzer` load neither pandas nor pyarrow until a
command needs them (the time itself is measured by bench/bench_startup.py, not here)."""

from __future__ import annotations

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


def test_runtime_dependencies_hold_no_plotting_library():
    """`pip install .` pulls no plotting library: matplotlib & co. are not runtime dependencies
    (a `pip install . --dry-run --report` on 2026-12-01 listed none among 21 packages)."""
    import re
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[;! ]", d, maxsplit=1)[0].lower() for d in deps}
    assert not names & {"matplotlib", "seaborn", "plotly", "bokeh", "pillow", "kiwisolver", "contourpy", "fonttools"}


def test_parse_to_parquet_never_imports_pandas(tmp_path):
    """`parse -o x.parquet` of a rotated set of Postfix logs (classified)
    writes the table without importing pandas in the main process: the classifier works on Arrow,
    the file's pandas metadata is built without it and pyarrow's own attempt is refused
    (analyzer.lazy.arrow_without_pandas)."""
    out = tmp_path / "e.parquet"
    code = ("import sys\nfrom analyzer.cli import main\n"
            f"sys.argv = ['maillens', 'parse', {str(ROOT / 'sample_logs' / 'postfix')!r}, '-o', {str(out)!r}, '-q', '--tz', 'UTC']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert out.stat().st_size
    assert r.stdout.strip().splitlines()[-1] == "['pyarrow']"


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
