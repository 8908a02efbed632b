"""The analytic pipeline on DuckDB, PostgreSQL and Spark, compared row for row."""
