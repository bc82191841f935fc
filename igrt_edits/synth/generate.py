"""Seeded synthetic radiation-oncology claim extracts, for benchmarks and tests.

The generator writes claim lines in the data contract's canonical columns. Every patient has
one course of radiation therapy (IMRT, 3D conformal with or without image guidance, SBRT, SRS,
brachytherapy, superficial, electron or proton) with a consult, simulation and planning days
before it, daily delivery on consecutive weekdays, weekly management, and a few unrelated office
and lab claims. Codes follow the date of service and the setting: hospital (OPPS) facility
claims use CPT codes (77385/77386/77387/77402-77412), professional and freestanding claims use
the Medicare G-codes (G6001-G6017) with 77014 for 2015-2025; 2014 dates use the codes deleted at
the end of 2014, and 2026 dates use 77402/77407/77412 and 77387-26. Hospital-based patients get
a facility claim per month and a professional claim per week (-26 lines); freestanding patients
get weekly global claims, so patient-days span claims. Hospital 3D conformal and proton days
are billed split as hospitals and physicians bill them: the hospital's 77387 with the
physician's 77014-26, G6002-26 or G6001-26 (about 65% of those courses), or 77014 on both
claims; some hospital claim feeds carry no birth date (the member's other claims do).

The output is clean except for deliberate violations: each course carries at most one, and
each rule IGRT001..IGRT014 is injected into a course with probability `violation_rate`
(stratified over groups of 128 patients, so every rule shows up in any extract of a few
thousand patients). See `_inject_violations` for what each rule's violation looks like.
Children's courses are clean for a child but not for an adult: a day with a second guidance
code, which no rule may flag (members under 19 are out of scope).

Systematic miscoding (`miscoding`, 0 by default) is the other way an extract gets dirty, and
the way it gets dirty at scale: a share of the billing providers (drawn once per seed, so the
same ones all year) code every 2015-2025 claim for the wrong scheme, as a provider does whose
billing system is set up for the other one. A freestanding practice (its global claims) bills
CPT to a G-code payer: G6015/G6016 become 77385/77386, G6003-G6014 77402/77407/77412, and
G6001/G6002/G6017 77387. A hospital (its facility claims) bills G-codes under OPPS: the
reverse, 77387 becoming G6002. IGRT002 flags each of those lines.

Determinism: patients are generated in blocks, each block from its own random generator
`numpy.random.default_rng([seed, block_index])`; lines are shuffled within a block and batches
are cut from that stream, so the same (lines, seed, violation_rate) gives the same lines in the
same order whatever the batch size. Everything is vectorized per block.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from igrt_edits.contract import INPUT_COLUMNS

__all__ = [
    "DEFAULT_BATCH_LINES",
    "MAX_VIOLATION_RATE",
    "RULE_IDS",
    "SCHEMA",
    "generate_claims",
    "iter_claim_batches",
    "write_extract",
]

NOT_GENERATED = ("setting", "patient_age")
"""Contract columns a generated extract leaves out (the setting and age are derived)."""
_TYPES = {
    "line_number": pa.int32(),
    "service_date": pa.date32(),
    "units": pa.int32(),
    "patient_birth_date": pa.date32(),
    "charge_amount": pa.float64(),
}
SCHEMA = pa.schema(
    [(name, _TYPES.get(name, pa.string())) for name in INPUT_COLUMNS if name not in NOT_GENERATED]
)
"""Column names and Parquet types of a generated extract (the data contract's names)."""

RULE_IDS = tuple(f"IGRT{i:03d}" for i in range(1, 15))
DEFAULT_BATCH_LINES = 500_000
PEDIATRIC_SHARE = 0.02
# Rounded, so the exact share (0.07 for 14 rules) is accepted despite float division.
MAX_VIOLATION_RATE = round((1.0 - PEDIATRIC_SHARE) / len(RULE_IDS), 12)
"""Each course carries at most one violation, so the 14 per-rule rates must fit in one."""
NO_BIRTH_DATE_SHARE = 0.25
"""Share of hospital patients whose facility claims carry no birth date."""

PATIENTS_PER_BLOCK = 2048
STRATUM = 128  # patients per stratum of the violation draw
assert PATIENTS_PER_BLOCK % STRATUM == 0
CLAIMS_PER_BLOCK = 1_000_000  # claim numbers are block * CLAIMS_PER_BLOCK + local index
PATIENT_STRIDE = 10_000

# ---------------------------------------------------------------------------------------------
# Vocabularies. Lines carry small integer indices into these; strings are made once per block.

CODES = (
    # delivery
    "77385", "77386", "G6015", "G6016", "77418",
    "77402", "77407", "77412",
    "G6003", "G6004", "G6005", "G6006", "G6007", "G6008", "G6009", "G6010",
    "G6011", "G6012", "G6013", "G6014",
    "77373", "G0339", "G0340", "G0251", "77371", "77372", "G0173",
    "77778", "77761", "77762", "77763", "77770", "77771", "77772",
    "77401", "77437", "77438",
    "77520", "77522", "77523", "77525",
    # image guidance
    "77014", "77421", "76950", "0197T", "G6002", "G6001", "G6017", "77387",
    # consult, simulation, planning, management, physics
    "99205", "G0463", "77263", "77290", "77280", "77301", "77338", "77295", "77316", "77326",
    "77300", "77334", "77332", "77427", "77336", "77417", "77435", "77432", "77370",
    # unrelated office and lab
    "99213", "99214", "80053", "85025",
)  # fmt: skip
_C = {code: i for i, code in enumerate(CODES)}
NONE = -1

BASE_CHARGE = {
    "77385": 1400, "77386": 1900, "G6015": 1100, "G6016": 1200, "77418": 1500,
    "77402": 350, "77407": 450, "77412": 700, "77373": 3800, "G0339": 5200, "G0340": 3900,
    "G0251": 3500, "77371": 9000, "77372": 7500, "G0173": 7000, "77778": 4200,
    "77761": 900, "77762": 1300, "77763": 1700, "77770": 1100, "77771": 1500, "77772": 2100,
    "77401": 160, "77437": 190, "77438": 240, "77520": 1700, "77522": 2100, "77523": 2500,
    "77525": 2900, "77014": 260, "77421": 220, "76950": 240, "0197T": 300, "G6002": 180,
    "G6001": 170, "G6017": 280, "77387": 310, "99205": 380, "G0463": 190, "77263": 420,
    "77290": 1450, "77280": 650, "77301": 6300, "77338": 1900, "77295": 3100, "77316": 1100,
    "77326": 1000, "77300": 240, "77334": 620, "77332": 230, "77427": 460, "77336": 210,
    "77417": 70, "77435": 2300, "77432": 2100, "77370": 430, "99213": 120, "99214": 175,
    "80053": 42, "85025": 27,
}  # fmt: skip
_CHARGE = np.array([BASE_CHARGE.get(code, 150) for code in CODES], dtype=np.float64)
_G60 = np.array([_C[f"G60{i:02d}"] for i in range(3, 17)])  # G6003..G6016 by offset
_LEVEL_3D = np.array([_C["77402"], _C["77407"], _C["77412"]])

MODS = ("", "26", "TC", "59", "26,59")
M_NONE, M_26, M_TC, M_59, M_26_59 = range(5)
_WITH_59 = np.array([M_59, M_26_59, M_TC, M_59, M_26_59], dtype=np.int8)

# Line streams: which claim a line lands on.
FAC, PRO, GLOBAL, OFFICE, LAB = range(5)
# What a provider on the wrong scheme bills instead (systematic miscoding): a freestanding
# practice CPT for each G-code, a hospital G-codes for CPT (its 3D delivery by energy, below).
_AS_CPT, _AS_GCODE = np.arange(len(CODES)), np.arange(len(CODES))
_AS_CPT[_G60[:12]] = _LEVEL_3D[np.arange(12) // 4]  # G6003-G6006 -> 77402, G6007-G6010 -> ...
_AS_CPT[[_C["G6015"], _C["G6016"]]] = [_C["77385"], _C["77386"]]
_AS_CPT[[_C["G6001"], _C["G6002"], _C["G6017"]]] = _C["77387"]
_AS_GCODE[[_C["77385"], _C["77386"], _C["77387"]]] = [_C["G6015"], _C["G6016"], _C["G6002"]]
_LEVEL_OF_3D = {code: level for level, code in enumerate(_LEVEL_3D)}
# Line roles, used to find the lines a violation changes.
R_PRE, R_DELIVERY, R_IGRT, R_WEEKLY, R_OTHER, R_VIOLATION = range(6)

BEAMS = ("", "photon", "electron", "proton")
B_NONE, B_PHOTON, B_ELECTRON, B_PROTON = range(4)

TAGS = (
    "", "dibh", "prone", "apbi", "boost,photon", "dibh,boost,photon",
    "belly_board", "prone,belly_board", "boost",
)  # fmt: skip
T_APBI, T_BOOST_PHOTON, T_DIBH_BOOST_PHOTON = 3, 4, 5

POS = ("", "11", "19", "22", "81")
BILLS = ("", "0131", "0121", "0141", "0851")
CLAIM_TYPES = ("professional", "institutional")
LOBS = ("commercial", "medicare", "medicare_advantage", "medicaid")
PAYERS = (
    ("HORIZON BCBSNJ", "AETNA", "CIGNA", "UNITEDHEALTHCARE"),
    ("MEDICARE",),
    ("HORIZON MEDICARE ADVANTAGE", "AETNA MEDICARE", "HUMANA MEDICARE"),
    ("NJ FAMILYCARE", "HORIZON NJ HEALTH"),
)
_PAYER_NAMES = tuple(name for group in PAYERS for name in group)
_PAYER_OFFSET = np.cumsum([0] + [len(group) for group in PAYERS])[:-1]
_PAYER_COUNT = np.array([len(group) for group in PAYERS])

# Course kinds and settings.
IMRT, CRT_IGRT, CRT, SBRT, SRS, BRACHY, SUPERFICIAL, ELECTRON, PROTON = range(9)
N_KINDS = 9
IGRT_KINDS = (IMRT, CRT_IGRT, PROTON)
OPPS, CAH, FREESTANDING = range(3)
# Image-guidance methods (how a course bills guidance). OPPS77387 is the hospital's 77387 with
# no physician line; the SPLIT_ methods are the hospital's 77387 with the physician's -26 line
# of the method used (77014-26, G6002-26, G6001-26): Medicare's split billing of 2015-2025.
CT, STEREO, US, TRACK, OPPS77387, SPLIT_CT, SPLIT_STEREO, SPLIT_US = range(8)

# Sites: primary diagnosis codes, optional secondary codes and their probability.
SITES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], float], ...] = (
    ("prostate", ("C61",), (), 0.0),
    ("lung", ("C34.11", "C34.12", "C34.2", "C34.31", "C34.32", "C34.90", "C34.91"), (), 0.0),
    ("breast_left", ("C50.912", "C50.412", "C50.212", "C50.812", "C50.112"), ("Z17.0",), 0.7),
    ("breast_right", ("C50.911", "C50.411", "C50.211", "C50.811", "C50.111"), ("Z17.0",), 0.7),
    ("rectum", ("C20",), (), 0.0),
    ("bladder", ("C67.9", "C67.0", "C67.2", "C67.4"), (), 0.0),
    ("head_neck", ("C01", "C02.9", "C09.9", "C10.9", "C13.9", "C32.0", "C32.9"), (), 0.0),
    ("skin", ("C44.311", "C44.319", "C44.41", "C44.42", "C44.612", "C44.91", "C44.92"), (), 0.0),
    ("cervix", ("C53.0", "C53.1", "C53.9"), (), 0.0),
    ("endometrium", ("C54.1",), (), 0.0),
    ("brain_mets", ("C79.31",), ("Z85.118", "Z85.3", "C64.1"), 0.8),
    ("bone_mets", ("C79.51",), ("Z85.46", "Z85.3", "C64.1"), 0.8),
    ("glioma", ("C71.9", "C71.1", "C71.2"), (), 0.0),
    ("esophagus", ("C15.5", "C15.4", "C15.9"), (), 0.0),
    ("stomach", ("C16.9", "C16.0"), (), 0.0),
    ("pancreas", ("C25.0", "C25.9"), (), 0.0),
    ("liver", ("C22.0", "C22.1"), (), 0.0),
    ("lymphoma", ("C83.30", "C81.90", "C82.90"), (), 0.0),
    ("sarcoma", ("C49.4", "C49.5", "C49.3", "C48.0"), (), 0.0),
    ("kidney", ("C64.1", "C64.2"), (), 0.0),
    ("anal", ("C21.0", "C21.1"), (), 0.0),
    ("reirradiation", ("C79.51",), ("Z92.3",), 1.0),
    ("brain_benign", ("D32.0", "D33.3"), (), 0.0),
)
_SITE = {name: i for i, (name, *_rest) in enumerate(SITES)}
COMORBIDITIES = ("I10", "E11.9", "E78.5", "Z87.891", "J44.9", "K21.9", "F17.210", "Z79.899")

