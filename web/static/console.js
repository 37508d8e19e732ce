/* Dispatcher console: live incident queue, detail with recommendations and one-click dispatch,
 * units, map, radio transcripts, kiosk drafts, and escalation alerts that cannot be missed.
 *
 * State comes from GET /api/snapshot on every (re)connect of /ws/console, then from live events:
 * incident, unit, order, alert, transcript, duplicate, kiosk_draft. A reconnect always resyncs.
 * Degraded server components (GET /readyz, every 5 s and on reconnect) are named in a status strip.
 */
(function () {
  "use strict";
  const { h, t, $ } = JY;
  // Panels in their own modules (console-calls.js) take the live events they show: JY.consoleOn(type, fn).
  const extraHandlers = new Map();
  JY.consoleOn = (type, fn) => { extraHandlers.set(type, [...(extraHandlers.get(type) || []), fn]); };

  JY.i18n({
    zh: {
      "console.title": "调度台", "console.skip": "跳到警情队列",
      "console.sound.enable": "🔇 点击启用提示音", "console.alert.open": "查看警情", "console.alert.ack": "确认告警",
      "console.alert.more": "（另有 {n} 条未确认）",
      "console.queue": "警情队列", "console.showClosed": "显示已结束", "console.new": "新建警情",
      "console.ni.text": "警情内容", "console.ni.location": "地点", "console.ni.lat": "纬度", "console.ni.lon": "经度",
      "console.ni.create": "创建警情", "console.ni.created": "已创建警情 {n}", "console.ni.needText": "请填写警情内容。",
      "console.ni.badCoord": "纬度应在 -90 到 90，经度应在 -180 到 180，或都留空。",
      "console.queue.empty": "当前没有未结束的警情。", "console.reasons": "评级理由", "console.noReasons": "无评级理由",
      "console.dupFlag": "疑似重复",
      "console.detail": "警情详情", "console.detail.none": "请在队列中选择一个警情。",
      "console.d.text": "内容", "console.d.report": "报案表单", "console.d.prio": "调整优先级", "console.d.prioReason": "理由（必填）", "console.d.prioSet": "设定",
      "console.d.prioBad": "优先级应为 0 到 10 的整数。", "console.d.prioWhy": "请写明调整理由。", "console.d.prioDone": "优先级已设为 {p}",
      "console.d.overridden": "调度员已将优先级设为 {p}（原为 {was}），{by}：{r}", "console.d.closeConfirm": "结束警情 {n}？其未完成的指令将被撤回。",
      "console.d.mergeConfirm": "将 {a} 合并到 {b}？{a} 将被标记为已合并。", "console.due": "确认倒计时 {s} 秒", "console.overdue": "已超时 {s} 秒未确认",
      "console.notDispatched": "超过 60 秒未派警",
      "console.radio.noSpeech": "（无语音）", "console.radio.busy": "（识别繁忙：录音已保存，稍后转写）", "console.radio.failed": "（未能转写：{why}）", "console.radio.late": "〔稍后转写〕",
      "console.radio.play": "播放录音",
      "console.sug.title": "电台建议警情", "console.sug.accept": "立为警情", "console.sug.dismiss": "忽略",
      "console.sug.accepted": "已立为警情", "console.sug.dismissed": "已忽略",
      "console.rs.title": "电台状态更新", "console.rs.fromRadio": "来自电台", "console.rs.undo": "撤销", "console.rs.undone": "已撤销",
      "console.rs.confirm": "确认", "console.rs.applied": "已应用", "console.rs.unconfirmed": "待确认", "console.rs.refused": "未应用",
      "console.rs.unchanged": "无变化", "console.d.where": "地点", "console.d.created": "接报时间", "console.d.source": "来源",
      "console.d.recs": "推荐警力", "console.d.recs.loading": "正在计算推荐…", "console.d.recs.none": "没有可用的警力。",
      "console.d.dispatch": "派警", "console.d.dispatching": "派警中…", "console.d.dispatched": "已向 {u} 派警",
      "console.d.excluded": "不可用：", "console.d.orders": "指令", "console.d.orders.none": "尚未派警。",
      "console.d.dups": "疑似重复警情", "console.d.merge": "合并到本警情", "console.d.unlink": "不是重复",
      "console.d.merged": "已合并", "console.d.unlinked": "已取消关联",
      "console.d.timeline": "时间线", "console.d.timeline.none": "暂无记录。", "console.d.close": "结束警情",
      "console.d.closed": "警情已结束",
      "console.map": "地图", "console.map.units": "警力", "console.map.incidents": "警情",
      "console.map.plain": "（坐标视图）", "console.map.tiles": "（瓦片地图）", "console.map.none": "暂无坐标。",
      "console.units": "警力", "console.u.callsign": "呼号", "console.u.status": "状态", "console.u.fix": "最后定位",
      "console.units.empty": "没有登记的警力。",
      "console.radio": "电台与转写", "console.radio.none": "暂无通话。", "console.radio.channel": "频道 {c}",
      "console.kiosk": "自助报案", "console.kiosk.none": "暂无正在填写的报案。", "console.kiosk.typing": "正在填写…",
      "console.kiosk.submitted": "已提交，回执 {r}",
      "console.sync.failed": "无法加载当前态势：{msg}（将在重连时重试）",
      "console.health.label": "服务器状态", "console.health.details": "详情",
      "console.health.redis": "Redis 不可用：新指令先存入数据库，Redis 恢复后自动下发，不会丢失；实时更新可能延迟。",
      "console.health.database": "数据库不可用：警情和指令无法保存，派警可能失败。",
      "console.health.model": "语音模型未加载：实时转写不可用（{reason}）；派警不受影响。",
      "console.health.modelLoading": "语音模型加载中：实时转写暂不可用；派警不受影响。",
      "console.health.disk": "磁盘将满：新的录音（询问、电台录音）被拒收；警情、指令和文字照常保存。",
      "console.health.dispatch": "实时事件未订阅：本台可能漏看更新，恢复后自动同步。",
      "console.health.other": "{name} 未就绪。",
      "console.health.unknown": "无法检查服务器状态：{msg}",
      "console.health.recovered": "已恢复：{name}",
      "console.health.n.redis": "Redis", "console.health.n.database": "数据库", "console.health.n.model": "语音模型",
      "console.health.n.disk": "磁盘空间", "console.health.n.dispatch": "实时事件",
      "console.d.queued": "已向 {u} 派警：Redis 不可用，指令已存入数据库，恢复后自动下发。",
      "st.new": "新警情", "st.triaged": "已研判", "st.dispatched": "已派警", "st.en_route": "在途", "st.on_scene": "到场",
      "st.closed": "已结束", "st.cancelled": "已撤销", "st.merged": "已合并",
      "st.available": "空闲", "st.returning": "返回中", "st.out_of_service": "暂停服务",
      "os.offered": "已下发", "os.acknowledged": "已确认", "os.completed": "已完成", "os.expired": "超时未确认",
      "os.withdrawn": "已撤回",
      "tl.created": "接报", "tl.status": "状态", "tl.text": "补充", "tl.order": "指令", "tl.alert": "告警",
      "tl.transcript": "转写", "tl.incident": "更新", "tl.updated": "更新", "tl.duplicate": "疑似重复",
    },
    en: {
      "console.title": "Dispatcher console", "console.skip": "Skip to incident queue",
      "console.sound.enable": "🔇 Click to enable sound", "console.alert.open": "Show incident", "console.alert.ack": "Acknowledge alert",
      "console.alert.more": "({n} more unacknowledged)",
      "console.queue": "Incident queue", "console.showClosed": "Show closed", "console.new": "New incident",
      "console.ni.text": "What happened", "console.ni.location": "Location", "console.ni.lat": "Latitude", "console.ni.lon": "Longitude",
      "console.ni.create": "Create incident", "console.ni.created": "Incident {n} created", "console.ni.needText": "Describe what happened.",
      "console.ni.badCoord": "Latitude must be -90 to 90 and longitude -180 to 180, or leave both empty.",
      "console.queue.empty": "No open incidents.", "console.reasons": "Why this priority", "console.noReasons": "No reasons given",
      "console.dupFlag": "possible duplicate",
      "console.detail": "Selected incident", "console.detail.none": "Select an incident in the queue.",
      "console.d.text": "Report", "console.d.report": "Report form", "console.d.prio": "Set priority", "console.d.prioReason": "Reason (required)", "console.d.prioSet": "Set",
      "console.d.prioBad": "Priority must be a whole number from 0 to 10.", "console.d.prioWhy": "Say why you change it.", "console.d.prioDone": "Priority set to {p}",
      "console.d.overridden": "Priority set to {p} by a dispatcher (was {was}), {by}: {r}", "console.d.closeConfirm": "Close incident {n}? Its open orders will be withdrawn.",
      "console.d.mergeConfirm": "Merge {a} into {b}? {a} will be marked as merged.", "console.due": "ack due in {s} s", "console.overdue": "ack overdue {s} s",
      "console.notDispatched": "not dispatched > 60 s",
      "console.radio.noSpeech": "(no speech)", "console.radio.busy": "(speech engine busy: audio kept, transcript to follow)", "console.radio.failed": "(not transcribed: {why})", "console.radio.late": "[transcribed later]",
      "console.radio.play": "Play the recording",
      "console.sug.title": "Suggested from radio", "console.sug.accept": "Create incident", "console.sug.dismiss": "Dismiss",
      "console.sug.accepted": "Incident created", "console.sug.dismissed": "Dismissed",
      "console.rs.title": "Status from radio", "console.rs.fromRadio": "from radio", "console.rs.undo": "Undo", "console.rs.undone": "Undone",
      "console.rs.confirm": "Confirm", "console.rs.applied": "applied", "console.rs.unconfirmed": "to confirm", "console.rs.refused": "not applied",
      "console.rs.unchanged": "unchanged", "console.d.where": "Location", "console.d.created": "Received", "console.d.source": "Source",
      "console.d.recs": "Recommended units", "console.d.recs.loading": "Ranking units…", "console.d.recs.none": "No unit is available.",
      "console.d.dispatch": "Dispatch", "console.d.dispatching": "Dispatching…", "console.d.dispatched": "Dispatched {u}",
      "console.d.excluded": "Not available: ", "console.d.orders": "Orders", "console.d.orders.none": "No unit dispatched yet.",
      "console.d.dups": "Possible duplicates", "console.d.merge": "Merge into this incident", "console.d.unlink": "Not a duplicate",
      "console.d.merged": "Merged", "console.d.unlinked": "Unlinked",
      "console.d.timeline": "Timeline", "console.d.timeline.none": "Nothing recorded yet.", "console.d.close": "Close incident",
      "console.d.closed": "Incident closed",
      "console.map": "Map", "console.map.units": "units", "console.map.incidents": "incidents",
      "console.map.plain": "(coordinate view)", "console.map.tiles": "(tile map)", "console.map.none": "No coordinates yet.",
      "console.units": "Units", "console.u.callsign": "Unit", "console.u.status": "Status", "console.u.fix": "Last fix",
      "console.units.empty": "No units registered.",
      "console.radio": "Radio and transcripts", "console.radio.none": "No transmissions yet.", "console.radio.channel": "Channel {c}",
      "console.kiosk": "Self-service reports", "console.kiosk.none": "No report being typed.", "console.kiosk.typing": "typing…",
      "console.kiosk.submitted": "submitted, receipt {r}",
      "console.sync.failed": "Cannot load the current picture: {msg} (retrying on reconnect)",
      "console.health.label": "Server status", "console.health.details": "Details",
      "console.health.redis": "Redis unreachable: orders are kept in the database and sent when it returns (none are dropped); live updates may be late.",
      "console.health.database": "Database unreachable: incidents and orders cannot be saved; dispatching may fail.",
      "console.health.model": "Speech model not loaded: live transcription unavailable ({reason}); dispatch works.",
      "console.health.modelLoading": "Speech model loading: live transcription not available yet; dispatch works.",
      "console.health.disk": "Disk nearly full: new audio (interview and radio recordings) is refused; incidents, orders and text are still saved.",
      "console.health.dispatch": "Live events not subscribed: this console may miss updates; it resyncs when they return.",
      "console.health.other": "{name} not ready.",
      "console.health.unknown": "Cannot check the server's status: {msg}",
      "console.health.recovered": "Recovered: {name}",
      "console.health.n.redis": "Redis", "console.health.n.database": "Database", "console.health.n.model": "Speech model",
      "console.health.n.disk": "Disk space", "console.health.n.dispatch": "Live events",
      "console.d.queued": "Dispatched {u}: Redis is unreachable, so the order is kept in the database and sent when it returns.",
      "st.new": "new", "st.triaged": "triaged", "st.dispatched": "dispatched", "st.en_route": "en route", "st.on_scene": "on scene",
      "st.closed": "closed", "st.cancelled": "cancelled", "st.merged": "merged",
      "st.available": "available", "st.returning": "returning", "st.out_of_service": "out of service",
      "os.offered": "offered", "os.acknowledged": "acknowledged", "os.completed": "completed", "os.expired": "expired (no ack)",
      "os.withdrawn": "withdrawn",
      "tl.created": "received", "tl.status": "status", "tl.text": "added", "tl.order": "order", "tl.alert": "ALERT",
      "tl.transcript": "transcript", "tl.incident": "update", "tl.updated": "update", "tl.duplicate": "possible duplicate",
    },
  });

  const OPEN = new Set(["new", "triaged", "dispatched", "en_route", "on_scene"]);
  const S = {
    incidents: new Map(), units: new Map(), orders: new Map(), alerts: [], dups: new Map(),
    channels: new Map(), drafts: new Map(), selected: null, timeline: new Map(), recs: null,
    expanded: new Set(), dismissed: new Set(), templates: new Map(), suggestions: new Map(), radioStatus: new Map(), config: { map_tile_url: "" },
  };

  // ---------------------------------------------------------------- field helpers (tolerant of shapes)
  const levelOf = (inc) => inc.level || (inc.priority == null ? "" : inc.priority >= 8 ? "P1" : inc.priority >= 6 ? "P2" : inc.priority >= 3 ? "P3" : "P4");
  const reasonsOf = (inc) => inc.reasons || (inc.triage && inc.triage.reasons) || [];
  const stLabel = (s) => t("st." + s) === "st." + s ? String(s || "").replace(/_/g, " ") : t("st." + s);
  const catLabel = JY.catLabel;
  const unitName = (id) => { const u = S.units.get(String(id)); return u ? u.callsign || u.id : String(id); };
  const incName = (id) => { const i = S.incidents.get(String(id)); return i ? i.number || i.id : String(id); };
  const pick = (ev, key) => (ev[key] && typeof ev[key] === "object" ? ev[key] : ev.data && typeof ev.data === "object" ? ev.data : ev);

  function reasonItem(r) {
    if (typeof r === "string") return h("li", null, r);
    const w = r.weight ?? r.points ?? r.score;
    const ev = r.evidence ?? r.span ?? r.text;
    return h("li", null, r.factor || r.rule || r.reason || "", ev ? [" ", h("q", { text: typeof ev === "string" ? ev : JSON.stringify(ev) })] : null,
      w != null ? h("span.w", { text: " " + (w > 0 ? "+" : "") + w }) : null);
  }

  // ---------------------------------------------------------------- merge state
  function putIncident(inc) {
    if (!inc || inc.id == null) return;
    inc.id = String(inc.id);
    if (inc.location && typeof inc.location === "object") {
      inc.location_text = inc.location.text ?? inc.location_text;
      inc.lat = inc.location.lat ?? inc.lat;
      inc.lon = inc.location.lon ?? inc.lon;
    }
    const old = S.incidents.get(inc.id);
    if (old && old.updated_at && inc.updated_at && JY.parseTime(inc.updated_at) < JY.parseTime(old.updated_at)) return;
    S.incidents.set(inc.id, Object.assign({}, old || {}, inc));
    for (const d of inc.duplicates || inc.possible_duplicates || []) addDup(inc.id, d);
  }
  function putUnit(u) {
    if (!u || u.id == null) return;
    u.id = String(u.id);
    if (u.location && typeof u.location === "object") {
      u.lat = u.location.lat ?? u.lat;
      u.lon = u.location.lon ?? u.lon;
      u.location_at = u.location.at ?? u.location_at;
    }
    S.units.set(u.id, Object.assign({}, S.units.get(u.id) || {}, u));
  }
  function putOrder(o) {
    if (!o || o.id == null) return;
    o.id = String(o.id);
    S.orders.set(o.id, Object.assign({}, S.orders.get(o.id) || {}, o));
  }
  function addDup(incId, d) {
    const other = String(typeof d === "object" ? d.incident_id ?? d.id ?? d.duplicate_of ?? d.other_id : d);
    if (!other || other === incId) return;
    const list = S.dups.get(incId) || [];
    if (typeof d === "object" && d.merged) return;
    if (!list.some((x) => x.other === other)) list.push({ other, evidence: typeof d === "object" ? d.evidence || d.reasons || d.score : null });
    S.dups.set(incId, list);
  }
  function visibleDups(incId) {
    return (S.dups.get(incId) || []).filter((d) => {
      if (S.dismissed.has(incId + "|" + d.other)) return false;
      const o = S.incidents.get(d.other);
      return !o || OPEN.has(o.status);
    });
  }
  function addTimeline(incId, entry) {
    const list = S.timeline.get(incId);
    if (list) list.push(entry);
  }

  // ---------------------------------------------------------------- rendering (batched per frame)
  let dirty = new Set();
  let frame = 0;
  function invalidate(...parts) {
    parts.forEach((p) => dirty.add(p));
    if (!frame) frame = requestAnimationFrame(flush);
  }
  function flush() {
    frame = 0;
    const d = dirty;
    dirty = new Set();
    if (d.has("queue")) renderQueue();
    if (d.has("detail")) renderDetail();
    if (d.has("units")) renderUnits();
    if (d.has("map")) renderMap();
    if (d.has("radio")) renderRadio();
    if (d.has("drafts")) renderDrafts();
    if (d.has("alerts")) renderAlerts();
  }

  function sortedIncidents() {
    const showClosed = $("#show-closed").checked;
    return [...S.incidents.values()]
      .filter((i) => showClosed || OPEN.has(i.status) || !i.status)
      .sort((a, b) => (b.priority ?? -1) - (a.priority ?? -1) ||
        (JY.parseTime(a.created_at) || 0) - (JY.parseTime(b.created_at) || 0));
  }

  function renderQueue() {
    const ul = $("#queue");
    const focusedId = document.activeElement && document.activeElement.closest && document.activeElement.closest("#queue li")
      ? document.activeElement.closest("li").dataset.id : null;
    const list = sortedIncidents();
    $("#queue-count").textContent = String(list.filter((i) => OPEN.has(i.status)).length);
    ul.replaceChildren();
    if (!list.length) { ul.append(h("li.empty", { text: t("console.queue.empty") })); return; }
    for (const inc of list) {
      const lvl = levelOf(inc);
      const reasons = reasonsOf(inc);
      const det = h("details", { open: S.expanded.has(inc.id) || null },
        h("summary", { text: t("console.reasons") + (reasons.length ? " (" + reasons.length + ")" : "") }),
        reasons.length ? h("ul.reasons", null, reasons.map(reasonItem)) : h("p.hint", { text: t("console.noReasons") }));
      det.addEventListener("toggle", () => { if (det.open) S.expanded.add(inc.id); else S.expanded.delete(inc.id); });
      const btn = h("button.inc-btn", { type: "button", "aria-pressed": String(S.selected === inc.id), onclick: () => select(inc.id) },
        h("span.line1", null,
          lvl ? h("span.badge.lvl-" + lvl, { text: lvl + (inc.priority != null ? " · " + inc.priority : "") }) : null,
          h("span.num", { text: inc.number || inc.id }),
          h("span", { text: catLabel(inc.category) }),
          h("span.badge.st.st-" + inc.status, { text: stLabel(inc.status) }),
          visibleDups(inc.id).length ? h("span.badge.dup-flag", { text: t("console.dupFlag") }) : null),
        h("span.where", { text: inc.location_text || (inc.lat != null ? inc.lat.toFixed(4) + ", " + inc.lon.toFixed(4) : "") }),
        " ",
        h("span.age", { dataset: { ts: inc.created_at || "" }, text: JY.ago(inc.created_at) }),
        overdue(inc) ? h("span.badge.overdue", { text: t("console.notDispatched") }) : null);
      const li = h("li" + (S.selected === inc.id ? ".sel" : "") + (OPEN.has(inc.status) ? "" : ".closed"),
        { dataset: { id: inc.id, level: lvl, status: inc.status || "" } }, btn, det);
      ul.append(li);
    }
    if (focusedId) {
      const again = ul.querySelector(`li[data-id="${CSS.escape(focusedId)}"] .inc-btn`);
      if (again) again.focus();
    }
  }

  function select(id) {
    if (S.selected !== id) { S.recs = null; }
    S.selected = id;
    invalidate("queue", "detail", "map");
    loadDetail(id);
  }

  async function loadDetail(id) {
    try {
      const full = await JY.api("GET", `/api/incidents/${encodeURIComponent(id)}`);
      const inc = full.incident || full;
      putIncident(inc);
      S.timeline.set(id, buildTimeline(inc));
      for (const o of inc.orders || []) putOrder(o);
    } catch (e) {
      if (S.selected === id) JY.toast(JY.errorText(e), "error");
    }
    if (S.selected === id) invalidate("detail", "queue");
    loadRecs(id);
  }

  /** The incident's story from GET /api/incidents/{id}: status changes, added text, orders, links. */
  function buildTimeline(inc) {
    const tl = [];
    tl.push({ at: inc.created_at, kind: "created", data: { source: inc.source }, actor: inc.created_by });
    for (const e of (inc.history || []).filter((x) => x.from)) tl.push({ at: e.at, kind: "status", data: { from: e.from, to: e.to, reason: e.reason }, actor: e.actor });
    for (const e of inc.texts || []) tl.push({ at: e.at, kind: "text", data: { text: e.text }, actor: e.actor });
    for (const o of inc.orders || []) {
      tl.push({ at: o.created_at, kind: "order", data: { unit_id: o.unit_id, state: "offered" }, actor: o.created_by });
      if (o.acknowledged_at) tl.push({ at: o.acknowledged_at, kind: "order", data: { unit_id: o.unit_id, state: "acknowledged" } });
      if (o.closed_at && o.state !== "acknowledged") tl.push({ at: o.closed_at, kind: "order", data: { unit_id: o.unit_id, state: o.state, reason: o.close_reason } });
    }
    for (const e of inc.timeline || inc.events || []) tl.push(e);
    for (const a of S.alerts) if (String(a.incident_id) === inc.id) tl.push({ at: a.at || a.created_at, kind: "alert", message: a.message });
    return tl;
  }

  async function loadRecs(id) {
    const inc = S.incidents.get(id);
    if (!inc || !OPEN.has(inc.status)) { S.recs = { id, items: [], excluded: [] }; invalidate("detail"); return; }
    // Keep showing the previous ranking while a fresh one loads (no flicker on live updates).
    if (!(S.recs && S.recs.id === id && S.recs.items)) { S.recs = { id, loading: true }; invalidate("detail"); }
    try {
      const r = await JY.api("GET", `/api/incidents/${encodeURIComponent(id)}/recommendations`);
      const items = Array.isArray(r) ? r : r.recommendations || r.ranked || r.units || [];
      if (S.selected === id) S.recs = { id, items, excluded: r.excluded || [] };
    } catch (e) {
      if (S.selected === id) S.recs = { id, error: JY.errorText(e) };
    }
    if (S.selected === id) invalidate("detail");
  }

  async function dispatchTo(incId, unitId, btn) {
    btn.disabled = true;
    btn.textContent = t("console.d.dispatching");
    try {
      const r = await JY.api("POST", `/api/incidents/${encodeURIComponent(incId)}/dispatch`, { unit_id: unitId });
      putOrder(r.order || r);
      if (r.queued || (r.order && r.order.queued)) {
        // Redis is down: the order waits in the database and is pushed when it returns (D2).
        JY.toast(t("console.d.queued", { u: unitName(unitId) }), "info", 15000);
        checkHealth();
      } else {
        JY.toast(t("console.d.dispatched", { u: unitName(unitId) }), "ok");
      }
      loadDetail(incId);
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
      btn.disabled = false;
      btn.textContent = t("console.d.dispatch");
    }
  }

  async function dupAction(incId, other, action, btn) {
    if (action === "merge" && !window.confirm(t("console.d.mergeConfirm", { a: incName(other), b: incName(incId) }))) return;
    btn.disabled = true;
    try {
      if (action === "merge") {
        // Merge the other incident into the selected one (it becomes "merged", its orders settle).
        await JY.api("POST", `/api/incidents/${encodeURIComponent(other)}/status`, { status: "merged", into: incId, reason: "duplicate" });
        JY.toast(t("console.d.merged"), "ok");
      } else {
        // The API has no unlink yet: hide the suggestion on this console only.
        S.dismissed.add(incId + "|" + other);
        S.dismissed.add(other + "|" + incId);
        JY.toast(t("console.d.unlinked"), "ok");
      }
      S.dups.set(incId, (S.dups.get(incId) || []).filter((d) => d.other !== other));
      S.dups.set(other, (S.dups.get(other) || []).filter((d) => d.other !== incId));
      loadDetail(incId);
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
      btn.disabled = false;
    }
  }

  async function closeIncident(incId, btn) {
    // Closing settles every open order of the incident: ask once, so a slip of the mouse cannot do it.
    if (!window.confirm(t("console.d.closeConfirm", { n: incName(incId) }))) return;
    btn.disabled = true;
    try {
      const r = await JY.api("POST", `/api/incidents/${encodeURIComponent(incId)}/status`, { status: "closed" });
      putIncident(r.incident || r);
      JY.toast(t("console.d.closed"), "ok");
      loadDetail(incId);
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
      btn.disabled = false;
    }
  }

  function timelineText(e) {
    if (typeof e === "string") return e;
    const d = e.data || {};
    const bits = [t("tl." + (e.kind || "")) !== "tl." + (e.kind || "") ? t("tl." + e.kind) : e.kind || e.type || e.action || ""];
    if (d.from || d.to) bits.push(`${stLabel(d.from || "")} → ${stLabel(d.to || d.status || "")}`);
    else if (d.status) bits.push(stLabel(d.status));
    if (d.unit_id) bits.push(unitName(d.unit_id));
    if (d.state) bits.push(t("os." + d.state));
    if (d.source) bits.push("(" + JY.sourceLabel(d.source) + ")");
    if (d.text) bits.push("“" + d.text + "”");
    if (d.reason) bits.push(d.reason);
    if (e.message) bits.push(e.message);
    if (e.actor) bits.push("· " + e.actor);
    return bits.filter(Boolean).join(" ");
  }

  function renderDetail() {
    const box = $("#detail");
    const inc = S.selected && S.incidents.get(S.selected);
    if (!inc) { box.replaceChildren(h("p.empty", { text: t("console.detail.none") })); return; }
    const keepFocus = document.activeElement && box.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    // Live updates re-render the detail: what the dispatcher is typing there must survive it.
    const typed = new Map();
    if (box.dataset.incident === inc.id) {
      box.querySelectorAll("input[data-key], textarea[data-key]").forEach((el) => typed.set(el.dataset.key, el.value));
    }
    const lvl = levelOf(inc);
    const parts = [];
    parts.push(h("div.row", null,
      lvl ? h("span.badge.lvl-" + lvl, { text: lvl + (inc.priority != null ? " · " + inc.priority : "") }) : null,
      h("strong#detail-number", { text: inc.number || inc.id }),
      h("span", { text: catLabel(inc.category) }),
      h("span.badge.st.st-" + inc.status + "#detail-status", { text: stLabel(inc.status) }),
      h("span.grow"),
      OPEN.has(inc.status) ? h("button", { type: "button", dataset: { key: "close" }, text: t("console.d.close"),
        onclick: (ev) => closeIncident(inc.id, ev.currentTarget) }) : null));
    parts.push(h("dl.facts", null,
      h("dt", { text: t("console.d.where") }), h("dd", { text: [inc.location_text, inc.lat != null ? `(${inc.lat}, ${inc.lon})` : ""].filter(Boolean).join(" ") || "—" }),
      h("dt", { text: t("console.d.created") }), h("dd", { text: JY.dateTime(inc.created_at) + " · " + JY.ago(inc.created_at) }),
      h("dt", { text: t("console.d.source") }), h("dd", { text: JY.sourceLabel(inc.source) || "—" })));
    if (inc.text) parts.push(h("div.text", { text: inc.text }));
    for (const fn of JY.consoleDetailParts || []) { const el = fn(inc); if (el) parts.push(el); } // e.g. its calls' audio
    const rep = inc.report && inc.report.fields;
    if (rep && typeof rep === "object") {
      // A kiosk report: the citizen's answers, labelled as on the form (phone number to call back).
      const tpl = S.templates.get(String(inc.report.template || rep.template)) || {};
      const labels = Object.fromEntries((tpl.fields || []).map((f) => [f.name, f.label]));
      parts.push(h("h3", { text: t("console.d.report") + (tpl.label ? " · " + JY.label(tpl.label) : "") }),
        h("dl.facts#report-fields", null, Object.entries(rep).filter(([k, v]) => k !== "template" && v !== "" && v != null)
          .map(([k, v]) => [h("dt", { text: JY.label(labels[k]) || k }), h("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })])));
    }
    const reasons = reasonsOf(inc);
    parts.push(h("h3", { text: t("console.reasons") }),
      reasons.length ? h("ul.reasons", null, reasons.map(reasonItem)) : h("p.hint", { text: t("console.noReasons") }));
    const ov = inc.priority_override;
    if (ov) parts.push(h("p.hint#override", { text: t("console.d.overridden", { p: ov.priority, by: ov.by, r: ov.reason, was: ov.previous ? ov.previous.priority : "—" }) }));
    if (OPEN.has(inc.status)) parts.push(priorityForm(inc));

    // recommendations
    parts.push(h("h3", { text: t("console.d.recs") }));
    const recs = S.recs && S.recs.id === inc.id ? S.recs : null;
    if (!OPEN.has(inc.status)) parts.push(h("p.hint", { text: stLabel(inc.status) }));
    else if (!recs || recs.loading) parts.push(h("p.loading", { text: t("console.d.recs.loading") }));
    else if (recs.error) parts.push(h("p.error-text", { role: "alert", text: recs.error }),
      h("button", { type: "button", text: t("retry"), onclick: () => loadRecs(inc.id) }));
    else if (!recs.items.length) parts.push(h("p.empty", { text: t("console.d.recs.none") }));
    else {
      const rows = recs.items.map((r, i) => {
        const uid = String(r.unit_id ?? r.id);
        return h("tr", { dataset: { unit: uid } },
          h("td", null, h("strong", { text: r.callsign || unitName(uid) }),
            r.distance_m != null ? h("div.why", { text: (r.distance_m / 1000).toFixed(2) + " km" }) : null),
          h("td.why", null, (r.reasons || []).join("; ")),
          h("td", null, h("button" + (i === 0 ? ".primary" : ""), { type: "button", dataset: { key: "dispatch-" + uid },
            "aria-label": t("console.d.dispatch") + " " + (r.callsign || uid), text: t("console.d.dispatch"),
            onclick: (ev) => dispatchTo(inc.id, uid, ev.currentTarget) })));
      });
      parts.push(h("table.simple.recs", null, h("tbody", null, rows)));
    }
    if (recs && recs.excluded && recs.excluded.length) {
      parts.push(h("p.hint", { text: t("console.d.excluded") + recs.excluded.map((x) => `${x.callsign || x.unit_id} (${x.reason})`).join("; ") }));
    }

    // orders
    const orders = [...S.orders.values()].filter((o) => String(o.incident_id) === inc.id);
    parts.push(h("h3", { text: t("console.d.orders") }));
    if (!orders.length) parts.push(h("p.empty", { text: t("console.d.orders.none") }));
    else parts.push(h("ul.plain#orders", null, orders.map((o) => h("li", { dataset: { order: o.id, state: o.state } },
      h("strong", { text: unitName(o.unit_id) }), " — ",
      h("span.order-state", { text: t("os." + o.state) }), " ",
      h("span.hint", { text: JY.clock(o.acknowledged_at || o.created_at) }), " ",
      o.state === "offered" && o.deadline_at ? h("span.deadline", { dataset: { deadline: o.deadline_at } }, dueText(o.deadline_at)) : null))));

    // duplicates
    const dups = visibleDups(inc.id);
    if (dups.length) {
      parts.push(h("h3", { text: t("console.d.dups") }));
      parts.push(h("ul.plain", null, dups.map((d) => {
        const other = S.incidents.get(d.other);
        return h("li.row", { dataset: { dup: d.other } },
          h("span.grow", null, h("strong", { text: incName(d.other) }), " ", other ? other.text || "" : "",
            d.evidence ? h("div.hint", { text: Array.isArray(d.evidence) ? d.evidence.join("; ") : typeof d.evidence === "object" ? JSON.stringify(d.evidence) : String(d.evidence) }) : null),
          h("button", { type: "button", text: t("console.d.merge"), dataset: { key: "merge-" + d.other }, onclick: (ev) => dupAction(inc.id, d.other, "merge", ev.currentTarget) }),
          h("button", { type: "button", text: t("console.d.unlink"), dataset: { key: "unlink-" + d.other }, onclick: (ev) => dupAction(inc.id, d.other, "unlink", ev.currentTarget) }));
      })));
    }

    // timeline
    parts.push(h("h3", { text: t("console.d.timeline") }));
    const tl = S.timeline.get(inc.id) || [];
    if (!tl.length) parts.push(h("p.empty", { text: t("console.d.timeline.none") }));
    else parts.push(h("ol.timeline#timeline", null, tl.slice().sort((a, b) => (JY.parseTime(a.at || a.created_at) || 0) - (JY.parseTime(b.at || b.created_at) || 0))
      .map((e) => h("li", null, h("time", { text: JY.clock(e.at || e.created_at) }), h("span", { text: timelineText(e) })))));
    box.replaceChildren(...parts);
    box.dataset.incident = inc.id;
    typed.forEach((v, k) => { const el = box.querySelector(`[data-key="${CSS.escape(k)}"]`); if (el) el.value = v; });
    if (keepFocus) { const el = box.querySelector(`[data-key="${CSS.escape(keepFocus)}"]`); if (el) el.focus(); }
  }

  /** "ack due in 12 s" / "ack overdue 3 s" for an offered order. */
  function dueText(deadline) {
    const s = Math.round((JY.parseTime(deadline) - Date.now()) / 1000);
    return s >= 0 ? t("console.due", { s }) : t("console.overdue", { s: -s });
  }
  // NFPA 1225: an urgent call should have a unit within 60 s; an undispatched P1/P2 past that is flagged.
  const DISPATCH_TARGET_S = 60;
  function overdue(inc) {
    const lvl = levelOf(inc);
    return (lvl === "P1" || lvl === "P2") && (inc.status === "new" || inc.status === "triaged") &&
      Date.now() - (JY.parseTime(inc.created_at) || Date.now()) > DISPATCH_TARGET_S * 1000;
  }

  /** The dispatcher's own judgement: set the priority (0-10) with a reason; later re-scoring keeps it. */
  function priorityForm(inc) {
    const num = h("input#prio-value", { type: "number", min: 0, max: 10, step: 1, value: inc.priority ?? "", size: 3,
      "aria-label": t("console.d.prio"), dataset: { key: "prio-value" } });
    const reason = h("input#prio-reason", { type: "text", maxlength: 1000, placeholder: t("console.d.prioReason"),
      "aria-label": t("console.d.prioReason"), dataset: { key: "prio-reason" } });
    const err = h("span.error-text#prio-error", { role: "alert" });
    const form = h("form.row.prio-form", { novalidate: true },
      h("label.inline", { for: "prio-value", text: t("console.d.prio") }), num, reason,
      h("button", { type: "submit", text: t("console.d.prioSet"), dataset: { key: "prio-set" } }), err);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const p = Number(num.value);
      if (num.value === "" || !Number.isInteger(p) || p < 0 || p > 10) { err.textContent = t("console.d.prioBad"); num.focus(); return; }
      if (!reason.value.trim()) { err.textContent = t("console.d.prioWhy"); reason.focus(); return; }
      try {
        const r = await JY.api("POST", `/api/incidents/${encodeURIComponent(inc.id)}/priority`, { priority: p, reason: reason.value.trim() });
        putIncident(r.incident || r);
        reason.value = "";
        JY.toast(t("console.d.prioDone", { p }), "ok");
        invalidate("queue", "detail", "map");
      } catch (ex) {
        err.textContent = JY.errorText(ex);
      }
    });
    return form;
  }

  function renderUnits() {
    const tb = $("#units");
    const units = [...S.units.values()].sort((a, b) => String(a.callsign).localeCompare(String(b.callsign)));
    $("#units-count").textContent = String(units.length);
    if (!units.length) { tb.replaceChildren(h("tr", null, h("td.empty", { colspan: 3, text: t("console.units.empty") }))); return; }
    tb.replaceChildren(...units.map((u) => {
      const fix = u.location_at || u.fix_at || u.last_fix_at;
      const stale = fix && Date.now() - JY.parseTime(fix) > 30 * 60 * 1000;
      return h("tr", { dataset: { unit: u.id, status: u.status, lat: u.lat ?? "", lon: u.lon ?? "" } },
        h("td", null, h("strong", { text: u.callsign || u.id }), u.unit_type ? h("span.hint", { text: " " + u.unit_type }) : null),
        h("td", null, h("span.badge.st.st-" + u.status, { text: stLabel(u.status) })),
        h("td" + (stale ? ".error-text" : ""), { dataset: { ts: fix || "" }, text: JY.ago(fix) }));
    }));
  }

  // ---------------------------------------------------------------- map
  const mercX = (lon) => (lon + 180) / 360;
  const mercY = (lat) => { const r = (lat * Math.PI) / 180; return (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2; };
  const LEVEL_COLOURS = { P1: "#ff5c5c", P2: "#ff9f43", P3: "#ffd166", P4: "#8ecae6" };

  function renderMap() {
    const box = $("#map");
    const W = box.clientWidth || 400, H = box.clientHeight || 300;
    const tiles = S.config.map_tile_url || "";
    $("#map-mode").textContent = t(tiles ? "console.map.tiles" : "console.map.plain");
    const units = [...S.units.values()].filter((u) => u.lat != null && u.lon != null);
    const incs = sortedIncidents().filter((i) => i.lat != null && i.lon != null && OPEN.has(i.status));
    const pts = [...units, ...incs];
    box.setAttribute("aria-label", `${t("console.map")}: ${units.length} ${t("console.map.units")}, ${incs.length} ${t("console.map.incidents")}`);
    if (!pts.length) { box.replaceChildren(h("div.map-empty", { text: t("console.map.none") })); return; }
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const p of pts) { const x = mercX(p.lon), y = mercY(p.lat); x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    const minSpan = 0.00003; // ~ a few km
    const dx = Math.max(x1 - x0, minSpan), dy = Math.max(y1 - y0, minSpan);
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    let scale = Math.min((W - 60) / dx, (H - 60) / dy);
    const kids = [];
    if (tiles) {
      const z = Math.max(0, Math.min(19, Math.floor(Math.log2(scale / 256))));
      scale = 256 * 2 ** z;
      const left = cx * scale - W / 2, top = cy * scale - H / 2;
      for (let tx = Math.floor(left / 256); tx * 256 < left + W; tx++) {
        for (let ty = Math.floor(top / 256); ty * 256 < top + H; ty++) {
          if (ty < 0 || ty >= 2 ** z) continue;
          const wrapped = ((tx % 2 ** z) + 2 ** z) % 2 ** z;
          const src = tiles.replace("{z}", z).replace("{x}", wrapped).replace("{y}", ty).replace("{s}", "a");
          kids.push(h("img.tile", { src, alt: "", style: `left:${tx * 256 - left}px;top:${ty * 256 - top}px` }));
        }
      }
    }
    const px = (lon) => (mercX(lon) - cx) * scale + W / 2;
    const py = (lat) => (mercY(lat) - cy) * scale + H / 2;
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const el = (name, attrs, text) => {
      const e = document.createElementNS(NS, name);
      for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
      if (text != null) e.textContent = text;
      return e;
    };
    if (!tiles) {
      // Plain coordinate grid: lines at a round step in degrees.
      const lonAt = (x) => ((cx + (x - W / 2) / scale) * 360) - 180;
      const latAt = (y) => { const n = Math.PI - 2 * Math.PI * (cy + (y - H / 2) / scale); return (180 / Math.PI) * Math.atan(Math.sinh(n)); };
      const spanLon = lonAt(W) - lonAt(0);
      const step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10].find((s) => spanLon / s <= Math.max(2, Math.min(8, W / 80))) || 20;
      const digits = Math.max(0, -Math.floor(Math.log10(step)));
      for (let lon = Math.ceil(lonAt(0) / step) * step; lon < lonAt(W); lon += step) {
        const x = px(lon);
        svg.append(el("line", { class: "grid", x1: x, x2: x, y1: 0, y2: H }), el("text", { class: "gridlabel", x: x + 2, y: H - 4 }, lon.toFixed(digits) + "°"));
      }
      for (let lat = Math.ceil(latAt(H) / step) * step; lat < latAt(0); lat += step) {
        const y = py(lat);
        svg.append(el("line", { class: "grid", x1: 0, x2: W, y1: y, y2: y }), el("text", { class: "gridlabel", x: 2, y: y - 2 }, lat.toFixed(digits) + "°"));
      }
    }
    for (const i of incs) {
      const lvl = levelOf(i);
      const g = el("g", { class: "i" + (S.selected === i.id ? " sel" : ""), "data-id": i.id });
      g.append(el("circle", { cx: px(i.lon), cy: py(i.lat), r: 9, fill: LEVEL_COLOURS[lvl] || "#ccc" }),
        el("text", { x: px(i.lon) + 12, y: py(i.lat) + 14 }, (i.number || i.id) + (lvl ? " " + lvl : "")),
        el("title", {}, `${i.number || i.id} ${i.category || ""} ${i.location_text || ""}`));
      g.addEventListener("click", () => select(i.id));
      svg.append(g);
    }
    for (const u of units) {
      const g = el("g", { class: "u", "data-id": u.id });
      g.append(el("rect", { x: px(u.lon) - 6, y: py(u.lat) - 6, width: 12, height: 12 }),
        el("text", { x: px(u.lon) + 9, y: py(u.lat) - 6 }, `${u.callsign || u.id} · ${stLabel(u.status)}`),
        el("title", {}, `${u.callsign || u.id} ${stLabel(u.status)} ${JY.ago(u.location_at)}`));
      svg.append(g);
    }
    const attribution = tiles && S.config.map_attribution ? h("div.attribution", { text: S.config.map_attribution }) : null;
    box.replaceChildren(...kids, svg, attribution || "");
  }

  // ---------------------------------------------------------------- radio / transcripts
  function putTranscript(ev) {
    const tr = pick(ev, "transcript");
    // Interview-room speech is confidential to the interview record; it does not belong on the console.
    if (tr.source === "interview") return;
    const ch = String(tr.channel || tr.channel_id || tr.source || "—");
    let c = S.channels.get(ch);
    if (!c) { c = { lines: [], partials: new Map() }; S.channels.set(ch, c); }
    const stream = String(tr.stream_id || tr.stream || tr.unit_id || "default");
    const isFinal = tr.final === true || tr.kind === "final" || tr.event === "final" || (tr.final === undefined && tr.kind !== "partial" && tr.event !== "partial" && !tr.partial);
    if (isFinal) {
      c.partials.delete(stream);
      c.lines.push({ at: tr.start_utc || tr.at || tr.created_at || new Date().toISOString(), who: tr.unit_callsign || (tr.unit_id ? unitName(tr.unit_id) : tr.speaker || ""), text: tr.text || "" });
      if (c.lines.length > 200) c.lines.splice(0, c.lines.length - 200);
    } else {
      c.partials.set(stream, { who: tr.unit_id ? unitName(tr.unit_id) : tr.speaker || "", text: tr.text || "" });
    }
    if (tr.incident_id) addTimeline(String(tr.incident_id), { at: tr.start_utc || new Date().toISOString(), kind: "transcript", data: { text: tr.text } });
  }
  /** A filed radio transmission (docs/radio.md): a final line on its channel, with the unit that keyed up. */
  function putTransmission(ev) {
    const tx = pick(ev, "transmission");
    if (!tx) return;
    const ch = String(tx.channel_id || tx.talkgroup || "radio");
    let c = S.channels.get(ch);
    if (!c) { c = { lines: [], partials: new Map() }; S.channels.set(ch, c); }
    // A transmission shed under load (busy) or that failed is shown as such; its late transcript
    // replaces the line when it comes.
    const text = tx.state === "dropped" ? t("console.radio.noSpeech")
      : tx.state === "busy" || tx.state === "catching_up" ? t("console.radio.busy")
        : tx.state === "failed" ? t("console.radio.failed", { why: tx.reason || "?" })
          : (tx.late ? t("console.radio.late") + " " : "") + (tx.text || "");
    const line = { id: tx.id, at: tx.start_utc, who: tx.unit_id ? unitName(tx.unit_id) : tx.unit_label || "",
      text, state: tx.state, audio: tx.recording_id ? tx.id : null };
    const i = c.lines.findIndex((l) => l.id === tx.id);
    if (i >= 0) { c.lines[i] = line; return; }
    c.lines.push(line);
    if (c.lines.length > 200) c.lines.splice(0, c.lines.length - 200);
  }

  async function playTransmission(id, btn) {
    btn.disabled = true;
    try {
      const resp = await JY.api("GET", `/api/radio/transmissions/${encodeURIComponent(id)}/audio`, undefined, { raw: true });
      const url = URL.createObjectURL(await resp.blob());
      const audio = new Audio(url);
      audio.addEventListener("ended", () => URL.revokeObjectURL(url));
      await audio.play();
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
    } finally {
      btn.disabled = false;
    }
  }

  async function radioAction(path, body, btn, okText) {
    btn.disabled = true;
    try {
      await JY.api("POST", path, body);
      JY.toast(okText, "ok");
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
      btn.disabled = false;
    }
  }

  function renderSuggestions() {
    const box = $("#suggestions");
    const open = [...S.suggestions.values()].filter((x) => x.state === "suggested");
    if (!open.length) { box.replaceChildren(); return; }
    box.replaceChildren(h("h3", { text: t("console.sug.title") }), h("ul.plain.suggestions", null, open.map((x) =>
      h("li.suggestion", { dataset: { suggestion: x.id } },
        h("div.row", null, x.level ? h("span.badge.lvl-" + x.level, { text: x.level + (x.priority != null ? " · " + x.priority : "") }) : null,
          h("span", { text: JY.catLabel(x.category) }), h("span.hint", { text: `${t("console.radio.channel", { c: x.channel_id || "" })} · ${JY.clock(x.created_at)}` })),
        h("div.text", { text: x.text || "" }),
        h("div.row", null,
          h("button.primary", { type: "button", text: t("console.sug.accept"),
            onclick: (ev) => radioAction(`/api/radio/suggestions/${encodeURIComponent(x.id)}/accept`, {}, ev.currentTarget, t("console.sug.accepted")) }),
          h("button", { type: "button", text: t("console.sug.dismiss"),
            onclick: (ev) => radioAction(`/api/radio/suggestions/${encodeURIComponent(x.id)}/dismiss`, { reason: "dismissed on the console" }, ev.currentTarget, t("console.sug.dismissed")) }))))));
  }

  function renderRadioStatus() {
    const box = $("#radio-status");
    const list = [...S.radioStatus.values()].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at))).slice(0, 8);
    if (!list.length) { box.replaceChildren(); return; }
    box.replaceChildren(h("h3", { text: t("console.rs.title") }), h("ul.plain.radio-status", null, list.map((u) =>
      h("li.row", { dataset: { update: u.id, state: u.state } },
        h("span.grow", null, h("strong", { text: u.callsign || unitName(u.unit_id) }), " ",
          `${stLabel(u.from || "")} → ${stLabel(u.to || "")} `, h("q", { text: u.evidence || u.phrase || "" }), " ",
          h("span.hint", { text: `${t("console.rs.fromRadio")} · ${t("console.rs." + u.state) === "console.rs." + u.state ? u.state : t("console.rs." + u.state)} · ${JY.clock(u.created_at)}` })),
        u.state === "applied" ? h("button", { type: "button", text: t("console.rs.undo"),
          onclick: (ev) => radioAction(`/api/radio/status-updates/${encodeURIComponent(u.id)}/undo`, {}, ev.currentTarget, t("console.rs.undone")) }) : null,
        u.state === "unconfirmed" ? h("button.primary", { type: "button", text: t("console.rs.confirm"),
          onclick: (ev) => radioAction(`/api/radio/status-updates/${encodeURIComponent(u.id)}/confirm`, {}, ev.currentTarget, t("console.rs.applied")) }) : null))));
  }

  async function loadRadio() {
    // The radio sub-system is optional: without it (404) the panel shows transcripts only.
    try {
      const [sug, st] = await Promise.all([JY.api("GET", "/api/radio/suggestions?state=suggested"), JY.api("GET", "/api/radio/status-updates?limit=20")]);
      for (const x of sug.suggestions || []) S.suggestions.set(String(x.id), x);
      for (const u of st.status_updates || st.updates || []) S.radioStatus.set(String(u.id), u);
      invalidate("radio");
    } catch (e) {
      if (e.status !== 404) console.warn("radio lists unavailable", e);
    }
  }

  function renderRadio() {
    renderSuggestions();
    renderRadioStatus();
    const box = $("#channels");
    if (!S.channels.size) { box.replaceChildren(h("p.empty", { text: t("console.radio.none") })); return; }
    const atBottom = box.parentElement.scrollHeight - box.parentElement.scrollTop - box.parentElement.clientHeight < 30;
    box.replaceChildren(...[...S.channels.entries()].map(([ch, c]) => h("div.channel", { dataset: { channel: ch } },
      h("h3", { text: t("console.radio.channel", { c: ch }) }),
      h("ul.tlines", { "aria-live": "polite" },
        c.lines.slice(-40).map((l) => h("li.final", null, h("time", { text: JY.clock(l.at) }), l.who ? h("span.who", { text: l.who }) : null, l.text,
          l.audio ? [" ", h("button.play", { type: "button", "aria-label": t("console.radio.play"), text: "▶", onclick: (ev) => playTransmission(l.audio, ev.currentTarget) })] : null)),
        [...c.partials.values()].map((p) => h("li.partial", null, h("time", { text: "…" }), p.who ? h("span.who", { text: p.who }) : null, p.text))))));
    if (atBottom) box.parentElement.scrollTop = box.parentElement.scrollHeight;
  }

  // ---------------------------------------------------------------- kiosk drafts
  function putDraft(ev) {
    const d = pick(ev, "draft");
    const id = String(d.draft_id || d.id || "kiosk");
    const old = S.drafts.get(id) || {};
    S.drafts.set(id, Object.assign(old, d, { seen: Date.now() }));
  }
  function renderDrafts() {
    const ul = $("#drafts");
    const now = Date.now();
    for (const [id, d] of S.drafts) if (now - d.seen > 15 * 60 * 1000) S.drafts.delete(id);
    if (!S.drafts.size) { ul.replaceChildren(h("li.empty", { text: t("console.kiosk.none") })); return; }
    ul.replaceChildren(...[...S.drafts.entries()].reverse().map(([id, d]) => {
      const submitted = d.status === "submitted" || d.submitted || d.receipt || d.receipt_number;
      const fields = d.fields || d.values || d.data || {};
      const tpl = S.templates.get(String(d.template_id || d.template)) || {};
      const labels = Object.fromEntries((tpl.fields || []).map((f) => [f.name, f.label]));
      const pv = d.preview;
      return h("li.draft" + (submitted ? ".submitted" : ""), { dataset: { draft: id } },
        h("div.row", null,
          pv && pv.level ? h("span.badge.lvl-" + pv.level, { text: pv.level }) : null,
          h("strong", { text: JY.label(tpl.label) || d.template_id || d.template || "" }),
          pv && pv.category ? h("span", { text: JY.catLabel(pv.category) }) : null,
          h("span.hint", { text: submitted ? t("console.kiosk.submitted", { r: d.receipt || d.receipt_number || "" }) : t("console.kiosk.typing") }),
          d.incident_id ? h("button", { type: "button", text: incName(d.incident_id), onclick: () => select(String(d.incident_id)) }) : null),
        h("dl", null, Object.entries(fields).filter(([, v]) => v !== "" && v != null).map(([k, v]) =>
          [h("dt", { text: JY.label(labels[k]) || k }), h("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })])));
    }));
  }

  // ---------------------------------------------------------------- alerts
  let alarmTimer = 0;
  function putAlert(ev) {
    const a = pick(ev, "alert");
    const id = String(a.id || JY.uid("a"));
    if (S.alerts.some((x) => x.id === id)) return;
    S.alerts.push(Object.assign({ id, acked: false, at: a.created_at || new Date().toISOString() }, a, { id }));
    if (a.incident_id) addTimeline(String(a.incident_id), { at: a.created_at || new Date().toISOString(), kind: "alert", message: a.message });
    alarm();
  }
  function pendingAlerts() { return S.alerts.filter((a) => !a.acked); }
  function alarm() {
    const soundOk = JY.beep();
    JY.vibrate();
    $("#sound").hidden = soundOk;
    clearInterval(alarmTimer);
    // Keep sounding every few seconds until every alert is acknowledged.
    alarmTimer = setInterval(() => { if (pendingAlerts().length) JY.beep(); else clearInterval(alarmTimer); }, 5000);
  }
  function renderAlerts() {
    const pend = pendingAlerts();
    const banner = $("#alert-banner");
    banner.hidden = !pend.length;
    document.title = (pend.length ? "⚠ (" + pend.length + ") " : "") + t("console.title") + " · 警云 Jingyun";
    if (!pend.length) return;
    const a = pend[0];
    $("#alert-text").textContent = `${JY.clock(a.at)} ${a.message || a.kind || ""}` +
      (a.incident_id ? ` [${incName(a.incident_id)}]` : "") + (pend.length > 1 ? " " + t("console.alert.more", { n: pend.length - 1 }) : "");
    $("#alert-open").hidden = !a.incident_id;
  }

  // ---------------------------------------------------------------- server health (/readyz)
  // Degraded components are named in a strip under the top bar, with what they mean for the dispatcher.
  // /readyz is public and cheap (a Redis ping, a SELECT 1, a statvfs); polled every HEALTH_EVERY_MS and
  // at once after the console's socket (re)connects. The strip never blocks the page or takes focus.
  const HEALTH_EVERY_MS = 5000;
  const HEALTH_ORDER = ["database", "redis", "dispatch", "model", "disk"];
  const HEALTH_BAD = new Set(["database", "redis", "dispatch"]);
  const H = { down: new Map(), error: "", failures: 0, busy: false, again: false, shown: "" };

  function healthName(name) {
    const k = "console.health.n." + name;
    return t(k) === k ? name : t(k);
  }
  function healthMessage(name, c) {
    const detail = String(c.detail || "");
    if (name === "model") {
      if (/^loading\b/.test(detail)) return t("console.health.modelLoading");
      // The reason without the operator's fix (the fix is in Details).
      return t("console.health.model", { reason: detail.split("; fix:")[0] || detail || "?" });
    }
    const k = "console.health." + name;
    return t(k) === k ? t("console.health.other", { name }) : t(k);
  }

  async function checkHealth() {
    if (H.busy) { H.again = true; return; }
    H.busy = true;
    try {
      let body = null, why = "";
      try {
        const resp = await fetch("/readyz", { headers: { Accept: "application/json" }, cache: "no-store",
          signal: AbortSignal.timeout ? AbortSignal.timeout(10000) : undefined });
        // 503 is the normal answer while something is degraded: its body says what.
        if ((resp.headers.get("Content-Type") || "").includes("json")) body = await resp.json().catch(() => null);
        if (!body || !body.components || typeof body.components !== "object") why = t("err.http", { status: resp.status, msg: resp.statusText });
      } catch (e) {
        why = t("err.network", { msg: e.message || String(e) });
      }
      if (why) {
        // One failed probe is not news (a restart, a busy server); two in a row are shown.
        H.failures += 1;
        if (H.failures >= 2) H.error = why;
      } else {
        H.failures = 0;
        H.error = "";
        const down = new Map(Object.entries(body.components).filter(([, c]) => c && c.status !== "ready"));
        const back = [...H.down.keys()].filter((n) => !down.has(n) && n in body.components);
        H.down = down;
        if (back.length) {
          JY.toast(t("console.health.recovered", { name: back.map(healthName).join(", ") }), "ok");
          // Live events published while Redis (or the subscription) was away never reached this console.
          if (back.some((n) => HEALTH_BAD.has(n))) resync();
        }
      }
      S.health = { down: Object.fromEntries(H.down), error: H.error, checked_at: new Date().toISOString() };
      renderHealth();
    } finally {
      H.busy = false;
      if (H.again) { H.again = false; checkHealth(); }
    }
  }

  function renderHealth(force) {
    const box = $("#health");
    const rank = (n) => (HEALTH_ORDER.indexOf(n) + 1 || HEALTH_ORDER.length + 1);
    // While /readyz cannot be reached, what it said before is not shown as if it were current.
    const items = H.error ? [{ name: "server", bad: true, text: t("console.health.unknown", { msg: H.error }), detail: "" }]
      : [...H.down.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]))
        .map(([name, c]) => ({ name, bad: HEALTH_BAD.has(name), text: healthMessage(name, c), detail: String(c.detail || "") }));
    // Re-render only when a line's message changes: the live region announces news, not the same text
    // every 5 s, and an open Details stays open. A detail that drifts (free MB) is updated in place.
    const key = JY.lang + JSON.stringify(items.map((it) => [it.name, it.text, !!it.detail]));
    if (!force && key === H.shown) {
      for (const it of items) {
        const code = box.querySelector(`li[data-component="${CSS.escape(it.name)}"] code`);
        if (code && code.textContent !== it.detail) code.textContent = it.detail;
      }
      return;
    }
    H.shown = key;
    const open = new Set([...box.querySelectorAll("li[data-component] details[open]")].map((d) => d.closest("li").dataset.component));
    if (!items.length) { box.replaceChildren(); return; }
    box.replaceChildren(h("ul.plain", null, items.map((it) => h("li.health-item" + (it.bad ? ".bad" : ""), { dataset: { component: it.name } },
      h("span.health-icon", { "aria-hidden": "true", text: "⚠" }),
      h("span.health-text", { text: it.text }),
      it.detail ? h("details", { open: open.has(it.name) || null }, h("summary", { text: t("console.health.details") }),
        h("code", { text: it.detail })) : null))));
  }

  // ---------------------------------------------------------------- live events
  function onEvent(ev) {
    if (!ev || typeof ev !== "object") return;
    switch (ev.type) {
      case "incident": {
        const inc = pick(ev, "incident");
        putIncident(inc);
        invalidate("queue", "map", "drafts");
        if (S.selected === String(inc.id)) { invalidate("detail"); refreshSelected(); }
        break;
      }
      case "unit":
        putUnit(pick(ev, "unit"));
        invalidate("units", "map");
        if (S.selected) { invalidate("detail"); refreshSelected(); }
        break;
      case "order": {
        const o = pick(ev, "order");
        putOrder(o);
        if (S.selected && String(o.incident_id) === S.selected) { invalidate("detail"); refreshSelected(); }
        break;
      }
      case "alert": putAlert(ev); invalidate("alerts", "detail"); break;
      case "transcript": putTranscript(ev); invalidate("radio", "detail"); break;
      case "duplicate": {
        const d = pick(ev, "duplicate");
        const a = String(d.incident_id), b = String(d.duplicate_of ?? d.other_id ?? d.of);
        addDup(a, { incident_id: b, evidence: d.evidence || d.reasons });
        addDup(b, { incident_id: a, evidence: d.evidence || d.reasons });
        invalidate("queue", "detail");
        break;
      }
      case "kiosk_draft": putDraft(ev); invalidate("drafts"); break;
      case "radio": putTransmission(ev); invalidate("radio"); break;
      case "radio_status": {
        const u = pick(ev, "update");
        if (u && u.id != null) S.radioStatus.set(String(u.id), u);
        invalidate("radio");
        break;
      }
      case "radio_suggestion": {
        const x = pick(ev, "suggestion");
        if (x && x.id != null) S.suggestions.set(String(x.id), x);
        // An urgent suggestion is announced with a short tone (no banner: nothing is decided yet).
        if (ev.action === "suggested" && (x.level === "P1" || x.level === "P2")) JY.beep([[740, 150], [0, 80], [740, 150]]);
        if (ev.action === "accepted" && x.incident_id) select(String(x.incident_id));
        invalidate("radio");
        break;
      }
      case "snapshot": applySnapshot(ev.snapshot || ev); break;
      case "resync": resync(); break;
      default: break;
    }
    for (const fn of extraHandlers.get(ev.type) || []) { try { fn(ev); } catch (e) { console.error(e); } }
  }

  /** Replace the picture with a snapshot (sent by /ws/console on connect and on {"type":"resync"}). */
  function applySnapshot(snap) {
    S.gotSnapshot = true;
    const selected = S.selected && S.incidents.get(S.selected);
    S.incidents.clear(); S.units.clear();
    // The selected incident stays visible even if it closed while we were away.
    if (selected) S.incidents.set(selected.id, selected);
    for (const i of snap.incidents || []) putIncident(i);
    for (const u of snap.units || []) putUnit(u);
    for (const o of snap.orders || []) putOrder(o);
    // Alerts raised while this console was away are shown, not silently marked as seen.
    const firstLoad = !S.loadedOnce;
    S.loadedOnce = true;
    for (const a of snap.alerts || []) {
      if (S.alerts.some((x) => x.id === String(a.id))) continue;
      const recent = Date.now() - (JY.parseTime(a.created_at) || 0) < 10 * 60 * 1000;
      S.alerts.push(Object.assign({}, a, { id: String(a.id), at: a.created_at, acked: firstLoad ? !recent : false }));
    }
    for (const d of snap.duplicates || []) { addDup(String(d.incident_id), { incident_id: d.duplicate_of ?? d.other_id, evidence: d.evidence }); addDup(String(d.duplicate_of ?? d.other_id), { incident_id: d.incident_id, evidence: d.evidence }); }
    $("#sync-banner").hidden = true;
    if (pendingAlerts().length) alarm();
    invalidate("queue", "units", "map", "detail", "alerts");
    if (S.selected) loadDetail(S.selected);
  }

  // Live changes to the selected incident reload its detail (timeline, orders, recommendations),
  // at most a few times a second however many events arrive.
  let refreshTimer = 0;
  function refreshSelected() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => { if (S.selected) loadDetail(S.selected); }, 150);
  }

  async function resync() {
    const banner = $("#sync-banner");
    try {
      let snap;
      try {
        snap = await JY.api("GET", "/api/snapshot");
      } catch (e) {
        if (e.status !== 404) throw e;
        const [incs, units] = await Promise.all([JY.api("GET", "/api/incidents"), JY.api("GET", "/api/units")]);
        snap = { incidents: incs.incidents || incs, units: units.units || units };
      }
      applySnapshot(snap);
    } catch (e) {
      banner.textContent = t("console.sync.failed", { msg: JY.errorText(e) });
      banner.hidden = false;
    }
  }

  // ---------------------------------------------------------------- wiring
  function wire() {
    $("#show-closed").addEventListener("change", () => invalidate("queue", "map"));
    $("#alert-ack").addEventListener("click", () => {
      const a = pendingAlerts()[0];
      if (a) a.acked = true;
      invalidate("alerts");
    });
    $("#alert-open").addEventListener("click", () => {
      const a = pendingAlerts()[0];
      if (a && a.incident_id) select(String(a.incident_id));
    });
    $("#sound").addEventListener("click", () => { JY.beep([[660, 120]]); setTimeout(() => { $("#sound").hidden = JY.soundReady(); }, 200); });
    const nb = $("#new-incident-btn"), form = $("#new-incident");
    nb.addEventListener("click", () => {
      form.hidden = !form.hidden;
      nb.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) $("#ni-text").focus();
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const err = $("#ni-error");
      err.textContent = "";
      const text = $("#ni-text").value.trim();
      const lat = $("#ni-lat").value.trim(), lon = $("#ni-lon").value.trim();
      if (!text) { err.textContent = t("console.ni.needText"); $("#ni-text").focus(); return; }
      const body = { text, source: "phone" };
      if ($("#ni-loc").value.trim()) body.location_text = $("#ni-loc").value.trim();
      if (lat || lon) {
        const la = Number(lat), lo = Number(lon);
        if (!lat || !lon || !(Math.abs(la) <= 90) || !(Math.abs(lo) <= 180)) { err.textContent = t("console.ni.badCoord"); return; }
        body.lat = la; body.lon = lo;
      }
      const btn = form.querySelector("button[type=submit]");
      btn.disabled = true;
      try {
        const r = await JY.api("POST", "/api/incidents", body);
        const inc = r.incident || r;
        putIncident(inc);
        form.reset();
        form.hidden = true;
        nb.setAttribute("aria-expanded", "false");
        JY.toast(t("console.ni.created", { n: inc.number || inc.id }), "ok");
        select(String(inc.id));
      } catch (ex) {
        err.textContent = JY.errorText(ex);
      } finally {
        btn.disabled = false;
      }
    });
    // Keyboard: j/k or arrows move through the queue when it has focus.
    $("#queue").addEventListener("keydown", (e) => {
      const btns = [...document.querySelectorAll("#queue .inc-btn")];
      const i = btns.indexOf(document.activeElement);
      if (i < 0) return;
      if (e.key === "ArrowDown" || e.key === "j") { e.preventDefault(); (btns[i + 1] || btns[i]).focus(); }
      if (e.key === "ArrowUp" || e.key === "k") { e.preventDefault(); (btns[i - 1] || btns[i]).focus(); }
    });
    // Ages tick every second without re-rendering lists.
    setInterval(() => {
      document.querySelectorAll("[data-ts]").forEach((el) => { if (el.dataset.ts) el.textContent = JY.ago(el.dataset.ts); });
      document.querySelectorAll("[data-deadline]").forEach((el) => {
        el.textContent = dueText(el.dataset.deadline);
        el.classList.toggle("late", JY.parseTime(el.dataset.deadline) < Date.now());
      });
      // Re-render the queue when an incident crosses the dispatch target, so the flag appears.
      const flagged = [...S.incidents.values()].filter(overdue).length;
      if (flagged !== S.flagged) { S.flagged = flagged; invalidate("queue"); }
      // Until the browser allows sound, say so: an alert must be heard.
      $("#sound").hidden = JY.soundReady();
      invalidate("drafts");
    }, 1000);
    new ResizeObserver(() => invalidate("map")).observe($("#map"));
    JY.onLang(() => { invalidate("queue", "detail", "units", "map", "radio", "drafts", "alerts"); renderHealth(true); });
  }

  async function main() {
    JY.initPage();
    await JY.signIn({ mount: $("#signin-mount"), content: $("#content"), roles: ["dispatcher", "admin"] });
    wire();
    S.config = Object.assign({ map_tile_url: "" }, JY.config);
    // Kiosk template labels for the live drafts panel (optional: ids are shown without them).
    JY.api("GET", "/api/kiosk/templates").then((r) => {
      for (const tp of r.templates || []) S.templates.set(String(tp.id), tp);
      invalidate("drafts");
    }, (e) => console.warn("kiosk templates unavailable", e));
    invalidate("queue", "units", "map", "radio", "drafts");
    loadRadio();
    // The socket sends a snapshot first; if none arrives soon, fetch one over REST.
    const onOpen = () => {
      S.gotSnapshot = false;
      setTimeout(() => { if (!S.gotSnapshot && sock.isOpen) resync(); }, 4000);
      checkHealth(); // the server may have come back with a component still down (or recovered)
    };
    const sock = new JY.Socket("/ws/console", { pill: $("#conn"), onOpen, onMessage: onEvent });
    JY.consoleSocket = sock;
    JY.consoleState = S;
    JY.consoleSelect = select;
    sock.start();
    setInterval(checkHealth, HEALTH_EVERY_MS);
  }
  main();
})();
