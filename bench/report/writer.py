"""The comparison report: one self-contained ``report.html`` and a GitHub-friendly ``report.md``.

Sections: setup and protocol; the overall leaderboard (mean rank, performance profile, ECDF);
one section per problem (leaderboard, convergence, sensitivity, trajectories, accuracy);
robustness to clipping and initialization; divergence and errors; methodology notes. Every name
that comes from a grid or a plugin is escaped before it reaches HTML or Markdown
(:mod:`bench.report.render`). Every file is
written whole or not at all (:mod:`bench.report.output`).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd

from bench import analysis
from bench.analysis.degenerate import CAUSE
from bench.report import output
from bench.report.labels import problem_labels
from bench.report.notes import METHODOLOGY, degenerate_note
from bench.report.render import EN_DASH, render_html, render_markdown
from bench.report.state_sizes import CAPTION as STATE_CAPTION
from bench.report.state_sizes import state_size_table
from bench.text import counted, format_p, format_percent

CRITERIA = {"final_train_loss": "median final training loss", "test_loss": "median final test loss"}


@dataclasses.dataclass
class Block:
    # "text" (trusted markup-free prose), "table" (DataFrame), "figure" (file name),
    # "interactive" (a spec of bench.report.interactive)
    kind: str
    content: object
    caption: str = ""
    media: str = "both"  # or "html", "markdown": the one rendering that shows the block


@dataclasses.dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = dataclasses.field(default_factory=list)

    def text(self, value: str) -> None:
        self.blocks.append(Block("text", value))

    def table(self, frame: pd.DataFrame, caption: str = "") -> None:
        self.blocks.append(Block("table", frame, caption))


def _number(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EN_DASH
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.{digits}g}"


def _span(low, high) -> str:
    return f"{low}" if low == high else f"{low}–{high}"


def _intervals(low: pd.Series, high: pd.Series) -> list[str]:
    return [f"[{_number(a)}, {_number(b)}]" for a, b in zip(low, high, strict=True)]


MARKS = {"best": " (best)", "*": " *"}


def setup_section(runs: pd.DataFrame, experiments: pd.DataFrame, criterion: str) -> Section:
    """Grid, seeds, budgets, machine, BLAS, versions and the tuning protocol."""
    section = Section("1. Setup", "setup")
    last = experiments.iloc[-1] if not experiments.empty else pd.Series(dtype=object)
    blas = last.get("blas") or []
    kernels = "; ".join(
        f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')}), "
        f"{counted(b.get('num_threads'), 'thread')} available; every cell runs on 1"
        for b in blas
    )
    seeds = runs.groupby("cell_key")["seed"].nunique()
    budgets = runs.groupby("problem")["steps"].agg(["min", "max"])
    budget_text = ", ".join(
        f"{p}: {_span(int(r['min']), int(r['max']))}" for p, r in budgets.iterrows()
    )
    rows = [
        ("grid", ", ".join(sorted(set(experiments["name"]))) if not experiments.empty else EN_DASH),
        ("runs", f"{len(runs)} in {counted(runs['cell_key'].nunique(), 'configuration')}"),
        ("seeds per configuration", _span(seeds.min(), seeds.max())),
        ("step budget per problem", budget_text),
        ("machine", f"{last.get('machine.platform', EN_DASH)}, "
                    f"{last.get('machine.cpu_count', EN_DASH)} CPUs"),
        ("BLAS", kernels or EN_DASH),
        ("versions", ", ".join(f"{c.removeprefix('version.')} {last[c]}" for c in last.index
                                if c.startswith("version.") and pd.notna(last[c]))),
        ("started", str(last.get("started_at", EN_DASH))),
        ("random numbers", pairing(experiments)),
    ]  # fmt: skip
    section.table(pd.DataFrame(rows, columns=["", "value"]))
    section.text(
        f"Protocol: each optimizer is tuned per problem by {CRITERIA[criterion]} over its seeds, "
        "choosing among every configuration the grid ran for it (learning rate and any other "
        "axis). The tuned configuration is reported on the same seeds it was chosen on, so the "
        "leaderboards show tuned, in-sample performance; rerun with more seeds to confirm a "
        "close call. Diverged runs count as an infinite loss; runs that raised an error are "
        "left out of every statistic and listed in section 5."
    )
    return section


def pairing(experiments: pd.DataFrame) -> str:
    """Whether seed k is paired across configurations: every experiment drew common random
    numbers with one scheme (``version.random_streams``), or some were written before that
    scheme, or with different schemes (their batches and noise differ)."""
    schemes = experiments.get("version.random_streams")
    if schemes is not None and len(schemes) and schemes.notna().all():
        names = ", ".join(sorted(set(schemes)))
        if len(set(schemes)) == 1:
            return (
                "common: seed k gives every configuration of a problem the same start, batches "
                f"and noise, so comparisons are paired ({names})"
            )
        return (
            f"unpaired: experiments drew their random numbers with different schemes ({names}), "
            "so seed k's batches and noise differ between them; run the grid into a new store "
            "to pair them"
        )
    return (
        "unpaired: written before common random numbers, each configuration's seeds drew "
        "their own numbers, so comparisons between configurations are not paired"
    )


def overall_section(runs: pd.DataFrame, tuned: pd.DataFrame, board: pd.DataFrame) -> Section:
    """Mean rank across problems, the winners, the profile and the ECDF."""
    section = Section("2. Overall leaderboard", "overall")
    ranks = analysis.ranks(tuned)
    wide = ranks.pivot_table(index="optimizer", columns="problem", values="rank", aggfunc="first")
    table = wide.assign(**{"mean rank": wide.mean(axis=1)}).sort_values("mean rank")
    table = table[["mean rank", *wide.columns]].map(lambda v: _number(v, 3)).reset_index()
    table.columns.name = None
    section.table(table, "Rank of each optimizer at its tuned configuration (1 = best).")
    verdicts = []
    for (problem, _), group in board.groupby(["problem", "problem_params"], sort=True):
        best = group[group["mark"] == "best"]
        if best.empty:
            continue
        untested = group.get("not_tested", pd.Series("", index=group.index)).fillna("") != ""
        others = group[(group["mark"] != "best") & ~untested]
        tied = others[~others["significant"].fillna(False).astype(bool)]
        unknown = group[(group["mark"] != "best") & untested]["optimizer"]
        verdicts.append(
            {
                "problem": problem,
                "use": best["optimizer"].iloc[0],
                "configuration": best["config"].iloc[0],
                "median final loss": _number(best["median"].iloc[0]),
                "not significantly worse": ", ".join(tied["optimizer"]) or "none",
                "not tested (identical seeds)": ", ".join(unknown) or "none",
            }
        )
    if verdicts:
        seeds = int(board["n_seeds"].max())
        if seeds < 8:
            section.text(
                f"With {counted(seeds, 'seed')} per configuration a Holm-corrected test "
                "can rarely separate two optimizers, so most differences below are not "
                "significant; the standard preset (10 seeds) or more give a confident choice."
            )
        choices = pd.DataFrame(verdicts)
        if (choices["not tested (identical seeds)"] == "none").all():
            choices = choices.drop(columns="not tested (identical seeds)")
        section.table(
            choices,
            "What to use: the best tuned optimizer per problem, and those a two-sided "
            "Mann-Whitney U test (Holm-corrected, alpha 0.05) cannot tell apart from it.",
        )
    return section


def problem_section(number: int, label: str, group: pd.DataFrame) -> Section:
    """One problem's leaderboard table (its figures are attached by ``build_sections``)."""
    section = Section(f"3.{number} {label}", f"problem.{number}")
    target = group["target"].dropna()
    table = pd.DataFrame(
        {
            "rank": group["rank"].map(lambda v: _number(v, 3)),
            "optimizer": group["optimizer"] + group["mark"].map(MARKS).fillna(""),
            "tuned configuration": group["config"],
            "median final loss": group["median"].map(_number),
            "IQR": _intervals(group["q1"], group["q3"]),
            "95% CI": _intervals(group["ci_low"], group["ci_high"]),
            "success": group["success"].map(lambda v: format_percent(v, missing=EN_DASH)),
            "diverged": group["divergence"].map(lambda v: format_percent(v, missing=EN_DASH)),
            "median steps": group["median_steps"].map(_number),
            "ERT": group["ert"].map(_number),
            "p (Holm)": _p_values(group),
        }
    )  # fmt: skip
    caption = (
        f"Seeds: {int(group['n_seeds'].max())}. Success = the deepest target reached. "
        "* = significantly worse than the best (Mann-Whitney U, Holm, alpha 0.05)."
    )
    if not target.empty:
        caption += f" Median steps and ERT (COCO) are to the target {_number(target.iloc[0])}."
    section.table(table, caption)
    degenerate = group[group.get("degenerate", pd.Series(False, index=group.index)).eq(True)]
    if not degenerate.empty:
        section.text(
            f"Identical seeds: {', '.join(degenerate['optimizer'])} gave the same run bit for "
            f"bit on every seed ({CAUSE}). A repeated run is one observation, so these 95% CIs "
            "and significance tests are not computed (–); the median and IQR are exact."
        )
    return section


