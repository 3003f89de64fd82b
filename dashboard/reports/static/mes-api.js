/*
 * MesApi: the browser client of the MES dashboard (docs/api/pages.md).
 *
 * A classic script with no dependencies: load it with <script src="/static/mes-api.js"> and use
 * window.MesApi.get / post / request. Calls resolve with the envelope's `data` and reject with a
 * MesApiError.
 *
 * Why it is built this way: the clients before it retried instantly on exactly the answers that
 * ask a struggling server to slow down, so a pool running dry turned into a retry storm. This one
 *   - retries only the degraded codes and network errors, only idempotent methods unless told,
 *     never a 4xx;
 *   - waits at least the server's hint (Retry-After) plus full-jitter backoff, and gives up at once
 *     when the hint is longer than the caller is willing to wait (maxDelayMs);
 *   - keeps ONE cooldown per origin for the whole page: while it is armed no call is sent, and
 *     when it ends a single call goes first as the probe; the others follow only if it succeeds.
 *
 * Options (per call, or page-wide in MesApi.defaults): maxRetries (2), maxDelayMs (30000),
 * baseDelayMs (500), retryUnsafe (false), signal, headers, body (JSON-encoded unless a string or
 * FormData). Events on window: "mesapi:degraded" with detail {code, retryAfterSeconds, until}
 * (`until` in epoch milliseconds, comparable with Date.now()) and "mesapi:recovered" when the probe
 * after a cooldown gets a normal answer. MesApi.cooldown() tells a page the armed cooldown, if any.
 * A stale answer (a 200 whose meta.stale is true: the server's last good copy standing in while
 * the database cannot answer, docs/plugins/fallback.md) resolves with its data like any success,
 * after "mesapi:stale" with detail {url, ageSeconds, code, retryAfterSeconds, staleSince, until}:
 * `url`
 * as the caller gave it, `code` the degraded code the copy stands in for. It does not arm the
 * cooldown (the server did answer), so the page decides when to ask again, from the hint.
 * An aborted call rejects with the signal's reason (an AbortError DOMException by default), as
 * fetch does.
 */
