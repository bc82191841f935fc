"""Rule kind: a code billed outside the dates it is valid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from igrt_edits.catalog import CatalogData, LineClass, ValidityWindow
from igrt_edits.kinds.base import Kind, RunOptions
from igrt_edits.lines import Hits, Lines
from igrt_edits.tomlio import Table

_EARLIEST = np.datetime64("0001-01-01", "D")
_LATEST = np.datetime64("9999-12-31", "D")


@dataclass(frozen=True)
class CodeValidity:
    """All validity windows of one code, and what to bill after the last one ends."""

    starts: tuple[np.datetime64, ...]
    ends: tuple[np.datetime64, ...]
    valid: str
    hint: dict[str, str]
    """Replacement after the last window, by setting (OPPS, MPFS, other)."""

    @staticmethod
    def of(windows: list[ValidityWindow]) -> CodeValidity:
        windows = sorted(windows, key=lambda w: w.window.start or _EARLIEST.astype(object))
        use = windows[-1].use_instead
        everywhere = use.get("any") or "; ".join(f"{s}: {c}" for s, c in sorted(use.items()))
        return CodeValidity(
            starts=tuple(np.datetime64(w.window.start or _EARLIEST, "D") for w in windows),
            ends=tuple(np.datetime64(w.window.end or _LATEST, "D") for w in windows),
            valid=" and ".join(w.window.describe() for w in windows),
            hint={
                "OPPS": use.get("OPPS") or everywhere,
                "MPFS": use.get("MPFS") or everywhere,
                "": everywhere,
            },
        )


@dataclass(frozen=True)
class CodeByDate(Kind):
    """Flag a line whose code is not valid on its date of service (validity.toml).

    Anti-pattern: a deleted code billed after its end date (76950 in 2016) or a new code
    billed before it existed (77387 in 2014). Codes without a validity entry are never flagged.

    Parameters: none; the windows come from the catalog's validity table. The message may use
    `{valid}` (the code's validity) and `{use_instead}` (the replacement for a code billed
    after its end date, for the line's setting; empty otherwise).
    """

    name = "code_by_date"
    fields = ("valid", "use_instead")
    codes: dict[str, CodeValidity]

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> CodeByDate:
        by_code: dict[str, list[ValidityWindow]] = {}
        for window in catalog.validity:
            by_code.setdefault(window.code, []).append(window)
        return cls({code: CodeValidity.of(w) for code, w in by_code.items()})

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        candidates = lines.in_codes(frozenset(self.codes))
        if not candidates.any():
            return Hits.empty()
        rows = np.flatnonzero(candidates)
        distinct, of = np.unique(lines.code.ids[rows], return_inverse=True)
        info = [self.codes[lines.code.values[i]] for i in distinct]  # per distinct code
        day = lines.days[rows]
        inside = np.zeros(len(rows), dtype=bool)
        for k in range(max(len(i.starts) for i in info)):
            start = np.array([i.starts[k] if k < len(i.starts) else _LATEST for i in info])
            end = np.array([i.ends[k] if k < len(i.ends) else _EARLIEST for i in info])
            inside |= (day >= start[of]) & (day <= end[of])
        last_end = np.array([i.ends[-1] for i in info])
        out = ~inside
        flagged, of, day = rows[out], of[out], day[out]
        setting = lines.setting.text(flagged)
        setting = np.where(np.isin(setting, ["OPPS", "MPFS"]), setting, "")
        hint = np.full(len(flagged), "", dtype=object)
        for name in ("OPPS", "MPFS", ""):
            per_code = np.array([i.hint[name] for i in info], dtype=object)
            hint = np.where(setting == name, per_code[of], hint)
        after = (day > last_end[of]) & (hint != "")
        use_instead = np.where(after, "; use " + hint.astype(str), "").astype(object)
        valid = np.array([i.valid for i in info], dtype=object)[of]
        none = np.zeros(0, dtype=np.int64)
        return Hits(flagged, {"valid": valid, "use_instead": use_instead}, (none, none))

    def describe(self) -> list[str]:
        return ["Flags: a line whose code is outside its validity window on the service date."]

    def classes(self) -> list[LineClass]:
        return [LineClass("codes_with_validity_dates", frozenset(self.codes))]
