/* CXM dashboards: draw every <canvas data-chart="ID"> from the JSON of <script id="ID" type="application/json">
 * (written by Django's json_script), and redraw after htmx swaps new figures in. No inline script
 * anywhere, so a strict Content-Security-Policy can forbid them. Colours come from cxm.css:
 * green positive, grey neutral, red negative, nothing else in those colours.
 */
(function () {
  "use strict";

  var POSITIVE_FROM = 55;
  var NEGATIVE_BELOW = 45;

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function colourOf(index) {
    if (index === null || index === undefined) return cssVar("--cxm-neutral");
    if (index >= POSITIVE_FROM) return cssVar("--cxm-positive");
    if (index < NEGATIVE_BELOW) return cssVar("--cxm-negative");
    return cssVar("--cxm-neutral");
  }

  function valenceColour(valence) {
    return cssVar(valence > 0 ? "--cxm-positive" : valence < 0 ? "--cxm-negative" : "--cxm-neutral");
  }

  function config(data) {
    var text = cssVar("--pico-muted-color") || "#555";
    var grid = cssVar("--pico-muted-border-color") || "#ddd";
    var axisY = { min: data.min === undefined ? 0 : data.min, ticks: { color: text }, grid: { color: grid } };
    if (data.max !== undefined || data.min === undefined) axisY.max = data.max === undefined ? 100 : data.max;
    var dataset = { label: data.label, data: data.values };
    if (data.kind === "line") {
      dataset.borderColor = cssVar("--pico-primary") || "#0172ad";
      dataset.pointBackgroundColor = data.values.map(colourOf);
      dataset.pointRadius = data.values.length > 60 ? 0 : 3;
      dataset.spanGaps = true;
      dataset.tension = 0.2;
    } else {
      dataset.backgroundColor = data.valences ? data.valences.map(valenceColour) : data.values.map(colourOf);
    }
    var datasets = [dataset];
    var scales = data.horizontal
      ? { x: axisY, y: { ticks: { color: text }, grid: { display: false } } }
      : { y: axisY, x: { ticks: { color: text, maxRotation: 0, autoSkip: true }, grid: { display: false } } };
    /* How many experiences each point stands on: bars on their own axis, in a colour that is no valence. */
    if (data.volumes) {
      dataset.order = 0;
      datasets.push({
        type: "bar",
        label: data.volume_label,
        data: data.volumes,
        yAxisID: "volume",
        order: 1,
        backgroundColor: cssVar("--cxm-volume") || "rgba(1, 114, 173, 0.18)",
      });
      scales.volume = {
        position: "right",
        beginAtZero: true,
        ticks: { color: text, precision: 0 },
        grid: { display: false },
        title: { display: true, text: data.volume_label, color: text },
      };
    }
    return {
      type: data.kind,
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: data.horizontal ? "y" : "x",
        plugins: { legend: { display: datasets.length > 1, labels: { color: text } } },
        scales: scales,
      },
    };
  }

  function draw(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      var existing = Chart.getChart(canvas);
      if (existing) existing.destroy();
      new Chart(canvas, config(JSON.parse(source.textContent)));
    });
  }

  /* Picking a date means a custom period. */
  function customDates(event) {
    var form = event.target.form;
    if (!form || !form.classList.contains("dash-filters")) return;
    if ((event.target.name === "start" || event.target.name === "end") && form.elements.period) {
      form.elements.period.value = "custom";
    }
  }

  /* The folded filters' line names what is chosen now: the period (or its dates), stage and segment. */
  function summarise(event) {
    var form = event.target.form;
    var out = document.getElementById("dash-filter-summary");
    if (!form || !out || !form.classList.contains("dash-filters")) return;
    var parts = [];
    var period = form.elements.period;
    if (period && period.value === "custom") {
      parts.push(form.elements.start.value + " – " + form.elements.end.value);
    } else if (period) {
      parts.push(period.options[period.selectedIndex].text);
    }
    ["stage", "segment"].forEach(function (name) {
      var field = form.elements[name];
      if (field && field.value) parts.push(field.options[field.selectedIndex].text);
    });
    out.textContent = parts.join(" · ");
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
    document.addEventListener("input", customDates, true);
    document.addEventListener("change", customDates, true);
    document.addEventListener("change", summarise);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    draw(event.detail.elt.parentNode || document);
  });
  /* A filter that needs fixing answers 400 with the message: show it rather than nothing. */
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
