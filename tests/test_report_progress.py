"""The progress bar: on stderr for a terminal, silent for a pipe or with --quiet."""

from __future__ import annotations

import io

from igrt_edits.config import Config
from igrt_edits.report.progress import RunProgress, progress_wanted
from igrt_edits.run.check import run_check
from tests.report_helpers import DEMO, REPO, SMALL_ROWS, run_cli, write_extract


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_shown_only_on_a_terminal_and_not_when_quiet():
    assert progress_wanted(quiet=False, stream=Terminal())
    assert not progress_wanted(quiet=True, stream=Terminal())
    assert not progress_wanted(quiet=False, stream=io.StringIO())


def test_the_pipeline_reports_its_stages(tmp_path, catalog):
    first = write_extract(tmp_path / "a.csv", SMALL_ROWS[:2])
    second = write_extract(tmp_path / "b.csv", SMALL_ROWS[2:])
    seen = []
    run_check([str(first), str(second)], Config(), catalog, progress=lambda *a: seen.append(a))
    assert seen == [("read", 1, 2), ("read", 2, 2), ("check", 0, 1), ("check", 1, 1)]


def test_a_terminal_sees_the_bar(catalog):
    stream = Terminal()
    with RunProgress(True, stream) as progress:
        run_check([str(REPO / DEMO)], Config(), catalog, progress=progress)
    assert "Reading files" in stream.getvalue() and "Checking rules" in stream.getvalue()


def test_disabled_progress_writes_nothing():
    stream = Terminal()
    with RunProgress(False, stream) as progress:
        progress("read", 1, 1)
    assert stream.getvalue() == ""


def test_cli_stderr_stays_empty_when_not_a_terminal():
    result = run_cli([str(REPO / DEMO), "--format", "json"])
    assert result.exit_code == 1
    assert result.stderr == ""
