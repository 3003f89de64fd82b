/*
 * A plain SVG bar chart from a report's `chart` hint ({type: "bar", x, y}): one bar per row, the
 * value above each bar, the x label below. People compare bar heights faster than table cells;
 * the table stays next to it for exact numbers (and for screen readers, the chart is one image
 * with a text alternative).
 */
(function (global) {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function node(name, attributes, text) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { element.setAttribute(key, attributes[key]); });
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function labelOf(columns, key) {
    var column = columns.filter(function (c) { return c.key === key; })[0];
    return column ? column.label : key;
  }

  /** Returns an <svg> for `report`, or null when it has no bar-chart hint or no rows. */
  function renderBarChart(report) {
    var hint = report.chart;
    if (!hint || hint.type !== "bar" || !report.rows || report.rows.length === 0) return null;
    var rows = report.rows;
    var values = rows.map(function (row) { return Number(row[hint.y]) || 0; });
    var max = Math.max.apply(null, values.concat([1]));
    var slot = 56, top = 28, plotHeight = 180, bottom = 46, left = 12;
    var width = Math.max(480, left * 2 + slot * rows.length);
    var height = top + plotHeight + bottom;
    var title = labelOf(report.columns, hint.y) + " by " + labelOf(report.columns, hint.x);
    var svg = node("svg", { "class": "chart", viewBox: "0 0 " + width + " " + height,
                            width: width, height: height,
                            role: "img", "aria-label": title, "data-testid": "report-chart" });
    svg.appendChild(node("title", {}, title));
    svg.appendChild(node("text", { x: left, y: 16, "font-weight": "600" }, title));
    rows.forEach(function (row, index) {
      var barHeight = Math.round(plotHeight * values[index] / max);
      var x = left + index * slot + 6;
      var y = top + plotHeight - barHeight;
      var bar = node("rect", { "class": "bar", x: x, y: y, width: slot - 12, height: barHeight });
      bar.appendChild(node("title", {}, row[hint.x] + ": " + values[index]));
      svg.appendChild(bar);
      svg.appendChild(node("text", { x: x + (slot - 12) / 2, y: y - 4, "text-anchor": "middle" },
                           String(values[index])));
      var label = String(row[hint.x]);
      if (/^\d{4}-\d{2}-\d{2}$/.test(label)) label = label.slice(5);  // days: MM-DD is enough
      svg.appendChild(node("text", { x: x + (slot - 12) / 2, y: top + plotHeight + 16,
                                     "text-anchor": "middle" }, label));
    });
    svg.appendChild(node("line", { x1: left, x2: width - left, y1: top + plotHeight,
                                   y2: top + plotHeight, stroke: "#5b6472" }));
    return svg;
  }

  global.ReportChart = { renderBarChart: renderBarChart };
})(window);
