"""The evidence card's words in Indonesian and English (registered with ``monitor.i18n``)."""

from __future__ import annotations

from monitor import i18n

i18n.register({
    "id": {
        "card.title": "Kartu bukti dugaan pelanggaran netralitas ASN",
        "card.flag": "Temuan", "card.account": "ASN", "card.name": "Nama", "card.nip": "NIP",
        "card.agency": "Instansi", "card.region": "Wilayah", "card.handle": "Akun",
        "card.platform": "Platform", "card.time": "Waktu", "card.link": "Tautan",
        "card.kind": "Jenis tindakan", "card.skb": "Kategori SKB 2022", "card.stance": "Sikap",
        "card.targets": "Sasaran", "card.score": "Skor", "card.post": "Isi unggahan",
        "card.subject": "Unggahan yang ditanggapi", "card.images": "Gambar",
        "card.classifier": "Penjelasan pengklasifikasi", "card.hashes": "Sidik bukti (SHA-256)",
        "card.raw": "Respons mentah", "card.evidence": "Catatan bukti",
        "card.fetched": "Diambil", "card.source": "Sumber", "card.generated": "Kartu dibuat",
        "card.status": "Status tinjauan", "card.no_text": "(tanpa teks)",
        "card.image_failed": "gagal diunduh",
        "card.note": "Temuan otomatis: belum menjadi putusan sampai diperiksa peninjau manusia.",
        "card.archive": "Arsip halaman yang dilaporkan", "card.final_url": "URL akhir",
        "card.http": "Status HTTP", "card.redirects": "Pengalihan",
        "card.tls": "Sertifikat TLS (SHA-256)",
        "card.snapshot": "Snapshot MHTML", "card.screenshot": "Tangkapan layar", "card.origin": "Asal",
        "card.origin_report": "Laporan (bukan hasil pemantauan otomatis)",
        "card.ocr": "Teks dari gambar (OCR)",
        "card.withdrawn": "Ditarik", "card.withdrawn_at": "ditarik pada {time}",
    },
    "en": {
        "card.title": "Evidence card: suspected breach of ASN neutrality",
        "card.flag": "Flag", "card.account": "Civil servant", "card.name": "Name", "card.nip": "NIP",
        "card.agency": "Agency", "card.region": "Region", "card.handle": "Account",
        "card.platform": "Platform", "card.time": "Time", "card.link": "Link",
        "card.kind": "Kind of act", "card.skb": "SKB 2022 category", "card.stance": "Stance",
        "card.targets": "Targets", "card.score": "Score", "card.post": "Post text",
        "card.subject": "Post engaged with", "card.images": "Images",
        "card.classifier": "Classifier explanation", "card.hashes": "Evidence hashes (SHA-256)",
        "card.raw": "Raw response", "card.evidence": "Evidence record",
        "card.fetched": "Fetched", "card.source": "Source", "card.generated": "Card generated",
        "card.status": "Review status", "card.no_text": "(no text)",
        "card.image_failed": "download failed",
        "card.note": "Automatic flag: not a finding until a human reviewer has checked it.",
        "card.archive": "Archive of the reported page", "card.final_url": "Final URL",
        "card.http": "HTTP status", "card.redirects": "Redirects",
        "card.tls": "TLS certificate (SHA-256)",
        "card.snapshot": "MHTML snapshot", "card.screenshot": "Screenshot", "card.origin": "Origin",
        "card.origin_report": "Report (not found by automatic monitoring)",
        "card.ocr": "Text from images (OCR)",
        "card.withdrawn": "Withdrawn", "card.withdrawn_at": "withdrawn at {time}",
    },
})
