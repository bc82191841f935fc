"""Bad inputs too big, or too environment-specific, to commit: built at test time.

The committed corpus is tests/corpus/ (see test_hostile_corpus.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from igrt_edits.config import Config
from igrt_edits.run.check import run_check


@pytest.fixture(params=[False, True], ids=["in-memory", "stream"])
def stream(request) -> bool:
    """Every test runs in memory and streaming through partitions: both must agree."""
    return request.param


HEADER = (
    "claim_id,line_number,patient_id,service_date,procedure_code,modifiers,units,"
    "diagnosis_codes,claim_type,bill_type,patient_name"
)


def line(claim: str, number: int | str, code: str, dos: str = "2020-03-02", **values) -> str:
    """One CSV row of HEADER: an OPPS line of patient M1001 unless told otherwise."""
    row = {
        "patient_id": "M1001",
        "modifiers": "",
        "units": "1",
        "diagnosis_codes": "C61",
        "patient_name": "Ann Lee",
        **values,
    }
    return (
        f"{claim},{number},{row['patient_id']},{dos},{code},{row['modifiers']},{row['units']},"
        f"{row['diagnosis_codes']},institutional,0131,{row['patient_name']}"
    )


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def accounting(result) -> dict[str, int]:
    totals = result.totals()
    assert totals["rows_read"] == (
        totals["rows_checked"] + totals["rows_rejected"] + totals["rows_out_of_scope"]
    )
    return totals


def findings(result) -> set[tuple[str, str, int]]:
    frame = result.findings
    return set(zip(frame["rule_id"], frame["claim_id"], frame["line_number"], strict=True))


def test_every_row_rejected_still_finishes(tmp_path: Path, stream: bool) -> None:
    """No line left to check (all rejected) is an empty run, not a crash."""
    path = write(tmp_path / "all_bad.csv", [line("H1", 1, "77412", dos="2019-02-30")])
    _, _, result = run_check([str(path)], Config(), stream=stream)
    assert accounting(result)["rows_rejected"] == 1
    assert result.findings.empty


def test_header_only_next_to_a_real_extract(tmp_path: Path, stream: bool) -> None:
    empty = write(tmp_path / "empty_day.csv", [])
    real = write(tmp_path / "claims.csv", [line("H1", 1, "77387")])
    _, _, result = run_check([str(empty), str(real)], Config(), stream=stream)
    assert accounting(result) == {
        "rows_read": 1,
        "rows_checked": 1,
        "rows_rejected": 0,
        "rows_out_of_scope": 0,
    }
    assert findings(result) == {("IGRT012", "H1", 1)}


def test_parquet_integer_dates_are_yyyymmdd(tmp_path: Path, stream: bool) -> None:
    """SAS and some warehouses write dates as integers; 20190230 is still no date."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "int_dates.parquet"
    pq.write_table(
        pa.table(
            {
                "claim_id": ["H1", "H1", "H1"],
                "line_number": [1, 2, 3],
                "patient_id": ["M1001"] * 3,
                "service_date": pa.array([20200302, 20200302, 20190230], pa.int64()),
                "procedure_code": ["77412", "77387", "77387"],
            }
        ),
        path,
    )
    _, _, result = run_check([str(path)], Config(), stream=stream)
    assert accounting(result)["rows_checked"] == 2
    assert result.rejects.column("reason").to_pylist() == [
        "service_date '20190230' is not a real calendar date"
    ]


def test_huge_line_numbers_are_rejected_not_overflowed(tmp_path: Path, stream: bool) -> None:
    """A 20-digit line number (a shifted column) is rejected; two of them are not one line."""
    path = write(
        tmp_path / "huge_lines.csv",
        [
            line("H1", 1, "77412"),
            line("H1", "99999999999999999999", "77387"),
            line("H1", "9223372036854775807", "77014"),
        ],
    )
    _, _, result = run_check([str(path)], Config(), stream=stream)
    assert accounting(result)["rows_checked"] == 1
    assert result.rejects.column("reason").to_pylist() == ["line_number is above 2147483647"] * 2


FIVE_MB = 5 << 20


def test_five_megabyte_field_in_a_column_not_read(tmp_path: Path, stream: bool) -> None:
    """A row bigger than the CSV reader's block is read, and a huge unread value is harmless."""
    path = write(
        tmp_path / "big_note.csv",
        [
            line("H1", 1, "77412"),
            line("H1", 2, "77387", patient_name='"' + "x" * FIVE_MB + '"'),
            line("H1", 3, "77014"),
        ],
    )
    _, _, result = run_check([str(path)], Config(), stream=stream)
    assert accounting(result)["rows_checked"] == 3
    assert findings(result) == {("IGRT005", "H1", 2), ("IGRT005", "H1", 3)}


