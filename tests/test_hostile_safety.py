"""Configuration and edit files are data: nothing in them, or in the package, runs as code."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from igrt_edits.cli import main

PACKAGE = Path(__file__).resolve().parent.parent / "igrt_edits"
CORPUS = Path(__file__).resolve().parent / "corpus"
# Calls and modules that turn data into code or objects.
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "marshal", "shelve", "yaml", "dill", "cloudpickle"}


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_code_from_data(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, f"{path}:{node.lineno}"
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
            assert not names & FORBIDDEN_MODULES, f"{path}:{node.lineno}"
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in FORBIDDEN_MODULES, f"{path}:{node.lineno}"


def test_toml_is_read_only_through_the_standard_library() -> None:
    readers = [p.name for p in _sources() if "tomllib" in p.read_text(encoding="utf-8")]
    assert readers == ["toml.py"]


@pytest.mark.parametrize("config", ["code_as_text.toml", "yaml_tag.toml"])
def test_code_in_a_configuration_never_runs(config: str, tmp_path: Path, monkeypatch) -> None:
    shutil.copy(CORPUS / "good.csv", tmp_path)
    shutil.copy(CORPUS / "config" / config, tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "good.csv", "--config", config])
    assert result.exit_code == 2
    assert not (tmp_path / "pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["good.csv", config])
