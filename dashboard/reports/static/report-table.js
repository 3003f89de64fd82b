/*
 * A report's rows as a table a person can work with: click a column heading to sort by it (again
 * to reverse), long results in pages of PAGE_SIZE rows with Previous / Next. Numbers carry the
 * reader's thousands separators and align right; calendar days read as dates.
 *
 * The view (sort column, direction, page) is a plain object the page keeps in the URL's query,
 * so a sorted second page can be bookmarked and shared; the table calls `onView(view)` when the
 * person changes it.
 */
(function (global) {
  "use strict";
  var PAGE_SIZE = 20;

  function isNumericColumn(rows, key) {
    return rows.length > 0 && rows.every(function (row) { return typeof row[key] === "number"; });
  }

  function isDayColumn(rows, key) {
    return rows.length > 0 && rows.every(function (row) {
      return /^\d{4}-\d{2}-\d{2}$/.test(String(row[key]));
    });
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function sortedRows(rows, view) {
    if (!view.sort) return rows.slice();
    var direction = view.dir === "desc" ? -1 : 1;
    return rows.map(function (row, index) { return [row, index]; }).sort(function (x, y) {
      return direction * compare(x[0][view.sort], y[0][view.sort]) || x[1] - y[1];
    }).map(function (pair) { return pair[0]; });
  }

  function pageCount(rows) { return Math.max(1, Math.ceil(rows.length / PAGE_SIZE)); }

  /** Builds the table (and its pager when there is more than one page) into `slot`. */
  function renderTable(slot, report, view, onView) {
    var columns = report.columns;
    var rows = report.rows;
    var kinds = {};
    columns.forEach(function (column) {
      kinds[column.key] = isNumericColumn(rows, column.key) ? "number"
                        : isDayColumn(rows, column.key) ? "day" : "text";
    });
    var decimals = {};
    columns.forEach(function (column) {
      if (kinds[column.key] === "number") {
        decimals[column.key] = Fmt.decimalsOf(rows.map(function (row) { return row[column.key]; }));
      }
    });
    var pages = pageCount(rows);
    var page = Math.min(Math.max(1, view.page || 1), pages);
    var shown = sortedRows(rows, view).slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);

    var wrapper = document.createElement("div");
    wrapper.className = "scroll";
    // A wide table scrolls in its own box on a narrow screen; keyboard users can scroll it too.
    wrapper.tabIndex = 0;
    wrapper.setAttribute("role", "region");
    wrapper.setAttribute("aria-label", report.title + " table");
    var table = document.createElement("table");
    table.setAttribute("data-testid", "report-table");
    var caption = document.createElement("caption");
    caption.textContent = rows.length <= PAGE_SIZE
      ? Fmt.number(rows.length) + " rows"
      : "Rows " + Fmt.number((page - 1) * PAGE_SIZE + 1) + "–" +
        Fmt.number((page - 1) * PAGE_SIZE + shown.length) + " of " + Fmt.number(rows.length);
    table.appendChild(caption);

    var head = table.createTHead().insertRow();
    columns.forEach(function (column) {
      var th = document.createElement("th");
      th.scope = "col";
      if (kinds[column.key] === "number") th.className = "num";
      var sorted = view.sort === column.key;
      th.setAttribute("aria-sort", sorted ? (view.dir === "desc" ? "descending" : "ascending")
                                          : "none");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = column.label;
      var mark = document.createElement("span");
      mark.setAttribute("aria-hidden", "true");
      mark.textContent = sorted ? (view.dir === "desc" ? " ▼" : " ▲") : "";
      button.appendChild(mark);
      button.addEventListener("click", function () {
        onView({ sort: column.key, dir: sorted && view.dir !== "desc" ? "desc" : "asc", page: 1 });
      });
      th.appendChild(button);
      head.appendChild(th);
    });

    var body = table.createTBody();
    shown.forEach(function (row) {
      var tr = body.insertRow();
      columns.forEach(function (column) {
        var td = tr.insertCell();
        var value = row[column.key];
        if (kinds[column.key] === "number") { td.className = "num"; td.textContent = Fmt.number(value, decimals[column.key]); }
        else if (kinds[column.key] === "day") td.textContent = Fmt.day(value);
        else td.textContent = value === null || value === undefined ? "" : String(value);
      });
    });
    wrapper.appendChild(table);

    var parts = [wrapper];
    if (pages > 1) {
      var pager = document.createElement("nav");
      pager.className = "pager toolbar";
      pager.setAttribute("aria-label", "Table pages");
      pager.setAttribute("data-testid", "table-pager");
      var previous = document.createElement("button");
      previous.type = "button";
      previous.textContent = "Previous page";
      previous.disabled = page <= 1;
      previous.addEventListener("click", function () {
        onView({ sort: view.sort, dir: view.dir, page: page - 1 });
      });
      var where = document.createElement("span");
      where.setAttribute("data-testid", "table-page");
      where.textContent = "Page " + page + " of " + pages;
      var next = document.createElement("button");
      next.type = "button";
      next.textContent = "Next page";
      next.disabled = page >= pages;
      next.addEventListener("click", function () {
        onView({ sort: view.sort, dir: view.dir, page: page + 1 });
      });
      pager.appendChild(previous);
      pager.appendChild(where);
      pager.appendChild(next);
      parts.push(pager);
    }
    slot.replaceChildren.apply(slot, parts);
  }

  global.ReportTable = { render: renderTable, PAGE_SIZE: PAGE_SIZE };
})(window);
