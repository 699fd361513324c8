"""Figures on the real development set, per subset (tweets, blogs, hand-written).

Every figure comes from ``Classifier.classify`` (the entry point ``asn-monitor classify``
uses) over the dev items with their elections' registries. Definitions:

* item level: gold partisan = any labelled target supported or opposed; predicted
  partisan = ``flagged``. Precision, recall, F1 over all items of the subset.
* ``flag_rate_on_neutral``: items that name a target but take no side (every target
  neutral or unrelated), flagged.
* ``fpr_none_named``: items that name no registry target, flagged.
* ``stance_accuracy``: gold support/oppose pairs (item, target) whose item is flagged
  with that target found: the predicted stance for the target equals the gold one.
  ``stance_accuracy_all`` counts every gold partisan pair (a miss is wrong).
  ``stance_balanced`` is the mean of that accuracy on gold support and on gold oppose
  pairs: the real tweets hold three attacks to one endorsement, so plain accuracy
  rewards a model that leans to "oppose".
* per target: gold pairs by target id: partisan recall (flagged, target found, stance
  partisan) and stance accuracy as above.

``python -m classifiers.devset_metrics [--model-dir DIR]`` prints the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from classifiers import devset as ds
from classifiers.calibration import prf
from classifiers.matcher import RegistryMatcher
from monitor.model import Classifier, Item, RegistryView, Result, Stance, skb_category

PARTISAN = ("support", "oppose")


def target_stances(result: Result) -> dict[str, Stance]:
    """The predicted stance toward each target of ``result`` (its per-target list when it has one).

    A result without one (the keyword floor, an older classifier) gives every target its
    single stance. This is the only place the metrics look at stances.
    """
    if result.target_stances:
        return {t.target: t.stance for t in result.target_stances}
    return {t: result.stance for t in result.targets}


class KeywordFloor:
    """The trivial baseline: flag any text that names a registry target (no stance)."""

    name = "keyword-floor"
    has_stance = False

    def __init__(self, matcher: RegistryMatcher | None = None) -> None:
        self.matcher = matcher or RegistryMatcher()
        self.version = f"keyword-floor-{self.matcher.version}"

    def classify(self, items: Sequence[Item], registries: RegistryView) -> list[Result]:
        """Flagged iff stage 1 finds a target; stance "support" as a placeholder."""
        out = []
        for item in items:
            m = self.matcher.match(item, registries.for_item(item))
            out.append(Result(item.key, m.matched, 1.0 if m.matched else 0.0,
                              "support" if m.matched else "unrelated", m.targets,
                              skb_category(item.kind), "keyword floor", self.name,
                              self.version))
        return out


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score_subset(items: Sequence[Any], results: Sequence[Result],
                 has_stance: bool = True) -> dict[str, Any]:
    """The figures for one subset (``items`` are ``DevItem``s, in ``results``' order)."""
    gold = [d.partisan for d in items]
    flagged = [r.flagged for r in results]
    m = prf(gold, flagged)
    neutral = [r.flagged for d, r in zip(items, results, strict=True)
               if d.names_target and not d.partisan]
    none = [r.flagged for d, r in zip(items, results, strict=True) if not d.names_target]
    pairs = _pairs(items, results)
    found = [p for p in pairs if p["found"]]
    out: dict[str, Any] = {
        "n": len(items), "n_partisan": sum(gold), "n_neutral_named": len(neutral),
        "n_none_named": len(none),
        "precision": round(m.precision, 4), "recall": round(m.recall, 4), "f1": round(m.f1, 4),
        "flag_rate_on_neutral": _rate(sum(neutral), len(neutral)),
        "fpr_none_named": _rate(sum(none), len(none)),
        "recall_support": _rate(sum(p["found"] for p in pairs if p["gold"] == "support"),
                                sum(p["gold"] == "support" for p in pairs)),
        "recall_oppose": _rate(sum(p["found"] for p in pairs if p["gold"] == "oppose"),
                               sum(p["gold"] == "oppose" for p in pairs)),
        "target_found": _rate(sum(p["in_targets"] for p in pairs), len(pairs)),
    }
    if has_stance:
        out["stance_accuracy"] = _rate(sum(p["right"] for p in found), len(found))
        out["stance_accuracy_all"] = _rate(sum(p["right"] for p in pairs), len(pairs))
        out["stance_balanced"] = _balanced(found)
    out["per_target"] = _per_target(pairs, has_stance)
    return out


def _balanced(found: list[dict[str, Any]]) -> float | None:
    """The mean of the stance accuracies on gold support and gold oppose pairs."""
    rates = [_rate(sum(p["right"] for p in found if p["gold"] == g),
                   sum(p["gold"] == g for p in found)) for g in PARTISAN]
    known = [r for r in rates if r is not None]
    return round(sum(known) / len(known), 4) if known else None


def _pairs(items: Sequence[Any], results: Sequence[Result]) -> list[dict[str, Any]]:
    """One record per gold support/oppose (item, target) pair."""
    out = []
    for d, r in zip(items, results, strict=True):
        pred = target_stances(r)
        for g in d.gold:
            if g.stance not in PARTISAN:
                continue
            said = pred.get(g.target)
            found = r.flagged and said in PARTISAN
            out.append({"target": g.target, "gold": g.stance, "in_targets": said is not None,
                        "found": found, "right": found and said == g.stance})
    return out


def _per_target(pairs: list[dict[str, Any]], has_stance: bool) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for t in sorted({p["target"] for p in pairs}):
        mine = [p for p in pairs if p["target"] == t]
        found = [p for p in mine if p["found"]]
        row: dict[str, Any] = {"n_partisan": len(mine),
                               "recall": _rate(len(found), len(mine))}
        if has_stance:
            row["stance_accuracy"] = _rate(sum(p["right"] for p in found), len(found))
        out[t] = row
    return out


def classify_all(classifier: Classifier, items: Sequence[Item], view: RegistryView,
                 batch_size: int = 64) -> list[Result]:
    """``classifier.classify`` over ``items`` in batches, as ``asn-monitor classify`` does."""
    out: list[Result] = []
    for start in range(0, len(items), batch_size):
        out += classifier.classify(items[start:start + batch_size], view)
    return out


def evaluate_devset(classifier: Classifier, shared: Path | None = None, *,
                    labels: Path | None = None, handwritten: Path | None = None,
                    registry_dir: Path | None = None) -> dict[str, Any]:
    """Figures per subset; real subsets are skipped (with the reason) when data is missing."""
    regs = ds.load_registries(registry_dir or ds.REGISTRY_DIR)
    subsets: dict[str, Any] = {}
    try:
        real = ds.load_real(shared or ds.SHARED_DATA, labels or ds.LABELS_FILE)
    except ds.DevsetDataMissing as exc:
        real = []
        subsets["tweets"] = subsets["blogs"] = {"skipped": str(exc)}
    hand = ds.load_handwritten(handwritten or ds.HANDWRITTEN_FILE)
    items = real + hand
    results = classify_all(classifier, [d.item for d in items], ds.view_for(items, regs))
    has_stance = getattr(classifier, "has_stance", True)
    for name in ds.SUBSETS:
        idx = [i for i, d in enumerate(items) if d.subset == name]
        if idx:
            subsets[name] = score_subset([items[i] for i in idx], [results[i] for i in idx],
                                         has_stance)
    return {"version": classifier.version, "subsets": subsets}


_COLUMNS = ("n", "n_partisan", "precision", "recall", "f1", "recall_support", "recall_oppose",
            "stance_accuracy", "stance_accuracy_all", "stance_balanced", "flag_rate_on_neutral",
            "fpr_none_named", "target_found")


def _cell(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def devset_markdown(section: dict[str, Any]) -> str:
    """One table of the subsets' figures, then the per-target recall."""
    subs = section.get("subsets", {})
    lines = ["| measure | " + " | ".join(subs) + " |", "|---" * (len(subs) + 1) + "|"]
    for col in _COLUMNS:
        lines.append(f"| {col} | " + " | ".join(
            "skipped" if "skipped" in s else _cell(s.get(col)) for s in subs.values()) + " |")
    for name, s in subs.items():
        if "skipped" in s:
            lines.append(f"\n{name}: skipped: {s['skipped']}")
            continue
        per = s.get("per_target", {})
        if per:
            lines.append(f"\n{name}, per target (gold support/oppose pairs): " + "; ".join(
                f"{t} n {r['n_partisan']} recall {_cell(r['recall'])}"
                + (f" stance {_cell(r['stance_accuracy'])}" if "stance_accuracy" in r else "")
                for t, r in per.items()))
    return "\n".join(lines)


def real_dev_section(classifier: Classifier, shared: Path | None = None) -> dict[str, Any]:
    """The ``real-dev`` section of ``asn-monitor evaluate``: the classifier and the floor."""
    out = evaluate_devset(classifier, shared)
    out["keyword_floor"] = evaluate_devset(KeywordFloor(), shared)
    return out


def real_dev_markdown(section: dict[str, Any]) -> str:
    """The section as Markdown: the classifier's table, then the keyword floor's."""
    text = devset_markdown(section)
    if "keyword_floor" in section:
        text += ("\n\nKeyword floor (flag any text that names a registry target):\n\n"
                 + devset_markdown(section["keyword_floor"]))
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Print the model's figures and the keyword floor's on the dev set."""
    from classifiers.api import build_default_classifier

    ap = argparse.ArgumentParser(prog="python -m classifiers.devset_metrics", description=__doc__)
    ap.add_argument("--model-dir", type=Path, default=Path("data/models/stance"))
    ap.add_argument("--shared-data", type=Path, default=ds.SHARED_DATA)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    clf = build_default_classifier(args.model_dir, threshold=args.threshold)
    section = real_dev_section(clf, args.shared_data)
    sys.stdout.write(f"# Real dev set: model `{clf.version}`, threshold {args.threshold:.2f}\n\n"
                     + real_dev_markdown(section) + "\n")
    if args.json:
        args.json.write_text(json.dumps(section, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
