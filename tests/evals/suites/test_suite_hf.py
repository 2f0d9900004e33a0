"""Local Hugging Face material, built here with pyarrow in the layouts `datasets` writes (no download).

Assumed layout of `Dataset.save_to_disk` (datasets 2.x/3.x): `data-0000N-of-0000M.arrow` shards in the
Arrow IPC stream format, `dataset_info.json` (features) and `state.json` (`_data_files` in order);
`DatasetDict.save_to_disk` adds `dataset_dict.json` (`{"splits": [...]}`) and one such folder per split.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from assay.evals.suites import SuiteInvalid, load_samples, load_suite  # noqa: E402

FEATURES = {
    "question": {"dtype": "string", "_type": "Value"},
    "label": {"names": ["no", "yes"], "_type": "ClassLabel"},
}


def _table(questions: list[str], labels: list[int]) -> pa.Table:
    return pa.table({"question": questions, "label": pa.array(labels, pa.int64())})


def save_to_disk(folder: Path, shards: list[pa.Table]) -> Path:
    """Write what `Dataset.save_to_disk` writes: stream-format shards plus the two JSON sidecars."""
    folder.mkdir(parents=True)
    names = [f"data-{i:05d}-of-{len(shards):05d}.arrow" for i in range(len(shards))]
    for name, table in zip(names, shards, strict=True):
        with pa.OSFile(str(folder / name), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    info = {"citation": "", "description": "toy", "features": FEATURES, "homepage": "", "license": ""}
    (folder / "dataset_info.json").write_text(json.dumps(info))
    state = {
        "_data_files": [{"filename": n} for n in names],
        "_fingerprint": "0123456789abcdef",
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    (folder / "state.json").write_text(json.dumps(state))
    return folder


def test_save_to_disk_folder(tmp_path):
    folder = save_to_disk(tmp_path / "toy", [_table(["a?", "b?"], [1, 0]), _table(["c?"], [1])])
    samples, report = load_samples(folder)
    assert [(s.id, s.input, s.target) for s in samples] == [
        ("0", "a?", "yes"),
        ("1", "b?", "no"),
        ("2", "c?", "yes"),
    ]
    assert report.format == "hf-saved-dataset"
    suite, _ = load_suite(folder, scorers=["exact"])
    assert suite.id == "toy" and len(suite.samples) == 3


def test_dataset_dict_with_split(tmp_path):
    root = tmp_path / "dd"
    save_to_disk(root / "train", [_table(["t1", "t2", "t3"], [0, 1, 0])])
    save_to_disk(root / "test", [_table(["x1"], [1])])
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    train, report = load_samples(root, split="train")
    assert [s.input for s in train] == ["t1", "t2", "t3"]
    # the only notes: which columns were taken by their common names (said, never silent)
    assert [w.field for w in report.warnings] == ["input_field", "target_field"]
    assert "using column 'label' as the expected answer" in report.warnings[1].message
    assert "using column 'question' as the prompt" in report.warnings[0].message
    _, explicit = load_samples(root, split="train", input_field="question", target_field="label")
    assert not explicit.warnings
    chosen, report = load_samples(root)
    assert [s.input for s in chosen] == ["x1"]
    assert "using 'test'" in report.warnings[0].message
    with pytest.raises(SuiteInvalid) as exc:
        load_samples(root, split="validation")
    assert exc.value.problems[0].field == "split" and "train, test" in exc.value.problems[0].expected


def test_parquet_file(tmp_path):
    path = tmp_path / "qa.parquet"
    table = pa.table({"prompt": ["p1", "p2", ""], "answer": ["a1", "a2", "a3"], "score": [1.5, 2.0, 3.0]})
    pq.write_table(table, path)
    samples, report = load_samples(path)
    assert [(s.input, s.target, s.metadata) for s in samples] == [
        ("p1", "a1", {"score": 1.5}),
        ("p2", "a2", {"score": 2.0}),
    ]
    [problem] = report.skipped
    assert problem.file == str(path) and problem.field == "[2].prompt" and problem.line is None


def test_snapshot_folder(tmp_path):
    root = tmp_path / "snapshot"
    (root / "data").mkdir(parents=True)
    (root / ".cache").mkdir()
    (root / "README.md").write_text("# card")
    (root / ".cache" / "junk.jsonl").write_text("not json\n")
    pq.write_table(
        pa.table({"question": ["tr"], "target": ["x"]}), root / "data" / "train-00000-of-00001.parquet"
    )
    for i in range(2):
        table = pa.table({"question": [f"te{i}a", f"te{i}b"], "target": ["y", "z"]})
        pq.write_table(table, root / "data" / f"test-0000{i}-of-00002.parquet")
    samples, report = load_samples(root)
    assert [s.input for s in samples] == ["te0a", "te0b", "te1a", "te1b"]
    assert [s.id for s in samples] == ["0", "1", "2", "3"]
    assert report.format == "folder" and "using 'test'" in report.warnings[0].message
    train, _ = load_samples(root, split="train")
    assert [s.input for s in train] == ["tr"]


def test_snapshot_of_jsonl_files_keeps_line_numbers(tmp_path):
    root = tmp_path / "snap"
    root.mkdir()
    (root / "test.jsonl").write_text('{"input": "a"}\n{"input": \n')
    samples, report = load_samples(root)
    assert len(samples) == 1
    assert report.skipped[0].file == str(root / "test.jsonl") and report.skipped[0].line == 2


def test_arrow_file_format_is_accepted_too(tmp_path):
    path = tmp_path / "rows.arrow"
    table = pa.table({"input": ["q"], "target": ["a"]})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    [sample], _ = load_samples(path)
    assert sample.input == "q"
