"""Hostile and broken input: zip bombs, path traversal, truncated JSON, huge sparse files,
unknown formats, mixed models, duplicate runs. Each gives one clear line, quickly."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest

import evalgap.io
from evalgap.errors import InputError
from evalgap.io import import_results, read_inspect, read_lmeval_samples

HEADER = {
    "version": 2,
    "status": "success",
    "eval": {"task": "t", "model": "m", "created": "2025-01-01T00:00:00+00:00"},
    "results": {
        "scores": [{"name": "match", "scorer": "match", "metrics": {"accuracy": {"value": 0.5}}}]
    },
}


def _eval(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _one_line(exc: pytest.ExceptionInfo[InputError]) -> str:
    line = exc.value.line()
    assert "\n" not in line
    return line


def test_good_handmade_eval(tmp_path: Path) -> None:
    path = _eval(tmp_path / "ok.eval", {"header.json": json.dumps(HEADER).encode()})
    (run,), _ = read_inspect(path)
    assert run.metrics["match/accuracy"].score == 0.5


def test_zip_bomb_member(tmp_path: Path) -> None:
    bomb = b"\x00" * (64 * 1024**2)  # 64 MiB of zeros: about 64 KiB deflated
    path = _eval(
        tmp_path / "bomb.eval",
        {"header.json": json.dumps(HEADER).encode(), "reductions.json": bomb},
    )
    assert path.stat().st_size < 1024**2
    with pytest.raises(InputError) as exc:
        read_inspect(path)
    line = _one_line(exc)
    assert "zip bomb" in line and "reductions.json" in line and "bomb.eval" in line


def test_zip_bomb_lying_header(tmp_path: Path) -> None:
    # A member whose central directory claims 10 bytes but which inflates to far more.
    big = json.dumps({"x": "a" * (4 * 1024**2)}).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("header.json", big)
    data = bytearray(buf.getvalue())
    # Patch the uncompressed size in the central directory entry to 10.
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    path = tmp_path / "liar.eval"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as exc:
        read_inspect(path)
    assert "liar.eval" in _one_line(exc)


@pytest.mark.parametrize(
    "name", ["../../evil.json", "/etc/evil.json", "samples\\..\\..\\evil.json", "C:/evil.json"]
)
def test_zip_path_traversal(tmp_path: Path, name: str) -> None:
    path = _eval(tmp_path / "trav.eval", {"header.json": json.dumps(HEADER).encode(), name: b"{}"})
    with pytest.raises(InputError) as exc:
        read_inspect(path)
    line = _one_line(exc)
    assert "path traversal" in line and repr(name) in line
    assert not (tmp_path.parent / "evil.json").exists()


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.eval"
    path.write_text("{}")
    with pytest.raises(InputError, match="not a zip archive"):
        read_inspect(path)


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("results_2024-01-01T00-00-00.json", '{"results": {"t": {"acc,none": 0.5', "line 1"),
        ("log.json", json.dumps(HEADER)[:-20], "line 1"),
        (
            "samples_t_2024-01-01T00-00-00.jsonl",
            '{"doc_id": 0, "acc": 1}\n{"doc_id": 1, "ac',
            "line 2",
        ),
    ],
)
def test_truncated_json(tmp_path: Path, name: str, text: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    if name.startswith("samples"):
        with pytest.raises(InputError) as exc:
            read_lmeval_samples(path)
    else:
        with pytest.raises(InputError) as exc:
            import_results(path)
    line = _one_line(exc)
    assert name in line and where in line and "invalid JSON" in line


def test_truncated_eval_member(tmp_path: Path) -> None:
    path = _eval(tmp_path / "cut.eval", {"header.json": json.dumps(HEADER).encode()[:-5]})
    with pytest.raises(InputError, match=r"zip member 'header.json'.*invalid JSON"):
        read_inspect(path)


@pytest.mark.parametrize(
    "name",
    [
        "results_2024-01-01T00-00-00.json",
        "big.eval",
        "samples_t_2024-01-01T00-00-00.jsonl",
        "log.json",
        "scores.csv",
        "contents.parquet",
    ],
)
def test_two_gigabyte_sparse_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with open(path, "wb") as fh:
        fh.truncate(2 * 1024**3)
    start = time.perf_counter()
    with pytest.raises(InputError) as exc:
        import_results(path)
    assert time.perf_counter() - start < 2.0
    line = _one_line(exc)
    assert name in line


def test_large_json_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evalgap.io._records as records

    path = tmp_path / "results_2024-01-01T00-00-00.json"
    path.write_text(
        json.dumps(
            {
                "results": {"t": {"acc,none": 0.5}},
                "versions": {},
                "model_name": "m",
                "pad": "x" * 5000,
            }
        )
    )
    monkeypatch.setattr(records, "MAX_JSON_BYTES", 1000)
    with pytest.raises(InputError, match="larger than"):
        records.load_json(path, max_bytes=records.MAX_JSON_BYTES)


def test_streamed_inspect_log_of_many_samples(tmp_path: Path) -> None:
    # 20,000 samples in a .json log: read through the stream, one sample at a time.
    log = dict(HEADER)
    log["samples"] = [
        {
            "id": i,
            "epoch": 1,
            "scores": {"match": {"value": "C" if i % 2 else "I"}},
            "messages": ["x" * 50],
        }
        for i in range(20000)
    ]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(log))
    (run,), _ = read_inspect(path)
    assert len(run.items["match/accuracy"]) == 20000


def test_unknown_format_explicit_and_in_folder(tmp_path: Path) -> None:
    pkl = tmp_path / "scores.pkl"
    pkl.write_bytes(b"\x80\x04\x95\x00\x00\x00")
    with pytest.raises(InputError) as exc:
        import_results(pkl)
    assert "unknown format" in _one_line(exc)
    (tmp_path / "long.csv").write_text("model,benchmark,score\nm,b,1\n")
    result = import_results(tmp_path)
    assert "scores.pkl" in " ".join(result.skipped["source"])


def test_nothing_is_unpickled() -> None:
    # The readers use json, zipfile and pyarrow only: no pickle anywhere in evalgap.io.
    root = Path(evalgap.io.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        assert (
            "import pickle" not in text
            and "pd.read_pickle" not in text
            and "allow_pickle=True" not in text
        ), path


def test_mixed_models_in_one_samples_file(tmp_path: Path) -> None:
    path = tmp_path / "samples_t_2024-01-01T00-00-00.jsonl"
    path.write_text("".join(json.dumps({"doc_id": i % 3, "acc": 1}) + "\n" for i in range(6)))
    with pytest.raises(InputError) as exc:
        read_lmeval_samples(path)
    line = _one_line(exc)
    assert "doc_id 0 appears twice" in line and "line 4" in line and "mixed" in line


def test_items_from_another_run_are_flagged(tmp_path: Path) -> None:
    (tmp_path / "results_2024-01-01T00-00-00.json").write_text(
        json.dumps({"results": {"t": {"acc,none": 0.9}}, "versions": {}, "model_name": "m"})
    )
    (tmp_path / "samples_t_2024-01-01T00-00-00.jsonl").write_text(
        "".join(json.dumps({"doc_id": i, "acc": i % 2}) + "\n" for i in range(4))
    )
    result = import_results(tmp_path)
    assert result.warnings["message"].str.contains("differs from the reported acc").any()


def test_duplicate_runs_rule_is_stated(tmp_path: Path) -> None:
    for day, score in (("2025-01-02", 0.7), ("2025-01-01", 0.6)):
        header = json.loads(json.dumps(HEADER))
        header["eval"]["created"] = f"{day}T00:00:00+00:00"
        header["results"]["scores"][0]["metrics"]["accuracy"]["value"] = score
        _eval(tmp_path / f"{day}.eval", {"header.json": json.dumps(header).encode()})
    result = import_results(tmp_path)
    assert result.records["score"].tolist() == [0.7]
    assert "latest recorded time" in result.duplicate_rule
    message = result.warnings["message"].iloc[0]
    assert (
        "2 runs of model 'm' on 't'" in message and "2025-01-02.eval" in message.split("dropped")[0]
    )
