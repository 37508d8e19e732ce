/* Alerts (e.g. an order not acknowledged in time): a banner that stays until acknowledged, a tone
 * repeated every 5 s while any is unacknowledged, vibration, and the count in the tab title.
 */
import { invalidate, onRender } from "./render.js";
import { S, addTimeline, alertText, incName, pick } from "./state.js";
import { select } from "./detail.js";

const { t, $ } = JY;

let alarmTimer = 0;

export function putAlert(ev) {
  const a = pick(ev, "alert");
  const id = String(a.id || JY.uid("a"));
  if (S.alerts.some((x) => x.id === id)) return;
  S.alerts.push(Object.assign({ id, acked: false, at: a.created_at || new Date().toISOString() }, a, { id }));
  if (a.incident_id) {
    addTimeline(String(a.incident_id), { at: a.created_at || new Date().toISOString(), kind: "alert", message: a.message,
      message_zh: a.message_zh });
  }
  alarm();
}
export function pendingAlerts() { return S.alerts.filter((a) => !a.acked); }
export function alarm() {
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
  $("#alert-text").textContent = `${JY.clock(a.at)} ${alertText(a) || a.kind || ""}` +
    (a.incident_id ? ` [${incName(a.incident_id)}]` : "") + (pend.length > 1 ? " " + t("console.alert.more", { n: pend.length - 1 }) : "");
  $("#alert-open").hidden = !a.incident_id;
}

onRender("alerts", renderAlerts);

/** The banner's buttons and "Enable sound". */
export function wireAlerts() {
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
}
