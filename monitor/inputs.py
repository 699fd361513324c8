"""The three configuration inputs: the roster CSV, the region table and election registries.

Each parser raises ``ConfigError`` naming the file and the line or key that is
wrong. ``RegionRegistryView`` decides which elections apply to an actor:
a national election to everyone, a province's to its regencies and cities too.
"""

from __future__ import annotations

import csv
import glob
import io
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError, ConfigProblems
from monitor.model import Account, Candidate, Election, Item, Party, Region, Registry
from sources.base import platforms

ROSTER_COLUMNS = ("account_id", "name", "nip", "agency", "region", "platform", "handle")
# An optional last column: the ASN's position (jabatan), printed on escalation letters.
ROSTER_OPTIONAL = ("position",)
REGION_COLUMNS = ("code", "name", "level", "province")
TIMEZONES = ("WIB", "WITA", "WIT")
LEVELS = frozenset({"national", "province", "regency", "city"})
_NIP = re.compile(r"^\d{18}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def _read_csv(path: Path, columns: Sequence[str], optional: Sequence[str] = ()
              ) -> Iterable[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        extra = tuple(header[len(columns):])
        if tuple(header[:len(columns)]) != tuple(columns) or extra != tuple(optional)[:len(extra)]:
            raise ConfigError(
                f"{path}:1", f"header must be {','.join(columns)}"
                + (f"[,{','.join(optional)}]" if optional else "") + f" (found {','.join(header)})"
            )
        columns = header
        try:
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise ConfigError(
                        f"{path}:{reader.line_num}", f"expected {len(header)} columns"
                    )
                yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items()}
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}:{reader.line_num}", f"not valid CSV: {exc}") from None


def read_regions(path: Path) -> dict[str, Region]:
    """The region table, by code."""
    regions: dict[str, Region] = {}
    from monitor.localtime import province_zone

    for line, row in _read_csv(path, REGION_COLUMNS, ("timezone",)):
        where = f"{path}:{line}"
        if row["level"] not in ("province", "regency", "city"):
            raise ConfigError(where, f"level must be province, regency or city, not {row['level']!r}")
        if not row["code"] or not row["name"]:
            raise ConfigError(where, "code and name are required")
        if row["code"] in regions:
            raise ConfigError(where, f"duplicate region code {row['code']!r}")
        zone = row.get("timezone") or province_zone(row["province"])
        if zone not in TIMEZONES:
            raise ConfigError(where, f"timezone must be WIB, WITA or WIT, not {zone!r}")
        regions[row["code"]] = Region(row["code"], row["name"], row["level"],  # type: ignore[arg-type]
                                      row["province"], zone)  # type: ignore[arg-type]
    for region in regions.values():
        if region.province not in regions:
            raise ConfigError(str(path), f"region {region.code}: unknown province {region.province!r}")
    return regions


def read_roster(path: Path, regions: Mapping[str, Region]) -> list[Account]:
    """The monitored accounts, one per row (a person may have a row per platform).

    Every bad row is reported at once (``ConfigProblems``). The delimiter (comma,
    semicolon as Excel writes in an Indonesian locale, or tab) is detected, an Excel
    byte-order mark ignored, and NIPs written with spaces or dots normalised.
    """
    accounts: list[Account] = []
    problems: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for line, row in _roster_rows(path, problems):
        where = f"{path}:{line}"
        try:
            account = _roster_account(row, regions)
        except ValueError as exc:
            problems.append((where, str(exc)))
            continue
        key = (account.platform, account.handle.lower())
        if key in seen:
            problems.append((where, f"handle {account.handle!r} on {account.platform} is listed twice"))
            continue
        seen.add(key)
        accounts.append(account)
    if len(problems) == 1:
        raise ConfigError(*problems[0])
    if problems:
        raise ConfigProblems(str(path), [f"line {w.rsplit(':', 1)[1]}: {m}" for w, m in problems])
    return accounts


def normalise_nip(nip: str) -> str:
    """``19870101 201001 1 001`` or ``19870101.201001.1.001`` -> ``198701012010011001``."""
    return re.sub(r"[\s.]", "", nip)


