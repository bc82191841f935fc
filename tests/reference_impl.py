"""Plain-Python reference implementation of the IGRT edit catalog, for differential tests.

This module re-implements, independently of the ``igrt_edits`` package, the fourteen edits of
``edit-catalog.md`` (catalog version 2) and the derivations of ``data-contract.md``
(patient-day, setting, coding scheme, claim type, component, billing side, member age). It is deliberately slow and simple: plain loops, dicts and
sets, one small function per rule, every code list written out as a literal so a reviewer can
compare it with the catalog line by line. It never imports ``igrt_edits`` and never reads the
project's ``edits/`` data files.

Entry point: :func:`reference_findings`, which returns ``{(rule_id, claim_id, line_number)}``.

Interpretations
---------------
The team's fixed interpretations (patient-day across claims, adult age, setting and scheme,
component, electron handling, IGRT005/006 counting, IGRT007/008 diagnoses and tags, IGRT011,
IGRT013, input errors) are followed as written. Where the catalog and those interpretations
are silent, this module takes the most literal reading, as follows.

1. Out-of-scope (under-age) lines are dropped before any rule runs: they contribute no code,
   units, diagnosis or treatment indicator to any other line's context. (A pediatric line's
   diagnoses could otherwise turn an IGRT007 into an IGRT008, i.e. make another line fire.)
2. Input errors (a claim_id under two patient ids; a duplicate claim_id + line_number) are
   computed on the whole input at once, before the age filter; a row meeting either condition
   is dropped. Rows are otherwise assumed valid; a value that cannot be parsed raises
   ``ValueError`` rather than being guessed at.
3. Code-set membership does not depend on the date: 77418/0073T are IMRT delivery and
   G0173/G0251 are SBRT/SRS codes on any date of service, 77401/77437/77438 are
   superficial and 77439 ("from 2026") is IGRT on any date. Whether a code exists on its
   date is IGRT001's business only.
4. G0173 and G0251 (the pre-2015 linac SRS deliveries) are SBRT/SRS *delivery* codes, so
   also external-beam delivery and "any delivery" (the team's decision; the catalog's list of
   SBRT/SRS delivery codes names only 77371, 77372, 77373, G0339, G0340, G0563, which are their
   2015 replacements). 77432, 77435, 61796-61800, 63620, 63621 and 32701 are SBRT/SRS codes
   but not delivery.
5. 77436 appears only in the code validity table: IGRT001 checks it, and it belongs to no
   code set (77437 and 77438 are superficial delivery, 77439 is IGRT, as the catalog lists).
6. IGRT001 merges the validity table's rows per code: a code's "valid from" and "valid through"
   may come from different rows (77385: from 2015-01-01, through 2025-12-31). A code not in
   the table is never flagged by IGRT001. Both bounds are inclusive.
7. Every date window ("2015-01-01 .. 2025-12-31", "through 2025-12-31", "from 2026-01-01") is
   inclusive and is tested on the flagged line's own service date.
8. Setting is derived per line. A blank ``setting`` value falls through to the derivation, as
   does a blank ``claim_type``. An institutional line without a bill type is ``OTHER``. Bill
   types of 3 digits get a leading 0 (``131`` -> ``0131``); OPPS bill types start with
   012, 013 or 014.
9. IGRT003's "cpt-scheme claim" is the IGRT line's own scheme. The 77385/77386 that triggers
   it may be on any in-scope line of the patient-day: any claim, component or beam modality.
10. IGRT009 counts a superficial/orthovoltage code whatever the line's beam_modality. An
    electron delivery line is a line whose beam_modality is ``electron`` (trimmed, any case)
    and whose code is in "any delivery".
11. IGRT006 sums units as numbers (``"1.0"`` is 1; 0 units count as 0); a blank unit is 1.
12. IGRT012's "delivery of any kind" is the catalog's "any delivery" set (external-beam +
    superficial + brachytherapy), electron lines included.
13. IGRT011: "its claim (any date)" means any in-scope IGRT line with the same claim_id,
    whatever its service date; "its patient-day" means any in-scope IGRT line of the same
    patient on the same date, on any claim.
14. Diagnosis matching is the inclusive lexicographic comparison of the upper-case, dot-less
    code with each enabled range of ``igrt_dx_ranges.csv``; a code shorter than a bound is
    compared with the bound cut to the code's length (catalog v2), so ``C860`` is inside
    ``C8600``..``C8661`` and ``C50`` inside ``C50011``..``C50929``. Text shorter than an
    ICD-10-CM category (3 characters) is compared as it stands.
15. Treatment indicators are split on comma, semicolon and whitespace and lower-cased. An
    indication's condition is satisfied when all of its tags are present on the patient-day.
    K's ``photon`` is also present when a line of the patient-day has an "any delivery" code
    and beam_modality ``photon``.
16. Age in full years: the member turns N on the birthday; someone born on 29 February turns
    a year older on 1 March in common years. A row with a blank birth date falls back to its
    own ``patient_age``; with neither, it takes the birth date of the member's other lines
    (same patient_id, after input errors are dropped) when they all give the same one; else
    the age is unknown and the line is in scope. A member birth date after the line's service
    date leaves the age unknown.
17. claim_id, patient_id and payer are trimmed strings (a Parquet integer id becomes its
    decimal text); returned claim ids are these trimmed strings. Payers match ``cpt_payers``
    case-insensitively after trimming; lines of business match ``cpt_lines_of_business``
    lower-cased after trimming.
18. Only the canonical keys ``modifiers`` and ``diagnosis_codes`` are read; the contract's
    multi-column forms (modifier_1.., dx_1..) are the loader's job and are not handled here.
19. Claim type per line: the ``claim_type`` value; when blank, a bill type means institutional,
    else a place of service professional, else a ``setting`` of OPPS institutional and MPFS
    professional; else unknown. Billing side: modifier 26 -> professional; TC -> technical; a
    global line -> technical, and professional too unless its claim type is institutional (an
    unknown claim type is "not institutional").
20. IGRT014's "professional claim" is that claim type; place of service is compared as the
    loader pads it (two digits: ``"2"`` would be ``"02"``). IGRT013's TC check applies on
    any claim type (a UB-04 line with TC on a technical-only code is flagged too).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

# --------------------------------------------------------------------------------------------
# Code sets (edit-catalog.md, "Code sets (defaults)")
# --------------------------------------------------------------------------------------------


def _span(first: str, last: str) -> set[str]:
    """Expand a code range written like ``G6003-G6014`` (same prefix, numeric tail)."""
    prefix = first.rstrip("0123456789")
    width = len(first) - len(prefix)
    start, stop = int(first[len(prefix) :]), int(last[len(prefix) :])
    return {f"{prefix}{n:0{width}d}" for n in range(start, stop + 1)}


# | IGRT (guidance methods) | 77387, 77014, G6001, G6002, G6017, 76950, 77421, 0197T, 77439
# |                         | (from 2026: ultrasound guidance for surface RT) |
IGRT = {"77387", "77014", "G6001", "G6002", "G6017", "76950", "77421", "0197T", "77439"}

# "Billing sides": "77387 names none in particular"; every other IGRT code names one method.
IGRT_NAMING_NO_METHOD = {"77387"}

# | IMRT delivery | 77385, 77386, G6015, G6016 (pre-2015: 77418, 0073T) |
IMRT = {"77385", "77386", "G6015", "G6016", "77418", "0073T"}

# | non-IMRT megavoltage delivery ("3DCRT") | 77402, 77407, 77412, G6003-G6014 |
NON_IMRT = {"77402", "77407", "77412"} | _span("G6003", "G6014")

# | SBRT/SRS | 77371, 77372, 77373, 77432, 77435, G0339, G0340, G0563, 61796-61800, 63620,
# |          63621, 32701 (pre-2015: G0173, G0251) |
SBRT_SRS = (
    {"77371", "77372", "77373", "77432", "77435", "G0339", "G0340", "G0563"}
    | _span("61796", "61800")
    | {"63620", "63621", "32701"}
    | {"G0173", "G0251"}
)

# | brachytherapy delivery | 77750, 77761-77763, 77767, 77768, 77770-77772, 77778, 77789,
# |                        | 77790, 77799, 0394T, 0395T |
BRACHYTHERAPY = (
    {"77750"}
    | _span("77761", "77763")
    | {"77767", "77768"}
    | _span("77770", "77772")
    | {"77778", "77789", "77790", "77799", "0394T", "0395T"}
)

# | superficial/orthovoltage delivery | 77401, 77437, 77438 |
SUPERFICIAL = {"77401", "77437", "77438"}

# | proton delivery | 77520, 77522, 77523, 77525 |
PROTON = {"77520", "77522", "77523", "77525"}

# | other external-beam delivery | 77423, 77424, 77425 |
OTHER_EXTERNAL_BEAM = {"77423", "77424", "77425"}

# | physics consult / special procedure | 77370, 77470 |
PHYSICS_CONSULT = {"77370", "77470"}

# | technical-only (PC/TC indicator 3: neither -26 nor -TC) | 77385, 77386, 77402, 77407,
# |   77412, G6003-G6016, 77371, 77372, 77373, 77401 |
TECHNICAL_ONLY = (
    {"77385", "77386", "77402", "77407", "77412"}
    | _span("G6003", "G6016")
    | {"77371", "77372", "77373", "77401"}
)

# | no PC/TC split | G6017 |
NO_PC_TC_SPLIT = {"G6017"}

# IGRT014 "flags": "77014, G6001, G6002, 76950 or 77421 without modifier 26, or of G6017 or
# 0197T, on a professional claim whose place of service is 19 or 22".
FACILITY_PC_ONLY = {"77014", "G6001", "G6002", "76950", "77421"}
FACILITY_NOT_BILLED = {"G6017", "0197T"}
HOSPITAL_PLACES_OF_SERVICE = {"19", "22"}

# IGRT002 "flags": "scheme cpt: G6001-G6017. Scheme gcode: 77385, 77386, 77387, 77402, 77407,
# 77412."
NOT_RECOGNIZED_IN_CPT = _span("G6001", "G6017")
NOT_RECOGNIZED_IN_GCODE = {"77385", "77386", "77387", "77402", "77407", "77412"}

# "SBRT/SRS delivery codes (77371, 77372, 77373, G0339, G0340, G0563)", plus the pre-2015
# linac SRS deliveries G0173 and G0251 (Interpretation 4).
SBRT_SRS_DELIVERY = {"77371", "77372", "77373", "G0339", "G0340", "G0563", "G0173", "G0251"}

# "External-beam delivery = IMRT + non-IMRT + SBRT/SRS delivery codes + proton + other
# external-beam."
EXTERNAL_BEAM = IMRT | NON_IMRT | SBRT_SRS_DELIVERY | PROTON | OTHER_EXTERNAL_BEAM

# "Any delivery = external-beam + superficial + brachytherapy."
ANY_DELIVERY = EXTERNAL_BEAM | SUPERFICIAL | BRACHYTHERAPY

# --------------------------------------------------------------------------------------------
# Code validity by date of service (edit-catalog.md, used by IGRT001)
# --------------------------------------------------------------------------------------------

# One entry per row of the catalog's table: (codes, valid from, valid through); None = open.
VALIDITY_TABLE: list[tuple[set[str], date | None, date | None]] = [
    # | 76950, 77421, 0197T | - | 2014-12-31 |
    ({"76950", "77421", "0197T"}, None, date(2014, 12, 31)),
    # | 77418, 0073T | - | 2014-12-31 |
    ({"77418", "0073T"}, None, date(2014, 12, 31)),
    # | G0173, G0251 | - | 2014-12-31 |
    ({"G0173", "G0251"}, None, date(2014, 12, 31)),
    # | 77385, 77386, 77387, G6001-G6017 | 2015-01-01 | (77387: open) |
    ({"77385", "77386", "77387"} | _span("G6001", "G6017"), date(2015, 1, 1), None),
    # | 77767, 77768, 77770-77772 | 2016-01-01 | |
    ({"77767", "77768"} | _span("77770", "77772"), date(2016, 1, 1), None),
    # | 32701 | 2019-01-01 | |
    ({"32701"}, date(2019, 1, 1), None),
    # | G0563 | 2025-01-01 | |
    ({"G0563"}, date(2025, 1, 1), None),
    # | 77385, 77386, G6001-G6017, 77014, 77401, 0394T | | 2025-12-31 |
    (
        {"77385", "77386"} | _span("G6001", "G6017") | {"77014", "77401", "0394T"},
        None,
        date(2025, 12, 31),
    ),
    # | 77436-77439 | 2026-01-01 | |
    (_span("77436", "77439"), date(2026, 1, 1), None),
]


def _validity_by_code() -> dict[str, tuple[date | None, date | None]]:
    """Merge the validity table's rows into one (valid from, valid through) per code."""
    merged: dict[str, tuple[date | None, date | None]] = {}
    for codes, valid_from, valid_through in VALIDITY_TABLE:
        for code in codes:
            old_from, old_through = merged.get(code, (None, None))
            merged[code] = (valid_from or old_from, valid_through or old_through)
    return merged


