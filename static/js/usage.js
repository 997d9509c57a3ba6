// The Usage page: filters swap the results through htmx (usage/_results.html); a filter the
// server refuses (400) still swaps in, so its message shows; new requests arrive live.
"use strict";

document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
