/* Building hazard inspections (城市安全隐患排查, 一栋楼一档案): the buildings the signed-in role may see,
 * one building's file (record, versions, inspection history with photos and decisions) and the steps
 * the caller may take now: the manager's self-check with photo upload, the grid worker's accept/return,
 * the fire office's close/escalate/return, the fire police's incident and resolution, the registrar's
 * record form. Every rule is the server's: the page shows what /api/... answers, errors included.
 */
(function () {
  "use strict";
  const { h, t, $ } = JY;
  const ROLES = ["building_manager", "grid_worker", "fire_office", "fire_police", "admin"];
  const REGISTRARS = ["admin", "fire_office"];

  JY.i18n({
    zh: {
      "insp.title": "隐患排查", "insp.buildings": "楼栋", "insp.search": "搜索地址、名称或编码", "insp.find": "查找",
      "insp.register": "登记楼栋", "insp.worklist": "待我处理", "insp.file": "楼栋档案", "insp.pick": "请在左侧选择楼栋。",
      "insp.none": "没有可查看的楼栋。", "insp.nowork": "暂无待办。", "insp.loading": "加载中…",
      "insp.record": "档案", "insp.versions": "历次版本（{n}）", "insp.version": "第 {v} 版", "insp.changed": "修改：{f}",
      "insp.created": "登记", "insp.history": "排查记录", "insp.nohistory": "尚无排查记录。",
      "insp.f.name": "名称", "insp.f.building_code": "楼栋编码", "insp.f.address": "地址", "insp.f.lat": "纬度",
      "insp.f.lon": "经度", "insp.f.building_type": "类型", "insp.f.floors_above": "地上层数", "insp.f.floors_below": "地下层数",
      "insp.f.grid_id": "网格", "insp.f.manager": "楼栋管理人", "insp.f.manager.id": "管理人账号",
      "insp.f.manager.name": "管理人姓名", "insp.f.manager.phone": "管理人电话", "insp.f.coords": "坐标",
      "insp.f.updated": "最后更新", "insp.f.last_check": "最近自查",
      "insp.st.submitted": "待网格员审核", "insp.st.returned": "已退回，待整改", "insp.st.grid_accepted": "待消防办审核",
      "insp.st.escalated": "已移交消防监督", "insp.st.closed": "已办结",
      "insp.overdue": "已超期", "insp.due": "期限 {d}", "insp.selfdue": "需自查", "insp.round": "第 {n} 轮自查",
      "insp.a.submit": "提交自查", "insp.a.resubmit": "整改后重新提交", "insp.a.accept": "审核通过", "insp.a.return": "退回",
      "insp.a.close": "办结", "insp.a.escalate": "移交消防监督", "insp.a.link_incident": "关联警情",
      "insp.a.create_incident": "生成警情派警", "insp.a.resolve": "执法办结", "insp.a.correct": "更正档案",
      "insp.a.save": "保存", "insp.a.cancel": "取消",
      "insp.do": "当前可办理", "insp.selfcheck": "消防安全自查", "insp.ok": "正常", "insp.hazard": "有隐患", "insp.na": "不适用",
      "insp.allok": "其余全部标为正常", "insp.note": "说明", "insp.hazardnote": "隐患说明（必填）", "insp.photos": "现场照片",
      "insp.addphotos": "添加照片（JPEG/PNG/WebP）", "insp.uploading": "正在上传 {n}…", "insp.uploaded": "已上传 {n}（sha256 {s}…）",
      "insp.needphoto": "请至少上传一张照片。", "insp.unanswered": "以下项目未作答：{items}",
      "insp.reasons": "退回原因（每行一条）", "insp.hazardtext": "隐患描述", "insp.severity": "隐患等级",
      "insp.sev.general": "一般隐患", "insp.sev.major": "重大隐患", "insp.incident_id": "警情编号（ID）",
      "insp.result": "处理结果", "insp.measures": "执法措施",
      "insp.m.rectified_on_site": "当场整改", "insp.m.rectification_order": "责令限期整改", "insp.m.fine": "罚款",
      "insp.m.temporary_seal": "临时查封", "insp.m.suspension": "责令停产停业", "insp.m.referred": "移送处理",
      "insp.waiting": "等待：{who}", "insp.incident": "关联警情：{id}", "insp.escalation": "移交：[{sev}] {hazard}",
      "insp.answers": "自查结果", "insp.item": "项目", "insp.answer": "结果", "insp.decisions": "办理记录",
      "insp.reasonslist": "原因：{r}", "insp.measureslist": "措施：{m}", "insp.audit": "审计 #{n}",
      "insp.done": "已办理：{a}", "insp.created.ok": "已登记楼栋 {name}", "insp.opened": "已生成警情 {n}",
      "role.building_manager": "楼栋管理人", "role.grid_worker": "网格员", "role.fire_office": "消防办",
      "role.fire_police": "消防监督", "role.case_centre": "案管中心", "role.legal_review": "法制审核",
    },
    en: {
      "insp.title": "Building inspections", "insp.buildings": "Buildings", "insp.search": "Search address, name or code",
      "insp.find": "Find", "insp.register": "Register a building", "insp.worklist": "Waiting for you",
      "insp.file": "Building file", "insp.pick": "Choose a building on the left.", "insp.none": "No buildings you may see.",
      "insp.nowork": "Nothing waiting for you.", "insp.loading": "Loading…",
      "insp.record": "Record", "insp.versions": "Versions ({n})", "insp.version": "version {v}", "insp.changed": "changed: {f}",
      "insp.created": "registered", "insp.history": "Inspections", "insp.nohistory": "No inspection yet.",
      "insp.f.name": "Name", "insp.f.building_code": "Building code", "insp.f.address": "Address", "insp.f.lat": "Latitude",
      "insp.f.lon": "Longitude", "insp.f.building_type": "Type", "insp.f.floors_above": "Floors above ground",
      "insp.f.floors_below": "Floors below ground", "insp.f.grid_id": "Grid", "insp.f.manager": "Building manager",
      "insp.f.manager.id": "Manager account", "insp.f.manager.name": "Manager name", "insp.f.manager.phone": "Manager phone",
      "insp.f.coords": "Coordinates", "insp.f.updated": "Last updated", "insp.f.last_check": "Last self-check",
      "insp.st.submitted": "waiting for the grid worker", "insp.st.returned": "returned for correction",
      "insp.st.grid_accepted": "waiting for the fire office", "insp.st.escalated": "with the fire police",
      "insp.st.closed": "closed",
      "insp.overdue": "overdue", "insp.due": "due {d}", "insp.selfdue": "self-check due", "insp.round": "self-check round {n}",
      "insp.a.submit": "Submit self-check", "insp.a.resubmit": "Resubmit after correction", "insp.a.accept": "Accept",
      "insp.a.return": "Return", "insp.a.close": "Close", "insp.a.escalate": "Escalate to the fire police",
      "insp.a.link_incident": "Link an incident", "insp.a.create_incident": "Open an incident for dispatch",
      "insp.a.resolve": "Resolve", "insp.a.correct": "Correct the record", "insp.a.save": "Save", "insp.a.cancel": "Cancel",
      "insp.do": "You can now", "insp.selfcheck": "Fire-safety self-check", "insp.ok": "OK", "insp.hazard": "Hazard",
      "insp.na": "N/A", "insp.allok": "Mark the rest OK", "insp.note": "Note", "insp.hazardnote": "What is wrong (required)",
      "insp.photos": "Photos", "insp.addphotos": "Add photos (JPEG/PNG/WebP)", "insp.uploading": "Uploading {n}…",
      "insp.uploaded": "Uploaded {n} (sha256 {s}…)", "insp.needphoto": "Upload at least one photo.",
      "insp.unanswered": "Not answered yet: {items}", "insp.reasons": "Reasons for returning (one per line)",
      "insp.hazardtext": "The hazard", "insp.severity": "Severity", "insp.sev.general": "general", "insp.sev.major": "major",
      "insp.incident_id": "Incident id", "insp.result": "Result", "insp.measures": "Measures taken",
      "insp.m.rectified_on_site": "rectified on site", "insp.m.rectification_order": "rectification order",
      "insp.m.fine": "fine", "insp.m.temporary_seal": "temporary seal", "insp.m.suspension": "suspension",
      "insp.m.referred": "referred", "insp.waiting": "waiting for: {who}", "insp.incident": "incident: {id}",
      "insp.escalation": "escalated: [{sev}] {hazard}", "insp.answers": "Self-check answers", "insp.item": "Item",
      "insp.answer": "Answer", "insp.decisions": "Decisions", "insp.reasonslist": "reasons: {r}",
      "insp.measureslist": "measures: {m}", "insp.audit": "audit #{n}", "insp.done": "Done: {a}",
      "insp.created.ok": "Registered {name}", "insp.opened": "Incident {n} opened",
      "role.building_manager": "building manager", "role.grid_worker": "grid worker", "role.fire_office": "fire office",
      "role.fire_police": "fire police", "role.case_centre": "case centre", "role.legal_review": "legal review",
    },
  });

  // chosen: the user has opened a file or the register form (the start-up choice must not replace it).
  const S = { who: null, ref: null, buildings: [], work: [], selected: null, file: null, draft: null, photoUrls: new Map(),
    chosen: false };

  const stateLabel = (s) => t("insp.st." + s);
  const roleLabel = (r) => t("role." + r);
  const itemLabel = (id) => { const c = (S.ref.checklist || []).find((x) => x.id === id); return c ? JY.label(c) : id; };
  const typeLabel = (ty) => JY.label((S.ref.building_types || {})[ty]) || ty;

  /** Show a failed request next to its form, marking the field the server named. */
  function showError(form, err) {
    form.querySelectorAll(".field-error").forEach((el) => el.classList.remove("field-error"));
    const field = err.details && err.details.field;
    if (field) {
      const el = form.querySelector(`[name="${CSS.escape(field)}"]`) || form.querySelector(`[data-field="${CSS.escape(field.split("[")[0])}"]`);
      if (el) el.classList.add("field-error");
    }
    const box = form.querySelector(".form-error");
    if (box) box.textContent = JY.errorText(err);
    else JY.toast(JY.errorText(err), "error");
  }

  // ---------------------------------------------------------------- lists
  function badges(b) {
    const o = b.open_inspection;
    return h("span.badges", null,
      o ? h("span.badge.st-" + o.state, { text: stateLabel(o.state) }) : null,
      o && o.due && o.due.overdue ? h("span.badge.overdue", { text: t("insp.overdue") }) : null,
      b.self_check_due && !o ? h("span.badge.due", { text: t("insp.selfdue") }) : null);
  }

  function renderList() {
    const ul = $("#buildings");
    if (!S.buildings.length) { ul.replaceChildren(h("li.empty", { text: t("insp.none") })); }
    else {
      ul.replaceChildren(...S.buildings.map((b) => h("li", { dataset: { id: b.id } },
        h("button.b-btn", { type: "button", "aria-current": S.selected === b.id ? "true" : "false", onclick: () => select(b.id) },
          h("strong", { text: b.name || b.address }),
          h("span.sub", { text: `${b.address} · ${t("insp.f.grid_id")} ${b.grid_id}` }),
          badges(b)))));
    }
    const wl = $("#worklist");
    const mine = S.work.filter((w) => w.my_actions.length);
    wl.replaceChildren(...(mine.length ? mine.map((w) => h("li", { dataset: { inspection: w.id } },
      h("button.b-btn", { type: "button", onclick: () => select(w.building_id) },
        h("strong", { text: w.building.name || w.building.address }),
        h("span.badges", null, h("span.badge.st-" + w.state, { text: stateLabel(w.state) }),
          w.due && w.due.overdue ? h("span.badge.overdue", { text: t("insp.overdue") }) : null))))
      : [h("li.empty", { text: t("insp.nowork") })]));
  }

  async function loadLists() {
    const q = $("#q").value.trim();
    const [bl, wl] = await Promise.all([
      JY.api("GET", "/api/buildings" + (q ? "?q=" + encodeURIComponent(q) : "")),
      JY.api("GET", "/api/inspections?state=open")]);
    S.buildings = bl.buildings;
    S.work = wl.inspections;
    renderList();
  }

  // ---------------------------------------------------------------- one building's file
  async function select(id) {
    S.chosen = true;
    S.selected = id;
    S.draft = null;
    history.replaceState(null, "", "?building=" + encodeURIComponent(id));
    renderList();
    $("#file").replaceChildren(h("p.loading", { text: t("insp.loading") }));
    await loadFile(id);
  }

  /** The building's file into the right-hand panel; a failure is shown there, in place of the file. */
  async function loadFile(id) {
    try {
      S.file = await JY.api("GET", "/api/buildings/" + encodeURIComponent(id));
    } catch (e) {
      S.file = null;
      $("#file").replaceChildren(h("p.error-text", { role: "alert", text: JY.errorText(e) }));
      return;
    }
    renderFile();
  }

  /** After a step was taken: the lists and the open file again, side by side. A failure here is not the
   * step's (it was recorded): it is shown as a notice, not in the step's form. */
  async function refresh() {
    await Promise.all([
      loadLists().catch((e) => JY.toast(JY.errorText(e), "error")),
      S.selected ? loadFile(S.selected) : null]);
  }

  function recordList(b) {
    const row = (k, v) => [h("dt", { text: t("insp.f." + k) }), h("dd", { text: v == null || v === "" ? "—" : String(v) })];
    return h("dl.record", null,
      row("address", b.address), row("building_code", b.building_code), row("building_type", typeLabel(b.building_type)),
      row("floors_above", b.floors_above), row("floors_below", b.floors_below), row("grid_id", b.grid_id),
      row("manager", `${b.manager.name} (${b.manager.id}) ${b.manager.phone}`), row("coords", `${b.lat}, ${b.lon}`),
      row("updated", `${JY.dateTime(b.updated_at)} · ${b.updated_by} · ${t("insp.version", { v: b.version })}`),
      row("last_check", b.last_self_check_at ? JY.dateTime(b.last_self_check_at) : t("never")));
  }

  function versionsBox(versions) {
    return h("details.versions", null, h("summary", { text: t("insp.versions", { n: versions.length }) }),
      h("ul.timeline", null, versions.map((v) => h("li", null,
        h("div.when", { text: `${JY.dateTime(v.at)} · ${v.by}` }),
        h("div", { text: t("insp.version", { v: v.version }) + " · " +
          (v.changed.length ? t("insp.changed", { f: v.changed.map((f) => t("insp.f." + f.replace("manager_", "manager."))).join(", ") }) : t("insp.created")) })))));
  }

  function photoFigure(ref) {
    const fig = h("figure", null, h("img", { alt: ref.name || ref.sha256.slice(0, 12), dataset: { sha: ref.sha256 } }),
      h("figcaption", { text: (ref.name || "") + " " + ref.sha256.slice(0, 8) }));
    showPhoto(fig.querySelector("img"), ref.sha256);
    return fig;
  }

  /** Photos need the token: fetched as blobs, shown from object URLs (one fetch per photo). */
  async function showPhoto(img, sha) {
    if (!S.file) return;
    let url = S.photoUrls.get(sha);
    if (!url) {
      try {
        const resp = await JY.api("GET", `/api/buildings/${encodeURIComponent(S.file.building.id)}/photos/${sha}`, undefined, { raw: true });
        url = URL.createObjectURL(await resp.blob());
        S.photoUrls.set(sha, url);
      } catch (e) { img.alt = JY.errorText(e); return; }
    }
    img.src = url;
  }

  function decisionText(d) {
    const x = d.details || {};
    const parts = [];
    if (x.reasons) parts.push(t("insp.reasonslist", { r: x.reasons.join("；") }));
    if (x.hazard) parts.push(t("insp.escalation", { sev: t("insp.sev." + x.severity), hazard: x.hazard }));
    if (x.incident_id) parts.push(t("insp.incident", { id: x.incident_id }));
    if (x.result) parts.push(x.result);
    if (x.measures && x.measures.length) parts.push(t("insp.measureslist", { m: x.measures.map((m) => t("insp.m." + m)).join(", ") }));
    if (x.hazards && x.hazards.length) parts.push(x.hazards.map(itemLabel).join(", "));
    if (x.note) parts.push(x.note);
    return parts.join(" · ");
  }

  function inspectionCard(insp) {
    const due = insp.due;
    return h("article.insp-card", { dataset: { id: insp.id, state: insp.state } },
      h("h3", null, h("span.badge.st-" + insp.state, { text: stateLabel(insp.state) }), " ",
        JY.dateTime(insp.self_checks[0] && insp.self_checks[0].submitted_at), " ",
        due ? h("span.badge" + (due.overdue ? ".overdue" : ""), { text: due.overdue ? t("insp.overdue") : t("insp.due", { d: JY.dateTime(due.deadline_at) }) }) : null),
      insp.waiting_for ? h("p.hint", { text: t("insp.waiting", { who: roleLabel(insp.waiting_for) }) }) : null,
      insp.incident_id ? h("p", { text: t("insp.incident", { id: insp.incident_id }) }) : null,
      insp.self_checks.slice().reverse().map((c) => h("section", null,
        h("h3", { text: t("insp.round", { n: c.round }) + ` · ${c.submitted_by} · ${JY.dateTime(c.submitted_at)}` }),
        h("table.simple", null, h("thead", null, h("tr", null, h("th", { text: t("insp.item") }), h("th", { text: t("insp.answer") }))),
          h("tbody", null, c.answers.map((a) => h("tr" + (a.result === "hazard" ? ".hazard-row" : ""), null,
            h("td", { text: itemLabel(a.item) }),
            h("td", null, a.result === "hazard" ? h("span.badge.hazard", { text: t("insp.hazard") }) : t(a.result === "ok" ? "insp.ok" : "insp.na"),
              a.note ? " " + a.note : ""))))),
        c.note ? h("p", { text: c.note }) : null,
        h("div.photos", null, c.photos.map(photoFigure)))),
      h("h3", { text: t("insp.decisions") }),
      h("ol.timeline", null, insp.decisions.map((d) => h("li", { dataset: { action: d.action } },
        h("div.when", { text: `${JY.dateTime(d.at)} · ${d.actor} (${roleLabel(d.role)}) · ${t("insp.audit", { n: d.audit_seq })}` }),
        h("strong", { text: t("insp.a." + d.action) }), " ", decisionText(d)))));
  }

  function renderFile() {
    const f = S.file;
    if (!f) return;
    const b = f.building;
    const open = f.inspections.find((i) => i.open) || null;
    const box = actionsBox(f, open);
    const kids = [
      h("h2#file-h", null, b.name || b.address, " ", badges(Object.assign({}, b, { open_inspection: open }))),
      recordList(b), versionsBox(f.versions), box,
      h("h2", { text: t("insp.history") }),
      f.inspections.length ? f.inspections.map(inspectionCard) : h("p.empty", { text: t("insp.nohistory") })];
    $("#file").replaceChildren(...kids.flat().filter(Boolean));
  }

  // ---------------------------------------------------------------- the steps the caller may take
  function actionsBox(f, open) {
    const forms = [];
    if (f.can_submit) forms.push(selfCheckForm("submit", null));
    for (const a of open ? open.my_actions : []) forms.push(stepForm(a, open));
    if (REGISTRARS.includes(S.who.role)) forms.push(correctToggle(f.building));
    if (!forms.length) return null;
    return h("section.actions-box", { "aria-labelledby": "do-h" }, h("h3#do-h", { text: t("insp.do") }), forms);
  }

  async function run(form, fn) {
    const btns = form.querySelectorAll("button");
    btns.forEach((x) => { x.disabled = true; });
    try {
      await fn();
    } catch (e) {
      showError(form, e);
    } finally {
      btns.forEach((x) => { x.disabled = false; });
    }
  }

  function textarea(name, label, required) {
    const id = "f-" + name + "-" + JY.uid();
    return [h("label", { for: id, text: label }), h("textarea", { id, name, rows: 2, required: required || null })];
  }

  function stepForm(action, insp) {
    if (action === "resubmit") return selfCheckForm("resubmit", insp);
    const url = `/api/inspections/${encodeURIComponent(insp.id)}/${action === "create_incident" ? "incident" : action}`;
    const kids = [];
    if (action === "return") kids.push(...textarea("reasons", t("insp.reasons"), true), ...textarea("note", t("insp.note")));
    if (action === "accept" || action === "close") kids.push(...textarea("note", t("insp.note"), action === "close"));
    if (action === "create_incident") kids.push(...textarea("note", t("insp.note")));
    if (action === "escalate") {
      kids.push(...textarea("hazard", t("insp.hazardtext"), true));
      const sid = "sev-" + JY.uid();
      kids.push(h("label", { for: sid, text: t("insp.severity") }),
        h("select", { id: sid, name: "severity" }, (S.ref.severities || []).map((s) => h("option", { value: s, text: t("insp.sev." + s) }))),
        ...textarea("note", t("insp.note")));
    }
    if (action === "link_incident") {
      const iid = "inc-" + JY.uid();
      kids.push(h("label", { for: iid, text: t("insp.incident_id") }), h("input", { id: iid, name: "incident_id", type: "text", required: true }));
    }
    if (action === "resolve") {
      kids.push(...textarea("result", t("insp.result"), true),
        h("fieldset", { "data-field": "measures" }, h("legend", { text: t("insp.measures") }),
          (S.ref.measures || []).map((m) => h("label.inline", null, h("input", { type: "checkbox", name: "measure", value: m }), t("insp.m." + m)))),
        ...textarea("note", t("insp.note")));
    }
    const danger = action === "return" || action === "escalate";
    const form = h("form", { dataset: { action }, novalidate: true }, h("fieldset", null,
      h("legend", { text: t("insp.a." + action) }), kids, h("p.form-error", { role: "alert" }),
      h("button" + (danger ? ".danger" : ".primary"), { type: "submit", text: t("insp.a." + action) })));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const val = (n) => { const el = form.querySelector(`[name="${n}"]`); return el ? el.value.trim() : ""; };
      const body = {};
      if (val("note")) body.note = val("note");
      if (action === "return") body.reasons = val("reasons").split("\n").map((x) => x.trim()).filter(Boolean);
      if (action === "escalate") { body.hazard = val("hazard"); body.severity = val("severity"); }
      if (action === "link_incident") body.incident_id = val("incident_id");
      if (action === "resolve") {
        body.result = val("result");
        body.measures = [...form.querySelectorAll('[name="measure"]:checked')].map((x) => x.value);
      }
      run(form, async () => {
        const res = await JY.api("POST", url, body);
        JY.toast(action === "create_incident" ? t("insp.opened", { n: res.incident.number }) : t("insp.done", { a: t("insp.a." + action) }), "ok");
        await refresh();
      });
    });
    return form;
  }

  /** The manager's self-check: every checklist item answered, photos uploaded (streamed, hashed by the server). */
  function selfCheckForm(action, insp) {
    const building = S.file.building;
    const draft = S.draft || (S.draft = { answers: {}, notes: {}, photos: [] });
    const items = (S.ref.checklist || []).map((c) => {
      const li = h("li", { dataset: { item: c.id } });
      const paint = () => {
        const res = draft.answers[c.id];
        li.classList.toggle("is-hazard", res === "hazard");
        note.hidden = res !== "hazard";
      };
      const note = h("input", { type: "text", name: `note-${c.id}`, "aria-label": t("insp.hazardnote"), placeholder: t("insp.hazardnote"), value: draft.notes[c.id] || "" });
      note.addEventListener("input", () => { draft.notes[c.id] = note.value; });
      const opts = [["ok", "insp.ok"], ["hazard", "insp.hazard"], ["not_applicable", "insp.na"]].map(([v, k]) => {
        const r = h("input", { type: "radio", name: `ans-${c.id}`, value: v, checked: draft.answers[c.id] === v || null });
        r.addEventListener("change", () => { draft.answers[c.id] = v; paint(); });
        return h("label", null, r, t(k));
      });
      li.append(h("div", { text: JY.label(c) }), h("div.opts", { role: "radiogroup", "aria-label": JY.label(c) }, opts), note);
      paint();
      return li;
    });
    const list = h("div.photos");
    const status = h("p.hint", { "aria-live": "polite" });
    const paintPhotos = () => list.replaceChildren(...draft.photos.map(photoFigure));
    const fileId = "photos-" + JY.uid();
    const input = h("input", { id: fileId, type: "file", accept: "image/jpeg,image/png,image/webp", multiple: true, name: "photos" });
    input.addEventListener("change", async () => {
      for (const file of [...input.files]) {
        status.textContent = t("insp.uploading", { n: file.name });
        try {
          const p = await uploadPhoto(building.id, file);
          if (!draft.photos.some((x) => x.sha256 === p.sha256)) draft.photos.push({ sha256: p.sha256, size: p.size, name: p.name || undefined });
          status.textContent = t("insp.uploaded", { n: file.name, s: p.sha256.slice(0, 12) });
          form.querySelector(".form-error").textContent = "";
        } catch (e) {
          status.textContent = "";
          JY.toast(file.name + ": " + JY.errorText(e), "error");
        }
      }
      input.value = "";
      paintPhotos();
    });
    const allOk = h("button", { type: "button", text: t("insp.allok"), onclick: () => {
      for (const c of S.ref.checklist) if (!draft.answers[c.id]) draft.answers[c.id] = "ok";
      renderFile();
    } });
    const noteId = "scnote-" + JY.uid();
    const form = h("form.selfcheck", { dataset: { action }, novalidate: true },
      h("h3", { text: t("insp.selfcheck") }), h("ul.check-items", { "data-field": "answers" }, items), allOk,
      h("label", { for: fileId, text: t("insp.addphotos") }), input, status, list,
      h("label", { for: noteId, text: t("insp.note") }), h("textarea", { id: noteId, name: "note", rows: 2 }),
      h("p.form-error", { role: "alert" }),
      h("button.primary", { type: "submit", text: t("insp.a." + action) }));
    paintPhotos();
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const missing = S.ref.checklist.filter((c) => !draft.answers[c.id]);
      if (missing.length) { form.querySelector(".form-error").textContent = t("insp.unanswered", { items: missing.map((c) => JY.label(c)).join("；") }); return; }
      if (!draft.photos.length) { form.querySelector(".form-error").textContent = t("insp.needphoto"); return; }
      const body = {
        answers: S.ref.checklist.map((c) => Object.assign({ item: c.id, result: draft.answers[c.id] },
          draft.answers[c.id] === "hazard" ? { note: (draft.notes[c.id] || "").trim() } : {})),
        photos: draft.photos,
      };
      const note = form.querySelector('[name="note"]').value.trim();
      if (note) body.note = note;
      const url = action === "submit" ? `/api/buildings/${encodeURIComponent(building.id)}/inspections`
        : `/api/inspections/${encodeURIComponent(insp.id)}/resubmit`;
      run(form, async () => {
        await JY.api("POST", url, body);
        S.draft = null;
        JY.toast(t("insp.done", { a: t("insp.a." + action) }), "ok");
        await refresh();
      });
    });
    return form;
  }

  /** The photo itself is the request body: streamed to the server, which hashes it as it arrives. */
  const uploadPhoto = (buildingId, file) =>
    JY.api("POST", `/api/buildings/${encodeURIComponent(buildingId)}/photos?name=${encodeURIComponent(file.name.slice(0, 200))}`, file);

  // ---------------------------------------------------------------- the record form (register, correct)
  function recordForm(b, onDone) {
    const v = (k) => (b ? (k.startsWith("manager.") ? b.manager[k.slice(8)] : b[k]) : "");
    const field = (k, type, attrs) => {
      const id = "rf-" + k.replace(".", "-") + "-" + JY.uid();
      return h("div", null, h("label", { for: id, text: t("insp.f." + k) }),
        h("input", Object.assign({ id, name: k, type: type || "text", value: v(k) ?? "" }, attrs || {})));
    };
    const tid = "rf-type-" + JY.uid();
    const form = h("form.record-form", { novalidate: true, dataset: { form: b ? "correct" : "register" } },
      field("name"), field("building_code"), field("address"),
      h("div.two", null, field("lat", "number", { step: "any" }), field("lon", "number", { step: "any" })),
      h("label", { for: tid, text: t("insp.f.building_type") }),
      h("select", { id: tid, name: "building_type" }, Object.keys(S.ref.building_types || {}).map((k) =>
        h("option", { value: k, text: typeLabel(k), selected: b && b.building_type === k ? true : null }))),
      h("div.two", null, field("floors_above", "number"), field("floors_below", "number")),
      field("grid_id"), field("manager.id"), field("manager.name"), field("manager.phone"),
      h("p.form-error", { role: "alert" }),
      h("div.row", null, h("button.primary", { type: "submit", text: t(b ? "insp.a.save" : "insp.register") }),
        h("button", { type: "button", text: t("insp.a.cancel"), onclick: () => onDone(null) })));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const val = (k) => form.querySelector(`[name="${k}"]`).value.trim();
      const num = (k) => (val(k) === "" ? null : Number(val(k)));
      const body = { name: val("name") || null, building_code: val("building_code") || null, address: val("address"),
        lat: num("lat"), lon: num("lon"), building_type: val("building_type"), floors_above: num("floors_above"),
        floors_below: num("floors_below") ?? 0, grid_id: val("grid_id"),
        manager: { id: val("manager.id"), name: val("manager.name"), phone: val("manager.phone") } };
      run(form, async () => {
        const res = b ? await JY.api("PUT", "/api/buildings/" + encodeURIComponent(b.id), body)
          : await JY.api("POST", "/api/buildings", body);
        onDone(res);
      });
    });
    return form;
  }

  function correctToggle(b) {
    const holder = h("div");
    const open = h("button", { type: "button", text: t("insp.a.correct"), onclick: () => {
      holder.replaceChildren(recordForm(b, async (res) => {
        if (res) JY.toast(t("insp.done", { a: t("insp.a.correct") }), "ok");
        await refresh();
      }));
    } });
    holder.append(open);
    return holder;
  }

  function registerForm() {
    S.chosen = true;
    S.selected = null;
    renderList();
    $("#file").replaceChildren(h("h2#file-h", { text: t("insp.register") }), recordForm(null, async (res) => {
      if (!res) { $("#file").replaceChildren(h("h2#file-h", { text: t("insp.file") }), h("p.empty", { text: t("insp.pick") })); return; }
      JY.toast(t("insp.created.ok", { name: res.name || res.address }), "ok");
      await loadLists();
      select(res.id);
    }));
  }

  // ---------------------------------------------------------------- start
  async function main() {
    JY.initPage();
    S.who = await JY.signIn({ mount: $("#signin-mount"), content: $("#content"), roles: ROLES });
    S.ref = await JY.api("GET", "/api/inspections/reference");
    $("#search").addEventListener("submit", (ev) => { ev.preventDefault(); loadLists(); });
    const nb = $("#new-building");
    nb.hidden = !REGISTRARS.includes(S.who.role);
    nb.addEventListener("click", registerForm);
    JY.onLang(() => { renderList(); if (S.file) renderFile(); });
    await loadLists();
    // The file to open at start (the link's, or the only one), unless the user opened something while the
    // lists were loading: a register form being filled in must not be replaced by it.
    if (S.chosen) return;
    const want = new URLSearchParams(location.search).get("building");
    if (want) select(want);
    else if (S.buildings.length === 1) select(S.buildings[0].id);
  }
  main();
})();