VALIDITY = _validity_by_code()

# --------------------------------------------------------------------------------------------
# Indications for IGRT with 3DCRT (igrt_dx_ranges.csv; HX rows are not indications)
# --------------------------------------------------------------------------------------------

# (letter, icd10_from, icd10_to, on by default). Rows whose indication text says "optional" or
# "excluded by default" are off by default; their id is "<letter>-<icd10_from>".
INDICATION_RANGES: list[tuple[str, str, str, bool]] = [
    ("A", "Z92.3", "Z92.3", True),
    ("B", "C22.0", "C22.9", True),
    ("B", "C23", "C23", True),
    ("B", "C24.0", "C24.9", True),
    ("B", "C78.7", "C78.7", False),  # Hepatobiliary tract (optional)
    ("C", "C00.0", "C14.8", True),
    ("C", "C30.0", "C32.9", True),
    ("C", "C76.0", "C76.0", True),
    ("C", "C77.0", "C77.0", False),  # Head and neck cancer (optional)
    ("C", "C73", "C73", False),  # Head and neck cancer (excluded by default)
    ("D", "C81.00", "C81.9A", True),
    ("D", "C82.00", "C85.9A", True),
    ("D", "C86.00", "C86.61", True),
    ("D", "C88.40", "C88.41", False),  # Non-Hodgkin lymphoma (optional)
    ("E", "C34.00", "C34.92", True),
    ("E", "C78.00", "C78.02", False),  # Lung cancer (optional)
    ("F", "C61", "C61", True),
    ("G", "C15.3", "C15.9", True),
    ("H", "C16.0", "C16.9", True),
    ("I", "C25.0", "C25.9", True),
    ("J", "C20", "C20", True),
    ("J", "C19", "C19", True),
    ("J", "C21.0", "C21.8", False),  # Pelvic cancer (optional)
    ("K", "C50.011", "C50.929", True),
    ("K", "C50.A0", "C50.A2", True),
    ("K", "D05.00", "D05.92", True),  # Breast boost (in situ; on from catalog v2)
    ("L", "C50.011", "C50.929", True),
    ("L", "C50.A0", "C50.A2", True),
    ("L", "D05.00", "D05.92", True),  # External-beam APBI (in situ; on from catalog v2)
    ("M", "C50.012", "C50.012", True),
    ("M", "C50.022", "C50.022", True),
    ("M", "C50.112", "C50.112", True),
    ("M", "C50.122", "C50.122", True),
    ("M", "C50.212", "C50.212", True),
    ("M", "C50.222", "C50.222", True),
    ("M", "C50.312", "C50.312", True),
    ("M", "C50.322", "C50.322", True),
    ("M", "C50.412", "C50.412", True),
    ("M", "C50.422", "C50.422", True),
    ("M", "C50.512", "C50.512", True),
    ("M", "C50.522", "C50.522", True),
    ("M", "C50.612", "C50.612", True),
    ("M", "C50.622", "C50.622", True),
    ("M", "C50.812", "C50.812", True),
    ("M", "C50.822", "C50.822", True),
    ("M", "C50.912", "C50.912", True),
    ("M", "C50.922", "C50.922", True),
    ("M", "C50.A2", "C50.A2", True),
    ("M", "D05.02", "D05.02", True),  # Left breast (in situ) with DIBH; on from v2
    ("M", "D05.12", "D05.12", True),  # Left breast (in situ) with DIBH; on from v2
    ("M", "D05.82", "D05.82", True),  # Left breast (in situ) with DIBH; on from v2
    ("M", "D05.92", "D05.92", True),  # Left breast (in situ) with DIBH; on from v2
    ("N", "C50.011", "C50.929", True),
    ("N", "C50.A0", "C50.A2", True),
    ("N", "D05.00", "D05.92", True),  # Breast, prone (in situ); new in catalog v2
    ("O", "C67.0", "C67.9", True),
    ("O", "D09.0", "D09.0", False),  # Bladder (optional, in situ)
    ("P", "C40.00", "C41.9", True),
    ("P", "C49.0", "C49.A9", True),
    ("P", "C48.0", "C48.0", True),
    ("P", "C46.0", "C46.9", False),  # Sarcoma (excluded by default)
]

