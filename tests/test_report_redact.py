"""--redact: patient ids become stable keyed tokens and birth dates disappear from every output."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from igrt_edits.report.redact import Redactor
from tests.report_helpers import SMALL_ROWS, run_cli, write_extract

KEY = {"IGRT_EDITS_REDACT_KEY": "first key"}
TOKEN = re.compile(r"^R-[0-9a-f]{16}$")


def _expected(key: str, patient: str) -> str:
    digest = hmac.new(key.encode(), patient.encode(), hashlib.sha256).hexdigest()
    return "R-" + digest[:16]


def _outputs(tmp_path, source, env, name="run"):
    out = tmp_path / name
    out.mkdir()
    files = {
        "json": out / "f.json",
        "annotated": out / "a.parquet",
        "annotated_csv": out / "a.csv",
        "rejects": out / "r.csv",
        "summary": out / "s.json",
        "sarif": out / "f.sarif",
        "junit": out / "f.xml",
    }
    for fmt in ("json", "sarif", "junit"):
        args = [str(source), "--redact", "-o", str(files[fmt])]
        if fmt == "json":
            args += ["--annotated", str(files["annotated"]), "--rejects", str(files["rejects"])]
            args += ["--summary", str(files["summary"])]
        result = run_cli(args, env=env)
        assert result.exit_code == 1, result.stderr
        assert "P1" not in result.stderr + result.stdout
    run_cli([str(source), "--redact", "--annotated", str(files["annotated_csv"]), "-q"], env=env)
    table = run_cli([str(source), "--redact"], env=env)
    return files, table.stdout


def test_tokens_are_hmac_sha256_of_the_patient_id():
    redactor = Redactor(b"first key")
    assert redactor.token("P1") == _expected("first key", "P1")
    assert TOKEN.match(redactor.token("P1"))
    tokens = redactor.tokens(np.array(["P1", None, "P2", "P1"], dtype=object))
    assert tokens[0] == tokens[3] != tokens[2] and tokens[1] is None
    arrow = redactor.arrow(pa.chunked_array([["P1", "P2"], ["P1", None]]))
    assert arrow.to_pylist() == [tokens[0], tokens[2], tokens[0], None]


def test_each_distinct_patient_is_hashed_once(monkeypatch):
    calls = []
    original = Redactor.token

    def counting(self, patient_id):
        calls.append(patient_id)
        return original(self, patient_id)

    monkeypatch.setattr(Redactor, "token", counting)
    ids = np.array(["P1", "P2"] * 50_000, dtype=object)
    Redactor(b"k").tokens(ids)
    assert sorted(calls) == ["P1", "P2"]


def test_no_patient_id_or_birth_date_leaves_in_any_output(tmp_path):
    births = {
        "1960-05-01": "1960-05-17",
        "1970-01-01": "1971-03-19",
        "2015-01-01": "2014-07-23",
        "1980-01-01": "1981-09-29",
    }  # dates that appear nowhere else in the outputs
    rows = list(SMALL_ROWS)
    for old, new in births.items():
        rows = [row.replace(old, new) for row in rows]
    rows.append("C6,1,P6,1961-02-30,2025-03-03,77014,")  # a bad birth date: a reject
    source = write_extract(tmp_path / "claims.csv", rows)
    files, table = _outputs(tmp_path, source, KEY)
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in files.values()] + [table]
    texts.append(json.dumps(pq.read_table(files["annotated"]).to_pylist(), default=str))
    for text in texts:
        for patient in ("P1", "P2", "P3", "P4", "P6"):
            assert not re.search(rf"\b{patient}\b", text), patient
        for birth in (*births.values(), "1961-02-30"):
            assert birth not in text
    findings = json.loads(files["json"].read_text(encoding="utf-8"))["findings"]
    assert {f["patient_id"] for f in findings} == {
        _expected("first key", "P1"),
        _expected("first key", "P2"),
    }
    assert json.loads(files["summary"].read_text(encoding="utf-8"))["redacted"] is True
    rejects = pd.read_csv(files["rejects"])
    assert "patient_birth_date '[redacted]'" in " ".join(rejects["reason"])


def test_same_member_same_token_across_runs_and_outputs(tmp_path):
    source = write_extract(tmp_path / "claims.csv", SMALL_ROWS)
    first, _ = _outputs(tmp_path, source, KEY, "one")
    second, _ = _outputs(tmp_path, source, KEY, "two")
    assert first["json"].read_text(encoding="utf-8") != ""
    one = json.loads(first["json"].read_text(encoding="utf-8"))["findings"]
    two = json.loads(second["json"].read_text(encoding="utf-8"))["findings"]
    assert [f["patient_id"] for f in one] == [f["patient_id"] for f in two]
    annotated = pq.read_table(first["annotated"]).to_pandas()
    p1 = _expected("first key", "P1")
    assert set(annotated.loc[annotated["claim_id"] == "C1", "patient_id"]) == {p1}
    sarif = json.loads(first["sarif"].read_text(encoding="utf-8"))
    assert {r["properties"]["patient_id"] for r in sarif["runs"][0]["results"]} == {
        p1,
        _expected("first key", "P2"),
    }


def test_another_key_gives_other_tokens_and_a_named_variable_works(tmp_path):
    source = write_extract(tmp_path / "claims.csv", SMALL_ROWS)
    out = tmp_path / "f.json"
    run_cli([str(source), "--redact", "-o", str(out)], env=KEY)
    first = {f["patient_id"] for f in json.loads(out.read_text(encoding="utf-8"))["findings"]}
    env = {"IGRT_EDITS_REDACT_KEY": None, "OUR_KEY": "second key"}
    run_cli([str(source), "--redact", "--redact-key-env", "OUR_KEY", "-o", str(out)], env=env)
    second = {f["patient_id"] for f in json.loads(out.read_text(encoding="utf-8"))["findings"]}
    assert first.isdisjoint(second)
    assert second == {_expected("second key", "P1"), _expected("second key", "P2")}


def test_missing_key_is_a_usage_error(tmp_path):
    source = write_extract(tmp_path / "claims.csv", SMALL_ROWS)
    result = run_cli([str(source), "--redact"], env={"IGRT_EDITS_REDACT_KEY": None})
    assert result.exit_code == 2
    assert "IGRT_EDITS_REDACT_KEY" in result.stderr


def test_redacted_annotated_output_leaves_out_extra_columns(tmp_path):
    header = "claim_id,line_number,patient_id,patient_birth_date,service_date,procedure_code,name"
    source = write_extract(
        tmp_path / "claims.csv", ["C1,1,P1,1960-05-01,2025-03-03,77014,Jane Roe"], header=header
    )
    plain, redacted = tmp_path / "plain.parquet", tmp_path / "redacted.parquet"
    run_cli([str(source), "--annotated", str(plain), "-q"])
    run_cli([str(source), "--annotated", str(redacted), "--redact", "-q"], env=KEY)
    assert pq.read_table(plain).column("name").to_pylist() == ["Jane Roe"]
    assert "name" not in pq.read_table(redacted).column_names
    assert pq.read_table(redacted).column("patient_id").to_pylist() == [
        _expected("first key", "P1")
    ]
