"""Hand-written fragments for the synthetic seed corpus (see make_seed_corpus.py).

Written for asn-monitor; no sentence is copied from any dataset. Slots:
``{C}`` candidate placeholder, ``{P}`` party placeholder, ``{N}`` ballot-number
placeholder, ``{E}`` an election word (pilgub, pilkada, ...), ``{R}`` a region,
``{O}`` an office (gubernur, bupati, ...), ``{D}`` a day or date, ``{T}`` a
neutral election hashtag. Each family is a list of templates; whole families
go to the train or the test split, so test sentences are unseen in training.
"""

from __future__ import annotations

# label -> family name -> templates
POSTS: dict[str, dict[str, list[str]]] = {
    "support": {
        "coblos_call": [
            "Tanggal {D} jangan lupa coblos nomor {N} ya, {C} untuk {R} yang lebih baik",
            "Ayo ke TPS, coblos {N}! {C} pilihan kita semua",
            "Coblos no urut {N}, {C} pasti amanah",
            "Mantap, tinggal coblos {N} aja. Sudah yakin sama {C}",
            "Inget ya gaes, nomor {N} di surat suara. {C} all the way",
            "Satu hati satu pilihan: nomor {N}, {C}!",
        ],
        "praise_leader": [
            "{C} itu pemimpin yang jujur dan merakyat, layak jadi {O}",
            "Belum pernah lihat calon sepeduli {C}. Insyaallah amanah",
            "{C} orangnya santun, kerjanya nyata, cocok pimpin {R}",
            "Rekam jejak {C} jelas bagus, saya percaya beliau",
            "Cuma {C} yang programnya masuk akal buat warga {R}",
            "{C} terbukti bekerja untuk rakyat kecil, bukan janji doang",
        ],
        "win_prediction": [
            "{C} menang satu putaran, yakin!",
            "Survei makin naik, {C} bakal jadi {O} {R} berikutnya",
            "Sudah kelihatan, {E} kali ini milik {C}",
            "Quick count nanti pasti {C} unggul, aamiin",
            "Nomor {N} menang telak, tunggu saja",
        ],
        "party_support": [
            "{P} satu-satunya partai yang konsisten bela rakyat, pilih {P}!",
            "Bangga jadi simpatisan {P}, ayo menangkan {P} di {E}",
            "Suara untuk {P} adalah suara untuk perubahan",
            "Di pileg nanti saya tetap setia sama {P}",
            "{P} solid, {P} menang!",
        ],
        "campaign_event": [
            "Hadir di kampanye akbar {C} hari ini, luar biasa semangatnya! Menang!",
            "Barusan ikut jalan sehat bareng relawan {C}, makin mantap pilih {N}",
            "Deklarasi dukungan untuk {C} di {R}, kami siap memenangkan",
            "Bagi-bagi stiker {C} ke tetangga, biar makin banyak yang kenal nomor {N}",
            "Posko pemenangan {C} di kampung kami resmi dibuka, ayo gabung",
        ],
        "hashtag_support": [
            "{C} {C} {C} lanjutkan!",
            "Pagi-pagi semangat kerja, semangat menangkan {C} {T}",
            "Sudah bulat tekad, pilih {C}",
            "Jangan ragu, {N} paling siap!",
        ],
        "defend_candidate": [
            "Fitnah terus ke {C}, padahal beliau orang baik. Tetap pilih {N}!",
            "Yang nyerang {C} itu iri karena kalah program. Kami tetap dukung",
            "Hoaks soal {C} udah dibantah, jangan goyah, tetap {N}",
            "Mau difitnah kayak apa pun, {C} tetap pilihan hati",
        ],
        "english_mixed": [
            "Honestly {C} is the best choice for {R}, no debate. Vote {N}!",
            "{C} for {O}! Let's go guys, nomor {N} forever",
            "Proud to support {C}, visi misinya paling make sense",
            "My vote goes to {C}, fix no debat",
        ],
        "endorse_program": [
            "Program sekolah gratis {C} keren banget, ini yang kita butuh. Pilih {C}!",
            "Kartu sehat ala {C} bakal bantu banyak warga, makanya saya dukung",
            "Cuma {C} yang berani janji jalan desa mulus dan terbukti dulu menepati. Dukung!",
            "Visi ekonomi {C} paling masuk akal, {R} butuh pemimpin begini",
        ],
        "personal_choice": [
            "Sekeluarga sudah sepakat pilih {C} di {E} nanti",
            "Pilihan saya sudah jelas: {C}. Yang lain lewat",
            "Bapak ibu saya juga pilih nomor {N}, kompak sekeluarga",
            "Insyaallah tanggal {D} nyoblos {C}, bismillah",
        ],
        "invitation": [
            "Yuk teman-teman ajak keluarga pilih {C}, demi {R} maju",
            "Mari rapatkan barisan, menangkan {C} di {E}!",
            "Ajak tetangga dan saudara, semua pilih nomor {N}",
            "Relawan {C} mana suaranya? Gas terus sampai hari H!",
        ],
        "emoji_support": [
            "{C} 💪🔥 nomor {N} jaya!",
            "❤️❤️ {C} ❤️❤️",
            "Menang menang menang {C} 🙌 {N} 🔥",
            "{C} {N} 👍👍👍 sudah pasti",
        ],
    },
    "oppose": {
        "dont_vote": [
            "Jangan pilih {C}, rekam jejaknya buruk",
            "Apa pun yang terjadi jangan coblos nomor {N}",
            "Ingat dosa masa lalu {C}, jangan sampai terpilih lagi",
            "Kalau masih waras jangan pilih {C} di {E} nanti",
            "Tolak {C}! {R} tidak butuh pemimpin seperti itu",
        ],
        "broken_promises": [
            "{C} janji manis doang, dulu menjabat juga gagal total",
            "Janji {C} lima tahun lalu mana? Nol besar",
            "Pencitraan terus, kerja nol. Itulah {C}",
            "{C} cuma jago ngomong, giliran kerja hilang entah ke mana",
            "Program {C} itu omong kosong, nggak ada yang jalan",
        ],
        "corruption": [
            "Partai {P} sarang koruptor, jangan kasih suara",
            "{P} sudah terlalu banyak kadernya ditangkap KPK, malu",
            "Dana kampanye {C} dari mana coba? Mencurigakan",
            "{C} dikelilingi mafia proyek, bahaya kalau menang",
        ],
        "sarcasm": [
            "Hebat ya {C}, banjir di mana-mana tapi baliho paling besar",
            "Wah {C} tiba-tiba rajin blusukan, pas musim {E} doang",
            "Luar biasa {P}, tiap pemilu janji baru, janji lama lupa",
            "Selamat {C}, berhasil bikin rakyat kecewa dua periode",
        ],
        "anti_party": [
            "{P} cuma mikirin kursi, bukan rakyat",
            "Kecewa berat sama {P}, kali ini nggak akan saya pilih",
            "Partai {P} pecah belah umat, jangan dipilih",
            "{P} lagi, {P} lagi, bosen sama janji palsu mereka",
        ],
        "attack_character": [
            "{C} itu arogan, nggak layak jadi {O}",
            "Calon kayak {C} cuma boneka oligarki",
            "{C} nggak ngerti masalah {R}, tinggal di Jakarta terus",
            "Debat kemarin membuktikan {C} tidak paham apa-apa",
        ],
        "asal_bukan": [
            "Asal bukan {C}, siapa pun boleh",
            "Pokoknya jangan {N}, titik",
            "Siapa saja asal jangan {P}",
            "ABC: asal bukan calon nomor {N}",
        ],
        "english_mixed_oppose": [
            "{C} is a total disaster, please don't vote for them",
            "Seriously, {C} for {O}? No way, red flag banget",
            "{P} is so corrupt, boycott {P} di {E}",
            "Big no to {C}, trust issue parah",
        ],
        "emoji_oppose": [
            "{C} 🤮🤮 jangan dipilih",
            "Nomor {N}? 👎👎 no thanks",
            "{C} pembohong 😡 jangan percaya",
            "{P} 🙄 janji lagi janji lagi",
        ],
        "warn_others": [
            "Hati-hati, {C} suka bagi-bagi amplop. Jangan mau dibeli",
            "Waspada politik uang dari tim {C}, tolak dan jangan pilih",
            "Kampanye hitam dari kubu {C} makin parah, jangan kasih kesempatan",
            "Kalau {C} menang, siap-siap {R} mundur sepuluh tahun",
        ],
        "failure_record": [
            "Selama {C} menjabat jalan rusak, harga naik, pengangguran naik",
            "Data jelas: era {C} investasi turun. Ganti!",
            "{C} gagal urus banjir dan macet, masih mau dipilih lagi?",
            "Sudah cukup {C}, rakyat {R} butuh pemimpin baru",
        ],
    },
    "neutral": {
        "asn_neutrality": [
            "ASN wajib menjaga netralitas selama tahapan {E}",
            "Pengingat untuk rekan-rekan ASN: dilarang like, komen, atau share konten kampanye",
            "Netralitas ASN adalah wujud profesionalisme, mari dijaga bersama",
            "Sesuai SKB bersama, ASN tidak boleh memberi dukungan kepada calon di media sosial",
            "ASN punya hak pilih, tapi di ruang publik harus tetap netral",
            "Sosialisasi netralitas ASN hari ini di aula kantor {O} {R}",
        ],
        "bawaslu_news": [
            "Bawaslu {R} menerima laporan dugaan pelanggaran netralitas ASN pada {E}",
            "Bawaslu mengajak masyarakat melaporkan politik uang menjelang hari pemungutan suara",
            "Rakor Bawaslu dan kepala daerah se-{R} bahas pengawasan {E}",
            "Bawaslu mencatat ratusan laporan pelanggaran kampanye selama masa tenang",
            "Pakta integritas netralitas ASN ditandatangani para kepala daerah di {R}",
        ],
        "kpu_schedule": [
            "KPU {R} menetapkan DPT {E} sebanyak 3,2 juta pemilih",
            "Cek nama kamu di DPT lewat situs resmi KPU sebelum tanggal {D}",
            "Pemungutan suara {E} dilaksanakan {D}, TPS buka pukul 07.00",
            "KPU membuka rekrutmen KPPS untuk {E} di {R}",
            "Masa kampanye {E} berakhir tiga hari sebelum pemungutan suara",
            "Logistik surat suara {E} mulai didistribusikan ke kecamatan",
        ],
        "debate_schedule": [
            "Debat kedua {E} {R} digelar {D} malam, disiarkan langsung televisi nasional",
            "Jadwal debat publik calon {O} {R}: tiga kali, tema ekonomi, pendidikan, dan kesehatan",
            "KPU umumkan panelis debat {E} dari kalangan akademisi",
            "Nonton debat {E} malam ini yuk, biar tahu visi misi semua calon",
        ],
        "ballot_info_with_target": [
            "KPU menetapkan nomor urut pasangan calon: {C} mendapat nomor urut {N}",
            "Hasil pengundian nomor urut {E} {R}: {C} nomor {N}",
            "{C} resmi mendaftar ke KPU {R} sebagai calon {O}",
            "{C} dan {C} sama-sama hadir dalam debat pertama {E}",
            "{P} resmi mendaftarkan bakal calon legislatif ke KPU",
            "Tiga pasangan calon termasuk {C} lolos verifikasi KPU",
        ],
        "news_about_candidate": [
            "{C} menyampaikan visi misi di hadapan mahasiswa, Selasa {D}",
            "Tim kampanye {C} melaporkan dana kampanye ke KPU",
            "{C} cuti dari jabatan selama masa kampanye sesuai aturan",
            "Koalisi {P} dan {P} mengusung {C} pada {E} {R}",
            "Elektabilitas {C} menurut survei terbaru berada di angka 31 persen",
        ],
        "voter_info": [
            "Jangan lupa bawa KTP dan undangan C6 ke TPS ya",
            "Pindah memilih? Urus formulir A5 paling lambat {D}",
            "TPS 12 pindah lokasi ke balai desa, cek undangannya",
            "Gunakan hak pilih, satu suara menentukan masa depan {R}",
            "Pemilih disabilitas bisa didampingi saat mencoblos di TPS",
        ],
        "civic_calls": [
            "Siapa pun pilihannya, mari jaga {E} damai dan sejuk",
            "Beda pilihan boleh, jangan sampai putus silaturahmi",
            "Tolak politik uang, tolak hoaks, tolak politisasi SARA",
            "Pilih sesuai hati nurani, jangan karena amplop",
            "Jangan golput, datang ke TPS dan gunakan hak pilihmu",
        ],
        "asn_reminder_about_candidates": [
            "Rekan ASN, jangan ikut foto pose jari bareng {C} ya, itu melanggar",
            "Ada ASN yang kedapatan hadir di kampanye {C}, Bawaslu sedang memeriksa",
            "ASN dilarang memasang spanduk {P} di rumahnya, ingat aturannya",
            "Dilarang bagi ASN menyukai unggahan akun kampanye {C} maupun lawannya",
        ],
        "analysis": [
            "Menarik melihat peta koalisi {E} tahun ini, persaingan ketat",
            "Pengamat menilai partisipasi pemilih muda akan menentukan {E} {R}",
            "Isu yang paling dicari warga {R} jelang {E}: lapangan kerja dan harga pangan",
            "Sengketa hasil {E} akan diputus Mahkamah Konstitusi",
            "Angka partisipasi pemilih pada {E} lalu mencapai 78 persen",
        ],
        "question": [
            "TPS saya di mana ya? Belum dapat undangan nih",
            "Ada yang tahu debat {E} jam berapa malam ini?",
            "Kalau KTP baru pindah, masih bisa nyoblos di {R} nggak?",
            "Hitung cepat kapan diumumkan ya gaes?",
            "Form C hasil bisa dilihat di mana?",
        ],
        "english_mixed_neutral": [
            "Reminder: debate {E} tonight, stay informed and vote wisely",
            "Please check DPT online guys, jangan sampai gak bisa vote",
            "ASN must stay neutral, no like no share campaign content",
            "Whoever you vote for, keep it peaceful ya {T}",
        ],
        "hashtag_neutral": [
            "Ayo datang ke TPS {T}",
            "Pemilih cerdas, pilih dengan hati {T}",
            "Jaga netralitas, jaga demokrasi {T}",
            "Satu suara untuk {R} {T}",
        ],
    },
    "unrelated": {
        "queue_numbers": [
            "Antrian nomor 3 di puskesmas lama banget, udah dua jam",
            "Dapat nomor antrean 27 di kantor samsat, sabar sabar",
            "Loket nomor 2 tutup, semua pindah ke loket nomor 4",
            "Nomor antrian BPJS hari ini 112, nunggu sampai siang",
            "Ambil nomor urut antre dulu di bank baru dilayani",
        ],
        "shopping_numbers": [
            "Pilih 3 menu paket hemat, total cuma 50 ribu",
            "Paket nomor 2 paling laris di warung ini",
            "Beli sepatu nomor 42 ternyata kekecilan",
            "Promo beli 2 gratis 1, pilih sesukamu",
            "Partai besar lebih murah, grosir baju anak di pasar",
            "Coblos telur bebek buat asin, resep nenek",
        ],
        "peace_sign_photos": [
            "Reuni SMA angkatan 2005 seru banget ✌️😁",
            "Foto bareng keluarga di Pangandaran ✌️✌️",
            "Wisuda adik hari ini, pose andalan ✌️",
            "Selfie dulu sebelum rapat ☝️😄",
            "Liburan ke Bromo bareng teman kantor 🤟🔥",
        ],
        "tv_shows": [
            "Nostalgia nonton Bujang Kota lagi, {C} masih muda banget di situ",
            "Sinetron lama yang dibintangi {C} tayang ulang, lucu juga ternyata",
            "Film {C} tahun 2008 itu soundtrack-nya masih enak",
            "Episode 12 sinetron itu bikin nangis, aktingnya dapet",
            "Drakor episode terakhir bikin gagal move on",
            "Nonton ulang serial komedi jadul sama anak-anak, ketawa terus",
        ],
        "sports": [
            "Timnas menang 2-0, nomor punggung 10 main gila",
            "Juara 1 lomba lari 17 Agustus di kampung, alhamdulillah",
            "Dukung timnas U-23 malam ini, garuda di dadaku",
            "Persib menang lagi, bobotoh bahagia",
            "Skor 3-1, pemain nomor 7 cetak dua gol",
        ],
        "work_office": [
            "Rapat koordinasi anggaran sampai sore, capek tapi lancar",
            "Selamat ulang tahun Pak Asep, rekan kerja terbaik di bagian umum",
            "Apel pagi hari Senin, semangat melayani masyarakat",
            "Laporan SPJ akhirnya beres, bisa pulang tepat waktu",
            "Pelayanan KTP elektronik di kecamatan buka sampai jam 3",
            "Bimtek pengelolaan arsip hari kedua, materinya bagus",
        ],
        "food_reviews": [
            "Baksonya enak banget, kuahnya gurih, recommended!",
            "Kopi susu di sini mantap, tempatnya juga nyaman",
            "Kecewa sama pelayanan restoran ini, makanan datang lama dan dingin",
            "Seblak level 5 bikin nangis tapi nagih",
            "Nasi padang langganan naik harga, tapi tetap juara rasanya",
        ],
        "daily_life": [
            "Hujan deras dari pagi, jalan depan rumah banjir lagi",
            "Macet parah di tol Cikampek, sudah tiga jam belum gerak",
            "Anak pertama masuk SD hari ini, terharu",
            "Listrik padam dari subuh, semoga cepat nyala",
            "Alhamdulillah panen padi tahun ini bagus",
            "Motor mogok di tengah jalan, untung ada bengkel dekat",
        ],
        "religious_greetings": [
            "Selamat hari raya Idul Fitri, mohon maaf lahir dan batin",
            "Jumat berkah, jangan lupa sedekah",
            "Selamat Natal bagi yang merayakan, damai di bumi",
            "Selamat menunaikan ibadah puasa, semoga berkah",
        ],
        "calon_other_meaning": [
            "Calon pengantin wajib ikut bimbingan perkawinan di KUA",
            "Selamat buat calon mahasiswa baru yang lolos SNBT",
            "Calon ibu harus rutin periksa kehamilan ke posyandu",
            "Pendaftaran calon siswa baru dibuka bulan depan",
        ],
        "campaign_other_meaning": [
            "Kampanye anti narkoba di sekolah hari ini diikuti ratusan siswa",
            "Kampanye diet kantong plastik di pasar tradisional mulai jalan",
            "Debat bahasa Inggris antar SMA, tim kami juara 2",
            "Lomba paduan suara kantor, suara tim kami paling kompak",
            "Pemilihan ketua RT berjalan santai, pakai musyawarah",
        ],
        "incumbent_official_work": [
            "{C} selaku bupati meresmikan jembatan desa bersama warga",
            "Rapat kerja dengan dinas kesehatan dipimpin {C} pagi tadi",
            "Foto lama {C} waktu masih jadi pemain sinetron, beda banget",
            "Lagu yang dinyanyikan {C} di acara ulang tahun kota lumayan juga",
        ],
        "complaints_public_service": [
            "Jalan berlubang di depan pasar belum juga diperbaiki, bahaya",
            "Pelayanan rumah sakit umum lambat, pasien menunggu lama",
            "Air PDAM mati tiga hari, warga terpaksa beli air galon",
            "Harga cabai naik lagi, ibu-ibu menjerit",
            "Sampah menumpuk di pinggir sungai, baunya menyengat",
        ],
        "english_mixed_unrelated": [
            "Weekend vibes, ngopi dulu biar produktif",
            "So proud of my team, project selesai on time",
            "Traffic today is crazy banget, late to office",
            "Best seblak in town, highly recommended",
        ],
        "numbers_misc": [
            "Kamar nomor 2 di lantai 3 ya, jangan salah",
            "Nonton bola jam 02 pagi, besok ngantuk di kantor",
            "Bus nomor 5 jurusan terminal sudah lewat",
            "Rumah nomor 17 gang mawar cat ulang hari ini",
            "Pilih nomor 1 atau 2 untuk jawaban kuis, hadiahnya pulsa",
        ],
    },
}

