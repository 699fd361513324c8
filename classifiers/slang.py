"""A small Indonesian social-media slang table, written for asn-monitor.

It maps informal spellings ("alay", abbreviations, chat shorthand) to standard
Indonesian. It is deliberately small and hand-written: the larger community
dictionary ``new_kamusalay.csv`` in ``../shared/data/id-hatespeech-abusive/`` is
CC BY-NC-SA, so the project must not copy it. :func:`load_kamusalay` reads it
from ``../shared`` at evaluation time only, for experiments.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

# Keys are lower-case tokens as written; values may be several words.
SLANG: Mapping[str, str] = {
    # pronouns and people
    "gw": "saya", "gue": "saya", "gua": "saya", "aku": "saya", "ane": "saya", "sy": "saya",
    "lo": "kamu", "lu": "kamu", "loe": "kamu", "km": "kamu", "kmu": "kamu", "elu": "kamu",
    "bro": "saudara", "sis": "saudari", "kk": "kakak", "kak": "kakak", "bpk": "bapak",
    "pak": "bapak", "bu": "ibu", "org": "orang", "org2": "orang-orang", "tmn": "teman",
    "temen": "teman", "sodara": "saudara", "warga62": "warga indonesia",
    # function words
    "yg": "yang", "yng": "yang", "dgn": "dengan", "dg": "dengan", "dr": "dari", "dri": "dari",
    "utk": "untuk", "untk": "untuk", "kpd": "kepada", "pd": "pada",
    "sm": "sama", "ama": "sama", "krn": "karena", "karna": "karena",
    "krna": "karena", "soalnya": "karena", "tp": "tapi", "tpi": "tapi", "tapii": "tapi",
    "jg": "juga", "jga": "juga", "aja": "saja", "aj": "saja", "ajah": "saja", "sj": "saja",
    "dlm": "dalam", "dl": "dulu", "dlu": "dulu", "ato": "atau", "atw": "atau", "klo": "kalau",
    "kalo": "kalau", "klw": "kalau", "kl": "kalau", "kalu": "kalau", "sbg": "sebagai",
    "spt": "seperti", "kyk": "seperti", "kayak": "seperti", "kek": "seperti",
    "sbb": "sebagai berikut", "dll": "dan lain-lain", "dsb": "dan sebagainya",
    "tsb": "tersebut", "ttg": "tentang", "hrs": "harus", "msh": "masih", "masi": "masih",
    "udh": "sudah", "udah": "sudah", "dah": "sudah", "sdh": "sudah", "udahan": "sudah",
    "blm": "belum", "belom": "belum", "lg": "lagi", "lgi": "lagi", "bs": "bisa", "bsa": "bisa",
    "bgt": "banget", "bngt": "banget", "bgd": "banget", "bener": "benar", "bnr": "benar",
    "emg": "memang", "emang": "memang", "mmg": "memang", "sgt": "sangat", "skrg": "sekarang",
    "skrng": "sekarang", "skg": "sekarang", "kpn": "kapan", "gmn": "bagaimana",
    "gimana": "bagaimana", "gmna": "bagaimana", "knp": "kenapa", "np": "kenapa",
    "napa": "kenapa", "ap": "apa", "apaan": "apa", "aq": "saya", "dmn": "di mana",
    "dimana": "di mana", "sampe": "sampai", "smpe": "sampai", "ampe": "sampai",
    "trs": "terus", "trus": "terus", "tros": "terus", "abis": "habis", "bnyk": "banyak",
    "byk": "banyak", "sedikit2": "sedikit-sedikit", "tau": "tahu", "tw": "tahu", "tahu2": "tahu",
    "td": "tadi", "tdi": "tadi", "bsk": "besok", "besoq": "besok", "kmrn": "kemarin",
    "kemaren": "kemarin", "tgl": "tanggal", "jam2": "jam-jam", "mlm": "malam", "pgi": "pagi",
    "sore2": "sore", "thn": "tahun", "th": "tahun", "bln": "bulan", "hr": "hari", "mgg": "minggu",
    # negation and agreement
    "gak": "tidak", "ga": "tidak", "gk": "tidak", "nggak": "tidak", "ngga": "tidak",
    "enggak": "tidak", "engga": "tidak", "ndak": "tidak", "tdk": "tidak", "tak": "tidak",
    "kagak": "tidak", "kaga": "tidak", "g": "tidak", "gaada": "tidak ada", "gada": "tidak ada",
    "jgn": "jangan", "jngn": "jangan", "jan": "jangan", "ok": "oke", "okee": "oke", "okey": "oke",
    "sip": "oke", "y": "ya", "iy": "iya", "iyaa": "iya", "yoi": "iya", "yups": "iya",
    "mantul": "mantap betul", "mantab": "mantap", "mantep": "mantap", "mntp": "mantap",
    "gaskeun": "ayo", "gaskan": "ayo", "yuk": "ayo",
    "yok": "ayo", "hayuk": "ayo", "ayok": "ayo", "cuy": "kawan", "bestie": "sahabat",
    # verbs
    "bikin": "membuat", "bkn": "bukan", "bukn": "bukan", "liat": "lihat", "lht": "lihat",
    "ngeliat": "melihat", "nonton": "menonton", "ntn": "menonton", "nyoblos": "mencoblos",
    "nyalon": "mencalonkan diri", "milih": "memilih", "dukung2": "mendukung",
    "ngasih": "memberi", "kasi": "beri", "pengen": "ingin", "pgn": "ingin", "pingin": "ingin",
    "mo": "mau", "mw": "mau", "mao": "mau", "bakal": "akan", "bakalan": "akan", "ntar": "nanti",
    "nnti": "nanti", "ntr": "nanti", "dapet": "dapat", "dpt2": "dapat", "ngomong": "berbicara",
    "ngomongin": "membicarakan", "bilang": "berkata", "ngerti": "mengerti", "nyesel": "menyesal",
    "ketemu": "bertemu", "ketemuan": "bertemu", "cape": "capek", "ngantri": "mengantre",
    "antri": "antre", "antrian": "antrean", "kerja2": "kerja", "ngopi": "minum kopi",
    # evaluation words
    "keren2": "keren", "bagus2": "bagus", "jelek2": "jelek", "parah2": "parah",
    "gblk": "goblok", "bego": "bodoh", "bloon": "bodoh", "gila2": "gila", "anjir": "astaga",
    "anjay": "astaga", "wkwk": "tertawa", "wkwkwk": "tertawa", "haha": "tertawa",
    "hahaha": "tertawa", "hehe": "tertawa", "xixi": "tertawa", "lol": "tertawa",
    "btw": "ngomong-ngomong", "otw": "dalam perjalanan", "gpp": "tidak apa-apa",
    "gapapa": "tidak apa-apa", "makasih": "terima kasih", "mksh": "terima kasih",
    "thx": "terima kasih", "tq": "terima kasih", "plis": "tolong", "pls": "tolong",
    "hoax": "hoaks", "hoaxx": "hoaks",
    # election shorthand worth standardising (the matcher knows these too)
    "nomer": "nomor", "nmr": "nomor", "nmor": "nomor", "nyapres": "mencapres",
    "capres2": "capres", "pemilu2024": "pemilu 2024", "pilkada2024": "pilkada 2024",
}

# Words whose doubled letters are standard, so squeezing repeats must keep two.
DOUBLE_LETTER_WORDS: frozenset[str] = frozenset(
    {
        "maaf", "saat", "taat", "manfaat", "saatnya", "jumaat", "allah", "riil", "good",
        "cool", "free", "see", "book", "google", "kooperatif", "koordinasi", "muttaqin",
        "kpps", "ppk", "pps", "dprd", "mukaddimah", "assalamualaikum",
    }
)


def load_kamusalay(shared_data: Path) -> dict[str, str]:
    """Read ``new_kamusalay.csv`` from ``../shared/data`` for evaluation experiments.

    The file is CC BY-NC-SA: it is read at evaluation time from the shared folder
    and never copied into the project or used to train a shipped model. Returns
    an empty mapping when the file is absent.
    """
    path = shared_data / "id-hatespeech-abusive" / "new_kamusalay.csv"
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    with path.open(encoding="latin-1", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) >= 2 and row[0].strip():
                out[row[0].strip().lower()] = row[1].strip().lower()
    return out
