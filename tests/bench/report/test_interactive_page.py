"""The interactive report in a real browser: headless Chromium (Debian's package), driven over
the DevTools protocol (tests/bench/report/browser.py), opens the report of the ``report``
fixture with every host name unresolvable and checks each figure the way a reader uses it."""

import json
import time

import pytest

from tests.bench.report.browser import CHROMIUM, Chromium, box

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
    ),
    pytest.mark.timeout(240),
]
PLOTS = "Array.from(document.querySelectorAll('figure.interactive .plot'))"


@pytest.fixture(scope="module")
def page(report):
    with Chromium(width=1100, height=900) as browser:
        browser.open(report / "report.html")
        browser.wait_for("document.body.getAttribute('data-figures-drawn')")
        yield browser


@pytest.fixture(scope="module")
def timed(tmp_path_factory):
    """A page of one interactive curve figure (hand-made frames) with time as an x axis and a
    diverged run: the report of the ``report`` fixture may offer no time axis on this machine
    (the timer rule of bench.report.figures.timer), and the x switch is tested all the same."""
    from bench.report import interactive
    from bench.report.render import render_html
    from bench.report.style import styles
    from bench.report.writer import Block, Section
    from tests.bench.report.test_figure_data import curve_rows, labelled, run_rows

    runs = run_rows(*[("a", seed, "adam", "done", None) for seed in range(3)],
                    *[("b", seed, "sgd", "done", None) for seed in range(2)],
                    ("b", 2, "sgd", "diverged", 15))  # fmt: skip
    losses = {1: [8, 2, 1], 2: [8, 3, 1], 3: [8, 2, 0.5], 4: [8, 4, 2], 5: [8, 5, 3], 6: [8, 20]}
    times = {run: [0.0, 0.3 * run, 0.5 * run][: len(values)] for run, values in losses.items()}
    curves = curve_rows(runs, losses, times=times)
    table = styles(runs["optimizer"])
    spec = interactive.curve_spec(runs, curves, labelled("a", "b"), "quadratic", "train_loss",
                                  table)  # fmt: skip
    section = Section("3.1 quadratic", "problem.1")
    section.blocks = [Block("interactive", spec, interactive.caption("convergence", spec))]
    folder = tmp_path_factory.mktemp("timed")
    (folder / "report.html").write_text(render_html("timed", [section], folder))
    with Chromium(width=1100, height=900) as browser:
        browser.open(folder / "report.html")
        browser.wait_for("document.body.getAttribute('data-figures-drawn')")
        yield browser


def hidden_of(number):
    """The expression listing the legend groups of figure ``number``'s hidden traces."""
    return (
        f"document.getElementById('figure-{number}').data"
        ".filter(t => t.visible === 'legendonly').map(t => t.legendgroup)"
    )


def click_legend(page, number, hides):
    """Click figure ``number``'s first legend entry; wait until it has hidden (``hides``) or
    shown again every trace (plotly waits out a double-click before it acts)."""
    entry = box(page, f"#figure-{number} .legend .traces .legendtoggle")
    page.click(entry["x"] + entry["width"] / 2, entry["y"] + entry["height"] / 2)
    page.wait_for(f"({hidden_of(number)}.length > 0) === {json.dumps(hides)}", timeout=15)
    time.sleep(0.2)  # the redraw follows the state


def drawn_lines(browser, number):
    """How many non-empty line paths figure ``number`` shows."""
    return browser.evaluate(
        f"Array.from(document.querySelectorAll('#figure-{number} .scatterlayer path.js-line'))"
        ".filter(p => (p.getAttribute('d') || '').length > 10).length"
    )


def test_every_interactive_figure_is_drawn_with_lines_and_a_legend(page, report):
    count = (report / "report.html").read_text().count("<figure class='interactive'")
    assert page.evaluate("document.body.getAttribute('data-figures-drawn')") == f"{count}/{count}"
    for number in range(1, count + 1):
        spec = json.loads(
            page.evaluate(f"document.getElementById('figure-spec-{number}').textContent")
        )
        assert drawn_lines(page, number) >= len(spec["series"]) > 0
        legend = page.evaluate(
            f"document.querySelectorAll('#figure-{number} .legend .traces').length"
        )
        assert legend == len(spec["series"])
        size = box(page, f"#figure-{number} .main-svg")
        assert size["width"] > 500 and size["height"] > 400


def test_the_page_logs_no_console_error(page):
    assert page.console_errors() == []


def test_the_page_sends_no_network_request(page, report):
    own = (report / "report.html").resolve().as_uri()
    outside = [url for url in page.requests() if url != own and not url.startswith("data:")]
    assert outside == []
    assert own in page.requests()  # the check saw the page's own load, so it was listening


