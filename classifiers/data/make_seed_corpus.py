"""Generate ``seed_corpus.jsonl``: the synthetic, labelled stance corpus of asn-monitor.

Run ``python -m classifiers.data.make_seed_corpus`` to rebuild it; the output is
deterministic. Every row is synthetic: composed from the hand-written fragments
in :mod:`classifiers.data.fragments`, rendered in several styles (formal,
casual, slang, mixed English, emoji, hashtags) and kinds (post, reply, quote,
repost, like). Targets are already masked (``[CALON]``, ``[PARTAI]``,
``[NOMOR]``), the way stage 1 masks them before the model sees a text.

The held-out split is by fragment family: every family (and reply phrase list)
goes wholly to ``train`` or to ``test``, so test sentences are never seen,
even reworded, in training.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from classifiers.data import clauses as K
from classifiers.data import fragments as F

OUT = Path(__file__).with_name("seed_corpus.jsonl")
SEED = 2029
RENDERS_PER_TEMPLATE = 6
TEST_EVERY = 5  # one family (or clause) in five is held out
COMPOSED_TRAIN = 420  # composed rows per label
COMPOSED_TEST = 105

SLANG_SWAPS = {
    "yang": "yg", "tidak": "gak", "nggak": "gk", "sudah": "udh", "banget": "bgt",
    "dengan": "dgn", "untuk": "utk", "saya": "gw", "jangan": "jgn", "sama": "sm",
    "tahu": "tau", "kalau": "klo", "aja": "aja", "saja": "aja", "lagi": "lg", "juga": "jg",
    "karena": "krn", "tapi": "tp", "pasti": "pst", "semua": "smua", "bagaimana": "gimana",
}
ENGLISH_SWAPS = {
    "sangat": "very", "tapi": "but", "karena": "because", "semua": "all", "besok": "tomorrow",
    "pemimpin": "leader", "rakyat": "people", "program": "program", "jujur": "honest",
    "bagus": "good", "buruk": "bad", "hari": "day", "mantap": "nice", "lagi": "again",
    "banget": "so much", "terbaik": "the best", "gagal": "failed", "janji": "promise",
}
ENGLISH_FILLERS = ["honestly", "literally", "btw", "tbh", "fr", "anyway", "guys", "so yeah",
                   "just saying", "okay"]
OPENERS = ["", "", "", "Gaes, ", "Jujur ya, ", "Menurut saya ", "Pagi semua, ", "Hmm, ",
           "Btw ", "Eh ", "Duh, ", "Info: "]
EMOJI = {
    "support": ["💪", "🔥", "👍", "🙌", "❤️", "😍"],
    "oppose": ["😡", "👎", "🙄", "🤮", "😤", "💩"],
    "neutral": ["🙏", "🗳️", "📢", "✅", "📅", "ℹ️"],
    "unrelated": ["😂", "😁", "☕", "🌧️", "🙏", "🔥", "👍", "😭"],
}
TAGS = {
    "support": ["{C}", "{C}", "#{R}Maju", "#MenangkanRakyat"],
    "oppose": ["#GantiPemimpin", "#TolakLupa", "#JanjiPalsu", "#AsalBukanDia"],
    "neutral": F.NEUTRAL_TAGS,
    "unrelated": ["#kuliner", "#weekend", "#timnas", "#mudik", "#kerjakeras", "#ootd"],
}
STYLES = ["formal", "casual", "slang", "emoji", "hashtags", "casual", "formal", "mixed_english"]


def _fill(template: str, rng: random.Random) -> str:
    slots = {
        "C": "[CALON]", "P": "[PARTAI]", "N": "[NOMOR]",
        "E": rng.choice(F.ELECTIONS), "R": rng.choice(F.REGIONS), "O": rng.choice(F.OFFICES),
        "D": rng.choice(F.DAYS), "T": rng.choice(F.NEUTRAL_TAGS),
    }
    return re.sub(r"\{([A-Z])\}", lambda m: slots[m.group(1)], template)


def _style(text: str, style: str, label: str, rng: random.Random) -> str:
    if style == "casual":
        text = text.lower().rstrip(".")
        text = re.sub(r"\[(calon|partai|nomor|subjek)\]", lambda m: m.group().upper(), text)
    elif style == "slang":
        words = text.split(" ")
        for i, w in enumerate(words):
            low = w.lower()
            if low in SLANG_SWAPS and rng.random() < 0.8:
                words[i] = SLANG_SWAPS[low]
        # stretch one emotional word, as people type it
        j = rng.randrange(len(words))
        m = re.search(r"[aiueo](?=[^aiueo]*$)", words[j]) if words[j].isalpha() else None
        if m and len(words[j]) > 3:
            k = m.start()
            words[j] = words[j][:k] + words[j][k] * rng.randint(3, 5) + words[j][k + 1:]
        text = " ".join(words).lower()
        text = re.sub(r"\[(calon|partai|nomor|subjek)\]", lambda m: m.group().upper(), text)
    elif style == "mixed_english":
        words = text.split(" ")
        for i, w in enumerate(words):
            if w.lower() in ENGLISH_SWAPS and rng.random() < 0.7:
                words[i] = ENGLISH_SWAPS[w.lower()]
        filler = rng.choice(ENGLISH_FILLERS)
        text = " ".join(words)
        text = f"{filler}, {text}" if rng.random() < 0.5 else f"{text}, {filler}"
    elif style == "emoji":
        text = f"{text} {''.join(rng.sample(EMOJI[label], k=rng.randint(1, 3)))}"
    elif style == "hashtags":
        tags = rng.sample(TAGS[label], k=min(2, len(TAGS[label])))
        text = f"{text} {' '.join(tags)}"
    return text


def _render(template: str, label: str, style: str, rng: random.Random) -> str:
    opener = rng.choice(OPENERS) if style in ("casual", "slang") else ""
    text = _fill(opener + template, rng)
    return _fill(_style(text, style, label, rng), rng)


def _split_pool(pool: list[str], split: str) -> list[str]:
    """The clauses of ``pool`` in ``split``: every TEST_EVERY-th is held out."""
    return [c for i, c in enumerate(pool) if (i % TEST_EVERY == 3) == (split == "test")]


def _family_splits() -> dict[tuple[str, str], str]:
    splits: dict[tuple[str, str], str] = {}
    for label, families in F.POSTS.items():
        for i, name in enumerate(families):
            splits[(label, name)] = "test" if i % TEST_EVERY == 2 else "train"
    return splits


def build(seed: int = SEED) -> list[dict[str, Any]]:
    """All corpus rows, deterministic for ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    splits = _family_splits()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    posts_by_split: dict[str, list[tuple[str, str]]] = {"train": [], "test": []}

    def add(text: str, label: str, kind: str, style: str, split: str) -> None:
        text = re.sub(r"\s+", " ", text).strip()
        if text and text not in seen:
            seen.add(text)
            rows.append({"text": text, "label": label, "kind": kind, "style": style,
                         "split": split})

    for label, families in F.POSTS.items():
        for name, templates in families.items():
            split = splits[(label, name)]
            mixed = "english" in name
            for template in templates:
                for r in range(RENDERS_PER_TEMPLATE):
                    style = STYLES[(r + len(template)) % len(STYLES)]
                    # English families are mixed already: render them as written
                    if mixed and r % 2 == 0:
                        style = "mixed_english"
                        text = _render(template, label, "formal", rng)
                    else:
                        text = _render(template, label, style, rng)
                    # Likes and reposts carry the engaged post's text unchanged.
                    kind = rng.choices(["post", "repost", "like"], weights=[8, 1, 1])[0]
                    add(text, label, kind, style, split)
                    posts_by_split[split].append((text, label))

    # Composed rows: a head clause and often a tail clause, both of one split.
    for label in K.HEADS:
        for split, n_rows in (("train", COMPOSED_TRAIN), ("test", COMPOSED_TEST)):
            heads = _split_pool(K.HEADS[label], split)
            mentions = _split_pool(K.MENTION_HEADS.get(label, []), split)
            # mention-only rows are about half of the neutral and unrelated ones
            heads = heads + mentions * max(1, len(heads) // len(mentions)) if mentions \
                else heads
            tails = _split_pool(K.TAILS[label], split)
            for _ in range(n_rows):
                head, roll = rng.choice(heads), rng.random()
                if roll < 0.55:
                    template = f"{head}, {rng.choice(tails)}"
                elif roll < 0.7:
                    template = f"{rng.choice(tails)} {head}"
                else:
                    template = head
                style = rng.choice(STYLES)
                text = _render(template[0].upper() + template[1:], label, style, rng)
                kind = rng.choices(["post", "repost", "like"], weights=[8, 1, 1])[0]
                add(text, label, kind, style, split)
                posts_by_split[split].append((text, label))

    # Replies and quotes: own words, [SUBJEK], then the engaged post.
    for split in ("train", "test"):
        agree = F.REPLY_AGREE if split == "train" else F.REPLY_AGREE_TEST
        neutral = F.REPLY_NEUTRAL if split == "train" else F.REPLY_NEUTRAL_TEST
        unrelated = F.REPLY_UNRELATED if split == "train" else F.REPLY_UNRELATED_TEST
        pool = posts_by_split[split]
        n_replies = 560 if split == "train" else 140
        for _ in range(n_replies):
            subject, s_label = rng.choice(pool)
            kind = rng.choice(["reply", "reply", "quote"])
            roll = rng.random()
            if s_label in ("support", "oppose") and roll < 0.45:
                own, label = rng.choice(agree), s_label  # agreeing adopts the post's side
            elif s_label in ("support", "oppose", "neutral") and roll < 0.7:
                own, label = rng.choice(neutral), "neutral"
            elif s_label == "unrelated":
                own, label = rng.choice(unrelated), "unrelated"
            else:
                label = rng.choice(["support", "oppose"])
                own = _fill(rng.choice(F.REPLY_OWN[label]), rng)
            style = "casual" if own[:1].islower() else "formal"
            add(f"{own} [SUBJEK] {subject}", label, kind, style, split)
    return rows


def main() -> None:
    """Write the corpus next to this file and print its size per split and label."""
    rows = build()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["split"], row["label"])
        counts[key] = counts.get(key, 0) + 1
    print(f"{len(rows)} rows -> {OUT}")
    for key in sorted(counts):
        print(*key, counts[key])


if __name__ == "__main__":
    main()
