"""`maillens ingest`, `maillens prune`, `maillens weekly`: the history of nightly runs (commands are added here)."""
