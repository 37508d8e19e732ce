/* Whole-picture refreshes: the snapshot /ws/console sends on every (re)connect (or on
 * {"type":"resync"}), and resync() which fetches one over REST (after a missed snapshot, or when a
 * server component that carries live events comes back: events published meanwhile never arrived).
 */
import { invalidate } from "./render.js";
import { S, addDup, putIncident, putOrder, putUnit } from "./state.js";
import { loadDetail } from "./detail.js";
import { alarm, pendingAlerts } from "./alerts.js";

const { t, $ } = JY;

/** Replace the picture with a snapshot (sent by /ws/console on connect and on {"type":"resync"}). */
export function applySnapshot(snap) {
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

export async function resync() {
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
