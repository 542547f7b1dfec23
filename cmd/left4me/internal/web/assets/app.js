// left4me web panel: live refresh, the console, the spec editor. Served
// from /static (the CSP allows no inline script). Text from servers is
// put in with textContent only; HTML fragments come escaped from the
// server's templates.
"use strict";

function post(url, fields) {
  const body = new URLSearchParams(fields);
  return fetch(url, { method: "POST", body: body, credentials: "same-origin" });
}

// Elements with data-live are refreshed from that URL every 3 s.
function live(el) {
  const url = el.dataset.live;
  const target = el.tagName === "TABLE" ? el.tBodies[0] : el;
  setInterval(async () => {
    try {
      const r = await fetch(url, { credentials: "same-origin" });
      if (r.ok) target.innerHTML = await r.text();
    } catch (e) { /* the next round tries again */ }
  }, 3000);
}

function consoleForm(form) {
  const out = document.getElementById("console-out");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const cmd = form.elements.cmd.value;
    const r = await post(form.action, { csrf: form.elements.csrf.value, cmd: cmd });
    out.textContent += "] " + cmd + "\n" + (await r.text());
    out.scrollTop = out.scrollHeight;
    form.elements.cmd.value = "";
  });
}

function editor(ed) {
  const name = ed.dataset.name, csrf = ed.dataset.csrf;
  const text = document.getElementById("text");
  const gutter = document.getElementById("gutter");
  const notes = document.getElementById("notes");
  const overlays = document.getElementById("overlays");
  const preview = document.getElementById("preview");
  const result = document.getElementById("result");
  let timer = null, seq = 0;

  function lines(problems) {
    const n = text.value.split("\n").length;
    const byLine = {};
    for (const p of problems) (byLine[p.line] = byLine[p.line] || []).push(p);
    gutter.replaceChildren(); notes.replaceChildren();
    for (let i = 1; i <= n; i++) {
      const g = document.createElement("div");
      g.textContent = String(i);
      const m = document.createElement("div");
      m.dataset.line = String(i);
      const ps = byLine[i] || [];
      if (ps.length) {
        g.className = "bad";
        m.className = ps.some((p) => !p.warning) ? "bad" : "warn";
        m.textContent = ps.map((p) => p.text).join("; ");
        m.title = m.textContent;
      }
      gutter.appendChild(g); notes.appendChild(m);
    }
    // Problems of the file as a whole (line 0) go first in the result box.
    const whole = problems.filter((p) => !p.line).map((p) => p.text);
    result.textContent = whole.join("\n");
    sync();
  }
  function sync() { gutter.scrollTop = text.scrollTop; notes.scrollTop = text.scrollTop; }

  function show(c) {
    lines(c.problems);
    if (!c.valid && c.overlays.length === 0 && c.config.length === 0) return; // keep the last good stack
    overlays.replaceChildren();
    c.overlays.forEach((o, i) => {
      const li = document.createElement("li");
      const box = document.createElement("input");
      box.type = "checkbox"; box.checked = o.expose; box.id = "expose-" + i;
      box.addEventListener("change", () => expose(i, box.checked));
      const label = document.createElement("label");
      label.htmlFor = box.id;
      label.textContent = " " + o.path + (o.alias ? " — server.cfg exposed as server_" + o.alias + ".cfg" : " — expose server.cfg");
      li.append(box, label);
      overlays.appendChild(li);
    });
    preview.replaceChildren();
    c.config.forEach((l, i) => {
      const s = document.createElement("span");
      if (i < c.auto) s.className = "auto";
      s.textContent = l + (i < c.auto ? "   # auto" : "") + "\n";
      preview.appendChild(s);
    });
  }

  async function check() {
    const mine = ++seq;
    const r = await post("/spec/" + name + "/check", { csrf: csrf, text: text.value });
    if (!r.ok || mine !== seq) return;
    show(await r.json());
  }
  async function expose(i, on) {
    const r = await post("/spec/" + name + "/expose", { csrf: csrf, text: text.value, index: String(i), on: String(on) });
    const j = await r.json();
    if (j.error) { result.textContent = j.error; return; }
    text.value = j.text;
    check();
  }
  text.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 250); });
  text.addEventListener("scroll", sync);
  document.getElementById("save").addEventListener("click", async () => {
    const r = await post("/spec/" + name + "/save", { csrf: csrf, text: text.value });
    const j = await r.json();
    result.textContent = r.ok ? "saved\n" + j.output : "not saved: " + j.error + "\n" + (j.output || "");
  });
  document.getElementById("render").addEventListener("click", async () => {
    // The text as it is in the editor, saved or not.
    const r = await post("/spec/" + name + "/render", { csrf: csrf, text: text.value });
    result.textContent = await r.text();
  });
  check();
}

// The server's output, one event per line, kept to the last 500 lines.
function stream(pre) {
  const es = new EventSource(pre.dataset.stream);
  es.onmessage = (ev) => {
    const line = document.createElement("span");
    line.textContent = ev.data + "\n";
    pre.appendChild(line);
    while (pre.childNodes.length > 500) pre.removeChild(pre.firstChild);
    pre.scrollTop = pre.scrollHeight;
  };
}

// The login link carries its token in the fragment (#token=...), which
// the browser never sends: not to this server's logs, not to a proxy's.
// It goes into the form the button posts, and out of the address bar.
function loginToken(field) {
  const m = /^#token=([A-Za-z0-9_-]+)$/.exec(window.location.hash);
  if (!m) return;
  field.value = m[1];
  history.replaceState(null, "", window.location.pathname);
}

// A link opened where a panel page is shown already (/login after a
// refused one) changes only the fragment: no page loads. Load it.
window.addEventListener("hashchange", () => {
  if (/^#token=/.test(window.location.hash)) window.location.reload();
});

document.addEventListener("DOMContentLoaded", () => {
  const lt = document.getElementById("login-token");
  if (lt) loginToken(lt);
  document.querySelectorAll("[data-live]").forEach(live);
  document.querySelectorAll("[data-stream]").forEach(stream);
  const cf = document.getElementById("console");
  if (cf) consoleForm(cf);
  const ed = document.getElementById("editor");
  if (ed) editor(ed);
});
