"""Messages that depend on the line's claim (catalog v2), through the real loader and engine."""

from __future__ import annotations

from igrt_edits.config import Config
from igrt_edits.run.check import run_check

HEADER = (
    "claim_id,line_number,patient_id,service_date,procedure_code,modifiers,units,"
    "diagnosis_codes,claim_type,bill_type,place_of_service\n"
)


def messages(tmp_path, rows: str, rule_id: str, catalog) -> dict[str, str]:
    path = tmp_path / "lines.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    _, _, result = run_check([str(path)], Config(select=(rule_id,)), catalog)
    found = result.findings
    keys = found["claim_id"] + ":" + found["line_number"].astype(str)
    return dict(zip(keys, found["message"], strict=True))


def test_igrt013_2026_message_fits_the_claim_type(tmp_path, catalog):
    rows = (
        "P1,1,M1,2026-02-02,77387,,1,C61,professional,,22\n"
        "H1,1,M1,2026-02-02,77387,,1,C61,institutional,0131,\n"
        "C1,1,M2,2026-02-02,77387,TC,1,C61,,,\n"
    )
    found = messages(tmp_path, rows, "IGRT013", catalog)
    assert "add modifier 26" in found["P1:1"] and "remove the line" not in found["P1:1"]
    assert "remove the line" in found["H1:1"] and "77402/77407/77412" in found["H1:1"]
    # A claim type that cannot be told gets the message that fits both.
    assert "77387-26" in found["C1:1"] and "remove the line" not in found["C1:1"]


def test_igrt014_message_names_the_place_of_service_and_the_fix(tmp_path, catalog):
    rows = (
        "P1,1,M1,2019-05-01,77014,,1,C61,professional,,19\n"
        "P1,2,M1,2019-05-02,G6017,,1,C61,professional,,22\n"
    )
    found = messages(tmp_path, rows, "IGRT014", catalog)
    assert "place of service 19" in found["P1:1"] and "77014-26" in found["P1:1"]
    assert "place of service 22" in found["P1:2"] and "no professional component" in found["P1:2"]
