"""Indonesia's three time zones, and times shown to people in the ASN's (or the office's) zone.

WIB (UTC+7, Asia/Jakarta), WITA (UTC+8, Asia/Makassar), WIT (UTC+9, Asia/Jayapura),
by province after the statutory division. Every time a person reads names its zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.model import ZONE_NAMES, region_zone

ZONES: dict[str, ZoneInfo] = {k: ZoneInfo(v) for k, v in ZONE_NAMES.items()}


def province_zone(province: str) -> str:
    """WIB, WITA or WIT for a province code."""
    return region_zone(province)


def zone_of(region: str | None, office: str | None = None) -> str:
    """The zone to show: ``office`` when set, else the region's province's (WIB when unknown)."""
    return office or region_zone(region)


def local(when: datetime, zone: str) -> datetime:
    """``when`` (aware; naive is taken as UTC) in ``zone``."""
    from datetime import UTC

    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(ZONES[zone])


def show(when: datetime | str | None, zone: str, seconds: bool = False) -> str:
    """``2024-09-20 14:03 WITA``; ``-`` for no time."""
    if when is None or when == "":
        return "-"
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{local(when, zone).strftime(fmt)} {zone}"


def zone_name(region: str | None) -> str:
    """WIB, WITA or WIT for a region code (WIB when unknown)."""
    return region_zone(region)


def in_region(when: datetime | str | None, region: str | None, seconds: bool = False) -> str:
    """``when`` as ``YYYY-MM-DD HH:MM WITA`` in the zone of ``region``; ``""`` for no time."""
    if when is None or when == "":
        return ""
    return show(when, zone_name(region), seconds)