def _roster_account(row: dict[str, str], regions: Mapping[str, Region]) -> Account:
    for column in ROSTER_COLUMNS:
        if not row[column]:
            raise ValueError(f"{column} is empty")
    nip = normalise_nip(row["nip"])
    if not _ID.match(row["account_id"]):
        raise ValueError(f"account_id {row['account_id']!r} has unsafe characters")
    if not _NIP.match(nip):
        raise ValueError(f"nip must be 18 digits, not {row['nip']!r}")
    if row["platform"] not in platforms():
        raise ValueError(f"platform must be one of {sorted(platforms())}, not {row['platform']!r}")
    if row["region"] not in regions:
        raise ValueError(f"unknown region code {row['region']!r}")
    return Account(row["account_id"], row["name"], nip, row["agency"], row["region"],
                   row["platform"], row["handle"].lstrip("@"))


def detect_delimiter(header: str) -> str:
    """The roster's delimiter: the most frequent of comma, semicolon and tab in its header."""
    return max((",", ";", "\t"), key=header.count)


def _roster_rows(path: Path, problems: list[tuple[str, str]]) -> Iterable[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not UTF-8 (save the CSV as UTF-8): {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text.split("\n", 1)[0]))
    try:
        header = tuple(h.strip() for h in next(reader, []))
        columns = (*ROSTER_COLUMNS, *ROSTER_OPTIONAL)[:max(len(header), len(ROSTER_COLUMNS))]
        if header != columns:
            raise ConfigError(f"{path}:1", f"header must be {','.join(ROSTER_COLUMNS)}"
                                           f"[,{','.join(ROSTER_OPTIONAL)}] (found {','.join(header)})")
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                problems.append((f"{path}:{reader.line_num}",
                                 f"expected {len(columns)} columns, found {len(values)}"))
                continue
            row = {k: v.strip() for k, v in zip(columns, values, strict=True)}
            yield reader.line_num, {**dict.fromkeys(ROSTER_OPTIONAL, ""), **row}
    except csv.Error as exc:
        raise ConfigError(f"{path}:{reader.line_num}", f"not valid CSV: {exc}") from None


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(where, "must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _accounts(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ConfigError(where, "must be a table of platform = [handles]")
    out: dict[str, tuple[str, ...]] = {}
    for platform, handles in value.items():
        if platform not in platforms():
            raise ConfigError(f"{where}.{platform}", f"unknown platform (use {sorted(platforms())})")
        out[platform] = tuple(h.lstrip("@") for h in _strs(handles, f"{where}.{platform}"))
    return out


def _get(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str,
         required: bool = True) -> Any:
    if key not in table:
        if required:
            raise ConfigError(f"{where}.{key}", "is required")
        return None
    value = table[key]
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"{where}.{key}", "must be an integer")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}.{key}", f"must be {names}, not {type(value).__name__}")
    return value


def _election(data: Mapping[str, Any], where: str, regions: Mapping[str, Region]) -> Election:
    table = _get(data, "election", dict, where)
    w = f"{where}: election"
    known = {"id", "name", "level", "region", "voting_day", "campaign_start", "campaign_end"}
    for key in table:
        if key not in known:
            raise ConfigError(f"{w}.{key}", "unknown key")
    level = _get(table, "level", str, w)
    if level not in LEVELS:
        raise ConfigError(f"{w}.level", f"must be one of {sorted(LEVELS)}")
    region = _get(table, "region", str, w, required=level != "national")
    if region is not None and region not in regions:
        raise ConfigError(f"{w}.region", f"unknown region code {region!r}")
    if region is not None and level != "national" and regions[region].level != level:
        raise ConfigError(f"{w}.region", f"{region} is a {regions[region].level}, not a {level}")
    eid = _get(table, "id", str, w)
    if not _ID.match(eid):
        raise ConfigError(f"{w}.id", f"{eid!r} has unsafe characters")
    start, end, day = (_get(table, k, date, w) for k in ("campaign_start", "campaign_end", "voting_day"))
    if not start <= end <= day:
        raise ConfigError(w, "needs campaign_start <= campaign_end <= voting_day")
    return Election(eid, _get(table, "name", str, w), level, region, day, start, end)


def _candidate(c: Any, where: str) -> Candidate:
    if not isinstance(c, dict):
        raise ConfigError(where, "must be a table")
    known = {"id", "ballot_number", "people", "aliases", "hashtags", "parties", "accounts"}
    for key in c:
        if key not in known:
            raise ConfigError(f"{where}.{key}", "unknown key")
    cid = _get(c, "id", str, where)
    if not _ID.match(cid):
        raise ConfigError(f"{where}.id", f"{cid!r} has unsafe characters")
    hashtags = tuple(h.lstrip("#") for h in _strs(c.get("hashtags", []), f"{where}.hashtags"))
    return Candidate(
        id=cid,
        ballot_number=_get(c, "ballot_number", int, where),
        people=_strs(_get(c, "people", list, where), f"{where}.people"),
        aliases=_strs(c.get("aliases", []), f"{where}.aliases"),
        hashtags=hashtags,
        parties=_strs(c.get("parties", []), f"{where}.parties"),
        accounts=_accounts(c.get("accounts", {}), f"{where}.accounts"),
    )


