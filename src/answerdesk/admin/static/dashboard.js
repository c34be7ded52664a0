// Dashboard charts (Chart.js from the npm registry, vendored at build time); a click on a bar or slice opens
// the Chats or Tickets list behind it.
(function () {
  "use strict";
  function start() {
    const holder = document.getElementById("dash-data");
    if (!holder || typeof window.Chart === "undefined") return;
    const data = JSON.parse(holder.textContent);
    const colors = ["#2563eb", "#16a34a", "#9333ea", "#f59e0b", "#dc2626", "#64748b"];
    const opener = (links) => (event, elements) => {
      if (elements.length && links[elements[0].index]) window.location.href = links[elements[0].index];
    };
    const base = (links, extra) => Object.assign({
      responsive: true, maintainAspectRatio: false, animation: false, onClick: opener(links),
      plugins: { legend: { display: false } },
    }, extra || {});
    const counts = { y: { beginAtZero: true, ticks: { precision: 0 } } };
    const make = (id, config) => {
      const canvas = document.getElementById(id);
      if (canvas) { canvas.parentElement.style.height = "auto"; new window.Chart(canvas, config); }
    };
    make("chart-days", {
      type: "bar",
      data: { labels: data.days.labels, datasets: [{ label: "Conversations", data: data.days.conversations, backgroundColor: colors[0] }] },
      options: base(data.days.links, { scales: counts }),
    });
    make("chart-modes", {
      type: "doughnut",
      data: { labels: data.modes.labels, datasets: [{ data: data.modes.values, backgroundColor: colors }] },
      options: base(data.modes.links, { plugins: { legend: { display: true, position: "right" } } }),
    });
    make("chart-csat", {
      type: "bar",
      data: { labels: data.csat.labels, datasets: [{ label: "Ratings", data: data.csat.values, backgroundColor: "#f59e0b" }] },
      options: base(data.csat.links, { scales: counts }),
    });
    const mood = { negative: "#dc2626", neutral: "#94a3b8", positive: "#16a34a" };
    make("chart-sentiment", {
      type: "bar",
      data: {
        labels: data.days.labels,
        datasets: Object.keys(mood).map((k) => ({ label: k, data: data.days.sentiment[k], backgroundColor: mood[k] })),
      },
      options: base(data.days.links, {
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: true, position: "bottom" } },
      }),
    });
    make("chart-drafts", {
      type: "bar",
      data: { labels: data.drafts.labels, datasets: [{ label: "Drafts", data: data.drafts.values, backgroundColor: ["#16a34a", "#f59e0b", "#dc2626"] }] },
      options: base(data.drafts.links, { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }),
    });
    document.body.dataset.chartsReady = "1";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