def _p_values(group: pd.DataFrame) -> list[str]:
    """Holm-adjusted p-values; an untested row says why."""
    reasons = group.get("not_tested", pd.Series("", index=group.index)).fillna("")
    return [
        f"not tested: {why}" if why else format_p(p, missing=EN_DASH)
        for p, why in zip(group["p_holm"], reasons, strict=True)
    ]


def failures_section(runs: pd.DataFrame, stats: pd.DataFrame | None = None) -> Section:
    """Divergence shares, error messages, and the cells whose seeds are identical."""
    section = Section("5. Divergence and errors", "failures")
    note = degenerate_note(stats) if stats is not None else None
    if note:
        section.text(note)
    counts = (
        runs.assign(
            diverged=runs["status"].eq("diverged"),
            error=runs["status"].eq("error"),
            timeout=runs["status"].eq("timeout"),
        )
        .groupby(["problem", "optimizer"])[["diverged", "error", "timeout"]]
        .sum()
    )
    counts = counts[(counts > 0).any(axis=1)].reset_index()
    if counts.empty:
        section.text("No run diverged, raised an error or timed out.")
    else:
        section.table(
            counts,
            "Runs per (problem, optimizer) that did not finish normally, over all configurations.",
        )
    errors = runs[runs["status"].eq("error") & runs["error"].notna()]
    if not errors.empty:
        last_line = errors["error"].map(lambda text: str(text).strip().splitlines()[-1])
        messages = (
            errors.assign(message=last_line)
            .groupby(["problem", "optimizer", "message"])
            .size()
            .rename("runs")
            .reset_index()
        )
        section.table(
            messages, "Errors (the last line of each traceback; the full text is in the store)."
        )
    return section


