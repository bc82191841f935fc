"""Tests of the synthetic claim-extract generator (igrt_edits.synth.generate)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from igrt_edits.synth.generate import (
    MAX_VIOLATION_RATE,
    RULE_IDS,
    SCHEMA,
    generate_claims,
    iter_claim_batches,
    write_extract,
)

# ---------------------------------------------------------------------------------------------
# A small, independent reading of the edit catalog (version 2, with the team's interpretations),
# used to check that generated extracts are clean except for the violations the generator
# injects.


def _codes(*items: str) -> frozenset[str]:
    """Code set from codes and inclusive ranges like 'G6003-G6014'."""
    out: set[str] = set()
    for item in items:
        if "-" in item:
            lo, hi = item.split("-")
            prefix = re.match(r"\D*", lo).group(0)
            width = len(lo) - len(prefix)
            out |= {
                f"{prefix}{i:0{width}d}"
                for i in range(int(lo[len(prefix) :]), int(hi[len(prefix) :]) + 1)
            }
        else:
            out.add(item)
    return frozenset(out)


IGRT = _codes("77387", "77014", "G6001", "G6002", "G6017", "76950", "77421", "0197T", "77439")
IMRT = _codes("77385", "77386", "G6015", "G6016", "77418", "0073T")
NON_IMRT = _codes("77402", "77407", "77412", "G6003-G6014")
SBRT_SRS = _codes(
    "77371-77373", "77432", "77435", "G0339", "G0340", "G0563", "61796-61800", "63620", "63621",
    "32701", "G0173", "G0251",
)  # fmt: skip
SBRT_DELIVERY = _codes("77371-77373", "G0339", "G0340", "G0563")
BRACHY = _codes(
    "77750",
    "77761-77763",
    "77767",
    "77768",
    "77770-77772",
    "77778",
    "77789",
    "77790",
    "77799",
    "0394T",
    "0395T",
)
SUPERFICIAL = _codes("77401", "77437", "77438")
PROTON = _codes("77520", "77522", "77523", "77525")
EXTERNAL = IMRT | NON_IMRT | SBRT_DELIVERY | PROTON | _codes("77423-77425")
ANY_DELIVERY = EXTERNAL | SUPERFICIAL | BRACHY
TECHNICAL_ONLY = _codes(
    "77385", "77386", "77402", "77407", "77412", "G6003-G6016", "77371-77373", "77401"
)
# (codes, valid from, valid through) for IGRT001
VALIDITY = (
    (_codes("76950", "77421", "0197T", "77418", "0073T", "G0173", "G0251"), None, "2014-12-31"),
    (_codes("77385", "77386", "G6001-G6017"), "2015-01-01", "2025-12-31"),
    (_codes("77387"), "2015-01-01", None),
    (_codes("77767", "77768", "77770-77772"), "2016-01-01", None),
    (_codes("32701"), "2019-01-01", None),
    (_codes("G0563"), "2025-01-01", None),
    (_codes("77014", "77401", "0394T"), None, "2025-12-31"),
    (_codes("77436-77439"), "2026-01-01", None),
)
# Indications A-P by dot-less prefix (catalog defaults); J-O are conditional on tags.
INDICATIONS = {
    "A": ("Z923",), "B": ("C22", "C23", "C24"),
    "C": (*(f"C{i:02d}" for i in range(15)), "C30", "C31", "C32", "C760"),
    "D": ("C81", "C82", "C83", "C84", "C85", "C86"), "E": ("C34",), "F": ("C61",),
    "G": ("C15",), "H": ("C16",), "I": ("C25",), "J": ("C19", "C20"), "K": ("C50",),
    "L": ("C50",), "M": ("C50",), "N": ("C50",), "O": ("C67",),
    "P": ("C40", "C41", "C49", "C480"),
}  # fmt: skip
CONDITIONS = {
    "J": {"belly_board"},
    "K": {"boost", "photon"},
    "L": {"apbi"},
    "M": {"dibh"},
    "N": {"prone"},
    "O": {"boost"},
}


def _letters(dx: str) -> set[str]:
    """Indication letters matched by one diagnosis code."""
    code = dx.replace(".", "").upper()
    found = {letter for letter, prefixes in INDICATIONS.items() if code.startswith(prefixes)}
    if "M" in found and not (code[5:6] == "2" or code == "C50A2"):
        found.discard("M")
    return found


def _rule_hits(df: pd.DataFrame) -> pd.DataFrame:
    """Flagged (rule_id, patient_id, claim_id, line_number) rows under the catalog rules."""
    df = df.copy()
    date = pd.to_datetime(df["service_date"])
    # Age is the member's: a line without a birth date takes the member's one birth date.
    own = pd.to_datetime(df["patient_birth_date"])
    births = own.groupby(df["patient_id"])
    member = births.transform("min").where(births.transform("nunique") == 1)
    birth = own.fillna(member)
    before_birthday = (date.dt.month < birth.dt.month) | (
        (date.dt.month == birth.dt.month) & (date.dt.day < birth.dt.day)
    )
    df = df[(date.dt.year - birth.dt.year - before_birthday) >= 19].copy()
    date = pd.to_datetime(df["service_date"])
    mods = df["modifiers"].str.split(",").apply(set)
    df["pc"] = mods.apply(lambda m: "26" in m)
    df["tc"] = mods.apply(lambda m: "TC" in m) & ~df["pc"]
    institutional = df["claim_type"] == "institutional"
    professional_side = df["pc"] | (~df["tc"] & ~institutional)
    technical_side = ~df["pc"]
    code = df["procedure_code"]
    df["day"] = df["patient_id"] + "|" + df["service_date"].astype(str)
    opps = (df["claim_type"] == "institutional") & df["bill_type"].str[1:3].isin(["12", "13", "14"])
    mpfs = df["claim_type"] == "professional"
    mid = (date >= "2015-01-01") & (date <= "2025-12-31")
    is_igrt = code.isin(IGRT)
    electron = (df["beam_modality"] == "electron") & code.isin(ANY_DELIVERY)

    def day_any(mask: pd.Series) -> pd.Series:
        return mask.groupby(df["day"]).transform("any")

    hits: dict[str, pd.Series] = {}
    bad_date = pd.Series(False, index=df.index)
    for codes, lo, hi in VALIDITY:
        in_set = code.isin(codes)
        if lo:
            bad_date |= in_set & (date < lo)
        if hi:
            bad_date |= in_set & (date > hi)
    hits["IGRT001"] = bad_date
    hits["IGRT002"] = mid & (
        (opps & code.isin(_codes("G6001-G6017")))
        | (mpfs & code.isin(_codes("77385", "77386", "77387", "77402", "77407", "77412")))
    )
    hits["IGRT003"] = (
        mid
        & opps
        & code.isin({"77387", "77014"})
        & ~df["pc"]
        & day_any(code.isin({"77385", "77386"}))
    )
    hits["IGRT004"] = is_igrt & day_any(code.isin(SBRT_SRS))

    def day_codes(mask: pd.Series) -> pd.Series:
        return code.where(is_igrt & mask).groupby(df["day"]).transform("nunique")

    specific = ~code.isin({"77387"})
    hits["IGRT005"] = is_igrt & (
        (professional_side & (day_codes(professional_side) >= 2))
        | (technical_side & (day_codes(technical_side) >= 2))
        | (specific & (day_codes(specific) >= 2))
    )
    over = pd.Series(False, index=df.index)
    for side in (professional_side, technical_side):
        units = df["units"].where(is_igrt & side, 0).groupby([df["day"], code]).transform("sum")
        over |= side & (units > 1)
    hits["IGRT006"] = is_igrt & over
    three_d = (
        day_any(code.isin(NON_IMRT) & ~electron)
        & ~day_any(code.isin(IMRT) & ~electron)
        & ~day_any(code.isin(SBRT_SRS))
    )
    claim_letters = df.groupby("claim_id")["diagnosis_codes"].agg(
        lambda s: set().union(*(_letters(d) for v in s for d in v.split(",")))
    )
    day_tags = df.groupby("day")["treatment_indicators"].agg(
        lambda s: {t for v in s for t in v.split(",") if t}
    )
    # K's photon: a tag, or a delivery line of the day with beam_modality photon.
    photon_days = set(df.loc[code.isin(ANY_DELIVERY) & (df["beam_modality"] == "photon"), "day"])
    day_tags = pd.Series(
        {d: t | ({"photon"} if d in photon_days else set()) for d, t in day_tags.items()}
    )
    letters = df["claim_id"].map(claim_letters)
    tags = df["day"].map(day_tags)
    unconditional = letters.apply(lambda s: bool(s - set(CONDITIONS)))
    satisfied = pd.Series(
        [
            any(CONDITIONS[x] <= t for x in s if x in CONDITIONS)
            for s, t in zip(letters, tags, strict=True)
        ],
        index=df.index,
    )
    candidate = is_igrt & three_d & (date <= "2025-12-31")
    hits["IGRT007"] = candidate & (letters.apply(len) == 0)
    hits["IGRT008"] = candidate & (letters.apply(len) > 0) & ~unconditional & ~satisfied
    photon_external = day_any(code.isin(EXTERNAL) & ~electron)
    hits["IGRT009"] = is_igrt & day_any(code.isin(SUPERFICIAL) | electron) & ~photon_external
    hits["IGRT010"] = is_igrt & day_any(code.isin(BRACHY)) & ~day_any(code.isin(EXTERNAL))
    claim_igrt = is_igrt.groupby(df["claim_id"]).transform("any")
    hits["IGRT011"] = code.isin({"77370", "77470"}) & (claim_igrt | day_any(is_igrt))
    hits["IGRT012"] = is_igrt & ~df["pc"] & ~day_any(code.isin(ANY_DELIVERY))
    hits["IGRT013"] = (
        ((code == "G6017") & (df["pc"] | df["tc"]))
        | (code.isin(TECHNICAL_ONLY) & (df["pc"] | df["tc"]))
        | ((code == "77387") & (date >= "2026-01-01") & ~df["pc"])
    )
    in_hospital = mpfs & df["place_of_service"].isin(["19", "22"])
    hits["IGRT014"] = in_hospital & (
        (code.isin({"77014", "G6001", "G6002", "76950", "77421"}) & ~df["pc"])
        | code.isin({"G6017", "0197T"})
    )
    frames = [
        df.loc[mask, ["patient_id", "claim_id", "line_number"]].assign(rule_id=rule)
        for rule, mask in hits.items()
    ]
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------


def _frame(table: pa.Table) -> pd.DataFrame:
    """Plain pandas frame (object strings, datetime.date values)."""
    return table.to_pandas(types_mapper=None)


def test_exact_line_count() -> None:
    for lines in (0, 1, 7, 999, 4321, 150_001):
        table = generate_claims(lines, 3, batch_lines=10_000)
        assert table.num_rows == lines
        assert sum(b.num_rows for b in iter_claim_batches(lines, 3, batch_lines=10_000)) == lines


def test_batches_hold_batch_lines() -> None:
    sizes = [b.num_rows for b in iter_claim_batches(25_000, 5, batch_lines=7_000)]
    assert sizes == [7_000, 7_000, 7_000, 4_000]


def test_deterministic_and_independent_of_batch_size() -> None:
    a = generate_claims(60_000, 11, batch_lines=60_000)
    b = generate_claims(60_000, 11, batch_lines=1_234)
    c = generate_claims(60_000, 11)
    assert a.equals(b) and a.equals(c)


def test_different_seeds_differ() -> None:
    a = _frame(generate_claims(5_000, 1))
    b = _frame(generate_claims(5_000, 2))
    assert not a.equals(b)
    assert set(a["claim_id"] + a["procedure_code"]) != set(b["claim_id"] + b["procedure_code"])


def test_schema_and_types() -> None:
    table = generate_claims(20_000, 4)
    assert table.schema == SCHEMA
    assert table.schema.names == [
        "claim_id", "line_number", "patient_id", "service_date", "procedure_code", "modifiers",
        "units", "diagnosis_codes", "claim_type", "place_of_service", "bill_type", "payer",
        "line_of_business", "patient_birth_date", "beam_modality", "treatment_indicators",
        "provider_id", "charge_amount",
    ]  # fmt: skip
    births = table.column("patient_birth_date")
    others = [n for n in table.column_names if n != "patient_birth_date"]
    assert all(table.column(n).null_count == 0 for n in others)
    # Some hospital feeds carry no birth date; every patient has one on another line.
    assert 0 < births.null_count < table.num_rows / 10
    df = _frame(table)
    assert df["procedure_code"].str.fullmatch(r"[0-9A-Z]{5}").all()
    assert df["modifiers"].isin(["", "26", "TC", "59", "26,59"]).all()
    assert (df["units"] >= 1).all() and (df["units"] == 1).mean() > 0.9
    assert set(df["claim_type"]) == {"professional", "institutional"}
    prof = df["claim_type"] == "professional"
    assert df.loc[prof, "place_of_service"].isin(["11", "19", "22", "81"]).all()
    assert (df.loc[prof, "bill_type"] == "").all()
    assert df.loc[~prof, "bill_type"].isin(["0131", "0121", "0141", "0851"]).all()
    assert (df.loc[~prof, "place_of_service"] == "").all()
    assert set(df["line_of_business"]) <= {
        "commercial",
        "medicare",
        "medicare_advantage",
        "medicaid",
    }
    assert set(df["beam_modality"]) == {"", "photon", "electron", "proton"}
    tags = {t for v in df["treatment_indicators"] for t in v.split(",") if t}
    assert tags <= {"dibh", "prone", "boost", "photon", "belly_board", "apbi"} and "dibh" in tags
    assert df["provider_id"].str.fullmatch(r"\d{10}").all()
    assert (df["charge_amount"] > 0).all()
    dates = pd.to_datetime(df["service_date"])
    assert dates.min() >= pd.Timestamp("2013-01-01") and dates.max() <= pd.Timestamp("2026-11-30")
    assert (dates.dt.year >= 2019).mean() > 0.8 and (dates.dt.year <= 2015).any()


def test_claims_are_well_formed() -> None:
    df = _frame(generate_claims(40_000, 6))
    assert not df.duplicated(["claim_id", "line_number"]).any()
    assert (df.groupby("claim_id")["patient_id"].nunique() == 1).all()
    per_claim = df.groupby("claim_id")["line_number"].agg(["min", "max", "count"])
    assert (per_claim["min"] == 1).all() and (per_claim["max"] == per_claim["count"]).all()
    assert (df["diagnosis_codes"] != "").all()
    assert (df.groupby("claim_id")["diagnosis_codes"].nunique() == 1).all()
    dx = {d for v in df["diagnosis_codes"] for d in v.split(",")}
    assert all(re.fullmatch(r"[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?", d) for d in dx)
    assert (df.groupby("claim_id")["claim_type"].nunique() == 1).all()


def test_settings_and_spanning_patient_days() -> None:
    df = _frame(generate_claims(40_000, 8, violation_rate=0.0))
    prof = df["claim_type"] == "professional"
    assert {"11", "22", "19"} <= set(df.loc[prof, "place_of_service"])
    assert {"0131", "0851"} <= set(df.loc[~prof, "bill_type"])
    claims_per_day = df.groupby(["patient_id", "service_date"])["claim_id"].nunique()
    assert (claims_per_day > 1).mean() > 0.1
    codes = set(df["procedure_code"])
    assert {
        "77385",
        "77386",
        "G6015",
        "77402",
        "77412",
        "G6012",
        "77014",
        "G6002",
        "77387",
        "77427",
    } <= codes
    assert {"77290", "77301", "77295", "77300", "77334", "99213", "80053", "85025"} <= codes
    # hospital professional claims carry -26; 2026 guidance is 77387-26 only
    assert (df.loc[df["place_of_service"] == "22", "modifiers"] == "26").any()
    late = pd.to_datetime(df["service_date"]) >= pd.Timestamp("2026-01-01")
    assert (df.loc[late & (df["procedure_code"] == "77387"), "modifiers"] == "26").all()
    assert not df.loc[late, "procedure_code"].isin(["77385", "77386", "G6015", "77014"]).any()


def test_some_patients_are_children() -> None:
    df = _frame(generate_claims(100_000, 9))
    age = (
        pd.to_datetime(df["service_date"]) - pd.to_datetime(df["patient_birth_date"])
    ).dt.days / 365.25
    children = df.loc[age < 18, "patient_id"].nunique()
    assert 0 < children / df["patient_id"].nunique() < 0.05


def test_clean_extract_fires_no_rule() -> None:
    df = _frame(generate_claims(60_000, 12, violation_rate=0.0))
    hits = _rule_hits(df)
    assert hits.empty, hits["rule_id"].value_counts().to_dict()


def test_every_rule_fires_and_each_patient_carries_one_violation() -> None:
    df = _frame(generate_claims(20_000, 13))
    hits = _rule_hits(df)
    assert set(hits["rule_id"]) == set(RULE_IDS)
    assert (hits.groupby("patient_id")["rule_id"].nunique() == 1).all()
    share = hits["patient_id"].nunique() / df["patient_id"].nunique()
    assert 0.1 < share < 0.45  # 14 rules x 2% of courses


def test_miscoding_is_whole_providers_on_the_wrong_scheme() -> None:
    clean = _frame(generate_claims(20_000, 14, violation_rate=0.0))
    dirty = _frame(generate_claims(20_000, 14, violation_rate=0.0, miscoding=0.5))
    changed = clean["procedure_code"] != dirty["procedure_code"]
    assert changed.any()
    # only the codes change, only 2015-2025, only to the other scheme's code for the service
    others = [c for c in clean.columns if c not in ("procedure_code", "charge_amount")]
    assert clean[others].equals(dirty[others])
    date = pd.to_datetime(dirty["service_date"])
    mid = (date >= "2015-01-01") & (date <= "2025-12-31")
    assert mid[changed].all()
    before, after = clean["procedure_code"][changed], dirty["procedure_code"][changed]
    pairs = set(zip(before, after, strict=True))
    cpt = _codes("77385", "77386", "77387", "77402", "77407", "77412")
    assert all((a in cpt) != (b in cpt) for a, b in pairs), pairs
    # a miscoding provider codes every such line of its claims (of one kind) the wrong way
    biller = dirty["provider_id"] + "|" + dirty["claim_type"] + "|" + dirty["place_of_service"]
    miscoders = set(biller[changed])
    codable = mid & clean["procedure_code"].isin({a for a, _ in pairs}) & biller.isin(miscoders)
    assert changed[codable].all()
    # and the lines it adds to a clean extract are IGRT002's (IGRT005 for 77387 beside 77014)
    hits = _rule_hits(dirty)
    assert set(hits["rule_id"]) <= {"IGRT002", "IGRT005"}
    assert (hits["rule_id"] == "IGRT002").sum() >= changed.sum() * 0.9


def test_miscoding_zero_is_the_default_extract() -> None:
    assert generate_claims(5_000, 3, miscoding=0.0).equals(generate_claims(5_000, 3))
    with pytest.raises(ValueError):
        generate_claims(1_000, 1, miscoding=1.5)


def test_violation_rate_bounds() -> None:
    generate_claims(1_000, 1, violation_rate=MAX_VIOLATION_RATE)
    with pytest.raises(ValueError):
        generate_claims(1_000, 1, violation_rate=MAX_VIOLATION_RATE + 0.01)
    with pytest.raises(ValueError):
        generate_claims(-1, 1)
    with pytest.raises(ValueError):
        iter_claim_batches(10, 1, batch_lines=0)  # raised at the call, not at the first batch


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_writers_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"extract{suffix}"
    assert write_extract(path, 30_000, 21, batch_lines=8_000, row_group_lines=10_000) == 30_000
    expected = generate_claims(30_000, 21)
    if suffix == ".parquet":
        got = pq.read_table(path)
        assert pq.ParquetFile(path).metadata.num_row_groups == 3
    else:
        text = path.read_text()
        assert text.count('"claim_id"') == 1
        assert re.search(r",\d{4}-\d{2}-\d{2},", text)
        options = pacsv.ConvertOptions(column_types=SCHEMA)
        got = pacsv.read_csv(path, convert_options=options)
    assert got.schema == SCHEMA
    assert got.equals(expected)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_files_are_byte_identical_whatever_the_batch_size(tmp_path: Path, suffix: str) -> None:
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    write_extract(a, 25_000, 22, batch_lines=25_000, row_group_lines=9_000)
    write_extract(b, 25_000, 22, batch_lines=3_333, row_group_lines=9_000)
    assert a.read_bytes() == b.read_bytes()


def test_empty_extract_is_written_with_header(tmp_path: Path) -> None:
    parquet, csv = tmp_path / "e.parquet", tmp_path / "e.csv"
    assert write_extract(parquet, 0, 1) == 0 and write_extract(csv, 0, 1) == 0
    assert pq.read_table(parquet).schema == SCHEMA and pq.read_table(parquet).num_rows == 0
    assert csv.read_text().startswith('"claim_id","line_number"')


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    with pytest.raises(ValueError):
        write_extract(path, 100, 1, violation_rate=1.0)
    with pytest.raises(ValueError):
        write_extract(tmp_path / "out.txt", 100, 1)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_removes_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import igrt_edits.synth.generate as generate

    original = generate._block_table

    def failing(seed: int, block: int, rate: float, remaining: int) -> pa.Table:
        if block == 1:
            raise RuntimeError("disk full")
        return original(seed, block, rate, remaining)

    monkeypatch.setattr(generate, "_block_table", failing)
    path = tmp_path / "out.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        write_extract(path, 400_000, 1, batch_lines=50_000)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert path.read_text() == "old"


def test_units_and_dates_are_numpy_friendly() -> None:
    table = generate_claims(2_000, 1)
    assert table.column("units").type == pa.int32()
    assert np.issubdtype(table.column("line_number").to_numpy().dtype, np.integer)


def test_hospital_days_are_split_billed_as_hospitals_bill_them() -> None:
    """Hospital 77387 with the physician's 77014-26, G6002-26 or G6001-26 for the same session
    (Medicare's split billing, 2015-2025): the usual hospital 3D conformal/proton guidance day."""
    df = _frame(generate_claims(60_000, 14, violation_rate=0.0))
    day = df["patient_id"] + "|" + df["service_date"].astype(str)
    facility = (df["claim_type"] == "institutional") & (df["procedure_code"] == "77387")
    physician = (df["modifiers"] == "26") & df["procedure_code"].isin(["77014", "G6002", "G6001"])
    split = set(day[facility]) & set(day[physician])
    hospital_guidance = set(
        day[(df["claim_type"] == "institutional") & df["procedure_code"].isin(["77387", "77014"])]
    )
    assert 0.5 < len(split) / len(hospital_guidance) < 0.8
    methods = set(df.loc[physician & day.isin(split), "procedure_code"])
    assert methods == {"77014", "G6002", "G6001"}
