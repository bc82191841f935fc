"""A Spark run (local mode) gives exactly what a local run gives: findings, rejects, summary."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

if os.environ.get("IGRT_EDITS_REQUIRE_SPARK"):
    import pyspark  # noqa: F401  (the Spark environment must run these tests, not skip them)
else:
    pytest.importorskip("pyspark")

from click.testing import CliRunner
from spark_helpers import REPO, SAMPLES, local_spark, write_generated

from igrt_edits.cli import main
from igrt_edits.config import Config
from igrt_edits.errors import InputError, RejectRateError
from igrt_edits.report.frames import finding_records, findings_table
from igrt_edits.report.redact import Redactor
from igrt_edits.report.summary import build_summary
from igrt_edits.rules.findings import order_findings
from igrt_edits.run.check import run_check
from igrt_edits.run.spark.accounting import DRIVER_COLUMNS
from igrt_edits.run.spark.engine import check_dataframe, check_files

DEMO_CSV = SAMPLES / "radonc_demo.csv"
DEMO_PARQUET = SAMPLES / "radonc_demo.parquet"


@pytest.fixture(scope="module")
def spark():
    """One local Spark session for all the tests (starting one takes seconds)."""
    session = local_spark()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[Path]:
    return write_generated(tmp_path_factory.mktemp("generated"))


def outputs(catalog, ruleset, result) -> dict:
    """What a user sees of a run: findings, rejects and the summary (wall time aside)."""
    summary = build_summary(result, catalog, ruleset)
    summary.pop("wall_seconds")
    return {
        "findings": finding_records(result.findings),
        "rejects": result.rejects.to_pylist(),
        "summary": summary,
    }


def local_outputs(paths, config: Config | None = None) -> dict:
    return outputs(*run_check([str(p) for p in paths], config or Config()))


def spark_outputs(spark, paths, config: Config | None = None, buckets=None) -> dict:
    config = config or Config()
    catalog, ruleset, run = check_files(
        [str(p) for p in paths], config, spark=spark, buckets=buckets
    )
    try:
        return outputs(catalog, ruleset, run.result(config.max_reject_rate))
    finally:
        run.unpersist()


def assert_same(spark_run: dict, local_run: dict) -> None:
    assert spark_run["summary"] == local_run["summary"]
    assert spark_run["rejects"] == local_run["rejects"]
    assert len(spark_run["findings"]) == len(local_run["findings"])
    for got, want in zip(spark_run["findings"], local_run["findings"], strict=True):
        assert got == want


@pytest.mark.parametrize("path", [DEMO_CSV, DEMO_PARQUET], ids=["csv", "parquet"])
def test_sample_claims(spark, path):
    local = local_outputs([path])
    assert len(local["findings"]) == 26
    assert_same(spark_outputs(spark, [path]), local)


def test_generated_files_with_cross_file_patient_days(spark, generated):
    local = local_outputs(generated)
    assert local["summary"]["rows_read"] > 4000
    assert {r["column"] for r in local["rejects"]} == {
        None,  # the row with too few fields
        "service_date",
        "patient_id",
        "line_number",
    }
    assert {"unknown", "OTHER"} <= set(local["summary"]["settings_seen"])
    assert "unknown" in local["summary"]["schemes_seen"]
    # Some findings fire on lines of the other file (claims go to one file or the other).
    in_parquet = set(pq.read_table(generated[1], columns=["claim_id"])["claim_id"].to_pylist())

    def file_of(claim: str) -> str:
        return str(generated[1] if claim in in_parquet else generated[0])

    assert any(
        file_of(related.rsplit(":", 1)[0]) != file_of(finding["claim_id"])
        for finding in local["findings"]
        for related in finding["related_lines"]
    )
    assert_same(spark_outputs(spark, generated, buckets=7), local)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_project_generator_extract(spark, tmp_path, suffix):
    """An extract of igrt_edits.synth.generate: hospital and professional claims share patient-days."""
    from igrt_edits.synth.generate import write_extract

    path = tmp_path / f"generated.{suffix}"
    write_extract(path, 6000, seed=11, violation_rate=0.05, row_group_lines=1000)
    local = local_outputs([path])
    claims_of_days = {}
    for finding in local["findings"]:
        key = (finding["patient_id"], finding["service_date"])
        claims_of_days.setdefault(key, set()).add(finding["claim_id"])
    assert any(len(claims) > 1 for claims in claims_of_days.values())
    assert_same(spark_outputs(spark, [path], buckets=5), local)


def test_bucket_count_does_not_change_findings(spark, generated):
    one = spark_outputs(spark, generated, buckets=1)
    many = spark_outputs(spark, generated, buckets=13)
    assert one == many


def test_configuration_applies_as_locally(spark, generated):
    config = Config(
        select=("IGRT00",),
        ignore=("IGRT005",),
        severity={"IGRT006": "info"},
        adult_age=21,
        cpt_payers=("Horizon NJ Health",),
    )
    assert_same(spark_outputs(spark, generated, config), local_outputs(generated, config))


def test_unreadable_file_stops_the_run_with_the_local_message(spark, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("claim_id,line_number,patient_id\nC1,1,P1\n", encoding="utf-8")
    with pytest.raises(InputError) as local:
        run_check([str(DEMO_CSV), str(bad)], Config())
    with pytest.raises(InputError) as on_spark:
        check_files([str(DEMO_CSV), str(bad)], Config(), spark=spark)
    assert str(on_spark.value) == str(local.value)


def test_reject_share_limit(spark, generated):
    config = Config(max_reject_rate=0.001)
    with pytest.raises(RejectRateError) as local:
        run_check([str(p) for p in generated], config)
    with pytest.raises(RejectRateError) as on_spark:
        spark_outputs(spark, generated, config)
    assert str(on_spark.value) == str(local.value)


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_engine_spark_writes_what_the_local_cli_writes(spark, generated, tmp_path):
    files = [str(p) for p in generated]
    for engine in ("local", "spark"):
        result = cli(
            "check",
            *files,
            "--engine",
            engine,
            "-o",
            str(tmp_path / f"{engine}.json"),
            "--rejects",
            str(tmp_path / f"{engine}-rejects.csv"),
        )
        assert result.exit_code == 1, result.output
        csv = cli("check", *files, "--engine", engine, "--format", "csv")
        (tmp_path / f"{engine}.csv").write_text(csv.stdout, encoding="utf-8")
    local = json.loads((tmp_path / "local.json").read_text(encoding="utf-8"))
    on_spark = json.loads((tmp_path / "spark.json").read_text(encoding="utf-8"))
    local["summary"].pop("wall_seconds")
    on_spark["summary"].pop("wall_seconds")
    assert on_spark == local
    for name in ("rejects.csv", "csv"):
        spark_text = (tmp_path / f"spark{'-' if name != 'csv' else '.'}{name}").read_text()
        local_text = (tmp_path / f"local{'-' if name != 'csv' else '.'}{name}").read_text()
        assert spark_text == local_text


@pytest.fixture(scope="module")
def generator_extract(tmp_path_factory) -> Path:
    """A small extract written by `igrt-edits generate`."""
    path = tmp_path_factory.mktemp("generator") / "extract.csv"
    result = cli("generate", "--lines", "3000", "--seed", "5", "--out", str(path))
    assert result.exit_code == 0, result.output
    return path


def cli_both(tmp_path: Path, files: list, *options: str, env=None, baseline=False) -> dict:
    """`check FILES -o ENGINE.parquet --summary ... --rejects ... OPTIONS` on each engine.

    Returns each engine's exit code, its messages and the paths of its outputs.
    """
    runs = {}
    for engine in ("local", "spark"):
        out = {
            "findings": tmp_path / f"{engine}.parquet",
            "summary": tmp_path / f"{engine}-summary.json",
            "rejects": tmp_path / f"{engine}-rejects.csv",
            "baseline": tmp_path / f"{engine}-baseline.txt",
        }
        args = ["check", *map(str, files), "--engine", engine, "-o", str(out["findings"])]
        args += ["--summary", str(out["summary"]), "--rejects", str(out["rejects"]), *options]
        if baseline:
            args += ["--write-baseline", str(out["baseline"])]
        result = CliRunner(env=env).invoke(main, args, catch_exceptions=False)
        runs[engine] = {"exit": result.exit_code, "output": result.output, **out}
    return runs


def assert_same_parquet(runs: dict) -> None:
    """Spark wrote a directory that reads as the local run's Parquet file, with the same
    summary (wall time aside), rejects and exit status."""
    local, on_spark = runs["local"], runs["spark"]
    assert on_spark["exit"] == local["exit"], on_spark["output"]
    assert local["findings"].is_file() and on_spark["findings"].is_dir()
    want = pq.read_table(local["findings"])
    got = pq.read_table(on_spark["findings"])
    assert got.schema.equals(want.schema) and got.equals(want)
    assert pd.read_parquet(on_spark["findings"]).equals(pd.read_parquet(local["findings"]))
    summaries = [json.loads(r["summary"].read_text(encoding="utf-8")) for r in (local, on_spark)]
    for summary in summaries:
        summary.pop("wall_seconds")
        summary.get("baseline_written", {}).pop("path", None)  # each engine's own file
    assert summaries[1] == summaries[0]
    assert on_spark["rejects"].read_text() == local["rejects"].read_text()


@pytest.mark.parametrize("source", ["demo", "generator", "planted"])
def test_cli_spark_writes_parquet_findings_as_a_directory(
    spark, generated, generator_extract, tmp_path, source
):
    """-o FILE.parquet: Spark writes the findings (parts of one directory), read back as the
    local run's file: same rows, order, columns and types (service dates as dates)."""
    files = {"demo": [DEMO_CSV], "generator": [generator_extract], "planted": generated}[source]
    runs = cli_both(tmp_path, files)
    assert runs["local"]["exit"] == 1
    assert_same_parquet(runs)
    assert pq.read_table(runs["spark"]["findings"]).num_rows > 0


