// Dashboard charts, drawn from the JSON the page embeds with json_script (no inline
// scripts). Clicking a bar or slice opens the register filtered to those identities.
(function () {
  "use strict";
  var PALETTE = ["#3b5bdb", "#b42318", "#a15c00", "#1f7a4d", "#7048e8", "#0b7285"];
  var DATE_AXIS = {ticks: {maxRotation: 0, autoSkip: true, maxTicksLimit: 5}};

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function follow(urls) {
    return function (event, elements) {
      if (elements.length && urls[elements[0].index]) window.location.href = urls[elements[0].index];
    };
  }

  function pointer(event, elements) {
    event.native.target.style.cursor = elements.length ? "pointer" : "default";
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, config);
  }

  function bars(data, horizontal) {
    return {
      type: "bar",
      data: {labels: data.labels, datasets: [{data: data.values, backgroundColor: data.colours, borderRadius: 4}]},
      options: {
        indexAxis: horizontal ? "y" : "x", aspectRatio: horizontal ? 1.05 : 1.5,
        plugins: {legend: {display: false}, tooltip: {callbacks: {title: function (items) {
          return (data.titles || data.labels)[items[0].dataIndex];
        }}}},
        scales: {x: {beginAtZero: true, ticks: {precision: 0}}, y: {beginAtZero: true, ticks: {precision: 0}}},
        onClick: follow(data.urls), onHover: pointer
      }
    };
  }

  function doughnut(data) {
    return {
      type: "doughnut",
      data: {labels: data.labels, datasets: [{data: data.values, backgroundColor: data.colours, borderWidth: 1}]},
      options: {aspectRatio: 1.5, cutout: "62%", plugins: {legend: {position: "right"}},
                onClick: follow(data.urls), onHover: pointer}
    };
  }

  function trend(data) {
    return {
      type: "line",
      data: {labels: data.labels, datasets: data.series.map(function (s, i) {
        return {label: s.label, data: s.values, borderColor: PALETTE[i % PALETTE.length],
                backgroundColor: PALETTE[i % PALETTE.length], tension: 0.25, pointRadius: 2};
      })},
      options: {aspectRatio: 1.3, interaction: {mode: "index", intersect: false},
                plugins: {legend: {position: "bottom", labels: {boxWidth: 10}}},
                scales: {x: DATE_AXIS, y: {beginAtZero: true, ticks: {precision: 0}}}}
    };
  }

  function findingsTrend(data) {
    return {
      type: "bar",
      data: {labels: data.labels, datasets: data.findings.map(function (s) {
        return {label: s.label, data: s.values, backgroundColor: s.colour};
      })},
      options: {aspectRatio: 1.3, plugins: {legend: {position: "bottom", labels: {boxWidth: 10}}},
                scales: {x: Object.assign({stacked: true}, DATE_AXIS),
                         y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}}}
    };
  }

  onReady(function () {
    var source = document.getElementById("dashboard-data");
    if (!source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#667085";
    window.Chart.defaults.animation = false;
    draw("chart-classification", doughnut(data.classification));
    draw("chart-severity", bars(data.severity, false));
    draw("chart-owasp", bars(data.owasp, true));
    draw("chart-trend", trend(data.trend));
    draw("chart-trend-findings", findingsTrend(data.trend));
    document.body.setAttribute("data-charts", "drawn");
  });
})();
