/* The units table: callsign, type, status, and the age of the last location fix (red after 30 min). */
import { onRender } from "./render.js";
import { S, stLabel } from "./state.js";

const { h, t, $ } = JY;

function renderUnits() {
  const tb = $("#units");
  const units = [...S.units.values()].sort((a, b) => String(a.callsign).localeCompare(String(b.callsign)));
  $("#units-count").textContent = String(units.length);
  if (!units.length) { tb.replaceChildren(h("tr", null, h("td.empty", { colspan: 3, text: t("console.units.empty") }))); return; }
  tb.replaceChildren(...units.map((u) => {
    const fix = u.location_at || u.fix_at || u.last_fix_at;
    const stale = fix && Date.now() - JY.parseTime(fix) > 30 * 60 * 1000;
    return h("tr", { dataset: { unit: u.id, status: u.status, lat: u.lat ?? "", lon: u.lon ?? "" } },
      h("td", null, h("strong", { text: u.callsign || u.id }), u.unit_type ? h("span.hint", { text: " " + u.unit_type }) : null),
      h("td", null, h("span.badge.st.st-" + u.status, { text: stLabel(u.status) })),
      h("td" + (stale ? ".error-text" : ""), { dataset: { ts: fix || "" }, text: JY.ago(fix) }));
  }));
}

onRender("units", renderUnits);