def test_cli_spark_parquet_with_redaction_selection_and_baseline(
    spark, generator_extract, tmp_path
):
    """--redact, --select/--ignore, --exit-zero and --write-baseline as in a local run; the
    patient ids Spark writes are the local run's keyed tokens."""
    options = ["--redact", "--select", "IGRT00", "--ignore", "IGRT005", "--exit-zero"]
    env = {"IGRT_EDITS_REDACT_KEY": "k1"}
    runs = cli_both(tmp_path, [generator_extract], *options, env=env, baseline=True)
    assert runs["local"]["exit"] == 0
    assert_same_parquet(runs)
    baseline = runs["spark"]["baseline"].read_text(encoding="utf-8")
    assert baseline == runs["local"]["baseline"].read_text(encoding="utf-8")
    written = pq.read_table(runs["spark"]["findings"])
    entries = [line for line in baseline.splitlines() if not line.startswith("#")]
    assert len(entries) == len(set(written["fingerprint"].to_pylist())) > 0
    assert "IGRT005" not in written["rule_id"].to_pylist()
    config = Config(select=("IGRT00",), ignore=("IGRT005",))
    _, _, plain = run_check([str(generator_extract)], config)
    tokens = Redactor(b"k1").tokens(order_findings(plain.findings)["patient_id"])
    assert written["patient_id"].to_pylist() == list(tokens)