def test_a_legend_click_hides_that_optimizer_and_a_second_shows_it_again(page):
    """On the first figure, the performance profile."""
    clip = box(page, "#figure-1 .main-svg")
    clip["y"] += page.evaluate("window.scrollY")
    before_pixels = page.screenshot(clip)
    before = drawn_lines(page, 1)
    click_legend(page, 1, hides=True)
    hidden = page.evaluate(hidden_of(1))
    assert len(set(hidden)) == 1  # one optimizer: its line (and band and crosses, if any)
    assert drawn_lines(page, 1) < before
    assert page.screenshot(clip) != before_pixels
    click_legend(page, 1, hides=False)
    assert drawn_lines(page, 1) == before


def set_control(page, number, control, value):
    """Set a control of figure ``number`` (a select's value or a checkbox's state) and wait
    for the figure to be drawn again."""
    field = "value" if control == "x" else "checked"
    draws = f"Number(document.getElementById('figure-{number}').getAttribute('data-draws'))"
    done = page.evaluate(draws)
    page.evaluate(
        f"(() => {{ const c = document.querySelector(\"figure[data-figure-spec='figure-spec-"
        f"{number}'] [data-control='{control}']\"); c.{field} = {json.dumps(value)};"
        " c.dispatchEvent(new Event('change')); })()"
    )
    page.wait_for(f"{draws} > {done}", timeout=15)


def layout(page, number, path):
    return page.evaluate(f"document.getElementById('figure-{number}').layout.{path}")


def spec_of(page, number):
    return json.loads(page.evaluate(f"document.getElementById('figure-spec-{number}').textContent"))


def test_the_controls_switch_the_x_axis_the_y_scale_and_the_bands(timed):
    page, number = timed, 1
    spec = spec_of(page, number)
    assert list(spec["x_axes"]) == ["step", "time"]  # the curves have no evaluations column
    first_median = f"document.getElementById('figure-{number}').data.find(t => t.meta === 'line')"
    path = f"document.getElementById('figure-{number}').data.find(t => t.meta === 'path')"
    steps = page.evaluate(f"{first_median}.x")
    assert page.evaluate(f"{path}.x") == spec["series"][1]["paths"][0]["x"]["step"]
    set_control(page, number, "x", "time")
    assert layout(page, number, "xaxis.title.text") == spec["x_axes"]["time"]
    times = page.evaluate(f"{first_median}.x")
    assert len(times) == len(steps) and times != steps
    assert page.evaluate(f"{path}.x") == spec["series"][1]["paths"][0]["x"]["time"]
    set_control(page, number, "x", "step")
    scale = layout(page, number, "yaxis.type")
    set_control(page, number, "log", scale != "log")
    assert layout(page, number, "yaxis.type") != scale
    set_control(page, number, "log", scale == "log")
    bands = f"document.getElementById('figure-{number}').data.filter(t => t.meta === 'band').length"
    assert page.evaluate(bands) == 2 * len(spec["series"])
    set_control(page, number, "bands", False)
    assert page.evaluate(bands) == 0
    set_control(page, number, "bands", True)
    assert page.evaluate(bands) == 2 * len(spec["series"])


def test_the_report_offers_time_only_where_its_caption_says_so(page, report):
    """The timer rule: a curve figure has a time axis exactly where its caption says why."""
    count = (report / "report.html").read_text().count("<figure class='interactive'")
    captions = page.evaluate(
        "Array.from(document.querySelectorAll('figure.interactive figcaption'))"
        ".map(c => c.textContent)"
    )
    for number in range(1, count + 1):
        spec = spec_of(page, number)
        if spec["kind"] == "curves":
            timed = "Time is an x axis because" in captions[number - 1]
            assert ("time" in spec["x_axes"]) == timed
            assert timed or "No loss-vs-time figure" in captions[number - 1]


def test_a_name_with_markup_shows_as_text_in_the_legend(page):
    """The plugin named <script>alert(1)</script> reads as written and runs nothing."""
    texts = page.evaluate(
        "Array.from(document.querySelectorAll('.legendtext')).map(t => t.textContent)"
    )
    assert any(text.startswith("<script>alert(1)</script>") for text in texts)
    assert page.evaluate("document.querySelectorAll('.legendtext script').length") == 0


def test_a_hidden_optimizer_stays_hidden_when_the_x_axis_switches(timed):
    page, number = timed, 1
    click_legend(page, number, hides=True)
    before = set(page.evaluate(hidden_of(number)))
    assert len(before) == 1
    set_control(page, number, "x", "time")
    set_control(page, number, "bands", False)
    assert set(page.evaluate(hidden_of(number))) == before
    set_control(page, number, "x", "step")
    set_control(page, number, "bands", True)
    click_legend(page, number, hides=False)
