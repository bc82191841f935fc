"""Derive what the edits need from normalized lines: setting, coding scheme, claim type,
component, billing side and scope.

Follows the data contract: the setting column wins; an institutional claim with a bill type
of 012x/013x/014x is OPPS, another institutional claim OTHER, a professional claim MPFS; a bill
type alone means institutional and a place of service alone professional. A line's billing side
(edit-catalog.md, "Billing sides") follows from its component and its claim type. Age belongs
to the member: a line with neither birth date nor age takes the birth date the member's other
lines agree on (`member_ages`, which needs every line of the member).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.contract import BILLING_SIDES, CLAIM_TYPES, COMPONENTS, SCHEMES, SETTINGS
from igrt_edits.ingest.normalize import years_between
from igrt_edits.util.arrow import as_dictionary, coded, single_chunk, spread, text_values

# Derived columns are small integer codes; position 0 is "unknown" (a null in the output).
SETTING_NAMES = ("", *SETTINGS)
SCHEME_NAMES = ("", *SCHEMES)
COMPONENT_NAMES = ("", *COMPONENTS)
CLAIM_TYPE_NAMES = ("", *CLAIM_TYPES)
SIDE_NAMES = ("", *BILLING_SIDES)
_UNKNOWN = 0
_OPPS, _MPFS, _OTHER = (SETTING_NAMES.index(s) for s in ("OPPS", "MPFS", "OTHER"))
_CPT, _GCODE = (SCHEME_NAMES.index(s) for s in ("cpt", "gcode"))
_PROFESSIONAL, _INSTITUTIONAL = (CLAIM_TYPE_NAMES.index(c) for c in CLAIM_TYPES)
_PC, _TC, _GLOBAL = (COMPONENT_NAMES.index(c) for c in ("PC", "TC", "global"))
OPPS_BILL_TYPES = ("012", "013", "014")
CONTEXT_SCHEMA = pa.schema(
    [
        ("_file", pa.int32()),
        ("_row", pa.int64()),
        ("patient_birth_date", pa.date32()),
        ("diagnosis_known", pa.bool_()),
    ]
)
"""Columns a normalized line with context carries besides the contract's (LINE_SCHEMA): its
input file (a number) and row, its own birth date (scope is decided once the member's lines
are together, see `member_ages`), whether its file has diagnoses."""


@dataclass(frozen=True)
class ContextOptions:
    """Configuration that shapes the derived context."""

    adult_age: int = 19
    cpt_payers: frozenset[str] = frozenset()
    """Payer names (compared case-insensitively) whose professional claims use CPT codes."""
    cpt_lines_of_business: frozenset[str] = frozenset()

    @staticmethod
    def of(adult_age: int, cpt_payers: Iterable[str], cpt_lines_of_business: Iterable[str]):
        return ContextOptions(
            adult_age,
            frozenset(p.strip().lower() for p in cpt_payers),
            frozenset(b.strip().lower() for b in cpt_lines_of_business),
        )


def _classify(array: pa.Array | pa.ChunkedArray, fn) -> np.ndarray:
    """Per line, fn applied to the distinct values (numpy in, numpy out); null -> fn('')."""
    encoded = as_dictionary(single_chunk(array))
    values = text_values(encoded)
    blank = np.asarray(fn(np.array([""], dtype=object)))
    # An empty dictionary (a header-only extract) still needs fn's result type for `spread`.
    per_value = np.asarray(fn(values)) if len(values) else blank[:0]
    return spread(encoded, per_value, blank[0])


def _setting_table() -> np.ndarray:
    """Setting by (claim type 0-2, has bill type, bill type 012x-014x, has place of service)."""
    table = np.zeros((3, 2, 2, 2), dtype=np.int8)
    for claim_type, has_bill, opps_bill, has_pos in np.ndindex(table.shape):
        institutional = claim_type == 2 or (claim_type == 0 and has_bill)
        professional = claim_type == 1 or (claim_type == 0 and not has_bill and has_pos)
        if institutional:
            table[claim_type, has_bill, opps_bill, has_pos] = _OPPS if opps_bill else _OTHER
        elif professional:
            table[claim_type, has_bill, opps_bill, has_pos] = _MPFS
    return table


SETTING_BY_CLAIM = _setting_table()


def derive_setting(lines: pa.Table) -> np.ndarray:
    """Setting code per line: 0 unknown, 1 OPPS, 2 MPFS, 3 OTHER (see SETTING_BY_CLAIM)."""
    given = _given_setting(lines)
    claim_type = _given_claim_type(lines)
    bill = _classify(  # 0 none, 1 present, 3 present and an OPPS bill type
        lines.column("bill_type"),
        lambda v: np.array([(x != "") + 2 * (x[:3] in OPPS_BILL_TYPES) for x in v], np.int8),
    )
    has_pos = _has_place_of_service(lines)
    derived = SETTING_BY_CLAIM[claim_type, bill & 1, bill >> 1, has_pos.astype(np.int8)]
    return np.where(given != _UNKNOWN, given, derived)


def _given_setting(lines: pa.Table) -> np.ndarray:
    named = {"OPPS": _OPPS, "MPFS": _MPFS, "OTHER": _OTHER}
    return _classify(
        lines.column("setting"), lambda v: np.array([named.get(x, 0) for x in v], np.int8)
    )


def _given_claim_type(lines: pa.Table) -> np.ndarray:
    kinds = {"professional": _PROFESSIONAL, "institutional": _INSTITUTIONAL}
    return _classify(
        lines.column("claim_type"), lambda v: np.array([kinds.get(x, 0) for x in v], np.int8)
    )


def _has_place_of_service(lines: pa.Table) -> np.ndarray:
    return _classify(lines.column("place_of_service"), lambda v: v != "")


def derive_claim_type(lines: pa.Table) -> np.ndarray:
    """Claim type code per line (see CLAIM_TYPE_NAMES), as the contract reads it.

    The claim_type column; without it a bill type means institutional and a place of service
    professional; without any of them, a setting column of OPPS means a hospital (institutional)
    claim and MPFS a professional one. Otherwise unknown (0).
    """
    given = _given_claim_type(lines)
    has_bill = _classify(lines.column("bill_type"), lambda v: v != "")
    setting = _given_setting(lines)
    by_setting = np.select(
        [setting == _OPPS, setting == _MPFS], [_INSTITUTIONAL, _PROFESSIONAL], _UNKNOWN
    )
    derived = np.select(
        [has_bill, _has_place_of_service(lines)], [_INSTITUTIONAL, _PROFESSIONAL], by_setting
    )
    return np.where(given != _UNKNOWN, given, derived).astype(np.int8)


def derive_scheme(lines: pa.Table, setting: np.ndarray, options: ContextOptions) -> np.ndarray:
    """Scheme code per line (see SCHEME_NAMES): cpt for OPPS, gcode or cpt for MPFS."""
    cpt_payer = _classify(
        lines.column("payer"),
        lambda v: np.isin(np.char.lower(v.astype(str)), list(options.cpt_payers)),
    )
    cpt_lob = _classify(
        lines.column("line_of_business"), lambda v: np.isin(v, list(options.cpt_lines_of_business))
    )
    mpfs_scheme = np.where(cpt_payer | cpt_lob, _CPT, _GCODE)
    chosen = np.select([setting == _OPPS, setting == _MPFS], [_CPT, mpfs_scheme], _UNKNOWN)
    return chosen.astype(np.int8)


def derive_component(lines: pa.Table) -> np.ndarray:
    """Component code per line (see COMPONENT_NAMES): PC with 26, else TC with TC, else global."""

    def component(values: np.ndarray) -> np.ndarray:
        tokens = [set(v.split(",")) for v in values]
        codes = [_PC if "26" in t else _TC if "TC" in t else _GLOBAL for t in tokens]
        return np.array(codes, np.int8)

    return _classify(lines.column("modifiers"), component)


def derive_billing_side(component: np.ndarray, claim_type: np.ndarray) -> np.ndarray:
    """Billing side code per line (see SIDE_NAMES) from component and claim type codes.

    PC lines are professional, TC lines technical; a global line is technical on an
    institutional claim (the facility's UB-04 line) and both otherwise (it bills both parts).
    """
    global_side = np.where(claim_type == _INSTITUTIONAL, 2, 3)
    return np.select([component == _PC, component == _TC], [1, 2], global_side).astype(np.int8)


def member_birth_dates(patient: np.ndarray, birth: pa.Array, counted: np.ndarray) -> pa.Array:
    """Per line, the one birth date its member's `counted` lines give (null if none or several).

    `patient` holds integer member ids; lines outside `counted` (rejected ones) give no
    evidence but still get their member's date.
    """
    days = np.asarray(pc.fill_null(birth.cast(pa.int32()), 0), np.int64)
    given = np.asarray(birth.is_valid()) & counted
    members = int(patient.max()) + 1 if len(patient) else 0
    low = np.full(members, np.iinfo(np.int64).max)
    high = np.full(members, np.iinfo(np.int64).min)
    np.minimum.at(low, patient[given], days[given])
    np.maximum.at(high, patient[given], days[given])
    agreed = (low == high)[patient]
    return pa.array(np.where(agreed, low[patient], 0).astype(np.int32), mask=~agreed).cast(
        pa.date32()
    )


def member_ages(age: np.ndarray, member_birth: pa.Array, service: pa.Array) -> np.ndarray:
    """The line's own age, else its age from the member's birth date; NaN when unknown.

    A member birth date after the line's service date tells nothing about that line.
    """
    years = years_between(member_birth, service).astype(np.float32)
    usable = np.asarray(member_birth.is_valid()) & (years >= 0)
    return np.where(np.isnan(age) & usable, years, age).astype(np.float32)


def in_scope(age: np.ndarray, options: ContextOptions) -> np.ndarray:
    """Adults on the service date, or age unknown (NaN)."""
    return ~(age < options.adult_age)


def with_context(
    table: pa.Table, context: ContextOptions, has_diagnosis: bool, drop: Sequence[str] = ()
) -> pa.Table:
    """Add the derived setting, scheme, claim type, component, billing side and the
    diagnosis-column flag (one vector pass each per batch; scope waits for whole members:
    `member_ages`).

    The given setting and claim type columns give way to the derived ones; `drop` names other
    columns to let go once the context is derived.
    """
    setting = derive_setting(table)
    scheme = derive_scheme(table, setting, context)
    claim_type = derive_claim_type(table)
    component = derive_component(table)
    derived = {
        "setting": coded(SETTING_NAMES, setting),
        "scheme": coded(SCHEME_NAMES, scheme),
        "claim_type": coded(CLAIM_TYPE_NAMES, claim_type),
        "component": coded(COMPONENT_NAMES, component),
        "billing_side": coded(SIDE_NAMES, derive_billing_side(component, claim_type)),
        "diagnosis_known": pa.array(np.full(table.num_rows, has_diagnosis)),
    }
    gone = ["setting", "claim_type", *drop]
    table = table.drop_columns([n for n in gone if n in table.column_names])
    for name, values in derived.items():
        table = table.append_column(name, values)
    return table
