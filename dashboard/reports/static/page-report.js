/*
 * One report page: controls for the report's parameters bound to the URL's query (changing one
 * updates the URL and reloads through MesApi; opening a URL with a query sets them), a bar chart
 * when the report has a chart hint, a sortable, paged table, refreshes every ~20 s.
 *
 * While the backend is degraded the last good data stays on screen, dimmed, under the degraded
 * banner, and the next try waits for the end of the server's cooldown. A stale answer (the
 * server's saved copy, docs/plugins/fallback.md) is shown with a banner saying how old it is and
 * why, and is replaced by live data as soon as the server answers normally again.
 *
 * Query keys: the report's own parameters (sent to the API), `sort`, `dir` and `page` (the table
 * view) and `refresh=<seconds>` (the refresh period); the last four stay in the page.
 */
(function () {
  "use strict";
  var DEFAULT_REFRESH_SECONDS = 20;

  var spec = JSON.parse(document.getElementById("report-spec").textContent);
  var banner = new DegradedBanner(document.getElementById("banner-slot"));
  var params = new URLSearchParams(location.search);
  var refreshSeconds = PageParams.refreshSeconds(DEFAULT_REFRESH_SECONDS);

  var body = document.getElementById("report-body");
  var updated = document.getElementById("report-updated");
  var errorLine = document.getElementById("report-error");
  var refreshButton = document.getElementById("refresh-now");
  var form = document.getElementById("report-controls");
  var chartSlot = document.getElementById("report-chart");
  var tableSlot = document.getElementById("report-table");
  var lastReport = null;
  var lastGoodAt = null;
  var staleDetail = null;
  var timer = null;
  var inFlight = null;   // {controller, url} of the call being made

  // ---- the URL's query is the page's state --------------------------------------------------

  function current() { return new URLSearchParams(location.search); }

  function apiUrl() {
    var query = new URLSearchParams();
    var here = current();
    spec.controls.forEach(function (control) {
      var value = here.get(control.name);
      if (value !== null && value !== "") query.set(control.name, value);
    });
    return "/api/reports/" + encodeURIComponent(spec.name) +
           (query.toString() ? "?" + query.toString() : "");
  }

  function view() {
    var here = current();
    return { sort: here.get("sort"), dir: here.get("dir") === "desc" ? "desc" : "asc",
             page: Number(here.get("page")) || 1 };
  }

  /** Writes `changes` (null removes a key) into the URL, as a new history entry. */
  function updateUrl(changes) {
    var here = current();
    Object.keys(changes).forEach(function (key) {
      var value = changes[key];
      if (value === null || value === undefined || value === "" ) here.delete(key);
      else here.set(key, String(value));
    });
    var query = here.toString();
    history.pushState(null, "", location.pathname + (query ? "?" + query : ""));
  }

  // ---- controls -----------------------------------------------------------------------------

  function buildControls() {
    spec.controls.forEach(function (control) {
      var id = "param-" + control.name;
      var field = document.createElement("div");
      field.className = "field";
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = control.label;
      var input;
      if (control.kind === "select") {
        input = document.createElement("select");
        var all = document.createElement("option");
        all.value = "";
        all.textContent = "All";
        input.appendChild(all);
        control.options.forEach(function (option) {
          var element = document.createElement("option");
          element.value = option;
          element.textContent = option;
          input.appendChild(element);
        });
      } else {
        input = document.createElement("input");
        input.type = "number";
        input.inputMode = "numeric";
        input.min = control.min;
        input.max = control.max;
        input.step = 1;
        input.placeholder = control.default;
        input.setAttribute("aria-describedby", id + "-hint");
      }
      input.id = id;
      input.name = control.name;
      input.addEventListener("change", function () { onControlChange(control, input); });
      field.appendChild(label);
      field.appendChild(input);
      if (control.kind === "number") {
        var hint = document.createElement("span");
        hint.id = id + "-hint";
        hint.className = "muted hint";
        hint.textContent = control.min + " to " + control.max + ", default " + control.default;
        field.appendChild(hint);
      }
      form.appendChild(field);
    });
    if (spec.controls.length === 0) form.hidden = true;
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  function syncControls() {
    var here = current();
    spec.controls.forEach(function (control) {
      var input = document.getElementById("param-" + control.name);
      input.value = here.get(control.name) || (control.kind === "select" ? "" : "");
    });
  }

  function onControlChange(control, input) {
    if (!input.checkValidity()) {
      errorLine.textContent = control.label + ": " + input.validationMessage;
      return;
    }
    errorLine.textContent = "";
    var changes = { page: null };
    changes[control.name] = input.value === control.default ? null : input.value;
    updateUrl(changes);
    load();
  }

  // ---- rendering ----------------------------------------------------------------------------

  function drawChart() {
    chartSlot.textContent = "";
    if (!lastReport) return;
    var chart = ReportChart.renderBarChart(lastReport, chartSlot.clientWidth, Fmt.number);
    if (chart) chartSlot.appendChild(chart);
  }

  function drawTable() {
    if (!lastReport) return;
    ReportTable.render(tableSlot, lastReport, view(), function (next) {
      updateUrl({ sort: next.sort, dir: next.sort ? next.dir : null,
                  page: next.page > 1 ? next.page : null });
      drawTable();
    });
  }

  function render(report) {
    lastReport = report;
    document.title = report.title + " · MES dashboard";
    drawChart();
    drawTable();
  }

  // ---- loading ------------------------------------------------------------------------------

  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(load, Math.max(1, seconds) * 1000);
  }

  function keptText() {
    return lastGoodAt ? "Showing the last good data from " + Fmt.dateTime(lastGoodAt) + "."
                      : "No data yet: waiting for the server.";
  }

  function onSuccess(report, url) {
    render(report);
    errorLine.textContent = "";
    var stale = staleDetail && staleDetail.url === url ? staleDetail : null;
    staleDetail = null;
    if (stale) {
      body.classList.add("stale");
      banner.showStale(stale);
      updated.textContent = "Saved copy from " +
        Fmt.dateTime(stale.staleSince || Date.now() - stale.ageSeconds * 1000) + ".";
      schedule(stale.retryAfterSeconds || Math.min(refreshSeconds, 5));
      return;
    }
    lastGoodAt = new Date(report.generated_at || Date.now());
    body.classList.remove("stale");
    banner.hide();
    updated.textContent = "Updated " + Fmt.dateTime(lastGoodAt) + "; refreshes every " +
                          refreshSeconds + " s.";
    schedule(refreshSeconds);
  }

  function onFailure(error) {
    if (error && error.name === "AbortError") return;  // the controls asked for other data
    if (lastReport) body.classList.add("stale");
    if (error.degraded) {
      var cooldown = MesApi.cooldown(apiUrl());
      banner.show(error.code, cooldown ? cooldown.until : null);
      banner.setNote(keptText());
      errorLine.textContent = "";
    } else if (error.code === "NETWORK_ERROR") {
      errorLine.textContent = "The server cannot be reached. " + keptText();
    } else {
      errorLine.textContent = "The report could not be loaded (" + error.code + "): " +
                              error.message;
    }
    updated.textContent = keptText();
    // Try again when the server's cooldown ends (MesApi would hold the call until then anyway).
    var wait = error.retryAfterSeconds ? error.retryAfterSeconds : Math.min(refreshSeconds, 5);
    schedule(error.degraded || error.code === "NETWORK_ERROR" ? wait : refreshSeconds);
  }

  function load() {
    var url = apiUrl();
    if (inFlight && inFlight.url === url) return;
    if (inFlight) inFlight.controller.abort();
    var call = { controller: new AbortController(), url: url };
    inFlight = call;
    refreshButton.disabled = true;
    MesApi.get(url, { signal: call.controller.signal }).then(function (report) {
      if (inFlight === call) onSuccess(report, url);
    }, function (error) {
      if (inFlight === call) onFailure(error);
    }).catch(function (bug) {
      errorLine.textContent = "The page failed to show the report: " + bug;
    }).then(function () {
      if (inFlight === call) { inFlight = null; refreshButton.disabled = false; }
    });
  }

  window.addEventListener("mesapi:stale", function (event) { staleDetail = event.detail; });
  // Dim the data as soon as MesApi hears the first degraded answer, not only when it gives up.
  window.addEventListener("mesapi:degraded", function () {
    if (lastReport) body.classList.add("stale");
    banner.setNote(keptText());
    updated.textContent = keptText();
  });
  window.addEventListener("popstate", function () { syncControls(); drawTable(); load(); });
  var resizeTimer = null;
  var drawnWidth = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (chartSlot.clientWidth !== drawnWidth) { drawnWidth = chartSlot.clientWidth; drawChart(); }
    }, 100);
  });
  refreshButton.addEventListener("click", load);

  buildControls();
  syncControls();
  drawnWidth = chartSlot.clientWidth;
  updated.textContent = "Loading…";
  load();
})();
