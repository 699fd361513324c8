"""Evaluation on three sets, with calibration: ``python -m classifiers.evaluate``.

1. ``seed-heldout``: the seed corpus's test split. The model is scored on the
   masked texts (4-class and partisan metrics, calibration); then the whole
   cascade is scored on the same rows with placeholders filled by the sample
   West Java registries' names, so matching, masking and the flag rule count.
2. ``real-negatives``: real non-political Indonesian text (IndoNLU SmSA valid +
   test, IndoNLU EmoT valid + test, NusaX sentiment valid + test; Apache-2.0 /
   CC BY-SA), none of it in training. False-positive rate = fraction flagged
   or given a partisan stance by the cascade; the model alone is also reported.
3. ``political-stance``: CC BY-NC-SA blog articles about named politicians,
   read from ``../shared/data`` at evaluation time only. The six figures are put
   in a registry built for this evaluation; recall = fraction of ``for`` /
   ``against`` articles flagged.
4. ``real-dev``: the hand-labelled development set (real tweets and blog articles read
   from ``../shared/data``, and hand-written posts), per target and per item; see
   :mod:`classifiers.devset`.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from classifiers.calibration import calibration, prf
from classifiers.cascade import CascadeClassifier
from classifiers.corpus import LabelledExample, iter_csv_column, iter_smsa, load_seed_corpus
from classifiers.models import PARTISAN, StanceModel, stance_metrics
from classifiers.testing import jabar_view
from monitor.model import (
    Candidate,
    Election,
    Item,
    Registry,
    RegistryView,
    StaticRegistryView,
    Subject,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
csv.field_size_limit(10**8)  # the blog articles are long


@dataclass
class EvalReport:
    """Metrics per evaluation set; render with :meth:`to_markdown` or :meth:`to_json`."""

    model_version: str
    threshold: float
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"model_version": self.model_version, "threshold": self.threshold,
                "sections": self.sections}

    def to_markdown(self) -> str:
        """A readable report: one heading per set, tables for metrics and calibration."""
        out = [f"# Stance evaluation — model `{self.model_version}`, "
               f"flag threshold {self.threshold:.2f}", ""]
        for name, sec in self.sections.items():
            out.append(f"## {name}")
            out.append("")
            if "skipped" in sec:
                out += [f"Skipped: {sec['skipped']}", ""]
                continue
            for key, value in sec.items():
                if key in ("model", "cascade_calibration", "per_dataset", "examples",
                           "cascade_flag_by_threshold", "subsets", "keyword_floor"):
                    continue
                out.append(f"- {key}: {_fmt(value)}")
            if "per_dataset" in sec:
                out += ["", "| dataset | n | flagged | partisan stance (cascade) | "
                        "partisan stance (model alone) |", "|---|---|---|---|---|"]
                for ds, d in sec["per_dataset"].items():
                    out.append(f"| {ds} | {d['n']} | {d['flagged']} | {d['cascade_partisan']} | "
                               f"{d['model_partisan']} |")
            if "cascade_flag_by_threshold" in sec:
                out += ["", "Cascade flags by threshold (at or above the setting):", "",
                        "| threshold | precision | recall | F1 |", "|---|---|---|---|"]
                for thr, m in sec["cascade_flag_by_threshold"].items():
                    out.append(f"| {thr} | {m['precision']:.3f} | {m['recall']:.3f} | "
                               f"{m['f1']:.3f} |")
            if "subsets" in sec:
                from classifiers.devset_metrics import real_dev_markdown

                out += ["", real_dev_markdown(sec)]
            if "model" in sec:
                out += ["", _model_markdown(sec["model"])]
            if "cascade_calibration" in sec:
                out += ["", "Calibration of the cascade's score:", "",
                        _cal_markdown(sec["cascade_calibration"])]
            if sec.get("examples"):
                out += ["", "Examples:"] + [f"- {e}" for e in sec["examples"]]
            out.append("")
        return "\n".join(out)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    return str(v)


def _cal_markdown(cal: dict[str, Any]) -> str:
    lines = ["| score bin | n | mean score | observed partisan rate |", "|---|---|---|---|"]
    for b in cal["bins"]:
        if b["count"]:
            lines.append(f"| {b['lo']:.1f}–{b['hi']:.1f} | {b['count']} | "
                         f"{b['mean_score']:.3f} | {b['observed_rate']:.3f} |")
    lines.append(f"\nBrier {cal['brier']:.4f}, ECE {cal['ece']:.4f}, n = {cal['n']}")
    return "\n".join(lines)


def _model_markdown(m: dict[str, Any]) -> str:
    lines = ["Model alone, on masked texts:", "",
             "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for lab, c in m["per_class"].items():
        lines.append(f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | "
                     f"{c['support']} |")
    p = m["partisan"]
    lines.append(f"| **partisan** | {p['precision']:.3f} | {p['recall']:.3f} | {p['f1']:.3f} | "
                 f"{p['support']} |")
    labels = m["confusion"]["labels"]
    lines += ["", "Confusion (rows gold, columns predicted):", "",
              "| | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for lab, row in zip(labels, m["confusion"]["matrix"], strict=True):
        lines.append(f"| {lab} | " + " | ".join(str(x) for x in row) + " |")
    lines += ["", _cal_markdown(m["calibration"])]
    return "\n".join(lines)


# ------------------------------------------------------------------ 1. seed held-out

_WHEN = datetime(2029, 10, 1, 8, 0, tzinfo=UTC)


def render_seed_items(rows: Sequence[LabelledExample], view: StaticRegistryView,
                      seed: int = 5) -> list[Item]:
    """Items from masked seed rows, placeholders filled with the registries' names.

    One candidate per row: ``[CALON]`` becomes one of its names, aliases or
    hashtags, ``[NOMOR]`` its ballot number, ``[PARTAI]`` a party name.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    regs = list(view.registries)
    items: list[Item] = []
    for n, row in enumerate(rows):
        reg = rng.choice(regs)
        cand = rng.choice(reg.candidates)
        party = rng.choice(reg.parties)
        names = list(cand.people) + list(cand.aliases) + list(cand.hashtags)
        number = str(cand.ballot_number)
        if rng.random() < 0.3:
            number = f"0{number}"

        def fill(text: str, names: list[str] = names, number: str = number,
                 party: Any = party) -> str:
            text = re.sub(r"\[CALON\]", lambda _m: rng.choice(names), text)
            text = text.replace("[NOMOR]", number)
            return text.replace("[PARTAI]", rng.choice(party.names))

        own: str | None = fill(row.text)
        subject = None
        if row.kind in ("reply", "quote") and "[SUBJEK]" in row.text:
            mine, _, theirs = row.text.partition("[SUBJEK]")
            own = fill(mine.strip())
            subject = Subject(f"s{n}", "warga.bsky.social", fill(theirs.strip()))
        elif row.kind in ("like", "repost"):
            subject = Subject(f"s{n}", "warga.bsky.social", own)
            own = None
        items.append(Item("bluesky", f"seed{n}", row.kind, "asn.bsky.social", _WHEN, own,
                          subject=subject))
    return items


