"""C2PA signing credentials: a local test CA chain, a user's own chain, and the trust list for verifying.

C2PA validators (c2pa-rs, which c2pa-python wraps) accept a claim-signing certificate only if it fits
the C2PA certificate profile: an X.509 v3 end-entity certificate (not self-signed, `cA=false`), key
usage `digitalSignature` marked critical, an extended key usage the trust configuration allows
(c2pa-rs's default list: emailProtection 1.3.6.1.5.5.7.3.4, documentSigning 1.3.6.1.5.5.7.3.36, and
a few vendor OIDs; never anyExtendedKeyUsage), authority and subject key identifiers, and a validity
window that covers the signing time. The chain built here meets that profile, so a manifest it signs
verifies as *trusted* once its root is in the trust list, and as valid-but-untrusted anywhere else.

Layout under `.assay/keys/c2pa/` (private keys 0600, written atomically):
    root-ca.pem  root-ca.key.pem  intermediate-ca.pem  intermediate-ca.key.pem
    signer-chain.pem (leaf then intermediate)  signer.key.pem
    trust-anchors.pem (the local root plus any roots the user adds)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from pydantic import BaseModel, SecretStr

from assay.store.blobs import atomic_write
from assay.workspace import Workspace

DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
ANY_EKU = ObjectIdentifier("2.5.29.37.0")
# The EKUs c2pa-rs's default trust configuration accepts for a claim signer (its `store.cfg`).
ACCEPTED_SIGNER_EKUS = {
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.36": "documentSigning",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "1.3.6.1.4.1.311.76.59.1.9": "Microsoft C2PA signing",
    "1.3.6.1.4.1.62558.2.1": "C2PA claim signing",
}

ROOT_CERT = "root-ca.pem"
ROOT_KEY = "root-ca.key.pem"
INTERMEDIATE_CERT = "intermediate-ca.pem"
INTERMEDIATE_KEY = "intermediate-ca.key.pem"
SIGNER_CHAIN = "signer-chain.pem"
SIGNER_KEY = "signer.key.pem"
TRUST_ANCHORS = "trust-anchors.pem"


class C2paKeyError(ValueError):
    """A certificate chain or key that C2PA signing cannot use; the message says what to fix."""


class ChainInfo(BaseModel):
    """Where a workspace's C2PA chain lives and who it names (no private material)."""

    folder: str
    signer_chain: str
    signer_key: str
    trust_anchors: str
    root_cert: str | None = None
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str
    created: bool = False


class C2paSigner(BaseModel):
    """What `sign_image` needs: the PEM chain (leaf first), the leaf's key and its COSE algorithm."""

    alg: str
    cert_chain_pem: str
    private_key_pem: SecretStr
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str


class ChainPems(BaseModel):
    """A freshly made chain, in memory: for the workspace, and for tests of untrusted or expired signers."""

    root_cert: str
    root_key: SecretStr
    intermediate_cert: str
    intermediate_key: SecretStr
    signer_chain: str
    signer_key: SecretStr


