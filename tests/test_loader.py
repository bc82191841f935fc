"""Loading per the data contract: every accepted input form, and bad input with its message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from igrt_edits.cli import main
from igrt_edits.config import Config, parse_mapping
from igrt_edits.errors import InputError, RejectRateError
from igrt_edits.ingest.columns import match_columns
from igrt_edits.run.check import run_check

from conftest import shared_path

HEADER = "claim_id,line_number,patient_id,service_date,procedure_code"


def write(tmp_path: Path, text: str, name: str = "claims.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.lstrip("\n").encode(encoding))
    return path


def run(paths, **config):
    _, _, result = run_check([str(p) for p in paths], Config(**config), keep_lines=True)
    return result


def lines_of(result) -> list[dict]:
    """The checked lines of a run (not out of scope, not rejected for a claim conflict)."""
    columns = ["claim_id", "line_number", "patient_id", "service_date", "procedure_code"]
    checked = pc.equal(result.lines.column("_status"), "checked")
    return result.lines.filter(checked).select(columns).to_pylist()


# --- column matching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("claim_number", "claim_id"),
        ("CLM_ID", "claim_id"),
        ("Line No", "line_number"),
        ("line_num", "line_number"),
        ("clm_line_num", "line_number"),
        ("Member-ID", "patient_id"),
        ("subscriber_id", "patient_id"),
        ("BENE_ID", "patient_id"),
        ("date_of_service", "service_date"),
        ("DOS", "service_date"),
        ("line_from_date", "service_date"),
        ("from_date", "service_date"),
        ("LINE_1ST_EXPNS_DT", "service_date"),
        ("hcpcs", "procedure_code"),
        ("HCPCS Code", "procedure_code"),
        ("hcpcs_cd", "procedure_code"),
        ("cpt", "procedure_code"),
        ("cpt_code", "procedure_code"),
        ("proc_code", "procedure_code"),
    ],
)
def test_required_aliases(header, canonical):
    base = {
        "claim_id": "claim_id",
        "line_number": "line_number",
        "patient_id": "patient_id",
        "service_date": "service_date",
        "procedure_code": "procedure_code",
    }
    base[canonical] = header
    columns = match_columns(list(base.values()), "f.csv")
    assert columns.single[canonical] == header


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("units_of_service", "units"),
        ("service_units", "units"),
        ("qty", "units"),
        ("LINE_SRVC_CNT", "units"),
        ("pos", "place_of_service"),
        ("LINE_PLACE_OF_SRVC_CD", "place_of_service"),
        ("type_of_bill", "bill_type"),
        ("tob", "bill_type"),
        ("payer_id", "payer"),
        ("plan", "payer"),
        ("birth_date", "patient_birth_date"),
        ("dob", "patient_birth_date"),
        ("age", "patient_age"),
        ("modality", "beam_modality"),
        ("rendering_npi", "provider_id"),
        ("billing_npi", "provider_id"),
        ("line_charge", "charge_amount"),
        ("charge", "charge_amount"),
    ],
)
def test_optional_aliases(header, canonical):
    columns = match_columns([*HEADER.split(","), header], "f.csv")
    assert columns.single[canonical] == header


@pytest.mark.parametrize(
    ("headers", "family", "expected"),
    [
        (["modifier_1", "modifier_2", "modifier_3", "modifier_4"], "modifiers", None),
        (["mod2", "mod1"], "modifiers", ["mod1", "mod2"]),
        (["HCPCS_2ND_MDFR_CD", "HCPCS_1ST_MDFR_CD"], "modifiers", None),
        (["modifiers"], "modifiers", None),
        (["dx_2", "dx_1", "dx_10"], "diagnosis_codes", ["dx_1", "dx_2", "dx_10"]),
        (["diagnosis_1", "diagnosis_2"], "diagnosis_codes", None),
        (["ICD_DGNS_CD1", "PRNCPAL_DGNS_CD", "ICD_DGNS_CD12"], "diagnosis_codes", None),
        (["diagnosis_codes"], "diagnosis_codes", None),
    ],
)
def test_column_families(headers, family, expected):
    columns = match_columns([*HEADER.split(","), *headers], "f.csv")
    if expected is None:
        expected = (
            ["HCPCS_1ST_MDFR_CD", "HCPCS_2ND_MDFR_CD"]
            if "HCPCS_2ND_MDFR_CD" in headers
            else ["PRNCPAL_DGNS_CD", "ICD_DGNS_CD1", "ICD_DGNS_CD12"]
            if "PRNCPAL_DGNS_CD" in headers
            else headers
        )
    assert list(columns.families[family]) == expected


def test_user_mapping_wins_over_aliases():
    columns = match_columns(
        [*HEADER.split(","), "HCPCS_CD", "alt_code"], "f.csv", {"procedure_code": "alt_code"}
    )
    assert columns.single["procedure_code"] == "alt_code"
    assert "HCPCS_CD" in columns.passthrough
    assert "procedure_code" in columns.passthrough


def test_map_option_parsing():
    assert parse_mapping(("procedure_code=HCPCS_CD", "dx_codes=x")[:1]) == {
        "procedure_code": "HCPCS_CD"
    }
    assert parse_mapping(("diagnosis_codes=A", "diagnosis_codes=B")) == {
        "diagnosis_codes": ["A", "B"]
    }


def test_unknown_columns_are_carried_through():
    columns = match_columns([*HEADER.split(","), "Rendering Name", "notes"], "f.csv")
    assert columns.passthrough == ("Rendering Name", "notes")


# --- CSV forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", "|", "\t", ";"])
def test_delimiters_are_detected(tmp_path, delimiter):
    rows = [HEADER.split(","), ["C1", "1", "P1", "2019-05-01", "77014"]]
    path = write(tmp_path, "\n".join(delimiter.join(r) for r in rows) + "\n")
    result = run([path])
    assert lines_of(result)[0]["procedure_code"] == "77014"
    assert result.totals()["rows_checked"] == 1


def test_delimiter_option(tmp_path):
    path = write(
        tmp_path,
        "claim_id;line_number;patient_id;service_date;procedure_code\nC1;1;P1;2019-05-01;77014\n",
    )
    assert run([path], delimiter=";").totals()["rows_checked"] == 1


@pytest.mark.parametrize(
    "text",
    ["2019-05-01", "05/01/2019", "5/1/2019", "20190501", "01-May-2019", "01-MAY-2019"],
)
def test_date_forms(tmp_path, text):
    path = write(tmp_path, f"{HEADER}\nC1,1,P1,{text},77014\n")
    assert lines_of(run([path]))[0]["service_date"] == dt.date(2019, 5, 1)


def test_bom_and_quoted_fields(tmp_path):
    text = f'\ufeff{HEADER},modifiers,diagnosis_codes\n"C,1",1,P1,2019-05-01,77014,"26,59","C61, Z92.3"\n'
    path = write(tmp_path, text)
    result = run([path])
    row = result.lines.to_pylist()[0]
    assert row["claim_id"] == "C,1"
    assert row["modifiers"] == "26,59"
    assert result.lines.column("component").to_pylist() == ["PC"]


def test_embedded_newline_keeps_spreadsheet_row_numbers(tmp_path):
    text = f'{HEADER},notes\nC1,1,P1,2019-05-01,77014,"two\nlines"\nC1,2,P1,2019-02-30,77014,x\n'
    result = run([write(tmp_path, text)])
    assert result.rejects.column("source_row").to_pylist() == [3]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("26", "PC"),
        ("TC", "TC"),
        ("26 XS", "PC"),
        ("TC:59", "TC"),
        ("TC|59", "TC"),
        ("59", "global"),
        ("", "global"),
    ],
)
def test_modifier_forms(tmp_path, value, expected):
    path = write(tmp_path, f'{HEADER},modifiers\nC1,1,P1,2019-05-01,77014,"{value}"\n')
    assert run([path]).lines.column("component").to_pylist() == [expected]


def test_modifier_columns(tmp_path):
    path = write(tmp_path, f"{HEADER},mod1,mod2\nC1,1,P1,2019-05-01,77014,59,tc\n")
    result = run([path])
    assert result.lines.column("modifiers").to_pylist() == ["59,TC"]
    assert result.lines.column("component").to_pylist() == ["TC"]


def test_codes_are_trimmed_and_upper_cased(tmp_path):
    path = write(tmp_path, f"{HEADER}\n C1 ,1, P1 ,2019-05-01, g6002 \n")
    row = lines_of(run([path]))[0]
    assert (row["claim_id"], row["patient_id"], row["procedure_code"]) == ("C1", "P1", "G6002")


def test_units_default_to_one(tmp_path):
    path = write(
        tmp_path, f"{HEADER},units\nC1,1,P1,2019-05-01,77014,\nC1,2,P1,2019-05-01,77014,2\n"
    )
    assert run([path]).lines.column("units").to_pylist() == [1.0, 2.0]


# --- Parquet -------------------------------------------------------------------------------------


def _parquet(tmp_path: Path, columns: dict) -> Path:
    path = tmp_path / "claims.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_with_string_and_date_types(tmp_path):
    path = _parquet(
        tmp_path,
        {
            "claim_id": ["C1"],
            "line_number": pa.array([1], pa.int32()),
            "patient_id": ["P1"],
            "service_date": pa.array([dt.date(2019, 5, 1)], pa.date32()),
            "procedure_code": ["77014"],
        },
    )
    assert lines_of(run([path]))[0]["service_date"] == dt.date(2019, 5, 1)


def test_parquet_with_integer_codes_and_timestamps(tmp_path):
    path = _parquet(
        tmp_path,
        {
            "claim_id": pa.array([1001, 1002], pa.int64()),
            "line_number": pa.array([1.0, 1.0], pa.float64()),
            "patient_id": pa.array([5, 5], pa.int64()),
            "service_date": pa.array(
                [dt.datetime(2019, 5, 1), dt.datetime(2019, 5, 1, 9)], pa.timestamp("us")
            ),
            "procedure_code": pa.array([77014, 77387], pa.int64()),
        },
    )
    result = run([path])
    assert lines_of(result) == [
        {
            "claim_id": "1001",
            "line_number": 1,
            "patient_id": "5",
            "service_date": dt.date(2019, 5, 1),
            "procedure_code": "77014",
        }
    ]
    assert result.rejects.column("reason").to_pylist() == [
        "service_date has a time of day; expected a date"
    ]


# --- several files ----------------------------------------------------------------------------------


def test_patient_day_spans_files_and_claims(tmp_path):
    facility = write(
        tmp_path, f"{HEADER},bill_type\nH1,1,P1,2019-05-01,77373,0131\n", "facility.csv"
    )
    professional = write(
        tmp_path,
        f"{HEADER},modifiers,place_of_service\nR1,1,P1,05/01/2019,77014,26,22\n",
        "pro.csv",
    )
    result = run([facility, professional])
    findings = result.findings
    assert list(findings["rule_id"]) == ["IGRT004"]
    assert findings["related_lines"][0] == ["H1:1"]
    assert findings["source_file"][0] == str(professional)


def test_directories_and_globs(tmp_path):
    (tmp_path / "in").mkdir()
    write(tmp_path / "in", f"{HEADER}\nC1,1,P1,2019-05-01,77014\n", "a.csv")
    write(tmp_path / "in", f"{HEADER}\nC2,1,P2,2019-05-01,77014\n", "b.csv")
    write(tmp_path / "in", "notes", "README.md")
    by_dir = run([tmp_path / "in"])
    assert by_dir.totals()["rows_checked"] == 2
    assert by_dir.skipped_files == [str(tmp_path / "in" / "README.md")]
    assert run([str(tmp_path / "in" / "*.csv")]).totals()["rows_checked"] == 2


# --- bad input ------------------------------------------------------------------------------------------


def test_missing_required_column_names_file_columns_and_closest_match(tmp_path):
    path = write(
        tmp_path,
        "claim_id,line_number,patient_id,service_date,procedure_cod\nC1,1,P1,2019-05-01,77014\n",
    )
    with pytest.raises(InputError) as error:
        run([path])
    message = str(error.value)
    assert str(path) in message
    assert "'procedure_code' not found" in message
    assert (
        "columns found: claim_id, line_number, patient_id, service_date, procedure_cod" in message
    )
    assert "closest match: 'procedure_cod'" in message


def test_missing_column_exits_2_before_any_output(tmp_path):
    path = write(tmp_path, "claim_id,line_number,patient_id\nC1,1,P1\n")
    out = tmp_path / "findings.json"
    result = CliRunner().invoke(main, ["check", str(path), "-o", str(out)])
    assert result.exit_code == 2
    assert "required column 'service_date' not found" in result.output
    assert not out.exists()


def test_bad_rows_are_rejected_with_file_row_and_reason(tmp_path):
    text = f"""
{HEADER},units
C1,1,P1,2019-05-01,77014,1
,2,P1,2019-05-01,77014,1
C1,3,P1,2019-02-30,77014,1
C1,4,P1,2019-05-01,,1
C1,5,P1,2019-05-01,77014,-1
C1,6,P1,2019-05-01,77014,abc
C1,7,P1,2019-05-01,7701,1
C1,x,P1,2019-05-01,77014,1
C1,9,P1,2019-05-01
"""
    path = write(tmp_path, text)
    result = run([path])
    rejects = {r["source_row"]: r["reason"] for r in result.rejects.to_pylist()}
    assert rejects == {
        3: "claim_id is blank",
        4: "service_date '2019-02-30' is not a real calendar date",
        5: "procedure_code is blank",
        6: "units is below 0",
        7: "units 'abc' is not a number",
        8: "procedure_code '7701' is not a 5-character HCPCS/CPT code",
        9: "line_number 'x' is not a number",
        10: "has 4 fields where the header has 6 (a row cut short, shifted or in another"
        " delimiter)",
    }
    assert set(result.rejects.column("source_file").to_pylist()) == {str(path)}
    assert result.totals() == {
        "rows_read": 9,
        "rows_checked": 1,
        "rows_rejected": 8,
        "rows_out_of_scope": 0,
    }


def test_duplicate_lines_and_claims_under_two_patients_are_rejected(tmp_path):
    text = f"""
{HEADER}
C1,1,P1,2019-05-01,77014
C1,1,P1,2019-05-01,77387
C2,1,P1,2019-05-01,77014
C2,2,P2,2019-05-01,77014
C3,1,P3,2019-05-01,77014
"""
    result = run([write(tmp_path, text)])
    reasons = {r["source_row"]: r["reason"] for r in result.rejects.to_pylist()}
    assert set(reasons) == {2, 3, 4, 5}
    assert "appears more than once" in reasons[2]
    assert "more than one patient_id" in reasons[4]
    assert [r["claim_id"] for r in lines_of(result)] == ["C3"]


def test_max_reject_rate(tmp_path):
    path = write(tmp_path, f"{HEADER}\nC1,1,P1,2019-05-01,77014\nC1,2,P1,bad,77014\n")
    assert run([path], max_reject_rate=0.5).totals()["rows_rejected"] == 1
    with pytest.raises(RejectRateError, match="1 of 2 rows rejected"):
        run([path], max_reject_rate=0.1)
    cli = CliRunner().invoke(main, ["check", str(path), "--max-reject-rate", "0.1"])
    assert cli.exit_code == 2


def test_header_only_file_is_a_valid_empty_extract(tmp_path):
    cli = CliRunner().invoke(
        main, ["check", str(write(tmp_path, HEADER + "\n")), "--format", "json"]
    )
    assert cli.exit_code == 0, cli.output
    assert '"rows_read": 0' in cli.output


def test_zero_byte_file_cannot_be_read(tmp_path):
    path = write(tmp_path, "")
    cli = CliRunner().invoke(main, ["check", str(path)])
    assert cli.exit_code == 2
    assert "the file is empty" in cli.output


def test_pediatric_lines_are_out_of_scope(tmp_path):
    text = f"""
{HEADER},patient_birth_date
C1,1,P1,2019-05-01,77014,2000-05-02
C1,2,P1,2019-05-02,77014,2000-05-02
"""
    result = run([write(tmp_path, text)])
    assert result.totals() == {
        "rows_read": 2,
        "rows_checked": 1,
        "rows_rejected": 0,
        "rows_out_of_scope": 1,
    }


# --- a real research-file extract -----------------------------------------------------------------------


def test_cms_research_file_carrier_loads_through_aliases():
    carrier = shared_path("data", "cms-bfd-synthetic", "rif-synthea", "carrier.csv")
    result = run([carrier])
    totals = result.totals()
    assert totals == {
        "rows_read": 221,
        "rows_checked": 12,
        "rows_rejected": 209,
        "rows_out_of_scope": 0,
    }
    assert set(result.rejects.column("reason").to_pylist()) == {"procedure_code is blank"}
    raw = carrier.read_text(encoding="utf-8").splitlines()
    header = raw[0].split("|")
    blank_rows = [
        i + 2 for i, line in enumerate(raw[1:]) if not line.split("|")[header.index("HCPCS_CD")]
    ]
    assert sorted(result.rejects.column("source_row").to_pylist()) == blank_rows
    assert set(result.lines.column("procedure_code").to_pylist()) <= {"G0444", "G9572"}


def test_cms_research_file_outpatient_loads_through_aliases_and_derives_opps():
    outpatient = shared_path("data", "cms-bfd-synthetic", "rif-synthea", "outpatient.csv")
    result = run([outpatient])
    assert result.totals() == {
        "rows_read": 19,
        "rows_checked": 19,
        "rows_rejected": 0,
        "rows_out_of_scope": 0,
    }
    assert result.settings_seen == {"OPPS": 19}
    lines = result.lines
    assert set(lines.column("bill_type").to_pylist()) == {"0131"}  # 1 + 3 + 1
    assert set(lines.column("claim_type").to_pylist()) == {"institutional"}  # NCH type 40
    assert set(lines.column("procedure_code").to_pylist()) == {"99241", "G0107", "G0444"}
    raw = outpatient.read_text(encoding="utf-8").splitlines()
    header = raw[0].split("|")
    first = raw[1].split("|")
    assert (
        lines.column("service_date")[0].as_py()
        == dt.datetime.strptime(first[header.index("REV_CNTR_DT")], "%d-%b-%Y").date()
    )


def test_cms_research_file_carrier_derives_mpfs_from_claim_type_and_place():
    carrier = shared_path("data", "cms-bfd-synthetic", "rif-synthea", "carrier.csv")
    result = run([carrier])
    assert result.settings_seen == {"MPFS": 12}
    assert set(result.lines.column("claim_type").to_pylist()) == {"professional"}  # NCH type 71


def test_a_bill_type_is_joined_from_its_three_research_file_columns(tmp_path):
    text = f"""
{HEADER},NCH_CLM_TYPE_CD,CLM_FAC_TYPE_CD,CLM_SRVC_CLSFCTN_TYPE_CD,CLM_FREQ_CD
C1,1,P1,2024-03-04,77014,40,1,3,1
C2,1,P1,2024-03-04,77014,40,8,5,1
C3,1,P1,2024-03-04,77014,40,1,,1
"""
    result = run([write(tmp_path, text)])
    bill = dict(
        zip(
            result.lines.column("claim_id").to_pylist(),
            result.lines.column("bill_type").to_pylist(),
            strict=True,
        )
    )
    assert bill == {"C1": "0131", "C2": "0851", "C3": None}
    setting = dict(
        zip(
            result.lines.column("claim_id").to_pylist(),
            result.lines.column("setting").to_pylist(),
            strict=True,
        )
    )
    assert setting == {"C1": "OPPS", "C2": "OTHER", "C3": "OTHER"}


def test_a_missing_column_lists_the_closest_of_a_long_header_then_how_many_more(tmp_path):
    names = [f"COL_{i:03d}" for i in range(230)] + [
        "claim_id",
        "line_number",
        "patient_id",
        "procedure_code",
        "svc_date",
    ]
    path = write(tmp_path, ",".join(names) + "\n" + ",".join("x" for _ in names) + "\n")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    message = result.output
    found = message.split("(columns found: ")[1].split(")")[0]
    assert found.startswith("svc_date, ") and found.endswith(" and 227 more")
    assert len(found.split(", ")) == 8
    assert "closest match: 'svc_date'" in message
