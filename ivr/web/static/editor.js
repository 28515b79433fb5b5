// The dialplan editor: line numbers with problem markers, checks as you type (debounced,
// one request in flight), the diff against the live version, publish and the simulator.
// Plain JS, no build step; every request carries the session's CSRF token.
(function () {
  "use strict";
  const root = document.getElementById("editor");
  if (!root) return;
  const id = root.dataset.dialplan, csrf = root.dataset.csrf;
  const yaml = document.getElementById("yaml"), gutter = document.getElementById("gutter");
  const problemsEl = document.getElementById("problems"), status = document.getElementById("check-status");
  const publishBtn = document.getElementById("publish"), publishStatus = document.getElementById("publish-status");
  const diffEl = document.getElementById("diff");
  let problems = new Map(), timer = null, inFlight = false, dirty = false, checkedText = null, ok = false;

  function api(action, body) {
    return fetch("/api/dialplans/" + encodeURIComponent(id) + "/" + action, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body),
    }).then(function (resp) {
      return resp.json().catch(function () { return {error: {message: "HTTP " + resp.status}}; })
        .then(function (data) { data._status = resp.status; return data; });
    });
  }

  function drawGutter() {
    const count = yaml.value.split("\n").length;
    const frag = document.createDocumentFragment();
    for (let n = 1; n <= count; n++) {
      const line = document.createElement("div");
      line.textContent = String(n);
      line.dataset.line = String(n);
      if (problems.has(n)) {
        line.className = "bad";
        line.title = problems.get(n).join("\n");
      }
      frag.appendChild(line);
    }
    gutter.replaceChildren(frag);
    gutter.scrollTop = yaml.scrollTop;
  }

  function goToLine(n) {
    const lines = yaml.value.split("\n");
    let start = 0;
    for (let i = 0; i < n - 1 && i < lines.length; i++) start += lines[i].length + 1;
    yaml.focus();
    yaml.setSelectionRange(start, start + (lines[n - 1] || "").length);
    const lineHeight = parseFloat(getComputedStyle(yaml).lineHeight) || 18;
    yaml.scrollTop = Math.max(0, (n - 4) * lineHeight);
  }

  function showProblems(list) {
    problems = new Map();
    problemsEl.replaceChildren();
    list.forEach(function (p) {
      if (!problems.has(p.line)) problems.set(p.line, []);
      problems.get(p.line).push(p.message);
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "#yaml";
      a.textContent = p.text;
      a.addEventListener("click", function (ev) { ev.preventDefault(); goToLine(p.line); });
      li.appendChild(a);
      problemsEl.appendChild(li);
    });
    drawGutter();
  }

  function check() {
    if (inFlight) { dirty = true; return; }
    inFlight = true; dirty = false;
    const text = yaml.value;
    status.textContent = "Checking… 检查中";
    api("check", {text: text}).then(function (data) {
      if (data.error) {
        status.textContent = "Check failed: " + (data.error.message || data.error);
        return;
      }
      checkedText = text;
      ok = data.ok;
      showProblems(data.problems || []);
      status.textContent = data.ok ? "No problems 没有问题"
        : data.problems.length + " problem(s) 个问题";
      status.className = data.ok ? "ok" : "problem";
      diffEl.textContent = data.diff === null ? (data.note || "")
        : (data.changed ? data.diff : "No changes against live v" + data.live_version + ". 与当前版本相同。");
      publishBtn.disabled = !data.ok || !data.changed;
    }).catch(function (err) {
      status.textContent = "Check failed: " + err;
    }).finally(function () {
      inFlight = false;
      if (dirty) schedule();
    });
  }

  function schedule() {
    publishBtn.disabled = true;
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  }

  yaml.addEventListener("input", function () { drawGutter(); schedule(); });
  yaml.addEventListener("scroll", function () { gutter.scrollTop = yaml.scrollTop; });
  yaml.addEventListener("keydown", function (ev) {
    if (ev.key === "Tab") {  // YAML indents with spaces
      ev.preventDefault();
      yaml.setRangeText("  ", yaml.selectionStart, yaml.selectionEnd, "end");
      drawGutter(); schedule();
    }
  });

  publishBtn.addEventListener("click", function () {
    if (!ok || checkedText !== yaml.value) return;
    publishBtn.disabled = true;
    publishStatus.textContent = "Publishing… 发布中";
    api("publish", {text: yaml.value, note: document.getElementById("note").value})
      .then(function (data) {
        if (data.error) {
          publishStatus.textContent = "Not published: " + data.error.message;
          publishStatus.className = "problem";
          if (data.problems) showProblems(data.problems);
          return;
        }
        publishStatus.className = "ok";
        publishStatus.textContent = data.unchanged ? "Unchanged: v" + data.version + " is live."
          : "Published v" + data.version + ". New calls use it; calls in progress keep their version. 已发布 v" + data.version + "。";
        setTimeout(function () { window.location.assign("/admin/dialplans/" + encodeURIComponent(id) + "?published=" + data.version); }, 1200);
      }).catch(function (err) { publishStatus.textContent = "Not published: " + err; });
  });

  // Simulator ----------------------------------------------------------------------------
  const simBtn = document.getElementById("simulate"), simStatus = document.getElementById("sim-status");
  const path = document.getElementById("path");

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function drawPath(sim) {
    path.replaceChildren();
    sim.steps.forEach(function (step) {
      const li = el("li", "step");
      li.dataset.node = step.node;
      const head = el("div", "step-head");
      head.appendChild(el("span", "mono node", step.node));
      head.appendChild(el("span", "badge", step.kind));
      step.caller.forEach(function (c) { head.appendChild(el("span", "caller", "caller " + c)); });
      li.appendChild(head);
      if (step.heard.length) {
        const heard = el("ul", "heard");
        step.heard.forEach(function (h) { heard.appendChild(el("li", null, "▸ [" + h.language + "] " + h.text)); });
        li.appendChild(heard);
      }
      const langs = Object.keys(step.prompts).filter(function (l) { return step.prompts[l].length; });
      if (langs.length) {
        const table = el("dl", "langs");
        langs.forEach(function (lang) {
          table.appendChild(el("dt", null, lang));
          table.appendChild(el("dd", null, step.prompts[lang].join(" / ")));
        });
        li.appendChild(table);
      }
      step.notes.forEach(function (n) { li.appendChild(el("div", "muted note-line", "→ " + n)); });
      path.appendChild(li);
    });
    const end = el("li", "end");
    end.appendChild(el("strong", null, "Outcome 结果: " + sim.outcome + (sim.queue ? " → " + sim.queue : "")));
    if (sim.error) end.appendChild(el("span", "muted", " (" + sim.error + ")"));
    if (sim.unused_inputs) end.appendChild(el("span", "muted", " " + sim.unused_inputs + " input(s) not used"));
    path.appendChild(end);
  }

  simBtn.addEventListener("click", function () {
    simBtn.disabled = true;
    simStatus.textContent = "Simulating… 模拟中";
    api("simulate", {text: yaml.value, inputs: document.getElementById("sim-inputs").value,
                     language: document.getElementById("sim-language").value,
                     caller: document.getElementById("sim-caller").value})
      .then(function (data) {
        if (data.error) {
          simStatus.textContent = data.error.message;
          if (data.problems) showProblems(data.problems);
          return;
        }
        simStatus.textContent = "";
        drawPath(data.simulation);
      }).catch(function (err) { simStatus.textContent = "Failed: " + err; })
      .finally(function () { simBtn.disabled = false; });
  });

  drawGutter();
  check();
})();
