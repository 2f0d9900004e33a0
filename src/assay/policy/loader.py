"""Read policy packs: one YAML file, or an overlay merged onto the pack it `extends`.

A pack is written by an authority, not by Assay, so it is checked like the manifest: read through
`assay.yamlio` (aliases, depth and size bounded), every problem found in one pass and reported with
file, line and column. Overlays may only tighten their base; a rule that loosens is refused naming both
values, because a sector overlay that quietly lowers the bar would defeat the point of having one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assay.manifest.loader import _problems_from_validation, format_path
from assay.manifest.problems import Problem
from assay.manifest.schema import PolicyPackRef
from assay.manifest.yamlpos import LocatedYaml, YamlSyntaxError, load_located
from assay.policy.models import PACK_FORMAT, MetricThreshold, PolicyPack
from assay.yamlio import YamlLimits

PACKS_DIR = Path(__file__).parent / "packs"
DEFAULT_PACK = "baseline"
MAX_PACK_BYTES = 1024 * 1024
PACK_LIMITS = YamlLimits(max_bytes=MAX_PACK_BYTES, max_alias_nodes=2_000)
MAX_EXTENDS_DEPTH = 8
PACK_ID = re.compile(PolicyPack.model_fields["id"].metadata[0].pattern)


class PackInvalid(Exception):
    """Every problem found in a pack (and the packs it extends), never just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


def builtin_pack_ids() -> list[str]:
    """The ids of the packs shipped inside the package (file stem = pack id)."""
    return sorted(p.stem for p in PACKS_DIR.glob("*.yaml"))


def builtin_pack_path(pack_id: str) -> Path | None:
    """The file of a built-in pack, or None; an id that is not a slug (e.g. '../x') names none."""
    if not PACK_ID.fullmatch(pack_id):
        return None
    path = PACKS_DIR / f"{pack_id}.yaml"
    return path if path.is_file() else None


# --- reading one file ---------------------------------------------------------------------------------


class _Located:
    """A problem factory bound to one file's positions."""

    def __init__(self, file: str, located: LocatedYaml) -> None:
        self.file = file
        self.located = located

    def problem(
        self, path: tuple[str | int, ...], message: str, expected: str = "", suggestion: str | None = None
    ) -> Problem:
        pos = self.located.locate(path)
        return Problem(
            file=self.file,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
            field=format_path(path),
            message=message,
            expected=expected,
            suggestion=suggestion,
        )


