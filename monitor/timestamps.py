"""RFC 3161 trusted timestamps: ask a time-stamping authority (TSA), check what it signed.

The ASN.1 is asn1crypto's (``tsp``, ``cms``); signatures and certificates are
checked with the ``cryptography`` package. A token is accepted when:

* it is a CMS SignedData over a TSTInfo whose message imprint is the one asked for;
* its signed attributes carry the TSTInfo's content type and digest;
* the signer's certificate signed those attributes, is marked for time
  stamping only (extended key usage ``timeStamping``, critical), and chains,
  through certificates in the token, to a CA in the configured bundle, every
  certificate valid at the token's time.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from asn1crypto import algos, cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from monitor.errors import TimestampError

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512, "sha1": hashes.SHA1,
}


@dataclass(frozen=True)
class Token:
    """A checked timestamp token: its DER bytes, the time it asserts and the imprint it covers."""

    der: bytes
    gen_time: datetime
    imprint: bytes
    tsa_name: str


def request_der(imprint: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for a SHA-256 ``imprint``, asking for the TSA's certificate."""
    return tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": imprint},
        "nonce": nonce, "cert_req": True,
    }).dump()


def load_bundle(path: Path) -> list[x509.Certificate]:
    """The CA certificates of a PEM bundle; ``TimestampError`` when none can be read."""
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise TimestampError(f"{path}: cannot read CA bundle: {exc}") from None
    return certs


def fetch(url: str, imprint: bytes, bundle: list[x509.Certificate], timeout: float = 30.0,
          transport: httpx.BaseTransport | None = None) -> Token:
    """Ask the TSA at ``url`` to stamp ``imprint``; the token is checked before it is returned."""
    nonce = secrets.randbits(63)
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            resp = client.post(url, content=request_der(imprint, nonce),
                               headers={"Content-Type": "application/timestamp-query"})
    except httpx.HTTPError as exc:
        raise TimestampError(f"TSA {url}: {type(exc).__name__}: {exc}") from None
    if resp.status_code != 200:
        raise TimestampError(f"TSA {url}: HTTP {resp.status_code}")
    try:
        reply = tsp.TimeStampResp.load(resp.content)
        status = reply["status"]["status"].native
        token_info = reply["time_stamp_token"]
        der = token_info.dump() if status in ("granted", "granted_with_mods") else b""
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"TSA {url}: not a timestamp response: {exc}") from None
    if not der:
        text = reply["status"]["status_string"].native
        raise TimestampError(f"TSA {url}: request {status}: {text}")
    token = verify(der, imprint, bundle)
    tst = _tst_info(cms.ContentInfo.load(der))
    if tst["nonce"].native != nonce:
        raise TimestampError(f"TSA {url}: the reply's nonce is not the request's")
    return token


def _tst_info(info: cms.ContentInfo) -> tsp.TSTInfo:
    if info["content_type"].native != "signed_data":
        raise TimestampError("not a CMS SignedData")
    encap = info["content"]["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise TimestampError("the signed content is not a TSTInfo")
    parsed = encap["content"].parsed
    assert isinstance(parsed, tsp.TSTInfo)
    return parsed


def verify(der: bytes, imprint: bytes, bundle: list[x509.Certificate]) -> Token:
    """Check a token (see the module text); returns it or raises ``TimestampError`` saying what failed."""
    try:
        info = cms.ContentInfo.load(der)
        tst = _tst_info(info)
        signed: cms.SignedData = info["content"]
        signer: cms.SignerInfo = signed["signer_infos"][0]
        certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"]
                 if c.name == "certificate"]
        gen_time: datetime = tst["gen_time"].native
        mi = tst["message_imprint"]
        algorithm = mi["hash_algorithm"]["algorithm"].native
        stamped = bytes(mi["hashed_message"].native)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise TimestampError(f"not a timestamp token: {exc}") from None
    if algorithm != "sha256" or stamped != imprint:
        raise TimestampError(f"the token stamps {algorithm} {stamped.hex()}, not {imprint.hex()}")
    cert = _signer_cert(signer, certs)
    _check_signed_attrs(signer, tst)
    _check_signature(signer, cert)
    _check_chain(cert, certs, bundle, gen_time)
    return Token(der, gen_time, stamped, cert.subject.rfc4514_string())


def _signer_cert(signer: cms.SignerInfo, certs: list[x509.Certificate]) -> x509.Certificate:
    sid = signer["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"].dump()
            if cert.serial_number == sid.chosen["serial_number"].native and \
                    cert.issuer.public_bytes() == issuer:
                return cert
        else:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == sid.chosen.native:
                return cert
    raise TimestampError("the token does not carry its signer's certificate")


def _check_signed_attrs(signer: cms.SignerInfo, tst: tsp.TSTInfo) -> None:
    attrs = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}
    if attrs.get("content_type") is None or attrs["content_type"].native != "tst_info":
        raise TimestampError("the signed attributes do not name a TSTInfo")
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TimestampError(f"unsupported digest {digest_name}")
    want = hashlib.new(digest_name, tst.dump()).digest()
    if attrs.get("message_digest") is None or attrs["message_digest"].native != want:
        raise TimestampError("the signed digest does not match the TSTInfo (the token was altered)")


def _check_signature(signer: cms.SignerInfo, cert: x509.Certificate) -> None:
    # The signature covers the attributes encoded as a SET OF (RFC 5652, 5.4), not as stored ([0]).
    data = signer["signed_attrs"].untag().dump()
    signature = bytes(signer["signature"].native)
    hash_cls = _HASHES[signer["digest_algorithm"]["algorithm"].native]
    algo: algos.SignedDigestAlgorithm = signer["signature_algorithm"]
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pad = (padding.PSS(padding.MGF1(hash_cls()), padding.PSS.AUTO)
                   if algo.signature_algo == "rsassa_pss" else padding.PKCS1v15())
            key.verify(signature, data, pad, hash_cls())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_cls()))
        else:
            raise TimestampError(f"unsupported signer key {type(key).__name__}")
    except InvalidSignature:
        raise TimestampError("the TSA's signature does not verify (the token was altered)") from None


def _valid_at(cert: x509.Certificate, when: datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _check_chain(cert: x509.Certificate, carried: list[x509.Certificate],
                 bundle: list[x509.Certificate], when: datetime) -> None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        eku = None
    if eku is None or not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise TimestampError(f"{cert.subject.rfc4514_string()}: not a TSA certificate "
                             "(needs extendedKeyUsage critical, timeStamping only)")
    current = cert
    for _ in range(8):
        if not _valid_at(current, when):
            raise TimestampError(f"{current.subject.rfc4514_string()}: not valid at {when.isoformat()}")
        for ca in bundle:
            if _issued_by(current, ca) and _valid_at(ca, when):
                return
        parent = next((c for c in carried if c != current and _issued_by(current, c)), None)
        if parent is None:
            break
        current = parent
    raise TimestampError(f"{cert.subject.rfc4514_string()}: does not chain to a CA in the bundle")


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def token_time(der: bytes) -> datetime:
    """The time a token asserts, without checking it (for listings)."""
    value = _tst_info(cms.ContentInfo.load(der))["gen_time"].native
    assert isinstance(value, datetime)
    return value

