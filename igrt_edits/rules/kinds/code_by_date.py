"""Rule kind: a code billed outside the dates it is valid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from igrt_edits.catalog.model import CatalogData, LineClass, ValidityWindow
from igrt_edits.rules.kinds.base import Kind, RunOptions
from igrt_edits.rules.lines import Hits, Lines, Related
from igrt_edits.util.toml import Table

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
    """Flag a line whose code is not valid on its date of service.

    Flags:
        A line whose procedure code has validity windows (edits/validity.toml) and whose
        service date lies outside all of them: a deleted code billed after its end date, a
        new code billed before it existed. Codes without a validity entry are never flagged.

    Parameters:
        None: the windows come from the catalog's validity table, for every code it lists.

    Message fields:
        valid: the code's validity, e.g. `2015-01-01 to 2025-12-31`.
        use_instead: for a code billed after its last window ends, `; use ...` with the
            replacement for the line's setting; empty otherwise.

    Anti-pattern:
        76950 (ultrasound guidance, deleted at the end of 2014) billed for 2016-03-01, or
        77387 billed for 2014-06-02, before the code existed.

    Best practice:
        Bill the code valid on the date of service: G6001 (2015-2025) or 77387 (from 2015)
        in place of 76950; 77421 or 76950 for guidance in 2014.
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
        values = lines.code.values
        info = [self.codes.get(v) for v in values]  # one entry per distinct code, not per line
        known = np.array([i is not None for i in info], dtype=bool)
        candidates = lines.code.lookup(known, False)
        if not candidates.any():
            return Hits.empty()
        rows = np.flatnonzero(candidates)
        of = lines.code.ids[rows]
        day = lines.days[rows]
        inside = np.zeros(len(rows), dtype=bool)
        for k in range(max(len(i.starts) for i in info if i is not None)):
            start = np.array([_bound(i, "starts", k, _LATEST) for i in info], dtype="datetime64[D]")
            end = np.array([_bound(i, "ends", k, _EARLIEST) for i in info], dtype="datetime64[D]")
            inside |= (day >= start[of]) & (day <= end[of])
        last_end = np.array([_bound(i, "ends", -1, _LATEST) for i in info], dtype="datetime64[D]")
        out = ~inside
        flagged, of, day = rows[out], of[out], day[out]
        setting = lines.setting.text(flagged)
        setting = np.where(np.isin(setting, ["OPPS", "MPFS"]), setting, "")
        hint = np.full(len(flagged), "", dtype=object)
        for name in ("OPPS", "MPFS", ""):
            per_code = np.array([i.hint[name] if i else "" for i in info], dtype=object)
            hint = np.where(setting == name, per_code[of], hint)
        after = (day > last_end[of]) & (hint != "")
        use_instead = np.where(after, "; use " + hint.astype(str), "").astype(object)
        valid = np.array([i.valid if i else "" for i in info], dtype=object)[of]
        return Hits(flagged, {"valid": valid, "use_instead": use_instead}, Related.none())

    def describe(self) -> list[str]:
        return ["Flags: a line whose code is outside its validity window on the service date."]

    def classes(self) -> list[LineClass]:
        return [LineClass("codes_with_validity_dates", frozenset(self.codes))]


def _bound(info: CodeValidity | None, which: str, k: int, missing: np.datetime64) -> np.datetime64:
    bounds = getattr(info, which) if info is not None else ()
    return bounds[k] if -len(bounds) <= k < len(bounds) else missing
