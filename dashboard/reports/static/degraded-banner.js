/*
 * The degraded banner: shown while the backend asks clients to wait, with the code and a live
 * countdown to the next attempt, so a person knows the data on screen is the last good copy and
 * when the page will try again. It follows MesApi's mesapi:degraded / mesapi:recovered events;
 * pages may also show it for a degraded error that carries no cooldown, and for a stale answer
 * (the server's saved copy, docs/plugins/fallback.md): "Showing data from 14:02 UTC (22 min old):
 * database unavailable; retrying in 28 s."
 *
 * The element exists only while degraded (created and removed), so "is there a banner" is a
 * plain question for people, assistive technology and tests alike.
 */
(function (global) {
  "use strict";

  var MESSAGES = {
    DB_POOL_EXHAUSTED: "All database connections are busy.",
    CIRCUIT_BREAKER_OPEN: "The database is failing; requests are paused.",
    DB_QUERY_TIMEOUT: "The database is answering too slowly.",
    DB_CONNECTION_FAILED: "The database cannot be reached.",
    DB_CONFLICT: "The database stopped a request to resolve a conflict; retrying.",
    OVERLOADED: "The server is overloaded; requests are paused briefly."
  };

  function timeText(value) {
    if (global.Fmt) return global.Fmt.time(value);
    return new Date(value).toLocaleTimeString([], { hour12: false });
  }

  function DegradedBanner(container) {
    this.container = container;   // the banner is inserted as this element's first child
    this.element = null;
    this.until = null;
    this.note = "";
    this.timer = null;
    var banner = this;
    global.addEventListener("mesapi:degraded", function (event) {
      banner.show(event.detail.code, event.detail.until);
    });
    global.addEventListener("mesapi:recovered", function () {
      if (!banner.stale) banner.hide();
    });
  }

  DegradedBanner.prototype.ensure = function () {
    if (this.element) return;
    this.element = document.createElement("div");
    this.element.className = "degraded-banner";
    this.element.setAttribute("data-testid", "degraded-banner");
    this.element.setAttribute("role", "status");
    this.element.innerHTML =
      '<span class="degraded-title"></span> <span class="degraded-message"></span> ' +
      '<span data-testid="degraded-countdown" aria-live="off"></span> ' +
      '<span class="degraded-note"></span>';
    this.container.insertBefore(this.element, this.container.firstChild);
  };

  /** Shows (or updates) the banner for `code`; `until` is epoch ms of the next try, or null. */
  DegradedBanner.prototype.show = function (code, until) {
    this.ensure();
    this.stale = null;
    this.element.removeAttribute("data-stale");
    var title = this.element.querySelector(".degraded-title");
    title.innerHTML = 'Service degraded: <strong data-testid="degraded-code"></strong>';
    title.querySelector("strong").textContent = code;
    this.element.querySelector(".degraded-message").textContent = MESSAGES[code] || "";
    this.start(until);
  };

  /**
   * The page shows the server's saved copy: when it was saved, how old it is, why, and when the
   * page asks again. `detail` is mesapi:stale's.
   */
  DegradedBanner.prototype.showStale = function (detail) {
    this.ensure();
    this.stale = detail;
    this.element.setAttribute("data-stale", "true");
    var savedAt = detail.staleSince ? new Date(detail.staleSince)
                                    : new Date(Date.now() - (detail.ageSeconds || 0) * 1000);
    var title = this.element.querySelector(".degraded-title");
    title.innerHTML = '<span data-testid="stale-note"></span> <strong data-testid="degraded-code"></strong>';
    title.querySelector('[data-testid="stale-note"]').textContent =
      "Showing data from " + timeText(savedAt) + " (" + global.Fmt.age(detail.ageSeconds || 0) +
      "): " + global.Fmt.codeWords(detail.code) + ";";
    title.querySelector("strong").textContent = detail.code ? "(" + detail.code + ")" : "";
    this.element.querySelector(".degraded-message").textContent = "";
    this.note = "";
    this.start(detail.until);
  };

  DegradedBanner.prototype.start = function (until) {
    this.until = until || null;
    this.tick();
    if (!this.timer) this.timer = setInterval(this.tick.bind(this), 250);
  };

  /** A line under the message, e.g. "Showing the last good data from 10:41 UTC." */
  DegradedBanner.prototype.setNote = function (note) {
    this.note = note || "";
    if (this.element) this.element.querySelector(".degraded-note").textContent = this.note;
  };

  DegradedBanner.prototype.tick = function () {
    if (!this.element) return;
    var countdown = this.element.querySelector('[data-testid="degraded-countdown"]');
    if (this.until === null) {
      countdown.textContent = "";
    } else {
      var seconds = Math.ceil((this.until - Date.now()) / 1000);
      countdown.textContent = seconds > 0 ? "Retrying in " + seconds + " s." : "Retrying now…";
      countdown.setAttribute("data-seconds", String(Math.max(0, seconds)));
    }
    this.element.querySelector(".degraded-note").textContent = this.note;
  };

  DegradedBanner.prototype.hide = function () {
    if (this.timer) { clearInterval(this.timer); this.timer = null; }
    if (this.element) { this.element.remove(); this.element = null; }
    this.stale = null;
  };

  DegradedBanner.prototype.visible = function () { return this.element !== null; };

  global.DegradedBanner = DegradedBanner;
})(window);