def eval_seed(classifier: CascadeClassifier, model: StanceModel) -> dict[str, Any]:
    """Model metrics on the masked held-out split, and cascade flag metrics on rendered items."""
    rows = load_seed_corpus("test")
    t0 = time.perf_counter()
    proba = model.predict_proba([r.model_input() for r in rows])
    model_secs = time.perf_counter() - t0
    view = jabar_view()
    items = render_seed_items(rows, view)
    t0 = time.perf_counter()
    verdicts = classifier.verdicts(items, view)
    secs = time.perf_counter() - t0
    gold = [r.label in PARTISAN for r in rows]
    flagged = [v.flagged for v in verdicts]
    flag = prf(gold, flagged)
    misses = [f"{r.label} -> {v.reason}: {it.text or (it.subject.text if it.subject else '')}"
              for r, v, it in zip(rows, verdicts, items, strict=True)
              if (r.label in PARTISAN) != v.flagged][:8]
    # Flag precision/recall at other thresholds, to choose the setting.
    by_threshold = {}
    for thr in (0.5, 0.6, 0.7, 0.8, 0.9):
        m = prf(gold, [v.flagged and (v.score >= thr) for v in verdicts])
        by_threshold[f"{thr:.1f}"] = {"precision": round(m.precision, 4),
                                      "recall": round(m.recall, 4), "f1": round(m.f1, 4)}
    return {
        "n": len(rows),
        "cascade_flag_by_threshold": by_threshold,
        "model_partisan_f1": stance_metrics([r.label for r in rows], proba)["partisan"]["f1"],
        "cascade_flag": {"precision": flag.precision, "recall": flag.recall, "f1": flag.f1},
        "cascade_items_per_second": len(items) / secs if secs else 0.0,
        "model_texts_per_second": len(rows) / model_secs if model_secs else 0.0,
        "model": stance_metrics([r.label for r in rows], proba),
        "cascade_calibration": calibration([v.score for v in verdicts], gold).to_json(),
        "examples": misses,
    }


# ---------------------------------------------------------------- 2. real negatives

