"""The notebook API: the same results as the CLI, on the demo and on generated extracts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
from report_helpers import DEMO, REDACT_KEY, REPO, run_cli

import igrt_edits
from igrt_edits.synth.generate import write_extract


def cli_outputs(tmp_path: Path, paths: list[str], *args: str) -> dict:
    """findings.parquet, rejects.parquet and summary.json of one CLI run."""
    out = {k: tmp_path / f"cli-{k}" for k in ("findings.parquet", "rejects.parquet", "summary")}
    result = run_cli(
        [
            *paths,
            "-o",
            str(out["findings.parquet"]),
            "--rejects",
            str(out["rejects.parquet"]),
            "--summary",
            str(out["summary"]),
            *args,
        ]
    )
    assert result.exit_code in (0, 1), result.output
    return {
        "findings": pd.read_parquet(out["findings.parquet"]),
        "rejects": pd.read_parquet(out["rejects.parquet"]),
        "summary": json.loads(out["summary"].read_text()),
        "status": result.exit_code,
    }


def same_run(api: igrt_edits.Result, cli: dict) -> None:
    pd.testing.assert_frame_equal(api.findings, cli["findings"])
    pd.testing.assert_frame_equal(api.rejects, cli["rejects"])
    drop = ("wall_seconds",)
    assert {k: v for k, v in api.summary.items() if k not in drop} == {
        k: v for k, v in cli["summary"].items() if k not in drop
    }
    assert api.exit_status == cli["status"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("api") / "generated.parquet"
    write_extract(str(path), 20_000, 7, violation_rate=0.07)
    return path


def test_demo_path_gives_the_cli_results(tmp_path):
    demo = str(REPO / DEMO)
    same_run(igrt_edits.check(demo), cli_outputs(tmp_path, [demo]))


def test_generated_extract_gives_the_cli_results(tmp_path, generated):
    api = igrt_edits.check(generated, select="IGRT0", fail_on="warning")
    assert len(api.findings) > 100  # a real run, not an empty one
    same_run(
        api, cli_outputs(tmp_path, [str(generated)], "--select", "IGRT0", "--fail-on", "warning")
    )


def test_streamed_run_gives_the_same_results(tmp_path, generated):
    same_run(
        igrt_edits.check([generated], stream=True),
        cli_outputs(tmp_path, [str(generated)], "--stream"),
    )


def without_file(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["source_file"])


def test_dataframe_and_table_are_checked_as_their_file(tmp_path, generated):
    cli = cli_outputs(tmp_path, [str(generated)])
    table = pq.read_table(generated)
    for data, name in ((table, "<Table>"), (table.to_pandas(), "<DataFrame>")):
        api = igrt_edits.check(data)
        pd.testing.assert_frame_equal(without_file(api.findings), without_file(cli["findings"]))
        assert set(api.findings["source_file"]) == {name}
        assert api.summary["files"][0]["path"] == name
        assert "sha256" not in api.summary["files"][0]
        for key in ("rows_read", "rows_checked", "rows_rejected", "findings_by_rule"):
            assert api.summary[key] == cli["summary"][key]


def test_demo_csv_read_by_pandas_gives_the_cli_findings(tmp_path):
    cli = cli_outputs(tmp_path, [str(REPO / DEMO)])
    frame = pd.read_csv(REPO / DEMO, dtype=str, keep_default_na=False)
    api = igrt_edits.check(frame, name="demo")
    pd.testing.assert_frame_equal(without_file(api.findings), without_file(cli["findings"]))


def test_options_as_the_cli_takes_them(tmp_path):
    renamed = pd.read_csv(REPO / DEMO, dtype=str, keep_default_na=False).rename(
        columns={"procedure_code": "HCPCS_CD"}
    )
    api = igrt_edits.check(
        renamed, columns={"procedure_code": "HCPCS_CD"}, ignore=["IGRT01"], adult_age=21
    )
    assert api.findings["rule_id"].str.startswith("IGRT01").sum() == 0
    assert api.summary["rows_read"] == 436 and len(api.findings) > 0
    redacted = igrt_edits.check(str(REPO / DEMO), redact_key=REDACT_KEY["IGRT_EDITS_REDACT_KEY"])
    cli = run_cli([str(REPO / DEMO), "--format", "json", "--redact"], env=REDACT_KEY)
    assert redacted.findings["patient_id"].tolist() == [
        f["patient_id"] for f in json.loads(cli.stdout)["findings"]
    ]


def test_config_file_and_config_object(tmp_path):
    config = tmp_path / "igrt-edits.toml"
    config.write_text('[rules]\nselect = ["IGRT005"]\n')
    by_file = igrt_edits.check(str(REPO / DEMO), config)
    assert set(by_file.findings["rule_id"]) == {"IGRT005"}
    from igrt_edits.config import Config

    assert set(igrt_edits.check(str(REPO / DEMO), Config(ignore=("IGRT0",))).findings) == set(
        by_file.findings
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: igrt_edits.check("no-such.csv"), "no-such.csv: no such file or directory"),
        (lambda: igrt_edits.check(42), "data: expected a pandas DataFrame"),
        (lambda: igrt_edits.check(str(REPO / DEMO), selct="IGRT"), "unknown option 'selct'"),
        (
            lambda: igrt_edits.check(str(REPO / DEMO), select="XYZ"),
            "select/ignore 'XYZ' matches no rule",
        ),
        (
            lambda: igrt_edits.check(pd.DataFrame({"claim_id": ["C1"]})),
            "<DataFrame>: required column 'line_number' not found",
        ),
        (lambda: igrt_edits.check(str(REPO / DEMO), fail_on="loud"), "fail_on 'loud'"),
    ],
)
def test_errors_are_one_class_with_the_cli_message(call, message):
    with pytest.raises(igrt_edits.RunError) as raised:
        call()
    assert message in str(raised.value)


def test_missing_column_message_is_the_clis(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("claim_id,line_number\nC1,1\n")
    with pytest.raises(igrt_edits.RunError) as raised:
        igrt_edits.check(str(path))
    cli = run_cli([str(path)])
    assert cli.exit_code == 2
    assert cli.stderr.strip() == f"igrt-edits: error: {raised.value}"


def test_reports_from_the_result(tmp_path):
    result = igrt_edits.check(str(REPO / DEMO))
    book = openpyxl.load_workbook(result.to_excel(tmp_path / "r.xlsx"))
    assert book["Findings"].max_row == len(result.findings) + 1
    page = result.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "IGRT005" in page
    with pytest.raises(igrt_edits.RunError, match="does not exist"):
        result.to_excel(tmp_path / "missing" / "r.xlsx")


def test_importing_the_package_stays_cheap():
    code = "import sys, igrt_edits; print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python API") :]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's Python API section has no python block"
    return blocks[0]


def test_readme_example_runs_as_written(tmp_path):
    """The README's notebook example, run where the demo is at sample_claims/ (as in a
    checkout), in a scratch folder so the reports it writes go there."""
    (tmp_path / "sample_claims").symlink_to(REPO / "sample_claims")
    script = tmp_path / "example.py"
    script.write_text(readme_example(), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "IGRT005" in out.stdout
