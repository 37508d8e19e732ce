/* Live events from /ws/console, routed to the module that keeps each kind; then to the handlers other
 * modules registered for that type with JY.consoleOn (console-calls.js: "call", "transcript",
 * "snapshot"), which run after the console's own handling.
 */
import { invalidate } from "./render.js";
import { S, addDup, pick, putIncident, putOrder, putUnit } from "./state.js";
import { refreshRecs, refreshSelected, select } from "./detail.js";
import { putTranscript, putTransmission } from "./radio.js";
import { putDraft } from "./kiosk.js";
import { putAlert } from "./alerts.js";
import { applySnapshot, resync } from "./sync.js";

// console-calls.js is a separate module script that only knows the JY global: this hook (and
// JY.consoleSelect / JY.consoleState / JY.consoleDetailParts, see main.js and detail.js) is its
// interface to the console. Defined when this module is evaluated, which is before console-calls.js
// runs: module scripts execute in document order and console.html lists main.js first.
const extraHandlers = new Map();
JY.consoleOn = (type, fn) => { extraHandlers.set(type, [...(extraHandlers.get(type) || []), fn]); };

export function onEvent(ev) {
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
      if (S.selected) refreshRecs();
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

