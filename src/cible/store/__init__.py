"""Backend connection, schema, migrations and every write; the only home of SQL text."""
