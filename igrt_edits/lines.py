"""The view of normalized claim lines that rules see.

Keys for patient-days and claims are factorized once; membership of a line in a code set or
class, and "does this scope contain such a line", are computed once per run (or partition) and
shared by every rule that asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from igrt_edits.catalog import LineClass

Scope = Literal["patient_day", "claim", "claim_or_patient_day"]
SCOPES: tuple[str, ...] = ("patient_day", "claim", "claim_or_patient_day")

# The columns the engine reads; `normalized_frame` builds exactly these.
ENGINE_COLUMNS = (
    "claim_id",
    "line_number",
    "patient_id",
    "service_date",
    "procedure_code",
    "modifiers",
    "units",
    "diagnosis_codes",
    "diagnosis_known",
    "setting",
    "scheme",
    "component",
    "beam_modality",
    "treatment_indicators",
    "source_file",
    "source_row",
)


def _text(values: pd.Series) -> np.ndarray:
    """A column as an object array of str, '' for missing values."""
    return values.to_numpy(dtype=object, na_value="")


class Lines:
    """Normalized lines of whole patients, with the keys and masks rules share."""

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [c for c in ENGINE_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"normalized lines lack columns: {', '.join(missing)}")
        self.frame = frame.reset_index(drop=True)
        self.n = len(self.frame)
        self._class_cache: dict[str, np.ndarray] = {}
        self._scope_cache: dict[tuple[str, int], np.ndarray] = {}

    # --- columns --------------------------------------------------------------------------
    @cached_property
    def code(self) -> np.ndarray:
        return _text(self.frame["procedure_code"])

    @cached_property
    def _code_factor(self) -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(self.code)
        return codes, np.asarray(uniques, dtype=object)

    @cached_property
    def days(self) -> np.ndarray:
        """Service dates as numpy datetime64[D]."""
        return pd.to_datetime(self.frame["service_date"]).to_numpy().astype("datetime64[D]")

    @cached_property
    def date_text(self) -> np.ndarray:
        return np.datetime_as_string(self.days, unit="D").astype(object)

    @cached_property
    def component(self) -> np.ndarray:
        return _text(self.frame["component"])

    @cached_property
    def scheme(self) -> np.ndarray:
        return _text(self.frame["scheme"])

    @cached_property
    def setting(self) -> np.ndarray:
        return _text(self.frame["setting"])

    @cached_property
    def modality(self) -> np.ndarray:
        return _text(self.frame["beam_modality"])

    @cached_property
    def modifiers(self) -> np.ndarray:
        return _text(self.frame["modifiers"])

    @cached_property
    def units(self) -> np.ndarray:
        return self.frame["units"].fillna(1.0).to_numpy(dtype=float)

    @cached_property
    def diagnoses(self) -> np.ndarray:
        """Dot-less, comma-separated diagnosis codes of each line ('' when none)."""
        return _text(self.frame["diagnosis_codes"])

    @cached_property
    def diagnosis_known(self) -> np.ndarray:
        """Whether the line came from a file that has a diagnosis column."""
        return self.frame["diagnosis_known"].fillna(False).to_numpy(dtype=bool)

    @cached_property
    def tags(self) -> np.ndarray:
        """Comma-separated treatment_indicators tags of each line ('' when none)."""
        return _text(self.frame["treatment_indicators"])

    @cached_property
    def claim_text(self) -> np.ndarray:
        return _text(self.frame["claim_id"])

    @cached_property
    def line_text(self) -> np.ndarray:
        return self.frame["line_number"].astype("int64").astype(str).to_numpy(dtype=object)

    # --- keys -----------------------------------------------------------------------------
    @cached_property
    def claim(self) -> np.ndarray:
        """Integer claim key per line."""
        return pd.factorize(self.claim_text)[0].astype(np.int64)

    @cached_property
    def day(self) -> np.ndarray:
        """Integer patient-day key per line: (patient_id, service_date) across claims and files."""
        patient = pd.factorize(_text(self.frame["patient_id"]))[0].astype(np.int64)
        date = self.days.astype(np.int64)
        combined = patient * (int(date.max() - date.min()) + 1 if self.n else 1) + (
            date - (date.min() if self.n else 0)
        )
        return pd.factorize(combined)[0].astype(np.int64)

    def key(self, scope: str) -> np.ndarray:
        if scope == "patient_day":
            return self.day
        if scope == "claim":
            return self.claim
        raise ValueError(f"scope {scope!r} has no single key")

    # --- membership -----------------------------------------------------------------------
    def in_codes(self, codes: frozenset[str]) -> np.ndarray:
        """Lines whose procedure code is in `codes` (classified once per distinct code)."""
        factor, uniques = self._code_factor
        hit = np.fromiter((u in codes for u in uniques), dtype=bool, count=len(uniques))
        return hit[factor] if self.n else np.zeros(0, dtype=bool)

    def member(self, line_class: LineClass) -> np.ndarray:
        """Lines of a class: code in its set, beam modality allowed."""
        cached = self._class_cache.get(line_class.name)
        if cached is None:
            cached = self.in_codes(line_class.codes)
            if line_class.modality is not None:
                cached = cached & np.isin(self.modality, list(line_class.modality))
            if line_class.not_modality is not None:
                cached = cached & ~np.isin(self.modality, list(line_class.not_modality))
            self._class_cache[line_class.name] = cached
        return cached

    def has_modifier(self, modifier: str) -> np.ndarray:
        padded = np.char.add(np.char.add(",", self.modifiers.astype(str)), ",")
        return np.char.find(padded, f",{modifier},") >= 0

    def any_in_scope(self, scope: str, mask: np.ndarray) -> np.ndarray:
        """For each line: does its scope (patient-day, claim, or either) hold a line in `mask`?"""
        if scope == "claim_or_patient_day":
            return self.any_in_scope("claim", mask) | self.any_in_scope("patient_day", mask)
        key = self.key(scope)
        present = np.zeros(key.max() + 1 if self.n else 0, dtype=bool)
        present[key[mask]] = True
        return present[key]

    def pairs_in_scope(
        self, scope: str, flagged: np.ndarray, related: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(flagged line, related line) position pairs sharing a scope, a line never with itself."""
        if scope == "claim_or_patient_day":
            a = self.pairs_in_scope("claim", flagged, related)
            b = self.pairs_in_scope("patient_day", flagged, related)
            both = pd.DataFrame(
                {"f": np.concatenate([a[0], b[0]]), "r": np.concatenate([a[1], b[1]])}
            )
            both = both.drop_duplicates()
            return both["f"].to_numpy(), both["r"].to_numpy()
        key = self.key(scope)
        left = pd.DataFrame({"k": key[flagged], "f": np.flatnonzero(flagged)})
        right = pd.DataFrame({"k": key[related], "r": np.flatnonzero(related)})
        pairs = left.merge(right, on="k")
        pairs = pairs[pairs["f"] != pairs["r"]]
        return pairs["f"].to_numpy(), pairs["r"].to_numpy()


@dataclass
class Hits:
    """What one rule found: flagged lines, message fields and the lines that made them fire."""

    rows: np.ndarray
    """Positions of flagged lines."""
    fields: dict[str, np.ndarray]
    """Extra message fields, one string per flagged line."""
    related: tuple[np.ndarray, np.ndarray]
    """(flagged line position, related line position) pairs."""
    template: np.ndarray | None = None
    """Per flagged line, the message template to use instead of the rule's (optional)."""

    @staticmethod
    def empty() -> Hits:
        none = np.zeros(0, dtype=np.int64)
        return Hits(rows=none, fields={}, related=(none, none))


def pairs_for(
    rows: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the pairs whose flagged line is in `rows`."""
    keep = np.isin(pairs[0], rows)
    return pairs[0][keep], pairs[1][keep]