OPTIONAL_ROW_IDS = {f"{letter}-{low}" for letter, low, _, on in INDICATION_RANGES if not on}

# Conditional indications J-O and the treatment_indicators tags that satisfy them (all needed):
# J belly_board; K boost and photon; L apbi; M dibh; N prone; O boost.
CONDITIONS: dict[str, set[str]] = {
    "J": {"belly_board"},
    "K": {"boost", "photon"},
    "L": {"apbi"},
    "M": {"dibh"},
    "N": {"prone"},
    "O": {"boost"},
}

# --------------------------------------------------------------------------------------------
# Date windows used by the rules
# --------------------------------------------------------------------------------------------

ERA_2015_START = date(2015, 1, 1)
ERA_2015_END = date(2025, 12, 31)
ERA_2026_START = date(2026, 1, 1)

# --------------------------------------------------------------------------------------------
# Parsing of raw values (CSV strings or Parquet values)
# --------------------------------------------------------------------------------------------

MONTHS = {
    "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
    "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
}  # fmt: skip


def is_blank(value: Any) -> bool:
    """True for None, NaN, pandas NA/NaT and empty or all-space text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, str) and value.strip() == ""


def as_text(value: Any) -> str:
    """A value as trimmed text; blank values become ""; whole floats lose their ".0"."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_date(value: Any) -> date | None:
    """Parse YYYY-MM-DD, MM/DD/YYYY, YYYYMMDD, DD-Mon-YYYY or a date object; blank -> None."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):  # also a pandas Timestamp
        return value.date()
    if isinstance(value, date):
        return value
    text = as_text(value)
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        year, month, day = text.split("-")
        return date(int(year), int(month), int(day))
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
        month, day, year = text.split("/")
        return date(int(year), int(month), int(day))
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    if re.fullmatch(r"\d{1,2}-[A-Za-z]{3}-\d{4}", text):
        day, month_name, year = text.split("-")
        return date(int(year), MONTHS[month_name.upper()], int(day))
    raise ValueError(f"unparseable date: {value!r}")


def parse_modifiers(value: Any) -> set[str]:
    """Split modifiers on comma, space, colon or pipe; upper-case them."""
    return {part.upper() for part in re.split(r"[,\s:|]+", as_text(value)) if part}


def parse_diagnoses(value: Any) -> set[str]:
    """Split diagnoses on comma, space, semicolon or pipe; upper-case; drop the dots."""
    parts = re.split(r"[,\s;|]+", as_text(value))
    return {part.upper().replace(".", "") for part in parts if part}


def parse_tags(value: Any) -> set[str]:
    """Split treatment indicators on comma, semicolon or space; lower-case them."""
    return {part.lower() for part in re.split(r"[,;\s]+", as_text(value)) if part}


def parse_units(value: Any) -> float:
    """Units as a number; a blank value means 1 (contract: default 1)."""
    if is_blank(value):
        return 1.0
    return float(as_text(value))


def parse_claim_type(value: Any) -> str:
    """'professional', 'institutional' or '' from the contract's accepted forms."""
    text = as_text(value).upper()
    if text in ("PROFESSIONAL", "P", "837P", "CMS-1500"):
        return "professional"
    if text in ("INSTITUTIONAL", "I", "837I", "UB-04"):
        return "institutional"
    if text == "":
        return ""
    raise ValueError(f"unknown claim_type: {value!r}")


