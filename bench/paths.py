"""Where things land by default."""

import os
from pathlib import Path


def default_store(grid_name: str) -> Path:
    """``results/<grid name>.sqlite`` under the current directory (or $OPTBENCH_RESULTS)."""
    return Path(os.environ.get("OPTBENCH_RESULTS", "results")) / f"{grid_name}.sqlite"
