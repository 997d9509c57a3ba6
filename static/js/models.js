// Models page: keeps the "compare" selection across htmx swaps of the results table and
// sends it as /compare/?models=a,b,c. Without JavaScript the same form submits
// /compare/?models=a&models=b, which the Compare page also reads.
(function () {
  "use strict";

  const form = document.getElementById("compare-form");
  if (!form) return;
  const status = document.getElementById("compare-status");
  const button = document.getElementById("compare-button");
  const filters = document.getElementById("catalog-filter");
  const max = parseInt(form.dataset.max, 10);
  const hint = status ? status.textContent : "";
  // Selection in click order; it survives filtering, so a model filtered out stays selected.
  const selected = [];

  function boxes() {
    return form.querySelectorAll('input[type=checkbox][name="models"]');
  }

  function render() {
    const full = selected.length >= max;
    boxes().forEach(function (box) {
      box.checked = selected.includes(box.value);
      box.disabled = full && !box.checked;
      const row = box.closest("tr");
      if (row) row.classList.toggle("is-selected", box.checked);
    });
    button.disabled = selected.length === 0;
    if (!status) return;
    if (selected.length === 0) {
      status.textContent = hint;
    } else {
      status.textContent =
        selected.length + " selected: " + selected.join(", ") + (full ? " (the most one run takes)" : "");
    }
    button.textContent = selected.length ? "Compare " + selected.length + " selected" : "Compare selected";
  }

  form.addEventListener("change", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.name !== "models") return;
    const at = selected.indexOf(box.value);
    if (box.checked && at === -1 && selected.length < max) selected.push(box.value);
    if (!box.checked && at !== -1) selected.splice(at, 1);
    render();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!selected.length) return;
    // Commas stay readable in the address bar; ids never contain one.
    const url = new URL(form.action, window.location.href);
    url.search = "models=" + selected.map(encodeURIComponent).join(",");
    window.location.assign(url.toString());
  });

  if (filters) {
    // Keep the pushed address short: drop empty fields and the defaults (name sort, "any of").
    const defaults = { sort: "name", in_mode: "any" };
    filters.addEventListener("htmx:configRequest", function (event) {
      const data = event.detail.formData;
      if (!data) return;
      Array.from(data.entries()).forEach(function (entry) {
        if (entry[1] === "" || defaults[entry[0]] === entry[1]) data.delete(entry[0]);
      });
    });
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail || event.detail.target.id !== "catalog-results") return;
    // A sortable column header was clicked: keep the sidebar's sort select in step.
    const results = event.detail.target.querySelector(".catalog-results");
    const sort = filters && filters.querySelector('select[name="sort"]');
    if (results && sort && results.dataset.sort) sort.value = results.dataset.sort;
    render();
  });

  // The browser may restore ticked boxes on back/forward: start from what is shown.
  boxes().forEach(function (box) {
    if (box.checked && selected.length < max) selected.push(box.value);
  });
  render();
})();
