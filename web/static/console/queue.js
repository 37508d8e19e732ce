/* The incident queue: open incidents by priority (then age), each with its level, status, flags
 * (possible duplicate, needs a human read, not dispatched in time) and the scorer's reasons;
 * keyboard navigation; and the "New incident" form above it.
 */
import { levelFloor, levelOf } from "./levels.js";
import { invalidate, onRender } from "./render.js";
import { OPEN, S, catLabel, putIncident, reasonItem, reasonsOf, stLabel, visibleDups } from "./state.js";
import { select } from "./detail.js";

const { h, t, $ } = JY;

/** The scorer marked the incident uncertain (facts.uncertain) and no dispatcher has set its priority yet. */
const needsRead = (inc) => !!(inc.facts && inc.facts.uncertain && inc.facts.uncertain.uncertain) && !inc.priority_override;
// An incident that needs a human read sorts above every P3 whatever its score: ranked half a point
// below P2's floor (5.5: between P3's 5 and P2's 6), so it still sorts under every P2 and P1.
const NEEDS_READ_RANK = levelFloor("P2") - 0.5;
const queueRank = (inc) => needsRead(inc) ? Math.max(inc.priority ?? -1, NEEDS_READ_RANK) : inc.priority ?? -1;

export function sortedIncidents() {
  const showClosed = $("#show-closed").checked;
  return [...S.incidents.values()]
    .filter((i) => showClosed || OPEN.has(i.status) || !i.status)
    .sort((a, b) => queueRank(b) - queueRank(a) ||
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
        visibleDups(inc.id).length ? h("span.badge.dup-flag", { text: t("console.dupFlag") }) : null,
        needsRead(inc) ? h("span.badge.needs-read", { text: t("console.uncertain"),
          title: t("console.uncertain.why", { r: inc.facts.uncertain.reason || "?" }) }) : null),
      h("span.where", { text: inc.location_text || (inc.lat != null ? inc.lat.toFixed(4) + ", " + inc.lon.toFixed(4) : "") }),
      " ",
      h("span.age", { dataset: { ts: inc.created_at || "" }, text: JY.ago(inc.created_at) }),
      overdue(inc) ? h("span.badge.overdue", { text: t("console.notDispatched") }) : null);
    const li = h("li" + (S.selected === inc.id ? ".sel" : "") + (OPEN.has(inc.status) ? "" : ".closed"),
      { dataset: { id: inc.id, level: lvl, status: inc.status || "", needsRead: needsRead(inc) ? "1" : "" } }, btn, det);
    ul.append(li);
  }
  if (focusedId) {
    const again = ul.querySelector(`li[data-id="${CSS.escape(focusedId)}"] .inc-btn`);
    if (again) again.focus();
  }
}

// NFPA 1225: an urgent call should have a unit within 60 s; an undispatched P1/P2 past that is flagged.
const DISPATCH_TARGET_S = 60;
export function overdue(inc) {
  const lvl = levelOf(inc);
  return (lvl === "P1" || lvl === "P2") && (inc.status === "new" || inc.status === "triaged") &&
    Date.now() - (JY.parseTime(inc.created_at) || Date.now()) > DISPATCH_TARGET_S * 1000;
}

onRender("queue", renderQueue);

/** The queue's controls: "Show closed", the "New incident" form, j/k and arrow keys. */
export function wireQueue() {
  $("#show-closed").addEventListener("change", () => invalidate("queue", "map"));
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
}