def test_five_megabyte_field_in_a_column_read(tmp_path: Path, stream: bool) -> None:
    """A 5 MB procedure code rejects its row, and only its row."""
    path = write(
        tmp_path / "big_code.csv",
        [line("H1", 1, "77412"), line("H1", 2, "X" * FIVE_MB), line("H1", 3, "77387")],
    )
    _, _, result = run_check([str(path)], Config(), stream=stream)
    assert accounting(result)["rows_rejected"] == 1
    assert result.rejects.column("source_row").to_pylist() == [3]
    assert findings(result) == set()
    # The reason quotes the value cut short: a rejects file must not carry 5 MB per row.
    reason = result.rejects.column("reason")[0].as_py()
    assert reason == f"procedure_code '{'X' * 40}...' is not a 5-character HCPCS/CPT code"


def test_values_quoted_in_reasons_stay_on_one_line(tmp_path: Path, stream: bool) -> None:
    path = tmp_path / "multiline_date.csv"
    path.write_text(f'{HEADER}\nH1,1,M1001,"2020-03-02\n10:00",77412,,1,C61,I,0131,A\n')
    _, _, result = run_check([str(path)], Config(), stream=stream)
    reason = result.rejects.column("reason")[0].as_py()
    assert reason.startswith("service_date '2020-03-02 10:00' is not a date")


def test_zoned_timestamps_give_the_local_date(tmp_path: Path, stream: bool) -> None:
    """Midnight in Tokyo is 15:00 UTC the day before: the service date is Tokyo's."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    midnight = pd.to_datetime(["2020-03-02 00:00"]).tz_localize("Asia/Tokyo")
    zoned = tmp_path / "zoned.parquet"
    pq.write_table(
        pa.table(
            {
                "claim_id": ["H1"],
                "line_number": [1],
                "patient_id": ["M1001"],
                "service_date": pa.array(midnight),
                "procedure_code": ["77387"],
            }
        ),
        zoned,
    )
    delivery = write(tmp_path / "delivery.csv", [line("H2", 1, "77412")])
    _, _, result = run_check([str(zoned), str(delivery)], Config(), stream=stream)
    assert accounting(result)["rows_checked"] == 2
    assert findings(result) == set()  # same patient-day as the delivery: no IGRT012


def test_ten_thousand_lines_in_one_claim(tmp_path: Path, stream: bool) -> None:
    """A hospital claim spanning years of daily treatment, as the reference implementation sees it.

    Every day has a 3D conformal delivery, image guidance and management codes; the guidance
    is 77014 (not valid from 2026) and one day carries a physics consult (IGRT011 on the
    claim), one a second guidance code (IGRT005) and one a double-billed unit (IGRT006).
    """
    from datetime import date, timedelta

    from reference_impl import reference_findings

    rows: list[dict[str, str]] = []
    day = date(2023, 1, 2)
    while len(rows) < 10_000:
        for code in ("77412", "77014", "77336", "77427"):
            rows.append({"procedure_code": code, "service_date": day.isoformat(), "units": "1"})
        day += timedelta(days=1)
    rows = rows[:10_000]
    rows[2]["procedure_code"] = "77370"
    rows[6]["procedure_code"] = "77387"
    rows[9]["units"] = "2"
    for number, row in enumerate(rows, start=1):
        row |= {
            "claim_id": "H1",
            "line_number": str(number),
            "patient_id": "M1001",
            "diagnosis_codes": "C61",
            "claim_type": "institutional",
            "bill_type": "0131",
        }
    columns = list(rows[0])
    path = tmp_path / "long_claim.csv"
    path.write_text(
        "\n".join([",".join(columns), *(",".join(r[c] for c in columns) for r in rows)]) + "\n"
    )
    _, _, result = run_check([str(path)], Config(), stream=stream)
    assert accounting(result)["rows_checked"] == 10_000
    expected = reference_findings(rows)
    assert {rule for rule, _, _ in expected} >= {"IGRT001", "IGRT005", "IGRT006", "IGRT011"}
    assert findings(result) == expected


def test_unreadable_file(tmp_path: Path, stream: bool, monkeypatch) -> None:
    """A file the user may not read stops the run with one message (exit 2 from the CLI)."""
    import os

    from igrt_edits.errors import InputError

    path = write(tmp_path / "locked.csv", [line("H1", 1, "77412")])
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: deny it the way the OS would
        real_open = Path.open

        def denied(self, *args, **kwargs):
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(InputError) as error:
        run_check([str(path)], Config(), stream=stream)
    assert str(error.value) == f"{path}: cannot be read (Permission denied)"


def test_blank_diagnoses_in_two_files(tmp_path: Path, stream: bool) -> None:
    """Blank diagnoses in several batches of one partition (found by the streaming property)."""
    first = write(tmp_path / "a.csv", [line("H1", 1, "77412", diagnosis_codes="")])
    second = write(tmp_path / "b.csv", [line("H1", 2, "77387", diagnosis_codes="")])
    _, _, result = run_check([str(first), str(second)], Config(), stream=stream)
    assert accounting(result)["rows_checked"] == 2
    assert findings(result) == {("IGRT007", "H1", 2)}
