"""The classifier: the configured stages, then the flag rule, one stance per target.

The stages (:mod:`classifiers.stages`) find each item's targets and read, for
each target, the text in which that target is ``[CALON]`` (or ``[PARTAI]``,
``[NOMOR]``) and every rival ``[LAWAN]``. The flag rule then decides per target:

* the target's stance is the model's, except that ``unrelated`` counts only when
  the model is sure of it (``P(unrelated) >= unrelated_veto``): a text that
  names a registry candidate is about the election far more often than not;
* its score is the probability that the item takes a side on it: the model's
  partisan share with ``unrelated`` discounted (:func:`classifiers.models.partisan_raw`),
  put through the model's calibration (``calibration.json`` in the model folder)
  so that it reads as a probability;
* the item enters the review queue (``flagged``) when a target in a registry
  that applies to the actor has a partisan stance and a score of at least
  ``review_threshold`` (recall first: a reviewer reads it); it is marked high
  confidence at ``flag_threshold``;
* a like or repost of a candidate's or party's own account is partisan by
  account match even with no text (the SKB names liking and sharing campaign
  content), unless the model is sure the engaged post is unrelated.

The item's ``stance`` and ``score`` are those of its most partisan target, and
``target_stances`` lists every target ("supports A, attacks B").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifiers.calibration import Calibrator
from classifiers.matcher import MatchResult, RegistryMatcher
from classifiers.models import LABELS, StanceModel, partisan_raw
from classifiers.stages import MatchStage, ModelStage, Reading, Stage
from monitor.model import Item, RegistryView, Result, Stance, TargetStance, skb_category


@dataclass(frozen=True)
class Verdict:
    """The flag rule's decision on one item, before it becomes a :class:`Result`."""

    match: MatchResult
    proba: np.ndarray | None
    stance: Stance
    score: float
    flagged: bool
    reason: str
    per_target: tuple[TargetStance, ...] = ()
    high: bool = False
    # The target whose reading decided the item: its masked text is what the model read.
    target: str = ""


