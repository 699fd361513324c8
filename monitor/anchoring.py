"""Anchoring the evidence chain outside the server: timestamps, heads, and checking both.

The chain (storage.chain) shows that nothing changed after it was chained,
unless someone with the file rebuilt the whole chain. Two anchors close that gap:

* **heads** ``SEQ:HASH`` go out in every weekly digest and escalation package;
  ``verify --head`` later confirms the chain still holds that link;
* **RFC 3161 timestamps** from the TSAs in ``[anchoring] tsa_urls`` over the
  head (daily, by the daemon) and over each escalation package's manifest:
  a third party's signature that the head existed at that time.

A rebuilt chain gets new hashes from the first altered link on, so every head
and every token taken after that link names it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from monitor.errors import InputError, TimestampError
from monitor.logs import event
from monitor.settings import Settings
from monitor.timestamps import fetch, load_bundle, verify
from storage import anchors, chain
from storage.anchors import Head, StoredToken
from storage.db import Database

log = logging.getLogger("asn_monitor.anchoring")


def parse_head(text: str) -> Head:
    """``SEQ:HASH`` (as printed in digests and packages) to a ``Head``; ``InputError`` otherwise."""
    seq, _, digest = text.strip().partition(":")
    digest = digest.lower()
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InputError(f"--head {text!r}: expected SEQ:HASH, e.g. 42:{'ab' * 32}")
    return Head(int(seq), digest)


def head_now(db: Database) -> Head:
    """The chain's newest link."""
    with db.connect() as con:
        return anchors.current_head(con)


@dataclass
class Stamped:
    """One TSA's answer for one imprint: the stored token, or the error."""

    tsa_url: str
    token: StoredToken | None = None
    error: str | None = None


def stamp(db: Database, settings: Settings, head: Head, purpose: str, imprint: bytes,
          transport: httpx.BaseTransport | None = None) -> list[Stamped]:
    """Ask every configured TSA to stamp ``imprint``; store each checked token with ``head``."""
    a = settings.anchoring
    if not a.tsa_urls or a.ca_bundle is None:
        return []
    bundle = load_bundle(settings.resolve(a.ca_bundle))
    out: list[Stamped] = []
    for url in a.tsa_urls:
        try:
            token = fetch(url, imprint, bundle, a.timeout, transport)
        except TimestampError as exc:
            event(log, "timestamp_failed", logging.WARNING, tsa=url, purpose=purpose, error=str(exc))
            out.append(Stamped(url, error=str(exc)))
            continue
        with db.transaction() as con:
            token_id = anchors.add_token(con, head, purpose, imprint.hex(), imprint.hex(), url,
                                         token.gen_time, token.der)
            stored = next(t for t in anchors.tokens(con, purpose) if t.token_id == token_id)
        event(log, "timestamped", tsa=url, purpose=purpose, seq=head.seq, head=head.hash,
              gen_time=token.gen_time.isoformat())
        out.append(Stamped(url, stored))
    return out


def stamp_head(db: Database, settings: Settings, *, force: bool = False,
               transport: httpx.BaseTransport | None = None) -> list[Stamped]:
    """Timestamp the current head (the daemon's daily job); nothing when it is stamped already.

    Raises ``TimestampError`` when every TSA failed, so the job is recorded as failed.
    """
    head = head_now(db)
    with db.connect() as con:
        last = anchors.last_head_stamp(con)
    if head.seq == 0 or (not force and last is not None and last[0] == head.seq):
        return []
    results = stamp(db, settings, head, "head", bytes.fromhex(head.hash), transport)
    if results and all(r.token is None for r in results):
        raise TimestampError("no TSA stamped the head: " + "; ".join(str(r.error) for r in results))
    return results


def package_files(db: Database, settings: Settings, manifest: bytes, head: Head,
                  transport: httpx.BaseTransport | None = None) -> dict[str, bytes]:
    """``anchor.json`` and ``timestamps/*.tsr`` for an escalation package.

    The manifest is stamped now; the newest head token of each TSA goes along too. A TSA
    that cannot be reached is noted in ``anchor.json``; the package is still made.
    """
    results = stamp(db, settings, head, "escalation", hashlib.sha256(manifest).digest(), transport)
    with db.connect() as con:
        newest: dict[str, StoredToken] = {t.tsa_url: t for t in anchors.tokens(con, "head")}
    files: dict[str, bytes] = {}
    listed: list[dict[str, Any]] = []
    tokens = [r.token for r in results if r.token] + list(newest.values())
    for n, token in enumerate(tokens, start=1):
        name = f"timestamps/{n}-{token.purpose}-{token.seq}.tsr"
        files[name] = token.token
        listed.append({**token.to_json(), "file": name})
    doc = {"chain_head": {"seq": head.seq, "hash": head.hash, "text": str(head)},
           "manifest_sha256": hashlib.sha256(manifest).hexdigest(), "timestamps": listed,
           "errors": [{"tsa_url": r.tsa_url, "error": r.error} for r in results if r.error]}
    files["anchor.json"] = json.dumps(doc, indent=2, sort_keys=True).encode()
    return files


