"""speed: tracking the optimizers' own speed (perf ratios, jobs scaling, the pytest-benchmark
suite and its noise-aware comparison)."""