def _read_text(path: Path) -> str:
    file = str(path)
    try:
        if path.stat().st_size > MAX_PACK_BYTES:
            raise PackInvalid([Problem(file=file, field="(document)", message="file is larger than 1 MiB")])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PackInvalid(
            [
                Problem(
                    file=file,
                    field="(document)",
                    message="file not found",
                    expected="a policy pack YAML file",
                )
            ]
        ) from None
    except IsADirectoryError:
        raise PackInvalid(
            [
                Problem(
                    file=file, field="(document)", message="is a folder", expected="a policy pack YAML file"
                )
            ]
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PackInvalid(
            [Problem(file=file, line=line, field="(document)", message="not UTF-8 text", expected="UTF-8")]
        ) from None


def _known_controls() -> set[str]:
    from assay.catalog import load_catalog

    return {c.id for c in load_catalog().controls}


def _known_evidence_kinds() -> set[str]:
    from assay.catalog import load_catalog

    return {k.id for k in load_catalog().evidence_kinds}


def _raw_checks(doc: dict[str, Any], at: _Located) -> list[Problem]:
    """Checks that need no valid model, so they are reported alongside pydantic's own errors."""
    problems: list[Problem] = []
    controls = _known_controls()
    for section in ("thresholds", "risk_tiers"):
        items = doc.get(section)
        if not isinstance(items, list):
            continue
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            rid = item["id"]
            if rid in seen:
                problems.append(
                    at.problem(
                        (section, i, "id"),
                        f"rule id '{rid}' is used twice (first at {section}[{seen[rid]}])",
                        "each rule id once in a pack",
                    )
                )
            else:
                seen[rid] = i
    thresholds = doc.get("thresholds")
    for i, item in enumerate(thresholds if isinstance(thresholds, list) else []):
        if not isinstance(item, dict) or not isinstance(item.get("controls"), list):
            continue
        for j, cid in enumerate(item["controls"]):
            if isinstance(cid, str) and cid not in controls:
                close = difflib.get_close_matches(cid, sorted(controls), n=1, cutoff=0.6)
                problems.append(
                    at.problem(
                        ("thresholds", i, "controls", j),
                        f"unknown catalog control '{cid}'",
                        "a control id from `assay catalog list`",
                        close[0] if close else None,
                    )
                )
    fresh = doc.get("freshness_days")
    if isinstance(fresh, dict):
        kinds = _known_evidence_kinds()
        for kind, days in fresh.items():
            if isinstance(kind, str) and kind not in kinds:
                close = difflib.get_close_matches(kind, sorted(kinds), n=1, cutoff=0.6)
                problems.append(
                    at.problem(
                        ("freshness_days", kind),
                        f"unknown evidence kind '{kind}'",
                        "an evidence kind from the catalog (e.g. eval.run, redteam.run)",
                        close[0] if close else None,
                    )
                )
            if isinstance(days, int) and not isinstance(days, bool) and days < 1:
                problems.append(
                    at.problem(("freshness_days", kind), f"maximum age {days} is not positive", "days ≥ 1")
                )
    fmt = doc.get("pack", PACK_FORMAT)
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt != PACK_FORMAT:
        problems.append(
            at.problem(("pack",), f"this Assay reads pack format {PACK_FORMAT}, not {fmt}", str(PACK_FORMAT))
        )
    return problems


def _red_rule_checks(pack: PolicyPack, at: _Located) -> list[Problem]:
    """A risk-tier rule that names a threshold rule the (merged) pack does not have can never fire."""
    ids = {t.id for t in pack.thresholds}
    problems = []
    for i, tier in enumerate(pack.risk_tiers):
        for j, rid in enumerate(tier.red_rules):
            if rid not in ids:
                close = difflib.get_close_matches(rid, sorted(ids), n=1, cutoff=0.6)
                problems.append(
                    at.problem(
                        ("risk_tiers", i, "red_rules", j),
                        f"risk tier '{tier.id}' names rule '{rid}', which this pack does not have",
                        "a threshold rule id of this pack or its base",
                        close[0] if close else None,
                    )
                )
    return problems


def _parse(
    text: str, file: str
) -> tuple[PolicyPack | None, dict[str, Any] | None, _Located | None, list[Problem]]:
    """One file on its own: the model (None when invalid), the raw mapping, positions, and problems."""
    try:
        located = load_located(text, file=file, limits=PACK_LIMITS)
    except YamlSyntaxError as exc:
        return None, None, None, [exc.as_problem(file)]
    at = _Located(file, located)
    problems = [
        at.problem(p, f"key '{p[-1]}' appears twice", "each key once") for p, _ in located.duplicate_keys
    ]
    doc = located.value
    if not isinstance(doc, dict):
        problems.append(
            Problem(
                file=file,
                line=1,
                column=1,
                field="(document)",
                message="the pack is empty or not a mapping",
                expected="a mapping with id, title, version, publisher and thresholds",
            )
        )
        return None, None, at, problems
    problems.extend(_raw_checks(doc, at))
    try:
        pack = PolicyPack.model_validate(doc, strict=True)  # YAML has types: "0.9" is text, not a number
    except ValidationError as exc:
        problems.extend(_problems_from_validation(exc, located, file, root=PolicyPack))
        return None, doc, at, problems
    if pack.lineage:
        problems.append(
            at.problem(("lineage",), "lineage is set by Assay when the pack is loaded", "no 'lineage' key")
        )
    return pack, doc, at, problems


# --- overlays -------------------------------------------------------------------------------------------


def _looser(base: MetricThreshold, over: MetricThreshold) -> list[tuple[str, float, float]]:
    """The bands in which `over` is more lenient than `base`: (band, base value, overlay value)."""
    out = []
    for band in ("green", "amber"):
        b, o = getattr(base, band), getattr(over, band)
        if (base.direction == "higher_is_better" and o < b) or (
            base.direction == "lower_is_better" and o > b
        ):
            out.append((band, b, o))
    return out


def _rule_index(doc: dict[str, Any] | None, rule_id: str) -> int | None:
    items = (doc or {}).get("thresholds")
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict) and item.get("id") == rule_id:
                return i
    return None


