"""Anchors of the hash chain kept outside the server: heads and RFC 3161 timestamp tokens.

A *head* is a link's ``(seq, record_hash)``. Copied into the weekly digest and
every escalation package, it lets anyone later check that the chain still
holds that link: rebuilding the chain with altered evidence changes every
hash from the altered link on. A *timestamp token* is a trusted third party's
signature over a head (or over an escalation package's manifest) with the
time it saw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from storage.chain import GENESIS


@dataclass(frozen=True)
class Head:
    """A link of the chain: its position and its hash (seq 0 is the empty chain)."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True)
class StoredToken:
    """A timestamp token as stored: what it covers (seq, head, purpose, subject) and the DER bytes."""

    token_id: int
    seq: int
    head: str
    purpose: str  # head | escalation
    subject: str  # what was stamped: the head, or the manifest's SHA-256
    imprint: str  # the hashed message inside the token, hex
    tsa_url: str
    gen_time: datetime
    token: bytes

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict without the token bytes."""
        out = {k: v for k, v in self.__dict__.items() if k != "token"}
        out["gen_time"] = self.gen_time.astimezone(UTC).isoformat()
        return out


def current_head(con: duckdb.DuckDBPyConnection) -> Head:
    """The newest link (seq 0 and the genesis hash when the chain is empty)."""
    row = con.execute("SELECT seq, record_hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    return Head(int(row[0]), str(row[1])) if row else Head(0, GENESIS)


def hash_at(con: duckdb.DuckDBPyConnection, seq: int) -> str | None:
    """The record hash of link ``seq`` (the genesis hash for 0), or None when there is none."""
    if seq == 0:
        return GENESIS
    row = con.execute("SELECT record_hash FROM chain WHERE seq = ?", [seq]).fetchone()
    return None if row is None else str(row[0])


def add_token(con: duckdb.DuckDBPyConnection, head: Head, purpose: str, subject: str, imprint: str,
              tsa_url: str, gen_time: datetime, token: bytes) -> int:
    """Store one token (inside the caller's transaction); returns its id."""
    row = con.execute(
        "INSERT INTO anchor_tokens (seq, head, purpose, subject, imprint, tsa_url, gen_time, token, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING token_id",
        [head.seq, head.hash, purpose, subject, imprint, tsa_url, gen_time, token, datetime.now(UTC)],
    ).fetchone()
    assert row is not None
    return int(row[0])


def tokens(con: duckdb.DuckDBPyConnection, purpose: str | None = None) -> list[StoredToken]:
    """Every stored token (or those of one purpose), oldest first."""
    rows = con.execute(
        "SELECT token_id, seq, head, purpose, subject, imprint, tsa_url, gen_time, token "
        "FROM anchor_tokens WHERE ? IS NULL OR purpose = ? ORDER BY token_id", [purpose, purpose]
    ).fetchall()
    return [StoredToken(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]),
                        r[7], bytes(r[8])) for r in rows]


def last_head_stamp(con: duckdb.DuckDBPyConnection) -> tuple[int, datetime] | None:
    """The seq and time of the newest head token, if any."""
    row = con.execute("SELECT seq, created_at FROM anchor_tokens WHERE purpose = 'head' "
                      "ORDER BY token_id DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), row[1])
