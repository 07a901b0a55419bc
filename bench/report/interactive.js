// optbench's interactive figures: draws each figure spec of bench/report/interactive.py with
// plotly.js (embedded in the same page) and adds its controls: the x axis, the log scale and
// the IQR bands. Each diverged run is a thin line of its own ending with x (the bands are over
// the runs that did not diverge). A legend click hides an optimizer (plotly's own), its
// diverged runs with it, and survives every switch.
(function () {
  "use strict";

  function hoverText(spec, state) {
    var x = state.x + " %{x" + (state.x === "step" ? "" : ":.4g") + "}";
    if (spec.kind === "steps") {
      return "%{fullData.name}<br>" + x + "<br>%{y:.1%}<extra></extra>";
    }
    var y = spec.percent ? ":.1%" : ":.4g";
    return "%{fullData.name}<br>" + x + "<br>median %{y" + y + "}<br>IQR %{customdata[0]" + y +
      "} to %{customdata[1]" + y + "} (%{customdata[2]} runs)<extra></extra>";
  }

  function bandTraces(s, common) {
    var edge = { width: 0, color: s.color };
    var band = { mode: "lines", line: edge, showlegend: false, hoverinfo: "skip", meta: "band" };
    return [
      Object.assign({}, common, band, { y: s.q25, name: s.label + " 25th percentile" }),
      Object.assign({}, common, band, {
        y: s.q75, fill: "tonexty", fillcolor: s.fill, name: s.label + " 75th percentile"
      })
    ];
  }

  function divergenceTrace(s, common, state) {
    return Object.assign({}, common, {
      x: s.diverged.x[state.x],
      y: s.diverged.y.map(function (v) { return v === null || v > state.top ? state.top : v; }),
      mode: "markers", showlegend: false, cliponaxis: false, meta: "diverged",
      marker: { symbol: "x", size: 10, color: s.color, line: { width: 2, color: s.color } },
      name: s.label + " diverged",
      hovertemplate: "%{fullData.name} (last finite value)<extra></extra>"
    });
  }

  function pathTrace(s, path, common, state) {
    return Object.assign({}, common, {
      x: path.x[state.x], y: path.y, mode: "lines", showlegend: false, meta: "path",
      line: { color: s.color, dash: s.dash, width: 1 }, opacity: 0.8,
      name: s.label + " diverged run",
      hovertemplate: "%{fullData.name}<br>" + state.x + " %{x:.4g}<br>%{y:.4g}<extra></extra>"
    });
  }

  function seriesTraces(spec, s, state, hidden) {
    var common = {
      x: s.x[state.x], legendgroup: s.name, type: "scatter",
      visible: hidden[s.name] ? "legendonly" : true
    };
    var traces = spec.bands && state.bands ? bandTraces(s, common) : [];
    var line = Object.assign({}, common, {
      y: s.y, name: s.label, mode: "lines+markers", meta: "line",
      line: { color: s.color, dash: s.dash, width: 2, shape: spec.kind === "steps" ? "hv" : "linear" },
      marker: { symbol: s.symbol, size: 7, maxdisplayed: 10, color: s.color },
      hovertemplate: hoverText(spec, state)
    });
    if (spec.bands) {
      line.customdata = s.q25.map(function (q, i) { return [q, s.q75[i], s.seeds[i]]; });
    }
    traces.push(line);
    (s.paths || []).forEach(function (path) { traces.push(pathTrace(s, path, common, state)); });
    if (s.diverged && s.diverged.y.length) traces.push(divergenceTrace(s, common, state));
    return traces;
  }

  function axis(spec, which, state, title) {
    var log = spec.log_axis === which && state.log;
    var ranges = (spec.ranges || {})[which] || {};
    var range = ranges[log ? "log" : "linear"];
    var out = {
      title: { text: title + (log ? " (log scale)" : "") }, type: log ? "log" : "linear",
      exponentformat: "power", zeroline: false
    };
    if (range) out.range = log ? range.map(Math.log10) : range;
    if (which === "y" && spec.percent) out.tickformat = ".0%";
    return out;
  }

  function layout(spec, state) {
    return {
      title: { text: spec.title, font: { size: 14 } },
      xaxis: axis(spec, "x", state, spec.x_axes[state.x]),
      yaxis: axis(spec, "y", state, spec.y_title),
      hovermode: "closest", showlegend: true,
      legend: { orientation: "h", y: -0.18, yanchor: "top", font: { size: 11 } },
      margin: { l: 70, r: 20, t: 50, b: 40 }, height: 520,
      paper_bgcolor: "white", plot_bgcolor: "white"
    };
  }

  function hiddenOptimizers(plot) {
    var hidden = {};
    (plot.data || []).forEach(function (t) {
      if (t.meta === "line" && t.visible === "legendonly") hidden[t.legendgroup] = true;
    });
    return hidden;
  }

  function draw(plot, spec, state) {
    var yRange = ((spec.ranges || {}).y || {})[state.log && spec.log_axis === "y" ? "log" : "linear"];
    state.top = yRange ? yRange[1] : null;
    var hidden = hiddenOptimizers(plot);
    var traces = [];
    spec.series.forEach(function (s) {
      traces = traces.concat(seriesTraces(spec, s, state, hidden));
    });
    return Plotly.react(plot, traces, layout(spec, state),
      { displaylogo: false, responsive: true }).then(function () {
      // How many times the figure was drawn: lets a test wait for a switch to take effect.
      plot.setAttribute("data-draws", Number(plot.getAttribute("data-draws") || 0) + 1);
    });
  }

  function control(bar, text, input, onChange) {
    var label = document.createElement("label");
    label.appendChild(document.createTextNode(text));
    label.appendChild(input);
    bar.appendChild(label);
    input.addEventListener("change", onChange);
  }

  function checkbox(name, checked) {
    var box = document.createElement("input");
    box.type = "checkbox";
    box.checked = checked;
    box.setAttribute("data-control", name);
    return box;
  }

  function addControls(figure, plot, spec, state) {
    var bar = document.createElement("div");
    bar.className = "controls";
    var keys = Object.keys(spec.x_axes);
    if (keys.length > 1) {
      var select = document.createElement("select");
      select.setAttribute("data-control", "x");
      keys.forEach(function (key) {
        var option = document.createElement("option");
        option.value = key;
        option.textContent = key === "step" ? "steps" : key;
        select.appendChild(option);
      });
      control(bar, "x axis ", select, function () { state.x = select.value; draw(plot, spec, state); });
    }
    if (spec.log_axis) {
      var log = checkbox("log", state.log);
      control(bar, "log " + spec.log_axis + " ", log,
        function () { state.log = log.checked; draw(plot, spec, state); });
    }
    if (spec.bands) {
      var bands = checkbox("bands", state.bands);
      control(bar, "IQR bands ", bands,
        function () { state.bands = bands.checked; draw(plot, spec, state); });
    }
    figure.insertBefore(bar, plot);
  }

  function start() {
    var figures = document.querySelectorAll("[data-figure-spec]");
    var drawn = [];
    figures.forEach(function (figure) {
      var source = document.getElementById(figure.getAttribute("data-figure-spec"));
      var spec = JSON.parse(source.textContent);
      var plot = figure.querySelector(".plot");
      var state = { x: Object.keys(spec.x_axes)[0], log: spec.log, bands: true };
      addControls(figure, plot, spec, state);
      drawn.push(draw(plot, spec, state));
    });
    Promise.all(drawn).then(function () {
      document.body.setAttribute("data-figures-drawn", drawn.length + "/" + figures.length);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
