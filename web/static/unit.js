/* Officer's phone page: pushed orders over /ws/unit (sound + vibration), acknowledge, status buttons,
 * navigation link, visible connection state, automatic reconnect. The server re-sends every order not
 * yet acknowledged on reconnect; orders are also kept in this tab so a reload still shows them.
 * An acknowledged job has a field report: notes with an optional photo (POST .../notes, then the photo
 * streamed with PUT .../notes/{id}/photo), and closing the incident with its outcome (POST .../close). */
(function () {
  "use strict";
  const { h, t, $ } = JY;

  JY.i18n({
    zh: {
      "unit.title": "巡逻单元", "unit.status": "我的状态", "unit.s.en_route": "出发", "unit.s.on_scene": "到场",
      "unit.s.clear": "处置完毕", "unit.orders": "指令", "unit.orders.none": "暂无指令，请保持待命。",
      "unit.ack": "确认接收", "unit.acking": "确认中…", "unit.acked": "已确认 {t}", "unit.ack.wait": "已发送，等待服务器确认…",
      "unit.nav": "导航", "unit.offline": "离线期间收到", "unit.new": "新指令",
      "unit.updated": "{t} 更新", "unit.updatedLive": "警情 {n} 有新情况：{text}",
      "unit.newOrder": "新指令：{n} {where}", "unit.status.set": "状态已更新：{s}",
      "unit.lost": "连接已断开，正在重连。离线期间的指令会在恢复后显示。",
      "unit.state.offered": "待确认", "unit.state.acknowledged": "已确认", "unit.state.withdrawn": "已撤回",
      "unit.state.expired": "已超时（已转派）", "unit.state.completed": "已完成", "unit.received": "收到 {t}",
      "unit.withdrawn": "指令 {n} 已撤回：{r}", "unit.enable": "点此开启新指令的提示音和振动",
      "unit.loc.share": "共享我的位置", "unit.loc.on": "位置已共享：{t}（±{a} 米）", "unit.loc.off": "未共享位置",
      "unit.loc.waiting": "正在获取位置…", "unit.loc.err": "无法获取位置：{msg}", "unit.loc.none": "此浏览器不支持定位（需要 HTTPS）",
      "st.available": "空闲", "st.dispatched": "已派警", "st.en_route": "在途", "st.on_scene": "到场", "st.returning": "返回中",
      "st.out_of_service": "暂停服务",
      "unit.report": "现场记录", "unit.note": "记录内容", "unit.photo": "照片（可选）", "unit.addNote": "添加记录",
      "unit.noteSaved": "记录已保存", "unit.photoSaved": "照片已保存（{kb} KB）", "unit.photoFailed": "照片未保存：{msg}",
      "unit.photoRetry": "重新上传照片", "unit.needNote": "请填写记录内容。", "unit.sending": "正在发送…",
      "unit.close": "结束警情", "unit.outcome": "处警结果", "unit.closeNote": "处置情况（必填）", "unit.pick": "— 请选择 —",
      "unit.needOutcome": "请选择处警结果并写明处置情况。", "unit.closed": "警情已结束：{o}",
      "unit.photoType": "只能上传 JPEG、PNG、WebP、HEIC 或 GIF 照片。",
    },
    en: {
      "unit.title": "Patrol unit", "unit.status": "My status", "unit.s.en_route": "En route", "unit.s.on_scene": "On scene",
      "unit.s.clear": "Clear", "unit.orders": "Orders", "unit.orders.none": "No orders. Stay available.",
      "unit.ack": "Acknowledge", "unit.acking": "Acknowledging…", "unit.acked": "Acknowledged {t}", "unit.ack.wait": "Sent, waiting for the server…",
      "unit.nav": "Navigate", "unit.offline": "arrived while offline", "unit.new": "NEW",
      "unit.updated": "updated {t}", "unit.updatedLive": "Incident {n} updated: {text}",
      "unit.newOrder": "New order: {n} {where}", "unit.status.set": "Status set: {s}",
      "unit.lost": "Connection lost, reconnecting. Orders sent meanwhile will appear when it is back.",
      "unit.state.offered": "to acknowledge", "unit.state.acknowledged": "acknowledged", "unit.state.withdrawn": "withdrawn",
      "unit.state.expired": "expired (re-offered)", "unit.state.completed": "completed", "unit.received": "received {t}",
      "unit.withdrawn": "Order {n} was withdrawn: {r}", "unit.enable": "Tap here to turn on sound and vibration for new orders",
      "unit.loc.share": "Share my location", "unit.loc.on": "Location shared: {t} (±{a} m)", "unit.loc.off": "Location not shared",
      "unit.loc.waiting": "Getting the location…", "unit.loc.err": "No location: {msg}", "unit.loc.none": "This browser cannot give a location (HTTPS is needed)",
      "st.available": "available", "st.dispatched": "dispatched", "st.en_route": "en route", "st.on_scene": "on scene",
      "st.returning": "returning", "st.out_of_service": "out of service",
      "unit.report": "Field report", "unit.note": "Note", "unit.photo": "Photo (optional)", "unit.addNote": "Add note",
      "unit.noteSaved": "Note saved", "unit.photoSaved": "Photo saved ({kb} KB)", "unit.photoFailed": "Photo not saved: {msg}",
      "unit.photoRetry": "Send the photo again", "unit.needNote": "Write the note first.", "unit.sending": "Sending…",
      "unit.close": "Close incident", "unit.outcome": "Outcome", "unit.closeNote": "What was found and done (required)", "unit.pick": "— choose —",
      "unit.needOutcome": "Choose the outcome and say what was found and done.", "unit.closed": "Incident closed: {o}",
      "unit.photoType": "Only JPEG, PNG, WebP, HEIC or GIF photos can be sent.",
    },
  });

  const S = { helloAt: 0, unitId: null, unit: null, orders: new Map(), openedAt: 0, closedAt: 0, acking: new Set(), sock: null,
    outcomes: [], reports: new Map(), incidentUpdates: new Map() };
  const storeKey = () => "jy.unit.orders." + S.unitId;

  function save() {
    try {
      const keep = [...S.orders.values()].slice(-30);
      localStorage.setItem(storeKey(), JSON.stringify(keep));
    } catch (e) { /* storage full or disabled: the server still re-sends unacknowledged orders */ }
  }
  function load() {
    try {
      for (const o of JSON.parse(localStorage.getItem(storeKey()) || "[]")) S.orders.set(String(o.id), Object.assign(o, { fresh: false }));
    } catch (e) { /* ignore a damaged cache */ }
  }

  const inc = (o) => o.incident || {};
  const loc = (o) => inc(o).location || o.location || {};
  /** A field of the order or its incident; location fields come from incident.location. */
  const field = (o, k) => {
    if (k === "location_text") return o.location_text ?? inc(o).location_text ?? loc(o).text;
    if (k === "lat" || k === "lon") return o[k] ?? inc(o)[k] ?? loc(o)[k];
    return o[k] ?? inc(o)[k];
  };

  function navLinks(o) {
    const lat = field(o, "lat"), lon = field(o, "lon");
    const where = field(o, "location_text") || "";
    if (lat != null && lon != null) {
      return h("a.button", { href: `geo:${lat},${lon}?q=${lat},${lon}(${encodeURIComponent(where || "incident")})`, "data-nav": "1", text: t("unit.nav") + " ↗" });
    }
    if (where) return h("a.button", { href: `geo:0,0?q=${encodeURIComponent(where)}`, "data-nav": "1", text: t("unit.nav") + " ↗" });
    return null;
  }

  // Live messages redraw the list; one arriving while the officer's finger is on "Acknowledge" waits for
  // the tap to finish (JY.afterPress), or the tap would land on a replaced button and do nothing.
  function render() { JY.afterPress(renderOrders); }

  function renderOrders() {
    const ul = $("#orders");
    const list = [...S.orders.values()].sort((a, b) => (JY.parseTime(b.created_at) || 0) - (JY.parseTime(a.created_at) || 0));
    if (!list.length) { ul.replaceChildren(h("li.empty", { text: t("unit.orders.none") })); return; }
    const focusKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    ul.replaceChildren(...list.map((o) => {
      const state = o.state || "offered";
      const lvl = field(o, "level");
      const acked = state === "acknowledged" || !!o.acknowledged_at;
      const waiting = S.acking.has(o.id) && !acked;
      return h("li.order." + state + (o.fresh && !acked ? ".new" : ""), { dataset: { order: o.id, state } },
        h("h3", null,
          o.fresh && !acked ? h("span.badge.lvl-P1", { text: t("unit.new") }) : null,
          lvl ? h("span.badge.lvl-" + lvl, { text: lvl }) : null,
          h("span", { text: field(o, "number") || field(o, "incident_number") || o.incident_id || "" }),
          h("span", { text: JY.catLabel(field(o, "category")) }),
          o.offline ? h("span.badge.offline-tag", { text: t("unit.offline") }) : null,
          o.updatedAt ? h("span.badge.updated-tag", { text: t("unit.updated", { t: JY.clock(o.updatedAt) }) }) : null),
        h("div.where", { text: field(o, "location_text") || "" }),
        field(o, "text") ? h("div.text", { text: field(o, "text") }) : null,
        o.note ? h("div.text", { text: o.note }) : null,
        h("div.meta", null, t("unit.received", { t: JY.clock(o.received_at || o.created_at) }), " · ",
          h("strong.order-state", { text: acked ? t("unit.acked", { t: JY.clock(o.acknowledged_at) }) : t("unit.state." + state) })),
        waiting ? h("p.hint", { text: t("unit.ack.wait") }) : null,
        h("div.actions", null,
          !acked && state === "offered" ? h("button.primary.big.ack", { type: "button", dataset: { key: "ack-" + o.id },
            disabled: waiting || null, text: waiting ? t("unit.acking") : t("unit.ack"), onclick: () => ack(o.id) }) : null,
          navLinks(o)),
        (acked && state !== "withdrawn" && state !== "expired") || o.closed ? report(o) : null);
    }));
    if (focusKey) { const el = ul.querySelector(`[data-key="${CSS.escape(focusKey)}"]`); if (el && !el.disabled) el.focus(); }
  }

  // ---------------------------------------------------------------- field report: notes, photo, close
  // One element per order, built once and re-attached on every render, so what the officer typed and the
  // photo chosen survive the re-renders that live messages cause.
  const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "image/gif"];
  const outcomeLabel = (code) => { const x = S.outcomes.find((r) => r.code === code); return x ? JY.label({ zh: x.zh, en: x.en }) : code; };

  function outcomeOptions(select) {
    const keep = select.value;
    select.replaceChildren(h("option", { value: "", text: t("unit.pick") }),
      ...S.outcomes.filter((r) => !r.retired).map((r) => h("option", { value: r.code, text: JY.label({ zh: r.zh, en: r.en }) })));
    select.value = keep;
  }

  const putPhoto = (incidentId, noteId, file) =>
    JY.api("PUT", `/api/incidents/${encodeURIComponent(incidentId)}/notes/${encodeURIComponent(noteId)}/photo`, file);

  function noteItem(incidentId, note, file) {
    const li = h("li", { dataset: { note: note.id } }, h("span.text", { text: note.text }));
    const status = h("span.hint.photo-state", { role: "status" });
    li.append(" ", status);
    const send = async () => {
      status.textContent = t("unit.sending");
      try {
        const saved = await putPhoto(incidentId, note.id, file);
        status.textContent = "✓ " + t("unit.photoSaved", { kb: Math.max(1, Math.round(saved.photo.size / 1024)) });
        li.dataset.photo = saved.photo.sha256;
      } catch (e) {
        // The note is kept; the photo was not (nothing partial is ever kept): say so and offer to resend.
        status.replaceChildren(h("span.error-text", { text: t("unit.photoFailed", { msg: JY.errorText(e) }) }), " ",
          h("button", { type: "button", text: t("unit.photoRetry"), onclick: send }));
      }
    };
    if (file) send();
    return li;
  }

  function report(o) {
    if (S.reports.has(o.id)) {
      const kept = S.reports.get(o.id);
      kept.refresh(o);
      return kept.el;
    }
    const iid = o.incident_id;
    const k = (x) => `${x}-${o.id}`;
    const notes = h("ul.plain.notes");
    const text = h("textarea#" + k("note"), { rows: 3, maxlength: 4000, dataset: { key: k("note") } });
    const file = h("input#" + k("photo"), { type: "file", accept: PHOTO_TYPES.join(","), capture: "environment" });
    const noteErr = h("p.error-text", { role: "alert" });
    const add = h("button.big", { type: "submit", text: t("unit.addNote") });
    const noteForm = h("form.note-form", { novalidate: true },
      h("label", { for: k("note"), text: t("unit.note") }), text,
      h("label", { for: k("photo"), text: t("unit.photo") }), file, noteErr, add);
    noteForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      noteErr.textContent = "";
      const chosen = file.files[0] || null;
      if (!text.value.trim()) { noteErr.textContent = t("unit.needNote"); text.focus(); return; }
      if (chosen && !PHOTO_TYPES.includes(chosen.type)) { noteErr.textContent = t("unit.photoType"); return; }
      add.disabled = true;
      try {
        const note = await JY.api("POST", `/api/incidents/${encodeURIComponent(iid)}/notes`, { text: text.value.trim() });
        notes.append(noteItem(iid, note, chosen));
        text.value = "";
        file.value = "";
        JY.toast(t("unit.noteSaved"), "ok", 2500);
      } catch (e) {
        noteErr.textContent = JY.errorText(e);
      } finally {
        add.disabled = false;
      }
    });
    const outcome = h("select#" + k("outcome"), { dataset: { key: k("outcome") } });
    outcomeOptions(outcome);
    const closeNote = h("textarea#" + k("close-note"), { rows: 3, maxlength: 4000, dataset: { key: k("close-note") } });
    const closeErr = h("p.error-text", { role: "alert" });
    const closeBtn = h("button.big.primary", { type: "submit", text: t("unit.close") });
    const closeForm = h("form.close-form", { novalidate: true },
      h("label", { for: k("outcome"), text: t("unit.outcome") }), outcome,
      h("label", { for: k("close-note"), text: t("unit.closeNote") }), closeNote, closeErr, closeBtn);
    const done = h("p.closed-note", { role: "status" });
    closeForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      closeErr.textContent = "";
      if (!outcome.value || !closeNote.value.trim()) { closeErr.textContent = t("unit.needOutcome"); return; }
      closeBtn.disabled = true;
      try {
        const inc = await JY.api("POST", `/api/incidents/${encodeURIComponent(iid)}/close`,
          { outcome_code: outcome.value, note: closeNote.value.trim() });
        const mine = (inc.orders || []).find((x) => String(x.id) === o.id);
        const cur = S.orders.get(o.id);
        if (cur) Object.assign(cur, { state: mine ? mine.state : cur.state, closed: inc.outcome });
        save();
        render();
        JY.toast(t("unit.closed", { o: outcomeLabel(inc.outcome.code) }), "ok");
      } catch (e) {
        closeErr.textContent = JY.errorText(e);
        closeBtn.disabled = false;
      }
    });
    const el = h("section.field-report", { dataset: { incident: iid }, "aria-label": t("unit.report") },
      h("h4", { text: t("unit.report") }), notes, noteForm, closeForm, done);
    const refresh = (cur) => {
      outcomeOptions(outcome);
      closeForm.hidden = !!cur.closed;
      done.textContent = cur.closed ? t("unit.closed", { o: outcomeLabel(cur.closed.code) }) : "";
    };
    refresh(o);
    // Notes written earlier (another device, before a reload) are listed too.
    JY.api("GET", `/api/incidents/${encodeURIComponent(iid)}/notes`).then((r) => {
      for (const n of r.notes || []) {
        if (notes.querySelector(`[data-note="${CSS.escape(n.id)}"]`)) continue;
        const li = noteItem(iid, n, null);
        if (n.photo) li.querySelector(".photo-state").textContent = "✓ " + t("unit.photoSaved", { kb: Math.max(1, Math.round(n.photo.size / 1024)) });
        notes.append(li);
      }
    }, () => { /* listed again on the next reload */ });
    S.reports.set(o.id, { el, refresh });
    return el;
  }

  function renderStatus() {
    const st = (S.unit && S.unit.status) || "";
    const el = $("#my-status");
    el.className = "badge st st-" + st;
    el.textContent = st ? t("st." + st) : "—";
    document.querySelectorAll("[data-status]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.status === st)));
    $("#callsign").textContent = (S.unit && S.unit.callsign) || S.unitId || "";
  }

  function ack(id) {
    S.acking.add(id);
    // If offline, the ack goes out as soon as the socket is back (onOpen re-sends every pending ack).
    S.sock.send({ type: "ack", order_id: id });
    render();
  }

  // An incident as the server sent it, with its updated_at: the newest version seen wins, so an order
  // re-sent from the server's stream (it carries the text of its first push) cannot undo an update.
  const newer = (a, b) => (JY.parseTime(a && a.updated_at) || 0) > (JY.parseTime(b && b.updated_at) || 0);

  function onIncidentUpdate(m) {
    const id = String(m.order_id || "");
    const incd = m.incident;
    if (!id || !incd || typeof incd !== "object") return;
    const o = S.orders.get(id);
    if (!o) { S.incidentUpdates.set(id, incd); return; } // the order itself is on its way
    if (!newer(incd, o.incident)) return;
    const textChanged = (o.incident && o.incident.text) !== incd.text;
    o.incident = incd;
    if (textChanged) {
      o.updatedAt = new Date().toISOString();
      const added = String(incd.text || "").split("\n").pop();
      $("#orders-live").textContent = t("unit.updatedLive", { n: field(o, "number") || id, text: added });
      JY.beep([[988, 200]]);
      JY.vibrate([300]);
    }
    save();
    render();
  }

  function onOrder(o, meta) {
    o.id = String(o.id);
    const known = S.orders.get(o.id);
    const fresh = !known;
    const merged = Object.assign({}, known || {}, o);
    const waiting = S.incidentUpdates.get(o.id);
    S.incidentUpdates.delete(o.id);
    for (const later of [known && known.incident, waiting]) {
      if (later && newer(later, merged.incident)) merged.incident = later;
    }
    if (fresh) {
      merged.received_at = new Date().toISOString();
      merged.fresh = true;
      // Created before this connection opened: it was sent while the phone was not connected.
      const created = JY.parseTime(o.created_at);
      merged.offline = !!(meta && meta.replay) || !!o.replayed || (!!created && !!S.openedAt && created.getTime() < S.openedAt);
    }
    S.orders.set(o.id, merged);
    if (merged.state === "acknowledged" || merged.acknowledged_at) S.acking.delete(o.id);
    if (fresh && (merged.state || "offered") === "offered") {
      JY.beep([[988, 250], [0, 100], [988, 250], [0, 100], [1319, 500]]);
      JY.vibrate([400, 150, 400, 150, 800]);
      $("#orders-live").textContent = t("unit.newOrder", { n: field(merged, "number") || merged.incident_id, where: field(merged, "location_text") || "" });
    }
    save();
    render();
  }

  function onMessage(m) {
    if (!m || typeof m !== "object") return;
    switch (m.type) {
      case "order":
        onOrder(m.order || m, m);
        break;
      case "orders":
        for (const o of m.orders || []) onOrder(o, { replay: m.replay || m.pending });
        break;
      case "order_incident":
        onIncidentUpdate(m);
        break;
      case "ack": case "acked": case "ack_ok": case "acknowledged": {
        const id = String(m.order_id || (m.order && m.order.id));
        const o = S.orders.get(id);
        if (o) { o.state = "acknowledged"; o.acknowledged_at = m.acknowledged_at || (m.order && m.order.acknowledged_at) || new Date().toISOString(); o.fresh = false; }
        S.acking.delete(id);
        save(); render();
        refreshUnit();
        break;
      }
      case "order_withdrawn": case "order_update": case "withdrawn": case "expired": case "order_state": {
        const upd = m.order || m;
        const id = String(upd.id || upd.order_id);
        const o = S.orders.get(id);
        const state = upd.state || m.state || (m.type === "order_withdrawn" ? "withdrawn" : m.type);
        if (o) {
          Object.assign(o, { state, close_reason: m.reason || upd.close_reason, fresh: false });
          S.acking.delete(id);
          save(); render();
          if (state === "withdrawn") JY.toast(t("unit.withdrawn", { n: field(o, "number") || id, r: m.reason || "" }), "error", 15000);
        }
        break;
      }
      case "hello": case "unit": case "status":
        if (m.type === "hello") S.helloAt = Date.now();
        S.unit = Object.assign(S.unit || {}, m.unit || m);
        renderStatus();
        break;
      case "error":
        JY.toast((m.error && m.error.message) || m.message || "error", "error");
        if (m.order_id) { S.acking.delete(String(m.order_id)); render(); }
        break;
      default:
        break;
    }
  }

  async function setStatus(status, btn) {
    const err = $("#status-error");
    err.textContent = "";
    document.querySelectorAll("[data-status]").forEach((b) => { b.disabled = true; });
    try {
      const r = await JY.api("POST", `/api/units/${encodeURIComponent(S.unitId)}/status`, { status });
      S.unit = Object.assign(S.unit || {}, r.unit || r);
      if (!S.unit.status) S.unit.status = status;
      renderStatus();
      JY.toast(t("unit.status.set", { s: t("st." + S.unit.status) }), "ok", 2500);
    } catch (e) {
      err.textContent = JY.errorText(e);
    } finally {
      document.querySelectorAll("[data-status]").forEach((b) => { b.disabled = false; });
      btn.focus();
    }
  }

  // ---------------------------------------------------------------- location sharing
  // The console ranks units by distance and shows the age of each fix: the phone reports where it is
  // when it moved 25 m or a minute passed, over the socket (REST when the socket is down).
  const LOC = { watch: null, last: null, sentAt: 0 };
  function metres(a, b) {
    const r = 6371000, rad = Math.PI / 180;
    const dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
    const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * r * Math.asin(Math.sqrt(x));
  }
  async function sendLocation(pos) {
    const p = { lat: +pos.coords.latitude.toFixed(6), lon: +pos.coords.longitude.toFixed(6) };
    const acc = Math.round(pos.coords.accuracy || 0);
    if (LOC.last && metres(LOC.last, p) < 25 && Date.now() - LOC.sentAt < 60000) return;
    try {
      if (!S.sock.send({ type: "location", lat: p.lat, lon: p.lon })) {
        await JY.api("POST", `/api/units/${encodeURIComponent(S.unitId)}/location`, p);
      }
      LOC.last = p;
      LOC.sentAt = Date.now();
      $("#loc-state").textContent = t("unit.loc.on", { t: JY.clock(new Date()), a: acc });
    } catch (e) {
      $("#loc-state").textContent = t("unit.loc.err", { msg: JY.errorText(e) });
    }
  }
  function setSharing(on) {
    const btn = $("#share-loc");
    localStorage.setItem("jy.unit.shareLoc", on ? "1" : "0");
    btn.setAttribute("aria-pressed", String(on));
    if (LOC.watch !== null) { navigator.geolocation.clearWatch(LOC.watch); LOC.watch = null; }
    if (!on) { $("#loc-state").textContent = t("unit.loc.off"); return; }
    if (!navigator.geolocation || !window.isSecureContext) { $("#loc-state").textContent = t("unit.loc.none"); btn.setAttribute("aria-pressed", "false"); return; }
    $("#loc-state").textContent = t("unit.loc.waiting");
    LOC.last = null;
    LOC.watch = navigator.geolocation.watchPosition(sendLocation,
      (err) => { $("#loc-state").textContent = t("unit.loc.err", { msg: err.message || err.code }); },
      { enableHighAccuracy: true, maximumAge: 15000, timeout: 30000 });
  }

  async function refreshUnit() {
    try {
      const r = await JY.api("GET", `/api/units/${encodeURIComponent(S.unitId)}`);
      S.unit = Object.assign(S.unit || {}, r.unit || r);
      renderStatus();
    } catch (e) {
      if (e.status && e.status !== 404 && e.status !== 405) JY.toast(JY.errorText(e), "error");
    }
  }

  async function main() {
    JY.initPage();
    const who = await JY.signIn({ mount: $("#signin-mount"), content: $("#content"), roles: ["officer"] });
    S.unitId = who.unit_id;
    load();
    renderStatus();
    render();
    document.querySelectorAll("[data-status]").forEach((b) => b.addEventListener("click", () => setStatus(b.dataset.status, b)));
    // Phones allow sound and vibration only after a tap: ask for one, visibly, until it happens.
    const enable = $("#enable-alerts");
    enable.hidden = JY.activated();
    enable.addEventListener("click", () => { JY.beep([[880, 120]]); JY.vibrate([100]); enable.hidden = true; });
    window.addEventListener("pointerdown", () => setTimeout(() => { enable.hidden = JY.activated(); }, 0), true);
    JY.onLang(() => { render(); renderStatus(); });
    const banner = $("#offline-banner");
    S.sock = new JY.Socket("/ws/unit", {
      pill: $("#conn"),
      onOpen: () => { S.openedAt = Date.now(); banner.hidden = true; refreshUnit(); },
      onClose: () => { S.closedAt = Date.now(); banner.textContent = t("unit.lost"); banner.hidden = false; },
      onMessage,
    });
    // Re-send acks the server has not confirmed whenever the socket comes back.
    const reopen = S.sock.opts.onOpen;
    S.sock.opts.onOpen = () => { reopen(); for (const id of S.acking) S.sock.send({ type: "ack", order_id: id }); };
    JY.unitState = S;
    // Outcome codes for closing a job from the field.
    JY.api("GET", "/api/outcomes").then((r) => { S.outcomes = r.outcomes || []; render(); },
      (e) => JY.toast(JY.errorText(e), "error"));
    S.sock.start();
    $("#share-loc").addEventListener("click", () => setSharing($("#share-loc").getAttribute("aria-pressed") !== "true"));
    setSharing(localStorage.getItem("jy.unit.shareLoc") !== "0");
    refreshUnit();
  }
  main();
})();