# Sites by kind (relative weights). 3DCRT with IGRT only treats indicated sites (policy II).
_KIND_SITES: dict[int, dict[str, float]] = {
    IMRT: {
        "prostate": 28, "head_neck": 20, "lung": 10, "breast_left": 6, "breast_right": 5,
        "rectum": 4, "anal": 3, "cervix": 4, "endometrium": 3, "glioma": 6, "pancreas": 3,
        "esophagus": 4, "bladder": 2, "lymphoma": 2, "sarcoma": 1,
    },
    CRT_IGRT: {
        "lung": 12, "esophagus": 8, "stomach": 5, "pancreas": 6, "liver": 4, "lymphoma": 8,
        "sarcoma": 6, "prostate": 6, "head_neck": 5, "breast_left": 12, "breast_right": 8,
        "rectum": 10, "bladder": 5, "reirradiation": 5,
    },
    CRT: {
        "bone_mets": 30, "brain_mets": 12, "breast_left": 12, "breast_right": 12, "rectum": 6,
        "bladder": 4, "lung": 8, "glioma": 3, "kidney": 3, "endometrium": 4, "lymphoma": 3,
        "sarcoma": 1,
    },
    SBRT: {"lung": 45, "prostate": 20, "liver": 10, "pancreas": 8, "bone_mets": 17},
    SRS: {"brain_mets": 75, "brain_benign": 15, "glioma": 10},
    BRACHY: {"cervix": 50, "prostate": 20, "endometrium": 20, "breast_left": 5, "breast_right": 5},
    SUPERFICIAL: {"skin": 100},
    ELECTRON: {"skin": 85, "breast_left": 8, "breast_right": 7},
    PROTON: {
        "prostate": 40, "head_neck": 20, "glioma": 15, "lung": 10, "esophagus": 5, "liver": 5,
        "breast_left": 2, "sarcoma": 3,
    },
}  # fmt: skip
_KIND_WEIGHT = np.array([0.36, 0.14, 0.14, 0.07, 0.03, 0.05, 0.05, 0.04, 0.03])
_KIND_SETTING = np.array(  # OPPS hospital, critical access hospital, freestanding
    [
        [0.50, 0.04, 0.46], [0.50, 0.05, 0.45], [0.50, 0.06, 0.44], [0.55, 0.03, 0.42],
        [0.70, 0.02, 0.28], [0.75, 0.05, 0.20], [0.20, 0.02, 0.78], [0.50, 0.05, 0.45],
        [0.70, 0.00, 0.30],
    ]
)  # fmt: skip
_KIND_FRACTIONS = np.array(  # inclusive range of fractions
    [[15, 40], [10, 33], [5, 25], [1, 5], [1, 1], [3, 6], [8, 20], [5, 20], [15, 40]]
)
_KIND_LEVEL = np.array(  # delivery complexity level 0..3 (proton uses all four)
    [
        [0.3, 0.7, 0, 0], [0.1, 0.3, 0.6, 0], [0.1, 0.3, 0.6, 0], [1, 0, 0, 0], [1, 0, 0, 0],
        [0.2, 0.4, 0.4, 0], [0.6, 0.4, 0, 0], [0.6, 0.3, 0.1, 0], [0.05, 0.15, 0.3, 0.5],
    ]
)  # fmt: skip
_ENERGY_PHOTON = np.array([0.05, 0.70, 0.20, 0.05])  # up to 5, 6-10, 11-19, 20+ MeV
_ENERGY_ELECTRON = np.array([0.10, 0.60, 0.25, 0.05])

# Image-guidance code by (era, method): era 0 = through 2014, 1 = 2015-2025, 2 = from 2026.
# Columns: CT, stereo, ultrasound, tracking, OPPS 77387, split CT, split stereo, split US.
_FAC_IGRT = np.array(
    [
        [_C["77014"], _C["77421"], _C["76950"], NONE, _C["77421"], _C["77014"], _C["77421"],
         _C["76950"]],
        [_C["77014"], NONE, NONE, NONE, _C["77387"], _C["77387"], _C["77387"], _C["77387"]],
        [NONE] * 8,
    ]
)  # fmt: skip
_PRO_IGRT = np.array(
    [
        [_C["77014"], _C["77421"], _C["76950"], NONE, _C["77421"], _C["77014"], _C["77421"],
         _C["76950"]],
        [_C["77014"], _C["G6002"], _C["G6001"], NONE, NONE, _C["77014"], _C["G6002"],
         _C["G6001"]],
        [_C["77387"]] * 8,
    ]
)  # fmt: skip
_GLOBAL_IGRT = np.array(
    [
        [_C["77014"], _C["77421"], _C["76950"], _C["0197T"], _C["77014"], _C["77014"],
         _C["77421"], _C["76950"]],
        [_C["77014"], _C["G6002"], _C["G6001"], _C["G6017"], _C["77014"], _C["77014"],
         _C["G6002"], _C["G6001"]],
        [_C["77387"]] * 8,
    ]
)  # fmt: skip
_GLOBAL_IGRT_MOD = np.array([M_NONE, M_NONE, M_26], dtype=np.int8)
_METHODS = np.array(  # CT, stereo, US, tracking, OPPS 77387, split CT, split stereo, split US
    [
        [0.60, 0.25, 0.15, 0.00, 0.00, 0.00, 0.00, 0.00],  # hospital IMRT: physician -26 only
        [0.25, 0.00, 0.00, 0.00, 0.10, 0.35, 0.25, 0.05],  # hospital 3DCRT/proton
        [0.45, 0.30, 0.10, 0.15, 0.00, 0.00, 0.00, 0.00],  # freestanding, global claims
    ]
)
# Deleted or not-yet-valid guidance code by era (IGRT001).
_INVALID_IGRT = np.array([_C["77387"], _C["77421"], _C["77014"]])


