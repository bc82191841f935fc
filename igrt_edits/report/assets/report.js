// The findings table of the igrt-edits HTML report: filter, sort and page the findings the
// report embeds (a JSON block). Plain DOM, no library; every value goes in as text, never as
// markup, so nothing from a claims extract can run as script.
"use strict";
(function () {
  const PAGE = 50;
  const data = JSON.parse(document.getElementById("findings-data").textContent);
  const columns = data.columns;
  const index = Object.fromEntries(columns.map((c, i) => [c.key, i]));
  const rows = data.rows;
  const state = { rule: "", severity: "", text: "", sort: null, descending: false, page: 0 };
  const body = document.querySelector("#findings-table tbody");
  const info = document.getElementById("page-info");
  const previous = document.getElementById("page-previous");
  const next = document.getElementById("page-next");
  const searchable = columns.filter((c) => c.search).map((c) => index[c.key]);

  function matches(row) {
    if (state.rule && row[index.rule_id] !== state.rule) return false;
    if (state.severity && row[index.severity] !== state.severity) return false;
    if (!state.text) return true;
    return searchable.some((i) => String(row[i] ?? "").toLowerCase().includes(state.text));
  }

  const blank = (value) => value === null || value === "";

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function chosen() {
    const kept = rows.filter(matches);
    if (state.sort !== null) {
      const i = index[state.sort];
      const sign = state.descending ? -1 : 1;
      kept.sort((a, b) => {
        if (blank(a[i]) || blank(b[i])) return blank(a[i]) - blank(b[i]); // blanks last
        return sign * compare(a[i], b[i]);
      });
    }
    return kept;
  }

  function cell(column, value) {
    const td = document.createElement("td");
    if (blank(value)) return td;
    if (column.kind === "money") {
      td.textContent = value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      td.className = "number";
    } else if (column.kind === "int") {
      td.textContent = String(value);
      td.className = "number";
    } else if (column.key === "severity") {
      td.textContent = value;
      td.className = "severity " + value;
    } else if (column.key === "rule_id") {
      const link = document.createElement("a");
      link.href = "#rule-" + value;
      link.textContent = value;
      td.appendChild(link);
    } else {
      td.textContent = value;
      if (column.key === "message") td.className = "message";
    }
    return td;
  }

  function render() {
    const kept = chosen();
    const pages = Math.max(1, Math.ceil(kept.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * PAGE;
    const shown = kept.slice(start, start + PAGE);
    const fragment = document.createDocumentFragment();
    for (const row of shown) {
      const tr = document.createElement("tr");
      columns.forEach((column, i) => tr.appendChild(cell(column, row[i])));
      fragment.appendChild(tr);
    }
    body.replaceChildren(fragment);
    const of = kept.length === rows.length ? "" : " (filtered from " + rows.length.toLocaleString("en-US") + ")";
    info.textContent = kept.length
      ? "Findings " + (start + 1).toLocaleString("en-US") + "–" + (start + shown.length).toLocaleString("en-US") +
        " of " + kept.length.toLocaleString("en-US") + of
      : "No findings match" + of;
    previous.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    document.querySelectorAll("#findings-table th").forEach((th) => {
      const sorted = th.dataset.key === state.sort;
      th.setAttribute("aria-sort", sorted ? (state.descending ? "descending" : "ascending") : "none");
    });
  }

  function update(change) {
    Object.assign(state, change, { page: "page" in change ? change.page : 0 });
    render();
  }

  document.getElementById("rule-filter").addEventListener("change", (e) => update({ rule: e.target.value }));
  document.getElementById("severity-filter").addEventListener("change", (e) => update({ severity: e.target.value }));
  document.getElementById("search").addEventListener("input", (e) => update({ text: e.target.value.trim().toLowerCase() }));
  previous.addEventListener("click", () => update({ page: state.page - 1 }));
  next.addEventListener("click", () => update({ page: state.page + 1 }));
  document.querySelectorAll("#findings-table th").forEach((th) => {
    const sort = () => {
      const key = th.dataset.key;
      update({ sort: key, descending: state.sort === key ? !state.descending : false });
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        sort();
      }
    });
  });
  render();
  document.body.dataset.ready = "true";
})();