(function (global) {
  "use strict";

  var DEGRADED_CODES = ["DB_POOL_EXHAUSTED", "CIRCUIT_BREAKER_OPEN", "DB_QUERY_TIMEOUT",
                        "DB_CONNECTION_FAILED", "DB_CONFLICT", "OVERLOADED"];
  var SAFE_METHODS = ["GET", "HEAD", "OPTIONS"];
  var DEFAULTS = {
    maxRetries: 2,       // retries after the first attempt
    maxDelayMs: 30000,   // longest single wait the caller accepts; a longer hint rejects at once
    baseDelayMs: 500,    // full-jitter backoff: random(0, min(maxDelayMs, base * 2^retry))
    retryUnsafe: false   // retry POST/PUT/PATCH/DELETE too (only for idempotent endpoints)
  };

  /** The error every failed call rejects with (an abort rejects with the signal's reason). */
  function MesApiError(fields) {
    fields = typeof fields === "string" ? { message: fields } : (fields || {});
    var error = new Error(fields.message || fields.code);
    Object.setPrototypeOf(error, MesApiError.prototype);
    error.name = "MesApiError";
    error.status = fields.status || 0;                  // HTTP status, 0 for network errors
    error.code = fields.code || "UNKNOWN_ERROR";        // envelope error.code, or NETWORK_ERROR
    error.retryAfterSeconds = fields.retryAfterSeconds === undefined ? null
                            : fields.retryAfterSeconds;  // the server's hint, null when none
    error.degraded = !!fields.degraded;                 // the backend is struggling (wait, retry)
    error.attempts = fields.attempts || 0;              // requests actually sent by this call
    error.requestId = fields.requestId || null;
    error.retryable = !!fields.retryable;
    return error;
  }
  MesApiError.prototype = Object.create(Error.prototype, {
    constructor: { value: MesApiError, writable: true, configurable: true }
  });

  // ---- time and abort helpers --------------------------------------------------------------

  function now() { return Date.now(); }

  function abortReason(signal) {
    if (signal && signal.reason !== undefined) return signal.reason;
    try { return new DOMException("The operation was aborted.", "AbortError"); }
    catch (e) { var error = new Error("The operation was aborted."); error.name = "AbortError"; return error; }
  }

  function throwIfAborted(signal) {
    if (signal && signal.aborted) throw abortReason(signal);
  }

  /** Resolves after `ms` (Infinity: never by itself) or when `wake` is called; rejects on abort. */
  function pause(ms, signal, register) {
    return new Promise(function (resolve, reject) {
      var timer = null;
      var unregister = null;
      function done(fn, value) {
        if (timer !== null) clearTimeout(timer);
        if (unregister) unregister();
        if (signal) signal.removeEventListener("abort", onAbort);
        fn(value);
      }
      function onAbort() { done(reject, abortReason(signal)); }
      if (signal && signal.aborted) { reject(abortReason(signal)); return; }
      if (signal) signal.addEventListener("abort", onAbort);
      if (ms !== Infinity) timer = setTimeout(function () { done(resolve); }, Math.max(0, ms));
      if (register) unregister = register(function () { done(resolve); });
    });
  }

  // ---- one cooldown per origin, shared by every call on the page ---------------------------

  var origins = {};

  function originState(origin) {
    if (!origins[origin]) {
      origins[origin] = {
        until: 0,            // epoch ms; no call is sent before it
        code: null,
        retryAfterSeconds: null,
        needsProbe: false,   // a degraded answer was seen: the next call after `until` probes
        probeActive: false,  // a probe is in flight; the others wait for its outcome
        waiters: []          // wake-up functions of calls waiting on this origin
      };
    }
    return origins[origin];
  }

  function notify(state) {
    var waiters = state.waiters.slice();
    state.waiters.length = 0;
    waiters.forEach(function (wake) { wake(); });
  }

  function waitOnOrigin(state, ms, signal) {
    return pause(ms, signal, function (wake) {
      state.waiters.push(wake);
      return function () {
        var index = state.waiters.indexOf(wake);
        if (index >= 0) state.waiters.splice(index, 1);
      };
    });
  }

  function dispatch(name, detail) {
    if (typeof global.dispatchEvent !== "function" || typeof CustomEvent !== "function") return;
    global.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  /**
   * Waits until this call may be sent. Resolves with a ticket telling whether it is the probe.
   * A cooldown longer than the caller's maxDelayMs is not waited for (same rule as a hint).
   */
  async function admit(state, options, attempts) {
    for (;;) {
      throwIfAborted(options.signal);
      var remaining = state.until - now();
      if (remaining > 0) {
        if (remaining > options.maxDelayMs) {
          throw new MesApiError({
            status: 0, code: state.code, degraded: true, retryable: true, attempts: attempts,
            retryAfterSeconds: Math.ceil(remaining / 1000),
            message: "The server asked clients to wait longer than this call allows."
          });
        }
        await waitOnOrigin(state, remaining, options.signal);
        continue;
      }
      if (!state.needsProbe) return { probe: false };
      if (!state.probeActive) {
        state.probeActive = true;
        return { probe: true };
      }
      await waitOnOrigin(state, Infinity, options.signal);  // the probe's outcome wakes us
    }
  }

  /** A degraded answer (re)arms the origin's cooldown; every waiting call sees the new end. */
  function arm(state, ticket, code, retryAfterSeconds) {
    var until = now() + retryAfterSeconds * 1000;
    state.until = Math.max(state.until, until);
    state.code = code;
    state.retryAfterSeconds = retryAfterSeconds;
    state.needsProbe = true;
    if (ticket.probe) state.probeActive = false;
    dispatch("mesapi:degraded", { code: code, retryAfterSeconds: retryAfterSeconds,
                                  until: state.until });
    notify(state);
  }

  /** The server answered without a degraded code: a probe's success lets the followers go. */
  function recovered(state, ticket) {
    if (!ticket.probe) return;  // a stale answer to a call sent before the cooldown was armed
    state.needsProbe = false;
    state.probeActive = false;
    state.code = null;
    state.retryAfterSeconds = null;
    dispatch("mesapi:recovered", {});
    notify(state);
  }

  /** The probe got no answer (network error, abort): the next waiting call probes instead. */
  function releaseProbe(state, ticket) {
    if (!ticket.probe) return;
    state.probeActive = false;
    notify(state);
  }

  // ---- responses ---------------------------------------------------------------------------

  function parseRetryAfter(header, meta) {
    if (header) {
      var seconds = Number(header);
      if (isFinite(seconds) && header.trim() !== "") return Math.max(0, Math.ceil(seconds));
      var date = Date.parse(header);
      if (!isNaN(date)) return Math.max(0, Math.ceil((date - now()) / 1000));
    }
    if (meta && typeof meta.retry_after_seconds === "number") return meta.retry_after_seconds;
    return null;
  }

  async function readEnvelope(response) {
    var text = await response.text();
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function errorFromResponse(response, envelope, attempts) {
    var error = envelope && envelope.error ? envelope.error : {};
    var meta = envelope && envelope.meta ? envelope.meta : {};
    var code = error.code || (response.ok ? "BAD_RESPONSE" : "HTTP_" + response.status);
    var degraded = DEGRADED_CODES.indexOf(code) >= 0;
    return new MesApiError({
      status: response.status, code: code, attempts: attempts, degraded: degraded,
      message: error.message || response.statusText || code,
      retryAfterSeconds: parseRetryAfter(response.headers.get("Retry-After"), meta),
      retryable: degraded && error.retryable !== false,
      requestId: meta.request_id || response.headers.get("X-Request-ID")
    });
  }

  /** Tells the page its data is the server's last good copy, how old, and why. */
  function announceStale(url, response, meta) {
    var retryAfter = parseRetryAfter(response.headers.get("Retry-After"), meta);
    var age = typeof meta.age_seconds === "number" ? meta.age_seconds
            : Number(response.headers.get("Age")) || 0;
    dispatch("mesapi:stale", {
      url: String(url), ageSeconds: age, code: meta.degraded_code || null,
      retryAfterSeconds: retryAfter, staleSince: meta.stale_since || null,
      until: retryAfter === null ? null : now() + retryAfter * 1000
    });
  }

  // ---- the call ----------------------------------------------------------------------------

  function backoffMs(options, retry) {
    var ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * Math.pow(2, retry));
    return Math.random() * ceiling;
  }

  function buildInit(method, options) {
    var headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
    var init = { method: method, headers: headers, signal: options.signal,
                 credentials: "same-origin", cache: "no-store" };
    if (options.body !== undefined) {
      if (typeof options.body === "string" || options.body instanceof FormData) {
        init.body = options.body;
      } else {
        init.body = JSON.stringify(options.body);
        if (!headers["Content-Type"]) headers["Content-Type"] = "application/json";
      }
    }
    return init;
  }

  async function request(method, url, opts) {
    method = String(method || "GET").toUpperCase();
    var options = Object.assign({}, DEFAULTS, MesApi.defaults, opts || {});
    var target = new URL(url, global.location ? global.location.href : undefined);
    var state = originState(target.origin);
    var mayRetry = SAFE_METHODS.indexOf(method) >= 0 || !!options.retryUnsafe;
    var attempts = 0;

    for (;;) {
      var ticket = await admit(state, options, attempts);
      attempts += 1;
      var failure = null;  // (var: reset explicitly on every attempt)
      var response = null;
      var envelope = null;
      try {
        response = await fetch(target.href, buildInit(method, options));
        envelope = await readEnvelope(response);
      } catch (caught) {
        releaseProbe(state, ticket);
        if (options.signal && options.signal.aborted) throw abortReason(options.signal);
        failure = new MesApiError({
          status: 0, code: "NETWORK_ERROR", attempts: attempts, degraded: false,
          retryable: true, retryAfterSeconds: null,
          message: "The server could not be reached (" + (caught && caught.message) + ")."
        });
      }
      if (!failure) {
        if (response.ok && envelope && envelope.success === true) {
          recovered(state, ticket);
          if (envelope.meta && envelope.meta.stale === true) announceStale(url, response, envelope.meta);
          return envelope.data;
        }
        failure = errorFromResponse(response, envelope, attempts);
        if (failure.degraded && failure.retryAfterSeconds !== null) {
          arm(state, ticket, failure.code, failure.retryAfterSeconds);
        } else if (failure.degraded) {
          releaseProbe(state, ticket);  // degraded but nothing to wait for (e.g. bad credentials)
        } else {
          recovered(state, ticket);     // the server answered normally, even if it said no
        }
      }

      var hintMs = (failure.retryAfterSeconds || 0) * 1000;
      if (failure.degraded && hintMs > options.maxDelayMs) throw failure;
      if (!failure.retryable || !mayRetry || attempts > options.maxRetries) throw failure;
      var waitMs = Math.min(options.maxDelayMs,
                            (failure.degraded ? hintMs : 0) + backoffMs(options, attempts - 1));
      await pause(Math.max(waitMs, failure.degraded ? hintMs : 0), options.signal);
    }
  }

  var MesApi = {
    defaults: {},
    DEGRADED_CODES: DEGRADED_CODES.slice(),
    MesApiError: MesApiError,
    request: function (method, url, opts) { return request(method, url, opts); },
    get: function (url, opts) { return request("GET", url, opts); },
    post: function (url, body, opts) {
      return request("POST", url, Object.assign({}, opts || {}, { body: body }));
    },
    /** The origin's cooldown as pages show it: {code, retryAfterSeconds, until} or null. */
    cooldown: function (url) {
      var origin = new URL(url || "/", global.location ? global.location.href : undefined).origin;
      var state = origins[origin];
      if (!state || !state.needsProbe) return null;
      return { code: state.code, retryAfterSeconds: state.retryAfterSeconds, until: state.until };
    }
  };

  global.MesApi = MesApi;
  global.MesApiError = MesApiError;
})(typeof window !== "undefined" ? window : globalThis);
