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
  // Each model's conversation so far (user and assistant turns), sent with a follow-up.
  let threads = {};
  let sentPrompt = ""; // the user message of the run in view
  let sentImages = 0; // how many images went with it
  let lastRun = null; // the run in view, also after it ended (retry, add, export)

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
      // 4012: the server is restarting (its answers were logged as interrupted).
      setConn(event.code === 4012 ? "The server is restarting, reconnecting…" : "Disconnected, reconnecting…", "warn");
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
    // Earlier turns of a prompt opened from the library come first.
    const prior = form.elements.prior ? JSON.parse(form.elements.prior.value || "[]") : [];
    messages.push(...prior);
    if (images.length) {
      const parts = [{ type: "text", text: prompt }, ...images.map((url) => ({ type: "image_url", image_url: { url } }))];
      messages.push({ role: "user", content: parts });
    } else {
      messages.push({ role: "user", content: prompt });
    }
    const params = {};
    const temperature = form.elements.temperature.value;
    const maxTokens = form.elements.max_tokens.value;
    if (temperature !== "") params.temperature = Number(temperature);
    if (maxTokens !== "") params.max_tokens = Number(maxTokens);
    const effort = form.elements.reasoning_effort.value;
    const thinking = form.elements.thinking_budget.value;
    if (effort) params.reasoning_effort = effort;
    if (thinking !== "") params.thinking_budget = Number(thinking);
    for (const key of ["top_p", "seed", "presence_penalty", "frequency_penalty"]) {
      if (form.elements[key].value !== "") params[key] = Number(form.elements[key].value);
    }
    const stop = form.elements.stop.value.split(",").map((s) => s.trim()).filter(Boolean);
    if (stop.length) params.stop = stop;
    showError("");
    const branch = form.elements.branch ? form.elements.branch.value : "";
    const frame = { type: "run", branch, models, messages, params };
    if (!sameForAll.checked) frame.model_params = perModelParams(models);
    const schemaText = form.elements.response_schema.value.trim();
    if (schemaText) {
      try {
        frame.response_schema = JSON.parse(schemaText);
      } catch (err) {
        showError(`The JSON schema is not JSON: ${err.message}`);
        return null;
      }
    }
    // Tools: checked on the server (names, parameters as JSON schemas), refused with where.
    const toolsText = form.elements.tools.value.trim();
    if (toolsText) {
      try {
        frame.tools = JSON.parse(toolsText);
      } catch (err) {
        showError(`The tools are not JSON: ${err.message}`);
        return null;
      }
    }
    // The prompt version or the run this one comes from, when opened from one.
    for (const key of ["prompt_version", "rerun_of"]) {
      if (form.elements[key] && form.elements[key].value) frame[key] = form.elements[key].value;
    }
    return frame;
  }

  form.addEventListener("submit", (event) => {
    // "Save as prompt" posts the form to the server as it is.
    if (event.submitter && event.submitter.formAction && event.submitter.hasAttribute("formaction")) return;
    event.preventDefault();
    if (currentRun || pendingRun) return;
    const frame = buildFrame();
    if (!frame) return;
    const followUp = {};
    for (const model of frame.models) if (threads[model]) followUp[model] = threads[model];
    if (Object.keys(followUp).length) frame.threads = followUp;
    const estimate = preflight(frame);
    const limit = Number(root.dataset.confirmUsd);
    if (estimate.worst > limit && !window.confirm(`The worst case of this run is about ${fmtCost(estimate.worst)} (every model writing its max tokens), above the team's ${fmtCost(limit)}. Run it?`)) {
      return;
    }
    // Blind: the server's frames then name no model until the vote (nor notes and costs, which tell one).
    const blind = form.elements.blind.checked && frame.models.length > 1;
    if (blind) frame.blind = true;
    if (!send(frame)) {
      return showError("Not connected to the server yet; try again in a moment.");
    }
    pendingRun = true;
    // A thread keeps the text of a turn; the images went with the turn they were sent in.
    sentPrompt = form.elements.prompt.value;
    sentImages = images.length;
    blindRun = blind;
    runBtn.disabled = true;
    runBtn.textContent = "Starting…";
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  // Esc stops everything streaming (a run, a retried panel, added models).
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
    if (currentRun) send({ type: "stop", run: currentRun });
    for (const p of panels.values()) if (!p.done) send({ type: "stop", completion: p.id });
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
      case "completion.started": return extension(frame);
      case "delta": return delta(frame);
      case "completion.tool_call": return toolCall(frame);
      case "deltas": return frame.deltas.forEach(delta);
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
    lastRun = frame.run;
    runTools.hidden = true;
    const t0 = performance.now();
    // Blind: the panels in a random order, labelled A, B, C… until the vote.
    const order = blindRun ? shuffled(frame.completions) : frame.completions;
    order.forEach((c, n) => grid.append(makePanel(c, String.fromCharCode(65 + n), t0).el));
    tick();
  }

  function makePanel(c, label, t0) {
    const el = template.content.firstElementChild.cloneNode(true);
    el.dataset.completion = c.id;
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
      tools: el.querySelector(".panel-tools"),
      callList: el.querySelector(".panel-calls"),
      calls: new Map(), // call index -> its elements
      toolCalls: [],
      estimated: false,
      raw: "",
      stats: null,
    };
    showHistory(p, threads[c.model]);
    wireTools(p);
    p.stop.addEventListener("click", () => send({ type: "stop", completion: c.id }));
    p.top.addEventListener("click", () => {
      p.body.scrollTop = 0;
      p.body.focus({ preventScroll: true });
    });
    // Follow the stream while the reader is at the bottom; leave them where they scrolled to.
    // Only the reader scrolling up stops following (text growing between a scroll and its
    // event must not); scrolling back to the bottom starts it again.
    p.follow = true;
    p.lastTop = 0;
    p.body.addEventListener("scroll", () => {
      const top = p.body.scrollTop;
      if (top < p.lastTop - 1) p.follow = false;
      else if (p.body.scrollHeight - top - p.body.clientHeight < 24) p.follow = true;
      p.lastTop = top;
    });
    if (window.ResizeObserver) {
      // The text grows or is redrawn, bars appear: keep following; once finished, offer
      // "Start" while the answer is taller than its panel.
      const watch = new ResizeObserver(() => {
        if (p.follow) p.body.scrollTop = p.body.scrollHeight;
        if (p.done) p.top.hidden = p.body.scrollHeight <= p.body.clientHeight;
      });
      watch.observe(p.body);
      watch.observe(p.text);
    }
    panels.set(c.id, p);
    return p;
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

  function firstToken(p) {
    if (p.firstAt !== null) return;
    p.firstAt = performance.now();
    setStat(p, ".s-ttft", fmtMs(p.firstAt - p.t0));
    setStatus(p, "streaming", "badge-streaming");
  }

  function delta(frame) {
    const p = panels.get(frame.completion);
    if (!p || p.done) return;
    firstToken(p);
    if (frame.reasoning) {
      p.reasoning.hidden = false;
      p.reasoning.querySelector("pre").append(frame.reasoning);
    }
    if (frame.text) {
      // Follow the stream while the reader is at the bottom; leave them where they scrolled to.
      const body = p.body;
      p.raw += frame.text;
      scheduleLive(p);
    }
  }

  // A tool call streams in: its name when it opens, then its arguments growing (text nodes only).
  function toolCall(frame) {
    const p = panels.get(frame.completion);
    if (!p || p.done) return;
    firstToken(p);
    const call = callElements(p, frame.index);
    if (frame.name) call.name.append(frame.name);
    if (frame.arguments) call.args.append(frame.arguments);
  }
  function callElements(p, index) {
    let call = p.calls.get(index);
    if (!call) {
      const el = document.createElement("li");
      el.className = "tool-call";
      const head = document.createElement("div");
      head.className = "tool-call-head";
      const label = document.createElement("span");
      label.className = "muted small";
      label.textContent = "Tool call ";
      const name = document.createElement("code");
      name.className = "tool-call-name";
      head.append(label, name);
      const args = document.createElement("pre");
      args.className = "tool-call-args";
      el.append(head, args);
      call = { el, name, args };
      p.calls.set(index, call);
      p.callList.hidden = false;
      p.callList.append(el);
    }
    return call;
  }

  // When the answer ends: each call whole, and whether its arguments fit its tool's parameters.
  function settleCalls(p, calls) {
    p.toolCalls = calls || [];
    for (const c of p.toolCalls) {
      const call = callElements(p, c.index);
      call.name.textContent = c.name;
      call.args.textContent = c.arguments;
      const check = document.createElement("div");
      check.className = `tool-call-check ${c.check.valid ? "schema-ok" : "schema-bad"}`;
      check.textContent = c.check.valid ? `✓ The arguments fit ${c.name}'s parameters.` : `✗ ${c.check.error}`;
      call.el.append(check);
    }
  }

  function done(frame) {
    const p = panels.get(frame.completion);
    if (!p) return;
    const cancelled = frame.status === "cancelled";
    if (frame.status === "interrupted") {
      finishPanel(p, "interrupted", "badge-error", "The server restarted before this answer finished; it is logged with the text above.");
    } else {
      finishPanel(p, cancelled ? "stopped" : "done", cancelled ? "badge-warn" : "badge-ok");
    }
    settleLive(p);
    if (frame.html && !cancelled) {
      // Server-rendered markdown, sanitised there (markdown-it + nh3).
      p.text.innerHTML = frame.html;
      if (p.follow) p.body.scrollTop = p.body.scrollHeight;
      p.text.classList.add("markdown");
      p.text.classList.remove("live");
    }
    if (frame.ttft_ms != null) setStat(p, ".s-ttft", fmtMs(frame.ttft_ms));
    if (frame.latency_ms != null) setStat(p, ".s-latency", fmtMs(frame.latency_ms));
    setStat(p, ".s-speed", frame.tokens_per_s != null ? `${frame.tokens_per_s} tok/s` : "—");
    const u = frame.usage;
    const reasoningNote = u && u.reasoning_tokens ? ` (${u.reasoning_tokens} reasoning)` : "";
    // Partly estimated (a stopped Anthropic stream): the input as the gateway reported it, the output counted here.
    const outputMark = frame.cost_source === "partly_estimated" ? "~" : "";
    setStat(p, ".s-tokens", u ? `${u.prompt_tokens ?? "?"} / ${u.completion_tokens != null ? outputMark : ""}${u.completion_tokens ?? "?"}${reasoningNote}` : estimatedTokens(frame.cost_lines));
    const thinking = p.reasoning.querySelector("pre").textContent;
    if (thinking) {
      const count = u && u.reasoning_tokens ? `${u.reasoning_tokens} tokens` : `~${Math.max(1, Math.round(thinking.length / 4))} tokens, estimated`;
      p.reasoning.querySelector("summary").textContent = `Thinking · ${count}`;
    }
    setCost(p, frame.cost, frame.cost_source, frame.price_source, frame.cost_lines);
    if (!cancelled) {
      p.stats = {
        cost: frame.cost != null ? Number(frame.cost) : null,
        ttft: frame.ttft_ms, speed: frame.tokens_per_s, words: words(p.raw).length,
      };
    }
    if (frame.tool_calls) settleCalls(p, frame.tool_calls);
    if (frame.schema) {
      const check = document.createElement("li");
      check.className = frame.schema.valid ? "schema-ok" : "schema-bad";
      check.textContent = frame.schema.valid ? "✓ The answer fits the JSON schema." : `✗ Does not fit the JSON schema: ${frame.schema.error}`;
      p.el.querySelector(".panel-notes").append(check);
    }
    p.tools.hidden = false;
    if (!currentRun) afterRun();
  }

  function failed(frame) {
    const p = panels.get(frame.completion);
    if (!p) return;
    // An error after the stream started keeps the response's 200: show it as a stream error.
    const httpError = frame.status != null && frame.status >= 400;
    finishPanel(p, httpError ? `error ${frame.status}` : "error", "badge-error");
    settleLive(p);
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
      if (frame.status === 429) {
        const clock = document.createElement("div");
        clock.className = "small retry-clock";
        box.append(clock);
        countdown(p, clock, frame.retry_after);
      }
    }
    p.tools.hidden = false;
    if (frame.code) {
      const code = document.createElement("code");
      code.textContent = frame.code;
      box.append(code);
    }
    setCost(p, frame.cost, frame.cost_source);
    setStat(p, ".s-latency", fmtMs(performance.now() - p.t0));
    if (!currentRun) afterRun();
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
    lastRunDone = frame;
    summary.textContent = summaryText(frame);
    // A blind run's panels are threaded once the vote names their models (reveal).
    if (!blindRun) recordTurn();
    if (panels.size) {
      form.elements.prompt.value = "";
      images = [];
      drawImages();
    }
    if (blindRun) {
      summary.textContent = `${n} models · blind: costs and names show after your vote`;
      showVote();
    }
    afterRun();
  }

  let lastRunDone = null; // the run.done frame of the run in view
  function summaryText(frame) {
    const n = panels.size;
    // A total that includes an estimate is an estimate: "~" as on the panels.
    const estimated = Array.from(panels.values()).some((p) => p.estimated);
    const cost = frame.cost != null ? `${estimated ? "~" : ""}${fmtCost(frame.cost)}${frame.cost_complete === false ? " (some costs unknown)" : ""}` : "unknown";
    return `${n} model${n === 1 ? "" : "s"} · total cost ${cost}`;
  }
  // Each panel's thread grows by this turn: the message sent and its own answer.
  function recordTurn() {
    for (const p of panels.values()) {
      if (p.el.dataset.status !== "done" || p.extends) continue;
      threads[p.model] = [...(threads[p.model] || []), sentTurn(), { role: "assistant", content: answerText(p) }];
    }
  }

  // ---- markdown while streaming ------------------------------------------------
  // The streaming answer is drawn as markdown at most every LIVE_MS, in the browser, from
  // DOM nodes and text only (no HTML is ever parsed, so nothing needs sanitising); when the
  // answer ends the server's sanitised HTML (markdown-it + nh3) replaces it. The relay
  // sends exactly what it sent before: the rendering costs it nothing.
  const LIVE_MS = 120;
  function scheduleLive(p) {
    if (p.liveTimer) return;
    p.liveTimer = setTimeout(() => {
      p.liveTimer = null;
      if (p.done) return;
      p.text.replaceChildren(markdownNodes(p.raw));
      p.text.classList.add("markdown", "live");
      if (p.follow) p.body.scrollTop = p.body.scrollHeight;
    }, LIVE_MS);
  }
  // The answer ended: no more timed redraws; what came last is drawn now.
  function settleLive(p) {
    clearTimeout(p.liveTimer);
    p.liveTimer = null;
    if (p.raw) {
      p.text.replaceChildren(markdownNodes(p.raw));
      p.text.classList.add("markdown", "live");
    }
  }
  function inlineNodes(text) {
    const out = document.createDocumentFragment();
    const pattern = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*\s][^*]*\*)/g;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      out.append(text.slice(last, match.index));
      const token = match[0];
      const tag = token.startsWith("`") ? "code" : token.startsWith("**") ? "strong" : "em";
      const cut = tag === "strong" ? 2 : 1;
      const el = document.createElement(tag);
      el.textContent = token.slice(cut, -cut);
      out.append(el);
      last = match.index + token.length;
    }
    out.append(text.slice(last));
    return out;
  }
  function markdownNodes(text) {
    const out = document.createDocumentFragment();
    let list = null;
    let para = null;
    let fence = null;
    for (const line of text.split("\n")) {
      if (fence) {
        if (line.trim().startsWith("```")) { fence = null; continue; }
        fence.textContent += `${line}\n`;
        continue;
      }
      if (line.trim().startsWith("```")) {
        const pre = document.createElement("pre");
        fence = document.createElement("code");
        pre.append(fence);
        out.append(pre);
        list = para = null;
        continue;
      }
      const item = line.match(/^\s*(?:[-*+]|(\d+)[.)])\s+(.*)$/);
      const heading = line.match(/^(#{1,6})\s+(.*)$/);
      if (item) {
        const kind = item[1] ? "ol" : "ul";
        if (!list || list.tagName.toLowerCase() !== kind) { list = document.createElement(kind); out.append(list); }
        const li = document.createElement("li");
        li.append(inlineNodes(item[2]));
        list.append(li);
        para = null;
      } else if (heading) {
        const h = document.createElement(`h${heading[1].length}`);
        h.append(inlineNodes(heading[2]));
        out.append(h);
        list = para = null;
      } else if (!line.trim()) {
        list = para = null;
      } else {
        if (!para) { para = document.createElement("p"); out.append(para); } else { para.append(document.createElement("br")); }
        para.append(inlineNodes(line));
        list = null;
      }
    }
    return out;
  }

  // ---- per-model parameters ---------------------------------------------------------
  // "Same for all" off: a row per ticked model with the parameters it takes; one it refuses
  // is greyed, with the catalog's reason.
  const sameForAll = document.getElementById("same-for-all");
  const perModel = document.getElementById("per-model");
  const PER_MODEL = [["temperature", "Temp.", 0.1], ["top_p", "Top p", 0.05], ["max_tokens", "Max tokens", 1], ["seed", "Seed", 1], ["presence_penalty", "Presence", 0.1], ["frequency_penalty", "Frequency", 0.1]];
  function refusal(box, key) {
    const model = box.value;
    if ((key === "temperature" || key === "top_p") && !box.dataset.temperature) return `${model} does not accept ${key} (catalog)`;
    if (box.dataset.refused.split(",").includes(key)) return `${model} refuses ${key} (catalog)`;
    if (box.dataset.responses && ["seed", "presence_penalty", "frequency_penalty"].includes(key)) return `${model} runs on the Responses endpoint, which does not take ${key}`;
    return "";
  }
  function drawPerModel() {
    perModel.hidden = sameForAll.checked;
    if (sameForAll.checked) return;
    const keep = {};
    perModel.querySelectorAll("input").forEach((input) => { keep[input.name] = input.value; });
    const table = document.createElement("table");
    table.className = "data";
    const head = table.createTHead().insertRow();
    for (const title of ["Model", ...PER_MODEL.map(([, label]) => label)]) {
      const th = document.createElement("th");
      th.textContent = title;
      head.append(th);
    }
    const body = table.createTBody();
    for (const box of boxes().filter((b) => b.checked)) {
      const row = body.insertRow();
      row.dataset.model = box.value;
      row.insertCell().textContent = box.value;
      for (const [key, label, step] of PER_MODEL) {
        const input = document.createElement("input");
        input.type = "number";
        input.step = String(step);
        input.name = `${box.value}:${key}`;
        input.setAttribute("aria-label", `${label} for ${box.value}`);
        const why = refusal(box, key);
        input.value = why ? "" : (keep[input.name] ?? (form.elements[key] ? form.elements[key].value : ""));
        input.disabled = Boolean(why);
        if (why) input.title = why;
        row.insertCell().append(input);
      }
    }
    perModel.replaceChildren(table);
  }
  function perModelParams(models) {
    const out = {};
    for (const model of models) {
      const own = {};
      for (const [key] of PER_MODEL) {
        const input = perModel.querySelector(`input[name="${CSS.escape(`${model}:${key}`)}"]`);
        if (input && !input.disabled && input.value !== "") own[key] = Number(input.value);
      }
      out[model] = own;
    }
    return out;
  }
  sameForAll.addEventListener("change", drawPerModel);
  picker.addEventListener("change", drawPerModel);

  // ---- images ---------------------------------------------------------------------
  // Upload or paste; kept as data: URLs and sent as image parts of the user message. Models
  // that take no images are marked in the picker (the server sends them the text only).
  const imageList = document.getElementById("image-list");
  const imageInput = document.getElementById("image-input");
  const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
  let images = [];
  function addImage(file) {
    const limit = Number(root.dataset.maxImageBytes);
    if (!IMAGE_TYPES.includes(file.type)) return showError(`${file.name || "That file"} is not a PNG, JPEG, GIF or WebP image.`);
    if (file.size > limit) return showError(`${file.name || "The image"} is ${(file.size / 1048576).toFixed(1)} MB; the limit is ${(limit / 1048576).toFixed(1)} MB per image.`);
    if (images.length >= Number(root.dataset.maxImages)) return showError(`A run takes at most ${root.dataset.maxImages} images.`);
    const reader = new FileReader();
    reader.addEventListener("load", () => {
      images.push(reader.result);
      showError("");
      drawImages();
    });
    reader.readAsDataURL(file);
    return undefined;
  }
  function drawImages() {
    imageList.textContent = "";
    images.forEach((url, n) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.src = url;
      img.alt = `Image ${n + 1}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-sm image-remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove image ${n + 1}`);
      remove.addEventListener("click", () => { images.splice(n, 1); drawImages(); });
      li.append(img, remove);
      imageList.append(li);
    });
    // Mark the ticked models that will get the text only.
    for (const box of boxes()) box.closest(".model-option").classList.toggle("no-images", images.length > 0 && !box.dataset.images);
    showPreflight();
  }
  // Models that take no tools are marked while tools are defined (the server sends them none).
  function markTools() {
    const on = form.elements.tools.value.trim() !== "";
    for (const box of boxes()) box.closest(".model-option").classList.toggle("no-tools", on && !box.dataset.tools);
  }
  form.elements.tools.addEventListener("input", markTools);
  markTools();
  imageInput.addEventListener("change", () => {
    for (const file of imageInput.files) addImage(file);
    imageInput.value = "";
  });
  form.elements.prompt.addEventListener("paste", (event) => {
    const files = Array.from(event.clipboardData?.files || []).filter((f) => f.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    files.forEach(addImage);
  });

  // ---- pre-flight -------------------------------------------------------------
  // Tokens are estimated locally (about four characters a token, marked "~"); the worst
  // case prices every model's input plus its max tokens of output at catalog prices.
  const preflightLine = document.getElementById("preflight");
  const approxTokens = (text) => Math.ceil(text.length / 4);
  function preflight(frame) {
    const toolTokens = approxTokens(form.elements.tools.value.trim());
    const base = toolTokens + frame.messages.reduce((n, m) => n + approxTokens(typeof m.content === "string" ? m.content : m.content.map((part) => part.text || "").join("")) + (Array.isArray(m.content) ? 85 * (m.content.length - 1) : 0), 0);
    const maxTokens = frame.params.max_tokens || 0;
    const thinking = frame.params.thinking_budget || 0;
    let worst = 0;
    let unknown = 0;
    let tokens = 0;
    for (const model of frame.models) {
      const box = picker.querySelector(`input[value="${CSS.escape(model)}"]`);
      const history = (frame.threads && frame.threads[model]) || [];
      const input = base + history.reduce((n, m) => n + approxTokens(turnText(m.content)) + 85 * turnImages(m.content), 0);
      tokens = Math.max(tokens, input);
      const cap = Number(box?.dataset.maxOut) || Infinity;
      // The thinking budget is spent only where the run sends it (runs.plan_model: Claude's
      // reasoning models, through Anthropic Messages), as the catalog row says.
      const output = Math.min(maxTokens + (box?.dataset.thinking ? thinking : 0), cap);
      if (!box || box.dataset.in === "" || box.dataset.out === "") { unknown += 1; continue; }
      worst += (input * Number(box.dataset.in) + output * Number(box.dataset.out)) / 1e6;
    }
    return { tokens, worst, unknown };
  }
  function showPreflight() {
    const models = boxes().filter((b) => b.checked).map((b) => b.value);
    const prompt = form.elements.prompt.value;
    if (!models.length || !prompt.trim()) { preflightLine.textContent = ""; return; }
    const messages = [{ content: form.elements.system.value }, { content: prompt }];
    const params = { max_tokens: Number(form.elements.max_tokens.value) || 0, thinking_budget: Number(form.elements.thinking_budget.value) || 0 };
    const followUp = {};
    for (const model of models) if (threads[model]) followUp[model] = threads[model];
    const { tokens, worst, unknown } = preflight({ models, messages, params, threads: followUp });
    const priced = unknown ? ` (${unknown} model${unknown === 1 ? "" : "s"} with no price not counted)` : "";
    preflightLine.textContent = `~${tokens.toLocaleString("en-US")} tokens in · worst case ~${fmtCost(worst)} with ${params.max_tokens.toLocaleString("en-US")} max tokens${priced}`;
    preflightLine.classList.toggle("over", worst > Number(root.dataset.confirmUsd));
  }
  form.addEventListener("input", showPreflight);
  picker.addEventListener("change", showPreflight);

  // ---- conversation, panel tools, diff, scoreboard ----------------------------
  const runTools = document.getElementById("run-tools");
  const threadState = document.getElementById("thread-state");
  const newConversation = document.getElementById("new-conversation");
  const diffBase = document.getElementById("diff-base");
  const diffOnly = document.getElementById("diff-only");
  const scoreboard = document.getElementById("scoreboard");

  // A retried panel (`replaces`) restarts in place; an added model gets a new panel.
  function extension(frame) {
    const old = frame.replaces ? panels.get(frame.replaces) : null;
    const p = makePanel({ id: frame.completion, model: frame.model, notes: frame.notes }, old ? old.label : String.fromCharCode(65 + panels.size), performance.now());
    p.extends = old ? "retry" : "add";
    if (old) {
      panels.delete(old.id);
      old.el.replaceWith(p.el);
      if (old.el.classList.contains("panel-expanded")) p.el.classList.add("panel-expanded");
    } else {
      grid.append(p.el);
      grid.dataset.count = String(panels.size);
    }
    tick();
  }

  // An assistant turn of a thread: the answer's text; an answer that only called tools is kept
  // as a line per call (a follow-up sends no tool results: the playground runs no tools).
  function answerText(p) {
    const calls = p.toolCalls.map((c) => `[called ${c.name}(${c.arguments})]`).join("\n");
    return [p.raw, calls].filter(Boolean).join("\n\n");
  }

  // The user turn of the run in view, for the threads: its text and, when it had images,
  // references to them ("run:<run code>/<n>": the server reads them back from the run, so a
  // follow-up does not send each image again once per model). Text-only models get the text.
  function sentTurn() {
    if (!sentImages) return { role: "user", content: sentPrompt };
    const refs = Array.from({ length: sentImages }, (_, n) => ({ type: "image_url", image_url: { url: `run:${lastRun}/${n}` } }));
    return { role: "user", content: [{ type: "text", text: sentPrompt }, ...refs] };
  }
  function turnText(content) {
    return typeof content === "string" ? content : content.filter((part) => part.type === "text").map((part) => part.text).join("\n");
  }
  function turnImages(content) {
    return typeof content === "string" ? 0 : content.filter((part) => part.type === "image_url").length;
  }

  function showHistory(p, turns) {
    if (!turns || !turns.length) return;
    const box = document.createElement("details");
    box.className = "panel-history";
    const head = document.createElement("summary");
    head.textContent = `Earlier turns (${turns.length / 2})`;
    box.append(head);
    for (const turn of turns) {
      const div = document.createElement("div");
      div.className = `turn turn-${turn.role}`;
      const pictures = turnImages(turn.content);
      div.textContent = turnText(turn.content) + (pictures ? ` [${pictures} image${pictures === 1 ? "" : "s"}]` : "");
      box.append(div);
    }
    p.body.prepend(box);
  }

  function wireTools(p) {
    const copy = async (text, button) => {
      try { await navigator.clipboard.writeText(text); button.textContent = "Copied"; } catch { button.textContent = "Copy failed"; }
      setTimeout(() => { button.textContent = button.dataset.label; }, 1500);
    };
    for (const button of p.tools.querySelectorAll("button")) button.dataset.label = button.textContent;
    p.tools.querySelector(".tool-copy").addEventListener("click", (e) => copy(p.raw, e.currentTarget));
    p.tools.querySelector(".tool-copy-text").addEventListener("click", (e) => copy(p.text.innerText, e.currentTarget));
    p.tools.querySelector(".tool-expand").addEventListener("click", (e) => {
      const on = p.el.classList.toggle("panel-expanded");
      e.currentTarget.setAttribute("aria-pressed", String(on));
      e.currentTarget.textContent = on ? "Collapse" : "Expand";
    });
    p.tools.querySelector(".tool-retry").addEventListener("click", () => retry(p));
    p.tools.querySelector(".tool-continue").addEventListener("click", () => {
      const thread = threads[p.model];
      if (!thread) return;
      for (const q of panels.values()) threads[q.model] = thread.slice();
      for (const q of panels.values()) q.el.classList.toggle("continued-from", q === p);
      showThreadState(`Every panel continues from ${blindRun ? `Model ${p.label}` : p.model}'s answer.`);
    });
  }

  function retry(p) {
    if (!lastRun || !p.done) return;
    if (p.timer) clearInterval(p.timer);
    send({ type: "retry", run: lastRun, model: p.model, replaces: p.id });
  }

  // A 429: count down from Retry-After in the panel, then offer "Retry now".
  function countdown(p, hint, seconds) {
    let left = Math.ceil(seconds);
    const render = () => { hint.textContent = `Retry now in ${left} s…`; };
    render();
    p.timer = setInterval(() => {
      left -= 1;
      if (left > 0) return render();
      clearInterval(p.timer);
      hint.textContent = "";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm retry-now";
      button.textContent = "Retry now";
      button.addEventListener("click", () => retry(p));
      hint.append(button);
    }, 1000);
  }

  function showThreadState(extra) {
    const turns = Math.max(0, ...Object.values(threads).map((t) => t.length / 2));
    threadState.textContent = turns ? `Conversation: ${turns} turn${turns === 1 ? "" : "s"}; the next message is a follow-up to each panel's thread. ${extra || ""}` : "";
    newConversation.hidden = !turns;
  }
  newConversation.addEventListener("click", () => {
    threads = {};
    for (const p of panels.values()) p.el.classList.remove("continued-from");
    showThreadState();
  });
  document.getElementById("add-models").addEventListener("click", () => {
    const shown = new Set(Array.from(panels.values()).map((p) => p.model));
    const models = boxes().filter((b) => b.checked && !shown.has(b.value)).map((b) => b.value);
    if (!models.length) return showError("Tick the models to add in the picker (ones not in this run).");
    showError("");
    send({ type: "add", run: lastRun, models });
  });

  // Called when the run has ended and again whenever a retried or added panel ends.
  function afterRun() {
    if (!lastRun || Array.from(panels.values()).some((p) => !p.done)) return;
    for (const p of panels.values()) {
      if (!p.extends || p.el.dataset.status !== "done" || p.threaded) continue;
      // A retried answer replaces the panel's last turn; an added model starts its thread here.
      const thread = threads[p.model] || [];
      if (p.extends === "retry" && thread.length) thread[thread.length - 1] = { role: "assistant", content: answerText(p) };
      else threads[p.model] = [sentTurn(), { role: "assistant", content: answerText(p) }];
      p.threaded = true;
    }
    runTools.hidden = false;
    for (const [id, kind] of [["export-md", "md"], ["export-json", "json"]]) {
      document.getElementById(id).href = root.dataset.exportUrl.replace("00000000-0000-0000-0000-000000000000", lastRun).replace(/md$/, kind);
    }
    const chosen = diffBase.value;
    diffBase.textContent = "";
    diffBase.append(new Option("No diff", ""));
    for (const p of panels.values()) diffBase.append(new Option(blindRun ? `Model ${p.label}` : p.model, p.id));
    diffBase.value = panels.has(chosen) ? chosen : "";
    showThreadState();
    showScoreboard();
    renderDiff();
  }

  function showScoreboard() {
    const finished = Array.from(panels.values()).filter((p) => p.stats);
    if (blindRun || finished.length < 2) { scoreboard.hidden = true; return; }
    const best = (key, pick) => {
      const known = finished.filter((p) => p.stats[key] != null);
      if (!known.length) return null;
      return known.reduce((a, b) => (pick(b.stats[key], a.stats[key]) ? b : a));
    };
    const entries = [
      ["Cheapest", best("cost", (x, y) => x < y), (p) => fmtCost(p.stats.cost)],
      ["Fastest first token", best("ttft", (x, y) => x < y), (p) => fmtMs(p.stats.ttft)],
      ["Fastest tokens/s", best("speed", (x, y) => x > y), (p) => `${p.stats.speed} tok/s`],
      ["Shortest", best("words", (x, y) => x < y), (p) => `${p.stats.words} words`],
      ["Longest", best("words", (x, y) => x > y), (p) => `${p.stats.words} words`],
    ];
    scoreboard.textContent = "";
    for (const [title, p, value] of entries) {
      if (!p) continue;
      const item = document.createElement("span");
      item.className = "score";
      item.dataset.score = title;
      const b = document.createElement("b");
      b.textContent = `${title}:`;
      item.append(b, ` ${p.model} (${value(p)})`);
      scoreboard.append(item);
    }
    scoreboard.hidden = false;
  }

  // Word-level diff of each panel against the baseline panel (longest common subsequence).
  function words(text) {
    return text.split(/(\s+)/).filter((w) => w !== "");
  }
  function diffWords(a, b) {
    const n = a.length;
    const m = b.length;
    const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i -= 1) {
      for (let j = m - 1; j >= 0; j -= 1) {
        table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
      }
    }
    const ops = [];
    let i = 0;
    let j = 0;
    const push = (kind, word) => {
      const last = ops[ops.length - 1];
      if (last && last[0] === kind) last[1] += word; else ops.push([kind, word]);
    };
    while (i < n && j < m) {
      if (a[i] === b[j]) { push("same", a[i]); i += 1; j += 1; } else if (table[i + 1][j] >= table[i][j + 1]) { push("del", a[i]); i += 1; } else { push("ins", b[j]); j += 1; }
    }
    while (i < n) { push("del", a[i]); i += 1; }
    while (j < m) { push("ins", b[j]); j += 1; }
    return ops;
  }
  function renderDiff() {
    const base = panels.get(diffBase.value);
    for (const p of panels.values()) {
      let view = p.body.querySelector(".panel-diff");
      if (!base || p === base || !p.done) {
        if (view) view.remove();
        p.text.hidden = false;
        p.el.classList.toggle("diff-base", p === base);
        continue;
      }
      p.el.classList.remove("diff-base");
      if (!view) {
        view = document.createElement("div");
        view.className = "panel-diff";
        p.text.after(view);
      }
      view.textContent = "";
      const ops = diffWords(words(base.raw), words(p.raw));
      ops.forEach(([kind, text], n) => {
        if (kind === "same") {
          // "Only differences": unchanged words fold to an ellipsis (whitespace stays as it is).
          if (diffOnly.checked && text.trim()) {
            const gap = document.createElement("span");
            gap.className = "diff-gap";
            gap.textContent = " … ";
            view.append(gap);
          } else {
            view.append(text);
          }
          return;
        }
        // A removed run right before an added one: a space between, so the words stay apart.
        if (n > 0 && ops[n - 1][0] !== "same") view.append(" ");
        const el = document.createElement(kind);
        el.textContent = text;
        view.append(el);
      });
      if (!ops.some(([kind]) => kind !== "same")) view.textContent = "Same words as the baseline.";
      p.text.hidden = true;
    }
  }
  diffBase.addEventListener("change", renderDiff);
  diffOnly.addEventListener("change", renderDiff);

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
    reveal(data.models, data.completions || {});
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
  // After the vote: each panel's model, and what a blind run's frames left out (notes, costs, errors).
  function reveal(models, details) {
    const wasBlind = blindRun;
    blindRun = false;
    grid.classList.remove("blind");
    for (const p of panels.values()) {
      const model = models[p.id] || p.model;
      p.model = model;
      p.el.dataset.model = model;
      p.el.querySelector(".panel-model").textContent = `${p.label} · ${model}`;
      p.el.querySelector(".panel-live-model").textContent = `${model}:`;
      const more = details[p.id];
      if (!wasBlind || !more) continue;
      addNotes(p, more.notes || []);
      setCost(p, more.cost, more.cost_source, more.price_source, more.cost_lines);
      if (p.stats) p.stats.cost = more.cost != null ? Number(more.cost) : null;
      const message = p.el.querySelector(".panel-error > div");
      if (message && more.message) message.textContent = more.message;
    }
    if (wasBlind) recordTurn();
    if (lastRunDone) summary.textContent = summaryText(lastRunDone);
    afterRun();
  }

  // ---- helpers --------------------------------------------------------------
  function finishPanel(p, label, badge, message) {
    p.done = true;
    p.stop.hidden = true;
    // After the end, a long answer can be scrolled back to its start in one step.
    p.top.hidden = p.body.scrollHeight <= p.body.clientHeight;
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
    const explained = {
      estimated: "Estimated: the gateway sent no usage, tokens were counted locally.",
      partly_estimated: "Partly estimated: input tokens as the gateway reported them, output counted locally.",
    };
    const parts = [explained[source] || "Computed from the gateway's usage."];
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

  showPreflight();
  connect();
})();
