"""CSV outputs never hand a spreadsheet a formula: cells starting = + - @ tab CR are neutralised."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from igrt_edits.report.tabular import FORMULA_START, csv_ready, neutralise, safe_cell, write_csv
from tests.report_helpers import run_cli, write_extract

DANGEROUS = [
    '=HYPERLINK("http://example.invalid","x")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
    "=cmd|' /C calc'!A0",
]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("value", DANGEROUS)
def test_dangerous_cells_get_an_apostrophe(value):
    assert safe_cell(value) == "'" + value
    assert neutralise(pa.array([value, "plain"])).to_pylist() == ["'" + value, "plain"]


def test_harmless_cells_and_numbers_are_untouched():
    table = pa.table(
        {
            "text": ["77014", "a=b", "", None, "C-1"],
            "number": [-5.0, 1.5, 0.0, None, 2.0],
            "refs": pa.array([["=A1", "B:2"], [], None, ["x"], ["-1"]]),
        }
    )
    ready = csv_ready(table)
    assert ready.column("text").to_pylist() == ["77014", "a=b", "", None, "C-1"]
    assert ready.column("number").to_pylist() == [-5.0, 1.5, 0.0, None, 2.0]
    # lists are joined first, then the joined cell is checked as a whole
    assert ready.column("refs").to_pylist() == ["'=A1; B:2", "", None, "x", "'-1"]
    assert set(FORMULA_START) == {"=", "+", "-", "@", "\t", "\r"}


def test_written_csv_reads_back_as_neutralised_text():
    sink = io.BytesIO()
    write_csv(sink, pa.table({"v": DANGEROUS, "n": list(range(len(DANGEROUS)))}))
    rows = _rows(sink.getvalue().decode("utf-8"))
    assert [r["v"] for r in rows] == ["'" + v for v in DANGEROUS]
    assert [r["n"] for r in rows] == [str(i) for i in range(len(DANGEROUS))]


def test_every_csv_output_of_check_is_neutralised(tmp_path):
    """Claim ids and extra columns from a hostile extract, through findings, annotated lines
    and rejects; the Parquet outputs keep the values exactly."""
    header = "claim_id,line_number,patient_id,patient_birth_date,service_date,procedure_code,note"
    rows = [
        '"=1+2",1,"@P1",1960-05-01,2025-03-03,77373,"=HYPERLINK(""x"")"',
        '"=1+2",2,"@P1",1960-05-01,2025-03-03,77014,"+cmd"',
        '"-bad",1,P2,1960-05-01,2025-02-30,77014,"-1"',
        'C9,1,P9,1960-05-01,2025-03-09,77290,"\t-1"',
    ]
    source = write_extract(tmp_path / "hostile.csv", rows, header=header)
    out = {n: tmp_path / n for n in ("f.csv", "a.csv", "r.csv", "a.parquet")}
    result = run_cli(
        [str(source), "-o", str(out["f.csv"]), "--annotated", str(out["a.csv"]), "--rejects",
         str(out["r.csv"]), "-q"]
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    findings = _rows(out["f.csv"].read_text(encoding="utf-8"))
    assert findings and all(f["claim_id"] == "'=1+2" for f in findings)
    assert all(f["patient_id"] == "'@P1" for f in findings)
    assert all(f["related_lines"] in ("'=1+2:1", "") for f in findings)
    annotated = _rows(out["a.csv"].read_text(encoding="utf-8"))
    assert [a["note"] for a in annotated] == ['\'=HYPERLINK("x")', "'+cmd", "", "'\t-1"]
    assert annotated[2]["claim_id"] == "'-bad"
    rejects = _rows(out["r.csv"].read_text(encoding="utf-8"))
    assert [r["claim_id"] for r in rejects] == ["'-bad"]
    for path in (out["f.csv"], out["a.csv"], out["r.csv"]):
        for row in _rows(path.read_text(encoding="utf-8")):
            for value in row.values():
                assert not value.startswith(FORMULA_START), (path.name, value)

    run_cli([str(source), "--annotated", str(out["a.parquet"]), "-q"])
    kept = pq.read_table(out["a.parquet"]).to_pylist()
    assert kept[0]["claim_id"] == "=1+2" and kept[0]["note"] == '=HYPERLINK("x")'
