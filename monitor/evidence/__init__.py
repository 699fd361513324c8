"""Evidence files of a flag, one job a module.

``images``     the address-guarded downloader of a flagged post's images;
``card``       the HTML card (and its PNG through ``chromium``), rendered after the flag is stored;
``card_text``  the card's words in Indonesian and English;
``chromium``   headless Chromium: finding it, screenshotting a card;
``files``      writing owner-only files (0600) and folders (0700) under the evidence folder.
"""

# The names other modules used when this was one file, kept importable from the package.
from monitor.evidence.card import TEMPLATES, card_file, card_html, ensure_card, local_time, render_cards
from monitor.evidence.chromium import chromium_command, chromium_path, render_png
from monitor.evidence.files import make_private_dir, write_private
from monitor.evidence.images import ImageFetcher, image_urls

__all__ = ["TEMPLATES", "ImageFetcher", "card_file", "card_html", "chromium_command", "chromium_path",
           "ensure_card", "image_urls", "local_time", "make_private_dir", "render_cards", "render_png",
           "write_private"]
