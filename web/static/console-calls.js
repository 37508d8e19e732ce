/* Call cards on the dispatcher console (issue 12, item 5; docs/web.md).
 *
 * A /ws/transcribe stream opened as a call is shown live: the caller's number and location, the
 * transcript line by line (the line being spoken in grey), the facts the scorer extracted, and the
 * level and priority with their reasons, all updating as the caller speaks. "Create incident" turns
 * the call into an incident in one click; "Attach to…" adds it to an open one, the duplicate scorer's
 * suggestions first. Loaded as a module after /static/console/main.js; fed by the console's JY.consoleOn
 * hook (console/events.js) with the "call" events of /ws/console (and "transcript" partials of the
 * call's stream).
 */
const { h, t } = JY;

JY.i18n({
  zh: {
    "calls.title": "来电", "calls.live": "通话中", "calls.ended": "已挂断", "calls.incident": "已立警情", "calls.attached": "已并入警情",
    "calls.unknownCaller": "未知号码", "calls.noLocation": "位置未知", "calls.started": "接通 {t}",
    "calls.listening": "正在听取…", "calls.notScored": "尚未评级",
    "calls.f.place": "地点", "calls.f.weapons": "凶器", "calls.f.injuries": "伤情", "calls.f.persons": "涉险人员",
    "calls.f.inProgress": "正在发生", "calls.f.plates": "车牌", "calls.f.phones": "电话", "calls.f.suspect": "嫌疑人",
    "calls.yes": "是", "calls.reasons": "评级理由",
    "calls.create": "立为警情", "calls.attach": "并入…", "calls.attachTo": "并入 {n}", "calls.attachPick": "选择未结束的警情",
    "calls.attachGo": "并入", "calls.suggest": "疑似同一事件", "calls.noOpen": "没有未结束的警情。",
    "calls.created": "已立为警情 {n}", "calls.attachedTo": "已并入警情 {n}", "calls.open": "查看警情 {n}",
    "calls.play": "播放通话录音", "calls.audioNote": "录音：{note}", "calls.working": "处理中…",
    "calls.ofIncident": "相关来电", "calls.lines": "{n} 句",
    "calls.inj.none": "无", "calls.inj.minor": "轻伤", "calls.inj.serious": "重伤", "calls.inj.critical": "危重", "calls.inj.fatal": "死亡",
  },
  en: {
    "calls.title": "Calls", "calls.live": "live", "calls.ended": "ended", "calls.incident": "incident created", "calls.attached": "attached",
    "calls.unknownCaller": "unknown number", "calls.noLocation": "location unknown", "calls.started": "answered {t}",
    "calls.listening": "listening…", "calls.notScored": "not scored yet",
    "calls.f.place": "Place", "calls.f.weapons": "Weapons", "calls.f.injuries": "Injuries", "calls.f.persons": "People at risk",
    "calls.f.inProgress": "In progress", "calls.f.plates": "Plates", "calls.f.phones": "Phones", "calls.f.suspect": "Suspect",
    "calls.yes": "yes", "calls.reasons": "Why this priority",
    "calls.create": "Create incident", "calls.attach": "Attach to…", "calls.attachTo": "Attach to {n}", "calls.attachPick": "Choose an open incident",
    "calls.attachGo": "Attach", "calls.suggest": "Looks like", "calls.noOpen": "No open incidents.",
    "calls.created": "Incident {n} created", "calls.attachedTo": "Attached to incident {n}", "calls.open": "Open incident {n}",
    "calls.play": "Play the call audio", "calls.audioNote": "Audio: {note}", "calls.working": "Working…",
    "calls.ofIncident": "Calls", "calls.lines": "{n} lines",
    "calls.inj.none": "none", "calls.inj.minor": "minor", "calls.inj.serious": "serious", "calls.inj.critical": "critical", "calls.inj.fatal": "fatal",
  },
});

const C = { calls: new Map(), partials: new Map(), dups: new Map(), picking: new Set(), busy: new Set(), timers: new Map() };
const DECIDED = new Set(["incident", "attached"]);
// An ended call stays on the console this long, so a dispatcher can still act on it; a decided one less.
const KEEP_ENDED_MS = 30 * 60 * 1000, KEEP_DECIDED_MS = 5 * 60 * 1000;
const panel = document.getElementById("calls-panel");
const list = document.getElementById("calls");
JY.applyI18n(panel);

const incName = (id) => { const i = JY.consoleState && JY.consoleState.incidents.get(String(id)); return i ? i.number || i.id : String(id); };
const openIncidents = () => [...((JY.consoleState && JY.consoleState.incidents.values()) || [])]
  .filter((i) => ["new", "triaged", "dispatched", "en_route", "on_scene"].includes(i.status));

