"""The desk's report form reads: the accounts a user may name as the reported ASN."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True)
class RosterChoice:
    """One account the report form offers."""

    account_id: str
    name: str
    nip: str
    agency: str
    region: str


def accounts_in(db: Database, regions: tuple[str, ...] | None, limit: int = 5000) -> list[RosterChoice]:
    """Accounts in ``regions`` (every account when None), by name; at most ``limit``."""
    where, params = "", []
    if regions is not None:
        where = f"WHERE region IN ({', '.join('?' for _ in regions)})" if regions else "WHERE false"
        params = list(regions)
    with db.connect() as con:
        rows = con.execute(f"SELECT account_id, name, nip, agency, region FROM accounts {where} "  # noqa: S608
                           "ORDER BY name, account_id LIMIT ?", [*params, limit]).fetchall()
    return [RosterChoice(*(str(v or "") for v in row)) for row in rows]
