// Analytics page (templates/analytics/analytics.html): draws the charts from the JSON block
// #analytics-data with Chart.js. CSP allows no inline code, so the page passes its numbers as JSON,
// not as script. The tables beside each chart hold the same numbers for readers who cannot see the
// charts. Sets data-charts="<count>" on #analytics-data once the charts are drawn.

import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement,
  PointElement, Tooltip,
} from 'chart.js';
import { onReady, readJson } from './lib/dom.js';

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement,
  PointElement, Tooltip);

const COLORS = {
  median: 'rgba(13, 110, 253, 0.75)',
  p90: 'rgba(253, 126, 20, 0.75)',
  compliance: 'rgba(25, 135, 84, 0.75)',
  started: 'rgb(13, 110, 253)',
  finished: 'rgb(25, 135, 84)',
  cases: 'rgba(111, 66, 193, 0.75)',
  ratings: 'rgba(255, 193, 7, 0.85)',
};

function bar(canvasId, labels, datasets, yTitle, max, counts) {
  const canvas = document.getElementById(canvasId);
  if (!canvas || !labels.length) return null;
  const horizontal = labels.length > 8;
  const valueAxis = {
    beginAtZero: true,
    title: { display: true, text: yTitle },
  };
  if (max) valueAxis.max = max;
  if (counts) valueAxis.ticks = { precision: 0 }; // whole numbers only
  return new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets },
    options: {
      indexAxis: horizontal ? 'y' : 'x',
      responsive: true,
      maintainAspectRatio: true,
      aspectRatio: horizontal ? Math.max(0.6, 2.2 - labels.length * 0.05) : 2,
      animation: false,
      scales: horizontal ? { x: valueAxis } : { y: valueAxis },
      plugins: { legend: { display: datasets.length > 1 } },
    },
  });
}

function line(canvasId, labels, datasets) {
  const canvas = document.getElementById(canvasId);
  if (!canvas || !labels.length) return null;
  return new Chart(canvas, {
    type: 'line',
    data: { labels, datasets },
    options: {
      responsive: true,
      animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      interaction: { mode: 'index', intersect: false },
    },
  });
}

/** Draws every chart the data has labels for; returns how many were drawn. */
function draw(data) {
  const t = data.text;
  const charts = [
    bar('chart-cycle', data.steps.labels, [
      { label: t.median, data: data.steps.median, backgroundColor: COLORS.median },
      { label: t.p90, data: data.steps.p90, backgroundColor: COLORS.p90 },
    ], t.hours),
    bar('chart-sla-step', data.steps.labels, [
      { label: t.compliance, data: data.steps.compliance, backgroundColor: COLORS.compliance },
    ], t.percent, 100),
    bar('chart-sla-group', data.groups.labels, [
      { label: t.compliance, data: data.groups.compliance, backgroundColor: COLORS.compliance },
    ], t.percent, 100),
    line('chart-weeks', data.weeks.labels, [
      { label: t.started, data: data.weeks.started, borderColor: COLORS.started, backgroundColor: COLORS.started,
        tension: 0.2 },
      { label: t.finished, data: data.weeks.finished, borderColor: COLORS.finished,
        backgroundColor: COLORS.finished, tension: 0.2 },
    ]),
  ];
  // after-sales: drawn only when the period has cases / rated survey answers (labels are empty otherwise)
  if (data.cases) {
    charts.push(bar('chart-case-types', data.cases.labels, [
      { label: t.cases, data: data.cases.opened, backgroundColor: COLORS.cases },
    ], t.count, null, true));
  }
  if (data.ratings) {
    charts.push(bar('chart-ratings', data.ratings.labels, [
      { label: t.answers, data: data.ratings.counts, backgroundColor: COLORS.ratings },
    ], t.count, null, true));
  }
  return charts.filter(Boolean).length;
}

onReady(() => {
  const data = readJson('analytics-data');
  if (!data) return;
  const drawn = draw(data);
  document.getElementById('analytics-data').dataset.charts = String(drawn);
});
