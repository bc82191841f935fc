"""A rule of the catalog (identity, severity, reference, message and its kind) and the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from igrt_edits.catalog.model import CatalogData
from igrt_edits.errors import EditDataError
from igrt_edits.rules.kinds.base import Kind

STATUSES = ("stable", "preview", "deprecated")


@dataclass(frozen=True)
class Explanation:
    what: str
    why: str
    fix: str
    flagged_example: str
    clean_example: str


@dataclass(frozen=True)
class Rule:
    """One edit: identity, severity, reference and message, plus the kind that checks it."""

    id: str
    name: str
    severity: str
    carc: str
    policy_ref: str
    summary: str
    message: str
    status: str
    explanation: Explanation
    kind: Kind
    source: str

    def with_severity(self, severity: str) -> Rule:
        return replace(self, severity=severity)



@dataclass
class Catalog:
    """The loaded edit catalog."""

    version: str
    """The release of the edit data (catalog.toml `version`)."""
    title: str
    policy: str
    data: CatalogData
    rules: dict[str, Rule]
    files: list[str]
    carc: dict[str, str] = field(default_factory=dict)
    catalog_version: int | None = None
    """The edit catalog (specification) version the data follows (catalog.toml)."""

    def rule(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id.upper()]
        except KeyError:
            known = ", ".join(self.rules)
            raise EditDataError(f"unknown rule {rule_id!r} (rules: {known})") from None

