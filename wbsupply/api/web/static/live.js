// Live status without reloads: polls /api/v1/live and updates task phases, bot statuses and the usage bar.
(function () {
  "use strict";
  var phases = document.querySelectorAll("[data-task-phase]");
  var bots = document.querySelectorAll("[data-bot-status]");
  var usage = document.querySelector("[data-usage]");
  var accounts = document.querySelectorAll("[data-account]");
  if (!phases.length && !bots.length && !usage) return;

  function setClass(el, prefix, value) {
    el.className = el.className.split(" ").filter(function (c) { return c.indexOf(prefix) !== 0; }).join(" ");
    el.classList.add(prefix + value);
  }

  var bookingsList = document.querySelector("[data-bookings]");

  function apply(data) {
    var reload = false;
    data.tasks.forEach(function (t) {
      document.querySelectorAll('[data-task-phase="' + t.id + '"]').forEach(function (el) {
        // A new booking belongs in the page's bookings list too, which only the server draws.
        if (bookingsList && t.phase === "Booked" && !el.classList.contains("p-Booked")) reload = true;
        el.textContent = t.phase_label; setClass(el, "p-", t.phase);
      });
      document.querySelectorAll('[data-task-message="' + t.id + '"]').forEach(function (el) {
        el.textContent = t.message && t.message !== t.phase_label ? t.message : "";
      });
    });
    data.bots.forEach(function (b) {
      document.querySelectorAll('[data-bot-status="' + b.id + '"]').forEach(function (el) {
        el.textContent = b.status_label; setClass(el, "s-", b.status);
      });
      accounts.forEach(function (card) {
        // The connect page shows a different form per login step: redraw it when the bot moved on.
        if (card.dataset.account == b.id && card.dataset.authState !== b.auth_state) reload = true;
      });
    });
    if (usage && data.usage) {
      var u = data.usage;
      var used = usage.querySelector("[data-usage-used]"), rem = usage.querySelector("[data-usage-remaining]");
      if (used) used.textContent = u.used + u.reserved;
      if (rem) rem.textContent = u.remaining;
      var fill = usage.querySelector("[data-usage-fill]");
      if (fill) fill.style.width = u.percent + "%";
    }
    if (reload && !document.querySelector("input:focus")) window.location.reload();
  }

  function poll() {
    fetch("/api/v1/live", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) apply(data); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 3000);
})();