function put(call) {
  if (!call || !call.id) return;
  const old = C.calls.get(call.id);
  if (old && old.updated_at && call.updated_at && JY.parseTime(call.updated_at) < JY.parseTime(old.updated_at)) return;
  const urgent = (l) => l === "P1" || l === "P2";
  // A call that turns urgent while the caller speaks is announced once (no banner: nothing is decided yet).
  if (urgent(call.level) && !(old && urgent(old.level))) JY.beep([[880, 120], [0, 60], [880, 120]]);
  C.calls.set(call.id, call);
  if (!call.live || (call.finals || []).length > ((old && old.finals) || []).length) C.partials.delete(call.stream_id);
  if (!DECIDED.has(call.state) && call.transcript) loadDups(call.id);
}

/** Duplicate suggestions for a card, at most one request per call every 1.5 s however fast it grows. */
function loadDups(id) {
  if (C.timers.has(id)) return;
  C.timers.set(id, setTimeout(async () => {
    try {
      const r = await JY.api("GET", `/api/calls/${encodeURIComponent(id)}/duplicates`);
      C.dups.set(id, r.duplicates || []);
      render();
    } catch (e) {
      console.warn("call duplicates unavailable", e);
    } finally {
      C.timers.delete(id);
    }
  }, 1500));
}

async function reload() {
  try {
    const r = await JY.api("GET", "/api/calls?limit=30");
    for (const c of r.calls || []) put(c);
    render();
  } catch (e) {
    if (e.status !== 404) console.warn("calls unavailable", e);
  }
}

async function act(call, path, body, btn) {
  C.busy.add(call.id);
  btn.disabled = true;
  btn.textContent = t("calls.working");
  try {
    const r = await JY.api("POST", path, body);
    put(r.call);
    C.picking.delete(call.id);
    const n = r.incident.number || r.incident.id;
    JY.toast(t(r.call.state === "incident" ? "calls.created" : "calls.attachedTo", { n }), "ok");
    if (JY.consoleSelect) JY.consoleSelect(String(r.incident.id));
  } catch (e) {
    JY.toast(JY.errorText(e), "error");
    reload(); // e.g. 409: another dispatcher decided first; show what it became
  } finally {
    C.busy.delete(call.id);
    render();
  }
}

function factsList(call) {
  const f = call.facts || {};
  const rows = [];
  const add = (key, value) => { if (value) rows.push(h("dt", { text: t(key) }), h("dd", { text: value })); };
  const loc = f.location || {};
  add("calls.f.place", loc.text || loc.name || "");
  add("calls.f.weapons", (f.weapons || []).map((w) => w.text).join("、"));
  const inj = f.injuries || {};
  if (inj.severity && inj.severity !== "none" && inj.severity !== "unknown") {
    const k = "calls.inj." + inj.severity;
    add("calls.f.injuries", (t(k) === k ? inj.severity : t(k)) + ((inj.evidence || []).length ? " (" + inj.evidence.map((x) => x.text).join("、") + ")" : ""));
  }
  add("calls.f.persons", (f.persons_at_risk || []).map((p) => p.text || p).join("、"));
  if (f.in_progress) add("calls.f.inProgress", t("calls.yes"));
  add("calls.f.plates", (f.plates || []).map((p) => p.plate || p.text || p).join(", "));
  add("calls.f.phones", (f.phones || []).map((p) => p.number || p.text || p).join(", "));
  if (f.suspect) add("calls.f.suspect", typeof f.suspect === "string" ? f.suspect : f.suspect.text || JSON.stringify(f.suspect));
  return rows.length ? h("dl.facts.call-facts", null, rows) : null;
}

function reasonItem(r) {
  const w = r.weight;
  return h("li", null, r.factor || "", r.evidence ? [" ", h("q", { text: r.evidence })] : null,
    w != null ? h("span.w", { text: " " + (w > 0 ? "+" : "") + w }) : null);
}

