"""``optbench compare``'s renderings of one comparison: table, Markdown, CSV and JSON."""

import dataclasses
import json
import re

import pytest

from bench.analysis.regression import compare_runs
from bench.report.comparison import FORMATS, format_comparison
from bench.text import format_p
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
    assert lines[-1] == (
        "1 regression, 0 improvements, 1 change above the threshold that is not significant"
    )
    md = format_comparison(comparison, "md").splitlines()
    assert "| verdict | problem |" in md[md.index("") + 1]
    assert any(line.startswith("| regression | \\* | b |") for line in md)


def test_csv_and_json_hold_every_row(comparison):
    rows = len(comparison.table)
    assert len(format_comparison(comparison, "csv").strip().splitlines()) == rows + 1
    payload = json.loads(format_comparison(comparison, "json"))
    assert payload["counts"] == {"regression": 1, "improvement": 0, "changed": 1}
    assert len(payload["rows"]) == rows and payload["threshold"] == 0.05
    with pytest.raises(ValueError, match="format must be one of"):
        format_comparison(comparison, "html")
    assert FORMATS == ("table", "md", "csv", "json")


def test_counts_agree_with_their_nouns():
    one = compare_runs(timing_runs(), timing_runs(slow="b", drift=1.2), times=True)
    one.table = one.table[one.table["cell_key"].isin(["", "a0"])]
    text = format_comparison(one)
    assert ": 1 cell compared," in text.splitlines()[0]
    assert "1 regression, 0 improvements, 1 change above the threshold that is not" in text
    none = compare_runs(timing_runs(), timing_runs())
    assert format_comparison(none).splitlines()[-1] == (
        "0 regressions, 0 improvements, 0 changes above the threshold that are not significant"
    )
    drift = one.table[one.table["optimizer"] == "*"]["config"].iloc[0]
    assert drift.startswith("all 24 cells:")
    few = compare_runs(timing_runs().head(3), timing_runs().head(3))
    assert any("Holm over 1 test needs" in note for note in few.notes), few.notes


def test_tiny_p_values_read_as_a_bound_never_as_0(comparison):
    table = comparison.table.copy()
    regression = table["verdict"] == "regression"
    table.loc[regression, "p_holm"] = 0.0
    comparison = dataclasses.replace(comparison, table=table)
    for fmt, end in (("table", "  < 1e-4"), ("md", " | < 1e-4 |")):
        row = next(line for line in format_comparison(comparison, fmt).splitlines()
                   if "regression" in line and "+5" in line)  # fmt: skip
        assert row.endswith(end), row  # p_holm, the last column; it read "0"


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0, "< 1e-4"), (3e-12, "< 1e-4"), (9.9e-5, "< 1e-4"), (1.6e-4, "0.00016"), (0.05, "0.05"),
     (1.0, "1"), (float("nan"), "-"), (None, "-")],
)  # fmt: skip
def test_format_p(p, text):
    assert format_p(p) == text


def test_markdown_escapes_names_from_the_stores(comparison):
    table = comparison.table.copy()
    table.loc[table["verdict"] == "regression", "optimizer"] = "[x](javascript:alert(1))"
    md = format_comparison(dataclasses.replace(comparison, table=table), "md")
    assert "[x](javascript:" not in md and "\\[x\\](javascript:alert(1))" in md


def test_times_carry_their_unit_the_change_is_explained_and_quiet_rows_say_no_change(
    comparison,
):
    from bench.commands.compare import narrow

    table = format_comparison(comparison, show_all=True)
    rows = [line for line in table.splitlines() if "  time_per_step  " in line]
    assert rows and all(re.search(r"\d us +\d+(\.\d+)? us", line) for line in rows), rows
    quiet = comparison.table["verdict"].eq("").sum()
    assert quiet > 0 and sum(line.startswith("no change ") for line in table.splitlines()) == (
        quiet
    )
    assert any(line.startswith("not significant ") for line in table.splitlines())
    assert "change: the relative change of the median, (current - base) / base" in table
    assert "no change: within 5%" in table
    md = format_comparison(comparison, "md", show_all=True)
    assert "| no change |" in md and "change: the relative change" in md
    thin = narrow(format_comparison(comparison), comparison, False)
    assert max(map(len, thin.splitlines())) <= 80
    assert "444 us -> 800 us" in thin and "\n\nchange: the relative change" in thin
    assert thin.splitlines()[-1].endswith("significant") and thin.splitlines()[-2] != ""
    csv = format_comparison(comparison, "csv")  # tools keep the analysis' own verdicts
    assert "no change" not in csv and "not significant" not in csv
