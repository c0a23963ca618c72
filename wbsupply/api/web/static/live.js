// Live status without reloads: polls /api/v1/live and updates task phases, bot statuses, the usage bar and the
// unread count in the menu. Also asks before destructive actions (forms with data-confirm).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  var unread = document.querySelector("[data-unread]");
  if (!unread) return; // signed out: nothing to follow
  var usage = document.querySelector("[data-usage]");
  var accounts = document.querySelectorAll("[data-account]");
  var bookingsList = document.querySelector("[data-bookings]");
  var feed = document.querySelector("[data-feed]") || (location.pathname === "/notifications" ? document.body : null);
  var lastUnread = null;

  function setClass(el, prefix, value) {
    el.className = el.className.split(" ").filter(function (c) { return c.indexOf(prefix) !== 0; }).join(" ");
    el.classList.add(prefix + value);
  }

  function apply(data) {
    var reload = false;
    data.tasks.forEach(function (t) {
      document.querySelectorAll('[data-task-phase="' + t.id + '"]').forEach(function (el) {
        // A booking (supply number, bookings list) and a finished task's actions are drawn by the server.
        if (t.phase !== "Booking" && el.textContent !== t.phase_label &&
            (t.phase === "Booked" || bookingsList || document.querySelector("[data-history]"))) reload = true;
        el.textContent = t.phase_label; setClass(el, "p-", t.phase);
      });
      document.querySelectorAll('[data-booked="' + t.id + '"][data-moves]').forEach(function (el) {
        if (el.dataset.moves !== String(t.moves)) reload = true; // the supply was moved: the new slot is drawn by the server
      });
      document.querySelectorAll('[data-task-message="' + t.id + '"]').forEach(function (el) {
        el.textContent = t.message && t.message !== t.phase_label && t.phase_label !== "Приостановлена" ? t.message : "";
      });
    });
    data.bots.forEach(function (b) {
      document.querySelectorAll('[data-bot-status="' + b.id + '"]').forEach(function (el) {
        el.textContent = b.status_label; setClass(el, "s-", b.status);
      });
      accounts.forEach(function (card) {
        // The connect page shows a different form per login step, and the bot's answer to the last one
        // (a wrong code keeps the step but fails the request): redraw it when either moved on.
        if (card.dataset.account == b.id &&
            (card.dataset.authState !== b.auth_state || card.dataset.authRequest !== b.auth_request)) reload = true;
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
    unread.textContent = data.unread > 99 ? "99+" : String(data.unread);
    unread.hidden = !data.unread;
    if (feed && lastUnread !== null && data.unread > lastUnread) reload = true; // a new notice on the feed page
    lastUnread = feed ? data.unread : null;
    if (reload && !document.querySelector("input:focus")) window.location.reload();
  }

  function poll(delay) {
    setTimeout(function () {
      fetch("/api/v1/live", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) apply(data); })
        .catch(function () {})
        .then(function () { poll(3000); });
    }, delay);
  }
  poll(0);
})();