def parse_setting(value: Any) -> str:
    """'OPPS', 'MPFS', 'OTHER' or '' from the setting column's accepted forms."""
    text = as_text(value).upper()
    if text in ("OPPS", "HOPPS", "HOPD"):
        return "OPPS"
    if text in ("MPFS", "PFS"):
        return "MPFS"
    if text == "OTHER":
        return "OTHER"
    if text == "":
        return ""
    raise ValueError(f"unknown setting: {value!r}")


def parse_bill_type(value: Any) -> str:
    """Bill type as 4 digits ('131' -> '0131'); blank -> ''."""
    text = as_text(value)
    if len(text) == 3:
        return "0" + text
    return text


# --------------------------------------------------------------------------------------------
# Derivations (data-contract.md, "Derived per line")
# --------------------------------------------------------------------------------------------


def derive_setting(row: Mapping[str, Any]) -> str:
    """The line's setting: 'OPPS', 'MPFS', 'OTHER' or '' (unknown)."""
    # "the setting column when present"
    setting = parse_setting(row.get("setting"))
    if setting:
        return setting
    claim_type = parse_claim_type(row.get("claim_type"))
    bill_type = parse_bill_type(row.get("bill_type"))
    place_of_service = as_text(row.get("place_of_service"))
    # "Without claim_type, a line with a bill type is institutional and a line with a place of
    # service is professional."
    if not claim_type:
        if bill_type:
            claim_type = "institutional"
        elif place_of_service:
            claim_type = "professional"
    # "an institutional claim with a bill type of 012x, 013x or 014x is OPPS, another
    # institutional claim is OTHER, and a professional claim is MPFS"
    if claim_type == "institutional":
        return "OPPS" if bill_type[:3] in ("012", "013", "014") else "OTHER"
    if claim_type == "professional":
        return "MPFS"
    return ""  # "Where nothing tells, the setting is unknown"


