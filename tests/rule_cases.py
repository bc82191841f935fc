"""The rule fixture format (tests/fixtures/rules/README.md): reading a file's cases, running one.

Shared by the shipped rules' fixtures and by tests that add a rule of their own.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from igrt_edits.catalog.rule import Catalog
from igrt_edits.config import parse_config
from igrt_edits.run.check import run_check


def read_cases(path: Path) -> tuple[str, list[dict]]:
    """(rule id, cases) of one fixture file; ValueError when it is not a valid fixture."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        rule, cases = data["rule"], data["case"]
    except (tomllib.TOMLDecodeError, KeyError) as error:
        raise ValueError(f"{path}: not a rule fixture ({error})") from error
    if rule != path.stem:
        raise ValueError(f"{path}: rule = {rule!r} does not match the file name")
    return rule, cases


def run_case(
    tmp_path: Path, catalog: Catalog, rule_id: str, case: dict, config: dict | None = None
) -> set[str]:
    """The lines (`claim:line`) `rule_id` flags in `case`, checking the case's messages."""
    files = case.get("files") or {"lines.csv": case["lines"]}
    for name, text in files.items():
        (tmp_path / name).write_text(text.lstrip("\n"), encoding="utf-8")
    settings = {**(config or {}), **case.get("config", {})}
    parsed = parse_config(settings, f"case {case['name']}", tmp_path).override(select=(rule_id,))
    _, _, result = run_check([str(tmp_path / n) for n in files], parsed, catalog)
    assert result.totals()["rows_rejected"] == 0, result.rejects.to_pylist()
    findings = result.findings[result.findings["rule_id"] == rule_id]
    for text in case.get("message_contains", []):
        for message in findings["message"]:
            assert text in message
    return {f"{c}:{n}" for c, n in zip(findings["claim_id"], findings["line_number"], strict=True)}
