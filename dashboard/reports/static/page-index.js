/*
 * The report list (GET /api/reports through MesApi), each with its description, under a status
 * line read from /health every 10 s, so a person sees "Degraded: circuit breaker open" before
 * opening a report that cannot load.
 */
(function () {
  "use strict";
  var HEALTH_SECONDS = PageParams.refreshSeconds(10);
  var banner = new DegradedBanner(document.getElementById("banner-slot"));
  var status = document.getElementById("report-status");
  var list = document.getElementById("report-list");
  var strip = document.getElementById("health-strip");

  function render(reports) {
    list.textContent = "";
    reports.forEach(function (report) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/reports/" + encodeURIComponent(report.name);
      link.textContent = report.title;
      var description = document.createElement("p");
      description.className = "muted";
      description.textContent = report.description || "";
      item.appendChild(link);
      item.appendChild(description);
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

  function renderHealth(result) {
    var checked = " Checked " + Fmt.time(new Date()) + ".";
    if (result === null) {
      strip.setAttribute("data-status", "unreachable");
      strip.textContent = "The server cannot be reached." + checked;
      return;
    }
    if (!result.enabled) {
      strip.setAttribute("data-status", "unknown");
      strip.textContent = "Health checks are not enabled on this server.";
      return;
    }
    strip.setAttribute("data-status", result.payload.status);
    strip.textContent = "Service: " + DashboardHealth.sentence(result.payload) + checked;
  }

  DashboardHealth.watch(HEALTH_SECONDS, renderHealth);
  load();
})();
