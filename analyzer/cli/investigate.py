"""`maillens search` and `maillens trace`: incident investigation (commands are added here)."""
