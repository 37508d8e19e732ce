/* The console's picture of the world (S) and the tolerant field helpers every panel uses.
 *
 * S is filled from /api/snapshot and the live events of /ws/console (events.js); the put* functions
 * merge an object into it whatever shape the server sent (flat or nested location, string or number
 * ids), and never let an older incident overwrite a newer one.
 */
const { h, t } = JY;

export const OPEN = new Set(["new", "triaged", "dispatched", "en_route", "on_scene"]);
export const S = {
  incidents: new Map(), units: new Map(), orders: new Map(), alerts: [], dups: new Map(),
  channels: new Map(), drafts: new Map(), selected: null, timeline: new Map(), recs: null,
  expanded: new Set(), dismissed: new Set(), templates: new Map(), suggestions: new Map(), radioStatus: new Map(), config: { map_tile_url: "" },
};

// ---------------------------------------------------------------- field helpers (tolerant of shapes)
export const reasonsOf = (inc) => inc.reasons || (inc.triage && inc.triage.reasons) || [];
export const stLabel = (s) => t("st." + s) === "st." + s ? String(s || "").replace(/_/g, " ") : t("st." + s);
export const catLabel = JY.catLabel;
export const unitName = (id) => { const u = S.units.get(String(id)); return u ? u.callsign || u.id : String(id); };
/** An alert's (or timeline entry's) text in the page language: alerts raised outside dispatch
 * (inspection_overdue) carry ``message_zh`` beside ``message``, so a language switch changes it too. */
export const alertText = (a) => (JY.lang === "zh" && a.message_zh) || a.message || "";
export const incName = (id) => { const i = S.incidents.get(String(id)); return i ? i.number || i.id : String(id); };
export const pick = (ev, key) => (ev[key] && typeof ev[key] === "object" ? ev[key] : ev.data && typeof ev.data === "object" ? ev.data : ev);

export function reasonItem(r) {
  if (typeof r === "string") return h("li", null, r);
  const w = r.weight ?? r.points ?? r.score;
  const ev = r.evidence ?? r.span ?? r.text;
  return h("li", null, r.factor || r.rule || r.reason || "", ev ? [" ", h("q", { text: typeof ev === "string" ? ev : JSON.stringify(ev) })] : null,
    w != null ? h("span.w", { text: " " + (w > 0 ? "+" : "") + w }) : null);
}

// ---------------------------------------------------------------- merge state
export function putIncident(inc) {
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
export function putUnit(u) {
  if (!u || u.id == null) return;
  u.id = String(u.id);
  if (u.location && typeof u.location === "object") {
    u.lat = u.location.lat ?? u.lat;
    u.lon = u.location.lon ?? u.lon;
    u.location_at = u.location.at ?? u.location_at;
  }
  S.units.set(u.id, Object.assign({}, S.units.get(u.id) || {}, u));
}
export function putOrder(o) {
  if (!o || o.id == null) return;
  o.id = String(o.id);
  S.orders.set(o.id, Object.assign({}, S.orders.get(o.id) || {}, o));
}
export function addDup(incId, d) {
  const other = String(typeof d === "object" ? d.incident_id ?? d.id ?? d.duplicate_of ?? d.other_id : d);
  if (!other || other === incId) return;
  const list = S.dups.get(incId) || [];
  if (typeof d === "object" && d.merged) return;
  if (!list.some((x) => x.other === other)) list.push({ other, evidence: typeof d === "object" ? d.evidence || d.reasons || d.score : null });
  S.dups.set(incId, list);
}
export function visibleDups(incId) {
  return (S.dups.get(incId) || []).filter((d) => {
    if (S.dismissed.has(incId + "|" + d.other)) return false;
    const o = S.incidents.get(d.other);
    return !o || OPEN.has(o.status);
  });
}
export function addTimeline(incId, entry) {
  const list = S.timeline.get(incId);
  if (list) list.push(entry);
}
