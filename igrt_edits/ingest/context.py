"""Derive what the edits need from normalized lines: setting, coding scheme, component, scope.

Follows the data contract: the setting column wins; an institutional claim with a bill type
of 012x/013x/014x is OPPS, another institutional claim OTHER, a professional claim MPFS; a bill
type alone means institutional and a place of service alone professional.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.contract import COMPONENTS, SCHEMES, SETTINGS
from igrt_edits.util.arrow import as_dictionary, coded, single_chunk, spread, text_values

# Derived columns are small integer codes; position 0 is "unknown" (a null in the output).
SETTING_NAMES = ("", *SETTINGS)
SCHEME_NAMES = ("", *SCHEMES)
COMPONENT_NAMES = ("", *COMPONENTS)
_UNKNOWN = 0
_OPPS, _MPFS, _OTHER = (SETTING_NAMES.index(s) for s in ("OPPS", "MPFS", "OTHER"))
_CPT, _GCODE = (SCHEME_NAMES.index(s) for s in ("cpt", "gcode"))
_PC, _TC, _GLOBAL = (COMPONENT_NAMES.index(c) for c in ("PC", "TC", "global"))
OPPS_BILL_TYPES = ("012", "013", "014")
CONTEXT_SCHEMA = pa.schema(
    [
        ("_file", pa.int32()),
        ("_row", pa.int64()),
        ("_in_scope", pa.bool_()),
        ("diagnosis_known", pa.bool_()),
    ]
)
"""Columns a normalized line with context carries besides the contract's (LINE_SCHEMA): its
input file (a number) and row, whether it is in scope, whether its file has diagnoses."""


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
    named = {"OPPS": _OPPS, "MPFS": _MPFS, "OTHER": _OTHER}
    given = _classify(
        lines.column("setting"), lambda v: np.array([named.get(x, 0) for x in v], np.int8)
    )
    kinds = {"professional": 1, "institutional": 2}
    claim_type = _classify(
        lines.column("claim_type"), lambda v: np.array([kinds.get(x, 0) for x in v], np.int8)
    )
    bill = _classify(  # 0 none, 1 present, 3 present and an OPPS bill type
        lines.column("bill_type"),
        lambda v: np.array([(x != "") + 2 * (x[:3] in OPPS_BILL_TYPES) for x in v], np.int8),
    )
    has_pos = _classify(lines.column("place_of_service"), lambda v: v != "")
    derived = SETTING_BY_CLAIM[claim_type, bill & 1, bill >> 1, has_pos.astype(np.int8)]
    return np.where(given != _UNKNOWN, given, derived)


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


def in_scope(lines: pa.Table, options: ContextOptions) -> np.ndarray:
    """Adults on the service date, or age unknown."""
    age = np.asarray(pc.fill_null(single_chunk(lines.column("age")), np.nan), dtype=float)
    return ~(age < options.adult_age)


def with_context(
    table: pa.Table, context: ContextOptions, has_diagnosis: bool, drop: Sequence[str] = ()
) -> pa.Table:
    """Add the derived setting, scheme, component, scope and diagnosis-column flag.

    The given setting column gives way to the derived one; `drop` names other columns to let
    go once the context is derived.
    """
    setting = derive_setting(table)
    scheme = derive_scheme(table, setting, context)
    derived = {
        "setting": coded(SETTING_NAMES, setting),
        "scheme": coded(SCHEME_NAMES, scheme),
        "component": coded(COMPONENT_NAMES, derive_component(table)),
        "_in_scope": pa.array(in_scope(table, context)),
        "diagnosis_known": pa.array(np.full(table.num_rows, has_diagnosis)),
    }
    gone = ["setting", *drop]
    table = table.drop_columns([n for n in gone if n in table.column_names])
    for name, values in derived.items():
        table = table.append_column(name, values)
    return table
