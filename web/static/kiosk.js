/* Citizen kiosk: choose a case template, fill it with inline validation, submit, get a receipt.
 * While the citizen types, the draft is sent (debounced) to /api/kiosk/drafts so the duty console
 * sees it live. Templates come from /api/kiosk/templates (fields, required, validation, zh/en labels). */
(function () {
  "use strict";
  const { h, t, $ } = JY;

  JY.i18n({
    zh: {
      "kiosk.title": "自助报案", "kiosk.emergency": "紧急情况请立即拨打 110。", "kiosk.choose": "您要报告什么？",
      "kiosk.required": "带 * 的为必填项。", "kiosk.submit": "提交报案", "kiosk.submitting": "正在提交…",
      "kiosk.back": "返回", "kiosk.thanks": "您的报案已受理", "kiosk.receipt": "您的回执编号：",
      "kiosk.receipt.hint": "请记下此编号。值班民警已收到您的报案。", "kiosk.new": "开始新的报案", "kiosk.print": "打印回执",
      "kiosk.reset": "{n} 秒后返回首页。", "kiosk.none": "暂无可用的报案类型，请联系值班民警。",
      "kiosk.err.required": "请填写此项。", "kiosk.err.pattern": "格式不正确。", "kiosk.err.min": "至少 {n} 个字。",
      "kiosk.err.max": "最多 {n} 个字。", "kiosk.err.num": "请输入数字。", "kiosk.err.lo": "不能小于 {n}。", "kiosk.err.hi": "不能大于 {n}。",
      "kiosk.err.phone": "请输入有效的电话号码。", "kiosk.err.fix": "请修改标红的 {n} 项后再提交。",
      "kiosk.err.submit": "提交失败：{msg}", "kiosk.choose.option": "请选择…", "kiosk.yes": "是",
    },
    en: {
      "kiosk.title": "Self-service report", "kiosk.emergency": "In an emergency, call 110 now.", "kiosk.choose": "What do you want to report?",
      "kiosk.required": "Fields marked * are required.", "kiosk.submit": "Submit report", "kiosk.submitting": "Submitting…",
      "kiosk.back": "Back", "kiosk.thanks": "Your report has been received", "kiosk.receipt": "Your receipt number:",
      "kiosk.receipt.hint": "Keep this number. An officer on duty has your report now.", "kiosk.new": "Start a new report", "kiosk.print": "Print receipt",
      "kiosk.reset": "Returning to the start in {n} s.", "kiosk.none": "No report types are available; please ask the officer on duty.",
      "kiosk.err.required": "This field is required.", "kiosk.err.pattern": "This is not in the expected format.",
      "kiosk.err.min": "At least {n} characters.", "kiosk.err.max": "At most {n} characters.", "kiosk.err.num": "Enter a number.",
      "kiosk.err.lo": "Must be at least {n}.", "kiosk.err.hi": "Must be at most {n}.", "kiosk.err.phone": "Enter a valid phone number.",
      "kiosk.err.fix": "Please correct the {n} highlighted field(s) and submit again.",
      "kiosk.err.submit": "Could not submit: {msg}", "kiosk.choose.option": "Choose…", "kiosk.yes": "Yes",
    },
  });

  const S = { templates: [], tpl: null, draftId: null, draftTimer: 0, resetTimer: 0, idleTimer: 0, serverErrors: {} };
  const fid = (f) => String(f.name ?? f.id ?? f.key);
  const tid = (tp) => String(tp.id ?? tp.name ?? tp.key);
  const fieldLabel = (f) => JY.label(f.label ?? f.labels ?? f.title) || fid(f);

  async function loadTemplates() {
    const box = $("#templates");
    box.replaceChildren(h("p.loading", { text: t("loading") }));
    try {
      const r = await JY.api("GET", "/api/kiosk/templates");
      S.templates = Array.isArray(r) ? r : r.templates || [];
      renderTemplates();
    } catch (e) {
      box.replaceChildren(h("p.error-text", { role: "alert", text: JY.errorText(e) }),
        h("button", { type: "button", text: t("retry"), onclick: loadTemplates }));
    }
  }

  function renderTemplates() {
    const box = $("#templates");
    if (!S.templates.length) { box.replaceChildren(h("p.empty", { text: t("kiosk.none") })); return; }
    box.replaceChildren(...S.templates.map((tp) => h("button", { type: "button", dataset: { template: tid(tp) }, onclick: () => choose(tp) },
      h("strong", { text: JY.label(tp.label ?? tp.labels ?? tp.title ?? tp.name) || tid(tp) }),
      tp.description ? h("span", { text: JY.label(tp.description) }) : null)));
  }

  function choose(tp) {
    S.tpl = tp;
    S.draftId = JY.uid("d");
    S.serverErrors = {};
    $("#step-choose").hidden = true;
    $("#step-form").hidden = false;
    renderForm({});
    const first = $("#report input, #report select, #report textarea");
    if (first) first.focus();
    sendDraft();
  }

  function values() {
    const out = {};
    for (const f of S.tpl.fields || []) {
      const el = document.getElementById("f-" + fid(f));
      if (!el) continue;
      out[fid(f)] = el.type === "checkbox" ? el.checked : el.value.trim();
    }
    return out;
  }

  function renderForm(vals) {
    const tp = S.tpl;
    $("#form-h").textContent = JY.label(tp.label ?? tp.labels ?? tp.title ?? tp.name) || tid(tp);
    $("#form-desc").textContent = tp.description ? JY.label(tp.description) : "";
    const form = $("#report");
    const rows = (tp.fields || []).map((f) => {
      const id = "f-" + fid(f);
      const type = f.type || "text";
      const v = vals[fid(f)] ?? f.default ?? "";
      const common = { id, name: fid(f), "aria-describedby": id + "-err" + (f.help ? " " + id + "-help" : ""), required: f.required || null };
      let input;
      if (type === "textarea" || type === "longtext") input = h("textarea", Object.assign({ rows: 4 }, common), v);
      else if (type === "select" || type === "choice" || f.options || f.choices) {
        const opts = f.options || f.choices || [];
        input = h("select", common, h("option", { value: "", text: t("kiosk.choose.option") }),
          opts.map((o) => {
            const val = typeof o === "object" ? String(o.value ?? o.id) : String(o);
            return h("option", { value: val, selected: val === String(v) || null, text: typeof o === "object" ? JY.label(o.label ?? o.labels) || val : val });
          }));
      } else if (type === "checkbox" || type === "boolean" || type === "bool") {
        input = h("input", Object.assign({ type: "checkbox", checked: v === true || null }, common));
      } else {
        const htmlType = { phone: "tel", tel: "tel", number: "text", integer: "text", money: "text", amount: "text", date: "date", datetime: "datetime-local", time: "time", email: "email" }[type] || "text";
        input = h("input", Object.assign({ type: htmlType, value: v, autocomplete: "off",
          inputmode: ["number", "integer", "money", "amount"].includes(type) ? "decimal" : type === "phone" || type === "tel" ? "tel" : null,
          maxlength: f.max_length || f.maxLength || null }, common));
      }
      // Leaving a field the citizen has not touched yet says nothing; leaving an edited one checks it.
      input.addEventListener("blur", () => { if (input.dataset.touched) validateField(f, true); });
      input.addEventListener("input", () => {
        input.dataset.touched = "1"; delete S.serverErrors[fid(f)]; if (input.getAttribute("aria-invalid") === "true") validateField(f, true); scheduleDraft(); });
      input.addEventListener("change", scheduleDraft);
      const isCheck = input.type === "checkbox";
      return h("div.field", { dataset: { field: fid(f) } },
        isCheck ? h("label", { for: id }, input, fieldLabel(f), f.required ? h("span.req", { "aria-hidden": "true", text: " *" }) : null)
          : [h("label", { for: id }, fieldLabel(f), f.required ? h("span.req", { "aria-hidden": "true", text: " *" }) : null), input],
        f.help || f.hint ? h("p.hint", { id: id + "-help", text: JY.label(f.help || f.hint) }) : null,
        h("p.ferr", { id: id + "-err", "aria-live": "polite" }));
    });
    const summary = h("p.error-text#form-error", { role: "alert" });
    const submit = h("button.primary.big#submit", { type: "submit", text: t("kiosk.submit") });
    const back = h("button.big", { type: "button", text: t("kiosk.back"), onclick: reset });
    form.replaceChildren(...rows, summary, h("div.form-actions", null, submit, back));
  }

  function ruleError(f, v) {
    const type = f.type || "text";
    const empty = v === "" || v === false || v == null;
    if (empty) return f.required ? t("kiosk.err.required") : "";
    if (typeof v !== "string") return "";
    const min = f.min_length ?? f.minLength, max = f.max_length ?? f.maxLength;
    if (min != null && [...v].length < min) return t("kiosk.err.min", { n: min });
    if (max != null && [...v].length > max) return t("kiosk.err.max", { n: max });
    if (["number", "integer", "money", "amount"].includes(type)) {
      const n = Number(v);
      if (!isFinite(n) || (type === "integer" && !Number.isInteger(n))) return t("kiosk.err.num");
      if (f.min != null && n < f.min) return t("kiosk.err.lo", { n: f.min });
      if (f.max != null && n > f.max) return t("kiosk.err.hi", { n: f.max });
    }
    if ((type === "phone" || type === "tel") && !f.pattern && !/^\+?[0-9][0-9 \-]{4,19}$/.test(v)) return t("kiosk.err.phone");
    if (f.pattern) {
      try { if (!new RegExp("^(?:" + f.pattern + ")$", "u").test(v)) return JY.label(f.pattern_message || f.error) || t("kiosk.err.pattern"); } catch (e) { /* server validates */ }
    }
    return "";
  }

  function validateField(f, show) {
    const el = document.getElementById("f-" + fid(f));
    if (!el) return true;
    const v = el.type === "checkbox" ? el.checked : el.value.trim();
    const msg = S.serverErrors[fid(f)] || ruleError(f, v);
    if (show) {
      el.setAttribute("aria-invalid", msg ? "true" : "false");
      document.getElementById("f-" + fid(f) + "-err").textContent = msg;
    }
    return !msg;
  }

  function scheduleDraft() {
    clearTimeout(S.draftTimer);
    S.draftTimer = setTimeout(sendDraft, 600);
    bumpIdle();
  }
  async function sendDraft() {
    if (!S.tpl) return;
    try {
      await JY.api("POST", "/api/kiosk/drafts", { draft_id: S.draftId, template_id: tid(S.tpl), fields: values() });
    } catch (e) {
      // The citizen can still submit; the console only misses the live preview. Log for the technician.
      console.warn("draft not sent", e);
    }
  }

  async function submit(ev) {
    ev.preventDefault();
    const fields = S.tpl.fields || [];
    let bad = 0;
    let firstBad = null;
    for (const f of fields) {
      if (!validateField(f, true)) { bad++; firstBad = firstBad || document.getElementById("f-" + fid(f)); }
    }
    const summary = $("#form-error");
    if (bad) { summary.textContent = t("kiosk.err.fix", { n: bad }); firstBad.focus(); return; }
    summary.textContent = "";
    const btn = $("#submit");
    btn.disabled = true;
    btn.textContent = t("kiosk.submitting");
    clearTimeout(S.draftTimer);
    try {
      const r = await JY.api("POST", "/api/kiosk/reports", { draft_id: S.draftId, template_id: tid(S.tpl), fields: values(), lang: JY.lang });
      showReceipt(r.receipt || r.receipt_number || r.number || (r.report && r.report.receipt) || "");
    } catch (e) {
      // Map the server's per-field errors onto the fields; anything else goes in the summary.
      const errs = [].concat(e.details && e.details.errors ? e.details.errors : e.details && e.details.field ? [e.details] : []);
      let mapped = 0;
      for (const x of errs) {
        const name = x.field || x.name;
        if (name && document.getElementById("f-" + name)) {
          S.serverErrors[name] = JY.label(x.message_i18n || x.messages) || x.message || e.message;
          const f = fields.find((ff) => fid(ff) === name);
          if (f) validateField(f, true);
          if (!mapped) document.getElementById("f-" + name).focus();
          mapped++;
        }
      }
      summary.textContent = mapped ? t("kiosk.err.fix", { n: mapped }) + " " + e.message : t("kiosk.err.submit", { msg: JY.errorText(e) });
      btn.disabled = false;
      btn.textContent = t("kiosk.submit");
    }
  }

  function showReceipt(receipt) {
    $("#step-form").hidden = true;
    const box = $("#step-receipt");
    box.hidden = false;
    $("#receipt-number").textContent = receipt;
    box.focus();
    let n = 120;
    const tick = () => {
      $("#reset-hint").textContent = t("kiosk.reset", { n });
      if (n-- <= 0) reset();
    };
    tick();
    clearInterval(S.resetTimer);
    S.resetTimer = setInterval(tick, 1000);
  }

  function reset() {
    clearInterval(S.resetTimer);
    clearTimeout(S.draftTimer);
    clearTimeout(S.idleTimer);
    S.tpl = null;
    $("#report").replaceChildren();
    $("#step-receipt").hidden = true;
    $("#step-form").hidden = true;
    $("#step-choose").hidden = false;
    const first = $("#templates button");
    if (first) first.focus();
  }

  // A form left alone for 5 minutes is cleared, so the next citizen does not see it.
  function bumpIdle() {
    clearTimeout(S.idleTimer);
    S.idleTimer = setTimeout(() => { if (S.tpl) reset(); }, 5 * 60 * 1000);
  }

  async function main() {
    JY.initPage();
    await JY.signIn({ mount: $("#signin-mount"), content: $("#content"), roles: ["kiosk"] });
    $("#report").addEventListener("submit", submit);
    $("#new-report").addEventListener("click", reset);
    $("#print-receipt").addEventListener("click", () => window.print());
    JY.onLang(() => {
      renderTemplates();
      if (S.tpl && !$("#step-form").hidden) { const v = values(); renderForm(v); }
    });
    loadTemplates();
  }
  main();
})();
