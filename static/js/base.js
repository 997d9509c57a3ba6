// Every page: the phone menu and other disclosure buttons, and labels for tables that
// stack into rows on a narrow screen.
(() => {
  "use strict";

  // A button with data-toggle="ID" opens and closes the element with that id (class
  // "is-open" on it, aria-expanded on the button). Buttons are hidden until this runs,
  // so without JavaScript the content simply stays shown.
  function initToggles(root) {
    root.querySelectorAll("button[data-toggle]").forEach((button) => {
      if (button.dataset.toggleReady) return;
      const target = document.getElementById(button.dataset.toggle);
      if (!target) return;
      button.dataset.toggleReady = "1";
      button.hidden = false;
      target.classList.add("is-foldable");
      button.addEventListener("click", () => {
        const open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", String(open));
        target.classList.toggle("is-open", open);
      });
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    document.querySelectorAll("button[data-toggle][aria-expanded=true]").forEach((button) => {
      const target = document.getElementById(button.dataset.toggle);
      if (!target || !target.contains(document.activeElement)) return;
      button.setAttribute("aria-expanded", "false");
      target.classList.remove("is-open");
      button.focus();
    });
  });

  // On a phone, table.data rows stack as cards; each cell shows its column's header,
  // copied here from the <th> so templates need not repeat it.
  function labelTables(root) {
    root.querySelectorAll("table.data").forEach((table) => {
      const heads = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent.trim());
      if (!heads.length) return;
      table.querySelectorAll("tbody tr, tfoot tr").forEach((row) => {
        let col = 0;
        for (const cell of row.children) {
          if (!cell.hasAttribute("data-label") && heads[col]) cell.dataset.label = heads[col];
          col += cell.colSpan || 1;
        }
      });
    });
  }

  function init(root) {
    initToggles(root);
    labelTables(root);
  }
  init(document);
  // Fragments htmx swaps in (table pages, rows) get the same treatment.
  document.addEventListener("htmx:load", (event) => init(event.target.parentElement || document));
})();
