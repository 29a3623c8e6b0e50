// testaudit report: table sorting and filtering on the index, line toggles on task pages.
// Plain DOM, no libraries, nothing fetched: the report works opened from disk.
"use strict";

(function () {
  // Sort a table's body by one column; numbers by value, text by natural order (HumanEval/2
  // before HumanEval/10). Ties keep the rows' original order so a sort is stable and repeatable.
  function initSort(table) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var body = table.tBodies[0];
    Array.prototype.forEach.call(body.rows, function (row, i) { row.dataset.order = String(i); });
    var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

    headers.forEach(function (th, column) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var numeric = th.dataset.type === "num";
        var current = th.getAttribute("aria-sort");
        // First click: most of a count first, text A to Z; later clicks flip the direction.
        var ascending = current === "none" ? !numeric : current !== "ascending";
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].dataset.value;
          var y = b.cells[column].dataset.value;
          var order = numeric ? Number(x) - Number(y) : collator.compare(x, y);
          if (!ascending) { order = -order; }
          return order || Number(a.dataset.order) - Number(b.dataset.order);
        });
        var fragment = document.createDocumentFragment();
        rows.forEach(function (row) { fragment.appendChild(row); });
        body.appendChild(fragment);
      });
    });
  }

  function initFilter(table) {
    var text = document.getElementById("filter");
    var status = document.getElementById("status-filter");
    var shown = document.getElementById("shown");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    function apply() {
      var query = text.value.trim().toLowerCase();
      var flag = status.value;
      var visible = 0;
      rows.forEach(function (row) {
        var match = (!query || row.dataset.search.indexOf(query) !== -1) &&
          (!flag || row.dataset.flags.split(" ").indexOf(flag) !== -1);
        row.hidden = !match;
        if (match) { visible += 1; }
      });
      shown.textContent = visible + " of " + rows.length + " tasks shown";
    }
    text.addEventListener("input", apply);
    status.addEventListener("change", apply);
    apply();  // a browser may restore the inputs' values on back navigation
  }

  function setLine(row, open) {
    var panel = document.getElementById(row.getAttribute("aria-controls"));
    if (!panel) { return; }
    panel.hidden = !open;
    row.setAttribute("aria-expanded", String(open));
  }

  function initLines() {
    var rows = document.querySelectorAll("tr.has-mutants");
    Array.prototype.forEach.call(rows, function (row) {
      row.addEventListener("click", function (event) {
        if (event.target.closest("a")) { return; }
        setLine(row, row.getAttribute("aria-expanded") !== "true");
      });
      row.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          setLine(row, row.getAttribute("aria-expanded") !== "true");
        }
      });
    });
  }

  // Following a link to a collapsed mutant opens it, so "details" always shows the details.
  function revealTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    if (target.tagName === "TR" && target.classList.contains("has-mutants")) { setLine(target, true); }
    target.scrollIntoView();
  }

  var table = document.getElementById("task-table");
  if (table) {
    initSort(table);
    initFilter(table);
  }
  initLines();
  window.addEventListener("hashchange", revealTarget);
  revealTarget();
})();
