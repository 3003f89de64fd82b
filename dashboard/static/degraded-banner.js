/*
 * The degraded banner: shown while the backend asks clients to wait, with the code and a live
 * countdown to the next attempt, so a person knows the data on screen is the last good copy and
 * when the page will try again. It follows MesApi's mesapi:degraded / mesapi:recovered events;
 * pages may also show it for a degraded error that carries no cooldown.
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
    DB_CONNECTION_FAILED: "The database cannot be reached."
  };

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
    global.addEventListener("mesapi:recovered", function () { banner.hide(); });
  }

  /** Shows (or updates) the banner for `code`; `until` is epoch ms of the next try, or null. */
  DegradedBanner.prototype.show = function (code, until) {
    if (!this.element) {
      this.element = document.createElement("div");
      this.element.className = "degraded-banner";
      this.element.setAttribute("data-testid", "degraded-banner");
      this.element.setAttribute("role", "status");
      this.element.innerHTML =
        '<span class="degraded-title">Service degraded: <strong data-testid="degraded-code"></strong>' +
        '</span> <span class="degraded-message"></span> ' +
        '<span data-testid="degraded-countdown" aria-live="off"></span> ' +
        '<span class="degraded-note"></span>';
      this.container.insertBefore(this.element, this.container.firstChild);
    }
    this.element.querySelector('[data-testid="degraded-code"]').textContent = code;
    this.element.querySelector(".degraded-message").textContent = MESSAGES[code] || "";
    this.until = until || null;
    this.tick();
    if (!this.timer) this.timer = setInterval(this.tick.bind(this), 250);
  };

  /** A line under the message, e.g. "Showing the last good data from 10:41:07." */
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
  };

  DegradedBanner.prototype.visible = function () { return this.element !== null; };

  global.DegradedBanner = DegradedBanner;
})(window);
