"""Imports every connector module so that each registers its type."""

from sources import file  # noqa: F401
