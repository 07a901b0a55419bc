"""``optbench compare``'s renderings of one comparison: table, Markdown, CSV and JSON."""

import json

import pytest

from bench.analysis.regression import compare_runs
from bench.report.comparison import FORMATS, format_comparison
from tests.bench.analysis.test_regression import timing_runs


@pytest.fixture(scope="module")
def comparison():
    return compare_runs(timing_runs(), timing_runs(slow="b", drift=1.2), times=True)


def test_table_and_markdown_show_the_verdicts_and_a_count(comparison):
    table = format_comparison(comparison, base="main", current="pr")
    lines = table.splitlines()
    assert lines[0].startswith("main -> pr: 24 cells compared, threshold 5%, alpha 0.05")
    header = next(line for line in lines if line.startswith("verdict"))
    assert header.split() == ["verdict", "problem", "optimizer", "config", "metric", "base",
                              "current", "change", "p_holm"]  # fmt: skip
    assert any(line.startswith("regression") and "+5" in line for line in lines)
    assert lines[-1].startswith("1 regressions, 0 improvements, 1 changes")
    md = format_comparison(comparison, "md").splitlines()
    assert "| verdict | problem |" in md[md.index("") + 1]
    assert any(line.startswith("| regression | * | b |") for line in md)


def test_csv_and_json_hold_every_row(comparison):
    rows = len(comparison.table)
    assert len(format_comparison(comparison, "csv").strip().splitlines()) == rows + 1
    payload = json.loads(format_comparison(comparison, "json"))
    assert payload["counts"] == {"regression": 1, "improvement": 0, "changed": 1}
    assert len(payload["rows"]) == rows and payload["threshold"] == 0.05
    with pytest.raises(ValueError, match="format must be one of"):
        format_comparison(comparison, "html")
    assert FORMATS == ("table", "md", "csv", "json")
