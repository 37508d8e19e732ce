/* Interview room: capture the microphone in the browser (AudioWorklet -> 16 kHz PCM s16le), stream it
 * over /ws/transcribe, show the live transcript with the current speaker's role on each line, let the
 * interviewer switch speaker, edit lines (kept with who and when), finish, sign and download.
 * The record lives in a RecordStore (interview-record.js); today the browser, later the server API. */
(function () {
  "use strict";
  const { h, t, $ } = JY;
  const R = JY.interviewRecord;

  JY.i18n({
    zh: {
      "iv.title": "询问室", "iv.setup": "开始询问", "iv.case": "案件编号", "iv.participants": "参与人",
      "iv.addPerson": "添加参与人", "iv.name": "姓名", "iv.role": "身份", "iv.remove": "移除",
      "iv.language": "所说语言", "iv.lang.auto": "自动识别", "iv.start": "开始询问",
      "iv.err.case": "请填写案件编号。", "iv.err.people": "每位参与人都需要填写姓名，且至少有一名询问人和一名被询问人。",
      "iv.session": "询问", "iv.record": "开始录音", "iv.stop": "停止录音", "iv.speaker": "当前发言人：",
      "iv.speaker.keys": "按数字键 1–9 切换发言人。",
      "iv.finish": "结束并签名", "iv.signer": "签名人", "iv.confirm": "我已阅读笔录，内容属实。", "iv.sign": "结束并签名",
      "iv.err.signer": "请填写签名人并勾选确认。", "iv.signed": "已于 {at} 由 {by} 签名。SHA-256：{hash}",
      "iv.dl.txt": "下载笔录（.txt）", "iv.dl.json": "下载笔录（.json）", "iv.new": "新的询问",
      "iv.localNote": "在询问笔录服务器可用之前，笔录保存在本浏览器中。",
      "iv.role.interviewer": "询问人", "iv.role.interviewee": "被询问人", "iv.role.interpreter": "翻译",
      "iv.role.witness": "证人", "iv.role.victim": "被害人", "iv.role.lawyer": "律师", "iv.role.guardian": "监护人",
      "iv.role.recorder": "记录人", "iv.role.suspect": "嫌疑人", "iv.role.complainant": "报案人", "iv.role.other": "其他",
      "iv.store.server": "笔录保存在服务器上（询问笔录服务），签名后锁定。", "iv.store.browser": "询问笔录服务不可用：笔录暂存在本浏览器中。",
      "iv.dl.docx": "下载笔录（.docx）", "iv.verify": "校验笔录", "iv.verify.ok": "校验通过：内容与签名时一致。",
      "iv.verify.bad": "校验失败：笔录在签名后被改动！", "iv.saving": "保存中…", "iv.typed": "手动输入一行", "iv.typed.ph": "手动输入（当前发言人）…", "iv.typed.add": "添加", "iv.audio.kept": "录音已保存 {s} 秒（随笔录签名）", "iv.audio.failed": "录音未能保存：{msg}", "iv.notSaved": "未能保存：{msg}",
      "iv.gap": "〔未能转写 {a}–{b} 秒：{why}；录音已保存〕", "iv.gap.rerun": "重新转写", "iv.gap.none": "重新转写仍未听到语音，此处保留为空白。", "iv.gap.told": "有一段语音未能转写，已在笔录中标出，可重新转写。",
      "iv.edit": "修改", "iv.save": "保存", "iv.cancel": "取消", "iv.edited": "已修改 {n} 次，最后由 {by} 于 {at}",
      "iv.history": "修改记录", "iv.was": "原为：",
      "iv.rec.idle": "未录音", "iv.rec.on": "录音中", "iv.rec.stopping": "正在结束…", "iv.rec.signed": "已签名",
      "iv.mic.asking": "正在请求麦克风权限…", "iv.mic.denied": "无法使用麦克风：{msg}。请在浏览器中允许麦克风后重试。",
      "iv.mic.on": "麦克风已开启（{rate} Hz → 16000 Hz）", "iv.mic.off": "麦克风已关闭",
      "iv.server.error": "转写服务错误：{msg}", "iv.lag": "转写滞后约 {s} 秒，文字稍后出现。", "iv.conn.idle": "转写未开启", "iv.server.down": "无法连接转写服务，正在重试（{why}）。录音已缓存。", "iv.server.ready": "转写已就绪", "iv.buffering": "连接中断，已缓存 {s} 秒音频，恢复后补发。",
      "iv.dropped": "连接中断过久，有 {s} 秒音频未能转写。",
      "iv.empty": "开始录音后，转写内容会显示在这里。", "iv.saved": "本浏览器中的笔录", "iv.open": "打开",
      "iv.locked": "笔录已签名，不能再修改。",
    },
    en: {
      "iv.title": "Interview room", "iv.setup": "Start an interview", "iv.case": "Case number", "iv.participants": "Participants",
      "iv.addPerson": "Add participant", "iv.name": "Name", "iv.role": "Role", "iv.remove": "Remove",
      "iv.language": "Spoken language", "iv.lang.auto": "Detect automatically", "iv.start": "Start interview",
      "iv.err.case": "Enter the case number.", "iv.err.people": "Every participant needs a name, and there must be at least one officer and one interviewee.",
      "iv.session": "Interview", "iv.record": "Start recording", "iv.stop": "Stop recording", "iv.speaker": "Speaking now:",
      "iv.speaker.keys": "Keys 1–9 switch the speaker.",
      "iv.finish": "Finish and sign", "iv.signer": "Signed by", "iv.confirm": "I have read the record and it is correct.", "iv.sign": "Finish and sign",
      "iv.err.signer": "Enter who signs and tick the confirmation.", "iv.signed": "Signed by {by} at {at}. SHA-256: {hash}",
      "iv.dl.txt": "Download record (.txt)", "iv.dl.json": "Download record (.json)", "iv.new": "New interview",
      "iv.localNote": "The record is kept in this browser until the interview-record server is available.",
      "iv.role.interviewer": "Officer", "iv.role.interviewee": "Interviewee", "iv.role.interpreter": "Interpreter",
      "iv.role.witness": "Witness", "iv.role.victim": "Victim", "iv.role.lawyer": "Lawyer", "iv.role.guardian": "Guardian",
      "iv.role.recorder": "Recorder", "iv.role.suspect": "Suspect", "iv.role.complainant": "Complainant", "iv.role.other": "Other",
      "iv.store.server": "The record is kept on the server (interview-record service) and locked when signed.",
      "iv.store.browser": "The interview-record service is not available: the record is kept in this browser for now.",
      "iv.dl.docx": "Download record (.docx)", "iv.verify": "Verify record", "iv.verify.ok": "Verified: the record is as it was signed.",
      "iv.verify.bad": "Verification FAILED: the record changed after signing!", "iv.saving": "saving…", "iv.typed": "Type a line", "iv.typed.ph": "Type a line for the current speaker…", "iv.typed.add": "Add line", "iv.audio.kept": "Audio kept with the record: {s} s (covered by the signature)", "iv.audio.failed": "The audio could not be kept: {msg}", "iv.notSaved": "Not saved: {msg}",
      "iv.gap": "[Not transcribed {a}–{b} s: {why}; audio kept]", "iv.gap.rerun": "Re-run", "iv.gap.none": "The re-run heard no speech either; the gap stays marked.", "iv.gap.told": "Some speech could not be transcribed; it is marked in the record and can be re-run.",
      "iv.edit": "Edit", "iv.save": "Save", "iv.cancel": "Cancel", "iv.edited": "edited {n}×, last by {by} at {at}",
      "iv.history": "Edit history", "iv.was": "was: ",
      "iv.rec.idle": "not recording", "iv.rec.on": "recording", "iv.rec.stopping": "finishing…", "iv.rec.signed": "signed",
      "iv.mic.asking": "Asking for the microphone…", "iv.mic.denied": "Cannot use the microphone: {msg}. Allow it in the browser and try again.",
      "iv.mic.on": "Microphone on ({rate} Hz → 16000 Hz)", "iv.mic.off": "Microphone off",
      "iv.server.error": "Transcription error: {msg}", "iv.lag": "Transcription is about {s} s behind; the text will follow.", "iv.conn.idle": "Transcription off", "iv.server.down": "Cannot reach the transcription service; retrying ({why}). Audio is held meanwhile.", "iv.server.ready": "Transcription ready", "iv.buffering": "Connection lost; {s} s of audio held, sent when it is back.",
      "iv.dropped": "The connection was down too long; {s} s of audio could not be transcribed.",
      "iv.empty": "The transcript appears here once recording starts.", "iv.saved": "Records kept in this browser", "iv.open": "Open",
      "iv.locked": "The record is signed and cannot change.",
    },
  });

  // The roles of the interview-record API (voice/interview/model.py ROLES) that an interview room uses.
  const ROLES = ["interviewer", "interviewee", "interpreter", "witness", "victim", "lawyer", "guardian", "recorder"];
  const MAX_BUFFER_CHUNKS = 300; // 30 s of 100 ms chunks held while the socket is down
  let store = new R.LocalRecordStore(); // replaced by the server store when the API answers
  let storeReady = Promise.resolve();
  const S = {
    rec: null, speaker: 0, sock: null, ready: false, recording: false, stopping: false,
    audio: null, buffer: [], dropped: 0, partial: "", uttSpeaker: null, editing: null, recStart: 0, pending: [],
    kept: [], keptSamples: 0, keptFrom: 0, uploads: Promise.resolve(), uploaded: 0, uploadTimer: 0,
  };
  const roleLabel = (r) => t("iv.role." + r);

  // ---------------------------------------------------------------- setup form
  function personRow(p, i) {
    const li = h("li", { dataset: { i } },
      h("div", null, h("label", { for: "pname-" + i, text: t("iv.name") }), h("input", { id: "pname-" + i, value: p.name || "", autocomplete: "off" })),
      h("div", null, h("label", { for: "prole-" + i, text: t("iv.role") }),
        h("select", { id: "prole-" + i }, ROLES.map((r) => h("option", { value: r, selected: r === p.role || null, text: roleLabel(r) })))),
      h("button", { type: "button", text: t("iv.remove"), "aria-label": t("iv.remove") + " " + (i + 1), onclick: () => { li.remove(); } }));
    return li;
  }
  function readPeople() {
    return [...document.querySelectorAll("#people li")].map((li) => ({
      name: li.querySelector("input").value.trim(), role: li.querySelector("select").value,
    }));
  }

  async function renderSaved() {
    const box = $("#saved");
    let list = [];
    try { list = await store.list(); } catch (e) { box.replaceChildren(h("p.error-text", { text: JY.errorText(e) })); return; }
    if (!list.length) { box.replaceChildren(); return; }
    box.replaceChildren(h("h3", { text: t("iv.saved") }), h("ul.plain", null, list.slice(0, 10).map((r) => h("li.row", null,
      h("span.grow", { text: `${r.case_number} · ${JY.dateTime(r.started_at)} · ${r.lines.length} · ${r.signed ? t("iv.rec.signed") : ""}` }),
      h("button", { type: "button", text: t("iv.open"), onclick: async () => {
        try { openRecord((await store.load(r.id)) || r); } catch (e) { JY.toast(JY.errorText(e), "error"); }
      } })))));
  }

  async function startInterview(ev) {
    ev.preventDefault();
    const cn = $("#case").value.trim();
    const people = readPeople();
    let ok = true;
    $("#case-err").textContent = cn ? "" : t("iv.err.case");
    $("#case").setAttribute("aria-invalid", String(!cn));
    if (!cn) { ok = false; $("#case").focus(); }
    const peopleOk = people.length && people.every((p) => p.name) && people.some((p) => p.role === "interviewer") && people.some((p) => p.role === "interviewee");
    $("#people-err").textContent = peopleOk ? "" : t("iv.err.people");
    if (!peopleOk && ok) { ok = false; const empty = [...document.querySelectorAll("#people input")].find((i) => !i.value.trim()); (empty || $("#add-person")).focus(); }
    if (!ok || !peopleOk) return;
    await storeReady;
    let rec;
    try {
      rec = await store.create({ case_number: cn, participants: people, language: $("#lang").value, created_by: JY.who.subject });
    } catch (e) {
      $("#people-err").textContent = JY.errorText(e);
      return;
    }
    openRecord(rec);
  }

  function openRecord(rec) {
    S.rec = rec;
    S.speaker = Math.max(0, rec.participants.findIndex((p) => p.role === "interviewee"));
    $("#setup").hidden = true;
    $("#session").hidden = false;
    $("#case-label").textContent = rec.case_number;
    $("#signer").value = store.storage === "server" ? JY.who.subject : $("#signer").value || JY.who.subject;
    S.pending = [];
    S.kept = []; S.keptSamples = 0; S.uploaded = 0;
    $("#audio-state").textContent = "";
    renderSpeakers();
    renderLines();
    renderState();
    $("#rec").focus();
  }

  // ---------------------------------------------------------------- speakers
  function renderSpeakers() {
    const box = $("#speakers");
    box.replaceChildren(...S.rec.participants.map((p, i) => h("button", {
      type: "button", role: "radio", "aria-checked": String(i === S.speaker), tabindex: i === S.speaker ? "0" : "-1",
      dataset: { role: p.role, i }, text: `${i + 1} · ${roleLabel(p.role)} ${p.name}`,
      onclick: () => setSpeaker(i),
    })));
  }
  function setSpeaker(i) {
    if (!S.rec || i < 0 || i >= S.rec.participants.length) return;
    S.speaker = i;
    renderSpeakers();
    const btn = document.querySelector(`#speakers [data-i="${i}"]`);
    if (btn && document.activeElement && document.activeElement.closest("#speakers")) btn.focus();
    renderPartial();
  }

  // ---------------------------------------------------------------- transcript
  function renderLines() {
    const ol = $("#transcript");
    const rec = S.rec;
    if (!rec.lines.length && !S.pending.length) { ol.replaceChildren(h("li.empty", { text: t("iv.empty") })); return; }
    const pendingItems = S.pending.map((p) => h("li.pending" + (p.error ? ".unsaved" : ""), { dataset: { role: p.role } },
      h("time", { text: JY.clock(p.at) }), h("span.role.role-" + p.role, { text: roleLabel(p.role) + (p.speaker ? " " + p.speaker : "") }),
      h("span.txt", { text: p.text }), h("span.hint", { text: p.error ? t("iv.notSaved", { msg: p.error }) : t("iv.saving") })));
    ol.replaceChildren(...rec.lines.map((l) => {
      const editing = S.editing === l.id;
      const last = l.edits && l.edits.length ? l.edits[l.edits.length - 1] : null;
      let body;
      if (editing) {
        const ta = h("textarea", { id: "edit-" + l.id, rows: 2, "aria-label": t("iv.edit") }, l.text);
        const sel = h("select", { id: "edit-role-" + l.id, "aria-label": t("iv.role") },
          rec.participants.map((p, i) => h("option", { value: i, selected: p.role === l.role && p.name === l.speaker || null, text: `${roleLabel(p.role)} ${p.name}` })));
        body = h("div", null, ta, h("div.row", null, sel,
          h("button.primary", { type: "button", text: t("iv.save"), onclick: () => saveEdit(l.id, ta.value, Number(sel.value)) }),
          h("button", { type: "button", text: t("iv.cancel"), onclick: () => { S.editing = null; renderLines(); } })));
        ta.addEventListener("keydown", (e) => { if (e.key === "Escape") { S.editing = null; renderLines(); } if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) saveEdit(l.id, ta.value, Number(sel.value)); });
      } else {
        body = h("div", null, h("span.txt", { text: l.text }),
          last ? h("details.edited", null, h("summary", { text: t("iv.edited", { n: l.edits.length, by: last.by, at: JY.clock(last.at) }) }),
            h("ul", null, l.edits.map((e) => h("li", { text: `${JY.dateTime(e.at)} · ${e.by} · ${t("iv.was")}${e.before.text}` })))) : null);
      }
      const rerun = l.source === "gap" && !rec.signed && !editing
        ? h("button.gap-rerun", { type: "button", dataset: { rerun: l.id }, text: t("iv.gap.rerun"), onclick: () => rerunGap(l.id) }) : null;
      return h("li" + (l.source === "gap" ? ".gap" : ""), { dataset: { line: l.id, role: l.role } },
        h("time", { text: JY.clock(l.at) }),
        h("span.role.role-" + l.role, { text: roleLabel(l.role) + (l.speaker ? " " + l.speaker : "") }),
        body, rerun,
        !rec.signed && !editing ? h("button", { type: "button", dataset: { edit: l.id }, text: t("iv.edit"), "aria-label": t("iv.edit") + ": " + l.text.slice(0, 40),
          onclick: () => { S.editing = l.id; renderLines(); const ta = document.getElementById("edit-" + l.id); if (ta) ta.focus(); } }) : h("span"));
    }), ...pendingItems);
  }
  async function rerunGap(id) {
    try {
      const r = await store.rerunGap(S.rec, id, JY.who.subject);
      if (!r.heard) JY.toast(t("iv.gap.none"), "info");
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
    }
    renderLines();
  }
  async function saveEdit(id, text, who) {
    const p = S.rec.participants[who] || {};
    try {
      await store.editLine(S.rec, id, { text: text.trim(), role: p.role, speaker: p.name }, JY.who.subject);
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
    }
    S.editing = null;
    renderLines();
    const b = document.querySelector(`[data-edit="${CSS.escape(id)}"]`);
    if (b) b.focus();
  }
  function renderPartial() {
    const p = S.rec && S.rec.participants[S.uttSpeaker ?? S.speaker];
    $("#partial").textContent = S.partial ? `${p ? roleLabel(p.role) : ""}: ${S.partial}…` : "";
  }

  function renderState() {
    const st = S.rec && S.rec.signed ? "signed" : S.stopping ? "stopping" : S.recording ? "on" : "idle";
    const b = $("#rec-state");
    b.textContent = t("iv.rec." + st);
    b.className = "badge " + (st === "on" ? "lvl-P1" : st === "signed" ? "st-available" : "");
    const locked = !!(S.rec && S.rec.signed);
    $("#rec").disabled = S.recording || S.stopping || locked;
    $("#stop").disabled = !S.recording || S.stopping;
    $("#sign").disabled = S.recording || S.stopping || locked;
    $("#signer").disabled = locked;
    const server = store.storage === "server";
    $("#signer").readOnly = server; // the server signs as the signed-in user
    $("#dl-docx").hidden = !server;
    $("#verify").hidden = !(server && locked);
    $("#store-note").textContent = t(server ? "iv.store.server" : "iv.store.browser");
    $("#sign-confirm").disabled = locked;
    $("#typed-form").hidden = locked;
    const signed = $("#signed");
    signed.hidden = !locked;
    if (locked) signed.textContent = t("iv.signed", { by: S.rec.signed.by, at: JY.dateTime(S.rec.signed.at), hash: S.rec.signed.sha256 });
  }

  // ---------------------------------------------------------------- transcription socket
  function config() {
    // Only the fields /ws/transcribe accepts (docs/voice.md); the channel names the case.
    return {
      type: "config", sample_rate: 16000, encoding: "pcm_s16le", language: S.rec.language || "auto",
      source: "interview", channel: ("interview:" + S.rec.case_number).slice(0, 200), partials: true,
    };
  }

  function onServer(m) {
    if (!m || typeof m !== "object") return;
    switch (m.type) {
      case "ready": {
        S.ready = true;
        $("#iv-error").textContent = m.language_note || m.warning || m.note || "";
        $("#mic-state").textContent = t("iv.mic.on", { rate: S.audio ? S.audio.ctx.sampleRate : 16000 }) + " · " + (m.model || "");
        // Audio held while the socket was down goes out first, in order.
        const held = S.buffer.splice(0);
        for (const b of held) S.sock.send(b);
        if (held.length) JY.toast(t("iv.server.ready"), "ok", 2000);
        if (S.stopping) S.sock.send({ type: "end" });
        break;
      }
      case "partial":
        if (S.uttSpeaker === null) S.uttSpeaker = S.speaker;
        S.partial = m.text || "";
        renderPartial();
        break;
      case "final": {
        const text = (m.text || "").trim();
        const who = S.rec.participants[S.uttSpeaker ?? S.speaker] || {};
        S.uttSpeaker = null;
        S.partial = "";
        $("#iv-lag").textContent = "";
        renderPartial();
        if (!text) break;
        const at = m.start_utc || m.start_time_utc || (m.start != null && S.recStart ? new Date(S.recStart + m.start * 1000).toISOString() : new Date().toISOString());
        // Shown at once as "saving…"; the server binds the stored ASR segment (stream_id + utterance).
        const pending = { key: JY.uid("p"), at, role: who.role, speaker: who.name, text };
        S.pending.push(pending);
        renderLines();
        store.addLine(S.rec, { at, role: who.role, speaker: who.name, text, start: m.start, end: m.end, language: m.language,
          confidence: m.confidence, stream_id: m.stream_id, utterance: m.utterance })
          .then(() => { S.pending = S.pending.filter((p) => p !== pending); renderLines(); },
            (e) => { pending.error = JY.errorText(e); renderLines(); JY.toast(t("iv.notSaved", { msg: JY.errorText(e) }), "error"); });
        break;
      }
      case "error":
        if (m.code === "utterance_failed" && m.gap_id) {
          // Speech that could not be transcribed: a visible gap line in the record, re-runnable.
          const who = S.rec.participants[S.uttSpeaker ?? S.speaker] || {};
          S.uttSpeaker = null;
          S.partial = "";
          renderPartial();
          const at = m.start != null && S.recStart ? new Date(S.recStart + m.start * 1000).toISOString() : new Date().toISOString();
          const text = t("iv.gap", { a: Number(m.start || 0).toFixed(1), b: Number(m.end || 0).toFixed(1), why: m.reason || "?" });
          const pending = { key: JY.uid("p"), at, role: who.role, speaker: who.name, text };
          S.pending.push(pending);
          renderLines();
          JY.toast(t("iv.gap.told"), "error");
          store.addLine(S.rec, { at, role: who.role, speaker: who.name, text, start: m.start, end: m.end, source: "gap",
            gap_id: m.gap_id, stream_id: m.stream_id, utterance: m.utterance })
            .then(() => { S.pending = S.pending.filter((p) => p !== pending); renderLines(); },
              (e) => { pending.error = JY.errorText(e); renderLines(); });
          break;
        }
        $("#iv-error").textContent = t("iv.server.error", { msg: (m.error && m.error.message) || m.message || m.code || "?" });
        break;
      case "dropped":
        // The VAD heard something that was not speech: no words are invented; the partial goes.
        S.uttSpeaker = null;
        S.partial = "";
        renderPartial();
        break;
      case "lag":
        // Not an error: decoding is behind; the text will still come.
        $("#iv-lag").textContent = t("iv.lag", { s: Number(m.backlog_seconds || 0).toFixed(1) });
        break;
      case "busy":
        $("#iv-error").textContent = t("iv.server.error", { msg: m.message || "busy" });
        break;
      case "closed":
        S.ready = false;
        if (S.stopping) finishStop();
        break;
      default:
        break;
    }
  }

  /** The socket keeps failing: say why if the server can tell (e.g. no speech model loaded). */
  async function explainOutage() {
    let why = "";
    try {
      const r = await fetch("/readyz");
      const body = await r.json();
      const bad = Object.entries(body.components || {}).filter(([, c]) => c.status !== "ready");
      why = bad.map(([k, c]) => `${k}: ${c.detail || "not ready"}`).join("; ");
    } catch (e) { why = e.message; }
    $("#iv-error").textContent = t("iv.server.down", { why: why || "?" });
  }

  function sendPcm(buf) {
    if (S.sock && S.sock.isOpen && S.ready) { S.sock.send(buf); return; }
    S.buffer.push(buf);
    if (S.buffer.length > MAX_BUFFER_CHUNKS) { S.buffer.shift(); S.dropped += 0.1; }
    if (S.buffer.length % 10 === 0) $("#iv-error").textContent = t("iv.buffering", { s: (S.buffer.length / 10).toFixed(0) });
  }

  async function startRecording() {
    const err = $("#iv-error");
    err.textContent = "";
    $("#mic-state").textContent = t("iv.mic.asking");
    let stream, ctx;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    } catch (e) {
      $("#mic-state").textContent = "";
      err.textContent = t("iv.mic.denied", { msg: e.message || e.name });
      return;
    }
    try {
      try { ctx = new AudioContext({ sampleRate: 16000 }); } catch (e) { ctx = new AudioContext(); }
      await ctx.audioWorklet.addModule("/static/pcm-worklet.js");
      const src = ctx.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(ctx, "pcm-worklet", { processorOptions: { targetRate: 16000 } });
      const mute = ctx.createGain();
      mute.gain.value = 0;
      src.connect(node).connect(mute).connect(ctx.destination);
      node.port.onmessage = (e) => {
        $("#level").value = e.data.level;
        if (!S.recording) return;
        sendPcm(e.data.pcm);
        keepAudio(e.data.pcm);
      };
      await ctx.resume();
      S.audio = { stream, ctx, node };
      $("#mic-state").textContent = t("iv.mic.on", { rate: ctx.sampleRate });
    } catch (e) {
      stream.getTracks().forEach((tr) => tr.stop());
      if (ctx) ctx.close();
      $("#mic-state").textContent = "";
      err.textContent = t("iv.mic.denied", { msg: e.message || String(e) });
      return;
    }
    S.recording = true;
    S.stopping = false;
    S.ready = false;
    S.recStart = Date.now();
    S.sock = new JY.Socket("/ws/transcribe", {
      pill: $("#conn"),
      onOpen: () => { S.ready = false; S.sock.send(config()); },
      onClose: () => {
        S.ready = false;
        if (S.stopping) { finishStop(); return; }
        if (S.sock && S.sock.failures >= 1) explainOutage();
      },
      onMessage: onServer,
    });
    S.sock.start();
    clearInterval(S.uploadTimer);
    S.uploadTimer = setInterval(uploadAudio, UPLOAD_EVERY_MS);
    renderState();
    $("#stop").focus();
  }

  function stopRecording() {
    if (!S.recording) return;
    S.recording = false;
    S.stopping = true;
    renderState();
    stopMic();
    clearInterval(S.uploadTimer);
    uploadAudio();
    if (S.sock && S.sock.isOpen && S.ready) S.sock.send({ type: "end" });
    else if (!S.sock || !S.sock.isOpen) { finishStop(); return; }
    // The server answers "closed" after its last final; do not wait for ever.
    S.stopTimer = setTimeout(finishStop, 20000);
  }
  // ---------------------------------------------------------------- the interview's audio
  // On the server store the audio itself is kept with the record (Opus, hashed into the signature):
  // uploaded as WAV every few minutes and at stop, so no request grows past the body limit.
  const UPLOAD_EVERY_MS = 4 * 60 * 1000;
  function keepAudio(buf) {
    if (store.storage !== "server") return;
    if (!S.kept.length) S.keptFrom = (Date.now() - S.recStart) / 1000;
    S.kept.push(buf);
    S.keptSamples += buf.byteLength / 2;
  }
  function wavBlob(chunks, samples) {
    const header = new DataView(new ArrayBuffer(44));
    const str = (o, t) => { for (let i = 0; i < t.length; i++) header.setUint8(o + i, t.charCodeAt(i)); };
    str(0, "RIFF"); header.setUint32(4, 36 + samples * 2, true); str(8, "WAVE"); str(12, "fmt ");
    header.setUint32(16, 16, true); header.setUint16(20, 1, true); header.setUint16(22, 1, true);
    header.setUint32(24, 16000, true); header.setUint32(28, 32000, true); header.setUint16(32, 2, true);
    header.setUint16(34, 16, true); str(36, "data"); header.setUint32(40, samples * 2, true);
    return new Blob([header.buffer, ...chunks], { type: "audio/wav" });
  }
  function uploadAudio() {
    if (!S.kept.length || !S.rec || store.storage !== "server") return S.uploads;
    const chunks = S.kept.splice(0);
    const samples = S.keptSamples;
    S.keptSamples = 0;
    const rec = S.rec;
    const send = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await JY.api("POST", `/api/interviews/${encodeURIComponent(rec.id)}/audio`, wavBlob(chunks, samples));
          S.uploaded += samples / 16000;
          $("#audio-state").textContent = t("iv.audio.kept", { s: Math.round(S.uploaded) });
          return;
        } catch (e) {
          // Network trouble: retry a few times; a refusal (4xx) is reported at once.
          if (attempt >= 3 || (e.status && e.status < 500)) {
            JY.toast(t("iv.audio.failed", { msg: JY.errorText(e) }), "error");
            return;
          }
          await new Promise((r) => setTimeout(r, 2000 * attempt));
        }
      }
    };
    S.uploads = S.uploads.then(send);
    return S.uploads;
  }

  function stopMic() {
    if (!S.audio) return;
    S.audio.stream.getTracks().forEach((tr) => tr.stop());
    S.audio.ctx.close();
    S.audio = null;
    $("#level").value = 0;
    $("#mic-state").textContent = t("iv.mic.off");
  }
  function finishStop() {
    clearTimeout(S.stopTimer);
    if (S.sock) S.sock.stop();
    S.sock = null;
    S.stopping = false;
    S.buffer = [];
    S.partial = "";
    $("#iv-lag").textContent = "";
    renderPartial();
    idlePill();
    if (S.dropped > 0) JY.toast(t("iv.dropped", { s: S.dropped.toFixed(0) }), "error");
    S.dropped = 0;
    renderState();
    $("#sign-confirm").focus();
  }

  /** A line typed by the interviewer (what the microphone missed, a gesture, a document shown). */
  async function addTyped(ev) {
    ev.preventDefault();
    const input = $("#typed");
    const text = input.value.trim();
    if (!text || !S.rec || S.rec.signed) return;
    const who = S.rec.participants[S.speaker] || {};
    const btn = $("#typed-add");
    btn.disabled = true;
    try {
      await store.addLine(S.rec, { at: new Date().toISOString(), role: who.role, speaker: who.name, text, source: "typed" });
      input.value = "";
      renderLines();
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
    } finally {
      btn.disabled = false;
      input.focus();
    }
  }

  // ---------------------------------------------------------------- finish, sign, download
  async function sign(ev) {
    ev.preventDefault();
    const by = $("#signer").value.trim();
    const ok = by && $("#sign-confirm").checked;
    $("#sign-err").textContent = ok ? "" : t("iv.err.signer");
    if (!ok) { (by ? $("#sign-confirm") : $("#signer")).focus(); return; }
    try {
      await S.uploads; // the audio is part of what is signed
      await store.sign(S.rec, by);
    } catch (e) {
      $("#sign-err").textContent = JY.errorText(e);
      return;
    }
    renderState();
    renderLines();
    $("#dl-txt").focus();
  }

  /** The server's export when the record is on the server; otherwise built here. */
  async function exportAs(fmt) {
    try {
      if (store.export) {
        const { blob, name } = await store.export(S.rec, fmt);
        download(name, blob.type, blob);
      } else if (fmt === "txt") download(fileBase() + ".txt", "text/plain;charset=utf-8", R.toText(S.rec, roleLabel));
      else download(fileBase() + ".json", "application/json", JSON.stringify(S.rec, null, 2));
    } catch (e) {
      JY.toast(JY.errorText(e), "error");
    }
  }

  async function verifyRecord() {
    const out = $("#verify-result");
    out.textContent = "";
    try {
      const r = await store.verify(S.rec);
      out.className = r.valid ? "ok-text" : "error-text";
      out.textContent = t(r.valid ? "iv.verify.ok" : "iv.verify.bad") + " SHA-256: " + ((r.record && r.record.actual_sha256) || "");
    } catch (e) {
      out.className = "error-text";
      out.textContent = JY.errorText(e);
    }
  }

  function download(name, type, data) {
    const a = h("a", { href: URL.createObjectURL(data instanceof Blob ? data : new Blob([data], { type })), download: name });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  const fileBase = () => `interview-${S.rec.case_number.replace(/[^\w.-]+/g, "_")}-${S.rec.started_at.slice(0, 10)}`;

  async function newInterview() {
    if (S.recording) stopRecording();
    S.rec = null;
    $("#session").hidden = true;
    $("#setup").hidden = false;
    $("#setup-form").reset();
    $("#sign-form").reset();
    resetPeople();
    renderSaved();
    $("#case").focus();
  }
  function resetPeople() {
    $("#people").replaceChildren(personRow({ name: JY.who ? JY.who.subject : "", role: "interviewer" }, 0), personRow({ name: "", role: "interviewee" }, 1));
  }

  function idlePill() {
    const pill = $("#conn");
    pill.dataset.state = "idle";
    pill.textContent = t("iv.conn.idle");
  }

  async function main() {
    JY.initPage();
    await JY.signIn({ mount: $("#signin-mount"), content: $("#content"), roles: ["interviewer", "admin"] });
    // Listeners first (a click while the store is being chosen must not submit the form natively);
    // starting an interview waits for the choice.
    storeReady = R.chooseStore().then((chosen) => { store = chosen; }, (e) => JY.toast(JY.errorText(e), "error"))
      .then(() => {
        $("#setup-store-note").textContent = t(store.storage === "server" ? "iv.store.server" : "iv.store.browser");
        renderSaved();
      });
    resetPeople();
    let next = 2;
    $("#add-person").addEventListener("click", () => { const li = personRow({ name: "", role: "interpreter" }, next++); $("#people").append(li); li.querySelector("input").focus(); });
    $("#setup-form").addEventListener("submit", startInterview);
    $("#rec").addEventListener("click", startRecording);
    $("#stop").addEventListener("click", stopRecording);
    $("#sign-form").addEventListener("submit", sign);
    $("#typed-form").addEventListener("submit", addTyped);
    $("#dl-txt").addEventListener("click", () => exportAs("txt"));
    $("#dl-json").addEventListener("click", () => exportAs("json"));
    $("#dl-docx").addEventListener("click", () => exportAs("docx"));
    $("#verify").addEventListener("click", verifyRecord);
    $("#new-iv").addEventListener("click", newInterview);
    $("#speakers").addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); setSpeaker((S.speaker + 1) % S.rec.participants.length); document.querySelector(`#speakers [data-i="${S.speaker}"]`).focus(); }
      if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); setSpeaker((S.speaker - 1 + S.rec.participants.length) % S.rec.participants.length); document.querySelector(`#speakers [data-i="${S.speaker}"]`).focus(); }
    });
    document.addEventListener("keydown", (e) => {
      if (!S.rec || $("#session").hidden || e.ctrlKey || e.metaKey || e.altKey) return;
      const tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select") return;
      if (/^[1-9]$/.test(e.key)) setSpeaker(Number(e.key) - 1);
    });
    window.addEventListener("beforeunload", (e) => { if (S.recording) { e.preventDefault(); e.returnValue = ""; } });
    JY.onLang(() => {
      if (S.rec) { renderSpeakers(); renderLines(); renderState(); renderPartial(); }
      renderSaved();
      // Participant rows keep what was typed; only their labels change.
      const people = readPeople();
      $("#people").replaceChildren(...people.map((p, i) => personRow(p, i)));
      $("#setup-store-note").textContent = t(store.storage === "server" ? "iv.store.server" : "iv.store.browser");
    });
    idlePill();
    JY.onLang(() => { if (!S.sock) idlePill(); });
    JY.interviewState = S;
  }
  main();
})();
