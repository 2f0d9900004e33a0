"""docs/policy-packs.md lists the baseline's rules: the table must say what the pack says."""

from __future__ import annotations

import re
from pathlib import Path

from assay.policy.loader import resolve_pack

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy-packs.md"


def test_the_documented_baseline_table_matches_the_pack() -> None:
    rows = re.findall(
        r"^\| `([a-z-]+)` \| [^|]+ \| ([≥≤]) (\d+)% \| ([≥≤]) (\d+)% \|$", DOC.read_text(), re.M
    )
    pack = {t.id: t for t in resolve_pack("baseline").thresholds}
    assert {r[0] for r in rows} == set(pack)
    for rule_id, cmp_g, green, cmp_a, amber in rows:
        t = pack[rule_id]
        cmp = "≥" if t.direction == "higher_is_better" else "≤"
        assert (cmp_g, cmp_a) == (cmp, cmp), rule_id
        assert (int(green), int(amber)) == (round(t.green * 100), round(t.amber * 100)), rule_id
