"""X12 837P/837I input: the flattener against pyx12, the broken corpus, and 837s in a run."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from igrt_edits.cli import main
from igrt_edits.config import Config
from igrt_edits.errors import InputError
from igrt_edits.ingest.readers import discover, iter_extracts, iter_x12, plan_read
from igrt_edits.run.check import run_check
from igrt_edits.synth.generate import generate_claims
from igrt_edits.synth.x12 import write_x12

from conftest import SHARED, shared_path
from x12_oracle import read_with_pyx12

LINUXFORHEALTH = SHARED / "data" / "x12-837-linuxforhealth"
IMSWEB = SHARED / "data" / "x12-837-imsweb"
WRONG_COMPONENT_SEPARATOR = {
    "demo.example6.837",
    "demo.example9.837",
    "demo.example11.837",
    "demo.example12.837",
    "demo.cob.2ndary.example4.837",
    "out-of-network-repriced-claim.837i",
    "ppo-repriced-claim.837i",
}


def sample_files() -> list[Path]:
    if not LINUXFORHEALTH.exists():
        return []
    return sorted(p for p in LINUXFORHEALTH.rglob("*") if p.suffix in (".837", ".837i"))


def reader_rows(path: Path, block_bytes: int | None = None) -> list[dict]:
    """The reader's lines of a file as dicts (columns before normalization), with their
    segment number, file position and problem."""
    plan = plan_read(path)
    extracts = iter_x12(plan, block_bytes) if block_bytes else iter_extracts(plan, 1_000_000)
    rows = []
    for extract in extracts:
        table = extract.table.to_pylist()
        lines, columns = extract.positions
        problem_columns, reasons = (a.to_pylist() for a in extract.problems)
        for i, row in enumerate(table):
            modifiers = [row.pop(f"modifiers.{k}") for k in range(4)]
            row["modifiers"] = [m for m in modifiers if m]
            row["diagnosis_codes"] = row.pop("diagnosis_codes.0")
            row["segment"] = int(extract.source_rows[i])
            row["position"] = (int(lines[i]), int(columns[i]))
            row["problem"] = (problem_columns[i], reasons[i])
            rows.append(row)
    return rows


def agree_with_pyx12(path: Path) -> tuple[int, int]:
    """Every line the reader accepts equals pyx12's line at that segment; every claim it
    rejects is one pyx12 reports an error in. Returns (lines compared, lines rejected)."""
    ours = reader_rows(path)
    theirs = read_with_pyx12(path)
    expected = {row.pop("segment"): row for row in theirs.rows()}
    compared = rejected = 0
    for row in ours:
        segment, problem = row.pop("segment"), row.pop("problem")
        row.pop("position")
        if problem[1] is not None:
            rejected += 1
            claim = next(
                c for c in theirs.claims if c.context_start <= segment <= max(c.end, c.segment)
            )
            flagged = [s for s in theirs.error_segments if claim.context_start <= s <= claim.end]
            assert flagged, (
                f"{path.name}: segment {segment} rejected ({problem[1]}) but pyx12 finds no error"
            )
            continue
        assert row == expected[segment], f"{path.name}: segment {segment}"
        compared += 1
    return compared, rejected


# --- the flattener against pyx12 ---------------------------------------------------------------


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_every_sample_claim_line_agrees_with_pyx12(path):
    compared, rejected = agree_with_pyx12(path)
    if path.name in WRONG_COMPONENT_SEPARATOR:
        assert (compared, rejected > 0) == (0, True)
    else:
        assert compared > 0 and rejected == 0


@pytest.mark.parametrize(
    "name",
    ["x12_ambiguous_loop.txt", "x12_segment_errors.txt", "x12_writer_test.txt", "x223-test.txt",
     "x12_complex.txt", "x12_many_claims.txt", "x12_valid.txt"],
)  # fmt: skip
def test_imsweb_files_agree_with_pyx12_or_are_rejected_where_it_finds_errors(name):
    agree_with_pyx12(shared_path("data", "x12-837-imsweb", name))


def test_a_generated_837_agrees_with_pyx12_line_for_line(tmp_path):
    path = tmp_path / "generated.837"
    with path.open("wb") as out:
        write_x12(out, generate_claims(3000, seed=5))
    compared, rejected = agree_with_pyx12(path)
    assert (compared, rejected) == (3000, 0)


def test_every_line_of_a_generated_837_matches_the_csv_it_came_from(tmp_path):
    table = generate_claims(2000, seed=11)
    path = tmp_path / "generated.837"
    with path.open("wb") as out:
        write_x12(out, table)
    rows = {(r["claim_id"], int(r["line_number"])): r for r in reader_rows(path)}
    assert len(rows) == table.num_rows
    for line in table.to_pylist():
        row = rows[(line["claim_id"], line["line_number"])]
        assert row["patient_id"] == line["patient_id"]
        assert row["service_date"] == line["service_date"].strftime("%Y%m%d")
        assert row["procedure_code"] == line["procedure_code"]
        assert row["modifiers"] == [m for m in (line["modifiers"] or "").split(",") if m]
        assert row["claim_type"] == line["claim_type"]
        assert row["diagnosis_codes"] == (line["diagnosis_codes"] or "").replace(".", "") or None


# --- windows and blocks ---------------------------------------------------------------------------


@pytest.mark.parametrize("block", [64, 300, 1024, 4096])
@pytest.mark.parametrize(
    "name", ["x12_complex.txt", "x12_multiple_isa.txt", "x12_multiple_gs.txt", "x12_valid_different_separators.txt"]
)  # fmt: skip
def test_reading_in_small_blocks_gives_the_same_lines(name, block):
    path = shared_path("data", "x12-837-imsweb", name)
    assert reader_rows(path, block_bytes=block) == reader_rows(path)


def test_interchanges_with_different_separators_in_one_file(tmp_path):
    first = shared_path("data", "x12-837-linuxforhealth", "demo.837").read_text()
    second = first.replace("*", "|").replace(":", "^").replace("~", "\\")
    path = tmp_path / "two.837"
    path.write_text(first + second)
    rows = reader_rows(path)
    assert len(rows) == 8 and all(r["problem"] == (None, None) for r in rows)
    strip = [{k: v for k, v in r.items() if k not in ("segment", "position")} for r in rows]
    assert strip[:4] == strip[4:]
    assert [r["segment"] for r in rows[4:]] == [r["segment"] + 45 for r in rows[:4]]


def test_a_file_on_one_line_locates_each_segment_by_column(tmp_path):
    text = shared_path("data", "x12-837-linuxforhealth", "demo.837").read_text()
    path = tmp_path / "one-line.837"
    path.write_text(text.replace("\n", ""))
    rows = reader_rows(path)
    assert [r["position"][0] for r in rows] == [1, 1, 1, 1]
    flat = text.replace("\n", "")
    for row in rows:
        column = row["position"][1]
        assert flat[column - 1 :].startswith("SV1*HC:" + row["procedure_code"])


# --- the broken corpus ------------------------------------------------------------------------------

UNREADABLE = {
    "x12_bad_first_line.txt": "ISA02 is 9 characters where X12 fixes 10",
    "x12_no_isa_line.txt": "does not start with an ISA segment (it starts with GS)",
    "x12_999_accepted.txt": "holds no 837 claim transaction (transaction sets found: 999)",
    "x12_999_rejected.txt": "holds no 837 claim transaction (transaction sets found: 999)",
}
# file: (lines read, lines rejected, reasons every rejected line's reason is one of / holds)
READ = {
    "x12_ambiguous_loop.txt": (1, 0, []),
    "x12_segment_errors.txt": (1, 0, []),
    "x12_writer_test.txt": (1, 0, []),
    "x223-test.txt": (1, 0, []),
    "x12_valid.txt": (2, 2, ["HI01 'BK' at segment 23", "names parent HL '3'"]),
    "x12_valid_different_separators.txt": (
        2,
        2,
        ["HI01 'BK' at segment 23 (line 23) is not qualifier^code", "names parent HL '3'"],
    ),
    "x12_segments_out_of_order.txt": (2, 2, ["HI01 'BK'", "names parent HL '3'"]),
    "x12_no_errors.txt": (2, 2, ["HI01 'BK'"]),
    "x12_bad_valid_code.txt": (2, 2, ["HI01 'BK'", "names parent HL '3'"]),
    "x12_bad_segment_identifier.txt": (
        2,
        2,
        ["segment id 'NM31' at segment 20", "segment id 'Nd4' at segment 11"],
    ),
    "x12_missing_elements.txt": (
        2,
        2,
        ["HI01 'BK'", "has no place of service or facility code (CLM05-1)"],
    ),
    "x12_loop_errors1_exceeds_max_1_parent.txt": (1, 1, ["HI01 'BK'"]),
    "x12_loop_errors2_exceeds_max_repeats_multiple_parents.txt": (2, 2, ["HI01 'BK'"]),
    "x12_loop_errors3_missing_loops.txt": (1, 1, ["HI01 'BK'"]),
    "x12_missing_required_loop_in_one_repeat.txt": (
        2,
        2,
        ["has no subscriber NM1*IL segment", "HI01 'BK'"],
    ),
    "x12_missing_required_loops_mult_repeats.txt": (
        5,
        5,
        [
            "SV1 at segment 33 (line 33) is not in a service line",
            "SV1 at segment 59 (line 59) is not in a service line",
        ],
    ),
    "x12_multiple_gs.txt": (6, 6, ["HI01 'BK'", "names parent HL '3'"]),
    "x12_multiple_isa.txt": (4, 4, ["HI01 'BK'", "names parent HL '3'"]),
    "x12_multiple_st.txt": (4, 4, ["HI01 'BK'", "names parent HL '3'"]),
    "x12_multiple_transactions.txt": (624, 624, ["HI01 'BK'", "names parent HL '3'"]),
    "x12_many_claims.txt": (820, 820, ["HI01 'BK'", "names parent HL '3'"]),
    "x12_complex.txt": (10, 10, ["HI01 'BK'", "names parent HL '3'"]),
}


def test_the_corpus_table_covers_every_imsweb_file():
    if not IMSWEB.exists():
        pytest.skip("shared data not present")
    assert {p.name for p in IMSWEB.glob("*.txt")} == set(UNREADABLE) | set(READ)


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_an_unreadable_envelope_stops_the_run_naming_file_and_problem(name):
    path = shared_path("data", "x12-837-imsweb", name)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    assert f"{path}" in result.output and UNREADABLE[name] in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", sorted(READ))
def test_broken_claims_are_rejected_with_their_segment_and_the_run_goes_on(name):
    path = shared_path("data", "x12-837-imsweb", name)
    read, rejected, reasons = READ[name]
    _, _, result = run_check([str(path)], Config(), stream=False)
    totals = result.totals()
    assert totals["rows_read"] == read and totals["rows_rejected"] == rejected
    assert totals["rows_checked"] + totals["rows_out_of_scope"] == read - rejected
    found = result.rejects.column("reason").to_pylist()
    for reason in reasons:
        assert any(reason in f for f in found), reason
    assert all(r.startswith(("HI", "HL", "segment", "the subscriber", "CLM", "SV1")) for r in found)


def test_wrong_component_separator_claims_are_rejected_with_a_hint():
    path = shared_path("data", "x12-837-linuxforhealth", "837P_005010X222A2", "demo.example6.837")
    _, _, result = run_check([str(path)], Config(), stream=False)
    assert result.totals()["rows_rejected"] == 1
    rejects = result.rejects.to_pylist()
    assert rejects == [
        {
            "source_file": str(path),
            "source_row": 28,
            "claim_id": "125WILL",
            "line_number": "1",
            "column": "CLM05",
            "reason": "CLM05 '11>B>1' at segment 21 (line 21) is not facility:qualifier:frequency"
            " (it has no ':', the component separator ISA16 declares; '>' seems to be used"
            " instead); HI01 'BK>7215' at segment 26 (line 26) is not qualifier:code (it has"
            " no ':', the component separator ISA16 declares; '>' seems to be used instead);"
            " SV101 'HC>98940' at segment 28 (line 28) is not qualifier:code (it has no ':',"
            " the component separator ISA16 declares; '>' seems to be used instead)",
        }
    ]


ENVELOPE = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200*^*00501*000000001*0*T*:~\n"
GROUP = "GS*HC*S*R*20260101*1200*1*X*005010X222A1~\nST*837*0001*005010X222A1~\n"
CLAIM = (
    "HL*1**20*1~\nNM1*85*2*CLINIC*****XX*1234567893~\nHL*2*1*22*0~\nSBR*P*18*******MB~\n"
    "NM1*IL*1*DOE*JANE****MI*M100~\nDMG*D8*19500101*F~\nNM1*PR*2*MEDICARE*****PI*00435~\n"
    "CLM*C1*100***11:B:1*Y*A*Y*Y~\nHI*ABK:C3490~\nLX*1~\nSV1*HC:G6002*100*UN*1***1~\n"
    "DTP*472*D8*20240304~\n"
)
CLOSE = "SE*14*0001~\nGE*1*1~\nIEA*1*000000001~\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENVELOPE + GROUP + CLAIM, "the file ends before its SE"),
        (ENVELOPE + GROUP + CLAIM + "SE*14*0001~\nGE*1*1~\n", "the file ends before its IEA"),
        (
            ENVELOPE + GROUP + CLAIM + CLOSE + "HL*9**20*1~\n",
            "segment 'HL' is outside a transaction set",
        ),
        (
            ENVELOPE + GROUP + CLAIM + GROUP + CLAIM + CLOSE,
            "GS inside a transaction set: the ST before it has no SE",
        ),
        (ENVELOPE.replace("*00501*", "*00401*") + GROUP + CLAIM + CLOSE, "ISA12 version '00401'"),
        (ENVELOPE[:60], "the ISA segment is cut short: it has 7 of its 16 elements"),
        ("ISA", "the ISA segment is cut short"),
        (ENVELOPE.replace("*:~", "*A~") + GROUP, "ISA16 'A' cannot be a component separator"),
        (
            ENVELOPE + GROUP + CLAIM + CLOSE + ENVELOPE.replace("*SENDER ", "*SENDER"),
            "ISA06 is 14 characters",
        ),
    ],
)
def test_broken_envelopes_exit_2_with_the_problem(tmp_path, text, message):
    path = tmp_path / "claims.edi"
    path.write_text(text)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and message in result.output
    assert "Traceback" not in result.output


def test_envelope_problems_are_input_errors_for_the_api(tmp_path):
    path = tmp_path / "claims.x12"
    path.write_text(ENVELOPE + GROUP + CLAIM)
    with pytest.raises(InputError, match="ends before its SE"):
        reader_rows(path)


# --- 837 lines in a run ---------------------------------------------------------------------


def test_an_837_and_a_csv_of_the_same_patient_day_are_linted_together(tmp_path):
    edi = tmp_path / "igrt.837"
    edi.write_text(ENVELOPE + GROUP + CLAIM + CLOSE)
    csv = tmp_path / "sbrt.csv"
    csv.write_text(
        "claim_id,line_number,patient_id,service_date,procedure_code,place_of_service\n"
        "K9,1,M100,2024-03-04,77373,11\n"
    )
    out = tmp_path / "f.json"
    result = CliRunner().invoke(
        main, ["check", str(edi), str(csv), "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 1, result.output
    findings = json.loads(out.read_text())["findings"]
    igrt004 = [f for f in findings if f["rule_id"] == "IGRT004"]
    assert [(f["claim_id"], f["procedure_code"], f["source_row"]) for f in igrt004] == [
        ("C1", "G6002", 14)
    ]
    assert igrt004[0]["related_lines"] == ["K9:1"]
    assert igrt004[0]["source_file"] == str(edi)


def test_sarif_github_and_table_point_at_the_segment_line_and_column(tmp_path):
    edi = tmp_path / "igrt.837"
    edi.write_text(
        (
            ENVELOPE + GROUP + CLAIM.replace("G6002", "G6001") + CLAIM.replace("C1", "C2") + CLOSE
        ).replace("~\n", "~")
    )
    sarif = tmp_path / "f.sarif"
    CliRunner().invoke(main, ["check", str(edi), "--format", "sarif", "-o", str(sarif)])
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    regions = {
        r["properties"]["source_row"]: r["locations"][0]["physicalLocation"]["region"]
        for r in results
    }
    text = edi.read_text()
    for region in regions.values():
        assert region["startLine"] == 1
        assert text[region["startColumn"] - 1 :].startswith("SV1*HC:G600")
    github = CliRunner().invoke(main, ["check", str(edi), "--format", "github"])
    assert ",line=1," in github.output
    table = CliRunner().invoke(main, ["check", str(edi)])
    assert f"segment {min(regions)}, line 1" in table.output


def test_a_directory_picks_up_837_files(tmp_path):
    (tmp_path / "a.837").write_text(ENVELOPE + GROUP + CLAIM + CLOSE)
    (tmp_path / "notes.doc").write_text("x")
    files, skipped = discover([str(tmp_path)])
    assert [f.name for f in files] == ["a.837"] and [s.name for s in skipped] == ["notes.doc"]


def test_claim_level_date_is_used_when_a_line_has_none_and_a_period_is_not(tmp_path):
    one_day = CLAIM.replace("DTP*472*D8*20240304~\n", "").replace(
        "HI*ABK:C3490~\n", "DTP*472*RD8*20240305-20240305~\nHI*ABK:C3490~\n"
    )
    several = one_day.replace("20240305-20240305", "20240305-20240309").replace("C1", "C2")
    path = tmp_path / "dates.837"
    path.write_text(ENVELOPE + GROUP + one_day + several + CLOSE)
    rows = reader_rows(path)
    assert rows[0]["service_date"] == "20240305" and rows[0]["problem"] == (None, None)
    assert rows[1]["problem"][0] == "DTP*472"
    assert "a period of several days (20240305-20240309)" in rows[1]["problem"][1]


def test_dependent_patients_are_told_apart_by_name(tmp_path):
    rows = reader_rows(shared_path("data", "x12-837-linuxforhealth", "demo.837"))
    assert {r["patient_id"] for r in rows} == {"JS00111223333/SMITH/TED"}
    assert {r["patient_birth_date"] for r in rows} == {"19730501"}


def test_837i_lines_carry_the_bill_type_and_derive_opps(tmp_path):
    path = shared_path(
        "data", "x12-837-linuxforhealth", "837I_005010X223A3", "two-claims-single-provider.837i"
    )
    _, _, result = run_check([str(path)], Config(), stream=False, keep_lines=True)
    lines = result.lines.filter(pc.equal(result.lines.column("_status"), "checked"))
    assert set(lines.column("bill_type").to_pylist()) == {"0131"}
    assert set(lines.column("setting").to_pylist()) == {"OPPS"}
