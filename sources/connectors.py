"""Imports every connector module so that each registers its type."""

from sources import bluesky, bluesky_stream, file, mastodon, x  # noqa: F401