function actions(call) {
  if (DECIDED.has(call.state)) {
    const id = String(call.incident_id || "");
    return h("div.row.call-decided", null,
      h("span", { text: t(call.state === "incident" ? "calls.created" : "calls.attachedTo", { n: id ? incName(id) : "…" }) }),
      id ? h("button", { type: "button", dataset: { key: "open" }, text: t("calls.open", { n: incName(id) }), onclick: () => JY.consoleSelect && JY.consoleSelect(id) }) : null);
  }
  if (!call.transcript) return null;
  const busy = C.busy.has(call.id);
  const path = (what) => `/api/calls/${encodeURIComponent(call.id)}/${what}`;
  const attach = (incId) => (ev) => act(call, path("attach"), { incident_id: incId }, ev.currentTarget);
  const kids = [h("div.row", null,
    h("button.primary", { type: "button", disabled: busy || null, dataset: { key: "create" }, text: t("calls.create"),
      onclick: (ev) => act(call, path("incident"), undefined, ev.currentTarget) }),
    h("button", { type: "button", disabled: busy || null, dataset: { key: "pick" }, "aria-expanded": String(C.picking.has(call.id)), text: t("calls.attach"),
      onclick: () => { if (C.picking.has(call.id)) C.picking.delete(call.id); else C.picking.add(call.id); render(); } }))];
  const dups = C.dups.get(call.id) || [];
  if (dups.length) {
    kids.push(h("div.call-dups", null, h("h4", { text: t("calls.suggest") }), h("ul.plain", null, dups.map((d) =>
      h("li", { dataset: { dup: d.incident_id } },
        h("div.row", null,
          d.level ? h("span.badge.lvl-" + d.level, { text: d.level }) : null,
          h("strong", { text: d.number || d.incident_id }),
          d.score != null ? h("span.hint", { text: `${Math.round(d.score * 100)}%` }) : null,
          h("span.grow"),
          h("button", { type: "button", disabled: busy || null, dataset: { key: "dup-" + d.incident_id }, text: t("calls.attachTo", { n: d.number || d.incident_id }), onclick: attach(d.incident_id) })),
        h("div.dup-text", { text: d.text || "" }),
        h("div.hint", { text: (d.evidence || []).join("; ") }))))));
  }
  if (C.picking.has(call.id)) {
    const open = openIncidents();
    if (!open.length) kids.push(h("p.empty", { text: t("calls.noOpen") }));
    else {
      const sel = h("select", { "aria-label": t("calls.attachPick"), dataset: { key: "pick-select" } }, open.map((i) =>
        h("option", { value: i.id, text: `${i.number || i.id} · ${JY.catLabel(i.category)} · ${(i.text || "").slice(0, 40)}` })));
      kids.push(h("div.row.call-pick", null, sel,
        h("button", { type: "button", disabled: busy || null, dataset: { key: "pick-go" }, text: t("calls.attachGo"), onclick: (ev) => attach(sel.value)(ev) })));
    }
  }
  return h("div.call-actions", null, kids);
}

function card(call) {
  const state = call.live && !DECIDED.has(call.state) ? "live" : call.state;
  const caller = call.caller || {};
  const partial = C.partials.get(call.stream_id);
  const reasons = call.reasons || [];
  return h("li.call-card", { dataset: { call: call.id, state, level: call.level || "" } },
    h("div.row", null,
      call.level ? h("span.badge.lvl-" + call.level, { text: call.level + (call.priority != null ? " · " + call.priority : "") })
        : h("span.badge", { text: t("calls.notScored") }),
      call.category ? h("span.call-cat", { text: JY.catLabel(call.category) }) : null,
      h("span.badge.call-state" + (call.live ? ".on-air" : ""), { text: (call.live ? "● " : "") + t("calls." + state) }),
      h("span.grow"),
      h("strong.call-number", { text: caller.number || t("calls.unknownCaller") })),
    h("div.hint", { text: [caller.location || t("calls.noLocation"), t("calls.started", { t: JY.clock(call.started_at) })].join(" · ") }),
    factsList(call),
    reasons.length ? h("details.call-reasons", { open: true }, h("summary", { text: t("calls.reasons") + " (" + reasons.length + ")" }),
      h("ul.reasons", null, reasons.map(reasonItem))) : null,
    h("ol.call-transcript", { "aria-live": "polite" },
      (call.finals || []).map((f) => h("li.final", { dataset: { utterance: f.utterance } }, h("time", { text: JY.clock(f.start_utc) }), f.text)),
      partial ? h("li.partial", null, h("time", { text: "…" }), partial) : null,
      call.live && !(call.finals || []).length && !partial ? h("li.partial", { text: t("calls.listening") }) : null),
    actions(call),
    call.audio && call.audio.url ? h("div.row", null, h("button.play", { type: "button", dataset: { key: "play" }, text: "▶ " + t("calls.play"), onclick: (ev) => JY.playAudio(call.audio.url, ev.currentTarget) }),
      call.audio.note ? h("span.hint", { text: t("calls.audioNote", { note: call.audio.note }) }) : null)
      : call.audio && call.audio.note ? h("p.hint", { text: t("calls.audioNote", { note: call.audio.note }) }) : null);
}

function shown(call) {
  if (call.live) return true;
  const age = Date.now() - (JY.parseTime(call.ended_at || call.updated_at) || 0);
  return age < (DECIDED.has(call.state) ? KEEP_DECIDED_MS : KEEP_ENDED_MS);
}

