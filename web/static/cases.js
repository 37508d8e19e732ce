/* Case files (案件管理中心) and the evidence bag (视频档案袋): /api/cases and /api/evidence.
 *
 * Board: every open file, where it is and since when, overdue first (GET /api/cases/board); a file's
 * page shows its content, versions (with the hash-chain check), hand-overs and evidence, and the steps
 * the signed-in role may take (propose, confirm, refuse, cancel, correct, close, reopen).
 * Evidence: register, upload the file (streamed by the browser, measured by the server) or record its
 * loss, download, export, and the chain of custody. Supervisors also get the per-officer counts.
 * Every refusal from the server is shown with its message and the field it names; nothing fails silently.
 */
(function () {
  "use strict";
  const { h, t, $ } = JY;

  JY.i18n({
    zh: {
      "cs.title": "案件管理与证据", "cs.tab.board": "流程监控", "cs.tab.evidence": "视频档案袋", "cs.tab.counts": "执法考评",
      "cs.board": "案卷位置", "cs.refresh": "刷新", "cs.open": "新建案卷", "cs.open.go": "建立案卷",
      "cs.number": "案号", "cs.incident": "警情编号", "cs.ftitle": "标题", "cs.summary": "摘要", "cs.responsible": "办案民警",
      "cs.items.pick": "放入案卷的证据", "cs.items.none": "暂无可放入的证据（先在视频档案袋登记）。",
      "cs.holder": "当前位置", "cs.since": "停留", "cs.deadline": "期限", "cs.state": "状态",
      "cs.board.empty": "没有在办案卷。", "cs.board.summary": "{n} 个在办，{o} 个超期",
      "cs.overdue": "超期 {d}", "cs.ontime": "按期", "cs.awaiting": "待补正", "cs.pending": "待交接 → {to}",
      "cs.pending.overdue": "交接无人确认已超期",
      "cs.items": "案卷内容（当前版本）", "cs.evidence.of": "本案卷及其警情登记的证据", "cs.versions": "版本",
      "cs.handovers": "交接记录", "cs.chain.ok": "哈希链完整", "cs.chain.bad": "哈希链异常：{m}",
      "cs.propose": "移交案卷", "cs.to": "移交给", "cs.to.officer": "民警编号", "cs.purpose": "目的",
      "cs.purpose.transfer": "移交", "cs.purpose.return": "退回补正", "cs.corrections": "需补正事项（每行一项）",
      "cs.note": "备注", "cs.propose.go": "提交移交", "cs.correct": "更正（生成新版本）", "cs.item.add": "增加一项",
      "cs.item.ref": "编号", "cs.reason": "原因", "cs.correct.go": "保存为新版本", "cs.status": "结案或重新启用",
      "cs.close": "结案", "cs.reopen": "重新启用",
      "cs.kind.evidence": "证据", "cs.kind.interview_record": "询问笔录", "cs.kind.transcript": "转写记录",
      "cs.kind.radio_transmission": "电台通话", "cs.kind.document": "文书",
      "cs.confirm": "确认接收", "cs.refuse": "拒收", "cs.cancel": "撤回", "cs.refuse.reason": "拒收原因",
      "cs.f.responsible": "办案民警", "cs.f.holder": "当前位置", "cs.f.since": "自", "cs.f.deadline": "期限",
      "cs.f.version": "版本", "cs.f.returns": "退回次数", "cs.f.status": "状态", "cs.f.incident": "警情",
      "cs.st.open": "在办", "cs.st.closed": "已结案",
      "cs.h.proposed": "待确认", "cs.h.confirmed": "已接收", "cs.h.refused": "已拒收", "cs.h.cancelled": "已撤回",
      "cs.h.line": "{from} → {to}：{state}", "cs.opened": "案卷 {n} 已建立", "cs.proposed": "已提交移交，等待对方确认",
      "cs.decided": "交接{state}", "cs.corrected": "已保存第 {v} 版", "cs.status.done": "案卷状态：{s}",
      "cs.counts": "民警案卷统计", "cs.counts.hint": "在办、超期（在民警处）、曾被退回补正、当前待补正的案卷数。",
      "cs.officer": "民警", "cs.c.open": "在办", "cs.c.overdue": "超期", "cs.c.returned": "被退回", "cs.c.awaiting": "待补正",
      "cs.counts.empty": "暂无案卷。", "cs.v.line": "第 {v} 版 · {by} · {at} · {reason}",
      "ev.register": "登记证据", "ev.kind": "类型", "ev.kind.video": "视频", "ev.kind.photo": "照片", "ev.kind.audio": "录音",
      "ev.case": "案卷编号", "ev.purpose": "证明目的", "ev.ref": "记录编号", "ev.device": "摄像头/设备", "ev.dtype": "设备类型",
      "ev.dt.body_camera": "执法记录仪", "ev.dt.dashcam": "行车记录仪", "ev.dt.phone": "手机", "ev.dt.doorbell": "门铃摄像头",
      "ev.dt.recorder": "录像机", "ev.dt.computer": "电脑", "ev.dt.other": "其他",
      "ev.place": "设备位置", "ev.owner": "所有人", "ev.contact": "所有人联系方式", "ev.pulled": "调取时间（精确到秒）",
      "ev.pplace": "调取地点", "ev.from": "录像起", "ev.to": "录像止", "ev.sha": "调取时的 sha256",
      "ev.officer": "提交民警", "ev.badge": "警号", "ev.confirm": "本人确认所登记内容真实完整",
      "ev.register.go": "登记", "ev.list": "已登记证据", "ev.submitted": "登记时间", "ev.empty": "暂无证据。",
      "ev.upload": "上传文件", "ev.upload.hint": "文件完整接收才保存，服务器计算 sha256。", "ev.upload.go": "上传",
      "ev.upload.pick": "请选择文件", "ev.uploading": "上传中…", "ev.uploaded": "文件已保存，sha256 {sha}",
      "ev.loss": "无文件：灭失或损坏", "ev.loss.cond": "情况", "ev.loss.statement": "情况说明", "ev.loss.resp": "责任人",
      "ev.loss.role": "责任人身份", "ev.loss.confirm": "责任人已签字确认", "ev.loss.go": "记录说明",
      "ev.download": "下载", "ev.downloaded": "已下载（sha256 {sha}）", "ev.export": "导出", "ev.export.format": "形式",
      "ev.fmt.file": "原始文件", "ev.fmt.media": "刻录光盘/U 盘", "ev.fmt.print": "打印", "ev.fmt.record": "仅登记信息",
      "ev.export.recipient": "接收单位/人", "ev.export.go": "记录导出", "ev.exported": "导出已记录（审计序号 {seq}）",
      "ev.trail": "保管链", "ev.at": "时间", "ev.who": "操作人", "ev.event": "事件", "ev.registered": "证据已登记",
      "ev.st.awaiting_file": "待上传", "ev.st.kept": "已保存", "ev.st.lost": "灭失", "ev.st.damaged": "损坏", "ev.st.referenced": "引用",
      "ev.e.registered": "登记", "ev.e.file_received": "接收文件", "ev.e.loss_recorded": "记录灭失/损坏", "ev.e.viewed": "查看",
      "ev.e.downloaded": "下载", "ev.e.handed_over": "移交", "ev.e.exported": "导出", "ev.e.attached": "放入案卷", "ev.e.verified": "校验",
      "ev.f.kind": "类型", "ev.f.state": "状态", "ev.f.purpose": "证明目的", "ev.f.source": "来源", "ev.f.pulled": "调取",
      "ev.f.sha": "sha256", "ev.f.size": "大小", "ev.f.by": "提交", "ev.f.loss": "情况说明", "ev.f.ref": "引用记录",
      "ev.f.intact": "登记信息", "ev.intact": "与签名摘要一致", "ev.altered": "与签名摘要不一致！",
      "cs.v.opened": "建立", "role.case_centre": "案件管理中心", "role.legal_review": "法制审核",
    },
    en: {
      "cs.title": "Case files and evidence", "cs.tab.board": "Process monitor", "cs.tab.evidence": "Evidence bag", "cs.tab.counts": "Officer counts",
      "cs.board": "Where each file is", "cs.refresh": "Refresh", "cs.open": "Open a case file", "cs.open.go": "Open the file",
      "cs.number": "Case number", "cs.incident": "Incident id", "cs.ftitle": "Title", "cs.summary": "Summary", "cs.responsible": "Responsible officer",
      "cs.items.pick": "Evidence to put in the file", "cs.items.none": "No evidence to put in yet (register it in the evidence bag first).",
      "cs.holder": "Where it is", "cs.since": "Held for", "cs.deadline": "Deadline", "cs.state": "State",
      "cs.board.empty": "No open case files.", "cs.board.summary": "{n} open, {o} overdue",
      "cs.overdue": "overdue {d}", "cs.ontime": "on time", "cs.awaiting": "awaiting correction", "cs.pending": "hand-over → {to}",
      "cs.pending.overdue": "hand-over unanswered past its deadline",
      "cs.items": "Contents (current version)", "cs.evidence.of": "Evidence registered for this file or its incident", "cs.versions": "Versions",
      "cs.handovers": "Hand-overs", "cs.chain.ok": "hash chain intact", "cs.chain.bad": "hash chain broken: {m}",
      "cs.propose": "Hand the file over", "cs.to": "To", "cs.to.officer": "Officer id", "cs.purpose": "Purpose",
      "cs.purpose.transfer": "Transfer", "cs.purpose.return": "Return for correction", "cs.corrections": "What must be corrected (one per line)",
      "cs.note": "Note", "cs.propose.go": "Propose hand-over", "cs.correct": "Correct (a new version)", "cs.item.add": "Add an item",
      "cs.item.ref": "id", "cs.reason": "Reason", "cs.correct.go": "Save as a new version", "cs.status": "Close or reopen",
      "cs.close": "Close the file", "cs.reopen": "Reopen the file",
      "cs.kind.evidence": "Evidence", "cs.kind.interview_record": "Interview record", "cs.kind.transcript": "Transcript",
      "cs.kind.radio_transmission": "Radio transmission", "cs.kind.document": "Document",
      "cs.confirm": "Confirm receipt", "cs.refuse": "Refuse", "cs.cancel": "Withdraw", "cs.refuse.reason": "Why it is refused",
      "cs.f.responsible": "Responsible officer", "cs.f.holder": "Where it is", "cs.f.since": "Since", "cs.f.deadline": "Deadline",
      "cs.f.version": "Version", "cs.f.returns": "Returned", "cs.f.status": "Status", "cs.f.incident": "Incident",
      "cs.st.open": "open", "cs.st.closed": "closed",
      "cs.h.proposed": "waiting", "cs.h.confirmed": "confirmed", "cs.h.refused": "refused", "cs.h.cancelled": "withdrawn",
      "cs.h.line": "{from} → {to}: {state}", "cs.opened": "Case file {n} opened", "cs.proposed": "Hand-over proposed; waiting for the receiver",
      "cs.decided": "Hand-over {state}", "cs.corrected": "Version {v} saved", "cs.status.done": "Case file is {s}",
      "cs.counts": "Per-officer counts", "cs.counts.hint": "Open, overdue (while with the officer), returned for correction at least once, and waiting for correction now.",
      "cs.officer": "Officer", "cs.c.open": "Open", "cs.c.overdue": "Overdue", "cs.c.returned": "Returned", "cs.c.awaiting": "Awaiting correction",
      "cs.counts.empty": "No case files yet.", "cs.v.line": "v{v} · {by} · {at} · {reason}",
      "ev.register": "Register evidence", "ev.kind": "Kind", "ev.kind.video": "Video", "ev.kind.photo": "Photo", "ev.kind.audio": "Audio",
      "ev.case": "Case file id", "ev.purpose": "What it is meant to prove", "ev.ref": "Record id", "ev.device": "Camera / device", "ev.dtype": "Device type",
      "ev.dt.body_camera": "body camera", "ev.dt.dashcam": "dashcam", "ev.dt.phone": "phone", "ev.dt.doorbell": "doorbell",
      "ev.dt.recorder": "recorder", "ev.dt.computer": "computer", "ev.dt.other": "other",
      "ev.place": "Where the device is", "ev.owner": "Owner", "ev.contact": "Owner's contact", "ev.pulled": "Pulled at (to the second)",
      "ev.pplace": "Pulled where", "ev.from": "Footage from", "ev.to": "Footage to", "ev.sha": "sha256 taken at the pull",
      "ev.officer": "Submitting officer", "ev.badge": "Badge number", "ev.confirm": "I confirm that what I register is true and complete",
      "ev.register.go": "Register", "ev.list": "Registered evidence", "ev.submitted": "Registered", "ev.empty": "No evidence registered.",
      "ev.upload": "Upload the file", "ev.upload.hint": "Kept whole or not at all; the server measures its sha256.", "ev.upload.go": "Upload",
      "ev.upload.pick": "Choose a file", "ev.uploading": "Uploading…", "ev.uploaded": "File kept, sha256 {sha}",
      "ev.loss": "No file: lost or damaged", "ev.loss.cond": "Condition", "ev.loss.statement": "Statement", "ev.loss.resp": "Person responsible",
      "ev.loss.role": "Their role", "ev.loss.confirm": "Signed by the person responsible", "ev.loss.go": "Record the statement",
      "ev.download": "Download", "ev.downloaded": "Downloaded (sha256 {sha})", "ev.export": "Export", "ev.export.format": "Form",
      "ev.fmt.file": "the kept file", "ev.fmt.media": "copied to disc / USB", "ev.fmt.print": "printed", "ev.fmt.record": "the record only",
      "ev.export.recipient": "Recipient", "ev.export.go": "Record the export", "ev.exported": "Export recorded (audit entry {seq})",
      "ev.trail": "Chain of custody", "ev.at": "When", "ev.who": "Who", "ev.event": "Event", "ev.registered": "Evidence registered",
      "ev.st.awaiting_file": "awaiting file", "ev.st.kept": "kept", "ev.st.lost": "lost", "ev.st.damaged": "damaged", "ev.st.referenced": "reference",
      "ev.e.registered": "registered", "ev.e.file_received": "file received", "ev.e.loss_recorded": "loss recorded", "ev.e.viewed": "viewed",
      "ev.e.downloaded": "downloaded", "ev.e.handed_over": "handed over", "ev.e.exported": "exported", "ev.e.attached": "put in a case file", "ev.e.verified": "verified",
      "ev.f.kind": "Kind", "ev.f.state": "State", "ev.f.purpose": "To prove", "ev.f.source": "Source", "ev.f.pulled": "Pulled",
      "ev.f.sha": "sha256", "ev.f.size": "Size", "ev.f.by": "Submitted", "ev.f.loss": "Statement", "ev.f.ref": "Record",
      "ev.f.intact": "Registration", "ev.intact": "matches its signed digest", "ev.altered": "does NOT match its signed digest!",
      "cs.v.opened": "opened", "role.case_centre": "case centre", "role.legal_review": "legal review",
    },
  });

  const OFFICES = ["case_centre", "legal_review"];
  const ROUTES = { officer: ["officer", "case_centre"], case_centre: ["officer", "legal_review"], legal_review: ["case_centre", "officer"] };
  const HOLDER_LABEL = { officer: { zh: "办案民警", en: "officer" }, case_centre: { zh: "案件管理中心", en: "case management centre" },
    legal_review: { zh: "法制审核", en: "legal review" } };
  const MEDIA = ["video", "photo", "audio"];
  let who = null;
  let board = null;
  let current = null;   // the case file shown in #detail
  let item = null;      // the evidence item shown in #ev-detail
  let evidence = [];

  // ---------------------------------------------------------------- helpers
  /** The signed-in caller as a holder: officer:<subject>, case_centre:case_centre, legal_review:legal_review. */
  const me = () => (who.role === "officer" ? "officer:" + who.subject : OFFICES.includes(who.role) ? who.role + ":" + who.role : null);
  function holderText(holder) {
    if (!holder) return "";
    const [kind, ...rest] = holder.split(":");
    const id = rest.join(":");
    const label = JY.label(HOLDER_LABEL[kind]) || kind;
    return kind === "officer" ? `${label} ${id}` : label;
  }
  function duration(s) {
    if (s < 3600) return JY.t("ago.m", { n: Math.max(1, Math.round(s / 60)) }).replace(/ ago|前/, "");
    if (s < 86400 * 2) return JY.t("ago.h", { n: Math.round(s / 3600) }).replace(/ ago|前/, "");
    return JY.t("ago.d", { n: Math.round(s / 86400) }).replace(/ ago|前/, "");
  }
  function size(n) {
    if (n == null) return "";
    return n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KB" : (n / 1048576).toFixed(1) + " MB";
  }
  /** A datetime-local value ("2026-01-31T08:15" or with seconds) as ISO 8601 with the browser's zone. */
  function withZone(v) {
    if (!v) return undefined;
    if (v.length === 16) v += ":00";
    const off = -new Date(v).getTimezoneOffset();
    const a = Math.abs(off);
    return v + (off >= 0 ? "+" : "-") + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
  }
  /** Show a refusal on the form: its message, and the field it names marked invalid and focused. */
  function fail(form, err) {
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const box = form.querySelector(".error-text");
    const text = err.status ? err.message : JY.errorText(err);
    if (box) box.textContent = text; else JY.toast(text, "error");
    const field = err.details && err.details.field;
    const el = field && form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (el) { el.setAttribute("aria-invalid", "true"); el.focus(); }
  }
  function clear(form) {
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const box = form.querySelector(".error-text");
    if (box) box.textContent = "";
  }
  const val = (id) => { const v = $(id).value.trim(); return v === "" ? undefined : v; };
  function facts(dl, pairs) {
    dl.replaceChildren(...pairs.filter((p) => p[1] !== undefined && p[1] !== null && p[1] !== "")
      .flatMap(([k, v]) => [h("dt", { text: t(k) }), h("dd", null, v)]));
  }

  // ---------------------------------------------------------------- tabs
  function show(view) {
    document.querySelectorAll(".tabs [role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.view === view)));
    ["board", "evidence", "counts"].forEach((v) => { $("#view-" + v).hidden = v !== view; });
    const url = new URL(location.href);  // a reload comes back to the same tab
    url.searchParams.set("view", view);
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    if (view === "board") loadBoard();
    if (view === "evidence") loadEvidence();
    if (view === "counts") loadCounts();
  }

  // ---------------------------------------------------------------- board
  async function loadBoard() {
    try {
      board = await JY.api("GET", "/api/cases/board");
    } catch (e) { JY.toast(JY.errorText(e), "error"); return; }
    renderBoard();
  }
  function renderBoard() {
    if (!board) return;
    $("#board-summary").textContent = t("cs.board.summary", { n: board.files.length, o: board.overdue });
    $("#board-empty").hidden = board.files.length > 0;
    $("#board tbody").replaceChildren(...board.files.map((f) => {
      const state = [];
      state.push(h("span.badge" + (f.overdue ? ".overdue" : ".ok"), { text: f.overdue ? t("cs.overdue", { d: duration(f.overdue_by_s) }) : t("cs.ontime") }));
      if (f.awaiting_correction) state.push(" ", h("span.badge.warn", { text: t("cs.awaiting") }));
      if (f.pending) state.push(" ", h("span.badge" + (f.pending.overdue ? ".overdue" : ".warn"), { text: t("cs.pending", { to: holderText(f.pending.to) }),
        title: f.pending.overdue ? t("cs.pending.overdue") : null }));
      const tr = h("tr" + (f.overdue ? ".overdue" : "") + (current && current.id === f.case_id ? ".selected" : ""),
        { tabindex: "0", dataset: { id: f.case_id } },
        h("td.mono", { text: f.number }), h("td", { text: f.title }), h("td", { text: holderText(f.holder) }),
        h("td", { text: duration(f.age_s), title: JY.dateTime(f.since) }), h("td", { text: JY.dateTime(f.deadline_at) }), h("td", null, state));
      const open = () => openCase(f.case_id);
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
      return tr;
    }));
  }

  async function openCase(id) {
    try {
      const [file, versions] = await Promise.all([JY.api("GET", `/api/cases/${id}`), JY.api("GET", `/api/cases/${id}/versions`)]);
      current = file;
      current.versions = versions;
    } catch (e) { JY.toast(JY.errorText(e), "error"); return; }
    renderDetail();
    renderBoard();
    $("#detail").focus();
  }

  function renderDetail() {
    const f = current;
    const d = $("#detail");
    if (!f) { d.hidden = true; return; }
    d.hidden = false;
    $("#d-title").textContent = `${f.number} · ${f.title}`;
    const pos = f.position;
    facts($("#d-facts"), [
      ["cs.f.status", t("cs.st." + f.status)], ["cs.f.responsible", f.responsible_officer],
      ["cs.f.holder", holderText(f.holder)], ["cs.f.since", JY.dateTime(f.held_since)],
      ["cs.f.deadline", pos ? h("span", null, JY.dateTime(pos.deadline_at), " ",
        h("span.badge" + (pos.overdue ? ".overdue" : ".ok"), { text: pos.overdue ? t("cs.overdue", { d: duration(pos.overdue_by_s) }) : t("cs.ontime") }),
        f.awaiting_correction ? h("span.badge.warn", { text: t("cs.awaiting") }) : null) : null],
      ["cs.f.version", String(f.version)], ["cs.f.returns", String(f.returns)], ["cs.f.incident", f.incident_id],
    ]);
    // A hand-over waiting for its receiver: the receiver confirms or refuses, the sender may withdraw.
    const pending = f.handovers.find((x) => x.state === "proposed");
    const pbox = $("#d-pending");
    pbox.replaceChildren();
    if (pending) {
      const mine = me();
      const buttons = [];
      if (pending.to === mine) {
        buttons.push(h("button.primary#h-confirm", { type: "button", text: t("cs.confirm"), onclick: () => decide(pending, "confirm") }));
        const reason = h("input#h-reason", { "aria-label": t("cs.refuse.reason"), placeholder: t("cs.refuse.reason") });
        buttons.push(reason, h("button#h-refuse", { type: "button", text: t("cs.refuse"), onclick: () => decide(pending, "refuse", { reason: reason.value.trim() || undefined }) }));
      }
      if (pending.from === mine || who.role === "admin") {
        buttons.push(h("button#h-cancel", { type: "button", text: t("cs.cancel"), onclick: () => decide(pending, "cancel") }));
      }
      pbox.append(h("div.pending", { role: "status" },
        h("strong", { text: t("cs.pending", { to: holderText(pending.to) }) }), " ",
        pending.purpose === "return_for_correction" ? h("span.badge.warn", { text: t("cs.purpose.return") }) : null,
        pending.overdue ? h("span.badge.overdue", { text: t("cs.pending.overdue") }) : null,
        pending.note ? h("p", { text: pending.note }) : null,
        pending.corrections.length ? h("ul", null, pending.corrections.map((c) => h("li", { text: c }))) : null,
        h("p.error-text", { role: "alert" }),
        h("div.row", null, buttons)));
    }
    const titles = Object.fromEntries(f.evidence.map((e) => [e.id, e.title]));
    $("#d-items").replaceChildren(...(f.current.items.length ? f.current.items.map((i) => h("li", null,
      h("span.badge", { text: t("cs.kind." + i.kind) }), " ",
      i.kind === "evidence" && titles[i.ref_id] ? titles[i.ref_id] + " " : "", h("span.mono.hint", { text: i.ref_id }),
      i.note ? " — " + i.note : "")) : [h("li.empty", { text: "—" })]));
    $("#d-evidence").replaceChildren(...(f.evidence.length ? f.evidence.map((e) => h("li", null,
      h("a", { href: "#", text: e.title, onclick: (ev) => { ev.preventDefault(); show("evidence"); openItem(e.id); } }), " ",
      h("span.badge", { text: t("ev.st." + e.state) }))) : [h("li.empty", { text: "—" })]));
    const chain = f.versions.verify;
    const cb = $("#d-chain");
    cb.className = "badge " + (chain.ok ? "ok" : "bad");
    cb.textContent = chain.ok ? t("cs.chain.ok") : t("cs.chain.bad", { m: chain.message });
    $("#d-versions").replaceChildren(...f.versions.versions.map((v) => h("li", null,
      t("cs.v.line", { v: v.version, by: v.changed_by, at: JY.dateTime(v.changed_at),
        reason: v.version === 1 && v.reason === "opened" ? t("cs.v.opened") : v.reason }),
      h("div.sha", { text: v.hash, title: "sha256" }))));
    $("#d-handovers").replaceChildren(...f.handovers.map((x) => h("li", null,
      t("cs.h.line", { from: holderText(x.from), to: holderText(x.to), state: t("cs.h." + x.state) }),
      x.purpose === "return_for_correction" ? [" ", h("span.badge.warn", { text: t("cs.purpose.return") })] : null,
      x.decision_note ? " — " + x.decision_note : "")));
    // The steps the caller may take on this file.
    const holds = f.holder === me();
    const canEdit = holds || who.role === "admin";
    const pf = $("#propose-form");
    pf.hidden = !(holds && f.status === "open" && !pending);
    if (!pf.hidden) {
      const kind = f.holder.split(":")[0];
      $("#p-to").replaceChildren(...ROUTES[kind].map((k) => h("option", { value: k, text: JY.label(HOLDER_LABEL[k]) })));
      $("#p-to").dispatchEvent(new Event("change"));
    }
    $("#correct-form").hidden = !(canEdit && f.status === "open");
    $("#c-title").value = f.current.title;
    $("#c-summary").value = f.current.summary;
    $("#status-form").hidden = !canEdit;
    $("#s-go").textContent = f.status === "open" ? t("cs.close") : t("cs.reopen");
  }

  async function decide(pending, decision, body) {
    const box = $("#d-pending .error-text");
    try {
      const out = await JY.api("POST", `/api/cases/${current.id}/handovers/${pending.id}/${decision}`, body || {});
      JY.toast(t("cs.decided", { state: t("cs.h." + out.state) }), "ok");
    } catch (e) { if (box) box.textContent = e.message; else JY.toast(JY.errorText(e), "error"); return; }
    await loadBoard();
    await openCase(current.id);
  }

  async function fillPicker() {
    const box = $("#o-items");
    const incident = val("#o-incident");
    let list = [];
    try {
      list = (await JY.api("GET", "/api/evidence" + (incident ? `?incident_id=${encodeURIComponent(incident)}` : ""))).evidence;
    } catch (e) { /* an incident id being typed may not be valid yet */ }
    box.replaceChildren(...(list.length ? list.map((e) => h("label.inline", null,
      h("input", { type: "checkbox", value: e.id, checked: !!incident }), `${e.title} (${t("ev.st." + e.state)})`))
      : [h("p.empty", { text: t("cs.items.none") })]));
  }

  // ---------------------------------------------------------------- evidence
  async function loadEvidence() {
    try {
      evidence = (await JY.api("GET", "/api/evidence")).evidence;
    } catch (e) { JY.toast(JY.errorText(e), "error"); return; }
    renderEvidence();
  }
  function renderEvidence() {
    $("#ev-empty").hidden = evidence.length > 0;
    $("#ev-list tbody").replaceChildren(...evidence.map((e) => {
      const tr = h("tr" + (item && item.id === e.id ? ".selected" : ""), { tabindex: "0", dataset: { id: e.id } },
        h("td", { text: e.title }), h("td", { text: t(MEDIA.includes(e.kind) ? "ev.kind." + e.kind : "cs.kind." + e.kind) }),
        h("td", null, h("span.badge", { text: t("ev.st." + e.state) })), h("td", { text: JY.dateTime(e.submitted_at) }));
      tr.addEventListener("click", () => openItem(e.id));
      tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openItem(e.id); });
      return tr;
    }));
  }
  async function openItem(id) {
    try {
      item = await JY.api("GET", `/api/evidence/${id}`);  // a "viewed" custody event
    } catch (e) { JY.toast(JY.errorText(e), "error"); return; }
    await renderItem();
    renderEvidence();
    $("#ev-detail").focus();
  }
  async function renderItem() {
    const e = item;
    $("#ev-detail").hidden = false;
    $("#ev-d-title").textContent = e.title;
    const src = e.source;
    facts($("#ev-facts"), [
      ["ev.f.kind", t(MEDIA.includes(e.kind) ? "ev.kind." + e.kind : "cs.kind." + e.kind)],
      ["ev.f.state", h("span.badge", { text: t("ev.st." + e.state) })], ["ev.f.purpose", e.purpose],
      ["ev.f.source", src ? `${src.device} (${src.device_type}) · ${src.place} · ${src.owner}` : null],
      ["ev.f.pulled", e.pulled_at ? `${JY.dateTime(e.pulled_at)} · ${e.pulled_place}` : null],
      ["ev.f.ref", e.reference_id], ["ev.f.by", `${e.sign_off.officer} ${e.sign_off.badge} · ${JY.dateTime(e.submitted_at)}`],
      ["ev.f.sha", e.file ? h("span.sha#ev-sha", { text: e.file.sha256 }) : null], ["ev.f.size", e.file ? size(e.file.size) : null],
      ["ev.f.loss", e.loss ? `${e.loss.statement} — ${e.loss.responsible} (${e.loss.responsible_role})` : null],
      ["ev.f.intact", h("span.badge" + (e.registration_intact ? ".ok" : ".bad"), { text: t(e.registration_intact ? "ev.intact" : "ev.altered") })],
    ]);
    const waiting = e.state === "awaiting_file";
    $("#upload-form").hidden = !waiting;
    $("#loss-form").hidden = !waiting;
    $("#kept-actions").hidden = e.state !== "kept";
    await loadTrail();
  }
  async function loadTrail() {
    let events = [];
    try {
      events = (await JY.api("GET", `/api/evidence/${item.id}/custody`)).events;
    } catch (e) { JY.toast(JY.errorText(e), "error"); return; }
    $("#trail tbody").replaceChildren(...events.map((ev) => h("tr", { dataset: { event: ev.event } },
      h("td", { text: String(ev.seq) }), h("td", { text: JY.dateTime(ev.at) }), h("td", { text: ev.actor }),
      h("td", null, t("ev.e." + ev.event), detailText(ev)))));
  }
  function detailText(ev) {
    const d = ev.details || {};
    const parts = [];
    if (d.sha256 && ev.event !== "verified") parts.push(d.sha256.slice(0, 12) + "…");
    if (d.from || d.to) parts.push(`${d.from ? holderText(d.from) : ""} → ${d.to ? holderText(d.to) : ""}`);
    if (d.recipient) parts.push(`${t("ev.fmt." + d.format)} → ${d.recipient}`);
    if (d.status) parts.push(d.status);
    if (d.condition) parts.push(t("ev.st." + d.condition));
    return parts.length ? h("span.hint", { text: " · " + parts.join(" · ") }) : "";
  }

  // ---------------------------------------------------------------- counts
  async function loadCounts() {
    let out;
    try {
      out = await JY.api("GET", "/api/cases/counts");
    } catch (e) { JY.toast(JY.errorText(e), "error"); return; }
    $("#counts-empty").hidden = out.officers.length > 0;
    $("#counts tbody").replaceChildren(...out.officers.map((o) => h("tr", { dataset: { officer: o.officer } },
      h("td", { text: o.officer }), h("td", { text: String(o.open) }),
      h("td", null, h("span" + (o.overdue ? ".badge.overdue" : ""), { text: String(o.overdue) })),
      h("td", { text: String(o.returned) }), h("td", { text: String(o.awaiting_correction) }))));
  }

  // ---------------------------------------------------------------- forms
  function wire() {
    document.querySelectorAll(".tabs [role=tab]").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));
    $("#board-refresh").addEventListener("click", loadBoard);
    $("#open-toggle").addEventListener("click", () => {
      const form = $("#open-form");
      form.hidden = !form.hidden;
      if (!form.hidden) {
        if (who.role === "officer" && !$("#o-officer").value) $("#o-officer").value = who.subject;
        fillPicker();
        $("#o-number").focus();
      }
    });
    $("#o-incident").addEventListener("change", fillPicker);
    $("#open-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      clear(form);
      const items = [...form.querySelectorAll("#o-items input:checked")].map((c) => ({ kind: "evidence", ref_id: c.value }));
      const body = { number: val("#o-number"), incident_id: val("#o-incident"), title: val("#o-title"), summary: val("#o-summary"),
        responsible_officer: val("#o-officer"), items };
      try {
        const file = await JY.api("POST", "/api/cases", body);
        JY.toast(t("cs.opened", { n: file.number }), "ok");
        form.reset();
        form.hidden = true;
        await loadBoard();
        await openCase(file.id);
      } catch (err) { fail(form, err); }
    });
    $("#p-to").addEventListener("change", () => {
      const officer = $("#p-to").value === "officer";
      $("#p-officer").hidden = !officer;
      $("label[for=p-officer]").hidden = !officer;
      if (officer && current && !$("#p-officer").value) $("#p-officer").value = current.responsible_officer;
    });
    $("#propose-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      clear(form);
      const kind = $("#p-to").value;
      const purpose = $("#p-purpose").value;
      const corrections = $("#p-corrections").value.split("\n").map((s) => s.trim()).filter(Boolean);
      const body = { to: kind === "officer" ? "officer:" + ($("#p-officer").value.trim()) : kind, purpose,
        note: val("#p-note"), corrections: purpose === "return_for_correction" ? corrections : undefined };
      try {
        await JY.api("POST", `/api/cases/${current.id}/handovers`, body);
        JY.toast(t("cs.proposed"), "ok");
        form.reset();
        await loadBoard();
        await openCase(current.id);
      } catch (err) { fail(form, err); }
    });
    $("#correct-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      clear(form);
      const body = { reason: val("#c-reason") };
      if ($("#c-title").value.trim() !== current.current.title) body.title = $("#c-title").value.trim();
      if ($("#c-summary").value.trim() !== current.current.summary) body.summary = $("#c-summary").value.trim();
      const ref = val("#c-ref");
      if (ref) body.items = [...current.current.items, { kind: $("#c-kind").value, ref_id: ref, note: val("#c-note") }];
      try {
        const file = await JY.api("POST", `/api/cases/${current.id}/corrections`, body);
        JY.toast(t("cs.corrected", { v: file.version }), "ok");
        form.reset();
        await loadBoard();
        await openCase(current.id);
      } catch (err) { fail(form, err); }
    });
    $("#status-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      clear(form);
      const status = current.status === "open" ? "closed" : "open";
      try {
        await JY.api("POST", `/api/cases/${current.id}/status`, { status, reason: val("#s-reason") });
        JY.toast(t("cs.status.done", { s: t("cs.st." + status) }), "ok");
        form.reset();
        await loadBoard();
        await openCase(current.id);
      } catch (err) { fail(form, err); }
    });

    // Evidence: the fields shown follow the kind (media have a source and a pull; references a record id).
    const kindChanged = () => {
      const media = MEDIA.includes($("#e-kind").value);
      $("#ev-form").classList.toggle("media-hidden", !media);
      $("#ev-form").classList.toggle("ref-hidden", media);
    };
    $("#e-kind").addEventListener("change", kindChanged);
    kindChanged();
    $("#ev-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      clear(form);
      const kind = $("#e-kind").value;
      const body = { kind, incident_id: val("#e-incident"), case_id: val("#e-case"), title: val("#e-title"), purpose: val("#e-purpose"),
        sign_off: { officer: val("#e-officer"), badge: val("#e-badge"), confirmed: $("#e-confirm").checked } };
      if (MEDIA.includes(kind)) {
        Object.assign(body, { source: { device: val("#e-device"), device_type: $("#e-dtype").value, place: val("#e-place"),
          owner: val("#e-owner"), owner_contact: val("#e-contact") }, pulled_at: withZone($("#e-pulled").value),
          pulled_place: val("#e-pplace"), recorded_from: withZone($("#e-from").value), recorded_to: withZone($("#e-to").value),
          expected_sha256: val("#e-sha") });
      } else {
        body.reference_id = val("#e-ref");
      }
      try {
        const created = await JY.api("POST", "/api/evidence", body);
        JY.toast(t("ev.registered"), "ok");
        form.reset();
        kindChanged();
        await loadEvidence();
        await openItem(created.id);
      } catch (err) { fail(form, err); }
    });
    $("#upload-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      clear(form);
      const file = $("#u-file").files[0];
      if (!file) { fail(form, { message: t("ev.upload.pick"), status: 400, details: {} }); return; }
      const btn = form.querySelector("button[type=submit]");
      btn.disabled = true;
      form.querySelector(".error-text").textContent = t("ev.uploading");
      try {
        // The browser streams the file; the server keeps it only if it arrives whole.
        const data = await JY.api("PUT", `/api/evidence/${item.id}/file?filename=${encodeURIComponent(file.name)}`, file);
        form.querySelector(".error-text").textContent = "";
        JY.toast(t("ev.uploaded", { sha: data.file.sha256.slice(0, 16) + "…" }), "ok");
        item = data;
        await renderItem();
        await loadEvidence();
      } catch (err) { fail(form, err); } finally { btn.disabled = false; }
    });
    $("#loss-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      clear(form);
      const body = { condition: $("#l-cond").value, statement: val("#l-statement"), responsible: val("#l-resp"),
        responsible_role: val("#l-role"), confirmed: $("#l-confirm").checked };
      try {
        item = await JY.api("POST", `/api/evidence/${item.id}/loss`, body);
        form.reset();
        await renderItem();
        await loadEvidence();
      } catch (err) { fail(form, err); }
    });
    $("#download").addEventListener("click", async () => {
      try {
        const resp = await JY.api("GET", `/api/evidence/${item.id}/file`, undefined, { raw: true });
        const blob = await resp.blob();
        const a = h("a", { href: URL.createObjectURL(blob), download: (item.file && item.file.filename) || item.id });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
        JY.toast(t("ev.downloaded", { sha: resp.headers.get("X-Content-SHA256").slice(0, 16) + "…" }), "ok");
        await loadTrail();
      } catch (e) { JY.toast(JY.errorText(e), "error"); }
    });
    $("#export-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      clear(form);
      try {
        const out = await JY.api("POST", `/api/evidence/${item.id}/export`, { format: $("#x-format").value, recipient: val("#x-recipient") });
        JY.toast(t("ev.exported", { seq: out.export.seq }), "ok");
        form.reset();
        await loadTrail();
      } catch (err) { fail(form, err); }
    });
    JY.onLang(() => { renderBoard(); if (current) renderDetail(); renderEvidence(); if (item) renderItem(); });
  }

  JY.initPage();
  JY.signIn({ mount: $("#signin-mount"), content: $("#content"), roles: ["officer", "case_centre", "legal_review", "admin", "dispatcher"] })
    .then((w) => {
      who = w;
      $("#tab-counts").hidden = !["admin", "dispatcher"].includes(who.role);
      // Supervisors read; legal review takes files only by hand-over: neither opens files or registers evidence.
      if (who.role === "dispatcher" || who.role === "legal_review") { $("#open-toggle").hidden = true; $("#ev-form").hidden = true; }
      wire();
      const view = new URLSearchParams(location.search).get("view");
      show(["board", "evidence", "counts"].includes(view) ? view : "board");
    });
})();