def real_negative_texts(shared: Path) -> dict[str, list[str]]:
    """Real non-political sets from ``shared`` (only splits never used in training)."""
    out: dict[str, list[str]] = {}
    smsa = shared / "indonlu-smsa"
    if smsa.exists():
        out["indonlu-smsa (valid+test)"] = [
            t for f in ("valid_preprocess.tsv", "test_preprocess.tsv")
            for t, _ in iter_smsa(smsa / f)]
    emot = shared / "indonlu-emot"
    if emot.exists():
        out["indonlu-emot (valid+test)"] = [
            t for f in ("valid_preprocess.csv", "test_preprocess.csv")
            for t in iter_csv_column(emot / f, "tweet")]
    nusax = shared / "nusax-sentiment-ind"
    if nusax.exists():
        out["nusax-sentiment-ind (valid+test)"] = [
            t for f in ("valid.csv", "test.csv") for t in iter_csv_column(nusax / f, "text")]
    return out


def eval_real_negatives(classifier: CascadeClassifier, model: StanceModel, shared: Path,
                        view: RegistryView | None = None) -> dict[str, Any]:
    """False-positive rates on real non-political text."""
    sets = real_negative_texts(shared)
    if not sets:
        return {"skipped": f"no real negative sets under {shared}"}
    view = view or jabar_view()
    per: dict[str, dict[str, Any]] = {}
    total = flagged_all = partisan_all = 0
    examples: list[str] = []
    t0 = time.perf_counter()
    for name, texts in sets.items():
        items = [Item("bluesky", f"neg{i}", "post", "asn.bsky.social", _WHEN, t)
                 for i, t in enumerate(texts)]
        verdicts = classifier.verdicts(items, view)
        masked = [v.match.masked_text for v in verdicts]
        mp = model.predict_proba(masked)
        model_part = int(sum(1 for row in mp if row.argmax() < 2))
        flagged = sum(v.flagged for v in verdicts)
        casc_part = sum(1 for v in verdicts if v.flagged or v.stance in PARTISAN)
        per[name] = {"n": len(texts), "flagged": flagged, "cascade_partisan": casc_part,
                     "model_partisan": model_part}
        total += len(texts)
        flagged_all += flagged
        partisan_all += casc_part
        examples += [f"{name}: {v.reason}: {t[:160]}" for v, t in
                     zip(verdicts, texts, strict=True) if v.flagged or v.stance in PARTISAN][:3]
        per[name]["model_partisan_rate"] = model_part / len(texts)
    secs = time.perf_counter() - t0
    # Stress: the same texts under a registry of real national figures (Jokowi,
    # Prabowo, Ahok, ...). Some of these texts do attack or praise them, so a
    # flag here is not always wrong; the number shows how much is at stake.
    figures = StaticRegistryView((figures_registry(),))
    stress = sum(v.flagged for name, texts in sets.items() for v in classifier.verdicts(
        [Item("bluesky", f"st{i}", "post", "asn", _WHEN, t) for i, t in enumerate(texts)],
        figures))
    return {
        "n": total,
        "false_positive_rate": partisan_all / total,
        "flag_rate_under_real_figures_registry": stress / total,
        "flag_rate": flagged_all / total,
        "model_alone_partisan_rate": sum(d["model_partisan"] for d in per.values()) / total,
        "items_per_second": total / secs if secs else 0.0,
        "per_dataset": per,
        "examples": examples,
    }


# ------------------------------------------------------------- 3. political stance

FIGURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ahok": (("Basuki Tjahaja Purnama",), ("Ahok", "BTP", "Basuki")),
    "jokowi": (("Joko Widodo",), ("Jokowi", "Pak Jokowi")),
    "ridwan kamil": (("Ridwan Kamil",), ("Kang Emil", "RK")),
    "ahy": (("Agus Harimurti Yudhoyono",), ("AHY", "Agus Yudhoyono")),
    "prabowo": (("Prabowo Subianto",), ("Prabowo",)),
    "yusril": (("Yusril Ihza Mahendra",), ("Yusril",)),
}


def figures_registry() -> Registry:
    """An evaluation-only registry holding the six figures of the stance dataset."""
    election = Election("eval-figures", "Evaluation: political figures", "national", None,
                        date(2017, 2, 15), date(2016, 10, 28), date(2017, 2, 11))
    cands = tuple(Candidate(f"fig-{i + 1}", 90 + i, people, aliases)
                  for i, (people, aliases) in enumerate(FIGURES.values()))
    return Registry(election, cands, (), source="classifiers/evaluate.py")


def _article_text(title: str, content: str) -> str:
    try:
        paras = json.loads(content)
        body = " ".join(p for p in paras if isinstance(p, str))
    except (json.JSONDecodeError, TypeError):
        body = content
    return f"{title}. {body}"


