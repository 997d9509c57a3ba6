// Compare page: one websocket, one panel per model, deltas appended as they arrive.
(() => {
  "use strict";
  const root = document.getElementById("compare");
  if (!root) return;
  const form = document.getElementById("compare-form");
  const grid = document.getElementById("panel-grid");
  const empty = document.getElementById("panels-empty");
  const summary = document.getElementById("run-summary");
  const runBtn = document.getElementById("run-btn");
  const stopBtn = document.getElementById("stop-btn");
  const conn = document.getElementById("conn");
  const formError = document.getElementById("form-error");
  const picker = document.getElementById("model-picker");
  const filter = document.getElementById("model-filter");
  const count = document.getElementById("model-count");
  const template = document.getElementById("panel-template");
  const voteBar = document.getElementById("vote-bar");
  const voteChoices = document.getElementById("vote-choices");
  const voteResult = document.getElementById("vote-result");
  const maxModels = Number(root.dataset.maxModels);
  const ACK_EVERY = 16;
  const ESTIMATED = new Set(["estimated", "partly_estimated"]);

  let socket = null;
  let received = 0;
  let currentRun = null;
  let currentRunForVote = null; // currentRun is cleared when the run ends; the vote needs it after
  let pendingRun = false;
  let retryDelay = 500;
  let blindRun = false; // the run in view was started blind and is not voted on yet
  const panels = new Map(); // completion code -> panel state

  // ---- model picker -------------------------------------------------------
  const boxes = () => Array.from(picker.querySelectorAll("input[type=checkbox]"));
  function updateCount() {
    const chosen = boxes().filter((b) => b.checked).length;
    count.textContent = `${chosen} / ${maxModels}`;
    boxes().forEach((b) => { b.disabled = !b.checked && chosen >= maxModels; });
  }
  picker.addEventListener("change", () => {
    updateCount();
    remember();
  });
  // The person's last choice of models, used when the page opens without one (none came
  // from the Models page, a prompt or a run: the server ticked nothing).
  const CHOICE_KEY = "playground.compare.models";
  function remember() {
    try {
      localStorage.setItem(CHOICE_KEY, JSON.stringify(boxes().filter((b) => b.checked).map((b) => b.value)));
    } catch { /* storage off: nothing to remember */ }
  }
  if (!boxes().some((b) => b.checked)) {
    let last = [];
    try { last = JSON.parse(localStorage.getItem(CHOICE_KEY) || "[]"); } catch { last = []; }
    if (Array.isArray(last)) {
      boxes().forEach((b) => { b.checked = last.includes(b.value) && last.indexOf(b.value) < maxModels; });
    }
  }
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    picker.querySelectorAll(".model-option").forEach((el) => {
      el.hidden = q && !el.dataset.search.includes(q);
    });
    picker.querySelectorAll("fieldset").forEach((fs) => {
      fs.hidden = !fs.querySelector(".model-option:not([hidden])");
    });
  });
  updateCount();

  // ---- socket -------------------------------------------------------------
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${root.dataset.wsPath}`);
    received = 0;
    socket.addEventListener("open", () => {
      retryDelay = 500;
      setConn("Connected", "ok");
    });
    socket.addEventListener("message", (event) => {
      received += 1;
      // Flow control: tell the server how far we have read, so a busy tab slows it down
      // (deltas are merged server-side) instead of piling frames up in memory.
      if (received % ACK_EVERY === 0) send({ type: "ack", frames: received });
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      handle(frame);
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4401) { setConn("Signed out: reload the page to log in again", "error"); return; }
      setConn("Disconnected, reconnecting…", "warn");
      for (const p of panels.values()) {
        if (!p.done) finishPanel(p, "interrupted", "badge-error", "The connection dropped before this answer finished.");
      }
      runEnded();
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    });
  }
  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function setConn(text, kind) {
    conn.textContent = text;
    conn.dataset.state = kind;
  }

  // ---- running ------------------------------------------------------------
  // The run frame the form describes, or null (with the reason shown) when it is incomplete.
  function buildFrame() {
    const models = boxes().filter((b) => b.checked).map((b) => b.value);
    const system = form.elements.system.value;
    const prompt = form.elements.prompt.value;
    if (!models.length) { showError("Choose at least one model."); return null; }
    if (!prompt.trim()) { showError("Write a user message."); return null; }
    const messages = [];
    if (system.trim()) messages.push({ role: "system", content: system });
    messages.push({ role: "user", content: prompt });
    const params = {};
    const temperature = form.elements.temperature.value;
    const maxTokens = form.elements.max_tokens.value;
    if (temperature !== "") params.temperature = Number(temperature);
    if (maxTokens !== "") params.max_tokens = Number(maxTokens);
    const effort = form.elements.reasoning_effort.value;
    const thinking = form.elements.thinking_budget.value;
    if (effort) params.reasoning_effort = effort;
    if (thinking !== "") params.thinking_budget = Number(thinking);
    showError("");
    const branch = form.elements.branch ? form.elements.branch.value : "";
    return { type: "run", branch, models, messages, params };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (currentRun || pendingRun) return;
    const frame = buildFrame();
    if (!frame) return;
    if (!send(frame)) {
      return showError("Not connected to the server yet; try again in a moment.");
    }
    pendingRun = true;
    blindRun = form.elements.blind.checked && frame.models.length > 1;
    runBtn.disabled = true;
    runBtn.textContent = "Starting…";
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  stopBtn.addEventListener("click", () => {
    if (currentRun) send({ type: "stop", run: currentRun });
  });

  function showError(message) {
    formError.textContent = message;
    formError.hidden = !message;
  }

  function runEnded() {
    currentRun = null;
    pendingRun = false;
    runBtn.disabled = false;
    runBtn.textContent = "Run";
    stopBtn.disabled = true;
  }

  // ---- frames ---------------------------------------------------------------
  function handle(frame) {
    switch (frame.type) {
      case "run.started": return startRun(frame);
      case "delta": return delta(frame);
      case "completion.done": return done(frame);
      case "completion.error": return failed(frame);
      case "completion.notice": return notice(frame);
      case "run.done": return runDone(frame);
      case "error":
        if (pendingRun) { runEnded(); }
        return showError(frame.message);
      default: return undefined;
    }
  }

  function startRun(frame) {
    currentRun = frame.run;
    currentRunForVote = frame.run;
    pendingRun = false;
    runBtn.textContent = "Running…";
    stopBtn.disabled = false;
    empty.hidden = true;
    summary.hidden = true;
    grid.textContent = "";
    panels.clear();
    voteBar.hidden = true;
    grid.dataset.count = String(frame.completions.length);
    // On a narrow screen the answers are below the form: bring them into view.
    if (window.matchMedia("(max-width: 900px)").matches) {
      document.getElementById("panels").scrollIntoView({ block: "start", behavior: "smooth" });
    }
    grid.classList.toggle("blind", blindRun);
    const t0 = performance.now();
    // Blind: the panels in a random order, labelled A, B, C… until the vote.
    const order = blindRun ? shuffled(frame.completions) : frame.completions;
    order.forEach((c, n) => {
      const el = template.content.firstElementChild.cloneNode(true);
      el.dataset.completion = c.id;
      const label = String.fromCharCode(65 + n);
      if (blindRun) {
        el.dataset.label = label;
        el.querySelector(".panel-model").textContent = `Model ${label}`;
        el.querySelector(".panel-live-model").textContent = `Model ${label}:`;
      } else {
        el.dataset.model = c.model;
        el.querySelector(".panel-model").textContent = c.model;
        el.querySelector(".panel-live-model").textContent = `${c.model}:`;
      }
      const notes = el.querySelector(".panel-notes");
      for (const n of c.notes || []) {
        const li = document.createElement("li");
        li.textContent = n;
        notes.append(li);
      }
      const p = {
        id: c.id, el, t0, firstAt: null, done: false, model: c.model, label,
        text: el.querySelector(".panel-text"),
        reasoning: el.querySelector(".panel-reasoning"),
        status: el.querySelector(".panel-status"),
        stop: el.querySelector(".panel-stop"),
        top: el.querySelector(".panel-top"),
        body: el.querySelector(".panel-body"),
        estimated: false,
      };
      p.stop.addEventListener("click", () => send({ type: "stop", completion: c.id }));
      p.top.addEventListener("click", () => {
        p.body.scrollTop = 0;
        p.body.focus({ preventScroll: true });
      });
      panels.set(c.id, p);
      grid.append(el);
    });
    tick();
  }

  function tick() {
    let live = false;
    const now = performance.now();
    for (const p of panels.values()) {
      if (p.done) continue;
      live = true;
      setStat(p, ".s-latency", fmtMs(now - p.t0));
    }
    if (live) setTimeout(tick, 100);
  }

  function delta(frame) {
    const p = panels.get(frame.completion);
    if (!p || p.done) return;
    if (p.firstAt === null) {
      p.firstAt = performance.now();
      setStat(p, ".s-ttft", fmtMs(p.firstAt - p.t0));
      setStatus(p, "streaming", "badge-streaming");
    }
    if (frame.reasoning) {
      p.reasoning.hidden = false;
      p.reasoning.querySelector("pre").append(frame.reasoning);
    }
    if (frame.text) {
      // Follow the stream while the reader is at the bottom; leave them where they scrolled to.
      const body = p.body;
      const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 24;
      p.text.append(frame.text);
      if (atBottom) body.scrollTop = body.scrollHeight;
    }
  }

  function done(frame) {
    const p = panels.get(frame.completion);
    if (!p) return;
    const cancelled = frame.status === "cancelled";
    finishPanel(p, cancelled ? "stopped" : "done", cancelled ? "badge-warn" : "badge-ok");
    if (frame.html && !cancelled) {
      // Server-rendered markdown, sanitised there (markdown-it + nh3).
      const atBottom = p.body.scrollHeight - p.body.scrollTop - p.body.clientHeight < 24;
      p.text.innerHTML = frame.html;
      if (atBottom) p.body.scrollTop = p.body.scrollHeight;
      p.text.classList.add("markdown");
    }
    if (frame.ttft_ms != null) setStat(p, ".s-ttft", fmtMs(frame.ttft_ms));
    if (frame.latency_ms != null) setStat(p, ".s-latency", fmtMs(frame.latency_ms));
    setStat(p, ".s-speed", frame.tokens_per_s != null ? `${frame.tokens_per_s} tok/s` : "—");
    const u = frame.usage;
    const reasoningNote = u && u.reasoning_tokens ? ` (${u.reasoning_tokens} reasoning)` : "";
    setStat(p, ".s-tokens", u ? `${u.prompt_tokens ?? "?"} / ${u.completion_tokens ?? "?"}${reasoningNote}` : estimatedTokens(frame.cost_lines));
    const thinking = p.reasoning.querySelector("pre").textContent;
    if (thinking) {
      const count = u && u.reasoning_tokens ? `${u.reasoning_tokens} tokens` : `~${Math.max(1, Math.round(thinking.length / 4))} tokens, estimated`;
      p.reasoning.querySelector("summary").textContent = `Thinking · ${count}`;
    }
    setCost(p, frame.cost, frame.cost_source, frame.price_source, frame.cost_lines);
  }

  function failed(frame) {
    const p = panels.get(frame.completion);
    if (!p) return;
    // An error after the stream started keeps the response's 200: show it as a stream error.
    const httpError = frame.status != null && frame.status >= 400;
    finishPanel(p, httpError ? `error ${frame.status}` : "error", "badge-error");
    const box = p.el.querySelector(".panel-error");
    box.hidden = false;
    box.textContent = "";
    const title = document.createElement("strong");
    title.textContent = errorTitle(frame);
    const msg = document.createElement("div");
    msg.textContent = frame.message;
    box.append(title, msg);
    if (frame.retry_after != null) {
      const hint = document.createElement("div");
      hint.className = "muted small";
      hint.textContent = `Retry after ${frame.retry_after} s.`;
      box.append(hint);
    }
    if (frame.code) {
      const code = document.createElement("code");
      code.textContent = frame.code;
      box.append(code);
    }
    setCost(p, frame.cost, frame.cost_source);
    setStat(p, ".s-latency", fmtMs(performance.now() - p.t0));
  }

  function notice(frame) {
    const p = panels.get(frame.completion);
    if (p) addNotes(p, [frame.message]);
  }

  function runDone(frame) {
    if (frame.run !== currentRun) return;
    runEnded();
    summary.hidden = false;
    const n = panels.size;
    // A total that includes an estimate is an estimate: "~" as on the panels.
    const estimated = Array.from(panels.values()).some((p) => p.estimated);
    const cost = frame.cost != null ? `${estimated ? "~" : ""}${fmtCost(frame.cost)}${frame.cost_complete === false ? " (some costs unknown)" : ""}` : "unknown";
    summary.textContent = `${n} model${n === 1 ? "" : "s"} · total cost ${cost}`;
    summary.dataset.full = summary.textContent;
    if (blindRun) {
      summary.textContent = `${n} models · blind: costs and names show after your vote`;
      showVote();
    }
  }

  // ---- get code -------------------------------------------------------------
  const codeDialog = document.getElementById("code-dialog");
  const codeText = document.getElementById("code-text");
  const codeTabs = document.getElementById("code-tabs");
  const codeStatus = document.getElementById("code-status");
  let codeSnippets = {};
  let codeLanguage = "python";
  function showSnippet(language) {
    codeLanguage = language;
    codeText.textContent = codeSnippets[language] || "";
    codeTabs.querySelectorAll("button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.language === language)));
    codeStatus.textContent = "";
  }
  document.getElementById("code-btn").addEventListener("click", async () => {
    const frame = buildFrame();
    if (!frame) return;
    let data;
    try {
      const response = await fetch(root.dataset.codeUrl, {
        method: "POST", body: JSON.stringify(frame), credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
      });
      data = await response.json();
      if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    } catch (err) {
      showError(`Cannot make the code: ${err.message}`);
      return;
    }
    codeSnippets = data.snippets;
    showSnippet(codeLanguage);
    codeDialog.showModal();
  });
  codeTabs.addEventListener("click", (event) => {
    const btn = event.target.closest("button[data-language]");
    if (btn) showSnippet(btn.dataset.language);
  });
  document.getElementById("code-copy").addEventListener("click", async () => {
    const text = codeText.textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard API (an insecure context): copy the selection instead.
      const range = document.createRange();
      range.selectNodeContents(codeText);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    codeStatus.textContent = "Copied";
  });
  document.getElementById("code-close").addEventListener("click", () => codeDialog.close());

  // ---- blind votes ----------------------------------------------------------
  function shuffled(items) {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
  function showVote() {
    const list = Array.from(panels.values());
    const runCode = currentRunForVote;
    voteChoices.textContent = "";
    voteResult.hidden = true;
    const choices = list.map((p) => [list.length === 2 ? p.label : `${p.label} is best`, "best", p]);
    if (list.length === 2) choices.push(["Tie", "tie", null], ["Both bad", "both_bad", null]);
    for (const [text, verdict, p] of choices) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "btn btn-sm";
      btn.textContent = text;
      btn.dataset.verdict = verdict;
      btn.addEventListener("click", () => castVote(runCode, verdict, p));
      voteChoices.append(btn);
    }
    voteBar.hidden = false;
  }
  async function castVote(runCode, verdict, winner) {
    const body = new FormData();
    body.append("verdict", verdict);
    if (winner) body.append("winner", winner.id);
    const url = root.dataset.voteUrl.replace("00000000-0000-0000-0000-000000000000", runCode);
    voteChoices.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    let data = null;
    try {
      const response = await fetch(url, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
      });
      data = await response.json();
      if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    } catch (err) {
      voteChoices.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      voteResult.hidden = false;
      voteResult.textContent = `Vote not recorded: ${err.message}`;
      return;
    }
    reveal(data.models);
    if (winner) winner.el.classList.add("voted-best");
    const verdicts = { tie: "a tie", both_bad: "both bad" };
    voteResult.hidden = false;
    voteResult.textContent = "";
    voteResult.append(`Vote recorded: ${winner ? `${winner.label} (${winner.model}) is best` : verdicts[verdict]}. `);
    const link = document.createElement("a");
    link.href = root.dataset.leaderboardUrl;
    link.textContent = "Leaderboard";
    voteResult.append(link);
  }
  function reveal(models) {
    blindRun = false;
    grid.classList.remove("blind");
    for (const p of panels.values()) {
      const model = models[p.id] || p.model;
      p.el.dataset.model = model;
      p.el.querySelector(".panel-model").textContent = `${p.label} · ${model}`;
      p.el.querySelector(".panel-live-model").textContent = `${model}:`;
    }
    summary.textContent = summary.dataset.full || "";
  }

  // ---- helpers --------------------------------------------------------------
  function finishPanel(p, label, badge, message) {
    p.done = true;
    p.stop.hidden = true;
    // After the end, a long answer can be scrolled back to its start in one step.
    requestAnimationFrame(() => { p.top.hidden = p.body.scrollHeight <= p.body.clientHeight; });
    setStatus(p, label, badge);
    if (message) {
      const box = p.el.querySelector(".panel-error");
      box.hidden = false;
      box.textContent = message;
    }
  }
  function addNotes(p, notes) {
    const ul = p.el.querySelector(".panel-notes");
    for (const n of notes) {
      const li = document.createElement("li");
      li.textContent = n;
      ul.append(li);
    }
  }
  function setStatus(p, label, badge) {
    p.status.textContent = label;
    p.status.className = `badge panel-status ${badge}`;
    p.el.dataset.status = label;
  }
  function setStat(p, selector, value) {
    p.el.querySelector(selector).textContent = value;
  }
  function setCost(p, cost, source, priceSource, lines) {
    const el = p.el.querySelector(".s-cost");
    if (cost == null) {
      const labels = {
        unpriced: ["no price", "This model's price is unknown."],
        not_billed: ["none", "Refused before any output: nothing is billed."],
      };
      const [text, title] = labels[source] || ["unknown", "The gateway sent no usage."];
      el.textContent = text;
      el.title = title;
      return;
    }
    p.estimated = ESTIMATED.has(source);
    el.textContent = `${p.estimated ? "~" : ""}${fmtCost(cost)}`;
    const parts = [p.estimated ? "Estimated: the gateway sent no usage, tokens were counted locally." : "Computed from the gateway's usage."];
    for (const line of lines || []) {
      parts.push(`${line.bucket}: ${line.tokens} tokens × $${line.rate}/1M${line.tier ? ` (${line.tier})` : ""}`);
    }
    if (priceSource) parts.push(`Price: ${priceSource}`);
    el.title = parts.join("\n");
    if (priceSource && priceSource.startsWith("team override")) el.textContent += " (team price)";
  }
  function errorTitle(frame) {
    const titles = {
      400: "Bad request", 401: "Invalid or missing credential", 403: "Not allowed", 404: "Not found",
      413: "Request too large", 429: "Rate limited", 500: "Gateway error", 502: "Upstream failed",
      503: "Gateway unavailable", 504: "Gateway timeout",
    };
    if (frame.status == null || frame.status < 400) {
      const streamTitles = {
        stream_cut: "Stream cut", malformed_sse: "Malformed stream", connection_error: "Cannot reach the gateway",
        connect_timeout: "Timed out", read_timeout: "Timed out", log_failed: "Not logged",
      };
      return streamTitles[frame.code] || (frame.status == null ? "Network error" : "Error mid-stream");
    }
    return titles[frame.status] || `HTTP ${frame.status}`;
  }
  function fmtMs(ms) {
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
  }
  // As the Usage pages write a cost: $1,234.50; $0.000123 (to the millionth); $0.00.
  function fmtCost(cost) {
    const n = Number(cost);
    if (n === 0) return "$0.00";
    if (Math.abs(n) >= 1) return `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    if (Math.abs(n) < 0.000001) return "<$0.000001";
    const [whole, fraction = ""] = n.toFixed(6).replace(/0+$/, "").split(".");
    return `$${whole}.${fraction.padEnd(2, "0")}`;
  }
  // Tokens the gateway did not report, as counted locally for the estimated cost.
  function estimatedTokens(lines) {
    const count = (bucket) => (lines || []).find((l) => l.bucket === bucket)?.tokens;
    const input = count("input");
    const output = count("output");
    if (input == null && output == null) return "unavailable";
    return `~${input ?? "?"} / ~${output ?? "?"}`;
  }

  connect();
})();
