"""Formats and bad input: each format streams; unreadable input names the file and place, exits 2, and
leaves no card behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from assay.data import DataInputError, ScanOptions, scan_path

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

runner = CliRunner()
ROWS = [{"text": f"Row {i}: restart the router and wait.", "n": i} for i in range(50)]


def _scan_cli(path: Path, tmp_path: Path) -> tuple[int, str, Path]:
    out = tmp_path / "cards"
    result = runner.invoke(app, ["data", "scan", str(path), "--out", str(out), "--no-evidence"])
    return result.exit_code, result.output, out


def _assert_refused(path: Path, tmp_path: Path, *needles: str) -> None:
    code, output, out = _scan_cli(path, tmp_path)
    assert code == 2, output
    for n in needles:
        assert n in output, output
    assert not out.exists() or not any(out.iterdir()), "no card, not even a partial one"


def test_parquet_streams_and_truncated_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS * 40), path, row_group_size=200)
    card = scan_path(path, options=ScanOptions(workers=1))
    assert card.quality.rows == 2000 and card.columns == ["text"]
    assert card.duplicates.exact_rows == 2000 - 50
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    _assert_refused(cut, tmp_path, "cut.parquet", "Parquet")


def test_hugging_face_save_to_disk_folder(tmp_path: Path) -> None:
    folder = tmp_path / "hf"
    folder.mkdir()
    table = pa.Table.from_pylist(ROWS)
    with (
        pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink,
        pa.ipc.new_stream(sink, table.schema) as w,
    ):
        w.write_table(table, max_chunksize=16)
    (folder / "dataset_info.json").write_text(json.dumps({"license": "CC-BY-NC-4.0", "features": {}}))
    (folder / "state.json").write_text(
        json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]})
    )
    card = scan_path(folder, options=ScanOptions(workers=1), commercial=True)
    assert card.quality.rows == 50
    assert card.licence.declared == "CC-BY-NC-4.0" and card.licence.source == "dataset_info.json"
    assert [c.severity for c in card.licence.conflicts] == ["error"]


def test_truncated_arrow_shard_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "hf"
    folder.mkdir()
    table = pa.Table.from_pylist(ROWS * 20)
    shard = folder / "data-00000-of-00001.arrow"
    with pa.OSFile(str(shard), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table, max_chunksize=100)
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size * 2 // 3])
    with pytest.raises(DataInputError, match=r"data-00000-of-00001.arrow.*after row \d+"):
        scan_path(folder, options=ScanOptions(workers=1))


def test_csv_with_quoted_newlines_and_a_huge_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('title,body\nA,"two\nlines"\nB,plain\n')
    card = scan_path(path, options=ScanOptions(workers=1))
    assert card.quality.rows == 2 and card.columns == ["title", "body"]
    huge = tmp_path / "huge.csv"
    with huge.open("w") as fh:
        fh.write("title,body\nok,fine\n")
        fh.write("x," + "y" * (9 * 1024 * 1024) + "\n")  # over the 8 MiB line cap
    _assert_refused(huge, tmp_path, "huge.csv", "line 3", "longer than")


def test_a_few_non_utf8_rows_are_counted_with_their_offset(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    good = "".join(json.dumps(r) + "\n" for r in ROWS[:9])
    path.write_bytes(good.encode() + b'{"text": "caf\xe9"}\n')
    card = scan_path(path, options=ScanOptions(workers=1))
    assert card.quality.encoding_broken_rows == 1
    (problem,) = card.quality.problems
    assert problem.location.row == 10 and f"byte {len(good.encode()) + 13}" in problem.problem


def test_a_file_that_is_mostly_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Caf\u00e9 cr\u00e8me\n\nna\u00efve\n".encode("latin-1"))
    _assert_refused(path, tmp_path, "latin1.txt", "not UTF-8", "byte 3")


def test_a_symlink_leaving_the_dataset_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("not part of the dataset\n")
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "a.txt").write_text("hello there\n")
    os.symlink(secret, folder / "b.txt")
    _assert_refused(folder, tmp_path, "b.txt", "outside the dataset folder")
    # a link that stays inside is fine
    (folder / "b.txt").unlink()
    os.symlink(folder / "a.txt", folder / "b.txt")
    assert scan_path(folder, options=ScanOptions(workers=1)).quality.rows == 2


def test_malformed_and_empty_jsonl_rows_are_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "fine"}\n\n{"text": \n{"text": ""}\n' + "[" * 100 + "]" * 100 + "\n")
    card = scan_path(path, options=ScanOptions(workers=1))
    q = card.quality
    assert (q.rows, q.empty_rows, q.malformed_rows) == (5, 2, 2)
    assert any("nested deeper" in p.problem for p in q.problems)


def test_text_folder_and_readme_licence(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("First paragraph.\nStill first.\n\nSecond paragraph.\n")
    (folder / "sub" / "b.txt").write_text("Third.\n")
    (folder / "README.md").write_text("---\nlicense: cc-by-sa-4.0\n---\n# Docs\n")
    card = scan_path(folder, options=ScanOptions(workers=1), commercial=True)
    assert card.quality.rows == 3
    assert [f.path for f in card.files] == ["a.md", "sub/b.txt"]
    assert card.licence.spdx_ids == ["CC-BY-SA-4.0"] and "share-alike" in card.licence.flags


def test_missing_path_and_unknown_format(tmp_path: Path) -> None:
    _assert_refused(tmp_path / "nope.jsonl", tmp_path, "nope.jsonl", "no such file")
    odd = tmp_path / "d.xlsx"
    odd.write_bytes(b"PK")
    _assert_refused(odd, tmp_path, "d.xlsx", "unknown format")


def test_error_text_is_printed_as_is(tmp_path: Path) -> None:
    """A file name with brackets must not be read as Rich markup."""
    path = tmp_path / "[bold]data.xlsx"
    path.write_bytes(b"PK")
    code, output, _ = _scan_cli(path, tmp_path)
    assert code == 2 and "[bold]data.xlsx" in output


def test_invalid_manifest_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "hi"}\n')
    manifest = tmp_path / "assay.yaml"
    manifest.write_text("assay: 1\nsystem: {id: x}\n")
    result = runner.invoke(app, ["data", "scan", str(data), "-m", str(manifest), "--no-evidence"])
    assert result.exit_code == 2 and "invalid manifest" in result.output


def test_bad_input_with_worker_processes_stops_cleanly(tmp_path: Path) -> None:
    """The reader fails in the main process while workers hold batches: the error surfaces, the pool
    is torn down (the test would hang otherwise)."""
    path = tmp_path / "d.jsonl"
    good = "".join(json.dumps(r) + "\n" for r in ROWS * 40)
    path.write_text(good + json.dumps({"text": "z" * 5000}) + "\n")
    with pytest.raises(DataInputError, match=r"d.jsonl:line 2001 .*longer than 1,024 bytes"):
        scan_path(path, options=ScanOptions(workers=2, batch_rows=64, max_line=1024))


def test_plain_progress_lines_count_bytes(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    result = runner.invoke(app, ["data", "scan", str(path), "--no-evidence"])
    size = path.stat().st_size
    assert result.exit_code == 0 and f"{size}/{size} bytes (100%)" in result.output
