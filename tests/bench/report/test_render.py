"""Report layout: heading levels follow the numbering, and wide tables scroll in their own box."""

import pandas as pd

from bench.report.render import render_html, render_markdown
from bench.report.writer import Section


def sections():
    problems = Section("3. Problems", "problems")
    beale = Section("3.1 beale", "problem.1")
    beale.table(pd.DataFrame({"optimizer": ["adam"], "median": [0.5]}))
    return [Section("1. Setup", "setup"), problems, beale]


def test_problem_subsections_are_one_level_below_their_section(tmp_path):
    markdown = render_markdown("r", sections()).splitlines()
    assert "## 3. Problems" in markdown and "### 3.1 beale" in markdown
    assert "## 3.1 beale" not in markdown
    page = render_html("r", sections(), tmp_path)
    assert "<h2 id='problems'>3. Problems</h2>" in page
    assert "<h3 id='problem.1'>3.1 beale</h3>" in page


def test_tables_scroll_inside_their_own_box(tmp_path):
    page = render_html("r", sections(), tmp_path)
    assert ".scroll{overflow-x:auto}" in page
    assert "<div class='scroll'><table" in page
