/* The map: units (squares) and open incidents (circles coloured by level) in a Web Mercator
 * projection fitted to the points; over XYZ tiles when the server is configured with a tile URL,
 * otherwise a plain coordinate view with a degree grid (works offline).
 */
import { levelOf } from "./levels.js";
import { onRender } from "./render.js";
import { OPEN, S, stLabel } from "./state.js";
import { sortedIncidents } from "./queue.js";
import { select } from "./detail.js";

const { h, t, $ } = JY;

const mercX = (lon) => (lon + 180) / 360;
const mercY = (lat) => { const r = (lat * Math.PI) / 180; return (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2; };
const LEVEL_COLOURS = { P1: "#ff5c5c", P2: "#ff9f43", P3: "#ffd166", P4: "#8ecae6" };

function renderMap() {
  const box = $("#map");
  const W = box.clientWidth || 400, H = box.clientHeight || 300;
  const tiles = S.config.map_tile_url || "";
  $("#map-mode").textContent = t(tiles ? "console.map.tiles" : "console.map.plain");
  const units = [...S.units.values()].filter((u) => u.lat != null && u.lon != null);
  const incs = sortedIncidents().filter((i) => i.lat != null && i.lon != null && OPEN.has(i.status));
  const pts = [...units, ...incs];
  box.setAttribute("aria-label", `${t("console.map")}: ${units.length} ${t("console.map.units")}, ${incs.length} ${t("console.map.incidents")}`);
  if (!pts.length) { box.replaceChildren(h("div.map-empty", { text: t("console.map.none") })); return; }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const p of pts) { const x = mercX(p.lon), y = mercY(p.lat); x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const minSpan = 0.00003; // ~ a few km
  const dx = Math.max(x1 - x0, minSpan), dy = Math.max(y1 - y0, minSpan);
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  let scale = Math.min((W - 60) / dx, (H - 60) / dy);
  const kids = [];
  if (tiles) {
    const z = Math.max(0, Math.min(19, Math.floor(Math.log2(scale / 256))));
    scale = 256 * 2 ** z;
    const left = cx * scale - W / 2, top = cy * scale - H / 2;
    for (let tx = Math.floor(left / 256); tx * 256 < left + W; tx++) {
      for (let ty = Math.floor(top / 256); ty * 256 < top + H; ty++) {
        if (ty < 0 || ty >= 2 ** z) continue;
        const wrapped = ((tx % 2 ** z) + 2 ** z) % 2 ** z;
        const src = tiles.replace("{z}", z).replace("{x}", wrapped).replace("{y}", ty).replace("{s}", "a");
        kids.push(h("img.tile", { src, alt: "", style: `left:${tx * 256 - left}px;top:${ty * 256 - top}px` }));
      }
    }
  }
  const px = (lon) => (mercX(lon) - cx) * scale + W / 2;
  const py = (lat) => (mercY(lat) - cy) * scale + H / 2;
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const el = (name, attrs, text) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  };
  if (!tiles) {
    // Plain coordinate grid: lines at a round step in degrees.
    const lonAt = (x) => ((cx + (x - W / 2) / scale) * 360) - 180;
    const latAt = (y) => { const n = Math.PI - 2 * Math.PI * (cy + (y - H / 2) / scale); return (180 / Math.PI) * Math.atan(Math.sinh(n)); };
    const spanLon = lonAt(W) - lonAt(0);
    const step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10].find((s) => spanLon / s <= Math.max(2, Math.min(8, W / 80))) || 20;
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    for (let lon = Math.ceil(lonAt(0) / step) * step; lon < lonAt(W); lon += step) {
      const x = px(lon);
      svg.append(el("line", { class: "grid", x1: x, x2: x, y1: 0, y2: H }), el("text", { class: "gridlabel", x: x + 2, y: H - 4 }, lon.toFixed(digits) + "°"));
    }
    for (let lat = Math.ceil(latAt(H) / step) * step; lat < latAt(0); lat += step) {
      const y = py(lat);
      svg.append(el("line", { class: "grid", x1: 0, x2: W, y1: y, y2: y }), el("text", { class: "gridlabel", x: 2, y: y - 2 }, lat.toFixed(digits) + "°"));
    }
  }
  for (const i of incs) {
    const lvl = levelOf(i);
    const g = el("g", { class: "i" + (S.selected === i.id ? " sel" : ""), "data-id": i.id });
    g.append(el("circle", { cx: px(i.lon), cy: py(i.lat), r: 9, fill: LEVEL_COLOURS[lvl] || "#ccc" }),
      el("text", { x: px(i.lon) + 12, y: py(i.lat) + 14 }, (i.number || i.id) + (lvl ? " " + lvl : "")),
      el("title", {}, `${i.number || i.id} ${i.category || ""} ${i.location_text || ""}`));
    g.addEventListener("click", () => select(i.id));
    svg.append(g);
  }
  for (const u of units) {
    const g = el("g", { class: "u", "data-id": u.id });
    g.append(el("rect", { x: px(u.lon) - 6, y: py(u.lat) - 6, width: 12, height: 12 }),
      el("text", { x: px(u.lon) + 9, y: py(u.lat) - 6 }, `${u.callsign || u.id} · ${stLabel(u.status)}`),
      el("title", {}, `${u.callsign || u.id} ${stLabel(u.status)} ${JY.ago(u.location_at)}`));
    svg.append(g);
  }
  const attribution = tiles && S.config.map_attribution ? h("div.attribution", { text: S.config.map_attribution }) : null;
  box.replaceChildren(...kids, svg, attribution || "");
}

onRender("map", renderMap);
