"""Anchors outside the server: RFC 3161 timestamps from a real TSA on 127.0.0.1, heads in digests and
packages, and a chain rebuilt from scratch with altered evidence caught by both."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from monitor.errors import TimestampError
from monitor.settings import load
from monitor.testing import CliResult, DaemonProcess, TsaServer, invoke, tsa_server, write_settings
from monitor.timestamps import load_bundle, verify
from storage import chain

Cli = Callable[..., CliResult]
# The keyword matcher: flags without training a model (the classifier is not what is tested here).
MATCHER = {"model": "matcher", "model_dir": "../data/models"}


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TsaServer]:
    with tsa_server(tmp_path_factory.mktemp("tsa")) as server:
        yield server


@pytest.fixture
def anchored(config_dir: Path, tsa: TsaServer) -> tuple[Cli, Path]:
    """A store with the sample run's flags, settings naming the test TSA and its CA."""
    path = write_settings(config_dir, extra={
        "classifier": MATCHER, "anchoring": {"tsa_urls": [tsa.url], "ca_bundle": str(tsa.ca_bundle)},
        "review": {"chromium": ""}})

    def run(*args: str) -> CliResult:
        return invoke(["--config", str(path), *args])

    assert run("run", "--once").exit_code == 0
    return run, path


def _rewrite_chain(db_path: Path, evidence_id: int) -> None:
    """What an administrator could do: alter evidence, then rebuild the whole chain, new hashes."""
    con = duckdb.connect(str(db_path))
    try:
        con.execute("BEGIN TRANSACTION")
        order = con.execute("SELECT kind, ref_id FROM chain ORDER BY seq").fetchall()
        con.execute("UPDATE evidence SET item_json = json_object('text', 'tidak ada apa-apa') "
                    "WHERE evidence_id = ?", [evidence_id])
        con.execute("DELETE FROM chain")
        chain.append_many(con, [(str(k), int(r)) for k, r in order])  # type: ignore[misc]
        con.execute("COMMIT")
    finally:
        con.close()


