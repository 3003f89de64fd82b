/*
 * What every page shows the same way: numbers with the reader's thousands separators, instants
 * as local time with the zone named (a UTC "Z" time read as local is an hour-long mistake), the
 * words for machine states, and the service status read from /health.
 *
 * /health is not enveloped (docs/api/health.md), so it is read with fetch, not MesApi; it is public
 * and cheap, which is why pages may poll it.
 */
(function (global) {
  "use strict";

  var numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  var dateTimeFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "short" });
  var timeFormat = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" });
  // A calendar day ("2026-11-28") is not an instant: shown as that day wherever the reader is.
  var dayFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });

  var WORDS = {
    allowed: "allowed", cooling_down: "cooling down", blocked: "blocked", unknown: "unknown",
    healthy: "healthy", degraded: "degraded", unhealthy: "unhealthy",
    CLOSED: "closed (calls pass)", OPEN: "open (calls paused)",
    HALF_OPEN: "half open (probing)", observe: "observe", throttle: "throttle",
    recover: "recover", pass: "pass", warn: "warning", fail: "failing",
    executed: "executed", refused: "refused", failed: "failed",
    manual: "manual", auto: "automatic", crash: "after a crash",
    database_unreachable: "database unreachable", circuit_breaker_open: "circuit breaker open",
    db_pool_saturated: "database pool saturated", restart_churn_exceeded: "too many restarts",
    overloaded: "overloaded", open: "forced open", disabled: "disabled",
    circuit_breaker_disabled: "circuit breaker disabled by an operator"
  };

  var CODE_WORDS = {
    DB_POOL_EXHAUSTED: "all database connections are busy",
    CIRCUIT_BREAKER_OPEN: "database calls are paused (circuit breaker open)",
    DB_QUERY_TIMEOUT: "the database is answering too slowly",
    DB_CONNECTION_FAILED: "database unavailable",
    OVERLOADED: "the server is overloaded",
    DB_CONFLICT: "the database resolved a conflict; retrying"
  };

  // No page polls faster than this, whatever `?refresh=` says: a typo such as `refresh=0.001`
  // must not turn one open tab into a flood of requests.
  var MIN_REFRESH_SECONDS = 2;

  /** The page's refresh period: `?refresh=<seconds>` when given, raised to the floor. */
  function refreshSeconds(defaultSeconds) {
    var asked = Number(new URLSearchParams(location.search).get("refresh")) || defaultSeconds;
    return Math.max(asked, MIN_REFRESH_SECONDS);
  }

  /** A state or reason as words ("cooling_down" -> "cooling down"); unknown ones de-underscored. */
  function word(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (Object.prototype.hasOwnProperty.call(WORDS, value)) return WORDS[value];
    return String(value).replace(/_/g, " ").toLowerCase();
  }

  function toDate(value) {
    if (value instanceof Date) return value;
    if (typeof value === "number") return new Date(value);
    var date = new Date(String(value));
    return isNaN(date.getTime()) ? null : date;
  }

  var Fmt = {
    /** A number with separators; `decimals` fixes the digits after the point (a column's). */
    number: function (value, decimals) {
      if (typeof value !== "number" || !isFinite(value)) {
        return value === null || value === undefined ? "" : String(value);
      }
      if (decimals === undefined) return numberFormat.format(value);
      return value.toLocaleString(undefined, { minimumFractionDigits: decimals,
                                              maximumFractionDigits: decimals });
    },
    /** How many digits after the point the values need (at most 2), so a column aligns. */
    decimalsOf: function (values) {
      return values.reduce(function (most, value) {
        if (typeof value !== "number" || !isFinite(value)) return most;
        var text = String(Math.abs(value));
        var point = text.indexOf(".");
        return Math.max(most, point < 0 ? 0 : Math.min(2, text.length - point - 1));
      }, 0);
    },
    /** An instant (Date, epoch ms or ISO text) as local date and time with the zone. */
    dateTime: function (value) {
      if (value === null || value === undefined || value === "") return "—";
      var date = toDate(value);
      return date ? dateTimeFormat.format(date) : String(value);
    },
    time: function (value) {
      var date = toDate(value);
      return date ? timeFormat.format(date) : "—";
    },
    day: function (value) {
      var date = /^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? new Date(value + "T00:00:00Z") : null;
      return date ? dayFormat.format(date) : String(value);
    },
    seconds: function (seconds) {
      seconds = Math.max(0, Math.ceil(seconds));
      if (seconds < 120) return seconds + " s";
      var minutes = Math.floor(seconds / 60);
      return minutes + " min" + (seconds % 60 ? " " + (seconds % 60) + " s" : "");
    },
    age: function (seconds) {
      seconds = Math.max(0, Math.round(seconds));
      if (seconds < 60) return seconds + " s old";
      if (seconds < 7200) return Math.round(seconds / 60) + " min old";
      return Math.round(seconds / 3600) + " h old";
    },
    word: word,
    codeWords: function (code) { return CODE_WORDS[code] || word(code); }
  };

  /**
   * Reads /health: resolves with {enabled: true, payload} or {enabled: false} when the health
   * plugin is not enabled (404); rejects when the server cannot be reached. A 503 "unhealthy"
   * answer is a payload like any other.
   */
  function readHealth() {
    return fetch("/health", { headers: { "Accept": "application/json" }, cache: "no-store",
                              credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 404) return { enabled: false };
        return response.json().then(function (payload) {
          if (!payload || typeof payload.status !== "string") return { enabled: false };
          return { enabled: true, payload: payload };
        });
      });
  }

  /** One sentence for a health payload: "Degraded: circuit breaker open." */
  function healthSentence(payload) {
    var status = payload.status;
    var text = status.charAt(0).toUpperCase() + word(status).slice(1);
    if (payload.degraded_reason) text += ": " + word(payload.degraded_reason);
    return text + ".";
  }

  /** Polls /health every `periodSeconds` and calls `render(result | null)` (null: unreachable). */
  function watchHealth(periodSeconds, render) {
    var period = Math.max(periodSeconds, MIN_REFRESH_SECONDS);
    function poll() {
      readHealth().then(render, function () { render(null); })
        .then(function () { setTimeout(poll, period * 1000); });
    }
    poll();
  }

  global.Fmt = Fmt;
  global.PageParams = { refreshSeconds: refreshSeconds, MIN_REFRESH_SECONDS: MIN_REFRESH_SECONDS };
  global.DashboardHealth = { read: readHealth, watch: watchHealth, sentence: healthSentence };
})(window);
