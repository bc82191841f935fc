"""Configuration: `igrt-edits.toml` or `[tool.igrt-edits]` in a pyproject.toml.

The file is found from the working directory upward, or named with `--config`. Command-line
options override it. Relative paths in it are resolved against the file's directory.

    [columns]                  # canonical column = source column (or a list, for families)
    procedure_code = "HCPCS_CD"

    [input]
    delimiter = "|"
    max_reject_rate = 0.05     # fail the run when more than 5% of rows are rejected

    [rules]
    select = ["IGRT"]          # rule ids or prefixes
    ignore = ["IGRT010"]
    adult_age = 19
    extra_edits = ["payer-edits/"]
    severity = { IGRT010 = "info" }
    preview = false            # true: preview rules run when a prefix selects them

    [scheme]                   # professional claims that use CPT codes (77387) instead of G-codes
    cpt_payers = ["Acme Commercial"]
    cpt_lines_of_business = ["commercial"]

    [indications]
    enable = ["B-C78.7"]       # optional indication rows, by id

    [output]
    fail_on = "error"          # error | warning | info | never
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from igrt_edits.contract import FAIL_ON, FAMILY_COLUMNS, INPUT_COLUMNS, SEVERITIES
from igrt_edits.errors import ConfigError
from igrt_edits.util.toml import Table, load_toml

CONFIG_NAME = "igrt-edits.toml"
DELIMITER_WORDS = {"comma": ",", "pipe": "|", "tab": "\t", "semicolon": ";", "\\t": "\t"}


@dataclass(frozen=True)
class Config:
    """Everything configurable about a run, after file and command line are merged."""

    source: Path | None = None
    columns: dict[str, str | list[str]] = field(default_factory=dict)
    delimiter: str | None = None
    max_reject_rate: float | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    adult_age: int = 19
    extra_edits: tuple[Path, ...] = ()
    cpt_payers: tuple[str, ...] = ()
    cpt_lines_of_business: tuple[str, ...] = ()
    enable_indications: tuple[str, ...] = ()
    fail_on: str = "error"
    preview: bool = False
    """Preview rules are selected by prefixes too (not only by id), as ruff's --preview."""

    def override(self, **changes: Any) -> Config:
        """A copy with the given (non-None) values replaced, as command-line options do."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def find_config(start: Path | None = None) -> Path | None:
    """The nearest igrt-edits.toml, or pyproject.toml with [tool.igrt-edits], upward."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "igrt-edits" in load_toml(pyproject, ConfigError).get(
            "tool", {}
        ):
            return pyproject
    return None


