// Follow queued and running exports without reloading: poll their API records every two seconds.
(function () {
  "use strict";
  var table = document.getElementById("report-list");
  if (!table) { return; }
  var pending = (table.getAttribute("data-pending") || "").split(",").filter(Boolean);
  if (!pending.length) { return; }

  function poll() {
    Promise.all(pending.map(function (id) {
      return fetch("/api/v1/reports/" + id + "/", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .catch(function () { return null; });
    })).then(function (reports) {
      var finished = false;
      reports.forEach(function (report) {
        if (!report) { return; }
        var row = document.getElementById("report-" + report.id);
        var progress = row && row.querySelector("[data-progress]");
        if (progress) { progress.textContent = report.progress + "%"; }
        if (report.status === "ready" || report.status === "failed") { finished = true; }
      });
      if (finished) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
    });
  }
  window.setTimeout(poll, 2000);
})();
