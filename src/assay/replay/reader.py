"""Opening a bundle: the integrity check that runs before anything in it is trusted or re-run.

Order matters. A file that is not a zip, has no `bundle.json` or names another format is *not a
bundle* (NotABundle, exit 2). Otherwise every problem is collected and raised together (BundleInvalid,
exit 1): the signature over `bundle.json`, each listed member's hash, members missing, added or
duplicated, every evidence record's own signature and chain link, and each run's files against the
evidence that signed them.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from assay.assurance.chain import GENESIS, link_hash
from assay.assurance.evidence import Evidence
from assay.assurance.keys import key_id_of, load_public_key, verify_signature
from assay.evals.models import Suite
from assay.evals.runner import RunSpec
from assay.replay.models import (
    BLOB_PREFIX,
    CONTENTS,
    EVIDENCE_RECORDS,
    FORMAT,
    FORMAT_VERSION,
    PUBLIC_KEY,
    RUN_FILES,
    RUNS_PREFIX,
    SIGNATURE,
    BundleContents,
    BundleInvalid,
    NotABundle,
)

MAX_MEMBER_BYTES = 4 << 30
MAX_CONTENTS_BYTES = 64 << 20


def _safe_name(name: str) -> bool:
    p = PurePosixPath(name)
    return (
        bool(name) and not p.is_absolute() and ".." not in p.parts and "\\" not in name and "\0" not in name
    )


@dataclass
class OpenBundle:
    """A bundle that passed its integrity check; members are read from the zip by name."""

    path: Path
    sha256: str
    contents: BundleContents
    zf: zipfile.ZipFile

    def read(self, name: str) -> bytes:
        return self.zf.read(name)

    def extract(self, name: str, dest: Path) -> Path:
        """Write one member under `dest` at its own relative path (names were checked to be safe)."""
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.zf.read(name))
        return target

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> OpenBundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _hash_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with zf.open(info) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _open_zip(path: Path) -> zipfile.ZipFile:
    if path.is_dir():
        raise NotABundle(f"{path}: a folder, not a bundle file")
    if not path.is_file():
        raise NotABundle(f"{path}: no such file")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotABundle(f"{path}: not an Assay bundle (not a zip archive: {exc})") from None


def _contents_header(path: Path, zf: zipfile.ZipFile) -> bytes:
    """The raw bytes of bundle.json, after checking it is there and names a format this Assay reads."""
    try:
        info = zf.getinfo(CONTENTS)
    except KeyError:
        raise NotABundle(
            f"{path}: not an Assay bundle (no contents list {CONTENTS} in the archive)"
        ) from None
    if info.file_size > MAX_CONTENTS_BYTES:
        raise NotABundle(f"{path}: {CONTENTS} is larger than {MAX_CONTENTS_BYTES >> 20} MiB")
    raw = zf.read(info)
    try:
        head = json.loads(raw)
    except ValueError as exc:
        raise NotABundle(f"{path}: {CONTENTS} is not JSON ({exc})") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise NotABundle(f"{path}: {CONTENTS} does not describe an {FORMAT} (field 'format')")
    if head.get("format_version") != FORMAT_VERSION:
        raise NotABundle(
            f"{path}: {CONTENTS}: format_version {head.get('format_version')!r} is not one this Assay reads "
            f"(expected {FORMAT_VERSION})"
        )
    return raw


def _check_signature(zf: zipfile.ZipFile, raw: bytes, key_id: object, trusted: bytes | None) -> list[str]:
    names = set(zf.namelist())
    if PUBLIC_KEY not in names:
        return [f"{PUBLIC_KEY}: missing, so the signature cannot be checked"]
    if SIGNATURE not in names:
        return [f"{SIGNATURE}: missing; the bundle is unsigned"]
    try:
        public = load_public_key(zf.read(PUBLIC_KEY))
    except ValueError as exc:
        return [f"{PUBLIC_KEY}: not an Ed25519 public key ({exc})"]
    problems = []
    if trusted is not None:
        try:
            expected = load_public_key(trusted)
        except ValueError as exc:
            return [f"the trusted key is not an Ed25519 public key ({exc})"]
        if key_id_of(expected) != key_id_of(public):
            problems.append(
                f"{PUBLIC_KEY}: signed with key {key_id_of(public)}, "
                f"not the trusted key {key_id_of(expected)}"
            )
    if key_id != key_id_of(public):
        problems.append(f"{CONTENTS}: names key {key_id}, but {PUBLIC_KEY} is key {key_id_of(public)}")
    signature = zf.read(SIGNATURE).decode("ascii", "replace").strip()
    if not verify_signature(public, raw, signature):
        problems.append(f"{SIGNATURE}: the signature does not match {CONTENTS} (bad signature)")
    return problems


def _check_members(zf: zipfile.ZipFile, contents: BundleContents) -> list[str]:
    problems = []
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if not _safe_name(info.filename):
            problems.append(f"{info.filename!r}: unsafe member name")
        elif info.filename in infos:
            problems.append(f"{info.filename}: member appears twice in the archive")
        elif info.is_dir():
            problems.append(f"{info.filename}: extra member (a folder entry) not in {CONTENTS}")
        else:
            infos[info.filename] = info
    listed = {}
    for m in contents.members:
        if m.path in listed:
            problems.append(f"{m.path}: listed twice in {CONTENTS}")
        listed[m.path] = m
    for name, m in listed.items():
        info = infos.get(name)
        if info is None:
            problems.append(f"{name}: missing member (listed in {CONTENTS}, not in the archive)")
        elif info.file_size != m.size or info.file_size > MAX_MEMBER_BYTES:
            problems.append(f"{name}: member changed (size {info.file_size}, listed as {m.size})")
        else:
            try:
                actual = _hash_member(zf, info)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                problems.append(f"{name}: member cannot be read ({exc})")
                continue
            if actual != m.sha256:
                problems.append(f"{name}: member changed (sha256 {actual}, listed as {m.sha256})")
    for name in sorted(set(infos) - set(listed) - {CONTENTS, SIGNATURE}):
        problems.append(f"{name}: extra member, not listed in {CONTENTS}")
    return problems


def _check_evidence(zf: zipfile.ZipFile, contents: BundleContents) -> tuple[list[str], list[Evidence]]:
    """Each record's own signature (with the bundle's key), its blob, and the links between records."""
    problems: list[str] = []
    records: list[Evidence] = []
    try:
        raw = zf.read(EVIDENCE_RECORDS)
    except KeyError:
        return [], []  # already named as a missing member
    try:
        public = load_public_key(zf.read(PUBLIC_KEY))
    except ValueError:
        return [], []  # already named by the signature check
    names = set(zf.namelist())
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            ev = Evidence.model_validate_json(line)
        except ValidationError as exc:
            problems.append(f"{EVIDENCE_RECORDS}:{n}: not an evidence record ({exc.errors()[0]['msg']})")
            continue
        records.append(ev)
        what = f"evidence {ev.id} ({ev.name or ev.kind})"
        if ev.key_id != contents.key_id:
            problems.append(f"{what}: signed with key {ev.key_id}, not the bundle's key {contents.key_id}")
        elif not verify_signature(public, ev.signed_payload(), ev.signature):
            problems.append(f"{what}: its signature does not match the record")
        if BLOB_PREFIX + ev.sha256 not in names:
            problems.append(f"{what}: its blob {BLOB_PREFIX}{ev.sha256} is not in the bundle")
    records.sort(key=lambda e: e.seq)
    for before, after in zip(records, records[1:], strict=False):
        if after.seq != before.seq + 1 or after.prev_hash != link_hash(before.model_dump()):
            problems.append(f"evidence {after.id} (seq {after.seq}): does not link to the record before it")
    if records and records[0].seq == 1 and records[0].prev_hash != GENESIS:
        problems.append(f"evidence {records[0].id} (seq 1): does not start the chain")
    if len(records) != contents.evidence:
        problems.append(f"{EVIDENCE_RECORDS}: {len(records)} records, {CONTENTS} says {contents.evidence}")
    return problems, records


def _check_runs(zf: zipfile.ZipFile, contents: BundleContents, records: list[Evidence]) -> list[str]:
    """A run's summary and log must be the very bytes its evidence signed; its suite must hash to the
    digest its spec recorded, so the replay asks exactly what was asked."""
    problems = []
    names = set(zf.namelist())
    signed = {ev.name: ev.sha256 for ev in records if ev.kind == "eval.run"}
    for run in contents.runs:
        folder = f"{RUNS_PREFIX}{run.run_id}/"
        absent = [folder + f for f in RUN_FILES if folder + f not in names]
        if absent:
            problems.append(f"run {run.run_id}: {', '.join(absent)} not in the bundle")
            continue
        try:
            for name in ("summary.json", "log.jsonl"):
                digest = hashlib.sha256(zf.read(folder + name)).hexdigest()
                if signed.get(folder + name) != digest:
                    problems.append(f"{folder}{name}: not the file its evidence record signed")
            spec = RunSpec.model_validate_json(zf.read(folder + "spec.json"))
            suite = Suite.model_validate_json(zf.read(folder + "suite.json"))
        except (zipfile.BadZipFile, OSError):
            continue  # an unreadable member is already named
        except ValidationError as exc:
            problems.append(f"{folder}: unreadable spec or suite ({exc.errors()[0]['msg']})")
            continue
        if suite.digest() != spec.suite_digest or spec.suite_digest != run.suite_digest:
            problems.append(f"{folder}suite.json: does not hash to the suite digest its spec recorded")
    return problems


def open_bundle(path: str | Path, trusted_key: bytes | None = None) -> OpenBundle:
    """Check the whole bundle, then hand it over open; nothing is extracted or run before this returns.

    `trusted_key` (a PEM public key) pins who must have signed it; without it the bundle's own key is
    used, which proves the bundle is intact and consistent, and its key id says who made it."""
    p = Path(path)
    zf = _open_zip(p)
    try:
        raw = _contents_header(p, zf)
        head = json.loads(raw)
        problems = _check_signature(zf, raw, head.get("key_id"), trusted_key)
        try:
            contents = BundleContents.model_validate(head)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            if problems:  # a bad signature too: someone changed it
                problems.append(f"{CONTENTS}: field '{where}': {first['msg']}")
                raise BundleInvalid(str(p), problems) from None
            raise NotABundle(f"{p}: {CONTENTS}: field '{where}': {first['msg']}") from None
        problems += _check_members(zf, contents)
        evidence_problems, records = (
            _check_evidence(zf, contents) if PUBLIC_KEY in zf.namelist() else ([], [])
        )
        problems += evidence_problems
        problems += _check_runs(zf, contents, records)
        if problems:
            raise BundleInvalid(str(p), problems)
        digest = hashlib.sha256()
        with p.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        return OpenBundle(path=p, sha256=digest.hexdigest(), contents=contents, zf=zf)
    except BaseException:
        zf.close()
        raise
