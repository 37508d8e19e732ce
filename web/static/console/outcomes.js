/* Closing an incident with its outcome (处警结果): the outcome table from GET /api/outcomes (zh/en labels,
 * grouped), the close dialog (code + note, both required), and the outcome and level record shown in the
 * detail. Closing goes through POST /api/incidents/{id}/status {status: "closed", outcome_code, note}.
 */
import { S, incName, unitName } from "./state.js";

const { h, t } = JY;
const GROUPS = ["enforcement", "resolved", "referred", "no_action", "cancelled"];
let loading = null;

/** The outcome table, fetched once (retried on the next call if it failed). */
export function loadOutcomes() {
  if (!loading) {
    loading = JY.api("GET", "/api/outcomes").then((r) => {
      S.outcomes = new Map((r.outcomes || []).map((o) => [o.code, o]));
      return S.outcomes;
    }, (e) => { loading = null; throw e; });
  }
  return loading;
}

/** An outcome code in the page language ("Arrest made"); the code itself when the table lacks it. */
export function outcomeLabel(code) {
  const o = S.outcomes && S.outcomes.get(code);
  return o ? JY.label({ zh: o.zh, en: o.en }) : String(code || "");
}

/** A <select> of the codes still accepted, grouped as the table groups them. */
export function outcomeSelect(id, key) {
  const rows = [...(S.outcomes || new Map()).values()].filter((o) => !o.retired);
  return h("select#" + id, { required: true, dataset: { key } },
    h("option", { value: "", text: t("outcome.pick") }),
    GROUPS.map((g) => {
      const inGroup = rows.filter((o) => o.group === g);
      return inGroup.length ? h("optgroup", { label: t("outcome.group." + g) },
        inGroup.map((o) => h("option", { value: o.code, text: JY.label({ zh: o.zh, en: o.en }) }))) : null;
    }));
}

/** Who acted: an officer's token subject ("unit:<id>") as the unit's callsign. */
const actorName = (by) => (String(by || "").startsWith("unit:") ? unitName(by.slice(5)) : by || "");

/** The modal close dialog; resolves with the closed incident, or null when the dispatcher cancels. */
export async function closeDialog(inc) {
  try { await loadOutcomes(); } catch (e) { JY.toast(JY.errorText(e), "error"); return null; }
  document.getElementById("close-dialog")?.remove();
  const select = outcomeSelect("close-outcome", "close-outcome");
  const note = h("textarea#close-note", { rows: 4, maxlength: 4000, required: true, dataset: { key: "close-note" } });
  const err = h("p.error-text#close-error", { role: "alert" });
  const cancel = h("button", { type: "button", value: "cancel", text: t("outcome.cancel") });
  const submit = h("button.primary", { type: "submit", text: t("console.d.close") });
  const form = h("form", { method: "dialog", novalidate: true },
    h("h2", { text: t("outcome.title", { n: inc.number || incName(inc.id) }) }),
    h("p.hint", { text: t("outcome.hint") }),
    h("label", { for: "close-outcome", text: t("outcome.code") }), select,
    h("label", { for: "close-note", text: t("outcome.note") }), note, err,
    h("div.row.dialog-actions", null, h("span.grow"), cancel, submit));
  const dlg = h("dialog#close-dialog.close-dialog", { "aria-labelledby": "close-dialog-h" }, form);
  form.querySelector("h2").id = "close-dialog-h";
  document.body.append(dlg);
  return new Promise((resolve) => {
    let result = null;
    cancel.addEventListener("click", () => dlg.close());
    for (const el of [select, note]) el.addEventListener("input", () => { err.textContent = ""; });
    dlg.addEventListener("close", () => { dlg.remove(); resolve(result); });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      err.textContent = "";
      if (!select.value) { err.textContent = t("outcome.needCode"); select.focus(); return; }
      if (!note.value.trim()) { err.textContent = t("outcome.needNote"); note.focus(); return; }
      submit.disabled = true;
      try {
        result = await JY.api("POST", `/api/incidents/${encodeURIComponent(inc.id)}/status`,
          { status: "closed", outcome_code: select.value, note: note.value.trim() });
        dlg.close();
      } catch (e) {
        // The server's message names what it accepts (an unknown or retired code lists the codes).
        err.textContent = JY.errorText(e);
        submit.disabled = false;
      }
    });
    dlg.showModal();
    select.focus();
  });
}

/** What the incident's end recorded, and the machine's level beside the dispatcher's. */
export function outcomePart(inc) {
  const parts = [];
  if (inc.outcome) {
    parts.push(h("div.outcome#outcome", null,
      h("strong", { text: t("outcome.recorded") + " " }),
      h("span.badge.outcome-code", { dataset: { code: inc.outcome.code }, text: outcomeLabel(inc.outcome.code) }),
      h("p.text", { text: inc.outcome.note || "" }),
      inc.outcome.by ? h("p.hint", { text: t("outcome.by", { by: actorName(inc.outcome.by), at: JY.dateTime(inc.closed_at) }) }) : null));
  }
  if (inc.machine_level || inc.final_level) {
    const same = inc.machine_level && inc.final_level === inc.machine_level;
    parts.push(h("p.hint#level-record", { dataset: { machine: inc.machine_level || "", final: inc.final_level || "" } },
      t("outcome.levels", { m: inc.machine_level || "—", f: inc.final_level || t("outcome.levelOpen") }),
      inc.final_level ? " · " + (same ? t("outcome.accepted") : t("outcome.overridden")) : "",
      inc.final_level_by ? " · " + actorName(inc.final_level_by) : ""));
  }
  return parts;
}

/** "top recommendation" / "#2 of 4 recommended" / "not recommended" for an order. */
export function verdictText(o) {
  const r = o.recommendation;
  if (!r) return "";
  if (r.verdict === "top") return t("outcome.v.top");
  if (r.verdict === "other_recommended") return t("outcome.v.other", { r: r.rank, n: r.recommended.length });
  if (r.verdict === "not_recommended") return t("outcome.v.not");
  return t("outcome.v.none");
}
