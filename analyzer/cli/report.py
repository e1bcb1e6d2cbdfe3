"""`maillens report`: the nightly report over logs (commands are added here)."""
