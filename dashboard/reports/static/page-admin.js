/*
 * The operator page. Top to bottom, in the order an operator needs it during an incident:
 *   1. health (status, degraded reason, the recommendation and why) from the public /health,
 *      so the page says whether a restart can help before it offers one;
 *   2. the restart policy with a live countdown to the end of a cooldown;
 *   3. workers (each with its own breaker state), the breaker controls of docs/api/admin.md (only
 *      where the breaker reports a `forced` state, i.e. supports them), the restart form and
 *      the history, through the admin API with a bearer token.
 * Every action asks for confirmation first, and its outcome is re-read from the server at once,
 * so the history shows it without waiting for the next refresh. With `recovery` not enabled
 * (no admin API: health says policy null, or the API answers 404) the page says so.
 *
 * The token lives only in this tab's sessionStorage: never in localStorage, a cookie or the URL,
 * so it leaves with the tab and is not sent anywhere but the Authorization header. A token the
 * server refused is forgotten, and the page says it was refused rather than "set".
 */
(function () {
  "use strict";
  var TOKEN_KEY = "dashboard.adminToken";
  // `?refresh=<seconds>` changes the period; a retry hint from the server is always the floor.
  var REFRESH_SECONDS = PageParams.refreshSeconds(10);
  var HEALTH_SECONDS = Math.min(REFRESH_SECONDS, 5);

  var banner = new DegradedBanner(document.getElementById("banner-slot"));
  var byId = function (id) { return document.getElementById(id); };
  var timer = null;
  var policy = null;          // {state, remaining, at, next_action} from the newest reading
  var recoveryMissing = false;
  var tokenNote = null;       // what the server said about the token last time, if anything
  var latestHealth = null;

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function authorized(extra) {
    return Object.assign({ headers: { "Authorization": "Bearer " + token() } }, extra || {});
  }

  function text(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "boolean") return value ? "yes" : "no";
    return String(value);
  }

  /** columns: [key, heading, format?]; format turns the raw value into text. */
  function table(columns, rows, testId, caption) {
    var element = document.createElement("table");
    if (testId) element.setAttribute("data-testid", testId);
    if (caption) element.createCaption().textContent = caption;
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
      columns.forEach(function (column) {
        var value = row[column[0]];
        tr.insertCell().textContent = column[2] ? column[2](value, row) : text(value);
      });
    });
    if (rows.length === 0) {
      var empty = body.insertRow().insertCell();
      empty.colSpan = columns.length;
      empty.textContent = "No entries yet.";
    }
    return element;
  }

  function fact(list, label, value, testId) {
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    dd.textContent = text(value);
    if (testId) dd.setAttribute("data-testid", testId);
    list.appendChild(dt);
    list.appendChild(dd);
  }

  // ---- health and policy (public: no token needed) ------------------------------------------

  function renderHealth(result) {
    var summary = byId("health-summary");
    var facts = byId("health-facts");
    facts.textContent = "";
    byId("health-updated").textContent = "Checked " + Fmt.dateTime(new Date()) +
                                         "; every " + HEALTH_SECONDS + " s.";
    if (result === null) {
      summary.setAttribute("data-status", "unreachable");
      summary.textContent = "The server cannot be reached.";
      return;
    }
    if (!result.enabled) {
      summary.setAttribute("data-status", "unknown");
      summary.textContent = "Health checks are not enabled on this server (no /health).";
      probeAdmin();
      return;
    }
    var payload = result.payload;
    latestHealth = payload;
    summary.setAttribute("data-status", payload.status);
    summary.textContent = DashboardHealth.sentence(payload);
    var resilience = payload.resilience || {};
    var recommendation = resilience.recommendation || {};
    var checks = payload.checks || {};
    var breaker = checks.breaker || null;
    fact(facts, "Status", Fmt.word(payload.status), "health-status");
    fact(facts, "Degraded reason", payload.degraded_reason ? Fmt.word(payload.degraded_reason)
                                                           : "none", "health-reason");
    fact(facts, "Recommendation", recommendation.action
         ? Fmt.word(recommendation.action) + ": " + text(recommendation.reason) : null,
         "health-recommendation");
    if (breaker) {
      fact(facts, "Breaker (this answer's worker)", Fmt.word(breaker.state) +
           (typeof breaker.failure_rate === "number"
             ? ", failure rate " + Math.round(breaker.failure_rate * 100) + " %" : ""));
      if (breaker.scope) fact(facts, "Breaker scope", breaker.scope);
    }
    if (checks.pool) {
      fact(facts, "Database pool", Fmt.number(checks.pool.checked_out) + " of " +
           Fmt.number(checks.pool.max_capacity) + " connections in use");
    }
    renderAdvice(recommendation);
    breakerControls.render(breaker, payload.cache, recoveryMissing);
    if (resilience.policy === null && "policy" in resilience) showRecoveryMissing();
    else if (resilience.policy) readPolicy(resilience.policy);
  }

  /** Says, beside the Restart button, whether the recommendation thinks a restart helps. */
  function renderAdvice(recommendation) {
    var advice = byId("restart-advice");
    if (!recommendation.action) { advice.textContent = ""; return; }
    advice.className = recommendation.action === "recover" ? "notice" : "muted";
    advice.textContent = recommendation.action === "recover"
      ? "Recommended now: " + text(recommendation.reason)
      : "A restart is not recommended now (" + Fmt.word(recommendation.action) + "): " +
        text(recommendation.reason);
  }

  function readPolicy(reading) {
    policy = { state: reading.state, next: reading.next_action, at: Date.now(),
               remaining: Number(reading.cooldown_remaining_seconds) || 0 };
    tickPolicy();
  }

  function tickPolicy() {
    var line = byId("policy-line");
    if (!policy) return;
    var left = Math.max(0, Math.ceil(policy.remaining - (Date.now() - policy.at) / 1000));
    line.setAttribute("data-state", policy.state);
    var words = "Restarts: " + Fmt.word(policy.state);
    if (policy.state === "cooling_down") {
      words += left > 0 ? "; allowed again in " + Fmt.seconds(left) + " (unless blocked)."
                        : "; the cooldown is ending.";
    } else if (policy.state === "blocked") {
      words += ": too many restarts recently; only an acknowledged override restarts now.";
    } else {
      words += ".";
    }
    line.textContent = words;
    line.setAttribute("data-seconds", String(left));
    byId("policy-next").textContent = policy.next ? "Next: " + policy.next : "";
  }

  var probed = false;

  /**
   * Without health there is no policy to tell whether `recovery` runs: ask the admin API once,
   * without a token (404: not enabled; 403: no token configured; 401: enabled, token needed).
   */
  function probeAdmin() {
    if (probed || token()) return;
    probed = true;
    fetch("/admin/api/worker/status", { headers: { "Accept": "application/json" },
                                        cache: "no-store" })
      .then(function (response) {
        if (response.status === 404) showRecoveryMissing();
        if (response.status === 403) accessProblem({ code: "FORBIDDEN", status: 403 });
      }, function () {});
  }

  function showRecoveryMissing() {
    if (recoveryMissing) return;
    recoveryMissing = true;
    clearTimeout(timer);
    byId("recovery-missing").hidden = false;
    byId("recovery-parts").hidden = true;
    byId("policy-panel").hidden = true;
  }


  // ---- the admin API ------------------------------------------------------------------------

  function showTokenState() {
    var state = byId("token-state");
    if (tokenNote) { state.textContent = tokenNote; state.className = "alert"; return; }
    state.className = "muted";
    state.textContent = token() ? "A token is entered for this tab; checking it with the server…"
                                : "No token entered. Enter the admin token to see the workers.";
  }

  function tokenAccepted() {
    tokenNote = null;
    var state = byId("token-state");
    state.className = "ok";
    state.textContent = "Token accepted by the server (kept for this tab only).";
  }

  function renderStatus(status, system) {
    var facts = byId("status-facts");
    facts.textContent = "";
    var churn = status.restart_churn || {};
    var database = (system && system.database) || {};
    var pool = database.pool || {};
    fact(facts, "Master process", status.master_pid);
    fact(facts, "Restarts in window", churn.count !== undefined
         ? churn.count + " in the last " + Fmt.seconds(churn.window_seconds) + "; blocked at " +
           churn.threshold + (churn.exceeded ? " (exceeded: blocked now)" : "") : null);
    fact(facts, "Last restart", status.last_restart
         ? Fmt.dateTime(status.last_restart.requested_at || status.last_restart) : "none");
    if (database.dialect) {
      fact(facts, "Database", database.dialect + "; pool " + Fmt.number(pool.checked_out) +
           " of " + Fmt.number(pool.max_capacity) + " in use");
    }
    if (status.policy) readPolicy(status.policy);
    byId("workers-table").replaceChildren(table(
      [["pid", "Worker PID"], ["started_at", "Started", Fmt.dateTime],
       ["last_heartbeat", "Last heartbeat", Fmt.dateTime],
       ["breaker_state", "Breaker", Fmt.word]], status.workers || [], "workers",
      "Each worker's own breaker"));
    byId("history-table").replaceChildren(table(
      [["requested_at", "Requested", Fmt.dateTime], ["source", "Source", Fmt.word],
       ["actor", "Actor"], ["reason", "Reason"], ["decision", "Decision", Fmt.word],
       ["override", "Override"], ["completed_at", "Completed", Fmt.dateTime]],
      status.restart_history || [], "history", "Newest first"));
  }

  function schedule(seconds) {
    clearTimeout(timer);
    if (!recoveryMissing) timer = setTimeout(refresh, seconds * 1000);
  }

  function describe(error) {
    if (error.code === "UNAUTHORIZED") return "The token was refused (401). Enter the right token.";
    if (error.code === "FORBIDDEN") return "The admin API is disabled: no token is configured on the server.";
    return error.code + ": " + error.message;
  }

  /** Handles what every admin call may answer about access; true when it was one of those. */
  function accessProblem(error) {
    if (error.code === "NOT_FOUND" && error.status === 404) { showRecoveryMissing(); return true; }
    if (error.code === "UNAUTHORIZED") {
      sessionStorage.removeItem(TOKEN_KEY);
      breakerControls.forgetOperator();
      tokenNote = "The server refused that token (401), so no token is in use. Enter the right token.";
      showTokenState();
      byId("status-updated").textContent = "Waiting for a valid token.";
      return true;
    }
    if (error.code === "FORBIDDEN") {
      tokenNote = "The admin API is disabled on this server: no admin token is configured there.";
      showTokenState();
      return true;
    }
    return false;
  }

  /** Re-reads the status now; resolves when it is on screen (or failed). */
  function refresh() {
    if (recoveryMissing) return Promise.resolve();
    if (!token()) {
      byId("status-updated").textContent = tokenNote ? "Waiting for a valid token."
                                                     : "Waiting for a token.";
      return Promise.resolve();
    }
    return Promise.all([
      MesApi.get("/admin/api/worker/status", authorized()),
      MesApi.get("/admin/api/system-status", authorized()).catch(function () { return null; })
    ]).then(function (answers) {
      banner.hide();
      tokenAccepted();
      byId("status-error").textContent = "";
      renderStatus(answers[0], answers[1]);
      breakerControls.renderOperator(answers[1] && answers[1].breaker);
      byId("status-updated").textContent = "Updated " + Fmt.dateTime(new Date()) +
        "; refreshes every " + REFRESH_SECONDS + " s.";
      schedule(REFRESH_SECONDS);
    }, function (error) {
      if (accessProblem(error)) {
        byId("status-error").textContent = recoveryMissing ? "" : describe(error);
        return;
      }
      if (error.degraded) banner.show(error.code, (MesApi.cooldown() || {}).until || null);
      byId("status-error").textContent = describe(error);
      // The server's hint is a floor for the next refresh, never shortened.
      schedule(Math.max(REFRESH_SECONDS, error.retryAfterSeconds || 0));
    });
  }

  /** After an action: show its outcome in the history now, and again as the workers come back. */
  function refreshAfterAction() {
    refresh();
    DashboardHealth.read().then(renderHealth, function () {});
    [2, 5].forEach(function (seconds) {
      setTimeout(function () { refresh(); }, seconds * 1000);
    });
  }

  // ---- confirmation -------------------------------------------------------------------------

  /** Shows `panel` with `message`; resolves true on Yes, false on Cancel. */
  function confirmStep(prefix, message) {
    var panel = byId(prefix + "-confirm");
    byId(prefix + "-confirm-text").textContent = message;
    panel.hidden = false;
    byId(prefix + "-submit").disabled = true;
    byId(prefix + "-confirm-yes").focus();
    return new Promise(function (resolve) {
      function finish(answer) {
        panel.hidden = true;
        byId(prefix + "-submit").disabled = false;
        byId(prefix + "-confirm-yes").onclick = null;
        byId(prefix + "-confirm-no").onclick = null;
        resolve(answer);
      }
      byId(prefix + "-confirm-yes").onclick = function () { finish(true); };
      byId(prefix + "-confirm-no").onclick = function () { finish(false); };
    });
  }

  function policyWords() {
    if (!policy) return "";
    var left = Math.max(0, Math.ceil(policy.remaining - (Date.now() - policy.at) / 1000));
    return " The policy is " + Fmt.word(policy.state) +
           (policy.state === "cooling_down" ? " (" + Fmt.seconds(left) + " left)" : "") + ".";
  }

  // ---- restart ------------------------------------------------------------------------------

  byId("restart-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var result = byId("restart-result");
    if (!token()) { result.className = "alert"; result.textContent = "Enter the admin token first."; return; }
    var body = {
      reason: byId("restart-reason").value.trim(),
      override: byId("restart-override").checked,
      acknowledge: byId("restart-acknowledge").checked
    };
    if (!body.reason) { result.className = "alert"; result.textContent = "A reason is required."; return; }
    var advice = latestHealth && latestHealth.resilience && latestHealth.resilience.recommendation;
    var message = "Restart all workers now?" + policyWords() +
      (body.override ? " You are overriding the policy." : "") +
      (advice && advice.action && advice.action !== "recover"
        ? " The recommendation is to " + Fmt.word(advice.action) + ", not to restart." : "");
    result.className = "";
    result.textContent = "";
    confirmStep("restart", message).then(function (confirmed) {
      if (!confirmed) { result.textContent = "Restart cancelled; nothing was sent."; return; }
      result.textContent = "Sending…";
      // A restart is not idempotent: MesApi sends the POST once and never retries it.
      return MesApi.post("/admin/api/worker/restart", body, authorized()).then(function (data) {
        result.className = "ok";
        result.textContent = "Restart " + Fmt.word(data.decision) + " (id " + data.restart_id +
          "; the policy was " + Fmt.word(data.policy_before && data.policy_before.state ||
                                         data.policy_before) + ").";
        byId("restart-reason").value = "";
        byId("restart-override").checked = false;
        byId("restart-acknowledge").checked = false;
      }, function (error) {
        result.className = "alert";
        if (accessProblem(error)) {
          result.textContent = "Not sent: " + describe(error);
        } else if (error.code === "RESTART_COOLDOWN") {
          result.textContent = "Refused: cooling down after the last restart; try again in " +
            Fmt.seconds(error.retryAfterSeconds || 0) + ", or override with acknowledgement.";
        } else if (error.code === "RESTART_POLICY_BLOCKED") {
          result.textContent = "Refused: too many restarts recently (churn policy is blocked). " +
            "Override with acknowledgement only if you are sure.";
        } else {
          result.textContent = "Refused: " + describe(error);
        }
      }).then(refreshAfterAction);
    });
  });

  // ---- breaker control (docs/api/admin.md; admin-breaker.js) ------------------------------------

  var breakerControls = BreakerControls({
    byId: byId, token: token, authorized: authorized, describe: describe,
    accessProblem: accessProblem, confirmStep: confirmStep, afterAction: refreshAfterAction
  });

  // ---- token --------------------------------------------------------------------------------

  byId("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = byId("admin-token");
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = "";
    tokenNote = null;
    showTokenState();
    refresh();
  });

  byId("forget-token").addEventListener("click", function () {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(timer);
    breakerControls.forgetOperator();
    tokenNote = null;
    showTokenState();
    byId("status-updated").textContent = "Waiting for a token.";
  });

  setInterval(tickPolicy, 250);
  DashboardHealth.watch(HEALTH_SECONDS, renderHealth);
  showTokenState();
  refresh();
})();
