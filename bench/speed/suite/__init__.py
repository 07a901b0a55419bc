"""The pytest-benchmark speed suite, shipped with the package so that ``optbench speed`` runs
from an installed wheel. Run it with ``optbench speed`` or ``pytest bench/speed/suite
--benchmark-only``; the project's own test run does not collect it."""
