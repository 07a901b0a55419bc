// optbench's interactive figures: draws each figure spec of bench/report/interactive.py with
// plotly.js (embedded in the same page) and adds its controls: the x axis, the y scale and the
// IQR bands. A legend click hides an optimizer (plotly's own), and survives every switch.
(function () {
  "use strict";

  function seriesTraces(s, state, hidden) {
    var x = s.x[state.x];
    var visible = hidden[s.name] ? "legendonly" : true;
    var common = { x: x, legendgroup: s.name, visible: visible, type: "scatter" };
    var traces = [];
    if (state.bands) {
      var edge = { width: 0, color: s.color };
      traces.push(Object.assign({}, common, {
        y: s.q25, mode: "lines", line: edge, showlegend: false, hoverinfo: "skip",
        name: s.label + " 25th percentile", meta: "band"
      }));
      traces.push(Object.assign({}, common, {
        y: s.q75, mode: "lines", line: edge, showlegend: false, hoverinfo: "skip",
        fill: "tonexty", fillcolor: s.fill, name: s.label + " 75th percentile", meta: "band"
      }));
    }
    traces.push(Object.assign({}, common, {
      y: s.median, name: s.label, mode: "lines+markers", meta: "median",
      line: { color: s.color, dash: s.dash, width: 2 },
      marker: { symbol: s.symbol, size: 7, maxdisplayed: 10, color: s.color },
      customdata: s.q25.map(function (q, i) { return [q, s.q75[i], s.seeds[i]]; }),
      hovertemplate: "%{fullData.name}<br>" + state.axisName + " %{x" + state.xFormat + "}<br>median %{y:.4g}" +
        "<br>IQR %{customdata[0]:.4g} to %{customdata[1]:.4g} (%{customdata[2]} runs)" +
        "<extra></extra>"
    }));
    if (s.diverged.y.length) {
      traces.push(Object.assign({}, common, {
        x: s.diverged.x[state.x], y: s.diverged.y.map(function (v) {
          return v === null || v > state.top ? state.top : v;
        }),
        mode: "markers", showlegend: false, cliponaxis: false, meta: "diverged",
        marker: { symbol: "x", size: 10, color: s.color, line: { width: 2, color: s.color } },
        name: s.label + " diverged",
        hovertemplate: "%{fullData.name} (last finite value)<extra></extra>"
      }));
    }
    return traces;
  }

  function layout(spec, state) {
    var range = spec.y_range[state.log ? "log" : "linear"];
    return {
      title: { text: spec.title, font: { size: 14 } },
      xaxis: { title: { text: spec.x_axes[state.x] }, zeroline: false },
      yaxis: {
        title: { text: spec.y_title + (state.log ? " (log scale)" : "") },
        type: state.log ? "log" : "linear",
        range: state.log ? range.map(Math.log10) : range,
        tickformat: spec.percent ? ".0%" : "", exponentformat: "power", zeroline: false
      },
      hovermode: "closest", showlegend: true,
      legend: { orientation: "h", y: -0.18, yanchor: "top", font: { size: 11 } },
      margin: { l: 70, r: 20, t: 50, b: 40 }, height: 520,
      paper_bgcolor: "white", plot_bgcolor: "white"
    };
  }

  function hiddenOptimizers(plot) {
    var hidden = {};
    (plot.data || []).forEach(function (t) {
      if (t.meta === "median" && t.visible === "legendonly") hidden[t.legendgroup] = true;
    });
    return hidden;
  }

  function draw(plot, spec, state) {
    var range = spec.y_range[state.log ? "log" : "linear"];
    state.top = range[1];
    state.axisName = state.x;
    state.xFormat = state.x === "step" ? "" : ":.4g";
    var hidden = hiddenOptimizers(plot);
    var traces = [];
    spec.series.forEach(function (s) { traces = traces.concat(seriesTraces(s, state, hidden)); });
    return Plotly.react(plot, traces, layout(spec, state),
      { displaylogo: false, responsive: true });
  }

  function control(parent, labelText, input) {
    var label = document.createElement("label");
    label.appendChild(document.createTextNode(labelText));
    label.appendChild(input);
    parent.appendChild(label);
    return input;
  }

  function addControls(box, plot, spec, state) {
    var bar = document.createElement("div");
    bar.className = "controls";
    var axis = document.createElement("select");
    axis.setAttribute("data-control", "x");
    Object.keys(spec.x_axes).forEach(function (key) {
      var option = document.createElement("option");
      option.value = key;
      option.textContent = key === "step" ? "steps" : key;
      axis.appendChild(option);
    });
    control(bar, "x axis ", axis).addEventListener("change", function () {
      state.x = axis.value; draw(plot, spec, state);
    });
    var log = document.createElement("input");
    log.type = "checkbox"; log.checked = state.log; log.disabled = !spec.log_allowed;
    log.setAttribute("data-control", "log");
    control(bar, " log y ", log).addEventListener("change", function () {
      state.log = log.checked; draw(plot, spec, state);
    });
    var bands = document.createElement("input");
    bands.type = "checkbox"; bands.checked = state.bands;
    bands.setAttribute("data-control", "bands");
    control(bar, " IQR bands ", bands).addEventListener("change", function () {
      state.bands = bands.checked; draw(plot, spec, state);
    });
    box.insertBefore(bar, plot);
  }

  function start() {
    var boxes = document.querySelectorAll("[data-figure-spec]");
    var drawn = [];
    boxes.forEach(function (box) {
      var spec = JSON.parse(document.getElementById(box.getAttribute("data-figure-spec")).textContent);
      var plot = box.querySelector(".plot");
      var state = { x: "step", log: spec.y_log, bands: true };
      addControls(box, plot, spec, state);
      drawn.push(draw(plot, spec, state));
    });
    Promise.all(drawn).then(function () {
      document.body.setAttribute("data-figures-drawn", drawn.length + "/" + boxes.length);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
