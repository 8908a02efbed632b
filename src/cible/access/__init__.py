"""Who may do what: API tokens with roles, ingest-only write keys, the audit log."""
