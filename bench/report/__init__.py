"""report: numbers -> figures (matplotlib), a self-contained HTML page and Markdown."""
