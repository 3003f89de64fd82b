/*
 * A hand-written SVG bar chart from a report's `chart` hint ({type: "bar", x, y}): a y axis with
 * "nice" ticks and gridlines, one bar per row, x labels thinned so they never overlap, drawn at
 * the width of its container (the page redraws it when that changes), so it stays readable from
 * a 400 px phone to a wide screen. Text stays at its own size: the SVG is not scaled.
 *
 * The table stays next to it for exact numbers; for screen readers the chart is one image with
 * a text alternative.
 */
(function (global) {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var FONT_PX = 12;
  var CHAR_PX = 7;   // a generous average glyph width at FONT_PX, to keep labels apart

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

  /** Ticks from 0 to at least `max` at a 1, 2 or 5 times a power of ten step. */
  function niceTicks(max, count) {
    if (!(max > 0)) max = 1;
    var rough = max / count;
    var power = Math.pow(10, Math.floor(Math.log10(rough)));
    var step = [1, 2, 5, 10].map(function (m) { return m * power; })
      .filter(function (s) { return s >= rough; })[0];
    var ticks = [];
    for (var value = 0; value < max + step * 0.999; value += step) ticks.push(+value.toFixed(10));
    return ticks;
  }

  function shortLabel(value) {
    var text = String(value);
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return text.slice(5);  // days: MM-DD is enough
    return text;
  }

  /**
   * Returns an <svg> for `report` drawn `width` px wide, or null when it has no bar-chart hint or
   * no rows. `format` shows a number (thousands separators).
   */
  function renderBarChart(report, width, format) {
    var hint = report.chart;
    if (!hint || hint.type !== "bar" || !report.rows || report.rows.length === 0) return null;
    format = format || String;
    width = Math.max(280, Math.floor(width || 600));
    var rows = report.rows;
    var values = rows.map(function (row) { return Number(row[hint.y]) || 0; });
    var ticks = niceTicks(Math.max.apply(null, values), width < 500 ? 4 : 5);
    var top = ticks[ticks.length - 1];
    var tickWidth = Math.max.apply(null, ticks.map(function (t) { return format(t).length; }));
    var left = 10 + tickWidth * CHAR_PX, right = 12, titleHeight = 26;
    var plotTop = titleHeight + 14, plotHeight = width < 500 ? 170 : 220, bottomSpace = 30;
    var height = plotTop + plotHeight + bottomSpace;
    var plotWidth = width - left - right;
    var slot = plotWidth / rows.length;
    var barWidth = Math.max(2, slot * 0.7);
    var title = labelOf(report.columns, hint.y) + " by " + labelOf(report.columns, hint.x);
    var y = function (value) { return plotTop + plotHeight - plotHeight * value / top; };

    var svg = node("svg", { "class": "chart", viewBox: "0 0 " + width + " " + height,
                            width: width, height: height, role: "img", "aria-label": title,
                            "data-testid": "report-chart", "font-size": FONT_PX });
    svg.appendChild(node("title", {}, title));
    svg.appendChild(node("text", { x: 10, y: 18, "class": "chart-title" }, title));

    var grid = node("g", { "class": "grid", "data-testid": "chart-gridlines" });
    var axis = node("g", { "class": "axis y-axis", "data-testid": "chart-y-axis" });
    ticks.forEach(function (tick) {
      var at = Math.round(y(tick)) + 0.5;
      grid.appendChild(node("line", { x1: left, x2: width - right, y1: at, y2: at }));
      axis.appendChild(node("text", { x: left - 6, y: at + 4, "text-anchor": "end" },
                            format(tick)));
    });
    svg.appendChild(grid);
    svg.appendChild(axis);
    axis.appendChild(node("line", { x1: left + 0.5, x2: left + 0.5, y1: plotTop,
                                    y2: plotTop + plotHeight, "class": "axis-line" }));

    // Thin the x labels so the widest one fits its share; values above bars only when they fit.
    var labels = rows.map(function (row) { return shortLabel(row[hint.x]); });
    var widest = Math.max.apply(null, labels.map(function (l) { return l.length; })) * CHAR_PX + 8;
    var every = Math.max(1, Math.ceil(widest / slot));
    var valuesFit = rows.every(function (row, i) {
      return format(values[i]).length * CHAR_PX + 4 <= slot;
    });
    var bars = node("g", { "class": "bars" });
    var xAxis = node("g", { "class": "axis x-axis", "data-testid": "chart-x-axis" });
    rows.forEach(function (row, index) {
      var center = left + slot * (index + 0.5);
      var barTop = y(values[index]);
      var bar = node("rect", { "class": "bar", x: (center - barWidth / 2).toFixed(1),
                               y: barTop.toFixed(1), width: barWidth.toFixed(1),
                               height: (plotTop + plotHeight - barTop).toFixed(1) });
      bar.appendChild(node("title", {}, row[hint.x] + ": " + format(values[index])));
      bars.appendChild(bar);
      if (valuesFit) {
        bars.appendChild(node("text", { x: center.toFixed(1), y: (barTop - 4).toFixed(1),
                                        "text-anchor": "middle", "class": "bar-value" },
                              format(values[index])));
      }
      if (index % every === 0) {
        xAxis.appendChild(node("text", { x: center.toFixed(1), y: plotTop + plotHeight + 18,
                                         "text-anchor": "middle" }, labels[index]));
      }
    });
    svg.appendChild(bars);
    xAxis.appendChild(node("line", { x1: left, x2: width - right, y1: plotTop + plotHeight + 0.5,
                                     y2: plotTop + plotHeight + 0.5, "class": "axis-line" }));
    svg.appendChild(xAxis);
    return svg;
  }

  global.ReportChart = { renderBarChart: renderBarChart, niceTicks: niceTicks };
})(window);
