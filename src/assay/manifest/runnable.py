"""Everything `assay assess` will load, loaded once before anything runs: each suite and seed suite is
read and validated, each red-team entry's attacks are looked up in the attack library, and the policy
pack is loaded (with the base it extends).

`assay validate` and `assay assess` call this (through `load_manifest(..., runnable=True)`), so a broken
suite file or an unknown attack id is reported with the manifest's line before a single step stores
anything, instead of surfacing as a traceback halfway through an assessment.
"""

from __future__ import annotations

from pathlib import Path

from assay.manifest.problems import Problem
from assay.manifest.references import Finding
from assay.manifest.schema import Manifest


def check_runnable(m: Manifest, base: Path) -> tuple[list[Finding], list[Problem]]:
    """Findings at manifest fields, and the loaded files' own problems (each naming its file and line)."""
    findings: list[Finding] = []
    problems: list[Problem] = []
    if m.suites:
        from assay.evals.service import resolve_suite
        from assay.evals.suites import SuiteInvalid

        for i, ref in enumerate(m.suites):
            try:
                resolve_suite(ref.suite, base)
            except SuiteInvalid as exc:
                findings.append(_invalid_suite(("suites", i, "suite"), ref.suite, exc.problems))
                problems.extend(exc.problems)
    if m.redteam:
        more, loaded = _check_redteam(m, base)
        findings.extend(more)
        problems.extend(loaded)
    if m.policy_pack is not None:
        more, loaded = _check_policy_pack(m, base)
        findings.extend(more)
        problems.extend(loaded)
    return findings, problems


def _check_policy_pack(m: Manifest, base: Path) -> tuple[list[Finding], list[Problem]]:
    """The pack `assay assess` will grade with: a built-in id, or a file (and the base it extends) whose
    own problems are listed with its file and line."""
    from assay.policy.loader import PackInvalid, resolve_pack

    assert m.policy_pack is not None
    try:
        resolve_pack(m.policy_pack, base)
    except PackInvalid as exc:
        about_ref = [p for p in exc.problems if p.field.startswith("policy_pack")]
        if about_ref:
            return [
                (
                    ("policy_pack", "id"),
                    p.message + (f" (did you mean '{p.suggestion}'?)" if p.suggestion else ""),
                    p.expected,
                )
                for p in about_ref
            ], []
        n = len(exc.problems)
        where = ("policy_pack", "path" if m.policy_pack.path else "id")
        return [
            (where, f"policy pack '{m.policy_pack.id}' cannot be loaded ({n} problem(s), listed below)", "")
        ], (exc.problems)
    return [], []


def _invalid_suite(where: tuple[str | int, ...], name: str, problems: list[Problem]) -> Finding:
    n = len(problems)
    return where, f"suite '{name}' cannot be loaded ({n} problem{'s' if n != 1 else ''}, listed below)", ""


def _check_redteam(m: Manifest, base: Path) -> tuple[list[Finding], list[Problem]]:
    from assay.evals.suites import SuiteInvalid
    from assay.redteam.library import AttackInvalid, load_attacks, select_attacks
    from assay.redteam.service import resolve_seeds

    findings: list[Finding] = []
    problems: list[Problem] = []
    library = None
    try:
        library = load_attacks()
    except AttackInvalid as exc:
        findings.append(
            (("redteam",), f"the attack library has {len(exc.problems)} problem(s), listed below", "")
        )
        problems.extend(Problem(file="attack library", field="(attack)", message=p) for p in exc.problems)
    for i, ref in enumerate(m.redteam):
        try:
            resolve_seeds(ref.seeds, base)
        except SuiteInvalid as exc:
            findings.append(_invalid_suite(("redteam", i, "seeds"), ref.seeds, exc.problems))
            problems.extend(exc.problems)
        if library is None:
            continue
        try:
            select_attacks(library, ref.attacks)
        except ValueError as exc:
            message = str(exc).split("; known:")[0]
            findings.append((("redteam", i, "attacks"), message, "attack ids or families, or 'all'"))
    return findings, problems
