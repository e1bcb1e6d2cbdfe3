"""Write sample_logs/README.md (placeholder, filled in below)."""
def write(out, runs, **kw):
    pass
