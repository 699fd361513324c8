"""Times shown to people, in the ASN's local zone (WIB, WITA or WIT), with the zone named.

The zone follows the province code (the first two digits of a region code):
Bali, NTB, NTT, Kalimantan Selatan/Timur/Utara and the Sulawesi provinces keep
WITA (UTC+8); Maluku, Maluku Utara and the Papua provinces WIT (UTC+9); the
rest WIB (UTC+7). ``storage/desk.py`` uses the same lists for date filters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from storage.desk import WIT_PROVINCES, WITA_PROVINCES

ZONES: dict[str, ZoneInfo] = {"WIB": ZoneInfo("Asia/Jakarta"), "WITA": ZoneInfo("Asia/Makassar"),
                              "WIT": ZoneInfo("Asia/Jayapura")}


def zone_name(region: str | None) -> str:
    """``WIB``, ``WITA`` or ``WIT`` for a region code (WIB when unknown)."""
    province = (region or "")[:2]
    if province in WITA_PROVINCES:
        return "WITA"
    if province in WIT_PROVINCES:
        return "WIT"
    return "WIB"


def local(when: datetime | str | None, region: str | None, seconds: bool = False) -> str:
    """``when`` as ``YYYY-MM-DD HH:MM WITA`` in the zone of ``region``."""
    if when is None or when == "":
        return ""
    value = datetime.fromisoformat(when) if isinstance(when, str) else when
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    name = zone_name(region)
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{value.astimezone(ZONES[name]).strftime(fmt)} {name}"
