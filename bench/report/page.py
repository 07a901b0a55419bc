"""The interactive figures inside ``report.html``: plotly.js and the figures' controller embedded
in the page (nothing fetched from the network), and each figure's spec as inline JSON.

plotly.js comes from the ``plotly`` wheel (its ``plotly.min.js``, read through
``plotly.offline.get_plotlyjs``); the controller is ``interactive.js`` beside this module.
Both are inlined once per page, only when the page has an interactive figure.
"""

from __future__ import annotations

import functools
import html
import json
from importlib import resources
from typing import Any

# Lets a headless browser confirm every interactive figure was drawn.
FIGURE_CLASS = "interactive"
CSS = (
    ".interactive .controls{font-size:.88em;margin:.3em 0}"
    ".interactive .controls label{margin-right:1.2em}"
    ".interactive .plot{width:100%;min-height:520px}"
)


@functools.cache
def plotly_js() -> str:
    """plotly.js, minified, as the installed ``plotly`` wheel ships it."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


@functools.cache
def controller_js() -> str:
    """The script that draws every figure spec and wires its controls."""
    return resources.files("bench.report").joinpath("interactive.js").read_text("utf-8")


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element: ``<``, ``>`` and ``&``
    escaped, so no name from a grid can close the element or start markup."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def figure_html(number: int, spec: dict[str, Any], caption: str) -> str:
    """One interactive figure: its spec as inline JSON, the box plotly.js draws in, the
    caption. The controls are added by the controller."""
    data_id = f"figure-spec-{number}"
    return (
        f"<script type='application/json' id='{data_id}'>{script_json(spec)}</script>"
        f"<figure class='{FIGURE_CLASS}' data-figure-spec='{data_id}'>"
        f"<div class='plot' id='figure-{number}'></div>"
        "<noscript>This figure is drawn by JavaScript; report.md beside this page shows it "
        "as a PNG.</noscript>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def scripts() -> str:
    """plotly.js and the controller, each in its own inline ``<script>`` element."""
    bundle = plotly_js().replace("</script", "<\\/script")  # cannot end its element early
    return f"<script>{bundle}</script>\n<script>{controller_js()}</script>"