def test_cli_spark_parquet_without_findings(spark, tmp_path):
    """No rule selected: the directory holds the schema and no rows, as the local file does
    (and replaces the file that was there)."""
    (tmp_path / "spark.parquet").write_text("prior", encoding="utf-8")
    runs = cli_both(tmp_path, [DEMO_CSV], "--select", "IGRT006", "--ignore", "IGRT006")
    assert runs["local"]["exit"] == 0
    assert_same_parquet(runs)
    assert pq.read_table(runs["spark"]["findings"]).num_rows == 0


def test_cli_spark_parquet_replaces_a_prior_output_only_on_success(
    spark, generated, tmp_path, monkeypatch
):
    """A failed run, or a Spark write interrupted before its rename, leaves the prior output
    as it was and nothing next to it; a run that succeeds replaces it."""
    from igrt_edits.run.spark import output as spark_output

    target = tmp_path / "findings.parquet"
    target.mkdir()
    (target / "part-0.parquet").write_text("prior", encoding="utf-8")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    args = ["check", str(DEMO_CSV), "--engine", "spark", "-o", str(target)]

    too_many = cli(*args, str(generated[0]), "--max-reject-rate", "0.0001")
    assert too_many.exit_code == 2, too_many.output
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before

    writer = spark_output.parquet_writer

    class Interrupted:
        def __init__(self, frame):
            self.writer = writer(frame)

        def parquet(self, path: str) -> None:
            self.writer.parquet(path)  # every part written, the directory not yet renamed
            raise KeyboardInterrupt

    monkeypatch.setattr(spark_output, "parquet_writer", Interrupted)
    interrupted = cli(*args)
    assert interrupted.exit_code == 130, interrupted.output
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    monkeypatch.undo()

    assert cli(*args).exit_code == 1
    assert target.is_dir() and pq.read_table(target).num_rows == 26
    assert [p.name for p in tmp_path.iterdir()] == ["findings.parquet"]


