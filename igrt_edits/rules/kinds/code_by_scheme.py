"""Rule kind: a code the line's coding scheme does not recognize."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from igrt_edits.catalog.model import CatalogData, DateWindow, LineClass, expand_codes
from igrt_edits.contract import SETTINGS
from igrt_edits.rules.kinds.base import Kind, RunOptions, _subset
from igrt_edits.rules.lines import Hits, Lines, Related
from igrt_edits.util.toml import Table


@dataclass(frozen=True)
class SchemeCodes:
    scheme: str
    line_class: LineClass
    use_instead: dict[str, str]


@dataclass(frozen=True)
class CodeByScheme(Kind):
    """Flag a code the line's coding scheme does not recognize, naming the one to use.

    Flags:
        A line on the `cpt` or `gcode` scheme (derived from setting, payer and line of
        business) whose code is in the class that scheme does not recognize, within the
        rule's settings and dates.

    Parameters:
        schemes (table): `[schemes.cpt]` and/or `[schemes.gcode]`, each with `codes` (a class
            name: the codes that scheme does not recognize) and `use_instead` (a table of code
            or code range -> the text naming what to bill instead).
        settings (list of str): optional; only lines of these settings (OPPS, MPFS, OTHER).
        effective (table): optional; `from` and/or `through` service dates (YYYY-MM-DD).

    Message fields:
        use_instead: the `use_instead` text of the line's code (empty when none is given).

    Anti-pattern:
        A hospital outpatient (OPPS, `cpt` scheme) claim with G6002, or a Medicare physician
        fee schedule (`gcode` scheme) claim with 77387, in the years 2015-2025 when the two
        schemes used different codes for the same service.

    Best practice:
        The hospital bills 77387 (OPPS); the physician bills G6002-26 or G6001-26 (MPFS).
    """

    name = "code_by_scheme"
    fields = ("use_instead",)
    schemes: tuple[SchemeCodes, ...]
    settings: frozenset[str] | None
    window: DateWindow

    @classmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> CodeByScheme:
        table = rule.table("schemes")
        parsed = []
        for scheme in ("cpt", "gcode"):
            entry = table.table(scheme, None)
            if entry is None:
                continue
            line_class = catalog.line_class(entry.text("codes"), entry, "codes")
            hints = entry.table("use_instead", None)
            use_instead: dict[str, str] = {}
            if hints is not None:
                for key in list(hints.data):
                    for code in expand_codes([key], hints, key):
                        use_instead[code] = hints.text(key)
                hints.finish()
            entry.finish()
            parsed.append(SchemeCodes(scheme, line_class, use_instead))
        table.finish()
        if not parsed:
            raise rule.fail("schemes", "needs a [schemes.cpt] or [schemes.gcode] table")
        settings = _subset(rule, "settings", SETTINGS)
        return cls(tuple(parsed), settings, DateWindow.parse(rule.table("effective", None)))

    def find(self, lines: Lines, options: RunOptions) -> Hits:
        in_window = self.window.contains(lines.days)
        if self.settings is not None:
            in_window &= lines.setting.isin(self.settings)
        found, hints = [], []
        for entry in self.schemes:
            mask = in_window & lines.scheme.isin({entry.scheme}) & lines.member(entry.line_class)
            rows = np.flatnonzero(mask)
            per_code = [entry.use_instead.get(c, "") for c in lines.code.values]
            found.append(rows)
            hints.append(lines.code.spread_text(per_code, "", rows))
        rows = np.concatenate(found)
        order = pa.array(np.argsort(rows, kind="stable"))
        hint = pa.chunked_array(hints, hints[0].type).unify_dictionaries().combine_chunks()
        return Hits(rows[order], {"use_instead": hint.take(order)}, Related.none())

    def describe(self) -> list[str]:
        out = []
        for entry in self.schemes:
            out.append(f"Flags on the `{entry.scheme}` scheme: codes in {entry.line_class.name}.")
        if self.settings is not None:
            out.append("Settings: " + ", ".join(sorted(self.settings)) + ".")
        out.append(f"Service dates: {self.window.describe()}.")
        return out

    def classes(self) -> list[LineClass]:
        return [e.line_class for e in self.schemes]
