"""The evidence card of a flag as a reviewer sees it in the terminal."""

from __future__ import annotations

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from monitor.cli.output import console
from monitor.model import skb_category
from storage.evidence import FlagDetail


def print_card(detail: FlagDetail) -> None:
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
        ("Time", str(item.get("created_at"))),
        ("Link", str(item.get("url") or "-")),
        ("Act", f"{item.get('kind')} (SKB: {skb_category(str(item.get('kind')))})   "
                f"stance {detail.stance} -> {', '.join(detail.targets) or '-'}"),
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