def derive_claim_type(row: Mapping[str, Any]) -> str:
    """'professional', 'institutional' or '' (unknown): Interpretation 19."""
    claim_type = parse_claim_type(row.get("claim_type"))
    if claim_type:
        return claim_type
    if parse_bill_type(row.get("bill_type")):
        return "institutional"
    if as_text(row.get("place_of_service")):
        return "professional"
    setting = parse_setting(row.get("setting"))
    return {"OPPS": "institutional", "MPFS": "professional"}.get(setting, "")


def derive_sides(component: str, claim_type: str) -> set[str]:
    """The billing sides of a line ("Billing sides"): a PC line is professional, a TC line
    technical, a global line technical and, unless its claim is institutional, professional."""
    if component == "PC":
        return {"professional"}
    if component == "TC":
        return {"technical"}
    if claim_type == "institutional":
        return {"technical"}
    return {"professional", "technical"}


def parse_place_of_service(value: Any) -> str:
    """Place of service as two digits ('2' -> '02'); blank -> ''."""
    text = as_text(value)
    return text.zfill(2) if text else ""


def derive_scheme(
    setting: str,
    payer: str,
    line_of_business: str,
    cpt_payers: set[str],
    cpt_lines_of_business: set[str],
) -> str:
    """The coding scheme: 'cpt', 'gcode' or '' (none)."""
    if setting == "OPPS":
        return "cpt"
    if setting == "MPFS":
        # "for MPFS gcode by default, cpt for the payers or lines of business that
        # configuration names"
        if payer.casefold() in cpt_payers or line_of_business.lower() in cpt_lines_of_business:
            return "cpt"
        return "gcode"
    return ""


def derive_component(modifiers: set[str]) -> str:
    """'PC' when modifier 26 is present, 'TC' when TC is present, else 'global'."""
    if "26" in modifiers:
        return "PC"
    if "TC" in modifiers:
        return "TC"
    return "global"