def build_sections(
    runs, experiments, figure_files, criterion, curves=None, interactive=()
) -> list[Section]:
    """All sections, with ``figure_files`` ({(section, name): (kind, content, caption)}, the
    entries of :func:`bench.report.figures.saving.save_figures`) attached where they belong.

    ``runs`` carries the problem labels of :func:`bench.report.labels.problem_labels`, the names
    the figures are filed under; ``curves``, when given, is checked for identical seeds too.
    ``interactive`` holds the figures of :func:`bench.report.interactive.figures`: each takes
    the place of the static figures it replaces in the HTML, and of the notes standing in for
    those left out (its caption says why); ``report.md`` keeps their PNGs and notes.
    """
    stats = analysis.cell_stats(runs, curves=curves)
    tuned = analysis.tuned(stats, criterion)
    board = analysis.leaderboard(runs, criterion=criterion, stats=stats)
    first = {(where, names[0]): (spec, text) for where, _, spec, names, text in interactive}
    replaced = {(where, static) for where, _, _, names, _ in interactive for static in names}

    def attach(section: Section, key: str) -> None:
        for (where, name), (kind, content, text) in figure_files.items():
            if where != key:
                continue
            if (where, name) in first:
                section.blocks.append(Block("interactive", *first[(where, name)], media="html"))
            media = "markdown" if (where, name) in replaced else "both"
            section.blocks.append(Block(kind, content, text, media=media))

    sections = [setup_section(runs, experiments, criterion)]
    sections[0].table(state_size_table(runs), STATE_CAPTION)
    overall = overall_section(runs, tuned, board)
    attach(overall, "overview")
    sections.append(overall)
    sections.append(Section("3. Problems", "problems"))
    for number, (label, group) in enumerate(board.groupby("problem", sort=True), start=1):
        section = problem_section(number, label, group.sort_values("rank"))
        attach(section, label)
        sections.append(section)
    robustness = Section("4. Robustness to clipping and initialization", "robustness")
    attach(robustness, "robustness")
    if len(robustness.blocks) == 0:
        robustness.text(
            "This grid varied neither the clipping strategy nor the initializer for any "
            "problem; run the `full` preset (or a grid with those axes) to see heatmaps."
        )
    sections.append(robustness)
    sections.append(failures_section(runs, stats))
    notes = Section("6. Methodology notes", "methodology")
    for line in METHODOLOGY:
        notes.text(line)
    sections.append(notes)
    return sections


