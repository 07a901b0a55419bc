"""Rendering the report's sections: one self-contained HTML page, and Markdown for GitHub.

Every name that comes from a grid or a plugin is escaped before it reaches HTML or Markdown.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from bench.report import page
from bench.report.labels import markdown_text

if TYPE_CHECKING:
    from bench.report.writer import Section

EN_DASH = "–"  # what the report shows for a missing value


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.86em}.scroll{overflow-x:auto}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}figure{margin:1em 0}img{max-width:100%;height:auto}
figcaption,.caption{color:#555;font-size:.88em}nav a{margin-right:1em}
"""
# Lets a headless browser (and a curious reader's console) confirm every figure decoded.
DECODE_CHECK = (
    "<script>window.addEventListener('load',function(){var i=Array.from(document.images);"
    "document.body.setAttribute('data-images-decoded',i.filter(function(x){return x.complete&&"
    "x.naturalWidth>0}).length+'/'+i.length)});</script>"
)


def heading_level(section: Section) -> int:
    """2 for a numbered section ("3. Problems"), 3 for its subsections ("3.1 beale")."""
    return 3 if "." in section.anchor else 2


def render_html(title: str, sections: list[Section], out_dir: Path) -> str:
    """One self-contained page: CSS inline, static figures as data: URIs, interactive ones
    drawn by plotly.js inlined in the page (:mod:`bench.report.page`), no network access."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{CSS}{page.CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1><nav>",
        *(f"<a href='#{s.anchor}'>{esc(s.title)}</a>" for s in sections if "." not in s.anchor),
        "</nav>",
    ]
    interactive = 0
    for section in sections:
        level = heading_level(section)
        parts.append(f"<h{level} id='{section.anchor}'>{esc(section.title)}</h{level}>")
        for block in section.blocks:
            if block.media == "markdown":
                continue
            if block.kind == "interactive":
                interactive += 1
                parts.append(page.figure_html(interactive, block.content, block.caption))
            elif block.kind == "text":
                parts.append(f"<p>{esc(str(block.content))}</p>")
            elif block.kind == "table":
                frame = block.content
                table = frame.to_html(index=False, escape=True, border=0, na_rep=EN_DASH)
                parts.append(f"<div class='scroll'>{table}</div>")  # wide tables scroll alone
                if block.caption:
                    parts.append(f"<p class='caption'>{esc(block.caption)}</p>")
            else:
                data = base64.b64encode((out_dir / block.content).read_bytes()).decode()
                parts.append(
                    f"<figure><img alt='{esc(block.caption)}' src='data:image/png;base64,{data}'>"
                    f"<figcaption>{esc(block.caption)}</figcaption></figure>"
                )
    if interactive:
        parts.append(page.scripts())
    parts.append(DECODE_CHECK + "</body></html>")
    return "\n".join(parts)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub table; every cell escaped (no raw HTML, link or other markup from grid names
    reaches the page)."""
    header = "| " + " | ".join(markdown_text(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(markdown_text(EN_DASH if pd.isna(v) else v) for v in row) + " |"
            for row in frame.itertuples(index=False)]  # fmt: skip
    return "\n".join([header, rule, *rows])


def render_markdown(title: str, sections: list[Section]) -> str:
    """The same report for GitHub: tables in Markdown, figures as links to the PNGs beside it."""
    lines = [f"# {markdown_text(title)}", ""]
    for section in sections:
        lines += [f"{'#' * heading_level(section)} {markdown_text(section.title)}", ""]
        for block in section.blocks:
            if block.media == "html":
                continue
            if block.kind == "text":
                lines += [markdown_text(block.content), ""]
            elif block.kind == "table":
                lines += [markdown_table(block.content), ""]
                if block.caption:
                    lines += [f"*{markdown_text(block.caption)}*", ""]
            else:
                alt = str(block.content).removesuffix(".png").replace("_", " ")
                lines += [f"![{markdown_text(alt)}]({block.content})", ""]
                lines += [f"*{markdown_text(block.caption)}*", ""]  # alt text is not shown
    return "\n".join(lines)
