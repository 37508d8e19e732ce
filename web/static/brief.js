/* Daily brief for supervisors: GET /api/analysis/daily?date= rendered as figures and charts, with the AI
 * accountability section (how often the machine's levels and unit recommendations were accepted, and
 * what came of accepted vs overridden suggestions).
 * Charts are plain HTML bars (no library, print-friendly). Sections the API returns that the page
 * does not know are still shown: a name->number mapping as bars, a list of records as a table. */
(function () {
  "use strict";
  const { h, t, $ } = JY;

  JY.i18n({
    zh: {
      "brief.title": "每日简报", "brief.date": "日期", "brief.show": "查看", "brief.prev": "前一天", "brief.next": "后一天",
      "brief.print": "打印", "brief.loading": "正在加载 {d} 的简报…", "brief.empty": "{d} 没有警情记录。",
      "brief.error": "无法加载简报：{msg}",
      "brief.total": "警情总数", "brief.by_category": "按类别", "brief.by_area": "按区域", "brief.by_hour": "按小时",
      "brief.by_level": "按等级", "brief.by_source": "按来源",
      "brief.hotspots": "热点", "brief.spikes": "异常增长", "brief.repeat_locations": "重复地点", "brief.response": "响应时间",
      "brief.count": "数量", "brief.none": "无", "brief.p1": "P1 紧急警情", "brief.baseline": "基线：前 {d} 天共 {n} 起警情{c}。",
      "brief.baseline.incomplete": "（历史不足，不计算异常增长）", "brief.interval": "区间", "brief.n": "数量",
      "brief.created_to_dispatched": "接报→派警", "brief.dispatched_to_acknowledged": "派警→确认", "brief.created_to_on_scene": "接报→到场", "brief.created_to_acknowledged": "接报→确认",
      "brief.created_to_closed": "接报→结束", "brief.dispatched_to_on_scene": "派警→到场", "brief.acknowledged_to_on_scene": "确认→到场",
      "brief.accountability": "AI 问责：机器建议的采纳与改动", "brief.acc.all": "全部", "brief.acc.byCategory": "按类别",
      "brief.acc.outcomes": "采纳与改动后的处警结果", "brief.acc.levels": "定级", "brief.acc.units": "派警单位",
      "brief.acc.accepted": "采纳", "brief.acc.overridden": "改动", "brief.acc.open": "未结 {n}", "brief.acc.notCounted": "未计入",
      "brief.acc.none": "当天没有可统计的机器建议。", "brief.acc.suggestion": "建议", "brief.acc.closed": "已结警情的结果",
    },
    en: {
      "brief.title": "Daily brief", "brief.date": "Date", "brief.show": "Show", "brief.prev": "Previous day", "brief.next": "Next day",
      "brief.print": "Print", "brief.loading": "Loading the brief for {d}…", "brief.empty": "No incidents recorded on {d}.",
      "brief.error": "Cannot load the brief: {msg}",
      "brief.total": "Incidents", "brief.by_category": "By category", "brief.by_area": "By area", "brief.by_hour": "By hour",
      "brief.by_level": "By level", "brief.by_source": "By source",
      "brief.hotspots": "Hotspots", "brief.spikes": "Spikes", "brief.repeat_locations": "Repeat locations", "brief.response": "Response times",
      "brief.count": "Count", "brief.none": "None", "brief.p1": "P1 emergencies", "brief.baseline": "Baseline: {n} incidents over the previous {d} days{c}.",
      "brief.baseline.incomplete": " (not enough history: no spikes computed)", "brief.interval": "Interval", "brief.n": "Count",
      "brief.created_to_dispatched": "received → dispatched", "brief.dispatched_to_acknowledged": "dispatched → acknowledged",
      "brief.created_to_on_scene": "received → on scene", "brief.created_to_acknowledged": "received → acknowledged", "brief.created_to_closed": "received → closed",
      "brief.dispatched_to_on_scene": "dispatched → on scene", "brief.acknowledged_to_on_scene": "acknowledged → on scene",
      "brief.accountability": "AI accountability: machine suggestions accepted and overridden", "brief.acc.all": "all", "brief.acc.byCategory": "By category",
      "brief.acc.outcomes": "Outcomes after accepted and overridden suggestions", "brief.acc.levels": "level", "brief.acc.units": "unit",
      "brief.acc.accepted": "accepted", "brief.acc.overridden": "overridden", "brief.acc.open": "{n} open", "brief.acc.notCounted": "Not counted",
      "brief.acc.none": "No machine suggestion to count on this day.", "brief.acc.suggestion": "suggestion", "brief.acc.closed": "outcomes of closed incidents",
    },
  });

  let last = null;
  const title = (k) => (t("brief." + k) === "brief." + k ? k.replace(/_/g, " ") : t("brief." + k));

  /** {a: 3, b: 5} or [{name|category|area|key, count|n|value}] -> [[label, n]] sorted, or null. */
  function asPairs(v) {
    if (v && !Array.isArray(v) && typeof v === "object") {
      const e = Object.entries(v);
      if (e.length && e.every(([, n]) => typeof n === "number")) return e.sort((a, b) => b[1] - a[1]);
      return null;
    }
    if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === "object" && !Array.isArray(x))) {
      const nk = ["count", "n", "value", "incidents"].find((k) => v.every((x) => typeof x[k] === "number"));
      const lk = ["label", "name", "category", "area", "key", "location", "place"].find((k) => v.every((x) => x[k] != null));
      const keys = new Set(v.flatMap((x) => Object.keys(x)));
      if (nk && lk && keys.size <= 3) return v.map((x) => [JY.label(x[lk]), x[nk]]);
    }
    return null;
  }

  function bars(name, pairs) {
    const max = Math.max(1, ...pairs.map((p) => p[1]));
    return h("section.panel.chart", { "aria-labelledby": "c-" + name, dataset: { chart: name } },
      h("h2", { id: "c-" + name, text: title(name) }),
      h("div.bars", { role: "list" }, pairs.slice(0, 20).map(([k, n]) => [
        h("span", { role: "listitem", text: k }),
        h("div", { "aria-hidden": "true" }, h("div.fill", { style: `width:${(100 * n) / max}%` })),
        h("span.n", { text: String(n) })])));
  }

  function hours(name, arr) {
    const max = Math.max(1, ...arr);
    return h("section.panel.chart", { "aria-labelledby": "c-" + name, dataset: { chart: name } },
      h("h2", { id: "c-" + name, text: title(name) }),
      h("div.hours", { role: "img", "aria-label": arr.map((n, i) => `${i}:00 ${n}`).join(", ") },
        arr.map((n, i) => h("div", { title: `${String(i).padStart(2, "0")}:00 — ${n}`, style: `height:${(100 * n) / max}%` }))),
      h("div.hours-axis", { "aria-hidden": "true" }, arr.map((n, i) => h("span", { text: i % 3 === 0 ? String(i) : "" }))));
  }

  function table(name, rows) {
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => typeof rows[0][c] !== "object" || rows[0][c] === null || c === "label");
    return h("section.panel.chart", { "aria-labelledby": "c-" + name, dataset: { chart: name } },
      h("h2", { id: "c-" + name, text: title(name) }),
      rows.length ? h("table.simple", null,
        h("thead", null, h("tr", null, cols.map((c) => h("th", { text: c.replace(/_/g, " ") })))),
        h("tbody", null, rows.slice(0, 30).map((r) => h("tr" + (name === "spikes" ? ".spike" : ""), null, cols.map((c) => {
          const v = r[c];
          return h("td", { text: typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : JY.label(v) });
        })))))
        : h("p.empty", { text: t("brief.none") }));
  }

  const dur = (s) => (s == null ? "—" : s < 90 ? `${Math.round(s)} s` : `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, "0")} s`);

  /** Response intervals from the dispatch service: p50 / p90 per interval. */
  function responseTable(resp) {
    const stats = Object.entries(resp.stats || {});
    return h("section.panel.chart", { "aria-labelledby": "c-response", dataset: { chart: "response" } },
      h("h2", { id: "c-response", text: title("response") }),
      stats.length ? h("table.simple", null,
        h("thead", null, h("tr", null, h("th", { text: t("brief.interval") }), h("th", { text: t("brief.n") }), h("th", { text: "p50" }), h("th", { text: "p90" }))),
        h("tbody", null, stats.map(([k, v]) => h("tr", null, h("td", { text: title(k) }), h("td", { text: String(v.count ?? "") }),
          h("td", { text: dur(v.p50_s) }), h("td", { text: dur(v.p90_s) }))))) : h("p.empty", { text: "—" }));
  }

  /** The accountability section: rates per level and per category, outcomes of accepted vs overridden. */
  function accountability(acc) {
    const cols = (acc.columns && (acc.columns[JY.lang] || acc.columns.en)) || [];
    const cell = (key, v, byCategory) => (key !== "group" ? String(v) : byCategory ? JY.catLabel(v) : v === "all" ? t("brief.acc.all") : v);
    const grid = (rows, byCategory, id) => h("table.simple#" + id, null,
      h("thead", null, h("tr", null, cols.map(([, label]) => h("th", { text: label })))),
      h("tbody", null, rows.map((r) => h("tr", { dataset: { group: r.group } }, cols.map(([key]) => h("td", { text: cell(key, r[key], byCategory) }))))));
    const label = (code) => { const l = (acc.outcome_labels || {})[code]; return l ? JY.label(l) : code; };
    const outcomeRows = [];
    for (const what of ["levels", "units"]) {
      const by = (acc.outcomes || {})[what] || {};
      for (const verdict of ["accepted", "overridden"]) {
        const counts = Object.entries(by[verdict] || {});
        const open = (by.open || {})[verdict] || 0;
        outcomeRows.push(h("tr", { dataset: { what, verdict } }, h("td", { text: t("brief.acc." + what) }), h("td", { text: t("brief.acc." + verdict) }),
          h("td", { text: counts.map(([c, n]) => `${label(c)} ${n}`).join("; ") || "—" }),
          h("td", { text: open ? t("brief.acc.open", { n: open }) : "" })));
      }
    }
    const notCounted = Object.entries(acc.not_counted || {});
    return h("section.panel.chart.wide", { "aria-labelledby": "c-accountability", dataset: { chart: "accountability" } },
      h("h2", { id: "c-accountability", text: t("brief.accountability") }),
      !acc.rows || !acc.rows.length ? h("p.empty", { text: t("brief.acc.none") }) : [
        grid(acc.rows, false, "acc-levels"),
        h("h3", { text: t("brief.acc.byCategory") }), grid(acc.by_category || [], true, "acc-categories"),
        h("h3", { text: t("brief.acc.outcomes") }),
        h("table.simple#acc-outcomes", null, h("thead", null, h("tr", null, h("th", { text: t("brief.acc.suggestion") }), h("th"),
          h("th", { text: t("brief.acc.closed") }), h("th"))), h("tbody", null, outcomeRows))],
      notCounted.length ? h("details", null, h("summary", { text: t("brief.acc.notCounted") + ` (${notCounted.reduce((a, [, n]) => a + n, 0)})` }),
        h("ul", null, notCounted.map(([k, n]) => h("li", { text: `${k}: ${n}` })))) : null);
  }

  function render(data, date) {
    const box = $("#brief");
    const d = data.brief || data;
    const total = d.total ?? d.total_incidents ?? d.count ?? (d.counts && d.counts.total);
    const cards = [];
    if (total != null) cards.push(h("div.card", { dataset: { card: "total" } }, h("div.v", { text: String(total) }), h("div.k", { text: t("brief.total") })));
    const charts = [];
    const sections = Object.assign({}, d.counts && typeof d.counts === "object" ? d.counts : {}, d);
    for (const [k, v] of Object.entries(sections)) {
      if (["date", "total", "total_incidents", "count", "counts", "generated_at", "brief", "period", "timezone", "baseline"].includes(k)) continue;
      if (k === "response" && v && typeof v === "object") { charts.push(responseTable(v)); continue; }
      if (k === "accountability" && v && typeof v === "object") { charts.push(accountability(v)); continue; }
      if (k === "by_source" && v && typeof v === "object") { charts.push(bars(k, Object.entries(v).map(([c, n]) => [JY.sourceLabel(c), n]))); continue; }
      if (k === "by_category" && v && typeof v === "object") { charts.push(bars(k, Object.entries(v).map(([c, n]) => [JY.catLabel(c), n]))); continue; }
      if (typeof v === "number") { cards.push(h("div.card", null, h("div.v", { text: Number.isInteger(v) ? String(v) : v.toFixed(2) }), h("div.k", { text: title(k) }))); continue; }
      if (Array.isArray(v) && v.length === 24 && v.every((n) => typeof n === "number")) { charts.push(hours(k, v)); continue; }
      const pairs = asPairs(v);
      if (pairs) { charts.push(bars(k, pairs)); continue; }
      if (Array.isArray(v) && v.every((x) => x && typeof x === "object")) { charts.push(table(k, v)); continue; }
      if (v && typeof v === "object" && !Array.isArray(v)) {
        const flat = Object.entries(v).filter(([, x]) => typeof x === "number" || typeof x === "string");
        if (flat.length) charts.push(table(k, [Object.fromEntries(flat)]));
      }
    }
    if (total === 0 || (!total && !charts.length)) { box.replaceChildren(h("p.empty", { text: t("brief.empty", { d: date }) })); return; }
    const b = d.baseline;
    box.replaceChildren(h("div.cards", null, cards),
      b ? h("p.hint#baseline", { text: t("brief.baseline", { d: b.days, n: b.incidents, c: b.complete ? "" : t("brief.baseline.incomplete") }) }) : null,
      h("div.charts", null, charts));
  }

  async function load(date) {
    const status = $("#status");
    status.replaceChildren(h("p.loading", { text: t("brief.loading", { d: date }) }));
    try {
      const data = await JY.api("GET", "/api/analysis/daily?date=" + encodeURIComponent(date));
      last = { data, date };
      status.replaceChildren();
      render(data, date);
      history.replaceState(null, "", "?date=" + date);
    } catch (e) {
      $("#brief").replaceChildren();
      status.replaceChildren(h("p.error-text", { role: "alert", text: t("brief.error", { msg: JY.errorText(e) }) }),
        h("button", { type: "button", text: t("retry"), onclick: () => load(date) }));
    }
  }

  function shift(days) {
    const d = new Date($("#date").value + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    $("#date").value = d.toISOString().slice(0, 10);
    load($("#date").value);
  }

  async function main() {
    JY.initPage();
    await JY.signIn({ mount: $("#signin-mount"), content: $("#content"), roles: ["admin", "dispatcher"] });
    const q = new URLSearchParams(location.search).get("date");
    const today = new Date();
    const local = new Date(today.getTime() - today.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
    $("#date").value = /^\d{4}-\d{2}-\d{2}$/.test(q || "") ? q : local;
    $("#date-form").addEventListener("submit", (e) => { e.preventDefault(); load($("#date").value); });
    $("#prev").addEventListener("click", () => shift(-1));
    $("#next").addEventListener("click", () => shift(1));
    $("#print").addEventListener("click", () => window.print());
    JY.onLang(() => { if (last) render(last.data, last.date); });
    load($("#date").value);
  }
  main();
})();
