/*
 * The breaker controls of the operator page (docs/api/admin.md): force open, disable or reset the
 * circuit breaker for its whole scope, with a reason, a duration and an acknowledgement, after a
 * confirmation; the override in force is shown in words with a live countdown.
 *
 * Shown only when /health's `checks.breaker` carries `forced` (a breaker that supports
 * overrides). What is shown comes from two sources, newest first:
 *   - the answer of the last action (at once: no waiting for the next health read);
 *   - /health, unless that payload was computed before the last action (health is memoized
 *     for a few seconds per worker: `cache.age_seconds` says how old it is, which needs no
 *     clock agreement between browser and server).
 * The countdown runs on this browser's clock from the seconds left the server gave.
 *
 * The operator's reason is never in /health (public: it says only that an override is in force,
 * its action and its time left). It comes from authenticated answers only: the admin API's
 * system-status (`breaker.forced_reason`, read with the token) and the answer of an action made
 * here; it is shown while the override it was read with (same action) is the one in force.
 */
(function (global) {
  "use strict";

  var LABELS = { force_open: "Force the breaker open", disable: "Disable the breaker",
                 reset: "Reset the breaker" };

  /** deps: byId, token, authorized, describe, accessProblem, confirmStep, afterAction. */
  function BreakerControls(deps) {
    var byId = deps.byId;
    var shown = null;      // {forced, scope, state, left, at}: what the panel says
    var operator = { forced: null, reason: null };  // the reason, from an authenticated answer
    var actionAt = 0;      // Date.now() of the last action that succeeded

    function secondsLeft() {
      if (!shown || shown.left === null || shown.left === undefined) return null;
      return Math.max(0, Math.ceil(shown.left - (Date.now() - shown.at) / 1000));
    }

    /** Who an override reaches, in words: a worker-scope override still reaches every worker
     * of the host (through runtime_dir), so "worker" and "host" read the same. */
    function reach(scope) {
      if (scope === "cluster") return "every host of the cluster";
      if (scope && scope.indexOf("unreachable") >= 0) {
        return "every worker of this host (Redis unreachable)";
      }
      return "every worker of this host";
    }

    function sentence() {
      var scope = reach(shown.scope);
      var left = secondsLeft();
      if (shown.forced && left === 0) {
        return "The override has ended: the breaker follows the failure rate again (one " +
          "probe decides if it was forced open).";
      }
      if (!shown.forced) {
        return "No override for " + scope + ": the breaker follows the failure " +
          "rate" + (shown.state ? " (now " + Fmt.word(shown.state) + ")" : "") + ".";
      }
      var until = Fmt.time(Date.now() + left * 1000);
      var what = shown.forced === "open"
        ? "Forced open by an operator for " + scope + ": every database call is " +
          "refused for " + Fmt.seconds(left) + " more (until " + until + ")."
        : "Disabled by an operator for " + scope + ": database calls are not " +
          "protected by the breaker for " + Fmt.seconds(left) + " more (until " + until + ").";
      var reason = operator.forced === shown.forced ? operator.reason : null;
      return what + (reason ? " Reason: " + reason : "");
    }

    function tick() {
      var line = byId("breaker-forced");
      if (!shown) return;
      var left = secondsLeft();
      var forced = shown.forced && left !== 0 ? shown.forced : "none";
      line.setAttribute("data-forced", forced);
      line.setAttribute("data-seconds", left === null ? "" : String(left));
      line.className = forced === "none" ? "" : "notice";
      var text = sentence();
      if (line.textContent !== text) line.textContent = text;
    }

    /** From a health read: `breaker` is checks.breaker, `cache` the payload's cache block. */
    function render(breaker, cache, hidden) {
      var controllable = !!breaker && Object.prototype.hasOwnProperty.call(breaker, "forced");
      byId("breaker-controls").hidden = !controllable || hidden;
      if (!controllable) return;
      var age = cache && typeof cache.age_seconds === "number" ? cache.age_seconds : 0;
      var computedAt = Date.now() - age * 1000;
      if (computedAt < actionAt) return;  // older than the last action: its answer is newer
      shown = { forced: breaker.forced, scope: breaker.scope, state: breaker.state,
                left: breaker.forced_seconds_left, at: computedAt };
      tick();
    }

    /** From the authenticated system-status: `breaker` is its `breaker` block (with the reason),
     * or null when it could not be read (then the reason last read stays). */
    function renderOperator(breaker) {
      if (!breaker || !Object.prototype.hasOwnProperty.call(breaker, "forced")) return;
      operator = { forced: breaker.forced, reason: breaker.forced_reason || null };
      tick();
    }

    /** The token was forgotten or refused: what it showed goes with it. */
    function forgetOperator() {
      operator = { forced: null, reason: null };
      tick();
    }

    function answered(data, action, reason) {
      actionAt = Date.now();
      // An answer's scope is where the override went: "worker" only when runtime_dir could
      // not carry it to the other workers.
      var whom = data.scope === "worker" ? "this worker only" : reach(data.scope);
      shown = { forced: data.forced, scope: data.scope,
                state: data.forced === "open" ? "OPEN" : "CLOSED", left: data.seconds_left,
                at: actionAt };
      operator = { forced: data.forced, reason: data.forced ? reason : null };
      tick();
      var result = byId("breaker-result");
      result.className = "ok";
      result.textContent = action === "reset"
        ? "Reset: no override is in force for " + whom + "."
        : LABELS[action].replace("Force the breaker open", "Forced open")
            .replace("Disable the breaker", "Disabled") + " for " + whom +
          " until " + Fmt.dateTime(data.expires_at) + ".";
    }

    byId("breaker-action").addEventListener("change", function () {
      byId("breaker-duration").disabled = byId("breaker-action").value === "reset";
    });

    byId("breaker-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var result = byId("breaker-result");
      if (!deps.token()) {
        result.className = "alert";
        result.textContent = "Enter the admin token first.";
        return;
      }
      var action = byId("breaker-action").value;
      var reason = byId("breaker-reason").value.trim();
      var body = { action: action, reason: reason,
                   acknowledge: byId("breaker-acknowledge").checked };
      if (action !== "reset") body.duration_seconds = Number(byId("breaker-duration").value);
      var message = LABELS[action] +
        (body.duration_seconds ? " for " + Fmt.seconds(body.duration_seconds) : "") + "?" +
        " It applies to the breaker's whole scope, every worker of it, not only the one " +
        "answering this page." +
        (action === "force_open" ? " Every database call will be refused meanwhile." : "") +
        (action === "disable" ? " Database calls will not be protected meanwhile." : "");
      result.className = "";
      result.textContent = "";
      deps.confirmStep("breaker", message).then(function (confirmed) {
        if (!confirmed) { result.textContent = "Cancelled; nothing was sent."; return; }
        result.textContent = "Sending…";
        return MesApi.post("/admin/api/breaker", body, deps.authorized()).then(function (data) {
          answered(data, action, reason);
          byId("breaker-reason").value = "";
          byId("breaker-acknowledge").checked = false;
        }, function (error) {
          result.className = "alert";
          result.textContent = "Refused: " + deps.describe(error);
          deps.accessProblem(error);
        }).then(deps.afterAction);
      });
    });

    setInterval(tick, 250);
    return { render: render, renderOperator: renderOperator, forgetOperator: forgetOperator };
  }

  global.BreakerControls = BreakerControls;
})(window);
