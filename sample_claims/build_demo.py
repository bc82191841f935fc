"""Build the bundled demo extract and the findings it must produce.

Writes, next to this script:
  radonc_demo.csv            the claim lines (data-contract column names, dates YYYY-MM-DD)
  radonc_demo.parquet        the same lines with Parquet types (dates date32, integers, float64)
  radonc_demo.expected.json  the findings the full catalog produces on them (default configuration)

Run from anywhere: `python sample_claims/build_demo.py`. Output is deterministic.

Every claim line is written out below, course by course. The expected findings are stated by
hand next to the lines that produce them (`expect=`), with the reason, rather than computed: the
demo is meant to check the engine, not to repeat it. README.md explains each course and finding.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
CSV_PATH = HERE / "radonc_demo.csv"
PARQUET_PATH = HERE / "radonc_demo.parquet"
EXPECTED_PATH = HERE / "radonc_demo.expected.json"

COLUMNS = (
    "claim_id",
    "line_number",
    "patient_id",
    "patient_birth_date",
    "service_date",
    "procedure_code",
    "modifiers",
    "units",
    "diagnosis_codes",
    "claim_type",
    "bill_type",
    "place_of_service",
    "payer",
    "line_of_business",
    "provider_id",
    "charge_amount",
    "beam_modality",
    "treatment_indicators",
)

# Days the departments in this extract are closed; courses skip them.
HOLIDAYS = frozenset(
    dt.date.fromisoformat(d)
    for d in ("2025-05-26", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25", "2026-01-01")
)


def npi(base9: str) -> str:
    """A 10-digit NPI: the nine given digits plus the Luhn check digit (80840 prefix)."""
    total = 24  # the 80840 prefix's contribution to the Luhn sum
    for i, ch in enumerate(reversed(base9)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return base9 + str((10 - total % 10) % 10)


HOSPITAL = npi("143820715")  # Mercer Regional Medical Center (facility claims)
DR_HOSPITAL = npi("158742031")  # radiation oncologist, hospital department
DR_HOSPITAL_PEDS = npi("163019472")  # radiation oncologist, hospital (pediatric cases)
DR_CENTER_A = npi("176490238")  # Garden State Radiation Oncology (freestanding), physician A
DR_CENTER_B = npi("120493857")  # same centre, physician B
DR_SKIN = npi("192846310")  # dermatology office with superficial x-ray unit

PAYERS = {
    "medicare": "Novitas JL",
    "medicare_advantage": "Horizon Medicare Advantage",
    "commercial": "Horizon BCBSNJ",
    "medicaid": "Horizon NJ Health",
}

# Charge masters. Keys are the procedure code, with "-26" for professional-component lines.
HOSPITAL_FACILITY_FEES = {
    "G0463": 385.00,
    "77290": 2450.00,
    "77295": 4100.00,
    "77301": 8200.00,
    "77334": 890.00,
    "77338": 3150.00,
    "77300": 345.00,
    "77280": 720.00,
    "77336": 520.00,
    "77386": 1985.00,
    "G6015": 1985.00,
    "77412": 1240.00,
    "77014": 465.00,
    "77387": 395.00,
    "77370": 690.00,
    "57155": 2900.00,
    "77771": 3650.00,
    "77318": 2400.00,
}
HOSPITAL_FACILITY_FEES_2026 = {**HOSPITAL_FACILITY_FEES, "77412": 2050.00}
HOSPITAL_PRO_FEES = {
    "99205": 465.00,
    "77263": 540.00,
    "77290-26": 175.00,
    "77295-26": 480.00,
    "77301-26": 610.00,
    "77334-26": 140.00,
    "77338-26": 240.00,
    "77300-26": 95.00,
    "77280-26": 70.00,
    "77427-26": 425.00,
    "77014": 310.00,
    "77014-26": 88.00,
    "G6002-26": 64.00,
    "G6017-26": 120.00,
    "77387-26": 95.00,
    "57155": 780.00,
    "77771-26": 450.00,
    "77318-26": 390.00,
}
CENTER_FEES = {
    "99205": 465.00,
    "77263": 540.00,
    "77290": 1480.00,
    "77295": 3350.00,
    "77334": 560.00,
    "77300": 260.00,
    "77280": 410.00,
    "77321": 420.00,
    "77332": 185.00,
    "77336": 290.00,
    "77370": 310.00,
    "77427": 425.00,
    "G6012": 720.00,
    "G6008": 650.00,
    "G6005": 480.00,
    "77014": 310.00,
    "77387": 310.00,
    "G6002": 240.00,
    "77373": 4850.00,
    "77435": 1760.00,
    "77402": 610.00,
    "77387-26": 95.00,
}
SKIN_OFFICE_FEES = {
    "99204": 355.00,
    "77436": 480.00,
    "77332": 185.00,
    "77300": 160.00,
    "77437": 245.00,
    "77427": 425.00,
    "77387-26": 95.00,
}


@dataclass(frozen=True)
class Patient:
    patient_id: str
    birth_date: str
    line_of_business: str


@dataclass
class Line:
    """One claim line before it gets its claim id and line number."""

    date: str
    code: str
    modifiers: str = ""
    units: int = 1
    modality: str = ""
    tags: str = ""
    expect: dict[str, str] = field(default_factory=dict)
    """rule_id -> why, for each finding this line must get."""


@dataclass
class Claim:
    """A claim: 'FAC' institutional (TOB 0131) or 'PRO' professional (837P, with a POS)."""

    kind: str
    patient: Patient
    diagnoses: str
    provider: str
    fees: dict[str, float]
    lines: list[Line]
    place_of_service: str = ""
    shows_birth_date: bool = True
    """False for a feed that leaves the member's birth date out (some hospital UB-04 feeds)."""


