"""Every rule kind documents itself in its docstring, in the fixed sections the commands print."""

from __future__ import annotations

import re
import tomllib

import pytest
from click.testing import CliRunner

from igrt_edits.catalog.load import default_edits_dir, kinds
from igrt_edits.cli import main
from igrt_edits.rules.kinds.base import Target
from igrt_edits.rules.kinds.docs import SECTIONS, parse_doc

KINDS = kinds()
RULE_KEYS = {
    "id",
    "name",
    "kind",
    "severity",
    "carc",
    "summary",
    "policy_ref",
    "message",
    "status",
    "explanation",
}
"""Keys every rule file has whatever its kind (the rest are the kind's parameters)."""


@pytest.mark.parametrize("name", list(KINDS))
def test_kind_docstring_has_the_fixed_sections(name):
    kind = KINDS[name]
    doc = kind.doc()
    expected = [s for s in SECTIONS if s != "Message fields" or kind.fields]
    assert list(doc.sections) == expected
    assert doc.summary.startswith("Flag")
    for parameter in doc.parameters:
        assert parameter.type and parameter.meaning, parameter
    assert [f.name for f in doc.fields] == list(kind.fields)
    if doc.sections["Parameters"].startswith("None"):
        assert not doc.parameters


def test_every_parameter_a_rule_file_uses_is_documented():
    documented = {name: {p.name for p in kind.doc().parameters} for name, kind in KINDS.items()}
    for path in sorted((default_edits_dir() / "rules").glob("*.toml")):
        rule = tomllib.loads(path.read_text(encoding="utf-8"))
        used = set(rule) - RULE_KEYS
        assert used <= documented[rule["kind"]], f"{path.name}: {used - documented[rule['kind']]}"


def test_target_documents_its_keys():
    names = [p.name for p in parse_doc(Target, ("Parameters",)).parameters]
    assert names == [
        "codes",
        "components",
        "not_components",
        "schemes",
        "claim_types",
        "places_of_service",
    ]


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ("Flag x.\n\nFlags:\n    a\n\nParameters:\n    None.\n\nAnti-pattern:\n    b\n", "Best practice"),
        ("Flag x.\n\nParameters:\n    None.\n\nFlags:\n    a\n", "out of order"),
        ("Flag x.\n\nWhat:\n    a\n", "not a section title"),
        (
            "Flag x.\n\nFlags:\n    a\n\nParameters:\n    scope: no type\n\n"
            "Anti-pattern:\n    b\n\nBest practice:\n    c\n",
            "name (type): meaning",
        ),
    ],
)
def test_a_docstring_out_of_shape_is_refused(doc, problem):
    owner = type("Probe", (), {"__doc__": doc})
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_doc(owner)


def test_kinds_command_lists_every_kind_and_its_rules(catalog):
    result = CliRunner().invoke(main, ["kinds"])
    assert result.exit_code == 0, result.output
    for name in KINDS:
        assert name in result.output
    for rule_id in catalog.rules:
        assert rule_id in result.output


def test_kinds_command_prints_a_kinds_parameters():
    result = CliRunner().invoke(main, ["kinds", "co_occurrence"])
    assert result.exit_code == 0, result.output
    for title in ("Flags", "Parameters", "Target parameters", "Anti-pattern", "Best practice"):
        assert title in result.output
    for parameter in KINDS["co_occurrence"].doc().parameters:
        assert f"{parameter.name} ({parameter.type})" in result.output


def test_kinds_command_names_the_known_kinds_for_an_unknown_one():
    result = CliRunner().invoke(main, ["kinds", "no_such_kind"])
    assert result.exit_code == 2
    assert "unknown rule kind 'no_such_kind'" in result.output
    assert "co_occurrence" in result.output


def test_explain_prints_the_kinds_parameters(catalog):
    rule = catalog.rules["IGRT005"]
    result = CliRunner().invoke(main, ["explain", rule.id])
    assert result.exit_code == 0, result.output
    assert f"Rule kind: {rule.kind.name}" in result.output
    for parameter in type(rule.kind).doc().parameters:
        assert f"{parameter.name} ({parameter.type})" in result.output
