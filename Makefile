# One task runner for the habits in STYLE.md.
.PHONY: test lint bench samples golden

test:            ## the README's test command
	pytest

lint:            ## ruff, configured in pyproject.toml
	ruff check analyzer tests

bench:           ## throughput and peak memory beside pflogsumm/eximstats (see bench/README.md)
	python bench/bench_parse.py --lines 1000000

samples:         ## regenerate sample_logs/ with real daemons (root, Debian; see sample_logs/README.md)
	python tools/make_sample_logs.py
