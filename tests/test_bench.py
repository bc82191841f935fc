"""The bench report: ratios first, from interleaved runs; findings/s from the run summary."""

from __future__ import annotations

from pathlib import Path

from igrt_edits.synth.bench import EXTRACTS, Measure, Row, report


def _measure(label: str, walls: list[float], cpus: list[float], peaks: list[float]) -> Measure:
    return Measure(label, walls=walls, peaks=peaks, cpus=cpus)


def test_report_puts_ratios_first_and_counts_findings_per_second(tmp_path: Path) -> None:
    path = tmp_path / "claims-1m-seed1-dirty.parquet"
    path.write_bytes(b"x" * 2_000_000)
    floor = _measure("read (floor)", [1.0, 2.0, 1.0], [1.5, 1.5, 1.5], [400, 400, 400])
    check = _measure("igrt-edits check", [3.0, 4.0, 2.0], [4.5, 6.0, 3.0], [500, 520, 480])
    row = Row("1m", "parquet", "dirty", path, floor, check, None, None, 400_000, 340_000)
    lines = report([row], runs=3)
    ratios = lines.index(next(line for line in lines if line.startswith("ratios")))
    figures = next(i for i, line in enumerate(lines) if "igrt-edits check" in line)
    assert ratios < figures
    # medians of the run-by-run ratios: wall 3/1, 4/2, 2/1 -> 2.0; CPU 3, 4, 2 -> 3.0
    assert lines[ratios + 2].split() == ["1m", "parquet", "dirty", "2.00x", "3.00x", "1.25x", "34.0%"]
    check_line = lines[figures].split()
    assert check_line[-1] == "133,333"  # 400,000 findings in a median 3.0 s
    assert "400,000 findings on 340,000 lines" in lines[figures + 1]


def test_dirty_extract_is_generated_with_miscoding() -> None:
    assert "--miscoding" in EXTRACTS["dirty"] and "--miscoding" not in EXTRACTS["clean"]
