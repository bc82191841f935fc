"""Streaming mode equals the in-memory run, and leaves no temporary files behind."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from igrt_edits.config import Config
from igrt_edits.ingest.readers import discover
from igrt_edits.run import local as pipeline
from igrt_edits.run.check import build_ruleset, context_options, lint
from igrt_edits.run.local import LoadOptions
from igrt_edits.run.stream import lint_streamed
from igrt_edits.synth.generate import generate_claims
from igrt_edits.util.hashing import fnv1a64

PARTITIONS = 5


def _records(result):
    records = result.findings.to_dict("records")
    for record in records:
        record["related_lines"] = list(record["related_lines"])
    return records


def _same(a, b):
    assert _records(a) == _records(b)
    assert a.totals() == b.totals()
    assert [f.accounting() for f in a.files] == [f.accounting() for f in b.files]
    assert a.rejects.to_pylist() == b.rejects.to_pylist()
    assert (a.settings_seen, a.schemes_seen) == (b.settings_seen, b.schemes_seen)
    assert (a.patients_checked, a.claims_checked) == (b.patients_checked, b.claims_checked)
    assert a.charges_flagged == pytest.approx(b.charges_flagged, abs=0.01)


def _patients_in_different_partitions() -> tuple[str, str]:
    names = [f"X{i}" for i in range(50)]
    part = fnv1a64(pa.array(names)) % np.uint64(PARTITIONS)
    first = names[0]
    second = next(n for n, p in zip(names, part, strict=True) if p != part[0])
    return first, second


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Generated claims split across a CSV and a Parquet file, plus hand-made conflicts."""
    root = tmp_path_factory.mktemp("stream")
    lines = generate_claims(20_000, seed=11)
    professional = pc.equal(lines.column("claim_type"), "professional")
    pq.write_table(lines.filter(professional), root / "a.parquet")  # patient-days span files
    pa_csv.write_csv(lines.filter(pc.invert(professional)), root / "b.csv")
    p1, p2 = _patients_in_different_partitions()
    (root / "c.csv").write_text(
        "claim_id,line_number,patient_id,service_date,procedure_code,modifiers,units,place_of_service\n"
        f"Z1,1,{p1},2019-05-01,77014,,1,11\n"
        f"Z1,2,{p2},2019-05-01,77014,,1,11\n"  # one claim under two patients, two partitions
        f"Z2,1,{p1},2019-05-02,77014,,1,11\n"
        f"Z2,1,{p1},2019-05-02,G6002,,1,11\n"  # a repeated claim line
        f"Z3,1,{p1},2019-05-03,77014,,1,11\n"
        f"Z3,2,{p1},2019-05-03\n"  # a short row
        f"Z4,1,{p2},2019-05-03,G6002,,2,11\n",
        encoding="utf-8",
    )
    return root


def test_streaming_equals_in_memory(inputs, catalog, monkeypatch):
    config = Config()
    ruleset = build_ruleset(catalog, config)
    context = context_options(config)
    paths = [str(inputs / n) for n in ("a.parquet", "b.csv", "c.csv")]
    in_memory = lint(paths, ruleset, context, stream=False)
    files, _ = discover(paths)
    monkeypatch.setattr(pipeline, "BATCH_LINES", 2_500)  # several batches per file
    streamed = lint_streamed(files, ruleset, context, LoadOptions(), None, partitions=PARTITIONS)
    _same(in_memory, streamed)
    reasons = {r["reason"].split(" (")[0] for r in streamed.rejects.to_pylist()}
    assert "claim_id appears under more than one patient_id" in reasons
    assert len(in_memory.findings["rule_id"].unique()) == 14


def test_stream_option_of_lint(inputs, catalog):
    ruleset = build_ruleset(catalog, Config())
    context = context_options(Config())
    path = [str(inputs / "b.csv")]
    _same(lint(path, ruleset, context, stream=False), lint(path, ruleset, context, stream=True))


def test_temporary_files_are_removed_on_success_and_failure(inputs, catalog, tmp_path, monkeypatch):
    ruleset = build_ruleset(catalog, Config())
    context = context_options(Config())
    files, _ = discover([str(inputs / "b.csv")])
    lint_streamed(
        files, ruleset, context, LoadOptions(), None, partitions=3, temp_dir=str(tmp_path)
    )
    assert list(tmp_path.iterdir()) == []

    import igrt_edits.run.stream as stream

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stream, "check_lines", fail)
    with pytest.raises(KeyboardInterrupt):
        lint_streamed(
            files, ruleset, context, LoadOptions(), None, partitions=3, temp_dir=str(tmp_path)
        )
    assert list(tmp_path.iterdir()) == []
    assert Path(tempfile.gettempdir()).exists()