def _day(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date."""
    return int(np.datetime64(iso, "D").astype(np.int64))


D2015, D2016, D2026 = _day("2015-01-01"), _day("2016-01-01"), _day("2026-01-01")

# Course start windows: 6% of courses in 2014-2015, the rest in 2019-2026.
_START_PARTS = np.array(
    [[_day("2014-01-20"), _day("2015-12-15")], [_day("2019-01-07"), _day("2026-08-14")]]
)
_START_WEIGHTS = np.array([0.06, 0.94])
ANY, MID, PRE2026, MODERN = range(4)
_ERA_WINDOWS = np.array(
    [
        [_day("2000-01-01"), _day("2100-01-01")],
        [_day("2015-01-20"), _day("2025-10-15")],  # whole course inside 2015-2025
        [_day("2000-01-01"), _day("2025-10-15")],
        [_day("2015-01-20"), _day("2100-01-01")],
    ]
)

# Per row of the course-type draw: row 0 = clean, rows 1..14 = rule violations, row 15 =
# pediatric (clean for a child). Each row restricts the kinds, settings, dates and sites a
# course may have.
_ALL = tuple(range(N_KINDS))
_HOSP_FREE = (OPPS, FREESTANDING)
_ROWS: tuple[tuple[tuple[int, ...], tuple[int, ...], int, tuple[str, ...]], ...] = (
    (_ALL, (OPPS, CAH, FREESTANDING), ANY, ()),
    (IGRT_KINDS, (OPPS, CAH, FREESTANDING), ANY, ()),  # IGRT001
    ((IMRT, CRT_IGRT), _HOSP_FREE, MID, ()),  # IGRT002
    ((IMRT,), (OPPS,), MID, ()),  # IGRT003
    ((SBRT, SRS), (OPPS, CAH, FREESTANDING), ANY, ()),  # IGRT004
    (IGRT_KINDS, (OPPS, CAH, FREESTANDING), PRE2026, ()),  # IGRT005
    (IGRT_KINDS, (OPPS, CAH, FREESTANDING), ANY, ()),  # IGRT006
    ((CRT,), (OPPS, CAH, FREESTANDING), PRE2026,
     ("bone_mets", "brain_mets", "glioma", "kidney", "endometrium")),  # IGRT007
    ((CRT,), (OPPS, CAH, FREESTANDING), PRE2026,
     ("breast_left", "breast_right", "rectum", "bladder")),  # IGRT008
    ((SUPERFICIAL, ELECTRON), (OPPS, CAH, FREESTANDING), ANY, ()),  # IGRT009
    ((BRACHY,), (OPPS, CAH, FREESTANDING), ANY, ()),  # IGRT010
    (IGRT_KINDS, (OPPS, CAH, FREESTANDING), ANY, ()),  # IGRT011
    (_ALL, (OPPS, CAH, FREESTANDING), PRE2026, ()),  # IGRT012
    ((IMRT, CRT, CRT_IGRT, ELECTRON), (OPPS, CAH, FREESTANDING), MODERN, ()),  # IGRT013
    ((IMRT,), (OPPS, CAH), MID, ()),  # IGRT014
    ((IMRT, CRT, PROTON), (OPPS, CAH, FREESTANDING), ANY,
     ("glioma", "sarcoma", "lymphoma", "kidney")),  # pediatric
)  # fmt: skip
PEDIATRIC_ROW = len(_ROWS) - 1


def _cumulative(weights: np.ndarray) -> np.ndarray:
    """Row-normalized cumulative probabilities along the last axis (rows of zeros stay zero)."""
    total = weights.sum(axis=-1, keepdims=True)
    cum = np.cumsum(weights / np.where(total > 0, total, 1.0), axis=-1)
    cum[..., -1] = np.where(total[..., 0] > 0, 1.0, 0.0)
    return cum


def _row_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative kind, site and setting tables per draw row, and each row's date window."""
    n_rows, n_sites = len(_ROWS), len(SITES)
    kind_w = np.zeros((n_rows, N_KINDS))
    site_w = np.zeros((n_rows, N_KINDS, n_sites))
    setting_w = np.zeros((n_rows, N_KINDS, 3))
    era = np.zeros(n_rows, dtype=np.int64)
    base_sites = np.zeros((N_KINDS, n_sites))
    for kind, weights in _KIND_SITES.items():
        for site, weight in weights.items():
            base_sites[kind, _SITE[site]] = weight
    for row, (kinds, settings, era_window, sites) in enumerate(_ROWS):
        kind_w[row, list(kinds)] = _KIND_WEIGHT[list(kinds)]
        site_mask = np.ones(n_sites)
        if sites:
            site_mask = np.zeros(n_sites)
            site_mask[[_SITE[s] for s in sites]] = 1.0
        site_w[row] = base_sites * site_mask
        setting_w[row][:, list(settings)] = _KIND_SETTING[:, list(settings)]
        era[row] = era_window
        for kind in kinds:  # every allowed kind must have a site and a setting
            assert site_w[row, kind].sum() > 0 and setting_w[row, kind].sum() > 0, (row, kind)
    return _cumulative(kind_w), _cumulative(site_w), _cumulative(setting_w), era


_KIND_CUM, _SITE_CUM, _SETTING_CUM, _ROW_ERA = _row_tables()


def _flat_pool(groups: Iterable[tuple[str, ...]]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Concatenate code groups into one array with each group's offset and size."""
    groups = list(groups)
    sizes = np.array([len(g) for g in groups])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return pa.array([c for g in groups for c in g], pa.string()), offsets, sizes


_PRIMARY_POOL, _PRIMARY_OFF, _PRIMARY_N = _flat_pool(s[1] for s in SITES)
_SECONDARY_POOL, _SECONDARY_OFF, _SECONDARY_N = _flat_pool(s[2] for s in SITES)
_SECONDARY_P = np.array([s[3] for s in SITES])
_COMORBID_POOL = pa.array(COMORBIDITIES, pa.string())

# Provider pool (NPI-like 10-digit numbers), the same for every seed.
_NPI = np.random.default_rng(20150101).choice(900_000_000, 720, replace=False) + 1_000_000_000
_RAD_ONC, _FACILITY, _OFFICE_DOC, _LAB_NPI = (0, 300), (300, 380), (380, 690), (690, 720)

_POW10 = 10 ** np.arange(18, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Small vectorized helpers.


def _pick(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) cumulative-probability array."""
    u = rng.random(cum.shape[0])
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def _business_ordinal(days: np.ndarray) -> np.ndarray:
    """Weekday ordinal of a date (Saturday and Sunday count as the Friday before)."""
    shifted = days + 3  # 1970-01-01 was a Thursday; shift so weeks start on Monday
    return (shifted // 7) * 5 + np.minimum(shifted % 7, 4)


def _from_business_ordinal(ordinal: np.ndarray) -> np.ndarray:
    """Date (days since 1970-01-01) of a weekday ordinal."""
    return (ordinal // 5) * 7 + ordinal % 5 - 3


def _add_weekdays(days: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """Move weekday dates by n weekdays (n may be negative)."""
    return _from_business_ordinal(_business_ordinal(days) + n)


def _era(days: np.ndarray) -> np.ndarray:
    """0 through 2014, 1 for 2015-2025, 2 from 2026."""
    return (days >= D2015).astype(np.int64) + (days >= D2026)


def _ranks(group_sizes: np.ndarray) -> np.ndarray:
    """0..n-1 within each consecutive group of the given sizes."""
    total = int(group_sizes.sum())
    starts = np.repeat(np.cumsum(group_sizes) - group_sizes, group_sizes)
    return np.arange(total) - starts


def _fixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Strings prefix + zero-padded numbers, built directly as an Arrow buffer."""
    n, head = len(numbers), prefix.encode()
    size = len(head) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    digits = (numbers.astype(np.int64)[:, None] // _POW10[width - 1 :: -1]) % 10
    buf[:, len(head) :] = digits + ord("0")
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])


_NPI_IDS = _fixed_ids("", _NPI, 10)


def _vocab(values: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Strings of a vocabulary by index."""
    return pa.array(values, pa.string()).take(pa.array(index.astype(np.int32)))


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """date32 array from days since 1970-01-01 (null where `mask`)."""
    return pa.array(days.astype(np.int32), pa.int32(), mask=mask).cast(pa.date32())


# ---------------------------------------------------------------------------------------------
# Courses (one per patient).

class Courses(TypedDict, total=False):
    """One treatment course per patient, as arrays indexed by patient (filled in draw order).

    Integer arrays hold indices into the vocabularies and tables above; dates are days since
    1970-01-01.
    """

    row: np.ndarray  # which violation row of _ROWS (0 clean, PEDIATRIC_ROW a child)
    kind: np.ndarray  # treatment kind (IMRT, CRT, SBRT, ...)
    site: np.ndarray
    setting: np.ndarray  # hospital outpatient, freestanding, critical access
    hosp: np.ndarray  # bool: a hospital bills the technical part
    start: np.ndarray  # first treatment day
    level: np.ndarray
    energy: np.ndarray
    complex: np.ndarray
    variant: np.ndarray  # uniform draw for the rarer code choices
    method: np.ndarray  # the IGRT method
    tags: np.ndarray  # treatment_indicators profile
    boost: np.ndarray  # electron boost days at the end
    total: np.ndarray  # treatment days, boost included
    step: np.ndarray  # weekdays between fractions
    vday: np.ndarray  # the fraction a violation goes on
    vdate: np.ndarray  # its date
    birth: np.ndarray
    lob: np.ndarray
    payer: np.ndarray
    bill: np.ndarray  # bill type of the facility claim
    pos: np.ndarray  # place of service of the professional claim
    fac_birth: np.ndarray  # bool: the facility claim shows the birth date
    providers: np.ndarray  # rows: radiation oncologist, facility, office doctor, lab
    dx: pa.Array  # diagnosis strings: radiation claim by patient, office claim at patient + n
    consult: np.ndarray
    sim: np.ndarray
    plan: np.ndarray


Lines = dict[str, np.ndarray]


def _draw_rows(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Which row of _ROWS each patient's course is drawn from (0 clean, 1-14 rule, 15 child).

    Stratified: within each group of STRATUM patients every rule gets floor or ceil of
    STRATUM * rate courses, so small extracts still carry every rule.
    """
    groups = n // STRATUM
    order = rng.permuted(np.tile(np.arange(STRATUM), (groups, 1)), axis=1).ravel()
    u = (order + np.repeat(rng.random(groups), STRATUM)) / STRATUM
    edges = np.append(
        np.arange(1, len(RULE_IDS) + 1) * rate, len(RULE_IDS) * rate + PEDIATRIC_SHARE
    )
    slot = np.searchsorted(edges, u, side="right")
    return np.where(
        slot < len(RULE_IDS), slot + 1, np.where(slot == len(RULE_IDS), PEDIATRIC_ROW, 0)
    )


def _draw_starts(rng: np.random.Generator, window: np.ndarray) -> np.ndarray:
    """Course start dates (weekdays) within each course's era window."""
    lo = np.maximum(_START_PARTS[None, :, 0], window[:, 0:1])
    hi = np.minimum(_START_PARTS[None, :, 1], window[:, 1:2])
    full = _START_PARTS[:, 1] - _START_PARTS[:, 0]
    weights = _START_WEIGHTS * np.clip(hi - lo, 0, None) / full  # share of each part kept
    part = _pick(rng, _cumulative(weights))
    rows = np.arange(len(part))
    start = lo[rows, part] + np.floor(rng.random(len(part)) * (hi - lo)[rows, part]).astype(
        np.int64
    )
    weekday = (start + 3) % 7
    return start + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))


def _sample_courses(rng: np.random.Generator, n: int, rate: float) -> Courses:
    """Draw one course per patient: kind, site, setting, dates, codes' variables, payer."""
    row = _draw_rows(rng, n, rate)
    kind = _pick(rng, _KIND_CUM[row])
    site = _pick(rng, _SITE_CUM[row, kind])
    setting = _pick(rng, _SETTING_CUM[row, kind])
    hosp = setting != FREESTANDING
    start = _draw_starts(rng, _ERA_WINDOWS[_ROW_ERA[row]])
    c: Courses = {"row": row, "kind": kind, "site": site, "setting": setting, "hosp": hosp}
    c["start"] = start
    c["level"] = _pick(rng, np.cumsum(_KIND_LEVEL, axis=1)[kind])
    electron = kind == ELECTRON
    c["energy"] = _pick(
        rng, np.where(electron[:, None], np.cumsum(_ENERGY_ELECTRON), np.cumsum(_ENERGY_PHOTON))
    )
    c["complex"] = (rng.random(n) < np.where(hosp, 0.7, 0.05)).astype(np.int64)
    c["variant"] = rng.random(n)  # robotic / Gamma Knife / 2014-only code choices
    method_table = np.where((kind == IMRT) & hosp, 0, np.where(hosp, 1, 2))
    c["method"] = _pick(rng, np.cumsum(_METHODS, axis=1)[method_table])
    c["tags"] = _draw_tags(rng, kind, site, row)
    _draw_fractions(rng, c)
    _draw_member(rng, c)
    _draw_diagnoses(rng, c)
    pre = rng.integers(0, 3, size=(n, 3))
    c["consult"] = _add_weekdays(start, -(10 + 3 * pre[:, 0]))
    c["sim"] = _add_weekdays(start, -(5 + pre[:, 1]))
    c["plan"] = _add_weekdays(start, -(1 + pre[:, 2]))
    return c


def _draw_tags(
    rng: np.random.Generator, kind: np.ndarray, site: np.ndarray, row: np.ndarray
) -> np.ndarray:
    """treatment_indicators per course: set on conditional 3DCRT sites (policy II J-O)."""
    left, right = site == _SITE["breast_left"], site == _SITE["breast_right"]
    breast = left | right
    profiles = np.array(  # probabilities over TAGS, one row per profile
        [
            [1, 0, 0, 0, 0, 0, 0, 0, 0],  # none
            [0, 0.4, 0.15, 0.15, 0.15, 0.15, 0, 0, 0],  # 3DCRT+IGRT left breast
            [0, 0, 0.4, 0.3, 0.3, 0, 0, 0, 0],  # 3DCRT+IGRT right breast
            [0, 0, 0, 0, 0, 0, 0.6, 0.4, 0],  # 3DCRT+IGRT rectum: belly board
            [0, 0, 0, 0, 0, 0, 0, 0, 1],  # 3DCRT+IGRT bladder: boost
            [0.5, 0, 0, 0, 0, 0, 0.5, 0, 0],  # IGRT008 breast: no tag or a decoy "belly_board"
            [0.5, 0, 0.5, 0, 0, 0, 0, 0, 0],  # IGRT008 rectum: no tag or a decoy "prone"
            [0.8, 0, 0.2, 0, 0, 0, 0, 0, 0],  # plain 3DCRT breast
            [0.5, 0.5, 0, 0, 0, 0, 0, 0, 0],  # IMRT left breast
        ]
    )
    violation8 = row == 8
    profile = np.select(
        [
            (kind == CRT_IGRT) & left,
            (kind == CRT_IGRT) & right,
            (kind == CRT_IGRT) & (site == _SITE["rectum"]),
            (kind == CRT_IGRT) & (site == _SITE["bladder"]),
            violation8 & breast,
            violation8 & (site == _SITE["rectum"]),
            (kind == CRT) & breast & ~violation8,
            (kind == IMRT) & left,
        ],
        [1, 2, 3, 4, 5, 6, 7, 8],
        default=0,
    )
    return _pick(rng, np.cumsum(profiles, axis=1)[profile])


def _draw_fractions(rng: np.random.Generator, c: Courses) -> None:
    """Fraction counts, electron boost days, spacing and the day a violation goes on."""
    kind, tags, n = c["kind"], c["tags"], len(c["kind"])
    lo, hi = _KIND_FRACTIONS[kind, 0], _KIND_FRACTIONS[kind, 1]
    apbi = tags == T_APBI
    lo, hi = np.where(apbi, 5, lo), np.where(apbi, 10, hi)
    fx = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    fx = np.where((kind == BRACHY) & (c["site"] == _SITE["prostate"]), 1, fx)  # LDR seeds
    breast = (c["site"] == _SITE["breast_left"]) | (c["site"] == _SITE["breast_right"])
    photon_boost = (tags == T_BOOST_PHOTON) | (tags == T_DIBH_BOOST_PHOTON)
    boost_p = np.where(kind == CRT, 0.5, np.where(kind == CRT_IGRT, 0.4, 0.0))
    boosted = breast & ~apbi & ~photon_boost & (rng.random(n) < boost_p)
    c["boost"] = np.where(boosted, 4 + rng.integers(0, 2, n), 0)  # electron boost days at end
    c["total"] = fx + c["boost"]
    c["step"] = np.where(((kind == SBRT) & (fx > 1)) | (kind == BRACHY), 2, 1)
    c["vday"] = np.floor(rng.random(n) * fx).astype(np.int64)  # never an electron boost day
    c["vdate"] = _add_weekdays(c["start"], c["vday"] * c["step"])


def _draw_member(rng: np.random.Generator, c: Courses) -> None:
    """Birth date, line of business, payer, billing and rendering providers."""
    n, start = len(c["kind"]), c["start"]
    child = c["row"] == PEDIATRIC_ROW
    adult_age = np.clip(rng.normal(67, 11, n), 25, 94)
    age = np.where(child, 2 + rng.random(n) * 15.5, adult_age)
    c["birth"] = start - np.floor(age * 365.25).astype(np.int64)
    lob_cum = np.cumsum(
        np.array([[0.60, 0.0, 0.0, 0.40], [0.78, 0.03, 0.02, 0.17], [0.07, 0.50, 0.38, 0.05]]),
        axis=1,
    )
    c["lob"] = _pick(rng, lob_cum[np.where(child, 0, np.where(age < 65, 1, 2))])
    c["payer"] = _PAYER_OFFSET[c["lob"]] + np.floor(rng.random(n) * _PAYER_COUNT[c["lob"]]).astype(
        np.int64
    )
    c["bill"] = np.where(
        c["setting"] == CAH,
        4,
        _pick(rng, np.cumsum(np.tile([0, 0.85, 0.05, 0.10], (n, 1)), axis=1)),
    )
    c["pos"] = np.where(
        rng.random(n) < 0.8, 3, 2
    )  # professional claims of hospital patients: 22 or 19
    c["fac_birth"] = ~c["hosp"] | (rng.random(n) >= NO_BIRTH_DATE_SHARE)
    providers = np.stack(
        [rng.integers(lo, hi, n) for lo, hi in (_RAD_ONC, _FACILITY, _OFFICE_DOC, _LAB_NPI)]
    )
    c["providers"] = providers  # rows: radiation oncologist, facility, office doctor, lab


def _draw_diagnoses(rng: np.random.Generator, c: Courses) -> None:
    """Diagnosis strings per course: radiation claims and unrelated office/lab claims."""
    site, n = c["site"], len(c["site"])
    primary = _PRIMARY_POOL.take(
        pa.array(_PRIMARY_OFF[site] + np.floor(rng.random(n) * _PRIMARY_N[site]).astype(np.int64))
    )
    has_second = rng.random(n) < _SECONDARY_P[site]
    second_idx = _SECONDARY_OFF[site] + np.floor(rng.random(n) * _SECONDARY_N[site]).astype(
        np.int64
    )
    second_idx = np.where(has_second, second_idx, 0)  # sites without secondary codes
    second = _SECONDARY_POOL.take(pa.array(second_idx, mask=~has_second))
    n_com = _pick(rng, np.tile(np.cumsum([0.3, 0.45, 0.25]), (n, 1)))
    first = rng.integers(0, len(COMORBIDITIES), n)
    other = (first + 1 + rng.integers(0, len(COMORBIDITIES) - 1, n)) % len(COMORBIDITIES)
    com1 = _COMORBID_POOL.take(pa.array(first, mask=n_com < 1))
    com2 = _COMORBID_POOL.take(pa.array(other, mask=n_com < 2))
    radiation = pc.binary_join_element_wise(primary, second, com1, com2, ",", null_handling="skip")
    office = pc.binary_join_element_wise(com1, primary, ",", null_handling="skip")
    c["dx"] = pa.concat_arrays([radiation, office])  # index: patient, or patient + n for office


# ---------------------------------------------------------------------------------------------
# Lines.

_LINE_FIELDS = {
    "pat": np.int64, "date": np.int64, "stream": np.int8, "code": np.int64, "mod": np.int8,
    "units": np.int32, "beam": np.int8, "tag": np.int8, "role": np.int8, "day": np.int64,
    "event": np.int64,
}  # fmt: skip


def _lines(
    pat: np.ndarray,
    date: np.ndarray,
    stream: np.ndarray | int,
    code: np.ndarray | int,
    **kw: np.ndarray | int,
) -> Lines:
    """A group of lines; scalars are broadcast. Missing fields get their defaults."""
    n = len(pat)
    values = {"pat": pat, "date": date, "stream": stream, "code": code, **kw}
    defaults = {
        "mod": M_NONE,
        "units": 1,
        "beam": B_NONE,
        "tag": 0,
        "role": R_PRE,
        "day": -1,
        "event": 0,
    }
    out: Lines = {}
    for name, dtype in _LINE_FIELDS.items():
        value = values.get(name, defaults.get(name))
        out[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
    return out


def _concat(parts: list[Lines]) -> Lines:
    """Concatenate line groups."""
    return {name: np.concatenate([p[name] for p in parts]) for name in _LINE_FIELDS}


def _take(lines: Lines, index: np.ndarray) -> Lines:
    """Subset of lines (boolean mask or index array)."""
    return {name: values[index] for name, values in lines.items()}


SPLIT, PC_ONLY, TC_ONLY = range(3)  # how a service's components are billed


def _services(
    c: Courses,
    pat: np.ndarray,
    date: np.ndarray,
    code: np.ndarray | int,
    cls: int,
    **kw: np.ndarray | int,
) -> Lines:
    """Lines for services by setting: hospital patients get a facility line (technical part,
    no modifier) and/or a professional line (-26 when the code has a PC/TC split); freestanding
    patients get one global line."""
    code = np.broadcast_to(np.asarray(code, dtype=np.int64), pat.shape)
    kw = {k: np.broadcast_to(np.asarray(v), pat.shape) for k, v in kw.items()}
    hosp = c["hosp"][pat]
    parts = []
    if cls in (SPLIT, TC_ONLY):
        m = hosp
        parts.append(_lines(pat[m], date[m], FAC, code[m], **{k: v[m] for k, v in kw.items()}))
    if cls in (SPLIT, PC_ONLY):
        m = hosp
        mod = M_26 if cls == SPLIT else M_NONE
        parts.append(
            _lines(pat[m], date[m], PRO, code[m], mod=mod, **{k: v[m] for k, v in kw.items()})
        )
    m = ~hosp
    parts.append(_lines(pat[m], date[m], GLOBAL, code[m], **{k: v[m] for k, v in kw.items()}))
    return _concat(parts)


def _pretreatment_lines(rng: np.random.Generator, c: Courses) -> Lines:
    """Consult, simulation and planning lines before each course."""
    kind, hosp, n = c["kind"], c["hosp"], len(c["kind"])
    pats = np.arange(n)
    external = np.isin(kind, (IMRT, CRT_IGRT, CRT, SBRT, SRS, PROTON))
    sim_code = np.where(external, _C["77290"], _C["77280"])
    plan_code = np.select(
        [kind == IMRT, np.isin(kind, (CRT_IGRT, CRT, SBRT, SRS, PROTON)), kind == BRACHY],
        [_C["77301"], _C["77295"], np.where(c["plan"] >= D2015, _C["77316"], _C["77326"])],
        default=NONE,
    )
    device = np.select(
        [np.isin(kind, (SUPERFICIAL, ELECTRON)), kind == BRACHY], [_C["77332"], NONE], _C["77334"]
    )
    dosimetry_units = np.where(rng.random(n) < 0.8, 1, rng.integers(2, 5, n))
    second_device = (device == _C["77334"]) & (rng.random(n) < 0.15)
    physics = (c["row"] == 0) & np.isin(kind, (BRACHY, SBRT, SRS, CRT)) & (rng.random(n) < 0.15)
    has_plan, imrt, has_device = plan_code != NONE, kind == IMRT, device != NONE
    return _concat(
        [
            _services(c, pats, c["consult"], _C["99205"], PC_ONLY),
            _services(c, pats[hosp], c["consult"][hosp], _C["G0463"], TC_ONLY),
            _services(c, pats, c["sim"], sim_code, SPLIT),
            _services(c, pats, c["sim"], _C["77263"], PC_ONLY),
            _services(c, pats[has_plan], c["plan"][has_plan], plan_code[has_plan], SPLIT),
            _services(c, pats[imrt], c["plan"][imrt], _C["77338"], SPLIT),
            _services(c, pats, c["plan"], _C["77300"], SPLIT, units=dosimetry_units),
            _services(c, pats[has_device], c["plan"][has_device], device[has_device], SPLIT),
            _distinct(
                _services(c, pats[second_device], c["plan"][second_device], _C["77334"], SPLIT)
            ),
            _services(c, pats[physics], c["plan"][physics], _C["77370"], TC_ONLY),
        ]
    )


def _distinct(lines: Lines) -> Lines:
    """Mark repeated same-day services with modifier 59 (26 becomes 26,59)."""
    lines["mod"] = _WITH_59[lines["mod"]]
    return lines


def _delivery_codes(
    c: Courses, pat: np.ndarray, k: np.ndarray, date: np.ndarray, electron: np.ndarray
) -> np.ndarray:
    """Delivery code of each treatment day, by kind, era, setting and complexity."""
    kind, hosp, level = c["kind"][pat], c["hosp"][pat], c["level"][pat]
    energy, cplx, variant = c["energy"][pat], c["complex"][pat], c["variant"][pat]
    era = _era(date)
    three_d = np.where(
        ~hosp & (era == 1),
        _G60[np.minimum(4 * level + energy, 11)],
        _LEVEL_3D[np.minimum(level, 2)],
    )
    imrt = np.select(
        [era == 0, (era == 1) & hosp, era == 1],
        [_C["77418"], _C["77385"] + cplx, _C["G6015"] + cplx],
        default=np.where(cplx == 1, _C["77412"], _C["77407"]),
    )
    robotic = ~hosp & (variant < 0.15)
    sbrt = np.select(
        [robotic & (k == 0), robotic, hosp & (era == 0) & (variant < 0.2)],
        [_C["G0339"], _C["G0340"], _C["G0251"]],
        default=_C["77373"],
    )
    srs = np.select(
        [robotic, hosp & (variant < 0.3), hosp & (era == 0) & (variant > 0.8)],
        [_C["G0339"], _C["77371"], _C["G0173"]],
        default=_C["77372"],
    )
    brachy = np.where(
        c["site"][pat] == _SITE["prostate"],
        _C["77778"],
        np.where(date < D2016, _C["77761"], _C["77770"]) + np.minimum(level, 2),
    )
    superficial = np.where(era < 2, _C["77401"], _C["77437"] + np.minimum(level, 1))
    proton = _C["77520"] + level
    return np.select(
        [
            electron | np.isin(kind, (CRT, CRT_IGRT, ELECTRON)),
            kind == IMRT,
            kind == SBRT,
            kind == SRS,
            kind == BRACHY,
            kind == SUPERFICIAL,
        ],
        [three_d, imrt, sbrt, srs, brachy, superficial],
        default=proton,
    )


def _treatment_lines(c: Courses) -> Lines:
    """Delivery, image guidance and weekly management lines of every treatment day."""
    total = c["total"]
    pat = np.repeat(np.arange(len(total)), total)
    k = _ranks(total)
    date = _add_weekdays(c["start"][pat], k * c["step"][pat])
    kind, hosp, era = c["kind"][pat], c["hosp"][pat], _era(date)
    electron = k >= (total - c["boost"])[pat]
    code = _delivery_codes(c, pat, k, date, electron)
    beam = np.select(
        [electron | (kind == ELECTRON), kind == PROTON, kind == BRACHY],
        [B_ELECTRON, B_PROTON, B_NONE],
        B_PHOTON,
    )
    delivery = _services(
        c, pat, date, code, TC_ONLY, beam=beam, tag=c["tags"][pat], role=R_DELIVERY, day=k
    )
    parts = [delivery, _igrt_lines(c, pat, k, date, era, hosp, kind, electron)]
    weekly = ~np.isin(kind, (SBRT, SRS, BRACHY)) & (
        ((k % 5) == 4) | ((k == total[pat] - 1) & (total[pat] % 5 >= 3))
    )
    for code_, cls in ((_C["77427"], PC_ONLY), (_C["77336"], TC_ONLY)):
        parts.append(
            _services(c, pat[weekly], date[weekly], code_, cls, role=R_WEEKLY, day=k[weekly])
        )
    films = (kind == CRT) & (k % 5 == 0)
    parts.append(
        _services(c, pat[films], date[films], _C["77417"], TC_ONLY, role=R_WEEKLY, day=k[films])
    )
    for kind_, code_ in ((SBRT, "77435"), (SRS, "77432")):
        first = (kind == kind_) & (k == 0)
        parts.append(
            _services(c, pat[first], date[first], _C[code_], PC_ONLY, role=R_WEEKLY, day=0)
        )
    return _concat(parts)


def _igrt_lines(
    c: Courses,
    pat: np.ndarray,
    k: np.ndarray,
    date: np.ndarray,
    era: np.ndarray,
    hosp: np.ndarray,
    kind: np.ndarray,
    electron: np.ndarray,
) -> Lines:
    """Image guidance on every photon/proton day of IGRT courses, coded for era and setting.

    Hospital 2015-2025: IMRT days carry only the physician's -26 line (the technical part is
    packaged into 77385/77386); 3DCRT/proton days carry 77014 + 77014-26, or 77387 alone.
    Freestanding: one global line. From 2026 only 77387-26.
    """
    on = np.isin(kind, IGRT_KINDS) & ~electron
    method = c["method"][pat]
    fac = np.where(hosp & ~((kind == IMRT) & (era == 1)), _FAC_IGRT[era, method], NONE)
    pro = np.where(hosp, _PRO_IGRT[era, method], NONE)
    glob = np.where(~hosp, _GLOBAL_IGRT[era, method], NONE)
    parts = []
    for stream, codes, mods in (
        (FAC, fac, np.full(len(pat), M_NONE)),
        (PRO, pro, np.full(len(pat), M_26)),
        (GLOBAL, glob, _GLOBAL_IGRT_MOD[era]),
    ):
        m = on & (codes != NONE)
        parts.append(_lines(pat[m], date[m], stream, codes[m], mod=mods[m], role=R_IGRT, day=k[m]))
    return _concat(parts)


def _unrelated_lines(rng: np.random.Generator, c: Courses) -> Lines:
    """Office visits (99213/99214) and lab panels (80053/85025) around the course."""
    n = len(c["kind"])
    events = np.minimum(rng.poisson(1.8, n), 6)
    pat = np.repeat(np.arange(n), events)
    event = _ranks(events)
    span = (c["total"] * c["step"])[pat]
    offset = -30 + np.floor(rng.random(len(pat)) * (span + 50)).astype(np.int64)
    date = _add_weekdays(c["start"][pat], offset)
    office = rng.random(len(pat)) < 0.6
    visit = np.where(rng.random(len(pat)) < 0.6, _C["99213"], _C["99214"])
    panel = ~office & (rng.random(len(pat)) < 0.6)
    return _concat(
        [
            _lines(
                pat[office], date[office], OFFICE, visit[office], role=R_OTHER, event=event[office]
            ),
            _lines(
                pat[~office], date[~office], LAB, _C["85025"], role=R_OTHER, event=event[~office]
            ),
            _lines(pat[panel], date[panel], LAB, _C["80053"], role=R_OTHER, event=event[panel]),
        ]
    )


# ---------------------------------------------------------------------------------------------
# Violations.


def _violation_igrt(c: Courses, pat: np.ndarray, date: np.ndarray) -> Lines:
    """One image-guidance line as a clinic would add it: hospital physician -26 line (77014 or,
    from 2026, 77387), or the freestanding global line of the course's method."""
    hosp, era = c["hosp"][pat], _era(date)
    code = np.where(hosp, _PRO_IGRT[era, CT], _GLOBAL_IGRT[era, c["method"][pat]])
    mod = np.where(hosp, M_26, _GLOBAL_IGRT_MOD[era])
    return _lines(pat, date, np.where(hosp, PRO, GLOBAL), code, mod=mod, role=R_VIOLATION)


def _inject_violations(c: Courses, lines: Lines) -> Lines:
    """Apply each course's violation (row 1..14 = IGRT001..IGRT014) on its violation day.

    IGRT001 the day's guidance lines get a code deleted or not yet valid on the date (77387 in
            2014, 77421 in 2015-2025, 77014-26 in 2026).
    IGRT002 2015-2025: OPPS hospital delivery 77385/77386/77402-77412 becomes its G-code
            (G6015/G6016/G6003-G6014); freestanding guidance becomes 77387 on the G-code claim.
    IGRT003 OPPS IMRT day: the physician's guidance line moves to the facility claim as 77387-TC.
    IGRT004 a guidance line on an SBRT/SRS fraction day.
    IGRT005 a second guidance code (77014, or G6002/77421 when the course uses 77014).
    IGRT006 units 2 on the day's guidance lines.
    IGRT007 a guidance line on a 3DCRT day whose diagnoses match no indication (bone or brain
            metastases, glioma, kidney, endometrium).
    IGRT008 a guidance line on a 3DCRT day of a breast, rectal or bladder course whose
            treatment_indicators are empty or a decoy ("boost" on breast, "prone" on rectum).
    IGRT009 a guidance line on a superficial (77401/77437/77438) or electron-only day.
    IGRT010 a guidance line on a brachytherapy day.
    IGRT011 77370 on the claim (freestanding) or patient-day (hospital) of a guidance day.
    IGRT012 a guidance line (not -26) on the simulation day, which has no delivery.
    IGRT013 2026: 77387 without 26; freestanding G6017 day: G6017-TC; otherwise -26 on the
            day's technical-only delivery line.
    IGRT014 hospital IMRT day 2015-2025: the physician's guidance line loses its -26 (the
            technical part billed from place of service 19/22).
    Children (the pediatric row) of guidance courses through 2025 get a second guidance code on
    one day, which an adult's day would be flagged for (a facility line for hospital patients,
    whose facility claims may carry no birth date: the member's other claims put them under
    age).
    Added lines are the ones a clinic would bill: the hospital physician's -26 line or the
    freestanding global line, coded for the date (see _violation_igrt).
    """
    _edit_violation_lines(c, lines)
    return _concat([lines, *_added_violation_lines(c)])


V001, V002, V003, V004, V005, V006, V007, V008, V009, V010, V011, V012, V013, V014 = range(1, 15)


def _edit_violation_lines(c: Courses, lines: Lines) -> None:
    """IGRT001, 002, 003, 006, 013 and 014: change existing lines of the violation day."""
    pat = lines["pat"]
    row, hosp, kind = c["row"][pat], c["hosp"][pat], c["kind"][pat]
    on_day = lines["day"] == c["vday"][pat]
    igrt, delivery = on_day & (lines["role"] == R_IGRT), on_day & (lines["role"] == R_DELIVERY)
    era = _era(lines["date"])
    code, mod, units, stream = lines["code"], lines["mod"], lines["units"], lines["stream"]

    m = igrt & (row == V001)
    code[m] = _INVALID_IGRT[era[m]]

    m = delivery & (row == V002) & (c["setting"] == OPPS)[pat]
    g_code = np.where(
        kind == IMRT,
        _C["G6015"] + c["complex"][pat],
        _G60[np.minimum(4 * c["level"][pat] + c["energy"][pat], 11)],
    )
    code[m] = g_code[m]
    code[igrt & (row == V002) & ~hosp] = _C["77387"]

    m = igrt & (row == V003) & (stream == PRO)
    code[m], mod[m], stream[m] = _C["77387"], M_TC, FAC

    units[igrt & (row == V006)] = 2

    mod[igrt & (row == V014) & (stream == PRO)] = M_NONE

    v_era, guided = _era(c["vdate"]), np.isin(c["kind"], IGRT_KINDS)
    late = (v_era == 2) & guided  # 77387-26 loses its 26
    tracking = ~c["hosp"] & (v_era == 1) & (c["method"] == TRACK) & guided  # G6017-TC
    v13 = row == V013
    mod[igrt & v13 & late[pat]] = M_NONE
    mod[igrt & v13 & tracking[pat]] = M_TC
    mod[delivery & v13 & ~(late | tracking)[pat]] = M_26


def _added_violation_lines(c: Courses) -> list[Lines]:
    """IGRT004, 005, 007-012: lines added on the violation day (or the simulation day)."""
    row, hosp, method, vdate = c["row"], c["hosp"], c["method"], c["vdate"]
    pats = np.arange(len(row))
    guidance = np.isin(row, (V004, V007, V008, V009, V010))

    # Children of guidance courses through 2025 (from 2026 guidance is 77387-26 alone).
    child = (row == PEDIATRIC_ROW) & np.isin(c["kind"], IGRT_KINDS) & (_era(vdate) < 2)
    second = (row == V005) | child
    v_era = np.minimum(_era(vdate), 1)  # IGRT005 courses end before 2026
    # 77014 is the second method, unless the course already uses it: then stereoscopic x-ray.
    uses_ct = np.where(hosp, _PRO_IGRT[v_era, method], _GLOBAL_IGRT[v_era, method]) == _C["77014"]
    alt = np.where(uses_ct, _PRO_IGRT[v_era, STEREO], _C["77014"])
    alt_stream, alt_mod = np.where(hosp, PRO, GLOBAL), np.where(hosp, M_26, M_NONE)
    # The hospital bills the second code itself where no physician line names a method (77387
    # alone; it matches any one method of the other side), and for children (the facility
    # line, which may lack the birth date).
    on_facility = hosp & ((method == OPPS77387) | child)
    alt_stream = np.where(on_facility, FAC, alt_stream)
    alt_mod = np.where(on_facility, M_NONE, alt_mod)
    alt = np.where(on_facility & (_FAC_IGRT[v_era, method] == _C["77014"]), _C["77387"], alt)

    physics = row == V011
    technical = np.where(hosp, FAC, GLOBAL)  # where a technical (non -26) line goes

    sim = row == V012
    sim_era = _era(c["sim"])
    sim_code = np.where(hosp, _FAC_IGRT[sim_era, CT], _GLOBAL_IGRT[sim_era, method])
    return [
        _violation_igrt(c, pats[guidance], vdate[guidance]),
        _lines(
            pats[second], vdate[second], alt_stream[second], alt[second],
            mod=alt_mod[second], role=R_VIOLATION,
        ),
        _lines(pats[physics], vdate[physics], technical[physics], _C["77370"], role=R_VIOLATION),
        _lines(pats[sim], c["sim"][sim], technical[sim], sim_code[sim], role=R_VIOLATION),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Blocks.


def _fit(rng: np.random.Generator, c: Courses, lines: Lines, remaining: int) -> Lines:
    """Keep whole patients up to `remaining` lines and top up with single-line lab claims."""
    counts = np.bincount(lines["pat"], minlength=len(c["row"]))
    if counts.sum() <= remaining:
        return lines
    cum = np.cumsum(counts)
    kept = int(np.searchsorted(cum, remaining, side="right"))
    lines = _take(lines, lines["pat"] < kept)
    short = remaining - (int(cum[kept - 1]) if kept else 0)
    who = max(kept - 1, 0)
    pat = np.full(short, who)
    date = _add_weekdays(np.full(short, c["start"][who]), -30 - np.arange(short))
    event = 1000 + np.arange(short)  # claim keys past the patient's own events
    filler = _lines(pat, date, LAB, _C["85025"], role=R_OTHER, event=event)
    return _concat([lines, filler])


def _claims(lines: Lines) -> tuple[np.ndarray, np.ndarray]:
    """Claim index and line number of each line: facility claims per month, professional and
    global claims per week, office and lab claims per visit; lines numbered by date."""
    date, stream = lines["date"], lines["stream"].astype(np.int64)
    month = date.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    week = (date + 3) // 7
    period = np.select([stream == FAC, stream >= OFFICE], [month, lines["event"]], week)
    key = (lines["pat"] << 40) | (stream << 32) | period
    keys, claim = np.unique(key, return_inverse=True)
    if len(keys) >= CLAIMS_PER_BLOCK:
        raise RuntimeError("too many claims in one block")
    order = np.lexsort((np.arange(len(claim)), date, claim))
    sizes = np.bincount(claim, minlength=len(keys))
    line_number = np.empty(len(claim), dtype=np.int32)
    line_number[order] = _ranks(sizes) + 1
    return claim, line_number


def _provider_index(c: Courses, pat: np.ndarray, stream: np.ndarray) -> np.ndarray:
    """Index into the NPI pool: facility, radiation oncologist, office doctor or lab."""
    role = np.select([stream == FAC, stream == OFFICE, stream == LAB], [0, 2, 3], 1)
    order = np.array([1, 0, 2, 3])  # providers rows are (rad onc, facility, office, lab)
    return c["providers"][order[role], pat]


def _miscoders(seed: int, share: float) -> np.ndarray:
    """Per provider index, whether it codes for the wrong scheme: drawn once per seed from a
    generator of its own, so every block agrees."""
    rng = np.random.default_rng([seed, 0, 1])  # never a block's key ([seed, block])
    return rng.random(_LAB_NPI[1]) < share


def _miscode(c: Courses, lines: Lines, miscoders: np.ndarray) -> None:
    """The 2015-2025 global lines of miscoding practices coded CPT, and the facility lines of
    miscoding hospitals coded G-codes (in place)."""
    pat, code, stream = lines["pat"], lines["code"], lines["stream"]
    mid = _era(lines["date"]) == 1
    practice = mid & (stream == GLOBAL) & miscoders[c["providers"][0][pat]]
    code[practice] = _AS_CPT[code[practice]]
    hospital = mid & (stream == FAC) & miscoders[c["providers"][1][pat]]
    code[hospital] = _AS_GCODE[code[hospital]]
    for delivery, level in _LEVEL_OF_3D.items():  # 77402/77407/77412 -> G60xx by energy
        three_d = hospital & (code == delivery)
        code[three_d] = _G60[np.minimum(4 * level + c["energy"][pat[three_d]], 11)]


def _block_table(
    seed: int, block: int, rate: float, remaining: int, miscoders: np.ndarray | None = None
) -> pa.Table:
    """All lines of one block of patients (at most `remaining`), shuffled, as a table."""
    rng = np.random.default_rng([seed, block])
    c = _sample_courses(rng, PATIENTS_PER_BLOCK, rate)
    lines = _concat([_pretreatment_lines(rng, c), _treatment_lines(c), _unrelated_lines(rng, c)])
    lines = _inject_violations(c, lines)
    if miscoders is not None:
        _miscode(c, lines, miscoders)
    lines = _fit(rng, c, lines, remaining)
    claim, line_number = _claims(lines)
    noise = rng.lognormal(0.0, 0.08, len(claim))
    perm = rng.permutation(len(claim))
    lines = _take(lines, perm)
    claim, line_number, noise = claim[perm], line_number[perm], noise[perm]
    return _assemble(c, lines, block, claim, line_number, noise)


def _assemble(
    c: Courses,
    lines: Lines,
    block: int,
    claim: np.ndarray,
    line_number: np.ndarray,
    noise: np.ndarray,
) -> pa.Table:
    """Arrow table in SCHEMA order from line arrays."""
    pat, stream, code, mod = lines["pat"], lines["stream"], lines["code"], lines["mod"]
    n_pat = len(c["row"])
    institutional = stream == FAC
    pos = np.select([institutional, stream == PRO, stream == LAB], [0, c["pos"][pat], 4], 1)
    pc_share = np.where((mod == M_26) | (mod == M_26_59), 0.25, np.where(institutional, 1.6, 1.0))
    charge = np.round(_CHARGE[code] * pc_share * lines["units"] * noise, 2)
    # ids are built once per claim and patient, then taken per line
    claim_ids = _fixed_ids(
        "C", block * CLAIMS_PER_BLOCK + np.arange(int(claim.max(initial=-1)) + 1), 12
    )
    patient_ids = _fixed_ids("P", block * PATIENT_STRIDE + np.arange(n_pat), 10)
    columns = [
        claim_ids.take(pa.array(claim)),
        pa.array(line_number, pa.int32()),
        patient_ids.take(pa.array(pat)),
        _dates(lines["date"]),
        _vocab(CODES, code),
        _vocab(MODS, mod),
        pa.array(lines["units"], pa.int32()),
        c["dx"].take(pa.array(pat + n_pat * (stream >= OFFICE))),
        _vocab(CLAIM_TYPES, institutional.astype(np.int8)),
        _vocab(POS, pos),
        _vocab(BILLS, np.where(institutional, c["bill"][pat], 0)),
        _vocab(_PAYER_NAMES, c["payer"][pat]),
        _vocab(LOBS, c["lob"][pat]),
        _dates(c["birth"][pat], mask=institutional & ~c["fac_birth"][pat]),
        _vocab(BEAMS, lines["beam"]),
        _vocab(TAGS, lines["tag"]),
        _NPI_IDS.take(pa.array(_provider_index(c, pat, stream))),
        pa.array(charge, pa.float64()),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


# ---------------------------------------------------------------------------------------------
# Public API.


def _check(lines: int, batch_lines: int, violation_rate: float, miscoding: float = 0.0) -> None:
    """Reject arguments the generator cannot honour."""
    if lines < 0:
        raise ValueError(f"lines must be >= 0, got {lines}")
    if batch_lines < 1:
        raise ValueError(f"batch_lines must be >= 1, got {batch_lines}")
    if not 0.0 <= violation_rate <= MAX_VIOLATION_RATE:
        raise ValueError(
            f"violation_rate must be between 0 and {MAX_VIOLATION_RATE:.4f}, got {violation_rate}"
        )
    if not 0.0 <= miscoding <= 1.0:
        raise ValueError(f"miscoding must be between 0 and 1, got {miscoding}")


def _block_tables(
    lines: int, seed: int, violation_rate: float, miscoding: float
) -> Iterator[pa.Table]:
    """The stream of block tables, exactly `lines` lines in total."""
    remaining, block = lines, 0
    extra = {"miscoders": _miscoders(seed, miscoding)} if miscoding > 0 else {}
    while remaining > 0:
        table = _block_table(seed, block, violation_rate, remaining, **extra)
        remaining -= table.num_rows
        block += 1
        yield table


def _rechunk(tables: Iterable[pa.Table], size: int) -> Iterator[pa.Table]:
    """Single-chunk tables of exactly `size` rows (the last one may be shorter)."""
    pending: list[pa.Table] = []
    pending_rows = 0
    for table in tables:
        pending.append(table)
        pending_rows += table.num_rows
        while pending_rows >= size:
            combined = pa.concat_tables(pending)
            yield combined.slice(0, size).combine_chunks()
            rest = combined.slice(size)
            pending, pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
    if pending_rows:
        yield pa.concat_tables(pending).combine_chunks()


def _single_batch(table: pa.Table) -> pa.RecordBatch:
    """The one record batch of a single-chunk table."""
    batches = table.to_batches()
    return (
        batches[0]
        if len(batches) == 1
        else pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
    )


def iter_claim_batches(
    lines: int,
    seed: int,
    *,
    batch_lines: int = DEFAULT_BATCH_LINES,
    violation_rate: float = 0.02,
    miscoding: float = 0.0,
) -> Iterator[pa.RecordBatch]:
    """Record batches (SCHEMA) of a synthetic extract, exactly `lines` lines in total.

    Batches hold `batch_lines` lines (the last one may hold fewer); memory stays bounded by the
    batch size plus one block of patients. The same (lines, seed, violation_rate) yields the
    same lines in the same order whatever `batch_lines` is. `violation_rate` is the probability
    that a course carries a given rule's violation (0 gives a clean extract); at most
    MAX_VIOLATION_RATE, since a course carries at most one. `miscoding` is the share of
    radiation oncologists coding CPT for a G-code payer all year (see the module docstring).
    Bad arguments raise ValueError here, before any batch is made.
    """
    _check(lines, batch_lines, violation_rate, miscoding)
    tables = _rechunk(_block_tables(lines, seed, violation_rate, miscoding), batch_lines)
    return (_single_batch(table) for table in tables)


def generate_claims(
    lines: int,
    seed: int,
    *,
    batch_lines: int = DEFAULT_BATCH_LINES,
    violation_rate: float = 0.02,
    miscoding: float = 0.0,
) -> pa.Table:
    """The whole extract as one table (for tests and small runs)."""
    batches = iter_claim_batches(
        lines, seed, batch_lines=batch_lines, violation_rate=violation_rate, miscoding=miscoding
    )
    return pa.Table.from_batches(list(batches), schema=SCHEMA)


X12_SUFFIXES = (".837", ".x12", ".edi")


def _extract_format(path: Path) -> str:
    """'parquet', 'csv' or 'x12' (an 837 interchange) from the file extension."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    if suffix in X12_SUFFIXES:
        return "x12"
    raise ValueError(f"{path}: the output must end in .parquet, .csv or .837")


def write_extract(
    path: str | Path,
    lines: int,
    seed: int,
    *,
    batch_lines: int = DEFAULT_BATCH_LINES,
    violation_rate: float = 0.02,
    row_group_lines: int = DEFAULT_BATCH_LINES,
    miscoding: float = 0.0,
) -> int:
    """Stream a synthetic extract to Parquet, CSV or an 837 (by extension); return the lines
    written (an 837 is built in memory: its claims must be whole).

    The file is written under a temporary name in the same directory and renamed when
    complete, so a reader never sees a partial extract. Parquet: snappy, dictionary encoding,
    row groups of `row_group_lines` lines (independent of `batch_lines`, so the bytes are the
    same whatever the batch size). CSV: one header row, dates as YYYY-MM-DD.
    """
    path = Path(path)
    fmt = _extract_format(path)
    _check(lines, batch_lines, violation_rate, miscoding)
    if row_group_lines < 1:
        raise ValueError(f"row_group_lines must be >= 1, got {row_group_lines}")
    batches = iter_claim_batches(
        lines, seed, batch_lines=batch_lines, violation_rate=violation_rate, miscoding=miscoding
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    written = 0
    try:
        if fmt == "x12":
            from igrt_edits.synth.x12 import write_x12

            table = pa.Table.from_batches(list(batches), schema=SCHEMA)
            with tmp.open("wb") as out:
                write_x12(out, table)
            written = table.num_rows
        elif fmt == "parquet":
            with pq.ParquetWriter(tmp, SCHEMA, compression="snappy", use_dictionary=True) as writer:
                for table in _rechunk(
                    (pa.Table.from_batches([b]) for b in batches), row_group_lines
                ):
                    writer.write_table(table, row_group_size=row_group_lines)
                    written += table.num_rows
        else:
            with pacsv.CSVWriter(tmp, SCHEMA) as writer:
                for batch in batches:
                    writer.write_batch(batch)
                    written += batch.num_rows
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written