let frame = 0;
function render() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const calls = [...C.calls.values()].filter(shown)
      .sort((a, b) => (b.live - a.live) || String(b.started_at).localeCompare(String(a.started_at)));
    panel.hidden = !calls.length;
    document.getElementById("calls-count").textContent = String(calls.filter((c) => c.live).length);
    // A live update re-renders the cards: the choice in "Attach to…" and the keyboard focus stay put.
    const chosen = new Map([...list.querySelectorAll("li[data-call] select")].map((s) => [s.closest("li[data-call]").dataset.call, s.value]));
    const active = document.activeElement;
    const focus = active && list.contains(active) && active.dataset.key ? [active.closest("li[data-call]").dataset.call, active.dataset.key] : null;
    list.replaceChildren(...calls.map(card));
    chosen.forEach((v, id) => { const s = list.querySelector(`li[data-call="${CSS.escape(id)}"] select`); if (s) s.value = v; });
    if (focus) {
      const again = list.querySelector(`li[data-call="${CSS.escape(focus[0])}"] [data-key="${CSS.escape(focus[1])}"]`);
      if (again) again.focus();
    }
  });
}

// ---- the incident detail: the calls that made or joined the incident, each with its audio
const byIncident = new Map(); // incident id -> { at, calls }
const DETAIL_TTL_MS = 15000;

function fillIncidentCalls(box, calls) {
  if (!calls.length) { box.replaceChildren(); return; }
  box.replaceChildren(h("h3", { text: t("calls.ofIncident") }), h("ul.plain", null, calls.map((c) => h("li.row", { dataset: { call: c.id } },
    h("time", { text: JY.dateTime(c.started_at) }),
    h("strong.call-number", { text: (c.caller && c.caller.number) || t("calls.unknownCaller") }),
    h("span.hint", { text: `${t("calls." + (c.live ? "live" : c.state))} · ${t("calls.lines", { n: (c.finals || []).length })}` }),
    c.audio && c.audio.url ? h("button.play", { type: "button", text: "▶ " + t("calls.play"), onclick: (ev) => JY.playAudio(c.audio.url, ev.currentTarget) })
      : c.audio && c.audio.note ? h("span.hint", { text: t("calls.audioNote", { note: c.audio.note }) }) : null))));
}

function loadIncidentCalls(incId, cached) {
  // The detail re-renders on every live change: one request per incident per TTL, filled in when it answers.
  byIncident.set(incId, { at: Date.now(), calls: cached ? cached.calls : [] });
  JY.api("GET", `/api/calls?incident_id=${encodeURIComponent(incId)}`).then((r) => {
    byIncident.set(incId, { at: Date.now(), calls: r.calls || [] });
    const shownBox = document.querySelector(`#detail .incident-calls[data-incident="${CSS.escape(incId)}"]`);
    if (shownBox) fillIncidentCalls(shownBox, r.calls || []);
  }, (e) => { if (e.status !== 404) console.warn("calls of the incident unavailable", e); });
}

function incidentCalls(inc) {
  const box = h("div.incident-calls", { dataset: { incident: inc.id } });
  const cached = byIncident.get(inc.id);
  if (cached) fillIncidentCalls(box, cached.calls);
  if (!cached || Date.now() - cached.at > DETAIL_TTL_MS) loadIncidentCalls(inc.id, cached);
  return box;
}
JY.consoleDetailParts = [...(JY.consoleDetailParts || []), incidentCalls];

JY.consoleOn("call", (ev) => {
  put(ev.call);
  const incId = ev.call && ev.call.incident_id ? String(ev.call.incident_id) : "";
  // A call of the incident on show changed (e.g. ended: its audio is there now): refresh that list.
  if (incId && document.querySelector(`#detail .incident-calls[data-incident="${CSS.escape(incId)}"]`)) {
    loadIncidentCalls(incId, byIncident.get(incId));
  } else if (incId) {
    byIncident.delete(incId);
  }
  render();
});
// The line the caller is saying now (partials of the call's stream), replaced by the final.
JY.consoleOn("transcript", (ev) => {
  if (ev.final !== false || !ev.stream_id) return;
  if (![...C.calls.values()].some((c) => c.live && c.stream_id === ev.stream_id)) return;
  C.partials.set(ev.stream_id, ev.text || "");
  render();
});
// Every (re)connect: what happened while away (the console's snapshot has no calls).
JY.consoleOn("snapshot", () => reload());
JY.onLang(() => { JY.applyI18n(panel); render(); });
setInterval(() => { if ([...C.calls.values()].some((c) => !c.live)) render(); }, 60 * 1000);
