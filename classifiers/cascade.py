"""The cascade: registry matcher (stage 1), then the stance model (stage 2), then the flag rule.

Flag rule (conservative, because a flag accuses a person):

* an item is flagged when stage 1 found a target in a registry that applies to
  the actor, the model's stance is support or oppose, and the partisan score
  P(support) + P(oppose) is at least ``flag_threshold``;
* a like or repost of a candidate's or party's own account is partisan by
  account match even with no text (the SKB names liking and sharing campaign
  accounts' content), unless the model finds the engaged post clearly
  unrelated (P(unrelated) >= ``unrelated_veto``, default 0.97: a candidate's
  "terima kasih relawan" or market visit reads as everyday text to the model,
  but is campaign content, so only the plainly unrelated, a recipe or a holiday
  greeting, is let go). Its score is then at least ``account_score``.

Items with no target and no election words skip the model: they cannot be
flagged, and the cascade reports them as ``unrelated`` with score 0. A like or
repost of a campaign account with no text at all is flagged with score
``account_score`` and stance ``support``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifiers.matcher import MatchResult, RegistryMatcher
from classifiers.models import LABELS, StanceModel
from monitor.model import Item, RegistryView, Result, Stance, skb_category

# Long texts (blog posts, articles) are scored by their sentences that name a
# target, so one partisan paragraph is not drowned by a long neutral report.
LONG_TEXT_TOKENS = 120
WINDOW_TOKENS = 60


@dataclass(frozen=True)
class Verdict:
    """The cascade's decision on one item, before it becomes a :class:`Result`."""

    match: MatchResult
    proba: np.ndarray | None
    stance: Stance
    score: float
    flagged: bool
    reason: str


class CascadeClassifier:
    """Stage 1 + stage 2 + flag rule; implements the ``Classifier`` protocol."""

    name = "cascade"

    def __init__(
        self,
        matcher: RegistryMatcher,
        model: StanceModel,
        *,
        flag_threshold: float = 0.5,
        unrelated_veto: float = 0.97,
        account_score: float = 0.9,
        batch_size: int = 64,
    ) -> None:
        if not 0.0 <= flag_threshold <= 1.0:
            raise ValueError(f"flag_threshold {flag_threshold} is not in [0, 1]")
        self.matcher = matcher
        self.model = model
        self.flag_threshold = flag_threshold
        self.unrelated_veto = unrelated_veto
        self.account_score = account_score
        self.batch_size = batch_size
        # Every Result carries the stance model's version.
        self.version: str = model.version

    def classify(self, items: Sequence[Item], registries: RegistryView) -> list[Result]:
        """One result per item, in order; the model runs once over the whole batch."""
        return [self._result(item, v) for item, v in
                zip(items, self.verdicts(items, registries), strict=True)]

    def verdicts(self, items: Sequence[Item], registries: RegistryView) -> list[Verdict]:
        """Stage 1 for every item, one batched model call, then the flag rule."""
        matches = [self.matcher.match(item, registries.for_item(item)) for item in items]
        todo = [i for i, m in enumerate(matches)
                if (m.targets or m.election_context) and m.masked_text.strip()]
        # Each item becomes one or more windows; windows are scored together.
        windows: list[str] = []
        owner: list[int] = []
        for i in todo:
            for w in _windows(matches[i].masked_text):
                windows.append(w)
                owner.append(i)
        probs: dict[int, np.ndarray] = {}
        if windows:
            all_p = np.vstack([self.model.predict_proba(windows[s:s + self.batch_size])
                               for s in range(0, len(windows), self.batch_size)])
            for i in todo:
                rows = all_p[[k for k, o in enumerate(owner) if o == i]]
                probs[i] = _aggregate(rows)
        return [self._decide(item, matches[i], probs.get(i)) for i, item in enumerate(items)]

    def _decide(self, item: Item, match: MatchResult, proba: np.ndarray | None) -> Verdict:
        engagement = match.account_match and item.kind in ("like", "repost")
        if proba is None:
            if engagement:
                # Nothing to read (a like of a post whose text we do not have):
                # the account match alone is the act the SKB names.
                return Verdict(match, None, "support", self.account_score, True,
                               "like/repost of a campaign account (no text to read)")
            return Verdict(match, None, "unrelated", 0.0, False,
                           "no registry target and no election words: model not run")
        p = dict(zip(LABELS, proba.tolist(), strict=True))
        score = p["support"] + p["oppose"]
        stance: Stance = LABELS[int(np.argmax(proba))]  # type: ignore[assignment]
        partisan = stance in ("support", "oppose")
        if engagement:
            if p["unrelated"] >= self.unrelated_veto:
                return Verdict(match, proba, stance, score, False,
                               f"campaign account, but the post is unrelated "
                               f"(P={p['unrelated']:.2f})")
            if not partisan:
                # Liking or sharing a campaign account's post endorses it.
                stance = "oppose" if p["oppose"] > p["support"] else "support"
            return Verdict(match, proba, stance, max(score, self.account_score), True,
                           "like/repost of a campaign account")
        if not match.targets:
            return Verdict(match, proba, stance, score, False,
                           "election talk without a registry target")
        if not partisan:
            return Verdict(match, proba, stance, score, False, f"stance is {stance}")
        if score < self.flag_threshold:
            return Verdict(match, proba, stance, score, False,
                           f"partisan score {score:.2f} < threshold {self.flag_threshold:.2f}")
        return Verdict(match, proba, stance, score, True,
                       f"{stance} toward a registry target, score {score:.2f} >= "
                       f"{self.flag_threshold:.2f}")

    def _result(self, item: Item, v: Verdict) -> Result:
        return Result(
            item_key=item.key,
            flagged=v.flagged,
            score=round(float(v.score), 4),
            stance=v.stance,
            targets=v.match.targets,
            category=skb_category(item.kind),
            explanation=self._explain(v),
            model=f"cascade/{self.model.kind}",
            version=self.version,
        )

    def _explain(self, v: Verdict) -> str:
        lines = [("FLAGGED: " if v.flagged else "not flagged: ") + v.reason]
        if v.match.evidence:
            lines.append("matched: " + "; ".join(e.describe() for e in v.match.evidence))
        else:
            lines.append("matched: nothing in the applicable registries")
        if v.proba is not None:
            probs = ", ".join(f"{lab} {p:.2f}" for lab, p in zip(LABELS, v.proba, strict=True))
            lines.append(f"model {self.model.version}: {probs}; partisan score {v.score:.2f}")
        lines.append(f"model input: {v.match.masked_text[:300]}")
        return "\n".join(lines)


def _windows(text: str) -> list[str]:
    """The text itself, or for long texts its target-bearing sentence windows."""
    words = text.split()
    if len(words) <= LONG_TEXT_TOKENS:
        return [text]
    out: list[str] = []
    cur: list[str] = []
    for w in words:
        cur.append(w)
        if (w in (".", "!", "?") and len(cur) >= WINDOW_TOKENS // 2) or len(cur) >= WINDOW_TOKENS:
            out.append(" ".join(cur))
            cur = []
    if cur:
        out.append(" ".join(cur))
    with_target = [w for w in out if "[CALON]" in w or "[PARTAI]" in w or "[NOMOR]" in w]
    return with_target or [text]


def _aggregate(rows: np.ndarray) -> np.ndarray:
    """Combine window probabilities: the mean, which keeps a calibrated scale."""
    return np.asarray(rows.mean(axis=0))
