"""The per-file and per-bucket steps of a distributed run, without a cluster engine.

Staging every file and linting the checked lines bucket by bucket (by a hash of patient_id)
gives the local run's findings; the Spark tests (tests/spark) check the whole run on Spark.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from igrt_edits.config import Config
from igrt_edits.ingest.readers import plan_read
from igrt_edits.report.frames import finding_records
from igrt_edits.rules.findings import order_findings
from igrt_edits.run.check import build_ruleset, context_options, run_check
from igrt_edits.run.distributed import (
    BUCKET_SCHEMA,
    FILE,
    LINE,
    REJECT,
    find_in_bucket,
    scope_of_whole_run,
    stage_file,
)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_claims"


def staged(path: Path, content: bytes | None = None) -> pa.Table:
    plan = plan_read(path, content=content)
    return pa.concat_tables(stage_file(plan, 0, context_options(Config())))


@pytest.mark.parametrize("name", ["radonc_demo.csv", "radonc_demo.parquet"])
@pytest.mark.parametrize("buckets", [1, 3])
def test_buckets_give_the_local_findings(catalog, name, buckets):
    path = SAMPLES / name
    _, ruleset, local = run_check([str(path)], Config(), catalog)
    table = staged(path, path.read_bytes())
    line_records = table.filter(pa.compute.equal(table["record"], LINE))
    lines = line_records.to_pandas()
    checked = lines[scope_of_whole_run(line_records, context_options(Config()))]
    bucket = pd.util.hash_array(checked["patient_id"].to_numpy(dtype=object)) % buckets
    parts = [find_in_bucket(checked[bucket == b], ruleset) for b in range(buckets)]
    findings = order_findings(pd.concat(parts, ignore_index=True))
    assert finding_records(findings) == finding_records(local.findings)
    expected = json.loads((SAMPLES / "radonc_demo.expected.json").read_text(encoding="utf-8"))
    assert len(findings) == len(expected)


def test_staged_rows_account_for_every_row(tmp_path, catalog):
    source = (SAMPLES / "radonc_demo.csv").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*source[:5], "C9,1,P9", *source[5:8]]) + "\n", encoding="utf-8")
    table = staged(bad)
    records = table["record"].to_pylist()
    summary = table.filter(pa.compute.equal(table["record"], FILE)).to_pylist()[0]
    assert summary["rows_read"] == records.count(LINE) + records.count(REJECT) == 8
    _, _, local = run_check([str(bad)], Config(), catalog)
    rejects = table.filter(pa.compute.equal(table["record"], REJECT))
    assert rejects["source_row"].to_pylist() == local.rejects["source_row"].to_pylist() == [6]


def test_bucket_output_has_plain_columns(catalog):
    """Spark's Arrow conversion takes int64 and object columns on any pandas version."""
    ruleset = build_ruleset(catalog, Config())
    table = staged(SAMPLES / "radonc_demo.csv")
    line_records = table.filter(pa.compute.equal(table["record"], LINE))
    lines = line_records.to_pandas()
    in_scope = scope_of_whole_run(line_records, context_options(Config()))
    findings = find_in_bucket(lines[in_scope][BUCKET_SCHEMA.names], ruleset)
    assert len(findings)
    for name, dtype in findings.dtypes.items():
        wanted = np.int64 if name in ("line_number", "source_row") else object
        assert dtype == wanted, name
