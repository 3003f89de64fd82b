/* The report list (GET /api/reports through MesApi). */
(function () {
  "use strict";
  var banner = new DegradedBanner(document.getElementById("banner-slot"));
  var status = document.getElementById("report-status");
  var list = document.getElementById("report-list");

  function render(reports) {
    list.textContent = "";
    reports.forEach(function (report) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/reports/" + encodeURIComponent(report.name);
      link.textContent = report.title;
      item.appendChild(link);
      list.appendChild(item);
    });
    status.textContent = reports.length + " reports";
  }

  function load() {
    MesApi.get("/api/reports").then(function (reports) {
      banner.hide();
      render(reports);
    }, function (error) {
      status.textContent = "The list of reports could not be loaded: " + error.message;
      if (error.degraded) banner.show(error.code, MesApi.cooldown() && MesApi.cooldown().until);
      var waitSeconds = Math.max(error.retryAfterSeconds || 0, 5);
      setTimeout(load, waitSeconds * 1000);
    });
  }

  load();
})();
