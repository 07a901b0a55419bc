"""Every optimizer's style: distinct for any number of optimizers, stable for the built-ins."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import optimizers
from bench.report.style import (
    DISTINCT_STYLES,
    DIVERGED_MARKER,
    LINESTYLES,
    MARKERS,
    PALETTE,
    Style,
    builtin_optimizers,
    optimizer_order,
    style,
    style_at,
    styles,
)


def triple(s: Style) -> tuple[str, str, str]:
    return s.color, s.linestyle, s.marker


def test_the_cycle_lengths_are_coprime_so_429_positions_differ():
    assert DISTINCT_STYLES == len(PALETTE) * len(LINESTYLES) * len(MARKERS) == 429
    assert len({triple(style_at(i)) for i in range(DISTINCT_STYLES)}) == DISTINCT_STYLES
    assert triple(style_at(DISTINCT_STYLES)) == triple(style_at(0))  # and then they repeat
    assert len(set(PALETTE)) == len(PALETTE) and len(set(MARKERS)) == len(MARKERS)
    assert DIVERGED_MARKER not in MARKERS and "+" not in MARKERS


def test_forty_made_up_optimizers_all_get_distinct_styles():
    names = [f"made_up_{k:02d}" for k in range(40)]
    table = styles(names)
    assert len({triple(s) for s in table.values()}) == 40
    assert len({(s.color, s.linestyle) for s in table.values()}) == 33  # the first 33 differ
    assert styles(reversed(names)) == table  # the order they come in does not matter
    mixed = styles([*names, *builtin_optimizers()])
    assert len({triple(s) for s in mixed.values()}) == 40 + len(builtin_optimizers())


def test_every_registered_optimizer_has_its_own_style():
    names = optimizers.names()
    table = styles(names)
    assert len({triple(s) for s in table.values()}) == len(names)
    assert len({(s.color, s.linestyle) for s in table.values()}) == len(names)
    assert table[names[0]] == Style(PALETTE[0], MARKERS[0], LINESTYLES[0], 0)


def test_a_builtin_keeps_its_style_whatever_else_is_drawn():
    builtin = builtin_optimizers()
    alone = {n: style(n) for n in builtin}
    assert [alone[n].position for n in builtin] == list(range(len(builtin)))
    assert {n: s for n, s in styles([*builtin, "aaa", "zzz"]).items() if n in builtin} == alone
    assert styles(["sgd", "aaa_plugin"])["sgd"] == alone["sgd"]
    assert style(builtin[0]) == Style("#0072B2", "o", "-", 0)  # the first built-in, sorted
    assert style("adam") == style_at(builtin.index("adam"))


def test_plugins_follow_the_builtins_by_name_and_move_no_builtin():
    before = styles(optimizers.names())

    @optimizers.register("aaa_first_plugin")
    @dataclasses.dataclass(frozen=True)
    class First(optimizers.Optimizer):
        def init(self, params):
            return None

        def step(self, params, grads, state, lr=None):
            return None

    assert {n: style(n) for n in before} == before
    table = styles(["zz_plugin", "sgd", "aaa_first_plugin", "adam"])
    n = len(builtin_optimizers())
    assert table["aaa_first_plugin"].position == n and table["zz_plugin"].position == n + 1
    order = optimizer_order(["zz_plugin", "sgd", "aaa_first_plugin", "adam"])
    assert order == ["adam", "sgd", "aaa_first_plugin", "zz_plugin"]


def test_styles_do_not_depend_on_the_process_and_need_no_matplotlib():
    """No salted ``hash``: other processes agree; the style and the plot data draw nothing."""
    code = (
        "import sys; from bench.report.style import styles; import bench.report.figures; "
        "print(styles(['my<plugin>', 'adam']), 'matplotlib' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[3]
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       cwd=root, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }  # fmt: skip
    assert outputs == {f"{styles(['my<plugin>', 'adam'])} False\n"}


def test_panels_are_as_few_and_as_even_as_the_limit_allows():
    from bench.report.style import MAX_PER_PANEL, panels

    names = [f"o{k}" for k in range(19)]
    assert [len(p) for p in panels(names)] == [5, 5, 5, 4]
    assert sum(panels(names), []) == names  # in order, each once
    assert panels(names[:MAX_PER_PANEL]) == [names[:MAX_PER_PANEL]]
    assert [len(p) for p in panels(names[:6])] == [3, 3]
    assert [len(p) for p in panels(names, limit=8)] == [7, 6, 6]
