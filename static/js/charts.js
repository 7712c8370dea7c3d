// Draw every plotly figure on the page. Figures arrive as JSON (json_script), never as inline script,
// so the Content-Security-Policy can forbid inline scripts entirely.
(function () {
  "use strict";
  if (typeof window.Plotly === "undefined") { return; }
  var configEl = document.getElementById("chart-config");
  var config = configEl ? JSON.parse(configEl.textContent) : { displaylogo: false, responsive: true };

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source) { return; }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(el, figure.data || [], figure.layout || {}, config).then(function () {
      // "chart-drawn:heatmap" etc.: when each chart was drawn, for scripts/bench_pages.py (Performance API).
      if (window.performance && window.performance.mark) { window.performance.mark("chart-drawn:" + el.id); }
      if (el.getAttribute("data-click") !== "navigate") { return; }
      var rows = (figure.layout && figure.layout.meta && figure.layout.meta.row_urls) || [];
      el.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        var row = point && point.pointIndex ? point.pointIndex[0] : -1;
        var url = rows[row];
        // Only same-site paths: a figure can never send the reader elsewhere.
        if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") { window.location.href = url; }
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-figure]"), draw);
})();
