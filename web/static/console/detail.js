/* The selected incident: its facts, reasons, recommended units with one-click dispatch, priority
 * override or confirmation, orders with their ack countdown and where each unit stood in the ranking,
 * field notes and photos, possible duplicates (merge / not a duplicate), timeline, and close with an
 * outcome (outcomes.js). select(id) is how every other panel opens an incident.
 */
import { levelOf } from "./levels.js";
import { invalidate, onRender } from "./render.js";
import {
  OPEN, S, alertText, catLabel, incName, putIncident, putOrder, reasonItem, reasonsOf, stLabel, unitName, visibleDups,
} from "./state.js";
import { checkHealth } from "./health.js";
import { closeDialog, outcomePart, verdictText } from "./outcomes.js";
import { notesPart } from "./notes.js";

const { h, t, $ } = JY;

export function select(id) {
  if (S.selected !== id) { S.recs = null; }
  S.selected = id;
  invalidate("queue", "detail", "map");
  loadDetail(id);
}

export async function loadDetail(id) {
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
  for (const a of S.alerts) if (String(a.incident_id) === inc.id) tl.push({ at: a.at || a.created_at, kind: "alert", message: a.message, message_zh: a.message_zh });
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
  // Closing settles every open order and records the outcome: a dialog asks for the code and a note, so a
  // slip of the mouse cannot close a job either.
  const inc = S.incidents.get(incId);
  if (!inc) return;
  btn.disabled = true;
  const r = await closeDialog(inc);
  btn.disabled = false;
  if (!r) return;
  putIncident(r.incident || r);
  JY.toast(t("console.d.closed"), "ok");
  loadDetail(incId);
}

async function confirmLevel(inc, btn) {
  btn.disabled = true;
  try {
    const r = await JY.api("POST", `/api/incidents/${encodeURIComponent(inc.id)}/level/confirm`);
    putIncident(r.incident || r);
    JY.toast(t("outcome.confirmed", { l: inc.level }), "ok");
    invalidate("queue", "detail");
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
  if (e.message) bits.push(alertText(e));
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
  parts.push(...outcomePart(inc));
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
    o.recommendation ? h("span.badge.verdict", { dataset: { verdict: o.recommendation.verdict }, text: verdictText(o) }) : null, " ",
    o.state === "offered" && o.deadline_at ? h("span.deadline", { dataset: { deadline: o.deadline_at } }, dueText(o.deadline_at)) : null))));
  const notes = notesPart(inc, unitName);
  if (notes) parts.push(...notes);

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
  // An update that changes nothing on screen (most unit moves) leaves the panel as it is: a button under
  // the dispatcher's mouse stays the same element, and a selection in the text stays.
  const next = document.createElement("div");
  next.append(...parts);
  if (box.dataset.incident === inc.id && next.innerHTML === box.innerHTML) return;
  box.replaceChildren(...next.childNodes);
  box.dataset.incident = inc.id;
  typed.forEach((v, k) => { const el = box.querySelector(`[data-key="${CSS.escape(k)}"]`); if (el) el.value = v; });
  if (keepFocus) { const el = box.querySelector(`[data-key="${CSS.escape(keepFocus)}"]`); if (el) el.focus(); }
}

/** "ack due in 12 s" / "ack overdue 3 s" for an offered order. */
export function dueText(deadline) {
  const s = Math.round((JY.parseTime(deadline) - Date.now()) / 1000);
  return s >= 0 ? t("console.due", { s }) : t("console.overdue", { s: -s });
}
/** The dispatcher's own judgement: set the priority (0-10) with a reason; later re-scoring keeps it. */
function priorityForm(inc) {
  const num = h("input#prio-value", { type: "number", min: 0, max: 10, step: 1, value: inc.priority ?? "", size: 3,
    "aria-label": t("console.d.prio"), dataset: { key: "prio-value" } });
  const reason = h("input#prio-reason", { type: "text", maxlength: 1000, placeholder: t("console.d.prioReason"),
    "aria-label": t("console.d.prioReason"), dataset: { key: "prio-reason" } });
  const err = h("span.error-text#prio-error", { role: "alert" });
  // Agreeing with the machine is a decision too: it is recorded as the final level beside the scorer's.
  const confirm = inc.level && !inc.final_level ? h("button", { type: "button", dataset: { key: "level-confirm" },
    text: t("outcome.confirm", { l: inc.level }), onclick: (ev) => confirmLevel(inc, ev.currentTarget) }) : null;
  const form = h("form.row.prio-form", { novalidate: true },
    h("label.inline", { for: "prio-value", text: t("console.d.prio") }), num, reason,
    h("button", { type: "submit", text: t("console.d.prioSet"), dataset: { key: "prio-set" } }), confirm, err);
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

// Live changes to the selected incident reload its detail (timeline, orders, recommendations),
// at most a few times a second however many events arrive.
let refreshTimer = 0;
export function refreshSelected() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { if (S.selected) loadDetail(S.selected); }, 150);
}

// A unit's move or status change only touches the selected incident's recommendations. With a district's
// units reporting positions every few seconds these arrive many times a second, so the ranking is
// fetched again at most every RECS_EVERY_MS (a throttle: a steady stream still refreshes it).
const RECS_EVERY_MS = 2000;
let recsTimer = 0;
export function refreshRecs() {
  if (recsTimer) return;
  recsTimer = setTimeout(() => { recsTimer = 0; if (S.selected) loadRecs(S.selected); }, RECS_EVERY_MS);
}


onRender("detail", renderDetail);
