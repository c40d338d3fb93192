// The settings form: GET /api/settings fills it, PUT /api/settings saves a partial patch.
// The page only checks that numbers are numbers and hours are in order; the ranges live in
// one place, the daemon's config model, whose 422 message is shown with the form's words.

const FIELDS = {
  sit_limit_min: { id: "set-sit-limit", key: "rules.sit_limit_min", name: "The sit limit" },
  min_break_min: { id: "set-min-break", key: "rules.min_break_s", name: "The break length (in seconds)" },
  sensitivity: { id: "set-sensitivity", key: "analysis.sensitivity", name: "The sensitivity" },
};

export class Settings {
  constructor(form, api, onAuthError, onSaved = () => {}) {
    this.form = form;
    this.api = api;
    this.onAuthError = onAuthError;
    this.onSaved = onSaved;
    this.summary = document.getElementById("settings-summary");
    this.status = document.getElementById("settings-status");
    this.always = document.getElementById("set-always");
    this.from = document.getElementById("set-hours-from");
    this.to = document.getElementById("set-hours-to");
    this.dnd = document.getElementById("set-dnd");
    this.always.addEventListener("change", () => this.syncHours());
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.save();
    });
  }

  input(key) {
    return document.getElementById(FIELDS[key].id);
  }

  say(text, kind) {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  syncHours() {
    this.from.disabled = this.to.disabled = this.always.checked;
  }

  fill(s) {
    const rules = s.rules || {};
    const analysis = s.analysis || {};
    this.input("sit_limit_min").value = rules.sit_limit_min ?? "";
    this.input("min_break_min").value = rules.min_break_s != null ? +(rules.min_break_s / 60).toFixed(2) : "";
    this.input("sensitivity").value = analysis.sensitivity ?? "";
    const hours = rules.working_hours;
    this.always.checked = !hours;
    if (hours) {
      const [a, b] = hours.split("-");
      this.from.value = a.trim().padStart(5, "0");
      this.to.value = b.trim().padStart(5, "0");
    }
    this.dnd.checked = !!rules.do_not_disturb;
    this.syncHours();
    // the folded card says what is set, so it rarely needs opening
    const parts = [];
    if (rules.sit_limit_min != null) parts.push(`get up after ${rules.sit_limit_min} min`);
    if (rules.min_break_s != null) parts.push(`a break counts after ${+(rules.min_break_s / 60).toFixed(2)} min`);
    parts.push(hours ? `reminders ${hours.replace("-", "–")}` : "reminders any time");
    if (rules.do_not_disturb) parts.push("do not disturb");
    if (this.summary) this.summary.textContent = parts.join(" · ");
  }

  async load() {
    try {
      this.fill(await this.api.get("/api/settings"));
    } catch (err) {
      this.say(`Could not load the settings: ${err.message}`, "error");
    }
  }

  // -> [patch, null] or [null, message]
  collect() {
    const values = {};
    for (const [key, f] of Object.entries(FIELDS)) {
      const el = this.input(key);
      const v = Number(el.value);
      const bad = el.value.trim() === "" || !isFinite(v);
      el.setAttribute("aria-invalid", String(bad));
      if (bad) {
        el.focus();
        return [null, `${f.name} must be a number.`];
      }
      values[key] = v;
    }
    let hours = null;
    if (!this.always.checked) {
      if (!this.from.value || !this.to.value || this.from.value >= this.to.value) {
        this.from.focus();
        return [null, "Working hours must start before they end (or tick “Any time”)."];
      }
      hours = `${this.from.value}-${this.to.value}`;
    }
    return [
      {
        rules: {
          sit_limit_min: values.sit_limit_min,
          min_break_s: Math.round(values.min_break_min * 60),
          working_hours: hours,
          do_not_disturb: this.dnd.checked,
        },
        analysis: { sensitivity: values.sensitivity },
      },
      null,
    ];
  }

  async save() {
    const [patch, problem] = this.collect();
    if (problem) {
      this.say(problem, "error");
      return;
    }
    this.say("Saving…", "busy");
    try {
      this.fill(await this.api.request("PUT", "/api/settings", patch));
      this.say("Saved. Applied now.", "ok");
      this.onSaved();
    } catch (err) {
      if (err.status === 401 || err.status === 403) this.onAuthError(err);
      this.say(this.explain(err.message), "error");
    }
  }

  // "rules.sit_limit_min = 2: Input should be ..." -> "The sit limit = 2: Input should be ..."
  explain(message) {
    let text = String(message);
    for (const f of Object.values(FIELDS)) {
      // with or without the section ("rules.sit_limit_min" or "sit_limit_min")
      for (const key of [f.key, f.key.split(".").pop()]) {
        if (text.includes(key)) {
          text = text.split(key).join(f.name);
          document.getElementById(f.id).setAttribute("aria-invalid", "true");
        }
      }
    }
    return text;
  }
}
