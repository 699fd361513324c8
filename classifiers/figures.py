"""Well-known Indonesian political figures and parties, as a registry for masking real text.

Real political text (SmSA comments, NERP news sentences) names politicians who
stood in past elections. To train on it, each named figure must be masked
exactly as the registry matcher masks a candidate at prediction time, so this
module holds them as one national pseudo-election. It is training data only:
deployments use their own election registries.
"""

from __future__ import annotations

from datetime import date

from monitor.model import Candidate, Election, Party, Registry

# (people, aliases): full names and the short names, nicknames and hashtag
# spellings people write. First names alone stay out ("agus", "budi").
FIGURES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("Joko Widodo",), ("Jokowi", "Pak Jokowi", "Pakde Jokowi", "JKW", "Jkw")),
    (("Prabowo Subianto",), ("Prabowo", "Pak Prabowo", "Bowo")),
    (("Anies Baswedan", "Anies Rasyid Baswedan"), ("Anies", "aniesbaswedan", "Abah Anies")),
    (("Sandiaga Salahuddin Uno", "Sandiaga Uno"), ("Sandiaga", "Sandi", "sandiuno", "Bang Sandi")),
    (("Basuki Tjahaja Purnama",), ("Ahok", "BTP", "Koh Ahok", "basukibtp")),
    (("Djarot Saiful Hidayat", "Djarot Syaiful Hidayat"), ("Djarot", "Jarot")),
    (("Agus Harimurti Yudhoyono", "Agus Yudhoyono"), ("AHY", "Mas Agus", "agusyudhoyono")),
    (("Sylviana Murni",), ("Sylvi", "Silvi", "Mpok Sylvi")),
    (("Susilo Bambang Yudhoyono",), ("SBY", "Pak SBY")),
    (("Ma'ruf Amin", "Maruf Amin"), ("Kiai Ma'ruf", "Kyai Maruf", "KH Maruf Amin")),
    (("Ridwan Kamil",), ("Kang Emil", "ridwankamil")),
    (("Ganjar Pranowo",), ("Ganjar",)),
    (("Megawati Soekarnoputri", "Megawati Sukarnoputri"), ("Megawati", "Bu Mega")),
    (("Puan Maharani",), ("Puan",)),
    (("Jusuf Kalla",), ("JK", "Pak JK")),
    (("Hatta Rajasa",), ()),
    (("Khofifah Indar Parawansa",), ("Khofifah",)),
    (("Saifullah Yusuf",), ("Gus Ipul",)),
    (("Tri Rismaharini",), ("Risma", "Bu Risma")),
    (("Amien Rais",), ("Amien",)),
    (("Fadli Zon",), ()),
    (("Fahri Hamzah",), ()),
    (("Setya Novanto",), ("Setnov",)),
    (("Gibran Rakabuming Raka", "Gibran Rakabuming"), ("Gibran",)),
    (("Mahfud MD",), ("Mahfud", "Prof Mahfud")),
    (("Muhaimin Iskandar",), ("Cak Imin", "Gus Muhaimin")),
    (("Yusril Ihza Mahendra",), ("Yusril",)),
    (("Hary Tanoesoedibjo",), ("Hary Tanoe",)),
    (("Surya Paloh",), ()),
    (("Luhut Binsar Pandjaitan",), ("Luhut",)),
    (("Deddy Mizwar",), ("Demiz",)),
    (("Sudirman Said",), ()),
    (("Edy Rahmayadi",), ()),
)

PARTIES: tuple[tuple[str, ...], ...] = (
    ("Partai Demokrasi Indonesia Perjuangan", "PDI Perjuangan", "PDIP", "PDI-P"),
    ("Partai Gerakan Indonesia Raya", "Gerindra"),
    ("Partai Demokrat", "Demokrat"),
    ("Partai Golongan Karya", "Golkar", "partai beringin"),
    ("Partai Keadilan Sejahtera", "PKS"),
    ("Partai Kebangkitan Bangsa", "PKB"),
    ("Partai Amanat Nasional", "PAN"),
    ("Partai NasDem", "NasDem", "Nasdem"),
    ("Partai Persatuan Pembangunan", "PPP"),
    ("Partai Hati Nurani Rakyat", "Hanura"),
    ("Partai Persatuan Indonesia", "Perindo"),
    ("Partai Solidaritas Indonesia", "PSI"),
    ("Partai Berkarya", "Berkarya"),
)


def figures_registry() -> Registry:
    """The figures and parties above as one national pseudo-election (for masking only)."""
    election = Election("figures", "Political figures (training data)", "national", None,
                        date(2019, 4, 17), date(2018, 9, 23), date(2019, 4, 13))
    cands = tuple(Candidate(f"fig-{i + 1}", 100 + i, people, aliases)
                  for i, (people, aliases) in enumerate(FIGURES))
    parties = tuple(Party(f"party-{i + 1}", names) for i, names in enumerate(PARTIES))
    return Registry(election, cands, parties, source="classifiers/figures.py")
