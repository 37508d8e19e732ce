/* Self-service reports: what a citizen is typing at a kiosk, live, then the receipt and a button to
 * open the incident it became.
 */
import { onRender } from "./render.js";
import { S, incName, pick } from "./state.js";
import { select } from "./detail.js";

const { h, t, $ } = JY;

export function putDraft(ev) {
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

onRender("drafts", renderDrafts);
