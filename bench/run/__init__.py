"""run: cells -> results. The engine (one array program per cell), parallel dispatch (loky or
Dask), cost estimates and the trajectory replay used by the report.

Nothing here imports pandas, scipy or matplotlib, so workers stay lean.
"""