# Replies: the actor's own words; the engaged post comes from POSTS.
REPLY_AGREE: list[str] = [
    "Betul, saya dukung", "Mantul, lanjut terus", "Setuju pak, gas", "Iya bener banget",
    "Sepakat 1000%", "Yes, this!", "Amin, semoga terwujud", "Pokoknya ikut ini",
    "Sama, saya juga pilih ini", "Nah gitu dong", "Setuju, ayo sebarkan", "Mantap, dukung!",
    "Setuju banget!", "Betul sekali", "Mantap, sepakat", "100% setuju", "Aamiin, semoga",
    "Ini dia, lanjutkan", "Sepakat bro", "Bener ini", "Nah ini", "Saya juga sama",
]
REPLY_AGREE_TEST: list[str] = ["Sangat setuju", "Setuju, mari bersama", "Bener, gaskeun",
                               "Sependapat, sudah seharusnya", "Yes, agree", "Persis!"]
REPLY_NEUTRAL: list[str] = [
    "Pak, hati-hati, ASN dilarang komentar dukungan", "Link resminya mana ya?",
    "Mohon tidak menyebar konten kampanye di grup kantor", "Ini beritanya valid?",
    "Kapan pengundian nomor urutnya?", "Cek dulu di situs KPU ya", "TPS-nya di mana?",
    "Yuk lapor kalau ada pelanggaran", "Kami ASN netral saja ya", "Tunggu hasil resmi saja",
    "Jam berapa acaranya?", "Izin share infonya untuk sosialisasi netralitas",
    "Mari saling menghormati pilihan", "Ada jadwal debat berikutnya?",
    "Ingat ASN harus netral ya pak", "Mohon maaf, ASN sebaiknya tidak ikut komentar soal ini",
    "Sumbernya dari mana ya?", "Sudah dilaporkan ke Bawaslu belum?",
    "Debatnya jam berapa ya?", "Jangan lupa cek DPT masing-masing",
]
REPLY_NEUTRAL_TEST: list[str] = ["Semoga pemilunya damai", "Sudah dicek ke Bawaslu?",
                                 "Lokasi TPS 5 pindah ya?",
                                 "Tolong jaga netralitas di medsos ya rekan-rekan",
                                 "Info jadwalnya dong"]
