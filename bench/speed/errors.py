"""The speed tracker's one error type."""


class SpeedError(Exception):
    """Bad input (``optbench speed`` exits 2) or a suite that could not run (exits 1, showing the
    end of pytest's output)."""
