"""``asn-monitor intake``: take in a report (laporan) from the public or from staff.

Thin: it reads the options and files, calls ``monitor.intake`` and prints the outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from monitor import i18n
from monitor.cli.output import Printer, console, output_options
from monitor.cli.state import CliState, pass_state
from monitor.errors import InputError
from monitor.evidence.card import local_time
from monitor.i18n import t

i18n.register({
    "id": {
        "intake.stored": "Laporan #{report} disimpan: temuan #{flag} ({item}).",
        "intake.same_item": ("Tautan/berkas ini sudah pernah dilaporkan: laporan ditambahkan ke "
                             "temuan yang sama."),
        "intake.classified": ("Pengklasifikasi: {verdict}, skor {score:.2f}, sikap {stance}, "
                              "sasaran {targets}."),
        "intake.partisan": "berpihak", "intake.not_partisan": "tidak tampak berpihak",
        "intake.archived": "Diarsipkan: {url} (HTTP {status}), tangkapan layar dan snapshot MHTML.",
        "intake.ocr": "Teks dari gambar: {chars} karakter.",
        "intake.review": "Menunggu peninjau (asn-monitor review show {flag}).",
        "intake.none": "Temuan #{flag} tidak berasal dari laporan.",
    },
    "en": {
        "intake.stored": "Report #{report} stored: flag #{flag} ({item}).",
        "intake.same_item": "This link/file was reported before: the report joins the same flag.",
        "intake.classified": "Classifier: {verdict}, score {score:.2f}, stance {stance}, targets {targets}.",
        "intake.partisan": "partisan", "intake.not_partisan": "not visibly partisan",
        "intake.archived": "Archived: {url} (HTTP {status}), screenshot and MHTML snapshot.",
        "intake.ocr": "Text from images: {chars} characters.",
        "intake.review": "Waiting for a reviewer (asn-monitor review show {flag}).",
        "intake.none": "Flag #{flag} did not come from a report.",
    },
})


@click.command("intake")
@click.option("--account", "account_id", default=None, help="The reported ASN's roster account id.")
@click.option("--name", default=None, help="The reported ASN's name, when not on the roster.")
@click.option("--nip", default="", help="The reported ASN's NIP (18 digits), when not on the roster.")
@click.option("--agency", default=None, help="The reported ASN's agency, when not on the roster.")
@click.option("--region", default="", help="The reported ASN's region code, when not on the roster.")
@click.option("--url", default=None, help="The post or page being reported (archived with Chromium).")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An uploaded screenshot, photo or PDF (repeatable); kept byte for byte.")
@click.option("--platform", default=None,
              help="Platform of the uploaded screenshots when no URL names it (facebook, tiktok, ...).")
@click.option("--note", default="", help="What the reporter says happened.")
@click.option("--reporter-name", default=None, help="Reporter's name (kept for reviewers only).")
@click.option("--reporter-contact", default=None, help="Reporter's phone or email (reviewers only).")
@click.option("--anonymous", is_flag=True, help="Keep no reporter name or contact.")
@click.option("--channel", type=click.Choice(["public", "internal"]), default="public",
              help="public: from a citizen; internal: from Bawaslu staff or panwas.")
@output_options
@pass_state
def intake_cmd(state: CliState, account_id: str | None, name: str | None, nip: str,
               agency: str | None, region: str, url: str | None, files: tuple[Path, ...],
               platform: str | None, note: str, reporter_name: str | None,
               reporter_contact: str | None, anonymous: bool, channel: str, out: Printer) -> None:
    """Take in a report: archive the URL, keep the files, read them, classify, hold for review."""
    from monitor.intake import IntakeRequest, NewAccount, Upload, open_service

    if anonymous and (reporter_name or reporter_contact):
        raise InputError("--anonymous together with --reporter-name/--reporter-contact")
    new = NewAccount(name or "", agency or "", nip, region) if not account_id else None
    uploads = tuple(Upload(p.name, p.read_bytes()) for p in files)
    req = IntakeRequest(account_id=account_id, new_account=new, reporter_name=reporter_name,
                        reporter_contact=reporter_contact, channel=channel,  # type: ignore[arg-type]
                        note=note, url=url, uploads=uploads, platform=platform)
    result = open_service(state.settings).submit(req)
    out.document(result.to_json(), human=lambda: _print_result(state, result))


def _print_result(state: CliState, result: Any) -> None:
    lang = state.settings.review.language
    say = lambda key, **kw: console.print(t(key, lang, **kw), markup=False)  # noqa: E731
    say("intake.stored", report=result.report_id, flag=result.flag_id, item=result.item_key)
    if not result.new_item:
        say("intake.same_item")
    if result.archive:
        say("intake.archived", url=result.archive["final_url"], status=result.archive["status"])
    if result.ocr:
        say("intake.ocr", chars=sum(len(o["text"]) for o in result.ocr))
    c = result.classification
    if c:
        verdict = t("intake.partisan" if c["flagged"] else "intake.not_partisan", lang)
        say("intake.classified", verdict=verdict, score=c["score"],
            stance=t(f"stance.{c['stance']}", lang), targets=", ".join(c["targets"]) or "–")
    say("intake.review", flag=result.flag_id)


@click.command("reports")
@click.argument("flag_id", type=int)
@output_options
@pass_state
def reports_cmd(state: CliState, flag_id: int, out: Printer) -> None:
    """The reports behind a flag, with each reporter's name and contact (for reviewers only)."""
    from monitor.app import open_store
    from storage.intake import reports_of_flag

    found = reports_of_flag(open_store(state.settings).db, flag_id, with_reporter=True)
    out.records(found, human=lambda: _print_reports(state, flag_id, found))


def _print_reports(state: CliState, flag_id: int, found: list[dict[str, Any]]) -> None:
    if not found:
        console.print(t("intake.none", state.settings.review.language, flag=flag_id), markup=False)
    for r in found:
        who = " · ".join(v for v in (r["reporter_name"], r["reporter_contact"]) if v) or "anonim"
        console.print(f"#{r['report_id']} {local_time(r['received_at'])} {r['channel']} {r['platform']} "
                      f"{r['url'] or ''} | {who} | {r['note'] or ''}", markup=False)


def register(cli: click.Group) -> None:
    """Add the intake and reports commands to ``cli``."""
    cli.add_command(intake_cmd)
    cli.add_command(reports_cmd)