def c2pa_folder(ws: Workspace) -> Path:
    return ws.home / "keys" / "c2pa"


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _name(org: str, cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "SG"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _issue(
    subject: x509.Name,
    public: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    path_length: int | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
        builder = builder.add_extension(usage, critical=True)
    else:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
        builder = builder.add_extension(usage, critical=True).add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_chain(
    org: str = "Assay local test CA",
    *,
    signer_not_before: dt.datetime | None = None,
    signer_not_after: dt.datetime | None = None,
    days: int = 730,
) -> ChainPems:
    """A root CA, an intermediate and an ES256 (P-256) claim signer, all in memory.

    The signer's validity can be set, so tests can make an expired certificate.
    """
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca_start = now - dt.timedelta(minutes=5)
    if signer_not_before is not None:
        ca_start = min(ca_start, signer_not_before - dt.timedelta(days=1))
    ca_end = now + dt.timedelta(days=days * 5)
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(org, f"{org} Root")
    inter_name = _name(org, f"{org} Intermediate")
    leaf_name = _name(org, f"{org} Claim Signer")
    root = _issue(root_name, root_key.public_key(), root_name, root_key, ca=True, path_length=1,
                  not_before=ca_start, not_after=ca_end)  # fmt: skip
    inter = _issue(inter_name, inter_key.public_key(), root_name, root_key, ca=True, path_length=0,
                   not_before=ca_start, not_after=ca_end)  # fmt: skip
    leaf = _issue(
        leaf_name, leaf_key.public_key(), inter_name, inter_key, ca=False, path_length=None,
        not_before=signer_not_before or now - dt.timedelta(minutes=5),
        not_after=signer_not_after or now + dt.timedelta(days=days),
    )  # fmt: skip
    return ChainPems(
        root_cert=_pem_cert(root),
        root_key=SecretStr(_pem_key(root_key)),
        intermediate_cert=_pem_cert(inter),
        intermediate_key=SecretStr(_pem_key(inter_key)),
        signer_chain=_pem_cert(leaf) + _pem_cert(inter),
        signer_key=SecretStr(_pem_key(leaf_key)),
    )


def _certs(pem: str | bytes) -> list[x509.Certificate]:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise C2paKeyError(f"not a PEM certificate chain: {e}") from e
    return certs


def _fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _alg_for(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(key.curve.name)
        if alg is None:
            raise C2paKeyError(
                f"EC curve {key.curve.name} is not allowed by C2PA (use P-256, P-384 or P-521)"
            )
        return alg
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"  # C2PA allows RSA only with PSS padding
    raise C2paKeyError(f"unsupported private key type {type(key).__name__}")


def check_signer_profile(leaf: x509.Certificate) -> list[str]:
    """Problems that would make a validator reject this certificate as a claim signer (empty if none)."""
    problems: list[str] = []
    if leaf.version != x509.Version.v3:
        problems.append("the certificate must be X.509 v3")
    if leaf.issuer == leaf.subject:
        problems.append("the signing certificate is self-signed; C2PA needs one issued by a CA")
    try:
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        if bc.ca:
            problems.append("the signing certificate is a CA certificate (basicConstraints cA=true)")
    except x509.ExtensionNotFound:
        pass
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage)
        if not ku.value.digital_signature:
            problems.append("key usage lacks digitalSignature")
    except x509.ExtensionNotFound:
        problems.append("key usage extension (digitalSignature) is missing")
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        dotted = {o.dotted_string for o in eku}
        if ANY_EKU.dotted_string in dotted:
            problems.append("anyExtendedKeyUsage is not allowed for a C2PA signer")
        if not dotted & ACCEPTED_SIGNER_EKUS.keys():
            problems.append("extended key usage has none of documentSigning / emailProtection")
    except x509.ExtensionNotFound:
        problems.append("extended key usage is missing (documentSigning or emailProtection)")
    return problems


def load_signer(
    ws: Workspace | None = None,
    cert_chain_pem: str | bytes | None = None,
    private_key_pem: str | bytes | None = None,
) -> C2paSigner:
    """The signer to use: a chain and key the caller brings, else the workspace's chain.

    A brought chain is checked here (key matches the leaf, C2PA profile), so a bad one fails with a
    plain message before any image is touched.
    """
    if cert_chain_pem is None or private_key_pem is None:
        if cert_chain_pem is not None or private_key_pem is not None:
            raise C2paKeyError("give both the certificate chain and the private key, or neither")
        if ws is None:
            raise C2paKeyError("no workspace and no certificate chain given")
        folder = c2pa_folder(ws)
        if not (folder / SIGNER_CHAIN).exists() or not (folder / SIGNER_KEY).exists():
            raise C2paKeyError(f"no C2PA signing chain in {folder}: run `assay keys init` first")
        cert_chain_pem = (folder / SIGNER_CHAIN).read_bytes()
        private_key_pem = (folder / SIGNER_KEY).read_bytes()
    chain_text = cert_chain_pem.decode("ascii") if isinstance(cert_chain_pem, bytes) else cert_chain_pem
    key_bytes = private_key_pem.encode("ascii") if isinstance(private_key_pem, str) else private_key_pem
    certs = _certs(chain_text)
    if not certs:
        raise C2paKeyError("the certificate chain is empty")
    leaf = certs[0]
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except (ValueError, TypeError) as e:
        raise C2paKeyError(f"cannot read the private key (PEM, unencrypted PKCS#8 expected): {e}") from e
    alg = _alg_for(key)
    pub = key.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leaf_pub = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if pub != leaf_pub:
        raise C2paKeyError("the private key does not belong to the first certificate of the chain")
    problems = check_signer_profile(leaf)
    if problems:
        raise C2paKeyError("certificate cannot sign C2PA manifests: " + "; ".join(problems))
    return C2paSigner(
        alg=alg,
        cert_chain_pem="".join(_pem_cert(c) for c in certs),
        private_key_pem=SecretStr(key_bytes.decode("ascii")),
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        fingerprint_sha256=_fingerprint(leaf),
    )


def _info(ws: Workspace, created: bool) -> ChainInfo:
    folder = c2pa_folder(ws)
    leaf = _certs((folder / SIGNER_CHAIN).read_bytes())[0]
    root = folder / ROOT_CERT
    return ChainInfo(
        folder=str(folder),
        signer_chain=str(folder / SIGNER_CHAIN),
        signer_key=str(folder / SIGNER_KEY),
        trust_anchors=str(folder / TRUST_ANCHORS),
        root_cert=str(root) if root.exists() else None,
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        fingerprint_sha256=_fingerprint(leaf),
        created=created,
    )


def _prepare_folder(ws: Workspace) -> Path:
    folder = c2pa_folder(ws)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder.parent, 0o700)
    os.chmod(folder, 0o700)
    return folder


def init_c2pa_chain(ws: Workspace, org: str = "Assay local test CA", *, overwrite: bool = False) -> ChainInfo:
    """Create the workspace's local test CA, intermediate and ES256 signer (kept if already there).

    For testing and air-gapped labs: a manifest it signs is *trusted* only where this root is in the
    trust list. For publishing, bring a chain from a CA on the C2PA trust list (`import_signer_chain`).
    """
    folder = c2pa_folder(ws)
    if (folder / SIGNER_CHAIN).exists() and (folder / SIGNER_KEY).exists() and not overwrite:
        return _info(ws, created=False)
    folder = _prepare_folder(ws)
    pems = make_chain(org)
    atomic_write(folder / ROOT_KEY, pems.root_key.get_secret_value().encode(), mode=0o600)
    atomic_write(folder / INTERMEDIATE_KEY, pems.intermediate_key.get_secret_value().encode(), mode=0o600)
    atomic_write(folder / SIGNER_KEY, pems.signer_key.get_secret_value().encode(), mode=0o600)
    atomic_write(folder / ROOT_CERT, pems.root_cert.encode(), mode=0o644)
    atomic_write(folder / INTERMEDIATE_CERT, pems.intermediate_cert.encode(), mode=0o644)
    atomic_write(folder / SIGNER_CHAIN, pems.signer_chain.encode(), mode=0o644)
    _write_anchors(ws, [pems.root_cert, *_other_anchors(ws, exclude_local=True)])
    return _info(ws, created=True)


def import_signer_chain(
    ws: Workspace, cert_chain_pem: str | bytes, private_key_pem: str | bytes
) -> ChainInfo:
    """Make a user's own chain and key the workspace's signer (checked first; the key is kept 0600)."""
    signer = load_signer(None, cert_chain_pem, private_key_pem)
    folder = _prepare_folder(ws)
    atomic_write(folder / SIGNER_KEY, signer.private_key_pem.get_secret_value().encode(), mode=0o600)
    atomic_write(folder / SIGNER_CHAIN, signer.cert_chain_pem.encode(), mode=0o644)
    return _info(ws, created=True)


def _other_anchors(ws: Workspace, exclude_local: bool) -> list[str]:
    path = c2pa_folder(ws) / TRUST_ANCHORS
    if not path.exists():
        return []
    local = c2pa_folder(ws) / ROOT_CERT
    local_fp = _fingerprint(_certs(local.read_bytes())[0]) if exclude_local and local.exists() else None
    return [_pem_cert(c) for c in _certs(path.read_bytes()) if _fingerprint(c) != local_fp]


def _write_anchors(ws: Workspace, pems: list[str]) -> None:
    seen: dict[str, str] = {}
    for pem in pems:
        for cert in _certs(pem):
            seen.setdefault(_fingerprint(cert), _pem_cert(cert))
    atomic_write(c2pa_folder(ws) / TRUST_ANCHORS, "".join(seen.values()).encode(), mode=0o644)


def add_trust_root(ws: Workspace, root_pem: str | bytes) -> list[str]:
    """Trust another root CA when verifying; returns the SHA-256 fingerprints now in the list."""
    certs = _certs(root_pem)
    if not certs:
        raise C2paKeyError("no certificate in the PEM given")
    for cert in certs:
        try:
            if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                raise C2paKeyError(f"{cert.subject.rfc4514_string()} is not a CA certificate")
        except x509.ExtensionNotFound as e:
            raise C2paKeyError(f"{cert.subject.rfc4514_string()} has no basicConstraints (not a CA)") from e
    _prepare_folder(ws)
    _write_anchors(ws, [*_other_anchors(ws, exclude_local=False), *(_pem_cert(c) for c in certs)])
    return [_fingerprint(c) for c in _certs((c2pa_folder(ws) / TRUST_ANCHORS).read_bytes())]


def trust_roots(ws: Workspace) -> str:
    """The PEM bundle of trusted roots for verifying (empty string if there is none yet)."""
    path = c2pa_folder(ws) / TRUST_ANCHORS
    return path.read_text("ascii") if path.exists() else ""