def default_output(store: Path) -> Path:
    """``results/quick.sqlite`` -> ``results/quick/``."""
    return store.with_suffix("")


def write_report(
    store: str | Path,
    out_dir: str | Path | None = None,
    criterion: str = "final_train_loss",
    progress=None,
    figure_format: str = "png",
) -> tuple[Path, Path]:
    """Write ``report.html``, ``report.md`` and the PNGs into ``out_dir``, each file replaced
    whole (an interrupted report leaves the previous files as they were); return the two paths.
    ``figure_format`` ``"svg"`` or ``"pdf"`` also writes every figure in that format beside
    its PNG.

    Raises
    ------
    bench.report.output.ReportError
        ``out_dir`` is not a folder, or the disk refuses a write (full, read-only): checked
        before anything is written, and turned into one line when the disk fails midway.
    ValueError
        An unknown ``criterion`` or ``figure_format``, or a store without runs.
    """
    from bench.report import interactive
    from bench.report.canvas import EXPORT_FORMATS
    from bench.report.figures import Inputs
    from bench.report.figures.saving import save_figures
    from bench.store.store import Store

    if criterion not in CRITERIA:
        raise ValueError(f"criterion {criterion!r} is not one of {', '.join(CRITERIA)}")
    if figure_format not in EXPORT_FORMATS:
        known = ", ".join(EXPORT_FORMATS)
        raise ValueError(f"figure format {figure_format!r} is not one of {known}")
    store = Path(store)
    out_dir = Path(out_dir) if out_dir is not None else default_output(store)
    output.check_output(out_dir)
    with Store(store, create=False, readonly=True) as db:
        runs, curves, experiments = db.runs(), db.curves(), db.experiments()
    if runs.empty:
        raise ValueError(f"{store}: the store holds no runs yet; run a grid first")
    output.make_folder(out_dir)
    labelled = runs.assign(problem=problem_labels(runs))
    inputs = Inputs(runs, curves, criterion)  # shared by the static and interactive figures
    figure_files = save_figures(inputs, out_dir, progress, formats=(figure_format,))
    drawn = list(interactive.figures(inputs)) if figure_files else []
    title = (
        "optbench report: " + ", ".join(sorted(set(experiments["name"])))
        if not experiments.empty
        else "optbench report"
    )
    sections = build_sections(labelled, experiments, figure_files, criterion, curves, drawn)
    html_path, md_path = out_dir / "report.html", out_dir / "report.md"
    with output.disk_errors(out_dir):
        output.write_text(html_path, render_html(title, sections, out_dir))
        output.write_text(md_path, render_markdown(title, sections))
    return html_path, md_path
