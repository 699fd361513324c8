"""The evidence card of a flag as a reviewer sees it in the terminal."""

from __future__ import annotations

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from monitor.cli.output import console
from monitor.evidence.card import local_time
from monitor.model import region_zone, skb_category
from monitor.stance_words import confidence, describe
from storage.evidence import FlagDetail


def print_card(detail: FlagDetail, lang: str = "id") -> None:
    """The evidence card in the terminal (all values printed as text, never as markup)."""
    item, acc = detail.item, detail.account

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    rows: list[tuple[str, str]] = [
        ("Flag", f"#{detail.flag_id} ({detail.status})   score {detail.score:.2f}"),
        ("ASN", f"{acc.get('name')}   NIP {acc.get('nip')}"),
        ("Agency", f"{acc.get('agency')}   region {acc.get('region')}"),
        ("Account", f"{item.get('platform')} @{item.get('actor')}"),
        ("Time", local_time(item.get("created_at"), region_zone(acc.get("region")))),
        ("Link", str(item.get("url") or "-")),
        ("Act", f"{item.get('kind')} (SKB: {skb_category(str(item.get('kind')))})   "
                f"stance {detail.stance} -> {', '.join(detail.targets) or '-'}"),
        ("Stances", f"{describe(detail.target_stances, detail.target_names, lang)} "
                    f"({confidence(detail.high_confidence, lang)})"),
        ("Text", str(item.get("text") or "(no text)")),
    ]
    subject = item.get("subject")
    if subject:
        rows.append(("Engaged with", f"@{subject.get('author')}: {subject.get('text') or ''} "
                                     f"{subject.get('url') or ''}"))
    rows.append(("Classifier", f"{detail.model} {detail.version}: {detail.explanation}"))
    images = [f for f in detail.files if f["role"] == "image"]
    for f in images:
        rows.append(("Image", f"{f['url']} {f['sha256'] or f['error']}"))
    rows.append(("Raw", f"sha256 {detail.raw_sha256}  {detail.raw_meta.get('source_url')}  "
                        f"fetched {detail.raw_meta.get('fetched_at')}"))
    for role in ("card_html", "card_png"):
        card = detail.file(role)
        if card is not None:
            rows.append(("Card", f"{card['path']}  sha256 {card['sha256']}"))
    for k, v in rows:
        t.add_row(k, Text(v))
    console.print(Panel(t, title=f"Evidence card #{detail.flag_id}", title_align="left"))
