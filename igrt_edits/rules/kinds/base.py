"""What every rule kind shares: the kind interface, run options and the target selector."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from igrt_edits.catalog.model import CatalogData, DateWindow, LineClass
from igrt_edits.contract import CLAIM_TYPES, COMPONENTS, SCHEMES, SETTINGS
from igrt_edits.rules.kinds.docs import KindDoc, parse_doc
from igrt_edits.rules.lines import Hits, Lines
from igrt_edits.util.toml import Table

PLACE_OF_SERVICE = re.compile(r"^[0-9]{2}$")


@dataclass(frozen=True)
class RunOptions:
    """Per-run choices that change what a kind finds (from configuration)."""

    enabled_indications: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ClaimFilter:
    """Lines of some claim types and places of service (None: any).

    `claim_types` (`professional`, `institutional`) compare with the line's derived claim type
    (a line whose claim type cannot be told matches neither); `places_of_service` are two-digit
    codes (`"22"` outpatient hospital, `"19"` off-campus outpatient hospital).
    """

    claim_types: frozenset[str] | None = None
    places_of_service: frozenset[str] | None = None

    def mask(self, lines: Lines) -> np.ndarray | None:
        """The lines that pass, or None when the filter lets every line through."""
        mask = None
        if self.claim_types is not None:
            mask = lines.claim_type.isin(self.claim_types)
        if self.places_of_service is not None:
            at = lines.place_of_service.isin(self.places_of_service)
            mask = at if mask is None else mask & at
        return mask

    def describe(self) -> list[str]:
        parts = []
        if self.claim_types is not None:
            parts.append("claim type " + "/".join(sorted(self.claim_types)))
        if self.places_of_service is not None:
            parts.append("place of service " + "/".join(sorted(self.places_of_service)))
        return parts

    @staticmethod
    def parse(table: Table) -> ClaimFilter:
        """Read the optional `claim_types` and `places_of_service` keys of a table."""
        places = table.strings("places_of_service", None)
        for place in places or ():
            if not PLACE_OF_SERVICE.match(place):
                raise table.fail("places_of_service", f"{place!r} is not a two-digit code")
        return ClaimFilter(
            _subset(table, "claim_types", CLAIM_TYPES),
            frozenset(places) if places is not None else None,
        )


@dataclass(frozen=True)
class Target:
    """Which lines a rule may flag: a code class narrowed by line, claim and date conditions.

    Parameters:
        codes (class name): a code set or class of edits/codesets.toml; its lines may be flagged.
        components (list of str): optional; only these components (PC, TC, global).
        not_components (list of str): optional; all components but these.
        schemes (list of str): optional; only lines of these coding schemes (cpt, gcode).
        claim_types (list of str): optional; only lines of these derived claim types
            (professional, institutional).
        places_of_service (list of str): optional; only lines with these two-digit places of
            service ("22" outpatient hospital, "19" off-campus outpatient hospital).
    """

    line_class: LineClass
    components: frozenset[str] | None = None
    schemes: frozenset[str] | None = None
    settings: frozenset[str] | None = None
    window: DateWindow = field(default_factory=DateWindow)
    claim: ClaimFilter = field(default_factory=ClaimFilter)

    def mask(self, lines: Lines) -> np.ndarray:
        mask = lines.member(self.line_class).copy()
        if self.components is not None:
            mask &= lines.component.isin(self.components)
        if self.schemes is not None:
            mask &= lines.scheme.isin(self.schemes)
        if self.settings is not None:
            mask &= lines.setting.isin(self.settings)
        claim = self.claim.mask(lines)
        if claim is not None:
            mask &= claim
        if self.window != DateWindow():
            mask &= self.window.contains(lines.days)
        return mask

    def rows(self, lines: Lines) -> np.ndarray:
        """Positions of the lines the rule may flag."""
        return np.flatnonzero(self.mask(lines))

    def describe(self) -> str:
        parts = [f"codes in {self.line_class.name}"]
        if self.components is not None:
            parts.append("component " + "/".join(sorted(self.components)))
        if self.schemes is not None:
            parts.append("scheme " + "/".join(sorted(self.schemes)))
        if self.settings is not None:
            parts.append("setting " + "/".join(sorted(self.settings)))
        parts += self.claim.describe()
        if self.window != DateWindow():
            parts.append("service date " + self.window.describe())
        return ", ".join(parts)

    @staticmethod
    def parse(rule: Table, catalog: CatalogData) -> Target:
        """Read `target = {...}` plus the rule-level `effective` and `settings` keys.

        The target table takes `codes`, `components` / `not_components`, `schemes`,
        `claim_types` and `places_of_service`.
        """
        target = rule.table("target")
        line_class = catalog.line_class(target.text("codes"), target, "codes")
        components = _subset(target, "components", COMPONENTS)
        excluded = _subset(target, "not_components", COMPONENTS)
        if excluded is not None:
            components = (components or frozenset(COMPONENTS)) - excluded
        schemes = _subset(target, "schemes", SCHEMES)
        claim = ClaimFilter.parse(target)
        target.finish()
        settings = _subset(rule, "settings", SETTINGS)
        window = DateWindow.parse(rule.table("effective", None))
        return Target(line_class, components, schemes, settings, window, claim)


def _subset(table: Table, key: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
    values = table.strings(key, None)
    if values is None:
        return None
    for value in values:
        if value not in allowed:
            raise table.fail(key, f"{value!r} is not one of {', '.join(allowed)}")
    return frozenset(values)


class Kind(ABC):
    """A kind of rule: the engine code a rule in edits/ parameterizes.

    A kind's class docstring is its documentation, in the sections of `rules.kinds.docs`
    (shown by `igrt-edits kinds NAME` and `igrt-edits explain`).
    """

    name: ClassVar[str]
    fields: ClassVar[tuple[str, ...]] = ()
    """Message fields this kind adds to the standard ones."""
    needs_diagnoses: ClassVar[bool] = False
    """The kind reads diagnoses: a run without a diagnosis column skips its rules."""

    @classmethod
    @abstractmethod
    def from_params(cls, rule: Table, catalog: CatalogData) -> Kind:
        """Build the kind from a rule file's keys, failing with the file and key on bad data."""

    @abstractmethod
    def find(self, lines: Lines, options: RunOptions) -> Hits:
        """The lines this rule flags."""

    @abstractmethod
    def describe(self) -> list[str]:
        """Plain-language lines saying what exactly is checked (for `explain`)."""

    def classes(self) -> list[LineClass]:
        """The code classes the kind uses (for `explain` and for the relevant-code filter)."""
        return []

    @classmethod
    def doc(cls) -> KindDoc:
        """The kind's documentation, from its docstring."""
        return parse_doc(cls)

    def templates(self) -> list[str]:
        """Message templates of its own beside the rule's `message` (checked when loading)."""
        return []
