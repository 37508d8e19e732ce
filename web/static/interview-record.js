/* Interview record: the data model and where it is kept.
 *
 * The page talks only to a RecordStore: create(meta) -> record, addLine(record, line),
 * editLine(record, lineId, {text, role}, by), sign(record, by), list(), load(id).
 * LocalRecordStore keeps records in this browser (localStorage) until the interview-record API
 * (issue 6: sessions, versions, sign-off, export) exists; a ServerRecordStore with the same
 * methods calling that API is then the only change the page needs.
 */
(function () {
  "use strict";
  const JY = window.JY;

  /** The text that the signature covers: one line per utterance, stable across browsers. */
  function canonicalText(rec) {
    const head = [`case: ${rec.case_number}`, `started: ${rec.started_at}`,
      ...rec.participants.map((p) => `participant: ${p.role} ${p.name}`)];
    const body = rec.lines.map((l) => `[${l.at}] ${l.role}${l.speaker ? " " + l.speaker : ""}: ${l.text}`);
    return head.concat(["---"], body).join("\n") + "\n";
  }

  async function sha256Hex(text) {
    if (!(window.crypto && crypto.subtle)) return "";
    const buf = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  class LockedError extends Error {}

  class LocalRecordStore {
    constructor(prefix) { this.prefix = prefix || "jy.interview."; this.storage = "browser"; }
    _key(id) { return this.prefix + id; }
    _put(rec) {
      rec.updated_at = new Date().toISOString();
      try { localStorage.setItem(this._key(rec.id), JSON.stringify(rec)); }
      catch (e) { throw new Error("cannot keep the record in this browser (storage full?): " + e.message); }
      return rec;
    }
    async create(meta) {
      const rec = {
        id: JY.uid("iv-"), case_number: meta.case_number, participants: meta.participants, language: meta.language,
        started_at: new Date().toISOString(), ended_at: null, created_by: meta.created_by || "", lines: [], signed: null,
        storage: "browser",
      };
      return this._put(rec);
    }
    async addLine(rec, line) {
      if (rec.signed) throw new LockedError("the record is signed; it cannot change");
      const l = Object.assign({ id: JY.uid("l-"), edits: [] }, line);
      rec.lines.push(l);
      this._put(rec);
      return l;
    }
    async editLine(rec, lineId, change, by) {
      if (rec.signed) throw new LockedError("the record is signed; it cannot change");
      const l = rec.lines.find((x) => x.id === lineId);
      if (!l) throw new Error("no such line: " + lineId);
      const before = { text: l.text, role: l.role, speaker: l.speaker };
      const after = Object.assign({}, before, change);
      if (after.text === before.text && after.role === before.role && after.speaker === before.speaker) return l;
      l.edits.push({ by, at: new Date().toISOString(), before, after });
      Object.assign(l, after);
      this._put(rec);
      return l;
    }
    /** A gap line (speech that could not be transcribed) decoded again from its kept audio. */
    async rerunGap(rec, lineId, by) {
      if (rec.signed) throw new LockedError("the record is signed; it cannot change");
      const l = rec.lines.find((x) => x.id === lineId);
      if (!l || l.source !== "gap" || !l.gap_id) throw new Error("no such gap line: " + lineId);
      const r = await JY.api("POST", `/api/transcripts/gaps/${encodeURIComponent(l.gap_id)}/retry`, {});
      if (!r.transcript) return { line: l, heard: false };
      l.edits.push({ by, at: new Date().toISOString(), before: { text: l.text, role: l.role, speaker: l.speaker },
        after: { text: r.transcript.text, role: l.role, speaker: l.speaker } });
      Object.assign(l, { text: r.transcript.text, source: "asr" });
      this._put(rec);
      return { line: l, heard: true };
    }
    async finish(rec) {
      if (!rec.ended_at) { rec.ended_at = new Date().toISOString(); this._put(rec); }
      return rec;
    }
    async sign(rec, by) {
      if (rec.signed) throw new LockedError("the record is already signed");
      await this.finish(rec);
      const text = canonicalText(rec);
      rec.signed = { by, at: new Date().toISOString(), sha256: await sha256Hex(text), algorithm: "sha256 over the record text" };
      this._put(rec);
      return rec;
    }
    async load(id) {
      const raw = localStorage.getItem(this._key(id));
      return raw ? JSON.parse(raw) : null;
    }
    async list() {
      const out = [];
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        if (k && k.startsWith(this.prefix)) { try { out.push(JSON.parse(localStorage.getItem(k))); } catch (e) { /* skip */ } }
      }
      return out.sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
    }
  }

  /**
   * The interview-record API (docs: /api/interviews, issue 6): the server keeps the session, every line
   * (ASR lines bound to the stored transcript by stream_id + utterance), every correction as a version,
   * the sign-off with its hashes, and the exports. Records here have the same shape as the local ones.
   */
  class ServerRecordStore {
    constructor() { this.storage = "server"; this.queue = Promise.resolve(); }

    /** Server JSON (session + lines + versions) -> the page's record shape. */
    _shape(session, versions) {
      const started = JY.parseTime(session.started_at);
      const byLine = new Map();
      for (const v of versions || []) {
        if (v.version <= 1) continue;
        const list = byLine.get(v.line_id) || [];
        list.push(v);
        byLine.set(v.line_id, list);
      }
      const sig = session.signature;
      return {
        id: session.id, case_number: session.case_number, participants: session.participants || [],
        language: session.language || "auto", started_at: session.started_at, ended_at: session.ended_at,
        created_by: session.created_by, state: session.state, storage: "server",
        signed: session.state === "signed" && sig ? { by: sig.signed_by || session.signed_by, at: sig.signed_at || session.signed_at,
          sha256: sig.record_sha256, text_sha256: sig.text_sha256 } : null,
        lines: (session.lines || []).map((l) => {
          // One edit per version number (a version can change text and speaker together).
          const grouped = new Map();
          for (const v of byLine.get(l.id) || []) {
            const e = grouped.get(v.version) || { by: v.by, at: v.at, before: {}, after: {}, reason: v.reason };
            const key = v.field === "speaker_role" ? "role" : v.field;
            e.before[key] = v.before;
            e.after[key] = v.after;
            grouped.set(v.version, e);
          }
          const edits = [...grouped.values()].map((e) => ({ ...e, before: { text: e.before.text ?? l.text, role: e.before.role ?? l.speaker_role } }));
          return {
            id: l.id, seq: l.seq, role: l.speaker_role, speaker: l.speaker, text: l.text, language: l.language,
            start: l.start, end: l.end, source: l.source, version: l.version, edits,
            at: started && l.start != null ? new Date(started.getTime() + l.start * 1000).toISOString() : l.created_at,
          };
        }),
      };
    }
    async load(id) {
      const [session, v] = await Promise.all([JY.api("GET", `/api/interviews/${encodeURIComponent(id)}`),
        JY.api("GET", `/api/interviews/${encodeURIComponent(id)}/versions`)]);
      return this._shape(session, v.versions);
    }
    async _refresh(rec) {
      Object.assign(rec, await this.load(rec.id));
      return rec;
    }
    async create(meta) {
      const body = { case_number: meta.case_number, participants: meta.participants };
      if (meta.language && meta.language !== "auto") body.language = meta.language;
      const session = await JY.api("POST", "/api/interviews", body);
      return this._shape(session, []);
    }
    /** Lines are added one at a time, in order, even when finals arrive quickly. */
    addLine(rec, line) {
      const run = async () => {
        if (rec.signed) throw new LockedError("the record is signed; it cannot change");
        const body = { speaker_role: line.role, speaker: line.speaker || null };
        if (line.gap_id) body.gap_id = line.gap_id;
        else if (line.stream_id && line.utterance != null) Object.assign(body, { stream_id: line.stream_id, utterance: line.utterance });
        else Object.assign(body, { text: line.text, source: "typed", language: line.language || undefined });
        const l = await JY.api("POST", `/api/interviews/${encodeURIComponent(rec.id)}/lines`, body);
        const started = JY.parseTime(rec.started_at);
        const shaped = { id: l.id, seq: l.seq, role: l.speaker_role, speaker: l.speaker, text: l.text, language: l.language,
          start: l.start, end: l.end, source: l.source, version: l.version, edits: [],
          at: line.at || (started && l.start != null ? new Date(started.getTime() + l.start * 1000).toISOString() : l.created_at) };
        if (!rec.lines.some((x) => x.id === shaped.id)) rec.lines.push(shaped);
        return shaped;
      };
      const p = this.queue.then(run, run);
      this.queue = p.catch(() => undefined);
      return p;
    }
    async editLine(rec, lineId, change, by) {
      await this.queue;
      const l = rec.lines.find((x) => x.id === lineId);
      if (!l) throw new Error("no such line: " + lineId);
      const body = { version: l.version };
      if (change.text !== undefined && change.text !== l.text) body.text = change.text;
      if (change.role !== undefined && change.role !== l.role) body.speaker_role = change.role;
      if (change.speaker !== undefined && (change.speaker || null) !== (l.speaker || null)) body.speaker = change.speaker || null;
      if (Object.keys(body).length === 1) return l;
      await JY.api("PATCH", `/api/interviews/${encodeURIComponent(rec.id)}/lines/${encodeURIComponent(lineId)}`, body);
      await this._refresh(rec);
      return rec.lines.find((x) => x.id === lineId);
    }
    /** A gap line decoded again from its kept audio on the server; it becomes an ASR line (a version). */
    async rerunGap(rec, lineId) {
      await this.queue;
      const r = await JY.api("POST", `/api/interviews/${encodeURIComponent(rec.id)}/lines/${encodeURIComponent(lineId)}/rerun`, {});
      await this._refresh(rec);
      return { line: rec.lines.find((x) => x.id === lineId), heard: !!r.line };
    }
    async finish(rec) {
      await this.queue;
      if (rec.state === "open") await JY.api("POST", `/api/interviews/${encodeURIComponent(rec.id)}/finish`, {});
      return this._refresh(rec);
    }
    async sign(rec) {
      await this.queue;
      await JY.api("POST", `/api/interviews/${encodeURIComponent(rec.id)}/sign`, {});
      return this._refresh(rec);
    }
    async verify(rec) {
      return JY.api("GET", `/api/interviews/${encodeURIComponent(rec.id)}/verify`);
    }
    async list() {
      const r = await JY.api("GET", "/api/interviews?limit=20");
      return (r.interviews || []).map((s) => this._shape(s, []));
    }
    /** The server's export (txt, json or docx) as a Blob, with its file name. */
    async export(rec, fmt) {
      const resp = await JY.api("GET", `/api/interviews/${encodeURIComponent(rec.id)}/export?format=${fmt}`, undefined, { raw: true });
      const disp = resp.headers.get("Content-Disposition") || "";
      const m = disp.match(/filename="([^"]+)"/);
      return { blob: await resp.blob(), name: m ? m[1] : `interview-${rec.case_number}.${fmt}` };
    }
  }

  /** The server store when the interview-record API answers, else this browser. */
  async function chooseStore() {
    try {
      await JY.api("GET", "/api/interviews?limit=1");
      return new ServerRecordStore();
    } catch (e) {
      if (e.status === 404) return new LocalRecordStore();
      throw e;
    }
  }

  /** Plain-text export: what a reader checks; carries the hash when signed. */
  function toText(rec, roleLabel) {
    const lines = [
      `Interview record / 询问笔录`,
      `Case / 案件编号: ${rec.case_number}`,
      `Started / 开始: ${rec.started_at}`, `Ended / 结束: ${rec.ended_at || ""}`,
      `Participants / 参与人:`, ...rec.participants.map((p) => `  - ${roleLabel(p.role)} (${p.role}): ${p.name}`),
      ``,
    ];
    for (const l of rec.lines) {
      lines.push(`[${l.at}] ${roleLabel(l.role)}${l.speaker ? " " + l.speaker : ""}: ${l.text}`);
      for (const e of l.edits || []) lines.push(`    (edited by ${e.by} at ${e.at}; before: "${e.before.text}"${e.before.role !== e.after.role ? `, role ${e.before.role}` : ""})`);
    }
    lines.push("");
    if (rec.signed) lines.push(`Signed by / 签名: ${rec.signed.by} at ${rec.signed.at}`, `SHA-256: ${rec.signed.sha256}`);
    else lines.push("NOT SIGNED / 未签名");
    return lines.join("\n") + "\n";
  }

  JY.interviewRecord = { LocalRecordStore, ServerRecordStore, chooseStore, LockedError, canonicalText, sha256Hex, toText };
})();
