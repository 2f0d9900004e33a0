"""Text-watermark keys kept in the workspace (`.assay/keys/watermark-<key_id>.key`, mode 0600).

A watermark key is 32 random bytes. Whoever holds it can both embed and detect the watermark, so it
is stored like the signing key: in a 0600 file written atomically, in a 0700 folder. Outputs name a key
only by its id, which is derived from the secret (so a renamed or edited key file is caught on load)
but reveals nothing about it.

Only the standard library and pydantic are imported here: `assay keys` and `assay verify` load keys
without numpy, torch or transformers. (C2PA certificates live in `c2pa_keys.py`.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretBytes

from assay.store.blobs import atomic_write

if TYPE_CHECKING:
    from assay.workspace import Workspace

KEY_BYTES = 32
KEY_PREFIX = "watermark-"
KEY_SUFFIX = ".key"
CALIBRATION_SUFFIX = ".calibration.json"
KEY_FORMAT = "assay-text-watermark-key/1"
_KEY_ID_RE = re.compile(r"^wm-[0-9a-f]{16}$")


class WatermarkKeyError(LookupError):
    """Base for text watermark key problems."""


class KeyNotFound(WatermarkKeyError):
    """No watermark key with that id (or none at all) in the workspace."""


class KeyInvalid(WatermarkKeyError):
    """A key file exists but is unreadable, malformed, or its id does not match its secret."""


def key_id_for(secret: bytes) -> str:
    """A public name for a secret: a domain-separated SHA-256 prefix, safe to print and record."""
    return "wm-" + hashlib.sha256(b"assay-text-watermark-key-id\x00" + secret).hexdigest()[:16]


class WatermarkKey(BaseModel):
    """A watermark key: its public id and the 32-byte secret (hidden from repr, str and JSON dumps)."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    secret: SecretBytes = Field(repr=False)
    created: str = ""

    @classmethod
    def generate(cls) -> WatermarkKey:
        raw = secrets.token_bytes(KEY_BYTES)
        return cls(key_id=key_id_for(raw), secret=SecretBytes(raw), created=_now())

    @classmethod
    def from_secret(cls, raw: bytes, created: str = "") -> WatermarkKey:
        """A key from known bytes (tests, or a key brought from elsewhere)."""
        if len(raw) != KEY_BYTES:
            raise KeyInvalid(f"a watermark key is {KEY_BYTES} bytes, got {len(raw)}")
        return cls(key_id=key_id_for(raw), secret=SecretBytes(raw), created=created)

    def secret_bytes(self) -> bytes:
        return self.secret.get_secret_value()


class KeyInfo(BaseModel):
    """What may be shown about a key: never the secret."""

    key_id: str
    created: str
    path: str
    calibrated: bool


def keys_dir(ws: Workspace) -> Path:
    return ws.home / "keys"


def key_path(ws: Workspace, key_id: str) -> Path:
    _check_id(key_id)
    return keys_dir(ws) / f"{KEY_PREFIX}{key_id}{KEY_SUFFIX}"


def calibration_path(ws: Workspace, key_id: str) -> Path:
    """Where the calibration of a key's detector is kept (beside the key; it holds no secret)."""
    _check_id(key_id)
    return keys_dir(ws) / f"{KEY_PREFIX}{key_id}{CALIBRATION_SUFFIX}"


def create_text_key(ws: Workspace) -> WatermarkKey:
    """Create a new random watermark key and store it (0600) in the workspace."""
    key = WatermarkKey.generate()
    folder = keys_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    doc = {
        "format": KEY_FORMAT,
        "key_id": key.key_id,
        "created": key.created,
        "secret_hex": key.secret_bytes().hex(),
    }
    atomic_write(key_path(ws, key.key_id), json.dumps(doc, indent=2).encode(), mode=0o600)
    return key


def load_text_key(ws: Workspace, key_id: str | None = None) -> WatermarkKey:
    """The key with `key_id`, or when None the newest key in the workspace."""
    if key_id is None:
        infos = list_keys(ws)
        if not infos:
            raise KeyNotFound(f"no text watermark key in {keys_dir(ws)}; create one with `assay keys`")
        key_id = infos[-1].key_id
    path = key_path(ws, key_id)
    if not path.is_file():
        raise KeyNotFound(f"no text watermark key {key_id!r} in {keys_dir(ws)}")
    return _read_key(path)


def list_keys(ws: Workspace) -> list[KeyInfo]:
    """Every text watermark key in the workspace, oldest first (by creation time, then id)."""
    folder = keys_dir(ws)
    if not folder.is_dir():
        return []
    infos: list[KeyInfo] = []
    for path in folder.glob(f"{KEY_PREFIX}*{KEY_SUFFIX}"):
        key_id = path.name[len(KEY_PREFIX) : -len(KEY_SUFFIX)]
        if not _KEY_ID_RE.match(key_id):
            continue
        try:
            created = str(json.loads(path.read_text(encoding="utf-8")).get("created", ""))
        except (OSError, ValueError):
            created = ""
        infos.append(
            KeyInfo(
                key_id=key_id,
                created=created,
                path=str(path),
                calibrated=calibration_path(ws, key_id).is_file(),
            )
        )
    infos.sort(key=lambda i: (i.created, i.key_id))
    return infos


def _read_key(path: Path) -> WatermarkKey:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        raw = bytes.fromhex(doc["secret_hex"])
        stated = str(doc["key_id"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyInvalid(f"{path}: not a text watermark key ({exc})") from exc
    key = WatermarkKey.from_secret(raw, created=str(doc.get("created", "")))
    if key.key_id != stated or not path.name.startswith(KEY_PREFIX + stated):
        raise KeyInvalid(f"{path}: the key id does not match the secret (file renamed or edited?)")
    return key


def _check_id(key_id: str) -> None:
    """Key ids become file names: accept only the shape `key_id_for` makes."""
    if not _KEY_ID_RE.match(key_id):
        raise KeyNotFound(f"not a text watermark key id: {key_id!r} (expected wm- and 16 hex digits)")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
