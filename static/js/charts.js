// Draw every plotly figure on the page. Figures arrive as JSON (json_script, or fetched from the portal
// itself for `data-figure-src`), never as inline script, so the Content-Security-Policy can forbid inline
// scripts entirely.
(function () {
  "use strict";

  // Only this portal's own pages and data: "/\\evil.example" or "//evil.example" read as paths but lead away.
  function sameOrigin(path) {
    if (typeof path !== "string" || path.charAt(0) !== "/") { return false; }
    try { return new URL(path, window.location.href).origin === window.location.origin; } catch (e) { return false; }
  }

  function failed(el) {
    el.textContent = "";
    var note = document.createElement("p");
    note.className = "small error chart-failed";
    note.textContent = "This chart could not be loaded (signed out, or the portal did not answer): reload the page.";
    el.appendChild(note);
  }

  if (typeof window.Plotly === "undefined") {
    Array.prototype.forEach.call(document.querySelectorAll("[data-figure-src]"), failed);
    return;
  }
  var configEl = document.getElementById("chart-config");
  var config = configEl ? JSON.parse(configEl.textContent) : { displaylogo: false, responsive: true };

  function plot(el, figure) {
    el.textContent = "";
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
        if (sameOrigin(url)) { window.location.href = url; }
      });
    });
  }

  function draw(el) {
    var src = el.getAttribute("data-figure-src");
    if (src) {
      // Same-origin paths only; the response is revalidated with its ETag (a 304 on a repeat visit).
      if (!sameOrigin(src)) { failed(el); return; }
      window.fetch(src, { credentials: "same-origin", headers: { Accept: "application/json" }, redirect: "error" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (figure) { plot(el, figure); })
        .catch(function () { failed(el); });
      return;
    }
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source) { return; }
    plot(el, JSON.parse(source.textContent));
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-figure], [data-figure-src]"), draw);
})();