def weekdays(start: str, count: int) -> list[str]:
    """`count` consecutive treatment days (Mon-Fri, department holidays skipped) from `start`."""
    day = dt.date.fromisoformat(start)
    days: list[str] = []
    while len(days) < count:
        if day.weekday() < 5 and day not in HOLIDAYS:
            days.append(day.isoformat())
        day += dt.timedelta(days=1)
    return days


def week_of(date: str) -> str:
    """The Monday of the week a date falls in (claims are grouped by treatment week)."""
    day = dt.date.fromisoformat(date)
    return (day - dt.timedelta(days=day.weekday())).isoformat()


def month_of(date: str) -> str:
    return date[:7]


def split_claims(lines: list[Line], key, **claim_fields) -> list[Claim]:
    """One claim per distinct key(date) (a week, a month), lines kept in date order."""
    groups: dict[str, list[Line]] = {}
    for line in sorted(lines, key=lambda ln: ln.date):
        groups.setdefault(key(line.date), []).append(line)
    return [Claim(lines=group, **claim_fields) for group in groups.values()]


def on(date: str, *codes: str, mods: str = "") -> list[Line]:
    """Lines with no expected finding: several codes on one date, same modifiers."""
    return [Line(date, code, mods) for code in codes]


# ---------------------------------------------------------------------------------------------
# Course 1: prostate IMRT, hospital outpatient, Medicare, 2025.
# Facility (TOB 0131, OPPS): 77386 daily; the guidance TC is packaged, so not reported.
# Physician (POS 22, MPFS): 77014-26 daily (Medicare has no value for 77387 in 2015-2025).
# ---------------------------------------------------------------------------------------------
P1 = Patient("M1000234", "1954-03-12", "medicare")

G6015_IN_OPPS = (
    "G6015 is an MPFS code, not recognised on an OPPS claim (TOB 0131); the hospital reports "
    "IMRT delivery as 77385/77386"
)
CBCT_TC_WITH_IMRT = (
    "facility 77014 (not -26) on an OPPS claim the same day as 77386: the guidance TC is "
    "packaged into IMRT delivery"
)
GUIDANCE_TC_WITH_IMRT = (
    "facility 77387 (not -26) on an OPPS claim the same day as 77386: the guidance TC is "
    "packaged into IMRT delivery"
)
G6017_WITH_26 = "G6017 has no professional/technical split and cannot carry -26"
G6017_IN_HOSPITAL = (
    "G6017 on the physician's claim from the hospital (POS 22): it has no professional "
    "component, so in a hospital only the hospital bills it"
)
CBCT_GLOBAL_IN_HOSPITAL = (
    "77014 without -26 on the physician's claim from the hospital (POS 22): the technical part "
    "is the hospital's to bill"
)