def _party(p: Any, where: str) -> Party:
    if not isinstance(p, dict):
        raise ConfigError(where, "must be a table")
    for key in p:
        if key not in {"id", "names", "ballot_number", "accounts"}:
            raise ConfigError(f"{where}.{key}", "unknown key")
    pid = _get(p, "id", str, where)
    if not _ID.match(pid):
        raise ConfigError(f"{where}.id", f"{pid!r} has unsafe characters")
    return Party(
        id=pid,
        names=_strs(_get(p, "names", list, where), f"{where}.names"),
        ballot_number=_get(p, "ballot_number", int, where, required=False),
        accounts=_accounts(p.get("accounts", {}), f"{where}.accounts"),
    )


def read_registry(path: Path, regions: Mapping[str, Region]) -> Registry:
    """One election registry TOML file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    where = str(path)
    for key in data:
        if key not in {"election", "candidates", "parties"}:
            raise ConfigError(f"{where}: {key}", "unknown key")
    election = _election(data, where, regions)
    candidates = tuple(
        _candidate(c, f"{where}: candidates[{i}]")
        for i, c in enumerate(_get(data, "candidates", list, where))
    )
    parties = tuple(
        _party(p, f"{where}: parties[{i}]") for i, p in enumerate(data.get("parties", []))
    )
    _check_ids(where, candidates, parties)
    return Registry(election, candidates, parties, source=str(path))


def _check_ids(where: str, candidates: Sequence[Candidate], parties: Sequence[Party]) -> None:
    party_ids = {p.id for p in parties}
    if len(party_ids) != len(parties):
        raise ConfigError(f"{where}: parties", "duplicate party id")
    if len({c.id for c in candidates}) != len(candidates):
        raise ConfigError(f"{where}: candidates", "duplicate candidate id")
    if len({c.ballot_number for c in candidates}) != len(candidates):
        raise ConfigError(f"{where}: candidates", "duplicate ballot_number")
    for i, c in enumerate(candidates):
        for pid in c.parties:
            if pid not in party_ids:
                raise ConfigError(f"{where}: candidates[{i}].parties", f"unknown party id {pid!r}")


def read_registries(patterns: Sequence[str], base: Path, regions: Mapping[str, Region]) -> list[Registry]:
    """Every registry file matched by ``patterns`` (globs relative to ``base``)."""
    files: list[Path] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        matched = sorted(glob.glob(full))
        if not matched and not glob.has_magic(pattern):
            raise ConfigError(full, "registry file not found")
        files.extend(Path(m) for m in matched)
    registries = [read_registry(f, regions) for f in files]
    ids = [r.election.id for r in registries]
    for eid in ids:
        if ids.count(eid) > 1:
            raise ConfigError(eid, "two registry files define the same election id")
    return registries


@dataclass(frozen=True)
class RegionRegistryView:
    """Applies each election to the accounts in its region (and a province's to its regencies)."""

    registries: tuple[Registry, ...]
    regions: Mapping[str, Region]
    actor_regions: Mapping[tuple[str, str], str]
    """(platform, lower-case handle or stable id) -> region code of the monitored account."""

    def for_item(self, item: Item) -> Sequence[Registry]:
        """The registries whose election covers the item's actor."""
        region = self.actor_regions.get((item.platform, (item.actor_id or "").lower()))
        if region is None:
            region = self.actor_regions.get((item.platform, item.actor.lower().lstrip("@")))
        if region is None:
            return ()
        return [r for r in self.registries if applies(r.election, region, self.regions)]


def applies(election: Election, region_code: str, regions: Mapping[str, Region]) -> bool:
    """Whether ``election`` covers an account registered in ``region_code``."""
    if election.level == "national":
        return True
    if election.region == region_code:
        return True
    region = regions.get(region_code)
    return election.level == "province" and region is not None and region.province == election.region


def read_positions(path: Path) -> dict[str, str]:
    """account_id -> position (jabatan) from the roster's optional ``position`` column."""
    out: dict[str, str] = {}
    for _line, row in _read_csv(path, ROSTER_COLUMNS, ROSTER_OPTIONAL):
        if row.get("position"):
            out.setdefault(row["account_id"], row["position"])
    return out
