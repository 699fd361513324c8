"""Imports every connector module so that each registers its type."""

from sources import bluesky, file, mastodon, x  # noqa: F401