def load_config(path: Path | None = None, *, search: bool = True) -> Config:
    """Read the named configuration file, or the one found upward; defaults when none."""
    if path is None and search:
        path = find_config()
    if path is None:
        return Config()
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    data = load_toml(path, ConfigError)
    where = str(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("igrt-edits", {})
        where = f"{path} [tool.igrt-edits]"
    return parse_config(data, where, path.parent).override(source=path)


def parse_config(data: dict[str, Any], where: str, base: Path) -> Config:
    """Build a Config from parsed TOML; unknown sections and keys are errors."""
    top = Table(data, where, ConfigError)
    config = Config()
    columns = top.table("columns", None)
    if columns is not None:
        config = replace(config, columns=_columns(columns))
    config = _input(top.table("input", None), config)
    config = _rules(top.table("rules", None), config, base)
    scheme = top.table("scheme", None)
    if scheme is not None:
        config = replace(
            config,
            cpt_payers=tuple(scheme.strings("cpt_payers", [])),
            cpt_lines_of_business=tuple(
                b.lower() for b in scheme.strings("cpt_lines_of_business", [])
            ),
        )
        scheme.finish()
    indications = top.table("indications", None)
    if indications is not None:
        config = replace(config, enable_indications=tuple(indications.strings("enable", [])))
        indications.finish()
    output = top.table("output", None)
    if output is not None:
        config = replace(config, fail_on=output.choice("fail_on", FAIL_ON, "error"))
        output.finish()
    top.finish()
    return config


def _columns(table: Table) -> dict[str, str | list[str]]:
    mapping: dict[str, str | list[str]] = {}
    for canonical in list(table.data):
        if canonical not in INPUT_COLUMNS:
            raise table.fail(
                canonical, f"not a column of the data contract ({', '.join(INPUT_COLUMNS)})"
            )
        value = table.get(canonical, (str, list))
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise table.fail(canonical, "expected a column name or a list of column names")
        mapping[canonical] = value
    return mapping


def _input(table: Table | None, config: Config) -> Config:
    if table is None:
        return config
    delimiter = table.text("delimiter", None)
    rate = table.get("max_reject_rate", (int, float), None)
    table.finish()
    return config.override(
        delimiter=parse_delimiter(delimiter, table.where) if delimiter is not None else None,
        max_reject_rate=check_rate(rate, table.where) if rate is not None else None,
    )


def _rules(table: Table | None, config: Config, base: Path) -> Config:
    if table is None:
        return config
    severity_table = table.table("severity", None)
    severity = {}
    if severity_table is not None:
        for rule_id in list(severity_table.data):
            severity[rule_id.upper()] = severity_table.choice(rule_id, SEVERITIES)
    extra = tuple(_existing(base / p, table) for p in table.strings("extra_edits", []))
    preview = table.get("preview", bool, None)
    age = table.get("adult_age", int, None)
    if age is not None and not 0 <= age <= 130:
        raise table.fail("adult_age", f"{age} is not an age in years")
    config = config.override(
        select=tuple(table.strings("select", [])) or None,
        ignore=tuple(table.strings("ignore", [])) or None,
        severity=severity or None,
        adult_age=age,
        extra_edits=extra or None,
        preview=preview,
    )
    table.finish()
    return config


def _existing(path: Path, table: Table) -> Path:
    """An edit file or directory named in configuration, resolved and checked before use."""
    resolved = path.resolve()
    if not resolved.exists():
        raise table.fail("extra_edits", f"{resolved} does not exist")
    if resolved.is_file() and resolved.suffix.lower() != ".toml":
        raise table.fail("extra_edits", f"{resolved} is not a .toml edit file")
    if resolved.is_dir() and not any(resolved.rglob("*.toml")):
        raise table.fail("extra_edits", f"{resolved} holds no .toml edit files")
    return resolved


def parse_delimiter(value: str, where: str = "--delimiter") -> str:
    """A one-character delimiter, or one of the words comma, pipe, tab, semicolon."""
    value = DELIMITER_WORDS.get(value.lower(), value)
    if len(value) != 1:
        raise ConfigError(
            f"{where}: delimiter {value!r} must be one character or comma/pipe/tab/semicolon"
        )
    return value


def check_rate(value: float, where: str = "--max-reject-rate") -> float:
    if not 0 <= value <= 1:
        raise ConfigError(f"{where}: max_reject_rate {value} must be a share between 0 and 1")
    return float(value)


def parse_mapping(items: tuple[str, ...]) -> dict[str, str | list[str]]:
    """`--map canonical=SOURCE` options (repeat a family name to list several columns)."""
    mapping: dict[str, str | list[str]] = {}
    for item in items:
        canonical, sep, source = item.partition("=")
        canonical = canonical.strip().lower()
        if not sep or not source.strip():
            raise ConfigError(
                f"--map {item!r}: expected CANONICAL=SOURCE, e.g. procedure_code=HCPCS_CD"
            )
        if canonical not in INPUT_COLUMNS:
            raise ConfigError(f"--map {item!r}: {canonical!r} is not a column of the data contract")
        if canonical in mapping and canonical in FAMILY_COLUMNS:
            previous = mapping[canonical]
            mapping[canonical] = [
                *([previous] if isinstance(previous, str) else previous),
                source.strip(),
            ]
        else:
            mapping[canonical] = source.strip()
    return mapping
