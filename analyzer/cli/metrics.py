"""`maillens metrics`: placeholder, filled below."""