def age_on(birth_date: date, on: date) -> int:
    """Age in full years on a date (the member turns N on the birthday)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (1 if before_birthday else 0)


def derive_age(row: Mapping[str, Any], service_date: date) -> int | None:
    """The line's own age on the service date: from its birth date, else its age column;
    None if it has neither (the member's other lines may tell: member_age)."""
    birth_date = parse_date(row.get("patient_birth_date"))
    if birth_date is not None:
        return age_on(birth_date, service_date)
    age = as_text(row.get("patient_age"))
    if age:
        return int(float(age))
    return None


def member_age(line: Line, birth_dates: dict[str, set[date]]) -> int | None:
    """The line's own age, else its age from the one birth date of the member's lines."""
    if line.age is not None:
        return line.age
    dates = birth_dates.get(line.patient_id, set())
    if len(dates) != 1:
        return None
    age = age_on(next(iter(dates)), line.service_date)
    return age if age >= 0 else None


@dataclass
class Line:
    """One claim line with everything the rules need, already parsed."""

    claim_id: str
    line_number: int
    patient_id: str
    service_date: date
    code: str
    modifiers: set[str]
    component: str
    units: float
    diagnoses: set[str]
    setting: str
    scheme: str
    claim_type: str
    place_of_service: str
    sides: set[str]
    electron: bool
    photon_delivery: bool
    tags: set[str]
    birth_date: date | None
    age: int | None

    @property
    def patient_day(self) -> tuple[str, date]:
        return (self.patient_id, self.service_date)

    @property
    def key(self) -> tuple[str, int]:
        return (self.claim_id, self.line_number)


def parse_line(
    row: Mapping[str, Any], cpt_payers: set[str], cpt_lines_of_business: set[str]
) -> Line:
    """Turn one input row into a Line."""
    service_date = parse_date(row.get("service_date"))
    if service_date is None:
        raise ValueError(f"row without service_date: {row!r}")
    code = as_text(row.get("procedure_code")).upper()
    modifiers = parse_modifiers(row.get("modifiers"))
    setting = derive_setting(row)
    component = derive_component(modifiers)
    claim_type = derive_claim_type(row)
    modality = as_text(row.get("beam_modality")).lower()
    return Line(
        claim_id=as_text(row.get("claim_id")),
        line_number=int(float(as_text(row.get("line_number")))),
        patient_id=as_text(row.get("patient_id")),
        service_date=service_date,
        code=code,
        modifiers=modifiers,
        component=component,
        units=parse_units(row.get("units")),
        diagnoses=parse_diagnoses(row.get("diagnosis_codes")),
        setting=setting,
        scheme=derive_scheme(
            setting,
            as_text(row.get("payer")),
            as_text(row.get("line_of_business")),
            cpt_payers,
            cpt_lines_of_business,
        ),
        claim_type=claim_type,
        place_of_service=parse_place_of_service(row.get("place_of_service")),
        sides=derive_sides(component, claim_type),
        # An electron line is a delivery line whose beam_modality is electron.
        electron=modality == "electron" and code in ANY_DELIVERY,
        photon_delivery=modality == "photon" and code in ANY_DELIVERY,
        tags=parse_tags(row.get("treatment_indicators")),
        birth_date=parse_date(row.get("patient_birth_date")),
        age=derive_age(row, service_date),
    )


def drop_input_errors(lines: list[Line]) -> list[Line]:
    """Drop every row of a claim_id seen under two patient ids and every duplicated key."""
    patients_by_claim: dict[str, set[str]] = defaultdict(set)
    rows_by_key: dict[tuple[str, int], int] = defaultdict(int)
    for line in lines:
        patients_by_claim[line.claim_id].add(line.patient_id)
        rows_by_key[line.key] += 1
    return [
        line
        for line in lines
        if len(patients_by_claim[line.claim_id]) == 1 and rows_by_key[line.key] == 1
    ]


# --------------------------------------------------------------------------------------------
# Context shared by the rules
# --------------------------------------------------------------------------------------------


@dataclass
class Context:
    """The in-scope lines of the run, grouped by patient-day and by claim, plus options."""

    by_day: dict[tuple[str, date], list[Line]]
    by_claim: dict[str, list[Line]]
    has_diagnosis_column: bool
    indication_ranges: list[tuple[str, str, str]]  # (letter, low, high), dot-less

    def day(self, line: Line) -> list[Line]:
        return self.by_day[line.patient_day]

    def claim(self, line: Line) -> list[Line]:
        return self.by_claim[line.claim_id]


def enabled_indication_ranges(enabled_optional: set[str]) -> list[tuple[str, str, str]]:
    """The default-on ranges plus the optional rows switched on, dot-less."""
    unknown = enabled_optional - OPTIONAL_ROW_IDS
    if unknown:
        raise ValueError(f"unknown optional indication rows: {sorted(unknown)}")
    ranges = []
    for letter, low, high, on in INDICATION_RANGES:
        if on or f"{letter}-{low}" in enabled_optional:
            ranges.append((letter, low.replace(".", ""), high.replace(".", "")))
    return ranges


# Small day-level predicates, named after the catalog's terms.


def has_code_in(lines: list[Line], codes: set[str]) -> bool:
    """True when one of the lines has one of the codes."""
    return any(line.code in codes for line in lines)


def has_non_electron_line_in(lines: list[Line], codes: set[str]) -> bool:
    """True when a line that is not electron delivery has one of the codes."""
    return any(line.code in codes and not line.electron for line in lines)


def has_electron_delivery(lines: list[Line]) -> bool:
    """True when one of the lines is electron delivery."""
    return any(line.electron for line in lines)


def is_3dcrt_day(lines: list[Line]) -> bool:
    """Non-IMRT delivery (not electron), no IMRT delivery (not electron), no SBRT/SRS code."""
    return (
        has_non_electron_line_in(lines, NON_IMRT)
        and not has_non_electron_line_in(lines, IMRT)
        and not has_code_in(lines, SBRT_SRS)
    )


# --------------------------------------------------------------------------------------------
# Rules: one function per catalog row, each answering "is this line flagged?"
# --------------------------------------------------------------------------------------------


def igrt001(line: Line, ctx: Context) -> bool:
    """Code-not-valid-on-date: the code (from the validity table) is not valid on its date."""
    if line.code not in VALIDITY:
        return False
    valid_from, valid_through = VALIDITY[line.code]
    if valid_from is not None and line.service_date < valid_from:
        return True
    return valid_through is not None and line.service_date > valid_through


def igrt002(line: Line, ctx: Context) -> bool:
    """Code-not-recognized-in-setting, 2015-01-01 .. 2025-12-31, setting OPPS or MPFS."""
    if not ERA_2015_START <= line.service_date <= ERA_2015_END:
        return False
    if line.setting not in ("OPPS", "MPFS"):
        return False
    if line.scheme == "cpt":
        return line.code in NOT_RECOGNIZED_IN_CPT
    if line.scheme == "gcode":
        return line.code in NOT_RECOGNIZED_IN_GCODE
    return False


def igrt003(line: Line, ctx: Context) -> bool:
    """A 77387/77014 line, not PC, cpt scheme, when the patient-day has 77385 or 77386."""
    if not ERA_2015_START <= line.service_date <= ERA_2015_END:
        return False
    if line.code not in ("77387", "77014") or line.component == "PC":
        return False
    if line.scheme != "cpt":
        return False
    return has_code_in(ctx.day(line), {"77385", "77386"})


def igrt004(line: Line, ctx: Context) -> bool:
    """Every IGRT line (any component) on a patient-day that has an SBRT/SRS code."""
    return line.code in IGRT and has_code_in(ctx.day(line), SBRT_SRS)


def side_codes(lines: list[Line], side: str) -> set[str]:
    """The distinct IGRT codes of the lines on one billing side."""
    return {other.code for other in lines if other.code in IGRT and side in other.sides}


def igrt005(line: Line, ctx: Context) -> bool:
    """P, T: distinct IGRT codes on the professional and technical side; S = (P | T) - 77387.
    Every IGRT line on a side holding two or more codes, and every IGRT line whose code is in
    S when S holds two or more codes."""
    if line.code not in IGRT:
        return False
    day = ctx.day(line)
    by_side = {side: side_codes(day, side) for side in ("professional", "technical")}
    if any(len(by_side[side]) >= 2 for side in line.sides):
        return True
    specific = (by_side["professional"] | by_side["technical"]) - IGRT_NAMING_NO_METHOD
    return line.code in specific and len(specific) >= 2


def igrt006(line: Line, ctx: Context) -> bool:
    """IGRT line whose units, summed over the patient-day, the code and one side the line is
    on, exceed 1."""
    if line.code not in IGRT:
        return False
    for side in line.sides:
        total = sum(
            other.units
            for other in ctx.day(line)
            if other.code == line.code and side in other.sides
        )
        if total > 1:
            return True
    return False


def claim_diagnoses(line: Line, ctx: Context) -> set[str]:
    """The claim's diagnoses: the union over all (in-scope) lines of the line's claim."""
    diagnoses: set[str] = set()
    for other in ctx.claim(line):
        diagnoses |= other.diagnoses
    return diagnoses


def in_range(code: str, low: str, high: str) -> bool:
    """Inclusive range test; a code shorter than a bound meets the bound cut to its length."""
    if len(code) < 3:  # not an ICD-10-CM category: compared as it stands
        return low <= code <= high
    return low[: len(code)] <= code <= high[: len(code)]


def matched_indications(diagnoses: set[str], ctx: Context) -> set[str]:
    """Letters A-P whose enabled ranges contain one of the diagnoses (inclusive)."""
    letters = set()
    for code in diagnoses:
        for letter, low, high in ctx.indication_ranges:
            if in_range(code, low, high):
                letters.add(letter)
    return letters


def day_tags(line: Line, ctx: Context) -> set[str]:
    """treatment_indicators tags on any line of the patient-day; `photon` also when a line of
    the day is photon delivery (indication K)."""
    tags: set[str] = set()
    for other in ctx.day(line):
        tags |= other.tags
        if other.photon_delivery:
            tags.add("photon")
    return tags


def igrt_3dcrt_applies(line: Line, ctx: Context) -> bool:
    """Shared 'when' of IGRT007/008: diagnosis column, date, IGRT line, 3DCRT-only day."""
    return (
        ctx.has_diagnosis_column
        and line.service_date <= ERA_2015_END
        and line.code in IGRT
        and is_3dcrt_day(ctx.day(line))
    )


def igrt007(line: Line, ctx: Context) -> bool:
    """IGRT with 3DCRT whose claim has no diagnosis in any indication A-P."""
    if not igrt_3dcrt_applies(line, ctx):
        return False
    return not matched_indications(claim_diagnoses(line, ctx), ctx)


def igrt008(line: Line, ctx: Context) -> bool:
    """As IGRT007, but only conditional indications (J-O) match and none is satisfied."""
    if not igrt_3dcrt_applies(line, ctx):
        return False
    letters = matched_indications(claim_diagnoses(line, ctx), ctx)
    if not letters or not letters <= set(CONDITIONS):
        return False
    tags = day_tags(line, ctx)
    return not any(CONDITIONS[letter] <= tags for letter in letters)


def igrt009(line: Line, ctx: Context) -> bool:
    """IGRT on a day with superficial or electron delivery and no other external-beam line."""
    if line.code not in IGRT:
        return False
    day = ctx.day(line)
    superficial_or_electron = has_code_in(day, SUPERFICIAL) or has_electron_delivery(day)
    return superficial_or_electron and not has_non_electron_line_in(day, EXTERNAL_BEAM)


def igrt010(line: Line, ctx: Context) -> bool:
    """IGRT on a day with brachytherapy delivery and no external-beam delivery code at all."""
    if line.code not in IGRT:
        return False
    day = ctx.day(line)
    return has_code_in(day, BRACHYTHERAPY) and not has_code_in(day, EXTERNAL_BEAM)


def igrt011(line: Line, ctx: Context) -> bool:
    """A 77370/77470 line when its claim (any date) or its patient-day has an IGRT line."""
    if line.code not in PHYSICS_CONSULT:
        return False
    return has_code_in(ctx.claim(line), IGRT) or has_code_in(ctx.day(line), IGRT)


def igrt012(line: Line, ctx: Context) -> bool:
    """An IGRT line, component not PC, on a patient-day with no delivery of any kind."""
    if line.code not in IGRT or line.component == "PC":
        return False
    return not has_code_in(ctx.day(line), ANY_DELIVERY)


def igrt013(line: Line, ctx: Context) -> bool:
    """G6017 with 26/TC; a technical-only code with 26/TC; from 2026-01-01, 77387 without 26."""
    if line.code in NO_PC_TC_SPLIT and ({"26", "TC"} & line.modifiers):
        return True
    if line.code in TECHNICAL_ONLY and ({"26", "TC"} & line.modifiers):
        return True
    return (
        line.code == "77387"
        and line.service_date >= ERA_2026_START
        and ("26" not in line.modifiers)
    )


def igrt014(line: Line, ctx: Context) -> bool:
    """77014/G6001/G6002/76950/77421 without 26, or G6017/0197T, on a professional claim with
    place of service 19 or 22."""
    if line.claim_type != "professional":
        return False
    if line.place_of_service not in HOSPITAL_PLACES_OF_SERVICE:
        return False
    if line.code in FACILITY_PC_ONLY:
        return "26" not in line.modifiers
    return line.code in FACILITY_NOT_BILLED


RULES = {
    "IGRT001": igrt001,
    "IGRT002": igrt002,
    "IGRT003": igrt003,
    "IGRT004": igrt004,
    "IGRT005": igrt005,
    "IGRT006": igrt006,
    "IGRT007": igrt007,
    "IGRT008": igrt008,
    "IGRT009": igrt009,
    "IGRT010": igrt010,
    "IGRT011": igrt011,
    "IGRT012": igrt012,
    "IGRT013": igrt013,
    "IGRT014": igrt014,
}

# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def reference_findings(
    rows: Iterable[Mapping[str, Any]],
    *,
    adult_age: int = 19,
    cpt_payers: Collection[str] = (),
    cpt_lines_of_business: Collection[str] = (),
    enabled_optional: Collection[str] = (),
    has_diagnosis_column: bool | None = None,
) -> set[tuple[str, str, int]]:
    """All findings of a run as ``{(rule_id, claim_id, line_number)}``.

    ``rows`` are dicts keyed by the contract's canonical column names. ``cpt_payers`` are
    payer names (case-insensitive) and ``cpt_lines_of_business`` lines of business whose MPFS
    lines use the cpt scheme. ``enabled_optional`` names optional indication rows as
    ``"<letter>-<icd10_from>"`` (e.g. ``"K-D05.00"``). ``has_diagnosis_column=None`` means
    "True if any row has the key diagnosis_codes".
    """
    rows = list(rows)
    if has_diagnosis_column is None:
        has_diagnosis_column = any("diagnosis_codes" in row for row in rows)
    payers = {payer.strip().casefold() for payer in cpt_payers}
    lines_of_business = {lob.strip().lower() for lob in cpt_lines_of_business}
    lines = [parse_line(row, payers, lines_of_business) for row in rows]
    lines = drop_input_errors(lines)
    # Age is the member's: a line with neither birth date nor age takes the birth date of the
    # member's other lines when they agree on one.
    birth_dates: dict[str, set[date]] = defaultdict(set)
    for line in lines:
        if line.birth_date is not None:
            birth_dates[line.patient_id].add(line.birth_date)
    for line in lines:
        line.age = member_age(line, birth_dates)
    # Under-age members are out of scope: never flagged, never context for another line.
    lines = [line for line in lines if line.age is None or line.age >= adult_age]

    by_day: dict[tuple[str, date], list[Line]] = defaultdict(list)
    by_claim: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_day[line.patient_day].append(line)
        by_claim[line.claim_id].append(line)
    ctx = Context(
        by_day=by_day,
        by_claim=by_claim,
        has_diagnosis_column=has_diagnosis_column,
        indication_ranges=enabled_indication_ranges(set(enabled_optional)),
    )

    findings: set[tuple[str, str, int]] = set()
    for line in lines:
        for rule_id, rule in RULES.items():
            if rule(line, ctx):
                findings.add((rule_id, line.claim_id, line.line_number))
    return findings
