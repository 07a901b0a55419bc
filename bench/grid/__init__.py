"""grid: a TOML grid -> a validated GridSpec -> cells.

``axes.py`` holds the one table of grid axes, from which expansion, validation, the store's
columns and the analysis defaults are derived. ``load.py`` reads grids and presets and expands
them into :class:`~bench.grid.cell.Cell` objects; ``values``, ``sweep``, ``budget``, ``settings``
and ``resolve`` validate what a grid says.
"""

from bench.grid.cell import Cell
from bench.grid.load import MAX_CELLS, GridSpec, load_grid, parse_grid, preset_names
from bench.grid.values import GridError

__all__ = ["MAX_CELLS", "Cell", "GridError", "GridSpec", "load_grid", "parse_grid", "preset_names"]
