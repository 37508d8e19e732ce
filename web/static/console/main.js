/* Dispatcher console: live incident queue, detail with recommendations and one-click dispatch,
 * units, map, radio transcripts, kiosk drafts, and escalation alerts that cannot be missed.
 *
 * State comes from GET /api/snapshot on every (re)connect of /ws/console, then from live events:
 * incident, unit, order, alert, transcript, duplicate, kiosk_draft. A reconnect always resyncs.
 * Degraded server components (GET /readyz, every 5 s and on reconnect) are named in a status strip.
 *
 * This is the entry module (console.html: <script type="module" src="/static/console/main.js">);
 * docs/web.md lists what each module of /static/console/ holds. Some modules import each other in a
 * cycle (detail → health → sync → detail: a dispatch answered "queued" probes the health, a recovered
 * component resyncs, a resync reloads the detail): that is safe because no module uses another's
 * exports while it is being evaluated, only later, from functions.
 */
import "./i18n.js"; // first: the strings are registered before anything renders
import { invalidate } from "./render.js";
import { S } from "./state.js";
import { overdue, wireQueue } from "./queue.js";
import { dueText, select } from "./detail.js";
import "./units.js";
import "./map.js";
import { loadRadio } from "./radio.js";
import "./kiosk.js";
import { wireAlerts } from "./alerts.js";
import { HEALTH_EVERY_MS, checkHealth, renderHealth } from "./health.js";
import { onEvent } from "./events.js";
import { resync } from "./sync.js";
import { loadOutcomes } from "./outcomes.js";

const { $ } = JY;

/** What belongs to no one panel: the 1 s clock, the map's size, a change of language. */
function wire() {
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
  wireQueue();
  wireAlerts();
  wire();
  S.config = Object.assign({ map_tile_url: "" }, JY.config);
  // Kiosk template labels for the live drafts panel (optional: ids are shown without them).
  JY.api("GET", "/api/kiosk/templates").then((r) => {
    for (const tp of r.templates || []) S.templates.set(String(tp.id), tp);
    invalidate("drafts");
  }, (e) => console.warn("kiosk templates unavailable", e));
  invalidate("queue", "units", "map", "radio", "drafts");
  // Outcome labels for closed incidents and the close dialog (the dialog fetches them again if this failed).
  loadOutcomes().then(() => invalidate("detail"), (e) => console.warn("outcome codes unavailable", e));
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
