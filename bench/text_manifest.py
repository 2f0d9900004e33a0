"""C2PA text manifests: signing and verification time, size overhead, and what survives common handling.

Run: .venv/bin/python bench/text_manifest.py [--n 100]

Texts are the prompts and answers of the project's built-in suites (English, Chinese, Malay, Tamil),
joined to lengths of 50-2,000 characters. Each is signed with a fresh local test chain (ES256, as
`assay keys init` makes), embedded as invisible variation selectors, and verified against the chain's
root. The transforms are what happens to text on its way between people; each row says which verdict
the manifest gets afterwards (the watermark and the ledger are separate parts of `assay verify`).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from assay.provenance import text_manifest  # noqa: E402
from assay.provenance.c2pa_keys import load_signer, make_chain  # noqa: E402

BUILTIN = ROOT / "src" / "assay" / "evals" / "suites" / "builtin"


def corpus(n: int, seed: int = 7) -> list[str]:
    """n texts of 50-2,000 characters from the built-in suites' samples (several languages)."""
    pieces: list[str] = []
    for path in sorted(BUILTIN.glob("*/samples.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            sample = json.loads(line) if line.strip() else {}
            for key in ("input", "target"):
                value = sample.get(key)
                if isinstance(value, str) and len(value) > 20:
                    pieces.append(value)
    if not pieces:
        sys.exit(f"no suite samples found under {BUILTIN}")
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        want = rng.randint(50, 2000)
        text = ""
        while len(text) < want:
            text += rng.choice(pieces) + ("\n" if rng.random() < 0.3 else " ")
        texts.append(text[:want].strip())
    return texts


TRANSFORMS = {
    "unchanged": lambda t: t,
    "NFC normalised again": lambda t: unicodedata.normalize("NFC", t),
    "NFKC normalised": lambda t: unicodedata.normalize("NFKC", t),
    "line ends to CRLF": lambda t: t.replace("\n", "\r\n"),
    "trailing space added": lambda t: t + " ",
    "one word edited": lambda t: t.replace(" ", " and ", 1),
    "variation selectors stripped": lambda t: "".join(
        c for c in t if not (0xFE00 <= ord(c) <= 0xFE0F or 0xE0100 <= ord(c) <= 0xE01EF)
    ),
    "first half only": lambda t: t[: len(t) // 2],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100, help="texts to sign and verify")
    args = ap.parse_args()
    texts = corpus(args.n)
    chain = make_chain("Bench Labs")
    signer = load_signer(None, chain.signer_chain, chain.signer_key.get_secret_value())
    roots = chain.root_cert
    text_manifest.sign_text("warm-up", signer, generator="bench", model="m")  # loads c2pa-rs once
    sign_ms, verify_ms, manifest_bytes, overhead = [], [], [], []
    signed = []
    for text in texts:
        t0 = time.perf_counter()
        s = text_manifest.sign_text(text, signer, generator="bench", model="remote-llm", ledger_id=1)
        sign_ms.append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        res = text_manifest.verify_manifest(s.text, roots)
        verify_ms.append(1000 * (time.perf_counter() - t0))
        if res.verdict != "trusted":
            sys.exit(f"a freshly signed text did not verify: {res.verdict} {res.problems}")
        manifest_bytes.append(len(s.manifest))
        overhead.append(len(s.text.encode()) - len(unicodedata.normalize("NFC", text).encode()))
        signed.append(s.text)
    print(f"{len(texts)} texts, {min(map(len, texts))}-{max(map(len, texts))} characters")
    for what, ms in (("sign  ", sign_ms), ("verify", verify_ms)):
        p90 = sorted(ms)[int(0.9 * len(ms))]
        print(f"{what} median {statistics.median(ms):6.1f} ms   p90 {p90:6.1f} ms")
    print(
        f"manifest store {statistics.median(manifest_bytes):.0f} bytes (median); invisible wrapper adds "
        f"{statistics.median(overhead):.0f} UTF-8 bytes to each text (median)"
    )
    print("\n| handling | trusted | invalid | no manifest |\n|---|---|---|---|")
    for name, fn in TRANSFORMS.items():
        counts = {"trusted": 0, "valid_untrusted": 0, "invalid": 0, "no_manifest": 0}
        for text in signed:
            counts[text_manifest.verify_manifest(fn(text), roots).verdict] += 1
        print(f"| {name} | {counts['trusted']} | {counts['invalid']} | {counts['no_manifest']} |")


if __name__ == "__main__":
    main()
