"""Fixtures of the storage tests: ``seeded``, a real DuckDB file with known rows (storage_seed)."""

from storage_seed import seeded

__all__ = ["seeded"]
