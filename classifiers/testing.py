"""Fixtures for tests in every room: sample registries and an item builder.

The candidates below are fictional (names, hashtags and accounts invented for
the project); the party names are real Indonesian parties, used only so that
party-name rules (acronyms such as "PAN") are tested on realistic names. The
elections are set in 2029 so nothing here describes a real contest.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from itertools import count
from pathlib import Path

import numpy as np

from classifiers.stages import Reading, StageConfig
from monitor.model import (
    Candidate,
    Election,
    Item,
    Kind,
    Party,
    Registry,
    StaticRegistryView,
    Subject,
)

PARTIES: tuple[Party, ...] = (
    Party("pkb", ("Partai Kebangkitan Bangsa", "PKB"), 1,
          {"bluesky": ("pkb.bsky.social",)}),
    Party("gerindra", ("Partai Gerindra", "Gerindra"), 2,
          {"bluesky": ("gerindra.bsky.social",)}),
    Party("pdip", ("PDI Perjuangan", "PDIP", "PDI-P"), 3),
    Party("golkar", ("Partai Golkar", "Golkar"), 4),
    Party("nasdem", ("Partai NasDem", "NasDem"), 5),
    Party("pks", ("Partai Keadilan Sejahtera", "PKS"), 8),
    Party("pan", ("Partai Amanat Nasional", "PAN"), 12),
    Party("demokrat", ("Partai Demokrat",), 14),
)


def _party(pid: str) -> Party:
    return next(p for p in PARTIES if p.id == pid)


def jabar_registry() -> Registry:
    """A fictional 2029 West Java governor election (province code 32), four tickets.

    Ticket 2's "Rangga Pratama" is written as a former actor of the (equally
    fictional) TV series "Bujang Kota", for the TV false-friend tests.
    """
    election = Election(
        id="pilgub-jabar-2029", name="Pemilihan Gubernur Jawa Barat 2029", level="province",
        region="32", voting_day=date(2029, 11, 27), campaign_start=date(2029, 9, 25),
        campaign_end=date(2029, 11, 23),
    )
    candidates = (
        Candidate("jabar-1", 1, ("Asep Kurniawan", "Rina Marlina"),
                  aliases=("Kang Asep Kurniawan", "ASRI"), hashtags=("#JabarBerkah", "#AsepRina"),
                  parties=("pkb", "nasdem"),
                  accounts={"bluesky": ("asepkurniawan.bsky.social",), "x": ("asep_kurniawan",)}),
        Candidate("jabar-2", 2, ("Rangga Pratama", "Sri Wulandari"),
                  aliases=("Ranggasri",), hashtags=("#JabarMenyala", "#RanggaSri"),
                  parties=("gerindra", "golkar"),
                  accounts={"bluesky": ("ranggapratama.bsky.social",)}),
        Candidate("jabar-3", 3, ("Hendra Gunawan", "Yuyun Nuraeni"),
                  aliases=("HEGAR", "Abah Hendra Gunawan"), hashtags=("#JabarHegar",),
                  parties=("pks", "pan"),
                  accounts={"bluesky": ("hendragunawan.bsky.social",)}),
        Candidate("jabar-4", 4, ("Teddy Setiadi", "Lilis Suryani"),
                  aliases=("TELI",), hashtags=("#JabarJuara",),
                  parties=("pdip",), accounts={"x": ("teddysetiadi",)}),
    )
    parties = tuple(_party(p) for p in ("pkb", "nasdem", "gerindra", "golkar", "pks", "pan",
                                         "pdip"))
    return Registry(election, candidates, parties, source="classifiers/testing.py")


def national_registry() -> Registry:
    """A fictional 2029 presidential election with three tickets and the party list."""
    election = Election(
        id="pilpres-2029", name="Pemilihan Presiden 2029", level="national", region=None,
        voting_day=date(2029, 2, 14), campaign_start=date(2028, 11, 28),
        campaign_end=date(2029, 2, 10),
    )
    candidates = (
        Candidate("pilpres-1", 1, ("Bambang Sutrisno", "Ayu Lestari"),
                  aliases=("BAYU", "Pak Bambang Sutrisno"), hashtags=("#BambangAyu",),
                  parties=("pkb", "pks"), accounts={"bluesky": ("bambangsutrisno.bsky.social",)}),
        Candidate("pilpres-2", 2, ("Hasan Basri", "Dewi Anggraini"),
                  aliases=("HADE",), hashtags=("#IndonesiaMenyala", "#HasanDewi"),
                  parties=("gerindra", "golkar", "pan", "demokrat"),
                  accounts={"bluesky": ("hasanbasri.bsky.social",)}),
        Candidate("pilpres-3", 3, ("Yusuf Hamdani", "Ratna Sari"),
                  aliases=("YURA",), hashtags=("#YusufRatna",),
                  parties=("pdip", "nasdem"), accounts={"bluesky": ("yusufhamdani.bsky.social",)}),
    )
    return Registry(election, candidates, PARTIES, source="classifiers/testing.py")


def other_region_registry() -> Registry:
    """A fictional 2029 Surabaya mayoral election: it must not apply to West Java actors."""
    election = Election(
        id="pilwalkot-surabaya-2029", name="Pemilihan Wali Kota Surabaya 2029", level="city",
        region="3578", voting_day=date(2029, 11, 27), campaign_start=date(2029, 9, 25),
        campaign_end=date(2029, 11, 23),
    )
    candidates = (
        Candidate("sby-1", 1, ("Bagus Prasetyo", "Nina Kartika"), aliases=("BANI",),
                  hashtags=("#SurabayaHebat",)),
        Candidate("sby-2", 2, ("Joko Susilo", "Wulan Dari"), aliases=("JOWO",)),
    )
    return Registry(election, candidates, (), source="classifiers/testing.py")


def jabar_view() -> StaticRegistryView:
    """The registries that apply to a West Java ASN: the governor and presidential elections."""
    return StaticRegistryView((jabar_registry(), national_registry()))


_ids = count(1)


def make_item(
    text: str | None,
    kind: Kind = "post",
    *,
    subject_text: str | None = None,
    subject_author: str = "someone.bsky.social",
    platform: str = "bluesky",
    actor: str = "asn.example.bsky.social",
) -> Item:
    """An item for tests; engagement kinds get a subject post by ``subject_author``."""
    n = next(_ids)
    subject = None
    if kind != "post":
        subject = Subject(id=f"s{n}", author=subject_author, text=subject_text)
    return Item(
        platform=platform, id=f"t{n}", kind=kind, actor=actor,
        created_at=datetime(2029, 10, 1, 8, 0, tzinfo=UTC), text=text, subject=subject,
    )


_TRAINED: dict[str, Path] = {}


def trained_linear_dir() -> Path:
    """A default linear model trained once per test process (in a temporary folder)."""
    if "linear" not in _TRAINED:
        from classifiers.api import ensure_default_model

        root = Path(tempfile.mkdtemp(prefix="asn-linear-"))
        _TRAINED["linear"] = ensure_default_model(root / "stance")
    return _TRAINED["linear"]


class KeywordStage:
    """A rule stage for tests and examples: a keyword in the text settles every target as support.

    It shows what a new stage is: a class with ``name``, ``version`` and
    ``__call__`` over the readings, found through the settings
    (``stages = ["matcher", "linear", "classifiers.testing:keyword_stage"]``).
    """

    name = "keyword"
    version = "keyword-1"

    def __init__(self, keyword: str = "#uji-tahap") -> None:
        self.keyword = keyword.lower()

    def __call__(self, batch: Sequence[Reading]) -> Sequence[Reading]:
        """Support with certainty for every target of a text that holds the keyword."""
        for r in batch:
            text = " ".join(filter(None, [r.item.text, r.item.subject.text if r.item.subject
                                          else None])).lower()
            if self.keyword in text:
                for target in r.texts:
                    r.proba[target] = np.array([0.99, 0.0, 0.01, 0.0])
                    r.by[target] = self.name
        return batch


def keyword_stage(config: StageConfig) -> KeywordStage:
    """The :class:`KeywordStage` factory (its keyword from ``config.options``)."""
    return KeywordStage(str(config.options.get("keyword", "#uji-tahap")))