def prostate_imrt() -> list[Claim]:
    days = weekdays("2025-04-14", 20)
    fac = [
        *on("2025-03-24", "G0463"),
        *on("2025-03-31", "77290", "77334"),
        *on("2025-04-09", "77301", "77338"),
        *on(days[0], "77280"),
    ]
    pro = [
        *on("2025-03-24", "99205", "77263", mods="GC"),
        Line("2025-03-31", "77290", "26,GC"),
        Line("2025-03-31", "77334", "26"),
        Line("2025-04-09", "77301", "26,GC"),
        Line("2025-04-09", "77338", "26"),
        Line(days[0], "77280", "26"),
    ]
    for n, day in enumerate(days, start=1):
        if n == 3:  # slip: the affiliated freestanding centre's charge template (a G-code)
            fac.append(Line(day, "G6015", modality="photon", expect={"IGRT002": G6015_IN_OPPS}))
        else:
            fac.append(Line(day, "77386", modality="photon"))
        if n == 7:  # slip: the CBCT charge dropped by the linac on an IMRT day
            fac.append(Line(day, "77014", expect={"IGRT003": CBCT_TC_WITH_IMRT}))
        if n == 12:  # slip: the chargemaster drops 77387 with IMRT
            # With the physician's 77014-26 it is one method (split billing), not IGRT005.
            fac.append(Line(day, "77387", expect={"IGRT003": GUIDANCE_TC_WITH_IMRT}))
            pro.append(Line(day, "77014", "26"))
        elif n == 16:  # slip: the tracking code with -26, which G6017 cannot take
            expect = {"IGRT013": G6017_WITH_26, "IGRT014": G6017_IN_HOSPITAL}
            pro.append(Line(day, "G6017", "26", expect=expect))
        elif n == 18:  # slip: the CBCT keyed without -26 on the physician's claim
            pro.append(Line(day, "77014", expect={"IGRT014": CBCT_GLOBAL_IN_HOSPITAL}))
        else:
            pro.append(Line(day, "77014", "26"))
    for day in days[4::5]:
        fac.append(Line(day, "77336"))
        pro.append(Line(day, "77427", "26"))
    common = {"patient": P1, "diagnoses": "C61"}
    return [
        *split_claims(
            fac, month_of, kind="FAC", provider=HOSPITAL, fees=HOSPITAL_FACILITY_FEES, **common
        ),
        *split_claims(
            pro,
            week_of,
            kind="PRO",
            provider=DR_HOSPITAL,
            fees=HOSPITAL_PRO_FEES,
            place_of_service="22",
            **common,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Course 2: right upper lobe lung, 3D conformal, freestanding centre (POS 11), Medicare, 2025.
# Global billing with the MPFS G-codes: G6012 delivery, 77014 CBCT guidance.
# ---------------------------------------------------------------------------------------------
P2 = Patient("M1000871", "1948-07-30", "medicare")

PHYSICS_CONSULT_WITH_IGRT = "77370 physics consult on a claim (and day) that also bills IGRT 77014"
OPPS_CODE_IN_MPFS = (
    "77387 is not valid for Medicare physician-fee-schedule billing in 2015-2025; use G6001, "
    "G6002, 77014 or G6017"
)
CBCT_AND_STEREO = "77014 and G6002 are two IGRT methods on the same day (-59 does not change that)"
TWO_UNITS = "77014 billed with 2 units on one day; image guidance is once per day"


def lung_3dcrt() -> list[Claim]:
    days = weekdays("2025-06-16", 15)
    lines = [
        *on("2025-06-02", "99205", "77263"),
        *on("2025-06-09", "77290", "77334"),
        Line("2025-06-13", "77295"),
        Line("2025-06-13", "77300", units=4),
        Line(days[0], "77280"),
        Line(days[0], "77370", expect={"IGRT011": PHYSICS_CONSULT_WITH_IGRT}),
    ]
    for n, day in enumerate(days, start=1):
        lines.append(Line(day, "G6012", modality="photon"))
        if n == 6:  # slip: the hospital (OPPS) code keyed on a freestanding Medicare claim
            lines.append(Line(day, "77387", expect={"IGRT002": OPPS_CODE_IN_MPFS}))
        elif n == 9:  # slip: stereoscopic x-ray added to the CBCT, with -59 to force it through
            lines.append(Line(day, "77014", expect={"IGRT005": CBCT_AND_STEREO}))
            lines.append(Line(day, "G6002", "59", expect={"IGRT005": CBCT_AND_STEREO}))
        elif n == 12:  # slip: the CBCT keyed with 2 units
            lines.append(Line(day, "77014", units=2, expect={"IGRT006": TWO_UNITS}))
        else:
            lines.append(Line(day, "77014"))
    for day in days[4::5]:
        lines += on(day, "77336", "77427")
    return split_claims(
        lines,
        week_of,
        kind="PRO",
        patient=P2,
        diagnoses="C34.11",
        provider=DR_CENTER_A,
        fees=CENTER_FEES,
        place_of_service="11",
    )


# ---------------------------------------------------------------------------------------------
# Course 3: left lower lobe lung SBRT, 5 fractions every other weekday, freestanding centre,
# Medicare Advantage, 2025. 77373 delivery and 77435 management include image guidance.
# ---------------------------------------------------------------------------------------------
P3 = Patient("M1001456", "1951-11-02", "medicare_advantage")

CBCT_ON_SIMULATION_DAY = (
    "77014 on the CT simulation day, with no treatment delivery that day to guide"
)
CBCT_WITH_SBRT = "77014 on an SBRT fraction day (77373, 77435): SBRT includes image guidance"


def lung_sbrt() -> list[Claim]:
    fractions = ["2025-08-18", "2025-08-20", "2025-08-22", "2025-08-25", "2025-08-27"]
    lines = [
        *on("2025-08-04", "99205", "77263"),
        *on("2025-08-11", "77290", "77334"),
        Line("2025-08-11", "77014", expect={"IGRT012": CBCT_ON_SIMULATION_DAY}),
        Line("2025-08-15", "77295"),
        Line("2025-08-15", "77300", units=3),
        *on(fractions[0], "77280", "77435"),
        Line(fractions[0], "77014", expect={"IGRT004": CBCT_WITH_SBRT}),
        *on(fractions[2], "77336"),
        *[Line(day, "77373", modality="photon") for day in fractions],
    ]
    return split_claims(
        lines,
        week_of,
        kind="PRO",
        patient=P3,
        diagnoses="C34.32",
        provider=DR_CENTER_B,
        fees=CENTER_FEES,
        place_of_service="11",
    )


# ---------------------------------------------------------------------------------------------
# Course 4: left breast, 3D conformal tangents with DIBH, freestanding centre, commercial, 2025.
# 16 whole-breast fractions (G6012 tagged dibh, 77014) then a 4-fraction electron boost (G6005).
# C50.412 matches only conditional indications (K, L, M, N); M is met by the dibh tag.
# ---------------------------------------------------------------------------------------------
P4 = Patient("M1002210", "1973-05-19", "commercial")

DIBH_NOT_DOCUMENTED = (
    "IGRT with 3D conformal delivery; C50.412 only meets conditional indications (K, L, M, N) "
    "and no dibh, prone, apbi or boost+photon tag is recorded that day"
)
CBCT_WITH_ELECTRONS = "IGRT on an electron-only boost day (G6005 electron, no photon delivery)"


def breast_dibh() -> list[Claim]:
    days = weekdays("2025-09-22", 20)
    whole, boost = days[:16], days[16:]
    lines = [
        *on("2025-09-03", "99205", "77263"),
        *on("2025-09-10", "77290", "77334"),
        Line("2025-09-17", "77295"),
        Line("2025-09-17", "77300", units=4),
        *on(whole[0], "77280"),
        *on(whole[-1], "77321", "77332"),  # electron boost port plan and cut-out
    ]
    for n, day in enumerate(whole, start=1):
        if n == 8:  # documentation gap: DIBH not recorded for this session
            lines.append(Line(day, "G6012", modality="photon"))
            lines.append(Line(day, "77014", expect={"IGRT008": DIBH_NOT_DOCUMENTED}))
        else:
            lines.append(Line(day, "G6012", modality="photon", tags="dibh"))
            lines.append(Line(day, "77014"))
    for n, day in enumerate(boost, start=1):
        lines.append(Line(day, "G6005", modality="electron", tags="boost"))
        if n == 1:  # slip: the daily CBCT charge carried over onto the electron boost
            lines.append(Line(day, "77014", expect={"IGRT009": CBCT_WITH_ELECTRONS}))
    for day in days[4::5]:
        lines += on(day, "77336", "77427")
    return split_claims(
        lines,
        week_of,
        kind="PRO",
        patient=P4,
        diagnoses="C50.412,Z17.0",
        provider=DR_CENTER_B,
        fees=CENTER_FEES,
        place_of_service="11",
    )


# ---------------------------------------------------------------------------------------------
# Course 5: palliative spine, 3D conformal, 5 fractions across the year change, freestanding
# centre, Medicare. Bone metastasis of a colon primary: no IGRT indication with 3DCRT.
# January 2026: the first day is still billed with the deleted 2025 codes, then the 2026 set.
# ---------------------------------------------------------------------------------------------
P5 = Patient("M1002987", "1957-09-08", "medicare")

NOT_INDICATED = (
    "IGRT with 3D conformal delivery (G6008) but the claim's diagnoses (C79.51, C18.7) match no "
    "indication A-P"
)
G6008_DELETED = (
    "G6008 was deleted at the end of 2025; from 2026-01-01 delivery is 77402/77407/77412"
)
CBCT_DELETED = "77014 was deleted at the end of 2025; from 2026-01-01 guidance is 77387-26"


def spine_palliative() -> list[Claim]:
    days = weekdays("2025-12-29", 5)  # 29, 30, 31 December; 2 and 5 January
    lines = [
        *on("2025-12-15", "99205", "77263"),
        *on("2025-12-19", "77290", "77334"),
        Line("2025-12-23", "77295"),
        Line("2025-12-23", "77300", units=2),
        *on(days[0], "77280"),
    ]
    for day in days[:3]:
        lines.append(Line(day, "G6008", modality="photon"))
        lines.append(Line(day, "77014", expect={"IGRT007": NOT_INDICATED}))
    lines += [
        Line(days[3], "G6008", modality="photon", expect={"IGRT001": G6008_DELETED}),
        Line(days[3], "77014", expect={"IGRT001": CBCT_DELETED}),
        Line(days[4], "77402", modality="photon"),
        Line(days[4], "77387", "26"),
        *on(days[4], "77336", "77427"),
    ]
    return split_claims(
        lines,
        month_of,
        kind="PRO",
        patient=P5,
        diagnoses="C79.51,C18.7",
        provider=DR_CENTER_A,
        fees=CENTER_FEES,
        place_of_service="11",
    )


# ---------------------------------------------------------------------------------------------
# Course 6: cervix, 25 fractions of pelvic external beam then 4 weekly HDR tandem-and-ring
# insertions, hospital outpatient, Medicaid, 2026 code set: facility 77412, physician 77387-26.
# ---------------------------------------------------------------------------------------------
P6 = Patient("M1003342", "1981-02-14", "medicaid")

FACILITY_77387_IN_2026 = (
    "from 2026-01-01 77387 is professional-only and must carry -26; its technical part is "
    "inside 77412"
)
IGRT_WITH_HDR = (
    "IGRT on an HDR brachytherapy day (77771) with no external-beam delivery; applicator "
    "imaging is simulation/verification (e.g. 77280)"
)


def cervix_ebrt_hdr() -> list[Claim]:
    days = weekdays("2026-01-20", 25)
    hdr = ["2026-02-26", "2026-03-05", "2026-03-12", "2026-03-19"]
    fac = [
        *on("2026-01-06", "G0463"),
        *on("2026-01-09", "77290", "77334"),
        *on("2026-01-15", "77301", "77338"),
        *on(days[0], "77280"),
    ]
    pro = [
        *on("2026-01-06", "99205", "77263"),
        *on("2026-01-09", "77290", "77334", mods="26"),
        *on("2026-01-15", "77301", "77338", mods="26"),
        *on(days[0], "77280", mods="26"),
    ]
    for n, day in enumerate(days, start=1):
        fac.append(Line(day, "77412", modality="photon"))
        if n <= 2:  # slip: the chargemaster still drops a facility 77387, as through 2025
            fac.append(Line(day, "77387", expect={"IGRT013": FACILITY_77387_IN_2026}))
        pro.append(Line(day, "77387", "26"))
    for day in days[4::5]:
        fac.append(Line(day, "77336"))
        pro.append(Line(day, "77427", "26"))
    for n, day in enumerate(hdr, start=1):
        fac += on(day, "57155", "77318", "77771")
        pro += [*on(day, "57155"), *on(day, "77318", "77771", mods="26")]
        if n == 1:  # first insertion: CT simulation and a special physics consult
            fac += on(day, "77290", "77370")
            pro += on(day, "77290", mods="26")
        if n == 2:  # slip: the applicator CT check billed as image guidance
            pro.append(Line(day, "77387", "26", expect={"IGRT010": IGRT_WITH_HDR}))
    common = {"patient": P6, "diagnoses": "C53.9"}
    return [
        *split_claims(
            fac,
            month_of,
            kind="FAC",
            provider=HOSPITAL,
            fees=HOSPITAL_FACILITY_FEES_2026,
            **common,
        ),
        *split_claims(
            pro,
            week_of,
            kind="PRO",
            provider=DR_HOSPITAL,
            fees=HOSPITAL_PRO_FEES,
            place_of_service="22",
            **common,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Course 7: basal cell carcinoma of the nose, superficial x-ray (77437), 10 fractions three
# times a week, dermatology office (POS 11), Medicare, 2026.
# ---------------------------------------------------------------------------------------------
P7 = Patient("M1004120", "1944-12-01", "medicare")

IGRT_WITH_SUPERFICIAL = "IGRT on a superficial x-ray day (77437) with no megavoltage delivery"


def skin_superficial() -> list[Claim]:
    fractions = [
        *("2026-01-21", "2026-01-23", "2026-01-26", "2026-01-28", "2026-01-30"),
        *("2026-02-02", "2026-02-04", "2026-02-06", "2026-02-09", "2026-02-11"),
    ]
    lines = [*on("2026-01-12", "99204"), *on("2026-01-16", "77436", "77332", "77300")]
    for n, day in enumerate(fractions, start=1):
        lines.append(Line(day, "77437", modality="photon"))
        if n == 3:  # slip: an image-guidance charge on a superficial x-ray day
            lines.append(Line(day, "77387", "26", expect={"IGRT009": IGRT_WITH_SUPERFICIAL}))
    lines += [*on(fractions[4], "77427"), *on(fractions[9], "77427")]
    return split_claims(
        lines,
        week_of,
        kind="PRO",
        patient=P7,
        diagnoses="C44.311",
        provider=DR_SKIN,
        fees=SKIN_OFFICE_FEES,
        place_of_service="11",
    )


# ---------------------------------------------------------------------------------------------
# Course 8: pediatric Hodgkin lymphoma (age 15), 12 fractions 3D conformal, hospital
# outpatient, Medicaid, 2025. Out of scope: no finding, even on the day a second IGRT method
# was billed. The hospital's UB-04 feed carries no birth date; the physician's claims do, and
# age belongs to the member, so the facility lines are out of scope too.
# ---------------------------------------------------------------------------------------------
P8 = Patient("M1004876", "2009-08-21", "medicaid")


def pediatric_hodgkin() -> list[Claim]:
    days = weekdays("2025-02-18", 12)
    fac = [
        *on("2025-02-03", "G0463"),
        *on("2025-02-07", "77290", "77334"),
        Line("2025-02-13", "77295"),
        Line("2025-02-13", "77300", units=2),
        *on(days[0], "77280"),
    ]
    pro = [
        *on("2025-02-03", "99205", "77263"),
        *on("2025-02-07", "77290", "77334", mods="26"),
        Line("2025-02-13", "77295", "26"),
        Line("2025-02-13", "77300", "26", units=2),
        *on(days[0], "77280", mods="26"),
    ]
    for n, day in enumerate(days, start=1):
        fac += [Line(day, "77412", modality="photon"), Line(day, "77014")]
        if n == 4:  # a second facility code the same day; for an adult: IGRT005 on both
            fac.append(Line(day, "77387"))
        pro.append(Line(day, "77014", "26"))
    for day in days[3::5]:  # weekly physics check on Fridays
        fac.append(Line(day, "77336"))
    for day in days[4::5]:
        pro.append(Line(day, "77427", "26"))
    common = {"patient": P8, "diagnoses": "C81.12"}
    return [
        *split_claims(
            fac,
            month_of,
            kind="FAC",
            provider=HOSPITAL,
            fees=HOSPITAL_FACILITY_FEES,
            shows_birth_date=False,
            **common,
        ),
        *split_claims(
            pro,
            week_of,
            kind="PRO",
            provider=DR_HOSPITAL_PEDS,
            fees=HOSPITAL_PRO_FEES,
            place_of_service="22",
            **common,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Course 9: esophagus, 3D conformal, 15 fractions, hospital outpatient, Medicare, 2025. Split
# billing as Medicare requires it 2015-2025: the hospital bills 77387 (OPPS) for the guidance
# session and the physician the professional part of the method used, G6002-26 (stereoscopic
# kV) the first week, then 77014-26 (cone-beam CT). 77387 names no method of its own, so each
# day is one method.
# ---------------------------------------------------------------------------------------------
P9 = Patient("M1005318", "1949-04-22", "medicare")

TWO_PHYSICIAN_METHODS = (
    "the physician billed 77014-26 and G6002-26 for one day: two methods on the professional "
    "side (the hospital's 77387 matches either one and is not flagged)"
)


def esophagus_split_billing() -> list[Claim]:
    days = weekdays("2025-10-06", 15)
    fac = [
        *on("2025-09-15", "G0463"),
        *on("2025-09-22", "77290", "77334"),
        Line("2025-09-30", "77295"),
        Line("2025-09-30", "77300", units=3),
        *on(days[0], "77280"),
    ]
    pro = [
        *on("2025-09-15", "99205", "77263"),
        *on("2025-09-22", "77290", "77334", mods="26"),
        Line("2025-09-30", "77295", "26"),
        Line("2025-09-30", "77300", "26", units=3),
        *on(days[0], "77280", mods="26"),
    ]
    for n, day in enumerate(days, start=1):
        fac.append(Line(day, "77412", modality="photon"))
        if n == 8:  # the hospital's CBCT charge coded as 77014: with 77014-26 one method too
            fac.append(Line(day, "77014"))
        else:
            fac.append(Line(day, "77387"))
        if n <= 5:
            pro.append(Line(day, "G6002", "26"))
        elif n == 11:  # slip: the physician's coder added the kV pair to the CBCT
            two = {"IGRT005": TWO_PHYSICIAN_METHODS}
            pro += [Line(day, "77014", "26", expect=two), Line(day, "G6002", "26", expect=two)]
        else:
            pro.append(Line(day, "77014", "26"))
    for day in days[4::5]:
        fac.append(Line(day, "77336"))
        pro.append(Line(day, "77427", "26"))
    common = {"patient": P9, "diagnoses": "C15.5"}
    return [
        *split_claims(
            fac, month_of, kind="FAC", provider=HOSPITAL, fees=HOSPITAL_FACILITY_FEES, **common
        ),
        *split_claims(
            pro,
            week_of,
            kind="PRO",
            provider=DR_HOSPITAL,
            fees=HOSPITAL_PRO_FEES,
            place_of_service="22",
            **common,
        ),
    ]


COURSES = (
    pediatric_hodgkin,
    prostate_imrt,
    lung_3dcrt,
    lung_sbrt,
    breast_dibh,
    spine_palliative,
    cervix_ebrt_hdr,
    skin_superficial,
    esophagus_split_billing,
)


def all_claims() -> list[Claim]:
    """Every claim of the extract, in submission order (by first service date)."""
    claims = [claim for course in COURSES for claim in course()]
    return sorted(claims, key=lambda c: (c.lines[0].date, c.kind, c.patient.patient_id))


def claim_ids(claims: list[Claim]) -> list[str]:
    """Ids like FAC2025041400123: kind, first service date, then a running sequence number."""
    return [
        f"{c.kind}{c.lines[0].date.replace('-', '')}{117 + 29 * i:05d}"
        for i, c in enumerate(claims)
    ]


def charge(claim: Claim, line: Line) -> float:
    key = line.code + ("-26" if "26" in line.modifiers.split(",") else "")
    return round(claim.fees[key] * line.units, 2)


def rows_and_findings() -> tuple[list[dict], list[dict]]:
    """The extract's rows (CSV column order) and the expected findings, sorted."""
    rows: list[dict] = []
    findings: list[dict] = []
    claims = all_claims()
    for claim_id, claim in zip(claim_ids(claims), claims, strict=True):
        institutional = claim.kind == "FAC"
        for number, line in enumerate(claim.lines, start=1):
            rows.append(
                {
                    "claim_id": claim_id,
                    "line_number": number,
                    "patient_id": claim.patient.patient_id,
                    "patient_birth_date": claim.patient.birth_date
                    if claim.shows_birth_date
                    else "",
                    "service_date": line.date,
                    "procedure_code": line.code,
                    "modifiers": line.modifiers,
                    "units": line.units,
                    "diagnosis_codes": claim.diagnoses,
                    "claim_type": "institutional" if institutional else "professional",
                    "bill_type": "0131" if institutional else "",
                    "place_of_service": "" if institutional else claim.place_of_service,
                    "payer": PAYERS[claim.patient.line_of_business],
                    "line_of_business": claim.patient.line_of_business,
                    "provider_id": claim.provider,
                    "charge_amount": charge(claim, line),
                    "beam_modality": line.modality,
                    "treatment_indicators": line.tags,
                }
            )
            findings += [
                {"rule_id": rule, "claim_id": claim_id, "line_number": number, "why": why}
                for rule, why in line.expect.items()
            ]
    findings.sort(key=lambda f: (f["claim_id"], f["line_number"], f["rule_id"]))
    return rows, findings


def write_csv(rows: list[dict]) -> None:
    with CSV_PATH.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "charge_amount": f"{row['charge_amount']:.2f}"})


def write_parquet(rows: list[dict]) -> None:
    """Dates as date32, line_number/units as int64, charge as float64; blanks are nulls."""
    types = {
        "patient_birth_date": pa.date32(),
        "service_date": pa.date32(),
        "line_number": pa.int64(),
        "units": pa.int64(),
        "charge_amount": pa.float64(),
    }
    arrays = {}
    for name in COLUMNS:
        values = [row[name] for row in rows]
        kind = types.get(name, pa.string())
        if kind == pa.date32():
            values = [dt.date.fromisoformat(v) if v else None for v in values]
        elif kind == pa.string():
            values = [v if v != "" else None for v in values]
        arrays[name] = pa.array(values, type=kind)
    pq.write_table(pa.table(arrays), PARQUET_PATH)


def main() -> None:
    rows, findings = rows_and_findings()
    write_csv(rows)
    write_parquet(rows)
    EXPECTED_PATH.write_text(json.dumps(findings, indent=2) + "\n", encoding="utf-8")
    print(f"{len(rows)} lines, {len(findings)} expected findings")


if __name__ == "__main__":
    main()
