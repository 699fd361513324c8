"""The benchmark (issue 7): a tiny end-to-end run, and the parts that must stay correct when fast."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bench.cascade import score
from bench.end_to_end import pages_of
from bench.ingest import PAGE, _records
from bench.workload import WorkloadGenerator
from classifiers.cascade import CascadeClassifier
from classifiers.fast import NAIVE, Batching, FastTransformer, batches, load_tokenizer
from classifiers.matcher import RegistryMatcher
from classifiers.staged import StagedStanceModel
from classifiers.testing import jabar_view
from monitor.testing import MODEL_DIR_ENV, invoke
from storage.bulk import load_accounts
from storage.evidence import verify
from storage.store import Store

KEYS = ("naive_items_per_s", "cascade_items_per_s", "cascade_recall", "naive_recall",
        "transformer_items_per_s", "ingest_items_per_s", "peak_rss_mb", "audit_query_ms_10m")


def test_bench_command_writes_every_key(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    res = invoke(["bench", "--items", "300", "--model", "tiny", "--audit-sizes", "20000",
                  "--linear-dir", os.environ[MODEL_DIR_ENV],
                  "--variant-sample", "32", "--ingest-items", "200", "--corpus-size", "200", "--threads", "1",
                  "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    import json

    r = json.loads(out.read_text())
    for key in KEYS:
        assert key in r
    for key in KEYS[:-1]:
        assert r[key] > 0, key
    assert r["audit_query_ms_10m"] is None  # only run at 10 million items
    assert r["audit"]["20000"]["max_median_ms"] > 0
    assert r["ingest_batched_items_per_s"] > 0
    assert r["serving"]["items"] == 300
    assert not r["serving"]["torch_imported"] or r["winner_backend"].startswith("torch")
    # fp32 reads a text the same whatever it is batched with
    assert all(v["batch_consistency"] == 1.0 for v in r["variants"] if "int8" not in v["backend"])
    winner = next(v for v in r["variants"] if v["name"] == r["winner"])
    assert winner["batch_consistency"] == 1.0
    assert "cascade end to end" in res.stdout


def _tiny(tmp_path: Path) -> tuple[object, object]:
    from bench.transformer import build_model

    model, model_dir, _ = build_model("tiny", tmp_path / "tiny")
    return model, load_tokenizer(model_dir)


@pytest.mark.parametrize("backend", ["torch", "torch-int8", "onnx", "onnx-int8"])
def test_fast_transformer_keeps_order_and_matches_naive(tmp_path: Path, backend: str) -> None:
    model, tok = _tiny(tmp_path)
    texts = ["satu", "dua kata di sini ya", "tiga", "rapat koordinasi di kantor dinas hari ini " * 3,
             "", "hujan"] * 7
    naive = FastTransformer.from_torch(model, tok, backend="torch", output="mean", batching=NAIVE)
    fast = FastTransformer.from_torch(model, tok, backend=backend, output="mean",  # type: ignore[arg-type]
                                      batching=Batching(batch_size=8), work_dir=tmp_path / "onnx")
    a, b = naive.run(texts), fast.run(texts)
    assert a.shape == b.shape
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() > (0.999 if "int8" not in backend else 0.9)


def test_batches_sort_and_pad_only_to_the_longest() -> None:
    ids = [[1, 2, 3], [1], [1, 2], [1, 2, 3, 4, 5]]
    got = list(batches(ids, Batching(batch_size=2)))
    assert [list(p) for p, _, _ in got] == [[1, 2], [0, 3]]
    assert [x.shape[1] for _, x, _ in got] == [2, 5]
    assert got[0][2].tolist() == [[1, 0], [1, 1]]
    naive = list(batches(ids, NAIVE))
    assert all(x.shape[1] == 64 for _, x, _ in naive)


class Fixed:
    """A stance model that answers one row for every text, and counts what it read."""

    kind = "fixed"

    def __init__(self, row: list[float], version: str = "fixed") -> None:
        self.row, self.calls, self.version = row, 0, version

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return np.array([self.row] * len(texts)).reshape(-1, 4)


def test_staged_cascade_sends_only_targeted_or_unsure_items_to_stage_3() -> None:
    linear, transformer = Fixed([0.01, 0.01, 0.08, 0.9]), Fixed([0.9, 0.0, 0.05, 0.05])
    staged = StagedStanceModel(linear, transformer)
    cascade = CascadeClassifier(RegistryMatcher(), staged)
    gen = WorkloadGenerator(5, partisan=0.2, neutral=0.1)
    labelled = gen.items(200)
    results = cascade.classify([x.item for x in labelled], jabar_view())
    # stage 1 hands on only items naming a target or talking about the election
    assert 0 < linear.calls < 200 and staged.stats.texts == linear.calls
    assert 0 < transformer.calls < linear.calls and staged.stats.forwarded == transformer.calls
    s = score([x.label for x in labelled], [r.flagged for r in results])
    assert s.recall == 1.0  # every partisan item names a candidate, so reaches stage 3
    assert results[0].version == "fixed+fixed"


def test_staged_model_keeps_the_more_partisan_row_and_forwards_unsure_texts() -> None:
    linear = Fixed([0.3, 0.0, 0.1, 0.6])  # partisan 0.3: unsure at 0.2, sure at 0.5
    transformer = Fixed([0.0, 0.0, 0.1, 0.9])
    texts = ["rapat di kantor", "coblos [NOMOR] ya"]
    p, fwd = StagedStanceModel(linear, transformer, unsure=0.2).route(texts)
    assert fwd.tolist() == [True, True] and transformer.calls == 2
    assert np.allclose(p, [[0.3, 0.0, 0.1, 0.6]] * 2)  # the linear row is the more partisan one
    p, fwd = StagedStanceModel(linear, transformer, unsure=0.5).route(texts)
    assert fwd.tolist() == [False, True]  # only the text naming a target
    with pytest.raises(ValueError, match="unsure"):
        StagedStanceModel(linear, transformer, unsure=1.5)


def test_texts_stage_2_has_settled_skip_stage_3() -> None:
    linear, transformer = Fixed([0.96, 0.0, 0.02, 0.02]), Fixed([0.0, 0.0, 0.0, 1.0])
    p, fwd = StagedStanceModel(linear, transformer).route(["coblos [NOMOR] [CALON]"])
    assert fwd.tolist() == [False] and transformer.calls == 0
    assert np.allclose(p, [[0.96, 0.0, 0.02, 0.02]])


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.97])
def test_skipping_settled_texts_changes_no_flag(threshold: float) -> None:
    """Whatever the two models say, skipping stage 3 for settled texts flags the same texts."""
    from classifiers.staged import combine, forward_mask, partisan

    rng = np.random.default_rng(int(threshold * 100))
    n = 4000
    p2, p3 = rng.dirichlet([0.3] * 4, n), rng.dirichlet([0.3] * 4, n)
    p2[::7] = [0.97, 0.01, 0.01, 0.01]  # some texts stage 2 has settled
    texts = ["coblos [CALON]" if i % 3 else "rapat" for i in range(n)]

    def flags(p: np.ndarray) -> np.ndarray:  # the cascade's flag rule on a text with a target
        return np.asarray((p.argmax(axis=1) <= 1) & (partisan(p) >= threshold))

    sure = max(0.95, threshold)  # as classifiers.api builds it
    every = combine(p2, p3, forward_mask(texts, p2, 0.2, 1.01))
    settled = combine(p2, p3, forward_mask(texts, p2, 0.2, sure))
    assert (forward_mask(texts, p2, 0.2, sure) < forward_mask(texts, p2, 0.2, 1.01)).sum() > 500
    assert (flags(every) == flags(settled)).all()


def test_the_winner_is_the_fastest_variant_that_keeps_the_cascades_recall_and_precision() -> None:
    from bench.transformer import VARIANTS, VariantResult, pick_winner

    def result(i: int, speed: float, agree: float, c_recall: float, c_prec: float) -> VariantResult:
        return VariantResult(VARIANTS[i], speed, 1.0, 1.0, None, agree, 0.9,  # type: ignore[arg-type]
                             c_recall, c_prec)

    naive = result(0, 10, 1.0, 0.95, 0.90)
    exact = result(4, 30, 1.0, 0.95, 0.90)
    assert pick_winner([naive, exact, result(5, 60, 0.95, 0.95, 0.895)]).items_per_s == 60
    assert pick_winner([naive, exact, result(5, 60, 0.95, 0.94, 0.95)]) is exact  # loses recall
    assert pick_winner([naive, exact, result(5, 60, 0.95, 0.95, 0.88)]) is exact  # loses precision
    assert pick_winner([naive, exact, result(5, 60, 0.85, 0.95, 0.90)]) is exact  # strays alone
    moody = result(5, 60, 0.95, 0.95, 0.90)
    moody.batch_consistency = 0.97  # its answer depends on the rest of the batch
    assert pick_winner([naive, exact, moody]) is exact
    assert pick_winner([naive]) is naive


def test_save_pages_writes_the_same_rows_as_save_page(tmp_path: Path) -> None:
    gen = WorkloadGenerator(9, partisan=0.1)
    labelled = gen.items(250)
    counts = []
    for batch, name in ((1, "page.duckdb"), (3, "batched.duckdb")):
        store = Store(tmp_path / name)
        load_accounts(store.db, [(a.account_id, a.name, a.nip, a.agency, a.region, a.platform,
                                  a.handle) for a in gen.accounts])
        run_id = store.begin_run("test")
        records = _records(pages_of(labelled, PAGE), labelled, run_id,
                           {a.handle: a.account_id for a in gen.accounts})
        flags = [f for i in range(0, len(records), batch)
                 for f in store.save_pages(records[i:i + batch])]
        assert verify(store.db, tmp_path).ok
        with store.db.connect() as con:
            counts.append({
                t: con.execute(f"SELECT count(*) FROM {t}").fetchone()  # noqa: S608
                for t in ("raw_items", "items", "classifications", "flags", "evidence",
                          "source_cursors")
            } | {"run": con.execute("SELECT items_new, flags_new FROM runs").fetchone(),
                 "items": con.execute("SELECT item_key, norm_text, account_id, kind FROM items "
                                      "ORDER BY 1").fetchall(),
                 "flags": con.execute("SELECT f.item_key, c.item_key FROM flags f JOIN "
                                      "classifications c ON c.id = f.classification_id "
                                      "ORDER BY 1").fetchall(),
                 "n_flag_ids": len(flags)})
    assert counts[0] == counts[1]
    assert counts[0]["n_flag_ids"] > 0


def test_bench_takes_a_fine_tuned_classifier_folder(tmp_path: Path) -> None:
    """The real stage-3 model (a sequence-classification folder) plugs in with --transformer-dir."""
    import json
    import shutil

    from transformers import BertConfig, BertForSequenceClassification

    from bench.transformer import minilm_dir

    labels = ["unrelated", "support", "oppose", "neutral"]  # not STANCES order, on purpose
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, num_labels=4, id2label=dict(enumerate(labels)),
                     label2id={lab: i for i, lab in enumerate(labels)})
    folder = tmp_path / "clf"
    BertForSequenceClassification(cfg).save_pretrained(str(folder))
    shutil.copy(minilm_dir() / "tokenizer.json", folder / "tokenizer.json")
    out = tmp_path / "bench.json"
    res = invoke(["bench", "--items", "200", "--transformer-dir", str(folder), "--audit-sizes", "",
                  "--linear-dir", os.environ[MODEL_DIR_ENV],
                  "--variant-sample", "16", "--ingest-items", "100", "--corpus-size", "100",
                  "--threads", "1", "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    r = json.loads(out.read_text())
    assert r["transformer_dir"] == str(folder)
    assert r["serving"]["items"] == 200 and r["cascade_items_per_s"] > 0
    assert r["audit_query_ms_10m"] is None and r["audit"] == {}