def test_output_directory_is_still_an_error_for_other_outputs(tmp_path):
    """Only Parquet findings written by Spark may replace a directory."""
    for engine, fmt in (("local", "parquet"), ("spark", "json")):
        result = cli(
            "check", str(DEMO_CSV), "--engine", engine, "--format", fmt, "-o", str(tmp_path)
        )
        assert result.exit_code == 2
        assert "is a directory" in result.output


def test_spark_writes_findings_as_parquet(spark, generated, tmp_path):
    """The API's write: Spark writes the findings (a directory), in contract order, as the
    local Parquet output holds them."""
    _, _, run = check_files([str(p) for p in generated], Config(), spark=spark)
    target = tmp_path / "findings.parquet"
    # Each sorted range its own part (not coalesced into one), to read the parts in order.
    spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
    try:
        for _ in range(2):  # a second write replaces the first
            result = run.write_findings(str(target), None)
    finally:
        spark.conf.unset("spark.sql.adaptive.coalescePartitions.enabled")
        run.unpersist()
    assert len(list(target.glob("part-*.parquet"))) > 1
    _, _, local = run_check([str(p) for p in generated], Config())
    assert pq.read_table(target).equals(findings_table(order_findings(local.findings)))
    assert len(result.findings) == len(local.findings)
    assert list(result.findings.columns) == list(DRIVER_COLUMNS)


def test_options_that_read_every_line_need_the_local_engine(tmp_path):
    result = cli(
        "check", str(DEMO_CSV), "--engine", "spark", "--annotated", str(tmp_path / "a.csv")
    )
    assert result.exit_code == 2
    assert "--engine local" in result.output


def test_dataframe_with_mapped_columns(spark):
    """A table with its own column names, numbered in read order like the local Parquet run."""
    frame = spark.read.parquet(str(DEMO_PARQUET)).withColumnRenamed("procedure_code", "HCPCS_CD")
    config = Config(columns={"procedure_code": "HCPCS_CD"})
    run = check_dataframe(frame, config, name=str(DEMO_PARQUET))
    try:
        _, _, local = run_check([str(DEMO_PARQUET)], Config())
        got = finding_records(run.result().findings)
    finally:
        run.unpersist()
    assert got == finding_records(local.findings)
    assert {"source_file", "source_row"} <= set(run.findings.columns)


def test_readme_example_runs_as_written(spark, tmp_path, monkeypatch):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running on Spark", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(REPO)
    namespace: dict = {"__name__": "readme"}
    code = code.replace("/tmp/igrt_findings", str(tmp_path / "igrt_findings"))
    exec(compile(code, "README.md", "exec"), namespace)
    written = spark.read.parquet(str(tmp_path / "igrt_findings"))
    assert written.count() == 26
    assert Path(tmp_path / "igrt_findings").is_dir()
