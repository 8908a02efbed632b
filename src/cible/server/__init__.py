"""``cible serve``: the HTTP API, Segment-compatible ingestion, jobs (an entry point)."""
