"""Indonesia's three time zones, and times shown to people in the ASN's (or the office's) zone.

WIB (UTC+7, Asia/Jakarta), WITA (UTC+8, Asia/Makassar), WIT (UTC+9, Asia/Jayapura),
by province after the statutory division. Every time a person reads names its zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.model import Region

ZONES: dict[str, ZoneInfo] = {"WIB": ZoneInfo("Asia/Jakarta"), "WITA": ZoneInfo("Asia/Makassar"),
                              "WIT": ZoneInfo("Asia/Jayapura")}
# Provinces (BPS/Kemendagri codes) outside WIB.
WITA_PROVINCES = frozenset({"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"})
WIT_PROVINCES = frozenset({"81", "82", "91", "92", "93", "94", "95", "96"})


def province_zone(province: str) -> str:
    """WIB, WITA or WIT for a province code."""
    if province in WITA_PROVINCES:
        return "WITA"
    return "WIT" if province in WIT_PROVINCES else "WIB"


def zone_of(region: str | None, regions: Mapping[str, Region], office: str | None = None) -> str:
    """The zone to show: ``office`` when set, else the region's (WIB when unknown)."""
    if office:
        return office
    r = regions.get(region or "")
    if r is not None:
        return r.timezone
    return province_zone((region or "")[:2])


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
