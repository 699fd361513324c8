"""Stage 1 alone as a ``Classifier``: registry rules, no stance model.

Used where no trained model is wanted (``[classifier] model = "matcher"``).
It cannot tell support from attack, so a flagged item's stance is reported as
``support`` only when the act is an engagement with the candidate's own account
or a campaign frame (ballot number, hashtag); otherwise the item is not flagged.
"""

from __future__ import annotations

from collections.abc import Sequence

from classifiers.matcher import RegistryMatcher
from monitor.model import Item, RegistryView, Result, skb_category

STRONG_RULES = frozenset({"account", "hashtag", "ballot_number", "hand_sign"})


class MatcherClassifier:
    """Flags items whose registry evidence is a campaign act by itself."""

    name = "matcher"

    def __init__(self, matcher: RegistryMatcher | None = None) -> None:
        self.matcher = matcher or RegistryMatcher()
        self.version = self.matcher.version

    def classify(self, items: Sequence[Item], registries: RegistryView) -> list[Result]:
        """One result per item."""
        out: list[Result] = []
        for item in items:
            m = self.matcher.match(item, registries.for_item(item))
            strong = [e for e in m.evidence if e.rule in STRONG_RULES]
            if item.kind in ("reply", "quote") and all(e.in_subject for e in m.evidence):
                # A reply or quote takes a side in its own words: quoting the KPU's list
                # of ballot numbers without naming anyone is not campaigning.
                strong = []
            flagged = bool(strong) and (m.account_match or m.election_context)
            score = 0.9 if flagged else (0.3 if m.matched else 0.0)
            why = "; ".join(e.describe() for e in m.evidence) or "no registry match"
            out.append(Result(item.key, flagged, score, "support" if flagged else (
                "neutral" if m.election_context else "unrelated"), m.targets,
                skb_category(item.kind), why, self.name, self.version))
        return out
