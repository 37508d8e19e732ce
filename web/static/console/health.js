/* Server health (/readyz): degraded components are named in a strip under the top bar, with what
 * they mean for the dispatcher. /readyz is public and cheap (a Redis ping, a SELECT 1, a statvfs);
 * polled every HEALTH_EVERY_MS and at once after the console's socket (re)connects. The strip never
 * blocks the page or takes focus.
 */
import { S } from "./state.js";
import { resync } from "./sync.js";

const { h, t, $ } = JY;

export const HEALTH_EVERY_MS = 5000;
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

export async function checkHealth() {
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

export function renderHealth(force) {
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
