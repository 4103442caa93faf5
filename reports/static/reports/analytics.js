// Draws the analytics charts from the server's data (json_script "chart-data"); no inline script (CSP).
(function () {
  "use strict";
  const PALETTE = ["#0d6efd", "#fd7e14", "#198754", "#dc3545", "#6f42c1", "#20c997", "#ffc107", "#6c757d", "#d63384"];

  function draw(spec, canvas) {
    const rtl = document.documentElement.dir === "rtl";
    const doughnut = spec.kind === "doughnut";
    const datasets = spec.datasets.map(function (d, i) {
      const colour = doughnut ? spec.labels.map(function (_l, j) { return PALETTE[j % PALETTE.length]; }) : PALETTE[i % PALETTE.length];
      return { label: d.label, data: d.data, backgroundColor: colour, borderColor: doughnut ? "#fff" : colour };
    });
    const scales = doughnut ? {} : {
      x: { stacked: spec.stacked, reverse: rtl && !spec.horizontal, ticks: { autoSkip: true, maxRotation: 60 } },
      y: { stacked: spec.stacked, beginAtZero: true, position: rtl && !spec.horizontal ? "right" : "left" },
    };
    return new window.Chart(canvas, {
      type: spec.kind,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: document.documentElement.lang || "en",
        indexAxis: spec.horizontal ? "y" : "x",
        scales: scales,
        plugins: {
          legend: { display: datasets.length > 1 || doughnut, position: "bottom", rtl: rtl },
          tooltip: { rtl: rtl },
        },
      },
    });
  }

  function init() {
    const source = document.getElementById("chart-data");
    if (!source) return;
    const specs = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const spec = specs.find(function (s) { return s.key === canvas.dataset.chart; });
      if (!spec || !window.Chart) return;
      canvas.closest(".report-chart").classList.add("charted"); // sized before drawing
      draw(spec, canvas);
    });
    document.querySelectorAll("[data-toggle-table]").forEach(function (button) {
      button.addEventListener("click", function () {
        const card = document.getElementById(button.dataset.toggleTable);
        const on = card.classList.toggle("show-table");
        button.setAttribute("aria-pressed", on ? "true" : "false");
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
