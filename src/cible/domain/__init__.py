"""Schema of canonical tables, field registry, settings and errors; no I/O here."""
