"""Ed25519 signing keys kept in the workspace (`.assay/keys/`), created on first use."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from assay.store.blobs import atomic_write

PRIVATE = "signing-ed25519.pem"
PUBLIC = "signing-ed25519.pub.pem"
_PKCS8_ED25519 = bytes.fromhex("302e020100300506032b657004220420")
"""The fixed DER head of an unencrypted PKCS#8 Ed25519 private key (RFC 8410 §7); the 32 key bytes follow."""


def key_id_of(public: Ed25519PublicKey) -> str:
    return "ed25519:" + hashlib.sha256(public.public_bytes_raw()).hexdigest()[:16]


def _ed25519_from_pem(pem: bytes) -> Ed25519PrivateKey | None:
    """The key of a PEM file as `load_or_create` writes it, read without `cryptography`'s serialization
    package (its import costs a short command ~20 ms); None for any other form, which the full loader
    then reads or rejects."""
    lines = pem.strip().splitlines()
    armour = (b"-----BEGIN PRIVATE KEY-----", b"-----END PRIVATE KEY-----")
    if len(lines) < 3 or (lines[0], lines[-1]) != armour:
        return None
    try:
        der = base64.b64decode(b"".join(lines[1:-1]), validate=True)
    except ValueError:
        return None
    if len(der) != len(_PKCS8_ED25519) + 32 or not der.startswith(_PKCS8_ED25519):
        return None
    return Ed25519PrivateKey.from_private_bytes(der[len(_PKCS8_ED25519) :])


class SigningKey:
    """The workspace's signing key; the private half never leaves its 0600 file."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id_of(self.public)

    @classmethod
    def load_or_create(cls, folder: Path) -> SigningKey:
        """Processes starting at once agree on one key: the file is created exclusively, and a process
        that loses the race loads the winner's key instead of signing with its own."""
        priv_path = folder / PRIVATE
        if priv_path.exists():
            return cls._load(priv_path)
        from cryptography.hazmat.primitives import serialization

        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            atomic_write(priv_path, pem, mode=0o600, exclusive=True)
        except FileExistsError:
            return cls._load(priv_path)
        pub = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        atomic_write(folder / PUBLIC, pub, mode=0o644)
        return cls(key)

    @classmethod
    def _load(cls, priv_path: Path) -> SigningKey:
        pem = priv_path.read_bytes()
        key = _ed25519_from_pem(pem)
        if key is None:
            from cryptography.hazmat.primitives import serialization

            key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{priv_path}: not an Ed25519 private key")
        return cls(key)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._private.sign(message)).decode("ascii")

    def public_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify_signature(public: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
