/* Sandbox seller cabinet: JSON-RPC client, token refresh, booking captcha (proof of work), calendar.
   Paths, header names and texts come from the server's #cabinet-config (wbsupply/wb/cabinet_spec.py). */
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("cabinet-config").textContent);

  function cookie(name) {
    const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
  }

  function toLogin(next) {
    const target = next || location.pathname + location.search;
    location.assign(`${cfg.loginUrl}?next=${encodeURIComponent(target)}`);
  }

  // One refresh at a time: the refresh token rotates, so a second concurrent call would fail.
  let refreshing = null;
  function refresh() {
    if (!refreshing) {
      refreshing = fetch(cfg.refreshUrl, { method: "POST", credentials: "same-origin" })
        .then((r) => r.ok, () => false)
        .finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  async function recover() {
    if (await refresh()) return true;
    // Another tab of the same browser may have rotated the tokens first.
    const again = await fetch(cfg.sessionUrl, { credentials: "same-origin" }).catch(() => null);
    return Boolean(again && again.ok);
  }

  class RpcError extends Error {
    constructor(code, message, data) {
      super(message);
      this.code = code;
      this.data = data;
    }
  }

  let rpcSeq = 0;
  async function rpc(method, params = {}, headers = {}, retried = false) {
    const resp = await fetch(`${cfg.rpcBase}/${method}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", [cfg.authHeader]: cookie(cfg.accessCookie), ...headers },
      body: JSON.stringify({ params, jsonrpc: "2.0", id: ++rpcSeq }),
    });
    if (resp.status === 401) {
      if (!retried && (await recover())) return rpc(method, params, headers, true);
      toLogin();
      throw new RpcError(401, cfg.text.sessionExpired);
    }
    const body = await resp.json();
    if (body.error) throw new RpcError(body.error.code, body.error.message, body.error.data);
    return body.result;
  }

  async function heartbeat() {
    const resp = await fetch(cfg.sessionUrl, { credentials: "same-origin" }).catch(() => null);
    if (!resp) return; // network hiccup: try again next beat
    if (resp.status === 401) {
      if (!(await recover())) toLogin();
      return;
    }
    const body = await resp.json();
    if (body.result && body.result.accessExpiresIn < 60) await refresh();
  }

  // --- proof of work: sha256(challenge + nonce) with `difficulty` leading zero bits (wbsupply/sandbox/pow.py) ---
  const PRIMES = [];
  for (let n = 2; PRIMES.length < 64; n++) if (PRIMES.every((p) => n % p)) PRIMES.push(n);
  const frac32 = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  const K = PRIMES.map((p) => frac32(Math.cbrt(p)));
  const H0 = PRIMES.slice(0, 8).map((p) => frac32(Math.sqrt(p)));
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));

  // crypto.subtle exists only in secure contexts; a sandbox reached by a cluster hostname over http is not.
  function sha256Fallback(bytes) {
    const len = bytes.length;
    const total = ((len + 9 + 63) >> 6) << 6;
    const buf = new Uint8Array(total);
    buf.set(bytes);
    buf[len] = 0x80;
    const view = new DataView(buf.buffer);
    view.setUint32(total - 8, Math.floor(len / 2 ** 29));
    view.setUint32(total - 4, (len * 8) >>> 0);
    const h = H0.slice();
    const w = new Uint32Array(64);
    for (let off = 0; off < total; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
      for (let i = 16; i < 64; i++) {
        const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
        const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
      }
      let [a, b, c, d, e, f, g, hh] = h;
      for (let i = 0; i < 64; i++) {
        const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      [a, b, c, d, e, f, g, hh].forEach((v, i) => { h[i] = (h[i] + v) | 0; });
    }
    const out = new DataView(new ArrayBuffer(32));
    h.forEach((v, i) => out.setUint32(i * 4, v >>> 0));
    return new Uint8Array(out.buffer);
  }

  async function sha256(bytes) {
    if (globalThis.crypto && crypto.subtle) return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return sha256Fallback(bytes);
  }

  function zeroBits(digest) {
    let bits = 0;
    for (const byte of digest) {
      if (byte !== 0) return bits + Math.clz32(byte) - 24;
      bits += 8;
    }
    return bits;
  }

  async function solvePow(challenge, difficulty) {
    const encoder = new TextEncoder();
    for (let nonce = 0; ; nonce++) {
      if (zeroBits(await sha256(encoder.encode(challenge + nonce))) >= difficulty) return nonce;
    }
  }

  async function captchaHeaders() {
    const { challenge, difficulty } = await rpc(cfg.rpc.challenge);
    return { [cfg.captchaHeader]: `${challenge}:${await solvePow(challenge, difficulty)}` };
  }

  // --- supplies page ---
  const MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
    "октября", "ноября", "декабря"];
  const WEEKDAYS = ["вс", "пн", "вт", "ср", "чт", "пт", "сб"];
  function dayLabel(iso) {
    const d = new Date(`${iso}T00:00:00Z`);
    return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}, ${WEEKDAYS[d.getUTCDay()]}`;
  }
  const isOpen = (day) => day.allowUnload && day.coefficient >= 0;
  function coefficientText(day) {
    if (!isOpen(day)) return cfg.text.unavailable;
    return day.coefficient === 0 ? cfg.text.free : `×${day.coefficient}`;
  }
  function el(tag, className, testid, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (testid) node.dataset.testid = testid;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function showError(box, message) {
    box.textContent = message || "";
    box.hidden = !message;
  }

  function initSupplies() {
    const $ = (id) => document.getElementById(id);
    const dialog = $("plan-dialog");
    const calendar = $("calendar");
    const errorBox = $("plan-error");
    const selected = $("plan-selected");
    const confirm = $("plan-confirm");
    const pageError = $("supplies-error");
    let plan = { preorderId: null, mode: "add", date: null, busy: false };

    function renderDay(day) {
      const cell = el("div", isOpen(day) ? "day open" : "day", cfg.testid.day);
      cell.setAttribute(cfg.attr.date, day.date);
      cell.setAttribute(cfg.attr.open, isOpen(day) ? "1" : "0");
      cell.setAttribute(cfg.attr.coefficient, day.coefficient);
      cell.append(el("div", "day-date", null, dayLabel(day.date)),
        el("div", "day-coef", cfg.testid.dayCoefficient, coefficientText(day)));
      if (isOpen(day)) {
        const choose = el("button", "secondary", cfg.testid.choose, cfg.text.choose);
        choose.type = "button";
        choose.addEventListener("click", () => {
          plan.date = day.date;
          calendar.querySelectorAll(".day.selected").forEach((c) => c.classList.remove("selected"));
          cell.classList.add("selected");
          selected.textContent = dayLabel(day.date);
          selected.setAttribute(cfg.attr.date, day.date);
          confirm.disabled = false;
        });
        cell.append(choose);
      }
      return cell;
    }

    function unselect() {
      plan.date = null;
      selected.textContent = "не выбрана";
      selected.removeAttribute(cfg.attr.date);
      confirm.disabled = true;
    }

    async function loadCalendar() {
      $("plan-loading").hidden = false;
      calendar.replaceChildren();
      try {
        const { costs } = await rpc(cfg.rpc.costs, { preorderID: plan.preorderId });
        calendar.replaceChildren(...costs.map(renderDay));
      } catch (err) {
        showError(errorBox, err.message);
      } finally {
        $("plan-loading").hidden = true;
      }
    }

    function openPlan(preorderId, mode) {
      plan = { preorderId, mode, date: null, busy: false };
      showError(errorBox, "");
      unselect();
      dialog.showModal();
      loadCalendar();
    }

    confirm.addEventListener("click", async () => {
      if (!plan.date || plan.busy) return;
      plan.busy = true;
      confirm.disabled = true;
      showError(errorBox, "");
      try {
        const method = plan.mode === "update" ? cfg.rpc.planUpdate : cfg.rpc.planAdd;
        await rpc(method, { preorderID: plan.preorderId, deliveryDate: plan.date }, await captchaHeaders());
        location.reload();
      } catch (err) {
        showError(errorBox, err.message); // e.g. the date was taken meanwhile: nothing changed
        unselect();
        await loadCalendar();
      } finally {
        plan.busy = false;
      }
    });
    $("plan-close").addEventListener("click", () => dialog.close());

    async function act(promise) {
      showError(pageError, "");
      try {
        await promise;
        location.reload();
      } catch (err) {
        showError(pageError, err.message);
      }
    }

    document.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const row = button.closest("tr");
      const action = button.dataset.action;
      if (action === "plan" || action === "reschedule") {
        openPlan(Number(row.getAttribute(cfg.attr.preorderId)), action === "plan" ? "add" : "update");
      } else if (action === "create-preorder") {
        const [warehouse, boxType] = row.querySelectorAll("select");
        act(rpc(cfg.rpc.createPreorder,
          { draftID: row.getAttribute(cfg.attr.draftId), warehouseID: Number(warehouse.value), boxType: boxType.value }));
      }
    });

    const form = $("draft-form");
    $("create-toggle").addEventListener("click", () => { form.hidden = !form.hidden; });
    $("add-good").addEventListener("click", () => {
      const row = form.querySelector(".good").cloneNode(true);
      row.querySelectorAll("input").forEach((input) => { input.value = input.type === "number" ? "1" : ""; });
      $("goods").append(row);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const goods = [...form.querySelectorAll(".good")].map((row) => ({
        barcode: row.querySelector(`[data-testid="${cfg.testid.barcode}"]`).value.trim(),
        quantity: Number(row.querySelector(`[data-testid="${cfg.testid.quantity}"]`).value),
      }));
      act(rpc(cfg.rpc.createDraft, { goods }));
    });
  }

  async function initRestore() {
    const next = document.getElementById("restore").dataset.next;
    if (await refresh()) location.replace(next);
    else toLogin(next);
  }

  window.wbCabinet = { rpc, refresh, solvePow, sha256, sha256Fallback, zeroBits, captchaHeaders };
  const page = document.body.dataset.page;
  if (page === "supplies") initSupplies();
  if (page === "restore") initRestore();
  if (cfg.authenticated) setInterval(heartbeat, cfg.heartbeatMs);
})();
