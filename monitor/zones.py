"""Indonesia's three time zones, by region code: times shown to people are in the ASN's own.

A region code starts with its province's two digits (Kemendagri codes): Bali, Nusa
Tenggara, South, East and North Kalimantan and Sulawesi keep WITA (UTC+8); Maluku and
Papua keep WIT (UTC+9); the rest of the country WIB (UTC+7).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

WIB = ("WIB", ZoneInfo("Asia/Jakarta"))
WITA = ("WITA", ZoneInfo("Asia/Makassar"))
WIT = ("WIT", ZoneInfo("Asia/Jayapura"))
_WITA_PROVINCES = frozenset({"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"})


def zone_of(region: str | None) -> tuple[str, ZoneInfo]:
    """The zone's name and tz of a region code (WIB when unknown)."""
    province = str(region or "")[:2]
    if province in _WITA_PROVINCES:
        return WITA
    if province[:1] in ("8", "9"):
        return WIT
    return WIB


def zone_time(value: str | datetime | None, region: str | None) -> str:
    """``YYYY-MM-DD HH:MM:SS <zone>`` for the region's zone, e.g. ``2024-11-20 09:15:02 WITA``."""
    if value is None:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    name, tz = zone_of(region)
    return f"{when.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S')} {name}"
