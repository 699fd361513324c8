"""Times on evidence cards in the ASN's own zone: a thin name for :mod:`monitor.localtime`.

The zone follows the province (``monitor.model.region_zone``): WITA for Bali, Nusa
Tenggara, South/East/North Kalimantan and Sulawesi, WIT for Maluku and Papua, WIB elsewhere.
"""

from __future__ import annotations

from datetime import datetime

from monitor.localtime import in_region


def zone_time(value: str | datetime | None, region: str | None) -> str:
    """``YYYY-MM-DD HH:MM:SS <zone>`` in the region's zone, e.g. ``2024-11-20 09:15:02 WITA``."""
    return in_region(value, region, seconds=True)
