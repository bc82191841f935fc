"""The engine's frame: the checked lines rules can see, as one pandas DataFrame.

Built from normalized lines (with context) of whole patients, Arrow-backed so text is not
copied; lines whose code no rule uses are left out unless they carry a claim's diagnoses or a
patient-day's treatment tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.contract import LINE_DETAIL_FIELDS, LINE_SCHEMA
from igrt_edits.ingest.normalize import join_diagnoses
from igrt_edits.rules.engine import RuleSet
from igrt_edits.rules.lines import ENGINE_COLUMNS, patient_day_key
from igrt_edits.util.arrow import as_dictionary, single_chunk, take_rows

IDS = ("claim_id", "patient_id")
FRAME_INPUTS = (
    *(c for c in ENGINE_COLUMNS if c not in ("diagnosis_codes", "source_file", "source_row")),
    "charge_amount",
    "_file",
    "_row",
)
"""The columns of checked lines the frame is built from (besides `diagnosis_codes.N`)."""
FEW_VALUES = tuple(
    c
    for c in FRAME_INPUTS
    if c in LINE_SCHEMA.names
    and pa.types.is_string(LINE_SCHEMA.field(c).type)
    and c not in (*IDS, "diagnosis_codes")
)
"""Text columns with few distinct values (codes, modifiers, context): kept dictionary-encoded."""


def frame_inputs(names: Sequence[str], details: bool = False) -> list[str]:
    """Of a checked-lines table's columns, those the frame is built from, in their order
    (with `details`, also those the findings' line details come from)."""
    wanted = {*FRAME_INPUTS, *(LINE_DETAIL_FIELDS if details else ())}
    return [n for n in names if n in wanted or n.startswith("diagnosis_codes.")]


@dataclass
class Keys:
    """Integer claim and patient ids of every line, each string hashed once."""

    claim: np.ndarray
    patient: np.ndarray
    claims: pa.Array
    patients: pa.Array

    @staticmethod
    def of(table: pa.Table) -> Keys:
        claim = as_dictionary(single_chunk(table.column("claim_id")))
        patient = as_dictionary(single_chunk(table.column("patient_id")))
        return Keys(
            np.asarray(claim.indices, dtype=np.int64),
            np.asarray(patient.indices, dtype=np.int64),
            claim.dictionary,
            patient.dictionary,
        )


def relevant_codes(ruleset: RuleSet) -> frozenset[str]:
    codes: set[str] = set()
    for rule in ruleset.rules:
        for line_class in rule.kind.classes():
            codes |= line_class.codes
    return frozenset(codes)


def engine_frame(
    table: pa.Table, keys: Keys, checked: np.ndarray, ruleset: RuleSet, file_names: list[str]
) -> pd.DataFrame:
    """The checked lines rules can see, as the engine's DataFrame (Arrow-backed, text not copied).

    Lines whose code no rule uses are dropped, except those that carry diagnoses for a claim,
    or treatment tags for a patient-day, that has a line some rule uses.
    """
    return take_engine_frame([table], keys, checked, ruleset, file_names)


def take_engine_frame(
    lines: list[pa.Table],
    keys: Keys,
    checked: np.ndarray,
    ruleset: RuleSet,
    file_names: list[str],
    details: bool = False,
) -> pd.DataFrame:
    """`engine_frame` of the one table in `lines`, taken out of the list (with `details`, and
    the lines' provider_id after the engine's columns, for the findings' line details).

    When nothing else holds the table, each of its columns is freed once copied into the
    frame, so the lines are not held twice (at 10M lines, 0.6 GB less at the peak).
    """
    table = lines.pop()
    rows, day = _kept_rows(table, keys, checked, ruleset)
    # the ids are rebuilt from the keys below
    names = frame_inputs(table.column_names, details)
    held = [table.select([n for n in names if n not in IDS])]
    del table  # now only `held` has the lines, so taking them frees them
    subset = _take_columns(held, rows)
    diagnoses = join_diagnoses(subset)
    file_index = np.asarray(single_chunk(subset.column("_file"))).astype(np.int32)
    claim, patient = keys.claim.take(rows), keys.patient.take(rows)
    columns = {name: subset.column(name) for name in ENGINE_COLUMNS if name in subset.column_names}
    columns |= {
        "claim_id": pa.DictionaryArray.from_arrays(pa.array(claim.astype(np.int32)), keys.claims),
        "patient_id": pa.DictionaryArray.from_arrays(
            pa.array(patient.astype(np.int32)), keys.patients
        ),
        "diagnosis_codes": diagnoses,
        "source_file": pa.DictionaryArray.from_arrays(
            pa.array(file_index), pa.array(file_names, pa.string())
        ),
        "source_row": subset.column("_row"),
        "_claim_key": pa.array(claim),
        "_day_key": pa.array(day.take(rows)),
    }
    columns["charge_amount"] = subset.column("charge_amount")
    ordered = [*ENGINE_COLUMNS, "_claim_key", "_day_key", "charge_amount"]
    if "provider_id" in names:
        columns["provider_id"] = subset.column("provider_id")
        ordered.append("provider_id")
    return pa.table({name: columns[name] for name in ordered}).to_pandas(types_mapper=pd.ArrowDtype)


def _kept_rows(
    table: pa.Table, keys: Keys, checked: np.ndarray, ruleset: RuleSet
) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the checked lines some rule can see, every line's patient-day key)."""
    code = as_dictionary(single_chunk(table.column("procedure_code")))
    wanted = pc.is_in(
        code.dictionary, value_set=pa.array(sorted(relevant_codes(ruleset)), pa.string())
    )
    relevant = (
        np.append(np.asarray(pc.fill_null(wanted, False)), False)[
            np.asarray(pc.fill_null(code.indices, len(code.dictionary)))
        ]
        & checked
    )
    day = patient_day_key(keys.patient, _days(table))
    keep = relevant | (_context_carriers(table, keys.claim, day, relevant) & checked)
    return np.flatnonzero(keep), day


def _take_columns(tables: list[pa.Table], rows: np.ndarray) -> pa.Table:
    """The one table in `tables` cut to `rows`, each column let go once taken."""
    table, taken = tables.pop(), {}
    for name in table.column_names:
        taken[name] = take_rows(single_chunk(table.column(name)), rows)
        table = table.drop_columns([name])
    return pa.table(taken)


def _days(table: pa.Table) -> np.ndarray:
    return np.asarray(single_chunk(table.column("service_date")).cast(pa.int32()), np.int64)


def _context_carriers(
    table: pa.Table, claim: np.ndarray, day: np.ndarray, relevant: np.ndarray
) -> np.ndarray:
    """Lines with diagnoses in a claim, or tags on a patient-day, that has a relevant line."""
    carriers = np.zeros(len(relevant), dtype=bool)
    if not relevant.any():
        return carriers
    dx_columns = [n for n in table.column_names if n.startswith("diagnosis_codes.")]
    has_dx = np.zeros(len(relevant), dtype=bool)
    for name in dx_columns:
        has_dx |= np.asarray(single_chunk(table.column(name)).is_valid())
    tags = np.asarray(single_chunk(table.column("treatment_indicators")).is_valid())
    for key, carries in ((claim, has_dx), (day, tags)):
        if carries.any():
            wanted = np.zeros(int(key.max()) + 1, dtype=bool)
            wanted[key[relevant]] = True
            carriers |= carries & wanted[key]
    return carriers