class CascadeClassifier:
    """The stages plus the flag rule; implements the ``Classifier`` protocol."""

    name = "cascade"

    def __init__(
        self,
        matcher: RegistryMatcher | None = None,
        model: StanceModel | None = None,
        *,
        stages: Sequence[Stage] | None = None,
        flag_threshold: float = 0.5,
        review_threshold: float | None = None,
        unrelated_veto: float = 0.9,
        account_score: float = 0.9,
        calibrator: Calibrator | None = None,
        batch_size: int = 64,
    ) -> None:
        review = flag_threshold if review_threshold is None else review_threshold
        if not 0.0 <= review <= flag_threshold <= 1.0:
            raise ValueError(f"need 0 <= review_threshold ({review}) <= flag_threshold "
                             f"({flag_threshold}) <= 1")
        if stages is None:
            if model is None:
                raise ValueError("give the stages, or a stance model for the default ones")
            stages = [MatchStage(matcher), ModelStage(model, model.kind, batch_size)]
        self.stages = list(stages)
        self.model = model
        self.flag_threshold = flag_threshold
        self.review_threshold = review
        self.unrelated_veto = unrelated_veto
        self.account_score = account_score
        self.calibrator = calibrator or Calibrator.identity()
        self.batch_size = batch_size
        # Every Result carries the versions of the stages that read it.
        self.version: str = "+".join(s.version for s in self.stages[1:]) or self.stages[0].version
        self.kind = "+".join(s.name for s in self.stages[1:]) or "matcher"

    def classify(self, items: Sequence[Item], registries: RegistryView) -> list[Result]:
        """One result per item, in order."""
        return [self._result(item, v) for item, v in
                zip(items, self.verdicts(items, registries), strict=True)]

    def verdicts(self, items: Sequence[Item], registries: RegistryView) -> list[Verdict]:
        """Run every stage over the batch, then the flag rule on each reading."""
        batch: Sequence[Reading] = [Reading(item, registries.for_item(item)) for item in items]
        for stage in self.stages:
            batch = stage(batch)
        return [self._decide(r) for r in batch]

    # ------------------------------------------------------------------ the flag rule

    def _target(self, target: str, p: np.ndarray, engagement: bool) -> TargetStance:
        q = dict(zip(LABELS, p.tolist(), strict=True))
        if q["unrelated"] >= self.unrelated_veto:
            return TargetStance(target, "unrelated", 0.0)
        score = self.calibrator(float(partisan_raw(p)[0]))
        side: Stance = "support" if q["support"] >= q["oppose"] else "oppose"
        if engagement:
            # Liking or sharing a campaign account's post endorses it.
            return TargetStance(target, side, max(score, self.account_score))
        # The stance is taken where the score reaches the review threshold: that is
        # the operating point at which a reviewer is asked to look.
        return TargetStance(target, side if score >= self.review_threshold else "neutral", score)

    def _decide(self, r: Reading) -> Verdict:
        match = r.match or MatchResult((), (), "", False, False)
        engaged = {e.target for e in match.evidence if e.rule == "account"}
        per = tuple(self._target(t, r.proba[t], t in engaged) for t in match.targets
                    if t in r.proba)
        per += tuple(TargetStance(t, "support", self.account_score) for t in engaged
                     if t not in r.proba and r.item.kind in ("like", "repost"))
        if not per:
            return self._no_target(r, match)
        top = max(per, key=lambda ts: (ts.stance in ("support", "oppose"), ts.score))
        proba = r.proba.get(top.target)
        partisan = top.stance in ("support", "oppose")
        flagged = partisan and top.score >= self.review_threshold
        high = partisan and top.score >= self.flag_threshold
        if not partisan:
            reason = f"stance is {top.stance} toward every target"
        elif not flagged:
            reason = f"partisan score {top.score:.2f} < review threshold {self.review_threshold:.2f}"
        else:
            level = "high confidence" if high else "for review"
            reason = (f"{top.stance} toward {top.target}, score {top.score:.2f} "
                      f">= {self.review_threshold:.2f} ({level})")
            if top.target in engaged:
                reason = f"like/repost of a campaign account; {reason}"
        return Verdict(match, proba, top.stance, top.score, flagged, reason, per, high,
                       top.target)

    def _no_target(self, r: Reading, match: MatchResult) -> Verdict:
        proba = r.proba.get("")
        if proba is None:
            return Verdict(match, None, "unrelated", 0.0, False,
                           "no registry target and no election words: model not run")
        stance: Stance = LABELS[int(np.argmax(proba))]  # type: ignore[assignment]
        score = float(proba[0] + proba[1])
        return Verdict(match, proba, stance, score, False,
                       "election talk without a registry target")

    # ------------------------------------------------------------------ results

    def _result(self, item: Item, v: Verdict) -> Result:
        return Result(
            item_key=item.key,
            flagged=v.flagged,
            score=round(float(v.score), 4),
            stance=v.stance,
            targets=v.match.targets,
            category=skb_category(item.kind),
            explanation=self._explain(v),
            model=f"cascade/{self.kind}",
            version=self.version,
            target_stances=tuple(TargetStance(t.target, t.stance, round(t.score, 4))
                                 for t in v.per_target),
            high_confidence=v.high,
        )

    def _explain(self, v: Verdict) -> str:
        lines = [("FLAGGED: " if v.flagged else "not flagged: ") + v.reason]
        if v.match.evidence:
            lines.append("matched: " + "; ".join(e.describe() for e in v.match.evidence))
        else:
            lines.append("matched: nothing in the applicable registries")
        if v.per_target:
            lines.append("per target: " + "; ".join(
                f"{t.target} {t.stance} {t.score:.2f}" for t in v.per_target))
        if v.proba is not None:
            probs = ", ".join(f"{lab} {p:.2f}" for lab, p in zip(LABELS, v.proba, strict=True))
            lines.append(f"model {self.version}: {probs}; partisan score {v.score:.2f}")
        # Each target is read with its rivals as [LAWAN]: show the reading that decided,
        # so the evidence says exactly what the model saw.
        if v.target:
            lines.append(f"model input for {v.target}: {v.match.text_for(v.target)[:300]}")
        else:
            lines.append(f"model input: {v.match.masked_text[:300]}")
        return "\n".join(lines)
