/*
 * One report page: loads GET /api/reports/<name> through MesApi, renders a table (and a bar chart
 * when the report has a chart hint), refreshes every ~20 s. While the backend is degraded the last
 * good data stays on screen, dimmed, under the degraded banner; the next try is scheduled for the
 * end of the server's cooldown, not sooner.
 *
 * `?refresh=<seconds>` changes the refresh period (kept out of the API call); other query
 * parameters (area, limit, days) are passed to the report.
 */
(function () {
  "use strict";
  var DEFAULT_REFRESH_SECONDS = 20;

  var banner = new DegradedBanner(document.getElementById("banner-slot"));
  var name = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
  var params = new URLSearchParams(location.search);
  var refreshSeconds = Number(params.get("refresh")) || DEFAULT_REFRESH_SECONDS;
  params.delete("refresh");
  var apiUrl = "/api/reports/" + encodeURIComponent(name) +
               (params.toString() ? "?" + params.toString() : "");

  var body = document.getElementById("report-body");
  var updated = document.getElementById("report-updated");
  var errorLine = document.getElementById("report-error");
  var refreshButton = document.getElementById("refresh-now");
  var lastGoodAt = null;
  var timer = null;
  var loading = false;

  function timeOf(date) { return date.toLocaleTimeString([], { hour12: false }); }

  function cell(tag, text, numeric) {
    var element = document.createElement(tag);
    element.textContent = text === null || text === undefined ? "" : String(text);
    if (numeric) element.className = "num";
    return element;
  }

  function renderTable(report) {
    var table = document.createElement("table");
    table.setAttribute("data-testid", "report-table");
    table.appendChild(cell("caption", report.rows.length + " rows"));
    var numeric = report.columns.map(function (column) {
      return report.rows.length > 0 && report.rows.every(function (row) {
        return typeof row[column.key] === "number";
      });
    });
    var head = table.createTHead().insertRow();
    report.columns.forEach(function (column, index) {
      var th = cell("th", column.label, numeric[index]);
      th.scope = "col";
      head.appendChild(th);
    });
    var rows = table.createTBody();
    report.rows.forEach(function (row) {
      var tr = rows.insertRow();
      report.columns.forEach(function (column, index) {
        tr.appendChild(cell("td", row[column.key], numeric[index]));
      });
    });
    return table;
  }

  function render(report) {
    document.title = report.title + " · MES dashboard";
    document.getElementById("report-title").textContent = report.title;
    document.getElementById("report-description").textContent = report.description;
    var chartSlot = document.getElementById("report-chart");
    var tableSlot = document.getElementById("report-table");
    chartSlot.textContent = "";
    var chart = ReportChart.renderBarChart(report);
    if (chart) chartSlot.appendChild(chart);
    tableSlot.textContent = "";
    tableSlot.appendChild(renderTable(report));
  }

  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(load, seconds * 1000);
  }

  function onSuccess(report) {
    lastGoodAt = new Date();
    render(report);
    body.classList.remove("stale");
    errorLine.textContent = "";
    banner.hide();
    updated.textContent = "Updated " + timeOf(lastGoodAt) + "; refreshes every " +
                          refreshSeconds + " s.";
    schedule(refreshSeconds);
  }

  function onFailure(error) {
    var kept = lastGoodAt ? "Showing the last good data from " + timeOf(lastGoodAt) + "."
                          : "No data yet.";
    if (lastGoodAt) body.classList.add("stale");
    if (error.degraded) {
      var cooldown = MesApi.cooldown(apiUrl);
      banner.show(error.code, cooldown ? cooldown.until : null);
      banner.setNote(kept);
      errorLine.textContent = "";
    } else {
      errorLine.textContent = error.code === "NETWORK_ERROR"
        ? "The server cannot be reached. " + kept
        : "The report could not be loaded (" + error.code + "): " + error.message;
    }
    updated.textContent = kept;
    // Try again when the server's cooldown ends (MesApi would hold the call until then anyway).
    var wait = error.retryAfterSeconds ? error.retryAfterSeconds : Math.min(refreshSeconds, 5);
    schedule(error.degraded || error.code === "NETWORK_ERROR" ? wait : refreshSeconds);
  }

  function load() {
    if (loading) return;
    loading = true;
    refreshButton.disabled = true;
    MesApi.get(apiUrl).then(onSuccess, onFailure).catch(function (bug) {
      errorLine.textContent = "The page failed to show the report: " + bug;
    }).then(function () {
      loading = false;
      refreshButton.disabled = false;
    });
  }

  // Dim the data as soon as MesApi hears the first degraded answer, not only when it gives up.
  window.addEventListener("mesapi:degraded", function () {
    if (lastGoodAt) {
      var kept = "Showing the last good data from " + timeOf(lastGoodAt) + ".";
      body.classList.add("stale");
      banner.setNote(kept);
      updated.textContent = kept;
    }
  });
  refreshButton.addEventListener("click", load);
  load();
})();
