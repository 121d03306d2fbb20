// Page behaviour that needs a script. No inline scripts: the CSP allows only our own files.
(function () {
  "use strict";

  // Charts: <canvas data-chart="bar" data-chart-source="ID"> reads its data from the
  // json_script element ID ({title, labels, values, unit}).
  function drawCharts(root) {
    if (typeof window.Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.chartReady) return;
      var source = document.getElementById(canvas.dataset.chartSource);
      if (!source) return;
      var data = JSON.parse(source.textContent);
      canvas.dataset.chartReady = "1";
      new window.Chart(canvas, {
        type: canvas.dataset.chart,
        data: {
          labels: data.labels,
          datasets: [{ label: data.unit, data: data.values, backgroundColor: "#0172ad" }],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: {
            x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
            y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: data.unit } },
          },
        },
      });
    });
  }

  // A submit button can't be double-clicked into a double submission.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitting) { event.preventDefault(); return; }
    // getAttribute, not form.method: a field named "method" (the deposit form's) shadows it.
    if ((form.getAttribute("method") || "").toLowerCase() === "post") {
      form.dataset.submitting = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-busy", "true"); });
    }
  });

  // ...but the lock must not outlive the submission: coming Back to the page (bfcache) or an
  // htmx request that finished releases it. (Only POST forms lock; downloads are GETs.)
  function releaseForms(root) {
    root.querySelectorAll("form[data-submitting]").forEach(function (form) {
      delete form.dataset.submitting;
      form.querySelectorAll("button[aria-busy]").forEach(function (b) { b.removeAttribute("aria-busy"); });
    });
  }
  window.addEventListener("pageshow", function () { releaseForms(document); });
  document.addEventListener("htmx:afterRequest", function () { releaseForms(document); });

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
})();
