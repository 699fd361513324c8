"""A synthetic, Indonesian, ASN-shaped workload: items to classify and labelled texts to train on.

Items are composed from fragments: everyday posts of civil servants (office,
service, family, food, weather, sport, religion), neutral election talk (turn out
to vote, neutrality of ASN, debates, logistics) and partisan acts (support or
attack of a candidate by name, alias, hashtag or ballot number; likes and
reposts of a candidate's own account). Candidates come from the fictional
registries of :mod:`classifiers.testing`, so the stage-1 matcher finds them.
The default mix is 95 % unrelated, 3 % neutral election talk, 2 % partisan.

Nothing here depends on the classifiers' seed corpus; :func:`load_corpus` uses
it when it exists and this generator otherwise.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from classifiers.matcher import RegistryMatcher
from classifiers.normalise import normalise
from classifiers.testing import jabar_view
from monitor.model import Account, Item, Kind, Subject

SEED_CORPUS = Path(__file__).resolve().parents[1] / "classifiers" / "data" / "seed_corpus.jsonl"

OPENERS = ["", "", "", "Alhamdulillah,", "Selamat pagi rekan-rekan,", "Bismillah,", "Hari ini",
           "Wah,", "Info:", "Mohon doanya,", "Sore ini", "Barusan", "Semangat pagi!", "Mantap,"]
EVERYDAY = [
    "rapat koordinasi di kantor dinas berjalan lancar",
    "apel pagi bersama seluruh pegawai kecamatan",
    "pelayanan KTP elektronik di kantor kelurahan dibuka sampai jam 3 sore",
    "jalan tol Cipularang macet parah sejak subuh",
    "hujan deras di Bandung, hati-hati di jalan ya",
    "makan siang nasi padang bareng tim keuangan",
    "anak saya juara lomba mewarnai tingkat TK",
    "posyandu di RW 05 ramai sekali pagi ini",
    "pelatihan aplikasi SRIKANDI untuk arsip digital",
    "mudik lebaran tahun ini lewat jalur selatan",
    "kopi tubruk sebelum lembur laporan SPJ",
    "tim futsal dinas kalah tipis 3-2 semalam",
    "pengajian rutin malam Jumat di masjid kantor",
    "vaksinasi booster untuk lansia di puskesmas",
    "laporan kinerja triwulan akhirnya selesai juga",
    "jalan sehat HUT Korpri diikuti ribuan pegawai",
    "antrian nomor 3 di loket BPJS lumayan cepat",
    "harga cabai di pasar naik lagi minggu ini",
    "sosialisasi pencegahan stunting di desa binaan",
    "bimtek penyusunan anggaran di hotel kota",
    "kucing kantor melahirkan empat ekor anak",
    "persib menang lagi, bobotoh bahagia",
    "siapkan payung, musim hujan sudah datang",
    "upacara hari kesaktian Pancasila di halaman balai kota",
    "kerja bakti membersihkan saluran air bersama warga",
]
CLOSERS = ["", "", "", "😊", "🙏", "#ASNBerAKHLAK", "#BanggaMelayani", "semoga berkah", "wkwk",
           "mantap jiwa", "👍", "#Bandung", "tetap semangat", "#KorpriJaya"]
NEUTRAL = [
    "jangan lupa datang ke TPS tanggal 27 November, gunakan hak pilih",
    "ASN wajib netral dalam pilkada, mari jaga bersama",
    "debat cagub semalam cukup seru, semua paslon menyampaikan program",
    "logistik surat suara sudah tiba di gudang KPU kabupaten",
    "sosialisasi netralitas ASN oleh Bawaslu di aula kantor",
    "cek nama kamu di DPT sebelum hari pencoblosan",
    "siapa pun yang terpilih nanti, semoga amanah",
    "quick count biasanya keluar sore setelah TPS tutup",
    "pemilu damai, beda pilihan tetap saudara",
    "jadwal kampanye terbuka diumumkan KPU minggu depan",
]
SUPPORT = [
    "ayo coblos nomor {num}, {name} untuk Jawa Barat yang lebih baik",
    "{name} pilihan kita semua, menang satu putaran! {tag}",
    "sudah mantap dukung {name}, programnya jelas {tag}",
    "tanggal 27 jangan lupa coblos {num} ya, {name} pasti amanah",
    "{tag} {tag} bersama {name} kita bisa",
    "paslon {num} paling layak memimpin, saya dukung {name}",
    "relawan {name} siap memenangkan pilgub, ayo gabung!",
]
OPPOSE = [
    "jangan pilih {name}, janjinya kosong semua",
    "{name} gagal total, jangan sampai terpilih lagi",
    "tolak {name}! rakyat sudah muak dengan pencitraan",
    "asal bukan {name}, coblos yang lain saja",
    "rekam jejak {name} buruk, jangan coblos nomor {num}",
]
AGREE = ["Setuju banget!", "Mantap, lanjutkan!", "Betul sekali 👍", "Ini baru benar", "Sepakat 💯",
         "Nah ini!", "Saya juga begitu"]
HARD_NEGATIVE = [
    "pak Asep di bagian umum ulang tahun hari ini, selamat ya",
    "nomor urut antrean saya 2, lumayan cepat",
    "pan penggorengan di pantry kantor hilang lagi",
    "dukung timnas Indonesia di piala AFF malam ini",
    "pilih menu nomor 3 di warung langganan, enak",
]


@dataclass(frozen=True)
class Labelled:
    """One item with its gold stance (support, oppose, neutral, unrelated)."""

    item: Item
    label: str


@dataclass(frozen=True)
class Example:
    """One labelled model input text (masked, as the stance models see it)."""

    text: str
    label: str
    split: str


class WorkloadGenerator:
    """Composes items from the fragments above, deterministically from ``seed``."""

    def __init__(self, seed: int = 7, *, partisan: float = 0.02, neutral: float = 0.03,
                 accounts: int = 500) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not secrets
        self.partisan = partisan
        self.neutral = neutral
        self.accounts = [
            Account(f"asn{i:06d}", f"ASN {i}", f"19{i:016d}", f"agency-{i % 40}", "32.73",
                    "bluesky", f"asn{i:06d}.bsky.social") for i in range(accounts)]
        self.candidates = [c for reg in jabar_view().registries for c in reg.candidates]
        self._n = 0
        self._t0 = datetime(2029, 10, 1, tzinfo=UTC)

    def _candidate_ref(self) -> tuple[str, str, str, str | None]:
        c = self.rng.choice(self.candidates)
        name = self.rng.choice([*c.people[:1], *c.aliases[:1]])
        tag = self.rng.choice(c.hashtags) if c.hashtags else ""
        account = next(iter(c.accounts.get("bluesky", ())), None)
        return name, str(c.ballot_number), tag, account

    def text(self, label: str) -> str:
        """One text of ``label`` (support, oppose, neutral, unrelated)."""
        r = self.rng
        if label in ("support", "oppose"):
            name, num, tag, _ = self._candidate_ref()
            body = r.choice(SUPPORT if label == "support" else OPPOSE).format(
                name=name, num=num, tag=tag)
            parts = [r.choice(OPENERS), body, r.choice(CLOSERS[:6])]
        elif label == "neutral":
            parts = [r.choice(OPENERS), r.choice(NEUTRAL), r.choice(CLOSERS)]
        else:
            pool = HARD_NEGATIVE if r.random() < 0.05 else EVERYDAY
            parts = [r.choice(OPENERS), r.choice(pool)]
            if r.random() < 0.4:  # longer posts: a second sentence
                parts.append(r.choice(EVERYDAY) + ".")
            parts.append(r.choice(CLOSERS))
        return " ".join(p for p in parts if p).strip()

    def label(self) -> str:
        """A label drawn from the mix (partisan split evenly into support and oppose)."""
        x = self.rng.random()
        if x < self.partisan:
            return "support" if x < self.partisan * 0.6 else "oppose"
        if x < self.partisan + self.neutral:
            return "neutral"
        return "unrelated"

    def item(self) -> Labelled:
        """One item of the workload with its gold label."""
        label = self.label()
        self._n += 1
        account = self.accounts[self.rng.randrange(len(self.accounts))]
        kinds: list[Kind] = ["post", "post", "post", "post", "post", "post", "post", "reply", "quote",
                             "repost", "like"]
        kind = self.rng.choice(kinds)
        created = self._t0 + timedelta(seconds=self._n * 17)
        text = self.text(label)
        subject = None
        own: str | None = text
        if kind != "post":
            author = "someone.bsky.social"
            if label in ("support", "oppose") and kind in ("like", "repost"):
                _, _, _, acc = self._candidate_ref()
                author = acc or author
            subject = Subject(f"s{self._n}", author, text)
            # Liking or sharing a partisan post is the partisan act; replying or quoting
            # is when the actor's own words take it up.
            own = None if kind in ("like", "repost") else (
                self.rng.choice(AGREE) if label in ("support", "oppose") else self.text("unrelated"))
        item = Item("bluesky", f"w{self._n}", kind, account.handle, created, text=own,
                    subject=subject)
        return Labelled(item, label)

    def items(self, n: int) -> list[Labelled]:
        """``n`` items of the workload."""
        return [self.item() for _ in range(n)]

    def examples(self, n: int, split: str, balanced: bool = True) -> list[Example]:
        """``n`` labelled model texts, masked by the stage-1 matcher like the cascade's input."""
        matcher = RegistryMatcher()
        regs = jabar_view().registries
        labels = ["support", "oppose", "neutral", "unrelated"]
        out = []
        for i in range(n):
            label = labels[i % 4] if balanced else self.label()
            item = Item("bluesky", f"e{split}{i}", "post", "x", self._t0, text=self.text(label))
            out.append(Example(matcher.match(item, regs).masked_text, label, split))
        return out


def load_corpus(seed: int = 11, size: int = 1600, path: Path | None = None
                ) -> tuple[list[Example], list[Example], str]:
    """(train, test, name): the classifiers' seed corpus when present, else this generator's."""
    path = path or SEED_CORPUS
    if path.exists():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        ex = [Example(normalise(r["text"]).text, r["label"], r.get("split", "train")) for r in rows]
        train = [e for e in ex if e.split == "train"]
        test = [e for e in ex if e.split == "test"]
        if train and test:
            return train, test, f"seed corpus {path} (test split)"
    gen = WorkloadGenerator(seed)
    return (gen.examples(size, "train"), gen.examples(size // 4, "test"),
            "synthetic (bench generator, held-out split)")


def texts_of(examples: Sequence[Example]) -> list[str]:
    """The texts of ``examples``."""
    return [e.text for e in examples]
