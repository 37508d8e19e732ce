/* Radio and transcripts: one block per channel (partial lines in place, finals kept), filed radio
 * transmissions with their recording, spoken status changes (undo / confirm) and incidents the scorer
 * suggested from a transmission (create / dismiss). The radio sub-system is optional (docs/radio.md).
 */
import { invalidate, onRender } from "./render.js";
import { S, addTimeline, pick, stLabel, unitName } from "./state.js";

const { h, t, $ } = JY;

export function putTranscript(ev) {
  const tr = pick(ev, "transcript");
  // Interview-room speech is confidential to the interview record; it does not belong on the console.
  if (tr.source === "interview") return;
  const ch = String(tr.channel || tr.channel_id || tr.source || "—");
  let c = S.channels.get(ch);
  if (!c) { c = { lines: [], partials: new Map() }; S.channels.set(ch, c); }
  const stream = String(tr.stream_id || tr.stream || tr.unit_id || "default");
  const isFinal = tr.final === true || tr.kind === "final" || tr.event === "final" || (tr.final === undefined && tr.kind !== "partial" && tr.event !== "partial" && !tr.partial);
  if (isFinal) {
    c.partials.delete(stream);
    c.lines.push({ at: tr.start_utc || tr.at || tr.created_at || new Date().toISOString(), who: tr.unit_callsign || (tr.unit_id ? unitName(tr.unit_id) : tr.speaker || ""), text: tr.text || "" });
    if (c.lines.length > 200) c.lines.splice(0, c.lines.length - 200);
  } else {
    c.partials.set(stream, { who: tr.unit_id ? unitName(tr.unit_id) : tr.speaker || "", text: tr.text || "" });
  }
  if (tr.incident_id) addTimeline(String(tr.incident_id), { at: tr.start_utc || new Date().toISOString(), kind: "transcript", data: { text: tr.text } });
}
/** A filed radio transmission (docs/radio.md): a final line on its channel, with the unit that keyed up. */
export function putTransmission(ev) {
  const tx = pick(ev, "transmission");
  if (!tx) return;
  const ch = String(tx.channel_id || tx.talkgroup || "radio");
  let c = S.channels.get(ch);
  if (!c) { c = { lines: [], partials: new Map() }; S.channels.set(ch, c); }
  // A transmission shed under load (busy) or that failed is shown as such; its late transcript
  // replaces the line when it comes.
  const text = tx.state === "dropped" ? t("console.radio.noSpeech")
    : tx.state === "busy" || tx.state === "catching_up" ? t("console.radio.busy")
      : tx.state === "failed" ? t("console.radio.failed", { why: tx.reason || "?" })
        : (tx.late ? t("console.radio.late") + " " : "") + (tx.text || "");
  const line = { id: tx.id, at: tx.start_utc, who: tx.unit_id ? unitName(tx.unit_id) : tx.unit_label || "",
    text, state: tx.state, audio: tx.recording_id ? tx.id : null };
  const i = c.lines.findIndex((l) => l.id === tx.id);
  if (i >= 0) { c.lines[i] = line; return; }
  c.lines.push(line);
  if (c.lines.length > 200) c.lines.splice(0, c.lines.length - 200);
}

async function radioAction(path, body, btn, okText) {
  btn.disabled = true;
  try {
    await JY.api("POST", path, body);
    JY.toast(okText, "ok");
  } catch (e) {
    JY.toast(JY.errorText(e), "error");
    btn.disabled = false;
  }
}