REPLY_UNRELATED: list[str] = [
    "Hahaha bisa aja", "Cakep", "Mantap resepnya", "Titip salam buat keluarga",
    "Kirim lokasinya dong", "Selamat ya!", "Hati-hati di jalan", "Aamiin, lekas sembuh",
    "Wah, enak tuh", "Ikutan dong", "Sabar ya", "Lucu banget kucingnya",
    "Wkwk lucu", "Lokasinya di mana kak?", "Kapan-kapan ajak aku", "Keren fotonya",
    "Semoga cepat sembuh", "Harganya berapa?",
]
REPLY_UNRELATED_TEST: list[str] = ["Keren, semangat terus", "Wah seru", "Boleh minta resepnya?",
                                   "Mampir dong kapan-kapan", "Enak kayaknya"]
# Replies that take their own side whatever the engaged post said.
REPLY_OWN: dict[str, list[str]] = {
    "support": ["Tetap {C} pilihan saya", "Pokoknya nomor {N}!", "{C} paling layak, titik"],
    "oppose": ["Jangan percaya, {C} cuma pencitraan", "Hoaks, jangan pilih {C}",
               "Asal bukan {N}"],
}

ELECTIONS = ["pilkada", "pilgub", "pilbup", "pilwalkot", "pilpres", "pileg", "pemilu"]
REGIONS = [
    "Jabar", "Jawa Tengah", "Jatim", "Sumut", "Sulsel", "Kaltim", "Bali", "NTB", "Papua",
    "Aceh", "Riau", "Bandung", "Bekasi", "Surabaya", "Makassar", "Medan", "Kabupaten Bogor",
    "Kota Malang", "Kupang", "Pontianak", "Palembang", "Banjarmasin", "Manado", "Ambon",
]
OFFICES = ["gubernur", "bupati", "wali kota", "presiden", "wakil rakyat"]
DAYS = ["27 November", "14 Februari", "Rabu", "9 Desember", "hari H", "17 April", "besok"]
NEUTRAL_TAGS = ["#PemiluDamai", "#AyoMemilih", "#TolakPolitikUang", "#PilkadaSejuk",
                "#ASNNetral", "#KawalPemilu", "#PemilihBerdaulat"]
