/*
 * The operator page: worker and system status (auto-refreshing, honouring retry hints), the
 * restart history and the restart form, all through the admin API with a bearer token.
 *
 * The token lives only in this tab's sessionStorage: never in localStorage, a cookie or the URL,
 * so it leaves with the tab and is not sent anywhere but the Authorization header.
 */
(function () {
  "use strict";
  var TOKEN_KEY = "dashboard.adminToken";
  // `?refresh=<seconds>` changes the period; a retry hint from the server is always the floor.
  var REFRESH_SECONDS = Number(new URLSearchParams(location.search).get("refresh")) || 10;

  var banner = new DegradedBanner(document.getElementById("banner-slot"));
  var byId = function (id) { return document.getElementById(id); };
  var timer = null;

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function authorized(extra) {
    return Object.assign({ headers: { "Authorization": "Bearer " + token() } }, extra || {});
  }

  function text(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "boolean") return value ? "yes" : "no";
    return String(value);
  }

  function table(columns, rows, testId) {
    var element = document.createElement("table");
    if (testId) element.setAttribute("data-testid", testId);
    var head = element.createTHead().insertRow();
    columns.forEach(function (column) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = column[1];
      head.appendChild(th);
    });
    var body = element.createTBody();
    rows.forEach(function (row) {
      var tr = body.insertRow();
      columns.forEach(function (column) { tr.insertCell().textContent = text(row[column[0]]); });
    });
    if (rows.length === 0) {
      var empty = body.insertRow().insertCell();
      empty.colSpan = columns.length;
      empty.textContent = "None.";
    }
    return element;
  }

  function fact(list, label, value) {
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    dd.textContent = text(value);
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function renderStatus(status, system) {
    var facts = byId("status-facts");
    facts.textContent = "";
    var policy = status.policy || {};
    var churn = status.restart_churn || {};
    var database = (system && system.database) || {};
    var pool = database.pool || {};
    var breaker = (system && system.breaker) || {};
    fact(facts, "Answering worker", status.worker_pid);
    fact(facts, "Master", status.master_pid);
    fact(facts, "Restart policy", policy.state);
    fact(facts, "Cooldown remaining", policy.cooldown_remaining_seconds !== undefined
         ? policy.cooldown_remaining_seconds + " s" : null);
    fact(facts, "Next action", policy.next_action);
    fact(facts, "Restarts in window", churn.count !== undefined
         ? churn.count + " of " + churn.threshold + " in " + churn.window_seconds + " s" +
           (churn.exceeded ? " (exceeded)" : "") : null);
    fact(facts, "Database", database.dialect);
    fact(facts, "Pool", pool.size !== undefined
         ? pool.checked_out + " checked out of " + pool.max_capacity + " (saturation " +
           pool.saturation + ")" : null);
    fact(facts, "Breaker", breaker.state);
    byId("workers-table").replaceChildren(table(
      [["pid", "PID"], ["started_at", "Started"], ["last_heartbeat", "Last heartbeat"],
       ["breaker_state", "Breaker"]], status.workers || [], "workers"));
    byId("history-table").replaceChildren(table(
      [["requested_at", "Requested"], ["source", "Source"], ["actor", "Actor"],
       ["reason", "Reason"], ["decision", "Decision"], ["override", "Override"],
       ["completed_at", "Completed"]], status.restart_history || [], "history"));
  }

  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(refresh, seconds * 1000);
  }

  function describe(error) {
    if (error.code === "UNAUTHORIZED") return "The token was refused (401). Enter the right token.";
    if (error.code === "FORBIDDEN") return "The admin API is disabled: no token is configured on the server.";
    return error.code + ": " + error.message;
  }

  function refresh() {
    if (!token()) {
      byId("status-updated").textContent = "Waiting for a token.";
      return;
    }
    Promise.all([
      MesApi.get("/admin/api/worker/status", authorized()),
      MesApi.get("/admin/api/system-status", authorized()).catch(function () { return null; })
    ]).then(function (answers) {
      banner.hide();
      byId("status-error").textContent = "";
      renderStatus(answers[0], answers[1]);
      byId("status-updated").textContent = "Updated " +
        new Date().toLocaleTimeString([], { hour12: false }) + "; refreshes every " +
        REFRESH_SECONDS + " s.";
      schedule(REFRESH_SECONDS);
    }, function (error) {
      if (error.degraded) banner.show(error.code, (MesApi.cooldown() || {}).until || null);
      byId("status-error").textContent = describe(error);
      // The server's hint is a floor for the next refresh, never shortened.
      schedule(Math.max(REFRESH_SECONDS, error.retryAfterSeconds || 0));
    });
  }

  function showTokenState() {
    byId("token-state").textContent = token() ? "A token is set for this tab." : "No token set.";
  }

  byId("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = byId("admin-token");
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = "";
    showTokenState();
    refresh();
  });

  byId("forget-token").addEventListener("click", function () {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(timer);
    showTokenState();
    byId("status-updated").textContent = "Waiting for a token.";
  });

  byId("restart-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var result = byId("restart-result");
    if (!token()) { result.textContent = "Enter the admin token first."; return; }
    var body = {
      reason: byId("restart-reason").value.trim(),
      override: byId("restart-override").checked,
      acknowledge: byId("restart-acknowledge").checked
    };
    var submit = byId("restart-submit");
    submit.disabled = true;
    result.className = "";
    result.textContent = "Sending…";
    // A restart is not idempotent: MesApi sends the POST once and never retries it.
    MesApi.post("/admin/api/worker/restart", body, authorized()).then(function (data) {
      result.className = "ok";
      result.textContent = "Restart " + data.decision + " (id " + data.restart_id +
                           "; policy was " + text(data.policy_before && data.policy_before.state ||
                           data.policy_before) + ").";
      byId("restart-reason").value = "";
      byId("restart-override").checked = false;
      byId("restart-acknowledge").checked = false;
      schedule(2);  // show the new history entry once the workers are back
    }, function (error) {
      result.className = "alert";
      if (error.code === "RESTART_COOLDOWN") {
        result.textContent = "Refused: cooling down after the last restart; try again in " +
          error.retryAfterSeconds + " s, or override with acknowledgement.";
      } else if (error.code === "RESTART_POLICY_BLOCKED") {
        result.textContent = "Refused: too many restarts recently (churn policy). " +
          "Override with acknowledgement only if you are sure.";
      } else {
        result.textContent = "Refused: " + describe(error);
      }
      schedule(1);
    }).then(function () { submit.disabled = false; });
  });

  showTokenState();
  refresh();
})();