def political_articles(shared: Path, stances: tuple[str, ...] = ("for", "against")
                       ) -> list[tuple[str, str, str]]:
    """(figure, text, stance) for articles of ``stances``, de-duplicated by title."""
    folder = shared / "id-stance-political-figures"
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    f2 = folder / "dataset_stance_2_label_2018_building_by_rini.csv"
    if f2.exists():
        with f2.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh, delimiter=";"):
                stance = (row.get("stance final") or "").strip().replace("againts", "against")
                title = row.get("Judul Artikel") or ""
                if stance in stances and title not in seen:
                    seen.add(title)
                    out.append((row["Tokoh"].strip().lower(),
                                _article_text(title, row.get("Isi Artikel") or ""), stance))
    f3 = folder / "dataset_stance_3_label_2016_building_by_cakra.csv"
    if f3.exists():
        with f3.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                stance, title = row.get("stance", "").strip(), row.get("title") or ""
                if stance in stances and title not in seen:
                    seen.add(title)
                    out.append((row["topic"].strip().lower(),
                                _article_text(title, row.get("content") or ""), stance))
    return out


def eval_political(classifier: CascadeClassifier, shared: Path) -> dict[str, Any]:
    """Recall of flags on partisan blog articles, and stance agreement when flagged."""
    arts = political_articles(shared)
    if not arts:
        return {"skipped": f"id-stance-political-figures not found under {shared}"}
    view = StaticRegistryView((figures_registry(),))
    items = [Item("blog", f"art{i}", "post", "blogger", _WHEN, text)
             for i, (_, text, _) in enumerate(arts)]
    t0 = time.perf_counter()
    verdicts = classifier.verdicts(items, view)
    secs = time.perf_counter() - t0
    flagged = [v.flagged for v in verdicts]
    want = {"for": "support", "against": "oppose"}
    agree = sum(1 for (_, _, s), v in zip(arts, verdicts, strict=True)
                if v.flagged and v.stance == want[s])
    by_stance = {s: sum(f for (_, _, st), f in zip(arts, flagged, strict=True) if st == s)
                 / max(1, sum(1 for _, _, st in arts if st == s)) for s in ("for", "against")}
    # Control: articles annotated "unknown" (no stance) should be flagged less.
    unknown = [t for _, t, s in political_articles(shared, ("unknown",))]
    unk_v = classifier.verdicts([Item("blog", f"unk{i}", "post", "blogger", _WHEN, t)
                                 for i, t in enumerate(unknown)], view)
    return {
        "n": len(arts),
        "recall": sum(flagged) / len(arts),
        "flag_rate_on_unknown_stance_articles": (
            sum(v.flagged for v in unk_v) / len(unk_v) if unk_v else 0.0),
        "n_unknown": len(unk_v),
        "recall_by_stance": by_stance,
        "target_found": sum(1 for v in verdicts if v.match.targets) / len(arts),
        "stance_agreement_when_flagged": agree / max(1, sum(flagged)),
        "items_per_second": len(arts) / secs if secs else 0.0,
    }


# ------------------------------------------------------------------------ entry point

def evaluate(
    classifier_or_model_dir: CascadeClassifier | Path | str,
    datasets: Sequence[str] = ("seed-heldout", "real-negatives", "political-stance", "real-dev"),
    *,
    shared_data: Path = SHARED_DATA,
    threshold: float = 0.5,
    review_threshold: float | None = None,
) -> EvalReport:
    """Evaluate a classifier (or the model in a folder, built as the product builds it)."""
    if isinstance(classifier_or_model_dir, CascadeClassifier):
        clf = classifier_or_model_dir
    else:
        from classifiers.api import build_default_classifier

        clf = build_default_classifier(Path(classifier_or_model_dir), threshold=threshold,
                                       review_threshold=review_threshold)
    report = EvalReport(clf.version, clf.flag_threshold)
    if clf.model is None:
        raise ValueError("evaluate needs a classifier with a stance model")
    model: StanceModel = clf.model
    for name in datasets:
        if name == "seed-heldout":
            report.sections[name] = eval_seed(clf, model)
        elif name == "real-negatives":
            report.sections[name] = eval_real_negatives(clf, model, shared_data)
        elif name == "political-stance":
            report.sections[name] = eval_political(clf, shared_data)
        elif name == "real-dev":
            from classifiers.devset_metrics import real_dev_section

            report.sections[name] = real_dev_section(clf, shared_data)
        else:
            raise ValueError(f"unknown evaluation set {name!r}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: train or load a model, evaluate it, print Markdown (and JSON)."""
    ap = argparse.ArgumentParser(prog="python -m classifiers.evaluate", description=__doc__)
    ap.add_argument("--model-dir", type=Path, default=Path("data/models/stance"))
    ap.add_argument("--shared-data", type=Path, default=SHARED_DATA)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = ap.parse_args(argv)
    from classifiers.api import build_default_classifier

    clf = build_default_classifier(args.model_dir, threshold=args.threshold)
    report = evaluate(clf, shared_data=args.shared_data)
    sys.stdout.write(report.to_markdown() + "\n")
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