def _merge_dicts(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Nested mappings merged key by key; the overlay's value wins wherever both set one."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_dicts(out[key], value)
        else:
            out[key] = value
    return out


def merge_overlay(
    base: PolicyPack, overlay: PolicyPack, at: _Located | None = None, doc: dict[str, Any] | None = None
) -> tuple[PolicyPack, list[Problem]]:
    """`overlay` applied to `base`, and the problems (loosened or redefined rules) found doing it."""
    problems: list[Problem] = []
    where = at or _Located(overlay.id, LocatedYaml(value=None))
    by_id = {t.id: t for t in base.thresholds}
    replaced: dict[str, MetricThreshold] = {}
    added: list[MetricThreshold] = []
    for rule in overlay.thresholds:
        old = by_id.get(rule.id)
        if old is None:
            added.append(rule)
            continue
        # fields the overlay leaves out (min_samples, controls, direction, …) are the base rule's
        given = {f: getattr(rule, f) for f in rule.model_fields_set}
        i = _rule_index(doc, rule.id)
        path: tuple[str | int, ...] = ("thresholds", i) if i is not None else ("thresholds",)
        try:
            rule = MetricThreshold.model_validate({**old.model_dump(), **given})
        except ValidationError as exc:
            for err in exc.errors():
                message = err["msg"].removeprefix("Value error, ")
                problems.append(where.problem(path, f"rule '{rule.id}' merged onto {base.id}'s: {message}"))
            continue
        same = ("source", "suite", "metric", "category", "direction")
        changed = [f for f in same if getattr(old, f) != getattr(rule, f)]
        if changed:
            problems.append(
                where.problem(
                    path,
                    f"rule '{rule.id}' changes {', '.join(changed)} of {base.id}'s rule of the same id",
                    "the same suite, metric, category and direction as the base rule, or a new rule id",
                )
            )
            continue
        for band, b, o in _looser(old, rule):
            cmp = "below" if old.direction == "higher_is_better" else "above"
            problems.append(
                where.problem(
                    (*path, band),
                    f"rule '{rule.id}' loosens {band}: {o} is {cmp} {base.id}'s {b}",
                    f"a value at least as strict as {b} (an overlay may only tighten its base)",
                )
            )
        if rule.min_samples < old.min_samples:
            problems.append(
                where.problem(
                    (*path, "min_samples"),
                    f"rule '{rule.id}' lowers min_samples from {old.min_samples} to {rule.min_samples}",
                    f"at least {old.min_samples}",
                )
            )
        replaced[rule.id] = rule
    thresholds = [replaced.get(t.id, t) for t in base.thresholds] + added
    areas = list(base.required_areas) + [a for a in overlay.required_areas if a not in base.required_areas]
    over_tier_ids = {t.id for t in overlay.risk_tiers}
    tiers = list(overlay.risk_tiers) + [t for t in base.risk_tiers if t.id not in over_tier_ids]
    fresh = dict(base.freshness_days)
    for kind, days in overlay.freshness_days.items():
        fresh[kind] = min(days, fresh[kind]) if kind in fresh else days
    if base.incidents is None or overlay.incidents is None:
        incidents = overlay.incidents if overlay.incidents is not None else base.incidents
    else:
        incidents = _merge_dicts(base.incidents, overlay.incidents)
    lineage = list(base.lineage or [f"{base.id}@{base.version}"]) + [f"{overlay.id}@{overlay.version}"]
    merged = overlay.model_copy(
        update={
            "illustrative": base.illustrative or overlay.illustrative,
            "sector": overlay.sector or base.sector,
            "thresholds": thresholds,
            "required_areas": areas,
            "risk_tiers": tiers,
            "freshness_days": fresh,
            "incidents": incidents,
            "lineage": lineage,
        }
    )
    return merged, problems


# --- loading with bases ---------------------------------------------------------------------------------


def _find_base(base_id: str, near: Path | None) -> Path | None:
    """A base pack: a file `<id>.yaml` beside the overlay first, then the built-in packs."""
    if near is not None:
        local = near / f"{base_id}.yaml"
        if local.is_file():
            return local
    return builtin_pack_path(base_id)


def _load(path: Path, chain: tuple[str, ...]) -> tuple[PolicyPack | None, list[Problem]]:
    file = str(path)
    try:
        text = _read_text(path)
    except PackInvalid as exc:
        return None, exc.problems
    pack, doc, at, problems = _parse(text, file)
    base_id = (doc or {}).get("extends")
    if not isinstance(base_id, str) or at is None:
        if pack is not None and not problems:
            pack = pack.model_copy(update={"lineage": [f"{pack.id}@{pack.version}"]})
            problems.extend(_red_rule_checks(pack, at))  # type: ignore[arg-type]
        return (pack if not problems else None), problems
    # an overlay: find and load its base, whatever state the overlay itself is in, so that every problem
    # (the overlay's and the base's) is reported at once
    if not PACK_ID.fullmatch(base_id):  # an id, never a path: `extends: ../../x` must not read a file
        problems.append(
            at.problem(("extends",), f"'{base_id}' is not a pack id", "a pack id such as 'baseline'")
        )
        return None, problems
    own_id = (doc or {}).get("id")
    if base_id == own_id or base_id in chain:
        problems.append(
            at.problem(("extends",), f"'{base_id}' extends itself (via {' → '.join(chain)})", "a base pack")
        )
        return None, problems
    if len(chain) >= MAX_EXTENDS_DEPTH:
        problems.append(at.problem(("extends",), f"more than {MAX_EXTENDS_DEPTH} levels of extends"))
        return None, problems
    base_path = _find_base(base_id, path.parent)
    if base_path is None:
        known = sorted({*builtin_pack_ids(), *(p.stem for p in path.parent.glob("*.yaml"))} - {path.stem})
        close = difflib.get_close_matches(base_id, known, n=1, cutoff=0.6)
        problems.append(
            at.problem(
                ("extends",),
                f"extends '{base_id}', but no such pack exists (beside this file or built in)",
                "one of: " + ", ".join(known),
                close[0] if close else None,
            )
        )
        return None, problems
    base, base_problems = _load(base_path, (*chain, str(own_id)))
    problems.extend(base_problems)
    if base is None or pack is None:
        return None, problems
    merged, merge_problems = merge_overlay(base, pack, at, doc)
    problems.extend(merge_problems)
    problems.extend(_red_rule_checks(merged, at))
    return (merged if not problems else None), problems


def _in_order(problems: list[Problem]) -> list[Problem]:
    """File by file (in the order the files were read), then by line and column."""
    files: dict[str, int] = {}
    for p in problems:
        files.setdefault(p.file, len(files))
    return sorted(problems, key=lambda p: (files[p.file], p.line or 0, p.column or 0))


def check_pack(path: str | Path) -> list[Problem]:
    """Every problem in the pack at `path` (and the packs it extends); empty when it loads."""
    _, problems = _load(Path(path), ())
    return _in_order(problems)


def load_pack(path: str | Path) -> PolicyPack:
    """Load the pack at `path`, merged onto its base when it extends one; PackInvalid lists every problem."""
    pack, problems = _load(Path(path), ())
    if problems or pack is None:
        raise PackInvalid(
            _in_order(problems) or [Problem(file=str(path), field="(document)", message="not a pack")]
        )
    return pack


@lru_cache(maxsize=32)
def _builtin_cached(pack_id: str) -> PolicyPack:
    path = builtin_pack_path(pack_id)
    assert path is not None
    return load_pack(path)


def _builtin(pack_id: str) -> PolicyPack:
    """A built-in pack, parsed once per process; each caller gets its own copy to change freely."""
    return _builtin_cached(pack_id).model_copy(deep=True)


def _unknown_id(pack_id: str, file: str, field: str) -> PackInvalid:
    known = builtin_pack_ids()
    close = difflib.get_close_matches(pack_id, known, n=1, cutoff=0.6)
    return PackInvalid(
        [
            Problem(
                file=file,
                field=field,
                message=f"no built-in policy pack '{pack_id}'",
                expected="one of: " + ", ".join(known) + ", or a path to a pack file",
                suggestion=close[0] if close else None,
            )
        ]
    )


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.endswith((".yaml", ".yml"))


def resolve_pack(ref: PolicyPackRef | str | Path | None, base_dir: Path | None = None) -> PolicyPack:
    """The pack a manifest, a command line or the API names.

    None → the built-in `baseline`; a pack id → the built-in pack; a path (str or Path) → that file,
    relative to `base_dir` when given; a manifest `policy_pack` entry → its `path` (kept inside
    `base_dir` unless `allow_outside`) or else its built-in `id`, and a file's id must match the entry's."""
    if ref is None:
        return _builtin(DEFAULT_PACK)
    if isinstance(ref, PolicyPackRef):
        if ref.path:
            base = base_dir or Path.cwd()
            path = Path(ref.path).expanduser()
            full = path if path.is_absolute() else base / path
            if not ref.allow_outside:
                from assay.manifest.files import OUTSIDE_EXPECTED, inside

                if not inside(base, full):
                    raise PackInvalid(
                        [
                            Problem(
                                file=str(base),
                                field="policy_pack.path",
                                message=f"'{ref.path}' leaves the manifest's folder",
                                expected=OUTSIDE_EXPECTED,
                            )
                        ]
                    )
            pack = load_pack(full)
            if pack.id != ref.id:
                raise PackInvalid(
                    [
                        Problem(
                            file=str(full),
                            field="id",
                            message=f"the pack's id is '{pack.id}' but the manifest names '{ref.id}'",
                            expected=f"id: {ref.id}",
                        )
                    ]
                )
            return pack
        if builtin_pack_path(ref.id) is None:
            raise _unknown_id(ref.id, str(base_dir or "assay.yaml"), "policy_pack.id")
        return _builtin(ref.id)
    if isinstance(ref, Path) or _looks_like_path(ref):
        path = Path(ref).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        return load_pack(path)
    if builtin_pack_path(ref) is None:
        local = (base_dir / ref) if base_dir is not None else Path(ref)
        if local.is_file():
            return load_pack(local)
        raise _unknown_id(ref, ref, "(pack)")
    return _builtin(ref)


def list_builtin_packs() -> list[PolicyPack]:
    """Every built-in pack, loaded (overlays merged)."""
    return [_builtin(i) for i in builtin_pack_ids()]


def render_problems(problems: Iterable[Problem]) -> list[str]:
    return [p.render() for p in problems]
