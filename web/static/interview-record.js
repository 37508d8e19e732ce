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
    constructor(prefix) { this.prefix = prefix || "jy.interview."; }
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

  JY.interviewRecord = { LocalRecordStore, LockedError, canonicalText, sha256Hex, toText };
})();