# -- verification ------------------------------------------------------------


def _head_problem(hashes: dict[int, str], head: Head, what: str) -> str | None:
    found = chain.GENESIS if head.seq == 0 else hashes.get(head.seq)
    if found is None:
        return (f"{what} {head} names link {head.seq}, but the chain has only {len(hashes)} links "
                "(links were removed)")
    if found != head.hash:
        return (f"{what} {head} is not in the chain: link {head.seq} is now {found[:16]}… "
                f"(the chain was rewritten at or before link {head.seq})")
    return None


def _changed_before(report: chain.VerifyReport, seq: int) -> chain.Problem | None:
    return next((p for p in report.problems if p.seq is not None and p.seq <= seq), None)


def check_heads(report: chain.VerifyReport, hashes: dict[int, str], heads: list[Head]) -> None:
    """Add a problem to ``report`` for each head the chain no longer holds."""
    for head in heads:
        report.heads_checked += 1
        why = _head_problem(hashes, head, "head")
        changed = _changed_before(report, head.seq)
        if why is None and changed is not None:
            why = f"head {head}: the chain up to it changed (link {changed.seq})"
        if why:
            report.problems.append(chain.Problem(head.seq, "head", None, why))


def check_token(report: chain.VerifyReport, hashes: dict[int, str], token: StoredToken,
                bundle: list[Any] | None, imprint: bytes | None = None, where: str = "") -> None:
    """Check one token's signature, imprint and head against the chain; add problems to ``report``."""
    report.tokens_checked += 1
    label = f"timestamp {where or token.token_id} ({token.tsa_url}, {token.gen_time.isoformat()})"
    problems: list[str] = []
    if bundle is None:
        problems.append(f"{label}: cannot be checked, [anchoring] ca_bundle is not set")
    else:
        wanted = imprint if imprint is not None else bytes.fromhex(
            token.head if token.purpose == "head" else token.subject)
        try:
            verify(token.token, wanted, bundle)
        except TimestampError as exc:
            problems.append(f"{label}: {exc}")
    why = _head_problem(hashes, Head(token.seq, token.head), f"{label} covers head")
    if why:
        problems.append(why)
    elif (changed := _changed_before(report, token.seq)) is not None:
        problems.append(f"{label}: the chain up to link {token.seq} changed after it was "
                        f"timestamped (link {changed.seq})")
    report.problems.extend(chain.Problem(token.seq, "timestamp", token.token_id, p) for p in problems)


def verify_all(db: Database, settings: Settings, heads: list[Head] | None = None,
               packages: list[Path] | None = None) -> chain.VerifyReport:
    """The chain (storage.chain), then every stored token, then the given heads and packages."""
    with db.connect() as con:
        state = chain.read_state(con)
        stored = anchors.tokens(con)
    report = chain.verify_chain(state, settings.evidence_dir)
    hashes = {int(link[0]): str(link[4]) for link in state.links}
    a = settings.anchoring
    bundle = load_bundle(settings.resolve(a.ca_bundle)) if a.ca_bundle is not None else None
    for token in stored:
        check_token(report, hashes, token, bundle)
    check_heads(report, hashes, list(heads or []))
    for folder in packages or []:
        check_package(report, hashes, folder, bundle)
    return report


def check_package(report: chain.VerifyReport, hashes: dict[int, str], folder: Path,
                  bundle: list[Any] | None) -> None:
    """An escalation package's head and timestamps, as copied into it, against the chain."""
    try:
        doc = json.loads((folder / "anchor.json").read_text(encoding="utf-8"))
        manifest = (folder / "manifest.json").read_bytes()
        # The head inside the stamped manifest is the one that counts; anchor.json repeats it.
        stated = json.loads(manifest)["chain_head"]
        head = Head(int(stated["seq"]), str(stated["hash"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{folder}: not an escalation package with anchor.json: {exc}") from None
    if doc.get("chain_head", {}).get("hash") != head.hash:
        report.problems.append(chain.Problem(head.seq, "head", None,
                                             f"{folder}: anchor.json names another head than manifest.json"))
    check_heads(report, hashes, [head])
    for entry in doc.get("timestamps", []):
        try:
            der = (folder / entry["file"]).read_bytes()
            token = StoredToken(0, int(entry["seq"]), str(entry["head"]), str(entry["purpose"]),
                                str(entry["subject"]), str(entry["imprint"]), str(entry["tsa_url"]),
                                datetime.fromisoformat(entry["gen_time"]), der)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            report.problems.append(chain.Problem(None, "timestamp", None,
                                                 f"{folder}: {entry!r}: unreadable ({exc})"))
            continue
        imprint = hashlib.sha256(manifest).digest() if token.purpose == "escalation" else None
        check_token(report, hashes, token, bundle, imprint, where=f"{folder.name}/{entry['file']}")
