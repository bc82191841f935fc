"""The view of normalized claim lines that rules see.

Keys for patient-days and claims are factorized once; membership of a line in a code set or
class, and "does this scope contain such a line", are computed once per run (or partition) and
shared by every rule that asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.catalog.model import LineClass
from igrt_edits.contract import LINE_SCHEMA
from igrt_edits.util.arrow import single_chunk
from igrt_edits.util.grouping import block_key

Scope = Literal["patient_day", "claim", "claim_or_patient_day"]
SCOPES: tuple[str, ...] = ("patient_day", "claim", "claim_or_patient_day")

NOT_READ = (
    "bill_type",
    "payer",
    "line_of_business",
    "age",
    "provider_id",
    "charge_amount",
)
"""Fields of a checked line no rule reads (the context is derived from the first three)."""
ENGINE_COLUMNS = (
    *(c for c in LINE_SCHEMA.names if c not in NOT_READ),
    "diagnosis_known",
    "source_file",
    "source_row",
)
"""The columns the engine reads (the engine frame has exactly these, see rules/frame.py)."""


class Factor:
    """A text column as integer ids into its distinct values (-1 = missing).

    Rules ask questions of the distinct values (is this code in a set?) and spread the answers
    to lines by id, so no per-line string work is done. Arrow dictionary columns (the local
    pipeline's) are used as they are, without copying.
    """

    def __init__(self, ids: np.ndarray, dictionary: pa.Array) -> None:
        self.ids = ids
        self.dictionary = dictionary
        self._isin: dict[frozenset[str], np.ndarray] = {}

    @staticmethod
    def of(series: pd.Series) -> Factor:
        dtype = series.dtype
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_dictionary(dtype.pyarrow_dtype):
            arrow = single_chunk(pa.chunked_array(series.array.__arrow_array__()))
            indices = arrow.indices
            ids = np.asarray(pc.fill_null(indices, -1) if indices.null_count else indices)
            return Factor(ids, arrow.dictionary.cast(pa.string()))
        if isinstance(dtype, pd.CategoricalDtype):
            categories = pa.array(series.cat.categories.to_numpy(dtype=object), pa.string())
            return Factor(series.cat.codes.to_numpy(dtype=np.int64), categories)
        ids, uniques = pd.factorize(series.to_numpy(dtype=object, na_value=None))
        return Factor(
            ids.astype(np.int64), pa.array(np.asarray(uniques, dtype=object), pa.string())
        )

    @cached_property
    def values(self) -> np.ndarray:
        """The distinct values as str (small dictionaries only: codes, settings, tags)."""
        return np.asarray(self.dictionary.to_pylist(), dtype=object)

    def lookup(self, per_value: np.ndarray, missing) -> np.ndarray:
        """Spread a per-distinct-value array to lines (`missing` for missing lines)."""
        table = np.append(per_value, np.asarray([missing], dtype=per_value.dtype))
        return table[self.ids]

    def isin(self, wanted: frozenset[str] | set[str]) -> np.ndarray:
        """Lines whose value is in `wanted` (cached per set: rules ask the same questions)."""
        key = frozenset(wanted)
        cached = self._isin.get(key)
        if cached is None:
            hit = np.fromiter((v in key for v in self.values), dtype=bool, count=len(self.values))
            cached = self._isin[key] = self.lookup(hit, "" in key)
        return cached

    def map(self, fn) -> np.ndarray:
        """fn(value) per distinct value, spread to lines (missing lines get fn(''))."""
        per_value = np.array([fn(v) for v in self.values] + [fn("")])
        return per_value[self.ids]

    @cached_property
    def with_missing(self) -> pa.Array:
        """The distinct values as Arrow text (null as ''), then '' for missing lines."""
        values = pc.fill_null(self.dictionary.cast(pa.string()), "")
        return pa.concat_arrays([values, pa.array([""], pa.string())])

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Positions in `with_missing` of the given ids (-1, missing, is the last)."""
        return np.where(ids < 0, len(self.dictionary), ids).astype(np.int32)

    def texts_of(self, ids: np.ndarray) -> pa.Array:
        """The values of the given ids as Arrow text ('' for missing)."""
        return self.with_missing.take(pa.array(self.positions(ids)))

    def arrow_text(self, rows: np.ndarray) -> pa.Array:
        """The values of the given lines as Arrow text ('' for missing)."""
        return self.texts_of(self.ids[rows])

    def encoded(self, rows: np.ndarray) -> pa.DictionaryArray:
        """The values of the given lines, dictionary-encoded ('' for missing)."""
        indices = pa.array(self.positions(self.ids[rows]))
        return pa.DictionaryArray.from_arrays(indices, self.with_missing)

    def spread_text(self, per_value: Sequence[str], missing: str, rows: np.ndarray):
        """A text per distinct value (`missing` for missing lines) for the given lines,
        dictionary-encoded: one text made per value, not per line."""
        texts = pa.array([*per_value, missing], pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(self.positions(self.ids[rows])), texts)

    def text(self, rows: np.ndarray) -> np.ndarray:
        """The values of the given lines as str ('' for missing)."""
        ids = self.ids[rows]
        if not len(self.dictionary):  # every line missing (a column no line fills)
            return np.full(len(ids), "", dtype=object)
        taken = self.dictionary.take(pa.array(np.where(ids < 0, 0, ids)))
        out = np.asarray(pc.fill_null(taken, "").to_numpy(zero_copy_only=False), dtype=object)
        out[ids < 0] = ""
        return out


class Lines:
    """Normalized lines of whole patients, with the keys and masks rules share.

    Accepts text columns as categoricals (the local pipeline builds them from Arrow
    dictionaries) or plain strings; precomputed `_claim_key` / `_day_key` integer columns are
    used when present.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [c for c in ENGINE_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"normalized lines lack columns: {', '.join(missing)}")
        self.frame = frame.reset_index(drop=True)
        self.n = len(self.frame)
        self._class_cache: dict[str, np.ndarray] = {}
        self._scope_cache: dict[tuple[str, str], np.ndarray] = {}

    def _factor(self, column: str) -> Factor:
        return Factor.of(self.frame[column])

    # --- columns as factors ---------------------------------------------------------------
    @cached_property
    def code(self) -> Factor:
        return self._factor("procedure_code")

    @cached_property
    def component(self) -> Factor:
        return self._factor("component")

    @cached_property
    def scheme(self) -> Factor:
        return self._factor("scheme")

    @cached_property
    def claim_type(self) -> Factor:
        """The derived claim type: professional, institutional or missing (unknown)."""
        return self._factor("claim_type")

    @cached_property
    def place_of_service(self) -> Factor:
        return self._factor("place_of_service")

    @cached_property
    def billing_side(self) -> Factor:
        """professional, technical or both (a global line of a non-institutional claim)."""
        return self._factor("billing_side")

    @cached_property
    def professional_side(self) -> np.ndarray:
        """Lines on the professional side of billing (PC lines, global professional lines)."""
        return self.billing_side.isin({"professional", "both"})

    @cached_property
    def technical_side(self) -> np.ndarray:
        """Lines on the technical side of billing (TC lines and every global line)."""
        return self.billing_side.isin({"technical", "both"})

    @cached_property
    def setting(self) -> Factor:
        return self._factor("setting")

    @cached_property
    def modality(self) -> Factor:
        return self._factor("beam_modality")

    @cached_property
    def modifiers(self) -> Factor:
        return self._factor("modifiers")

    @cached_property
    def diagnoses(self) -> Factor:
        """Dot-less, comma-separated diagnosis codes of each line."""
        return self._factor("diagnosis_codes")

    @cached_property
    def tags(self) -> Factor:
        """Comma-separated treatment_indicators tags of each line."""
        return self._factor("treatment_indicators")

    @cached_property
    def source_file(self) -> Factor:
        return self._factor("source_file")

    @cached_property
    def claim_id(self) -> Factor:
        return self._factor("claim_id")

    @cached_property
    def patient_id(self) -> Factor:
        return self._factor("patient_id")

    # --- numbers --------------------------------------------------------------------------
    @cached_property
    def days(self) -> np.ndarray:
        """Service dates as numpy datetime64[D]."""
        dates = self.frame["service_date"]
        if isinstance(dates.dtype, pd.ArrowDtype):
            arrow = single_chunk(pa.chunked_array(dates.array.__arrow_array__()))
            return np.asarray(arrow.cast(pa.date32()).cast(pa.int32())).astype("datetime64[D]")
        return pd.to_datetime(dates).to_numpy().astype("datetime64[D]")

    @cached_property
    def units(self) -> np.ndarray:
        return self.frame["units"].fillna(1.0).to_numpy(dtype=float)

    @cached_property
    def line_number(self) -> np.ndarray:
        return self.frame["line_number"].to_numpy(dtype=np.int64)

    @cached_property
    def diagnosis_known(self) -> np.ndarray:
        """Whether the line came from a file that has a diagnosis column."""
        return self.frame["diagnosis_known"].fillna(False).to_numpy(dtype=bool)

    def date_text(self, rows: np.ndarray) -> np.ndarray:
        return np.datetime_as_string(self.days[rows], unit="D").astype(object)

    def line_text(self, rows: np.ndarray) -> np.ndarray:
        return self.line_number[rows].astype(str).astype(object)

    # --- keys -----------------------------------------------------------------------------
    @cached_property
    def claim(self) -> np.ndarray:
        """Integer claim key per line."""
        if "_claim_key" in self.frame:
            return self.frame["_claim_key"].to_numpy(dtype=np.int64)
        return self.claim_id.ids

    @cached_property
    def day(self) -> np.ndarray:
        """Dense integer patient-day key: (patient_id, service_date) across claims and files."""
        if "_day_key" in self.frame:
            return self.frame["_day_key"].to_numpy(dtype=np.int64)
        return patient_day_key(self.patient_id.ids, self.days.astype(np.int64))

    def key(self, scope: str) -> np.ndarray:
        if scope == "patient_day":
            return self.day
        if scope == "claim":
            return self.claim
        raise ValueError(f"scope {scope!r} has no single key")

    # --- membership -----------------------------------------------------------------------
    def in_codes(self, codes: frozenset[str]) -> np.ndarray:
        """Lines whose procedure code is in `codes` (classified once per distinct code)."""
        return self.code.isin(codes)

    def member(self, line_class: LineClass) -> np.ndarray:
        """Lines of a class: code in its set, beam modality allowed."""
        cached = self._class_cache.get(line_class.name)
        if cached is None:
            cached = self.in_codes(line_class.codes)
            if line_class.modality is not None:
                cached = cached & self.modality.isin(line_class.modality)
            if line_class.not_modality is not None:
                cached = cached & ~self.modality.isin(line_class.not_modality)
            self._class_cache[line_class.name] = cached
        return cached

    def has_modifier(self, modifier: str, rows: np.ndarray) -> np.ndarray:
        """For each of `rows`: does the line carry `modifier`?"""
        per_value = np.array([modifier in v.split(",") for v in self.modifiers.values], bool)
        return np.append(per_value, False)[self.modifiers.ids[rows]]

    def present(self, scope: str, mask: np.ndarray, name: str) -> np.ndarray:
        """Per key of `scope`: does it hold a line in `mask`? Cached under `name`."""
        cached = self._scope_cache.get((scope, name))
        if cached is None:
            key = self.key(scope)
            cached = np.zeros(int(key.max()) + 1 if self.n else 0, dtype=bool)
            cached[key[mask]] = True
            self._scope_cache[(scope, name)] = cached
        return cached

    def classes_mask(self, classes: Sequence[LineClass]) -> np.ndarray:
        """Lines of any of `classes`."""
        mask = np.zeros(self.n, dtype=bool)
        for line_class in classes:
            mask |= self.member(line_class)
        return mask

    def has(self, scope: str, classes: Sequence[LineClass], rows: np.ndarray) -> np.ndarray:
        """For each of `rows`: does its scope (patient-day, claim, or either) hold such a line?"""
        if scope == "claim_or_patient_day":
            return self.has("claim", classes, rows) | self.has("patient_day", classes, rows)
        name = "|".join(c.name for c in classes)
        present = self.present(scope, self.classes_mask(classes), name)
        return present[self.key(scope)[rows]]

    def pairs_in_scope(self, scope: str, rows: np.ndarray, related: np.ndarray) -> Related:
        """The lines in `related` that share a scope with each flagged line of `rows`.

        At most RELATED_LIMIT are paired with a flagged line (the first by claim id and line
        number), so a patient-day of thousands of lines stays cheap; `totals` counts them all.
        """
        if scope == "claim_or_patient_day":
            by_claim = self.pairs_in_scope("claim", rows, related)
            by_day = self.pairs_in_scope("patient_day", rows, related)
            both = self.pairs_by_key(self._claim_day(), rows, related).totals
            return by_claim.union(by_day, by_claim.totals + by_day.totals - both, self)
        return self.pairs_by_key(self.key(scope), rows, related)

    def _claim_day(self) -> np.ndarray:
        key = block_key(self.claim, self.day, limit=4 * self.n + (1 << 20))
        if key is None:
            key = pd.factorize(self.claim * (int(self.day.max()) + 1) + self.day)[0]
        return key

    def pairs_by_key(self, key: np.ndarray, rows: np.ndarray, related: np.ndarray) -> Related:
        """As pairs_in_scope, for any non-negative integer key per line."""
        if not len(rows):
            return Related.none()
        wanted = np.zeros(int(key.max()) + 1, dtype=bool)
        wanted[key[rows]] = True
        candidates = np.flatnonzero(related)
        candidates = candidates[wanted[key[candidates]]]
        keys, counts = np.unique(key[candidates], return_counts=True)
        at = np.minimum(np.searchsorted(keys, key[rows]), max(len(keys) - 1, 0))
        found = keys[at] == key[rows] if len(keys) else np.zeros(len(rows), dtype=bool)
        totals = np.where(found, counts[at] if len(keys) else 0, 0) - related[rows]
        crowded = keys[counts > RELATED_LIMIT + 1]
        candidates = self._first_per_key(key, candidates, crowded)
        flagged, related = _join(key[rows], rows, key[candidates], candidates)
        return Related(flagged, related, rows, totals).capped(self)

    def _first_per_key(self, key: np.ndarray, candidates: np.ndarray, crowded_keys) -> np.ndarray:
        """Candidates, keeping only the first RELATED_LIMIT + 1 of a crowded key."""
        crowded = np.isin(key[candidates], crowded_keys)
        if not crowded.any():
            return candidates
        many = candidates[crowded]
        order = np.lexsort(
            (self.line_number[many], self.claim_id.text(many).astype(str), key[many])
        )
        many = many[order]
        starts = np.flatnonzero(np.r_[True, key[many][1:] != key[many][:-1]])
        rank = np.arange(len(many)) - np.repeat(starts, np.diff(np.r_[starts, len(many)]))
        return np.concatenate([candidates[~crowded], many[rank <= RELATED_LIMIT]])


def patient_day_key(patient: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Integer ids of (patient id, day number) pairs, below about four times the line count.

    A patient's lines usually span weeks, not years, so blocks of days per patient need no
    hashing; lines spread thinly over long periods are factorized instead.
    """
    key = block_key(patient, day, limit=4 * len(patient) + (1 << 20))
    if key is not None:
        return key
    combined = patient.astype(np.int64) * (int(day.max() - day.min()) + 1) + (day - day.min())
    return pd.factorize(combined)[0].astype(np.int64)


@dataclass
class Hits:
    """What one rule found: flagged lines, message fields and the lines that made them fire."""

    rows: np.ndarray
    """Positions of flagged lines."""
    fields: dict[str, np.ndarray | pa.DictionaryArray]
    """Extra message fields, one string per flagged line: a str array, or dictionary-encoded
    (few distinct texts, as most fields have: then no text is made per line)."""
    related: Related
    """The lines that made the flagged lines fire."""
    template: np.ndarray | None = None
    """Per flagged line, the message template to use instead of the rule's (optional)."""

    @staticmethod
    def empty() -> Hits:
        return Hits(rows=np.zeros(0, dtype=np.int64), fields={}, related=Related.none())


def _join(left_key, left, right_key, right) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) pairs with equal keys, a line never paired with itself."""
    order = np.argsort(right_key, kind="stable")
    right_key, right = right_key[order], right[order]
    start = np.searchsorted(right_key, left_key, "left")
    count = np.searchsorted(right_key, left_key, "right") - start
    flagged = np.repeat(left, count)
    first = np.repeat(start - (np.cumsum(count) - count), count)
    related = right[first + np.arange(len(flagged))]
    keep = flagged != related
    return flagged[keep], related[keep]


RELATED_LIMIT = 20
"""Related lines named per finding; the message says how many more there are."""


@dataclass(frozen=True)
class Related:
    """The lines that made each flagged line fire.

    `flagged`/`lines` are position pairs, at most RELATED_LIMIT per flagged line; `totals`
    counts, for each line of `rows`, all its related lines, named or not.
    """

    flagged: np.ndarray
    lines: np.ndarray
    rows: np.ndarray
    totals: np.ndarray

    @staticmethod
    def none() -> Related:
        empty = np.zeros(0, dtype=np.int64)
        return Related(empty, empty, empty, empty)

    def capped(self, lines: Lines) -> Related:
        """At most RELATED_LIMIT pairs per flagged line: the first by claim id, line number."""
        if not len(self.flagged):
            return self
        counts = np.bincount(self.flagged, minlength=lines.n)
        if counts.max() <= RELATED_LIMIT:
            return self
        order = np.lexsort(
            (
                lines.line_number[self.lines],
                lines.claim_id.text(self.lines).astype(str),
                self.flagged,
            )
        )
        flagged, related = self.flagged[order], self.lines[order]
        starts = np.flatnonzero(np.r_[True, flagged[1:] != flagged[:-1]])
        rank = np.arange(len(flagged)) - np.repeat(starts, np.diff(np.r_[starts, len(flagged)]))
        keep = rank < RELATED_LIMIT
        return Related(flagged[keep], related[keep], self.rows, self.totals)

    def union(self, other: Related, totals: np.ndarray, lines: Lines) -> Related:
        both = pd.DataFrame(
            {
                "f": np.concatenate([self.flagged, other.flagged]),
                "r": np.concatenate([self.lines, other.lines]),
            }
        ).drop_duplicates()
        merged = Related(both["f"].to_numpy(), both["r"].to_numpy(), self.rows, totals)
        return merged.capped(lines)

    def total_of(self, rows: np.ndarray) -> np.ndarray:
        """All related lines of each of `rows` (0 for rows this knows nothing of)."""
        if not len(self.rows):
            return np.zeros(len(rows), dtype=np.int64)
        order = np.argsort(self.rows, kind="stable")
        at = np.clip(np.searchsorted(self.rows[order], rows), 0, len(order) - 1)
        found = self.rows[order][at] == rows
        return np.where(found, self.totals[order][at], 0)
