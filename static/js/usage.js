// The Usage page: filters swap the results through htmx (usage/_results.html); a filter the
// server refuses (400) still swaps in, so its message shows. New requests arrive live: the
// page holds /ws/usage/ and, when its team logs a request, reloads its results through the
// same filtered view (the newest page only; an older page stays put).
"use strict";

document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

(() => {
  const results = document.getElementById("usage-results");
  if (!results || !window.WebSocket) return;
  const path = results.dataset.livePath;
  let socket = null;
  let timer = null;
  let retry = 1000;

  const onNewestPage = () => !new URLSearchParams(location.search).has("cursor");

  const reload = () => {
    timer = null;
    const known = new Set([...document.querySelectorAll("#usage-log-rows tr[data-code]")].map((tr) => tr.dataset.code));
    htmx.ajax("GET", location.pathname + location.search, { target: "#usage-results", swap: "innerHTML" }).then(() => {
      for (const row of document.querySelectorAll("#usage-log-rows tr[data-code]")) {
        if (!known.has(row.dataset.code)) row.classList.add("usage-new");
      }
      document.getElementById("usage-live")?.removeAttribute("hidden");
    });
    document.body.dispatchEvent(new CustomEvent("usage:changed"));
  };

  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + path);
    socket.addEventListener("open", () => {
      retry = 1000;
      results.dataset.live = "on";
      document.getElementById("usage-live")?.removeAttribute("hidden");
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      // Several requests ending together (a run of eight models) cost one reload.
      if (frame.type === "request" && onNewestPage() && timer === null) timer = setTimeout(reload, 300);
    });
    socket.addEventListener("close", (event) => {
      results.dataset.live = "off";
      if (event.code >= 4400 && event.code < 4500) return; // refused: not worth retrying
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  };
  connect();
})();
