"""The rules are data: every catalog id they name exists, and a bad one fails at load."""

from __future__ import annotations

import pytest

from assay.catalog import load_catalog
from assay.security.artifacts import rules as rules_mod
from assay.security.artifacts.rules import RulesInvalid, load_rules


def test_every_finding_kind_maps_to_existing_catalog_ids() -> None:
    frameworks = {f.id: f for f in load_catalog().frameworks}
    rules = load_rules()
    for kind in ("dangerous-import", "unknown-import", "header-inconsistent", "hash-mismatch"):
        mapped = rules.findings[kind]
        assert "LLM03:2025" in mapped.owasp
        assert mapped.atlas and all(frameworks["mitre-atlas"].entry(a) for a in mapped.atlas)
    assert "LLM04:2025" in rules.findings["dangerous-import"].owasp
    assert "AML.T0018" in rules.findings["hash-mismatch"].atlas


def test_a_catalog_id_that_does_not_exist_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = rules_mod._read

    def patched(name: str):  # type: ignore[no-untyped-def]
        data = real(name)
        if name == "rules.yaml":
            data["findings"]["hash-mismatch"]["mitre-atlas"] = ["AML.T9999"]
        return data

    monkeypatch.setattr(rules_mod, "_read", patched)
    load_rules.cache_clear()
    try:
        with pytest.raises(RulesInvalid, match="AML.T9999"):
            load_rules()
    finally:
        load_rules.cache_clear()


@pytest.mark.parametrize(
    ("module", "name", "expected"),
    [
        ("torch._utils", "_rebuild_tensor_v2", None),
        ("collections", "OrderedDict", None),
        ("numpy.core.multiarray", "_reconstruct", None),
        ("os", "system", "critical"),
        ("os.path", "join", "critical"),
        ("builtins", "eval", "critical"),
        ("builtins", "set", None),
        ("pickle", "loads", "high"),
        ("sklearn.linear_model", "LogisticRegression", "medium"),
    ],
)
def test_judging_imports(module: str, name: str, expected: str | None) -> None:
    verdict = load_rules().judge_import(module, name)
    assert (verdict[1] if verdict else None) == expected
