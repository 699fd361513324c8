"""Storage: the DuckDB schema, its migrations, and every SQL query of the project."""