def test_tokens_from_a_real_tsa_check_out_and_forgeries_do_not(tsa: TsaServer, tmp_path: Path) -> None:
    from monitor.timestamps import fetch

    bundle = load_bundle(tsa.ca_bundle)
    imprint = hashlib.sha256(b"head").digest()
    token = fetch(tsa.url, imprint, bundle)
    assert verify(token.der, imprint, bundle).gen_time == token.gen_time
    # OpenSSL agrees, independently of our code.
    (tmp_path / "t.der").write_bytes(token.der)
    proc = subprocess.run(["openssl", "ts", "-verify", "-digest", imprint.hex(), "-in",
                           str(tmp_path / "t.der"), "-token_in", "-CAfile", str(tsa.ca_bundle), "-untrusted",
                           str(tsa.folder / "tsa.pem")], capture_output=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(TimestampError, match="the token stamps sha256"):
        verify(token.der, hashlib.sha256(b"other").digest(), bundle)
    altered = bytearray(token.der)
    at = altered.find(imprint)
    altered[at] ^= 1  # the imprint itself changed to match another message: the digest breaks
    with pytest.raises(TimestampError, match=r"does not match the TSTInfo \(the token was altered\)"):
        verify(bytes(altered), bytes([imprint[0] ^ 1]) + imprint[1:], bundle)
    # A token from another CA (a TSA the settings do not trust) is refused.
    with tsa_server(tmp_path / "other") as other:
        foreign = fetch(other.url, imprint, load_bundle(other.ca_bundle))
    with pytest.raises(TimestampError, match="does not chain"):
        verify(foreign.der, imprint, bundle)


def test_head_stamped_and_verified_then_a_rebuilt_chain_is_named(
        anchored: tuple[Cli, Path], tsa: TsaServer) -> None:
    cli, path = anchored
    head = cli("anchor", "head", "--json").json()
    stamped = cli("anchor", "stamp", "--json")
    assert stamped.exit_code == 0, stamped.stderr
    [row] = stamped.json()
    assert row["error"] is None and row["token"]["seq"] == head["seq"] == int(head["text"].split(":")[0])
    assert cli("anchor", "stamp", "--json").json() == []  # this head has its token already
    assert cli("review", "confirm", "3", "--reviewer", "ana").exit_code == 0  # the chain grows
    ok = cli("verify", "--head", head["text"], "--json")
    assert ok.exit_code == 0, ok.stdout
    assert ok.json()["tokens_checked"] == 1 and ok.json()["heads_checked"] == 1

    _rewrite_chain(path.parent.parent / "data" / "test.duckdb", evidence_id=1)
    seq = head["seq"]
    # The timestamp stored with the chain names the rewrite ...
    broken = cli("verify", "--json")
    assert broken.exit_code == 6
    first = broken.json()["first_broken"]
    assert first["kind"] == "timestamp" and first["seq"] == seq
    assert f"rewritten at or before link {seq}" in first["what"]
    # ... and with the tokens gone too, the head kept in an email still does.
    con = duckdb.connect(str(path.parent.parent / "data" / "test.duckdb"))
    con.execute("DELETE FROM anchor_tokens")
    con.close()
    assert cli("verify", "--json").exit_code == 0  # the rebuilt chain is consistent in itself
    from_head = cli("verify", "--head", head["text"])
    assert from_head.exit_code == 6
    assert f"head {head['text']} is not in the chain: link {seq} is now" in from_head.stderr


def test_escalation_package_carries_head_and_tokens_checked_outside(
        anchored: tuple[Cli, Path], tsa: TsaServer, tmp_path: Path) -> None:
    cli, path = anchored
    assert cli("anchor", "stamp").exit_code == 0
    assert cli("review", "confirm", "5", "--reviewer", "ana").exit_code == 0
    before = cli("anchor", "head", "--json").json()
    out = cli("review", "escalate", "5", "--reviewer", "ana", "--json")
    assert out.exit_code == 0, out.stderr
    folder = Path(out.json()["package"]["folder"])
    manifest = json.loads((folder / "manifest.json").read_text())
    anchor = json.loads((folder / "anchor.json").read_text())
    head = anchor["chain_head"]  # after the card rendered for the package joined the chain
    assert manifest["chain_head"]["text"] == head["text"] and head["seq"] > before["seq"]
    purposes = sorted(t["purpose"] for t in anchor["timestamps"])
    assert purposes == ["escalation", "head"] and anchor["errors"] == []
    stamp = next(t for t in anchor["timestamps"] if t["purpose"] == "escalation")
    # Anyone with OpenSSL and the TSA's CA can check the manifest's token without asn-monitor.
    proc = subprocess.run(["openssl", "ts", "-verify", "-data", str(folder / "manifest.json"), "-in",
                           str(folder / stamp["file"]), "-token_in", "-CAfile", str(tsa.ca_bundle),
                           "-untrusted", str(tsa.folder / "tsa.pem")],
                          capture_output=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert cli("verify", "--package", str(folder)).exit_code == 0
    assert cli("anchor", "list", "--json").json()[-1]["purpose"] == "escalation"

    _rewrite_chain(path.parent.parent / "data" / "test.duckdb", evidence_id=2)
    con = duckdb.connect(str(path.parent.parent / "data" / "test.duckdb"))
    con.execute("DELETE FROM anchor_tokens")
    con.close()
    broken = cli("verify", "--package", str(folder), "--json")
    assert broken.exit_code == 6
    problems = broken.json()["problems"]
    assert any(p.startswith(f"link {head['seq']} (head") and f"link {head['seq']} is now" in p
               for p in problems), problems
    assert any(p.startswith(f"link {head['seq']} (timestamp") and stamp["file"] in p
               and "rewritten" in p for p in problems), problems


def test_digest_carries_the_head(anchored: tuple[Cli, Path]) -> None:
    cli, _ = anchored
    head = cli("anchor", "head").stdout.strip()
    text = cli("digest", "preview", "--week", "2024-W43").stdout
    assert f"Kepala rantai bukti: {head}" in text and f"verify --head {head}" in text


def test_a_bad_head_argument_is_an_input_error(anchored: tuple[Cli, Path]) -> None:
    cli, _ = anchored
    result = cli("verify", "--head", "12:nothex")
    assert result.exit_code == 2 and "expected SEQ:HASH" in result.stderr
    missing = cli("verify", "--head", f"99999:{'0' * 64}")
    assert missing.exit_code == 6 and "links were removed" in missing.stderr


@pytest.mark.slow
def test_the_daemon_stamps_the_head_and_backs_up(config_dir: Path, tsa: TsaServer, tmp_path: Path) -> None:
    """A real ``asn-monitor run``: the anchor job stamps the head at start; both jobs are registered."""
    path = write_settings(config_dir, extra={
        "classifier": MATCHER, "digest": {"enabled": False},
        "anchoring": {"tsa_urls": [tsa.url], "ca_bundle": str(tsa.ca_bundle)},
        "backup": {"dir": str(tmp_path / "daily"), "keep": 3, "hour": 2}})
    assert invoke(["--config", str(path), "run", "--once"]).exit_code == 0  # a chain to stamp
    daemon = DaemonProcess(path)
    try:
        daemon.wait_for("event=timestamped")  # the anchor job runs at start
    finally:
        assert daemon.stop() == 0, "\n".join(daemon.seen[-20:])
    [token] = invoke(["--config", str(path), "anchor", "list", "--json"]).json()
    assert token["purpose"] == "head" and token["tsa_url"] == tsa.url
    with duckdb.connect(str(load(path).db_path), read_only=True) as con:
        jobs = dict(con.execute("SELECT job_id, schedule FROM daemon_jobs").fetchall())
    assert jobs["anchor"] == "cron 15 1 * * * WIB" and jobs["backup"] == "daily 02:30 WIB, keep 3"
    result = invoke(["--config", str(path), "verify", "--json"])
    assert result.exit_code == 0 and result.json()["tokens_checked"] == 1


def test_an_unreachable_tsa_fails_the_stamp_but_not_the_escalation(config_dir: Path, tsa: TsaServer) -> None:
    from monitor.testing import free_port

    dead = f"http://127.0.0.1:{free_port()}/tsr"  # nothing listens there
    path = write_settings(config_dir, extra={
        "classifier": MATCHER, "review": {"chromium": ""},
        "anchoring": {"tsa_urls": [dead], "ca_bundle": str(tsa.ca_bundle), "timeout": 2}})

    def cli(*args: str) -> CliResult:
        return invoke(["--config", str(path), *args])

    assert cli("run", "--once").exit_code == 0
    stamp = cli("anchor", "stamp")
    assert stamp.exit_code == 1 and f"no TSA stamped the head: TSA {dead}: ConnectError" in stamp.stderr
    assert cli("review", "confirm", "5", "--reviewer", "ana").exit_code == 0
    out = cli("review", "escalate", "5", "--reviewer", "ana", "--json")
    assert out.exit_code == 0, out.stderr
    anchor = json.loads((Path(out.json()["package"]["folder"]) / "anchor.json").read_text())
    assert anchor["timestamps"] == [] and anchor["errors"][0]["tsa_url"] == dead
    assert cli("verify").exit_code == 0  # no token, nothing broken


def test_an_edit_before_a_timestamped_link_is_named_by_the_token(anchored: tuple[Cli, Path]) -> None:
    cli, path = anchored
    assert cli("anchor", "stamp").exit_code == 0
    con = duckdb.connect(str(load(path).db_path))
    con.execute("UPDATE evidence SET account_json = json_object('name', 'orang lain') WHERE evidence_id = 2")
    con.close()
    result = cli("verify", "--json").json()
    assert not result["ok"]
    assert result["first_broken"]["kind"] == "evidence" and result["first_broken"]["ref_id"] == 2
    seq = cli("anchor", "list", "--json").json()[0]["seq"]
    link = result["first_broken"]["seq"]
    assert any(p.startswith(f"link {seq} (timestamp") and
               f"the chain up to link {seq} changed after it was timestamped (link {link})" in p
               for p in result["problems"]), result["problems"]
