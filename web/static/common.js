/* Jingyun pages: shared helpers (no build step, no dependencies).
 *
 * JY.i18n / JY.t      zh-CN and en strings; elements carry data-i18n="key" (text), data-i18n-ph (placeholder),
 *                     data-i18n-title / data-i18n-aria; the language switch re-renders in place.
 * JY.signIn           the page's token: ?token= once (then removed from the address bar), or pasted;
 *                     kept in sessionStorage; checked with /api/whoami; the page names the roles it accepts.
 * JY.api              fetch with the token; errors become Error(message) carrying status, code and details.
 * JY.Socket           a WebSocket that reconnects with backoff and shows its state in a pill.
 * JY.toast / banner   visible notices; nothing fails silently.
 * JY.afterPress       run a redraw now, or after the finger or mouse button that is down comes up.
 */
(function () {
  "use strict";
  const JY = (window.JY = window.JY || {});

  // ---------------------------------------------------------------- i18n
  const dict = {
    zh: {
      "lang.switch": "English", "lang.switch.aria": "Switch language to English",
      "conn.connecting": "连接中…", "conn.open": "已连接", "conn.reconnecting": "重连中…（{s} 秒）",
      "conn.closed": "未连接", "conn.failed": "连接失败",
      "signin.title": "登录", "signin.paste": "粘贴令牌", "signin.go": "登录", "signin.out": "退出",
      "signin.help": "向值班管理员索取令牌（jingyun token --role {roles}），或用带 ?token= 的链接打开本页。",
      "signin.checking": "正在验证令牌…", "signin.bad": "令牌无效：{msg}",
      "signin.role": "此页面需要 {roles} 令牌，您的令牌角色是 {role}。",
      "signin.expired": "登录已过期，请重新登录。", "signin.as": "{sub}（{role}）",
      "err.network": "无法连接服务器：{msg}", "err.http": "请求失败（{status}）：{msg}",
      "dismiss": "关闭", "loading": "加载中…", "retry": "重试",
      "ago.s": "{n} 秒前", "ago.m": "{n} 分钟前", "ago.h": "{n} 小时前", "ago.d": "{n} 天前", "never": "无",
      "role.admin": "管理员", "role.dispatcher": "调度员", "role.officer": "民警", "role.interviewer": "询问员",
      "role.kiosk": "自助终端", "role.service": "服务",
      "home": "警云",
      "cat.violent_crime": "暴力犯罪", "cat.weapons": "涉枪涉刀", "cat.robbery": "抢劫抢夺", "cat.theft": "盗窃", "cat.burglary": "入室盗窃", "cat.fraud": "诈骗", "cat.traffic": "交通", "cat.fire": "火灾", "cat.medical": "医疗急救", "cat.missing_person": "人员走失", "cat.domestic": "家庭纠纷", "cat.public_order": "治安秩序", "cat.suicide_risk": "自杀风险", "cat.hazard": "安全隐患", "cat.lost_property": "失物", "cat.service_request": "服务求助", "cat.other": "其他",
    },
    en: {
      "lang.switch": "中文", "lang.switch.aria": "切换到中文",
      "conn.connecting": "Connecting…", "conn.open": "Connected", "conn.reconnecting": "Reconnecting… ({s} s)",
      "conn.closed": "Disconnected", "conn.failed": "Connection failed",
      "signin.title": "Sign in", "signin.paste": "Paste your token", "signin.go": "Sign in", "signin.out": "Sign out",
      "signin.help": "Ask the duty administrator for a token (jingyun token --role {roles}), or open this page with a ?token= link.",
      "signin.checking": "Checking the token…", "signin.bad": "Token not accepted: {msg}",
      "signin.role": "This page needs a {roles} token; yours has the role {role}.",
      "signin.expired": "Your sign-in has expired; please sign in again.", "signin.as": "{sub} ({role})",
      "err.network": "Cannot reach the server: {msg}", "err.http": "Request failed ({status}): {msg}",
      "dismiss": "Dismiss", "loading": "Loading…", "retry": "Retry",
      "ago.s": "{n} s ago", "ago.m": "{n} min ago", "ago.h": "{n} h ago", "ago.d": "{n} d ago", "never": "never",
      "role.admin": "admin", "role.dispatcher": "dispatcher", "role.officer": "officer", "role.interviewer": "interviewer",
      "role.kiosk": "kiosk", "role.service": "service",
      "home": "Jingyun",
      "cat.violent_crime": "violent crime", "cat.weapons": "weapons", "cat.robbery": "robbery", "cat.theft": "theft", "cat.burglary": "burglary", "cat.fraud": "fraud", "cat.traffic": "traffic", "cat.fire": "fire", "cat.medical": "medical", "cat.missing_person": "missing person", "cat.domestic": "domestic", "cat.public_order": "public order", "cat.suicide_risk": "suicide risk", "cat.hazard": "hazard", "cat.lost_property": "lost property", "cat.service_request": "service request", "cat.other": "other",
    },
  };
  const langListeners = [];

  function initialLang() {
    const q = new URLSearchParams(location.search).get("lang");
    const saved = q || localStorage.getItem("jy.lang");
    if (saved === "en" || saved === "zh") return saved;
    return (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
  }
  JY.lang = initialLang();

  JY.i18n = function (more) {
    for (const l of Object.keys(more)) Object.assign(dict[l], more[l]);
  };
  JY.t = function (key, vars) {
    let s = (dict[JY.lang] && dict[JY.lang][key]) ?? dict.en[key] ?? key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
    return s;
  };
  /** Pick the right language from a {zh, en} label object or a plain string. */
  JY.label = function (v) {
    if (v == null) return "";
    if (typeof v === "string") return v;
    return v[JY.lang] ?? v[JY.lang === "zh" ? "zh-CN" : "en-US"] ?? v.en ?? v.zh ?? Object.values(v)[0] ?? "";
  };
  /** An incident category id (RUBRIC.md) in the page language. */
  JY.catLabel = function (c) {
    if (!c) return "";
    const k = "cat." + c;
    return JY.t(k) === k ? String(c).replace(/_/g, " ") : JY.t(k);
  };
  const SOURCES = { zh: { call: "报警电话", radio: "电台", kiosk: "自助报案", phone: "电话接报", dispatcher: "调度员", web: "网页", interview: "询问" },
    en: { call: "110 call", radio: "radio", kiosk: "kiosk", phone: "phone", dispatcher: "dispatcher", web: "web", interview: "interview" } };
  /** An intake source id (call, radio, kiosk, ...) in the page language. */
  JY.sourceLabel = (v) => (v ? (SOURCES[JY.lang] && SOURCES[JY.lang][v]) || String(v) : "");
  JY.applyI18n = function (root) {
    root = root || document;
    document.documentElement.lang = JY.lang === "zh" ? "zh-CN" : "en";
    root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = JY.t(el.dataset.i18n); });
    root.querySelectorAll("[data-i18n-ph]").forEach((el) => { el.placeholder = JY.t(el.dataset.i18nPh); });
    root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = JY.t(el.dataset.i18nTitle); });
    root.querySelectorAll("[data-i18n-aria]").forEach((el) => { el.setAttribute("aria-label", JY.t(el.dataset.i18nAria)); });
    if (document.body && document.body.dataset.titleKey) document.title = JY.t(document.body.dataset.titleKey) + " · 警云 Jingyun";
  };
  JY.setLang = function (l) {
    JY.lang = l;
    localStorage.setItem("jy.lang", l);
    JY.applyI18n();
    langListeners.forEach((f) => { try { f(l); } catch (e) { console.error(e); } });
  };
  JY.onLang = function (f) { langListeners.push(f); };

  /** Deployment choices written into the page by the server (map tile URL); {} if absent. */
  JY.config = (() => {
    const el = document.getElementById("jy-config");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  })();

  // ---------------------------------------------------------------- small DOM helpers
  /** h("div.cls#id", {attrs}, children...) — text children are escaped by construction. */
  JY.h = function (sel, attrs, ...kids) {
    const m = sel.match(/^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i);
    const el = document.createElement((m && m[1]) || "div");
    if (m && m[2]) {
      for (const part of m[2].match(/[.#][\w-]+/g)) {
        if (part[0] === ".") el.classList.add(part.slice(1)); else el.id = part.slice(1);
      }
    }
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
        else if (k === "dataset") Object.assign(el.dataset, v);
        else if (k === "text") el.textContent = v;
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  };
  JY.$ = (s, r) => (r || document).querySelector(s);

  // ---------------------------------------------------------------- time
  JY.parseTime = function (v) {
    if (v == null || v === "") return null;
    if (typeof v === "number") return new Date(v < 1e12 ? v * 1000 : v);
    const d = new Date(v);
    return isNaN(d) ? null : d;
  };
  JY.ago = function (v, now) {
    const d = JY.parseTime(v);
    if (!d) return JY.t("never");
    const s = Math.max(0, Math.round(((now || Date.now()) - d.getTime()) / 1000));
    if (s < 60) return JY.t("ago.s", { n: s });
    if (s < 3600) return JY.t("ago.m", { n: Math.floor(s / 60) });
    if (s < 86400) return JY.t("ago.h", { n: Math.floor(s / 3600) });
    return JY.t("ago.d", { n: Math.floor(s / 86400) });
  };
  JY.clock = function (v) {
    const d = JY.parseTime(v);
    if (!d) return "";
    return d.toLocaleTimeString(JY.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  };
  JY.dateTime = function (v) {
    const d = JY.parseTime(v);
    if (!d) return "";
    return d.toLocaleString(JY.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  };

  // ---------------------------------------------------------------- notices
  function toastBox() {
    let box = document.getElementById("jy-toasts");
    if (!box) {
      box = JY.h("div#jy-toasts", { role: "status", "aria-live": "polite" });
      document.body.append(box);
    }
    return box;
  }
  /** A notice in the corner; errors stay until dismissed, others fade after `ms`. */
  JY.toast = function (message, kind, ms) {
    kind = kind || "info";
    const close = JY.h("button", { type: "button", "aria-label": JY.t("dismiss"), text: "×" });
    const el = JY.h("div.toast." + kind, { role: kind === "error" ? "alert" : null },
      JY.h("span.msg", { text: message }), close);
    close.addEventListener("click", () => el.remove());
    toastBox().append(el);
    if (kind !== "error") setTimeout(() => el.remove(), ms || 5000);
    else setTimeout(() => el.remove(), ms || 30000);
    return el;
  };
  JY.errorText = function (err) {
    if (!err) return "";
    if (err.status === 0) return JY.t("err.network", { msg: err.message });
    if (err.status) return JY.t("err.http", { status: err.status, msg: err.message });
    return String(err.message || err);
  };

  // ---------------------------------------------------------------- token + sign in
  const TOKEN_KEY = "jy.token";
  function takeTokenFromUrl() {
    const url = new URL(location.href);
    const tok = url.searchParams.get("token");
    if (tok) {
      sessionStorage.setItem(TOKEN_KEY, tok.trim());
      url.searchParams.delete("token");
      history.replaceState(null, "", url.pathname + (url.search || "") + url.hash);
    }
  }
  takeTokenFromUrl();
  JY.token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  JY.signOut = function () {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  };

  let signInOpts = null;
  let onUnauthorized = null;

  /**
   * Resolve with the principal ({subject, role, unit_id}) once a token with one of `roles` is held.
   * Shows a paste box in `mount` until then. Later 401 answers bring the box back.
   */
  JY.signIn = function (opts) {
    signInOpts = opts;
    return new Promise((resolve) => {
      const mount = opts.mount;
      const content = opts.content;
      const roles = opts.roles;
      const whoEl = JY.$("#jy-who");
      const outBtn = JY.$("#jy-signout");
      let resolved = false;

      function showBox(message) {
        content.hidden = true;
        mount.hidden = false;
        mount.replaceChildren();
        const ta = JY.h("input#jy-token-input", { type: "text", autocomplete: "off", spellcheck: "false", autocapitalize: "off",
          "aria-describedby": "jy-token-help", placeholder: JY.t("signin.paste") });
        const err = JY.h("p.err#jy-token-error", { role: "alert", text: message || "" });
        const go = JY.h("button.primary#jy-token-go", { type: "submit", text: JY.t("signin.go") });
        const form = JY.h("form.signin", { "aria-labelledby": "jy-signin-title" },
          JY.h("h2#jy-signin-title", { text: JY.t("signin.title") }),
          JY.h("label", { for: "jy-token-input", text: JY.t("signin.paste") }), ta,
          JY.h("p.hint#jy-token-help", { text: JY.t("signin.help", { roles: roles.join(" | ") }) }),
          err, go);
        form.addEventListener("submit", (e) => {
          e.preventDefault();
          const tok = ta.value.trim();
          if (!tok) { err.textContent = JY.t("signin.paste"); ta.focus(); return; }
          sessionStorage.setItem(TOKEN_KEY, tok);
          check();
        });
        mount.append(form);
        ta.focus();
      }

      async function check() {
        const tok = JY.token();
        if (!tok) { showBox(""); return; }
        mount.hidden = false;
        mount.replaceChildren(JY.h("p.loading", { text: JY.t("signin.checking") }));
        let who;
        try {
          who = await JY.api("GET", "/api/whoami", undefined, { noSignIn: true });
        } catch (e) {
          if (e.status === 401) {
            sessionStorage.removeItem(TOKEN_KEY);
            showBox(JY.t("signin.bad", { msg: e.message }));
          } else {
            mount.replaceChildren(JY.h("p.error-text", { role: "alert", text: JY.errorText(e) }),
              JY.h("button", { type: "button", text: JY.t("retry"), onclick: check }));
          }
          return;
        }
        if (!roles.includes(who.role)) {
          sessionStorage.removeItem(TOKEN_KEY);
          showBox(JY.t("signin.role", { roles: roles.join(" / "), role: who.role }));
          return;
        }
        mount.hidden = true;
        mount.replaceChildren();
        content.hidden = false;
        JY.who = who;
        if (whoEl) {
          const render = () => {
            whoEl.textContent = JY.t("signin.as", { sub: who.unit_id || who.subject, role: JY.t("role." + who.role) });
          };
          render();
          JY.onLang(render);
        }
        if (outBtn) { outBtn.hidden = false; outBtn.onclick = JY.signOut; }
        if (!resolved) { resolved = true; resolve(who); }
      }
      onUnauthorized = (msg) => {
        sessionStorage.removeItem(TOKEN_KEY);
        showBox(JY.t("signin.expired") + (msg ? " (" + msg + ")" : ""));
        resolved = false;
        // After a new sign-in the page reloads so every panel and socket starts clean.
        resolve = () => location.reload();
      };
      check();
    });
  };

  // ---------------------------------------------------------------- REST
  /** fetch JSON with the page token; throws Error with .status, .code, .details on failure. A Blob or
   * File body (a photo, evidence, recorded audio) is sent as it is, with its own type: the browser
   * streams it, and the upload gets the same errors and sign-in handling as every other call. */
  JY.api = async function (method, path, body, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json" };
    const tok = JY.token();
    if (tok) headers.Authorization = "Bearer " + tok;
    const init = { method, headers };
    if (body instanceof Blob) { headers["Content-Type"] = body.type || "application/octet-stream"; init.body = body; }
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      const err = new Error(e.message || "network error");
      err.status = 0;
      throw err;
    }
    if (opts.raw && resp.ok) return resp;
    const type = resp.headers.get("Content-Type") || "";
    let data = null;
    if (type.includes("json")) { try { data = await resp.json(); } catch (e) { data = null; } }
    else if (!opts.raw) { data = await resp.text(); }
    if (!resp.ok) {
      const e = (data && data.error) || {};
      const err = new Error(e.message || (typeof data === "string" && data) || resp.statusText || "error");
      err.status = resp.status;
      err.code = e.code;
      err.details = e.details || {};
      // Only a refusal of the token now held signs out. A call sent before the sign-in expired (or with
      // no token, after it did) can answer 401 after a new token was pasted: it must neither clear that
      // token nor redraw the box under the user's typing.
      if (resp.status === 401 && !opts.noSignIn && onUnauthorized && tok && tok === JY.token()) onUnauthorized(err.message);
      throw err;
    }
    return opts.raw ? resp : data;
  };

  /** Fetch audio with the page token and play it; ``btn`` is disabled meanwhile; failures become a toast. */
  JY.playAudio = async function (path, btn) {
    if (btn) btn.disabled = true;
    try {
      const resp = await JY.api("GET", path, undefined, { raw: true });
      const url = URL.createObjectURL(await resp.blob());
      const audio = new Audio(url);
      audio.addEventListener("ended", () => URL.revokeObjectURL(url));
      await audio.play();
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
    } finally {
      if (btn) btn.disabled = false;
    }
  };

  // ---------------------------------------------------------------- WebSocket with reconnect
  /**
   * new JY.Socket(path, {onMessage(obj|ArrayBuffer), onOpen(), onClose(ev), pill: element, query: {}})
   * Reconnects with exponential backoff (0.5 s .. 10 s, jittered) until stop() is called.
   * After several failures in a row it asks /api/whoami, so an expired token shows the sign-in box
   * instead of retrying forever.
   */
  JY.Socket = class {
    constructor(path, opts) {
      this.path = path;
      this.opts = opts || {};
      this.ws = null;
      this.state = "closed";
      this.failures = 0;
      this.stopped = false;
      this.timer = null;
      this.retryAt = 0;
      this.outbox = [];
      this.pill = this.opts.pill || null;
      JY.onLang(() => this._render());
    }
    url() {
      const u = new URL(this.path, location.href);
      u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
      const q = Object.assign({}, this.opts.query || {});
      if (JY.token()) q.token = JY.token();
      for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
      return u.toString();
    }
    start() {
      this.stopped = false;
      this._connect();
      return this;
    }
    stop(code) {
      this.stopped = true;
      clearTimeout(this.timer);
      const ws = this.ws;
      this.ws = null; // its onclose is now ignored: a deliberate stop is not a connection loss
      if (ws) { try { ws.close(code || 1000); } catch (e) { /* already closed */ } }
      this._set("closed");
    }
    get isOpen() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }
    /** Send now, or keep it (if `queue`) until the socket is open again. */
    send(obj, queue) {
      const data = obj instanceof ArrayBuffer || ArrayBuffer.isView(obj) || typeof obj === "string" ? obj : JSON.stringify(obj);
      if (this.isOpen) { this.ws.send(data); return true; }
      if (queue) this.outbox.push(data);
      return false;
    }
    _set(state) {
      this.state = state;
      this._render();
      if (this.opts.onState) this.opts.onState(state);
    }
    _render() {
      if (!this.pill) return;
      this.pill.dataset.state = this.state;
      let text = JY.t("conn." + this.state);
      if (this.state === "reconnecting") text = JY.t("conn.reconnecting", { s: Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000)) });
      this.pill.textContent = (this.opts.label ? this.opts.label() + ": " : "") + text;
    }
    _connect() {
      clearTimeout(this.timer);
      this._set("connecting");
      let ws;
      try {
        ws = new WebSocket(this.url());
      } catch (e) {
        this._schedule();
        return;
      }
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      ws.onopen = () => {
        this.failures = 0;
        this._set("open");
        const pending = this.outbox.splice(0);
        for (const d of pending) ws.send(d);
        if (this.opts.onOpen) this.opts.onOpen();
      };
      ws.onmessage = (ev) => {
        let msg = ev.data;
        if (typeof msg === "string") {
          try { msg = JSON.parse(msg); } catch (e) { console.warn("non-JSON message", msg); return; }
        }
        try { this.opts.onMessage && this.opts.onMessage(msg); } catch (e) { console.error(e); JY.toast(String(e), "error"); }
      };
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        this.ws = null;
        if (this.opts.onClose) this.opts.onClose(ev);
        if (this.stopped) { this._set("closed"); return; }
        this._schedule(ev);
      };
      ws.onerror = () => { /* onclose follows and schedules the retry */ };
    }
    async _schedule(ev) {
      this.failures += 1;
      if (ev && ev.code === 1008) {
        // Refused by policy (unknown unit, bad config, ...): retrying at once will not help. Say why,
        // once, and retry slowly in case an operator fixes it.
        this.failures = Math.max(this.failures, 6);
        const why = ev.reason || "refused by the server";
        if (why !== this.lastRefusal) JY.toast(why, "error");
        this.lastRefusal = why;
      }
      const delay = Math.min(10000, 500 * 2 ** Math.min(this.failures - 1, 5)) * (0.8 + Math.random() * 0.4);
      this.retryAt = Date.now() + delay;
      this._set("reconnecting");
      const tick = setInterval(() => { if (this.state === "reconnecting") this._render(); else clearInterval(tick); }, 1000);
      if (this.failures === 3 || (ev && (ev.code === 4001 || ev.code === 4003 || ev.code === 1008))) {
        // Several failures: is the token still good? A 401 brings up the sign-in box.
        try { await JY.api("GET", "/api/whoami"); } catch (e) { if (e.status === 401) { this.stop(); clearInterval(tick); return; } }
      }
      this.timer = setTimeout(() => { clearInterval(tick); if (!this.stopped) this._connect(); }, delay);
    }
  };

  // ---------------------------------------------------------------- sound and attention
  let audioCtx = null;
  function ctx() {
    if (!audioCtx) {
      const C = window.AudioContext || window.webkitAudioContext;
      if (!C) return null;
      audioCtx = new C();
    }
    return audioCtx;
  }
  // Browsers allow sound only after a user gesture: unlock on the first key or click.
  ["pointerdown", "keydown", "touchstart"].forEach((t) => window.addEventListener(t, () => {
    const c = ctx();
    if (c && c.state === "suspended") c.resume();
  }, { capture: true, passive: true }));
  JY.soundReady = () => { const c = ctx(); return !!c && c.state === "running"; };
  /** An attention tone: `pattern` is a list of [frequency Hz, ms]. Returns false if sound is blocked. */
  JY.beep = function (pattern) {
    const c = ctx();
    if (!c) return false;
    if (c.state === "suspended") c.resume();
    let t = c.currentTime + 0.02;
    for (const [f, ms] of pattern || [[880, 180], [0, 80], [880, 180], [0, 80], [1175, 300]]) {
      if (f > 0) {
        const o = c.createOscillator();
        const g = c.createGain();
        o.type = "square";
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, t);
        g.gain.exponentialRampToValueAtTime(0.25, t + 0.01);
        g.gain.exponentialRampToValueAtTime(0.0001, t + ms / 1000);
        o.connect(g).connect(c.destination);
        o.start(t);
        o.stop(t + ms / 1000 + 0.02);
      }
      t += ms / 1000;
    }
    return c.state === "running";
  };
  /** True once the user has tapped or typed on the page: browsers allow sound and vibration only then. */
  JY.activated = () => !navigator.userActivation || navigator.userActivation.hasBeenActive;
  JY.vibrate = (p) => {
    if (!navigator.vibrate || !JY.activated()) return false;
    try { return navigator.vibrate(p || [300, 100, 300, 100, 600]); } catch (e) { return false; }
  };

  // ---------------------------------------------------------------- page chrome
  /** Wire the language switch and apply translations; call once per page after its dictionaries. */
  JY.initPage = function () {
    const btn = JY.$("#jy-lang");
    if (btn) {
      const render = () => {
        btn.textContent = JY.t("lang.switch");
        btn.setAttribute("aria-label", JY.t("lang.switch.aria"));
      };
      btn.addEventListener("click", () => JY.setLang(JY.lang === "zh" ? "en" : "zh"));
      JY.onLang(render);
      render();
    }
    JY.applyI18n();
    window.addEventListener("unhandledrejection", (ev) => {
      JY.toast(JY.errorText(ev.reason), "error");
    });
  };

  // ---------------------------------------------------------------- redraws wait for a press to end
  // Pages redraw a list or panel wholesale when a live message arrives. Replaced between the press and
  // the release, a button swallows the tap: the press lands on the old element, the release on its copy,
  // and the browser clicks neither ("Acknowledge" or "Close incident" doing nothing). So a redraw asked
  // for while a pointer is down runs after the release (after the click has run), or after PRESS_MAX_MS
  // when the press is a long one (a text selection), whichever comes first.
  const PRESS_MAX_MS = 3000;
  let pressedAt = 0;
  let pressTimer = 0;
  const afterRelease = new Set();
  function runHeld() {
    pressedAt = 0;
    clearTimeout(pressTimer);
    pressTimer = 0;
    const fns = [...afterRelease];
    afterRelease.clear();
    fns.forEach((f) => f());
  }
  document.addEventListener("pointerdown", () => { pressedAt = performance.now(); }, true);
  for (const ev of ["pointerup", "pointercancel"]) {
    // The click follows pointerup in the same task: a zero timeout runs the redraw after it.
    document.addEventListener(ev, () => { setTimeout(runHeld, 0); }, true);
  }
  JY.afterPress = function (fn) {
    const held = pressedAt ? performance.now() - pressedAt : PRESS_MAX_MS;
    if (held >= PRESS_MAX_MS) { fn(); return; }
    afterRelease.add(fn); // a Set: ten redraws asked for during one press run once
    if (!pressTimer) pressTimer = setTimeout(runHeld, PRESS_MAX_MS - held);
  };

  /** A stable random id (for drafts, interview lines). */
  JY.uid = function (prefix) {
    const a = new Uint8Array(8);
    crypto.getRandomValues(a);
    return (prefix || "") + Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  };
})();