function renderSuggestions() {
  const box = $("#suggestions");
  const open = [...S.suggestions.values()].filter((x) => x.state === "suggested");
  if (!open.length) { box.replaceChildren(); return; }
  box.replaceChildren(h("h3", { text: t("console.sug.title") }), h("ul.plain.suggestions", null, open.map((x) =>
    h("li.suggestion", { dataset: { suggestion: x.id } },
      h("div.row", null, x.level ? h("span.badge.lvl-" + x.level, { text: x.level + (x.priority != null ? " · " + x.priority : "") }) : null,
        h("span", { text: JY.catLabel(x.category) }), h("span.hint", { text: `${t("console.radio.channel", { c: x.channel_id || "" })} · ${JY.clock(x.created_at)}` })),
      h("div.text", { text: x.text || "" }),
      h("div.row", null,
        h("button.primary", { type: "button", text: t("console.sug.accept"),
          onclick: (ev) => radioAction(`/api/radio/suggestions/${encodeURIComponent(x.id)}/accept`, {}, ev.currentTarget, t("console.sug.accepted")) }),
        h("button", { type: "button", text: t("console.sug.dismiss"),
          onclick: (ev) => radioAction(`/api/radio/suggestions/${encodeURIComponent(x.id)}/dismiss`, { reason: "dismissed on the console" }, ev.currentTarget, t("console.sug.dismissed")) }))))));
}

function renderRadioStatus() {
  const box = $("#radio-status");
  const list = [...S.radioStatus.values()].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at))).slice(0, 8);
  if (!list.length) { box.replaceChildren(); return; }
  box.replaceChildren(h("h3", { text: t("console.rs.title") }), h("ul.plain.radio-status", null, list.map((u) =>
    h("li.row", { dataset: { update: u.id, state: u.state } },
      h("span.grow", null, h("strong", { text: u.callsign || unitName(u.unit_id) }), " ",
        `${stLabel(u.from || "")} → ${stLabel(u.to || "")} `, h("q", { text: u.evidence || u.phrase || "" }), " ",
        h("span.hint", { text: `${t("console.rs.fromRadio")} · ${t("console.rs." + u.state) === "console.rs." + u.state ? u.state : t("console.rs." + u.state)} · ${JY.clock(u.created_at)}` })),
      u.state === "applied" ? h("button", { type: "button", text: t("console.rs.undo"),
        onclick: (ev) => radioAction(`/api/radio/status-updates/${encodeURIComponent(u.id)}/undo`, {}, ev.currentTarget, t("console.rs.undone")) }) : null,
      u.state === "unconfirmed" ? h("button.primary", { type: "button", text: t("console.rs.confirm"),
        onclick: (ev) => radioAction(`/api/radio/status-updates/${encodeURIComponent(u.id)}/confirm`, {}, ev.currentTarget, t("console.rs.applied")) }) : null))));
}

export async function loadRadio() {
  // The radio sub-system is optional: without it (404) the panel shows transcripts only.
  try {
    const [sug, st] = await Promise.all([JY.api("GET", "/api/radio/suggestions?state=suggested"), JY.api("GET", "/api/radio/status-updates?limit=20")]);
    for (const x of sug.suggestions || []) S.suggestions.set(String(x.id), x);
    for (const u of st.status_updates || st.updates || []) S.radioStatus.set(String(u.id), u);
    invalidate("radio");
  } catch (e) {
    if (e.status !== 404) console.warn("radio lists unavailable", e);
  }
}

function renderRadio() {
  renderSuggestions();
  renderRadioStatus();
  const box = $("#channels");
  if (!S.channels.size) { box.replaceChildren(h("p.empty", { text: t("console.radio.none") })); return; }
  const atBottom = box.parentElement.scrollHeight - box.parentElement.scrollTop - box.parentElement.clientHeight < 30;
  box.replaceChildren(...[...S.channels.entries()].map(([ch, c]) => h("div.channel", { dataset: { channel: ch } },
    h("h3", { text: t("console.radio.channel", { c: ch }) }),
    h("ul.tlines", { "aria-live": "polite" },
      c.lines.slice(-40).map((l) => h("li.final", null, h("time", { text: JY.clock(l.at) }), l.who ? h("span.who", { text: l.who }) : null, l.text,
        l.audio ? [" ", h("button.play", { type: "button", "aria-label": t("console.radio.play"), text: "▶", onclick: (ev) => JY.playAudio(`/api/radio/transmissions/${encodeURIComponent(l.audio)}/audio`, ev.currentTarget) })] : null)),
      [...c.partials.values()].map((p) => h("li.partial", null, h("time", { text: "…" }), p.who ? h("span.who", { text: p.who }) : null, p.text))))));
  if (atBottom) box.parentElement.scrollTop = box.parentElement.scrollHeight;
}

onRender("radio", renderRadio);
