"""Every figure of a store saved as a PNG (and in the export formats asked for), with a progress
line per figure on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.report import output

if TYPE_CHECKING:
    from bench.report.figures.inputs import Inputs

# What goes into the report for one figure: ("figure", file name, caption) or, for a figure
# left out, ("text", the note saying why, "").
Entry = tuple[str, str, str]


def stderr_progress(line: str) -> None:
    """Print one progress line on stderr at once (the report's stdout stays its result)."""
    print(line, file=sys.stderr, flush=True)


def save_figures(
    inputs: Inputs,
    out_dir: Path,
    progress: Callable[[str], None] | None = None,
    formats: Iterable[str] = (),
) -> dict[tuple[str, str], Entry]:
    """Build and save every figure of ``bench.report.figures.figures`` into ``out_dir``.

    Parameters
    ----------
    inputs
        The store's frames and the report's choices (shared with the interactive figures).
    progress
        Called with one line per figure (``figure 3: beale_convergence_step.png, 1.2 s``)
        or left-out figure, as each is done.
    formats
        Formats each figure is also written in beside its PNG
        (:data:`bench.report.canvas.EXPORT_FORMATS`), small multiples included.

    Returns
    -------
    dict
        ``(section, name)`` -> :data:`Entry`, in the order the figures were made.
    """
    from bench.report import canvas
    from bench.report.figures import figures

    entries: dict[tuple[str, str], Entry] = {}
    started = time.perf_counter()
    made = figures(inputs.runs, inputs.curves, inputs=inputs)
    for count, (section, name, figure) in enumerate(made, start=1):
        if isinstance(figure, str):  # a figure left out: the note says why
            entries[(section, name)] = ("text", figure, "")
            done = f"{section} {name.replace('_', ' ')} left out"
        else:
            file = canvas.figure_filename(section, name)
            caption = canvas.caption_of(figure) or name.replace("_", " ")
            with output.disk_errors(out_dir):
                canvas.save(figure, out_dir / file, formats=formats)
            entries[(section, name)] = ("figure", file, caption)
            done = file
        if progress is not None:
            progress(f"figure {count}: {done} ({time.perf_counter() - started:.1f} s)")
    return entries
