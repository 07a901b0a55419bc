"""One module per ``optbench`` subcommand (see ``bench.cli``)."""
