// The monitor's diagram view (templates/monitor/monitor.html): a badge on every element where orders
// wait (count, overdue in red), elements coloured by how long the oldest has waited, a click (or Enter
// on a focused badge) opens the board filtered to that step; a small clock marks each task with a time
// limit (lib/time_limits.js). The view opens on the busiest area at a
// readable zoom (lib/viewport.js); the badges keep their size on screen whatever the zoom, the
// heaviest on top. Data: GET data-counts-url (the monitor API). Sets data-loaded="true" when done,
// or data-error with a message on failure.

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { alertBox, onReady } from './lib/dom.js';
import { formatAt } from './lib/time.js';
import { addTimeLimitMarkers } from './lib/time_limits.js';
import { busiestShapes, showShapes, trackScale, weightOf, wireViewButtons } from './lib/viewport.js';

const HOUR = 3600 * 1000;

function ageClass(oldest) {
  if (!oldest) return null;
  const age = Date.now() - Date.parse(oldest);
  if (age < HOUR) return 'of-age-1';
  if (age < 24 * HOUR) return 'of-age-2';
  if (age < 72 * HOUR) return 'of-age-3';
  return 'of-age-4';
}

function boardUrl(container, elementId) {
  const url = new URL(container.getAttribute('data-board-url'), window.location.href);
  url.searchParams.set('element', elementId);
  return url.pathname + url.search;
}

function span(className, text) {
  const el = document.createElement('span');
  el.className = className;
  el.textContent = text;
  return el;
}

function badge(container, item) {
  const link = document.createElement('a');
  link.className = 'of-badge';
  link.href = boardUrl(container, item.element_id);
  link.setAttribute('data-element', item.element_id);
  link.title = `${item.waiting} ${container.getAttribute('data-waiting-text')}, ` +
    `${item.overdue} ${container.getAttribute('data-overdue-text')}`;
  link.setAttribute('aria-label', `${item.name}: ${link.title}. ${container.getAttribute('data-open-text') || ''}`.trim());
  link.appendChild(span('of-badge-count', String(item.waiting)));
  if (item.overdue) link.appendChild(span('of-badge-overdue', String(item.overdue)));
  if (item.incidents) link.appendChild(span('of-badge-incident', `!${item.incidents}`));
  return link;
}

function fillTable(container, items) {
  const body = document.querySelector('#monitor-table tbody');
  if (!body) return;
  items.forEach((item) => {
    const row = document.createElement('tr');
    const cells = [item.name, item.group || '', item.waiting, item.overdue, item.incidents || 0,
      item.oldest_ready_at ? formatAt(item.oldest_ready_at) : ''];
    cells.forEach((value, index) => {
      const cell = document.createElement('td');
      if (index === 0) {
        const link = document.createElement('a');
        link.href = boardUrl(container, item.element_id);
        link.textContent = value;
        cell.appendChild(link);
      } else {
        cell.textContent = String(value);
      }
      if (index >= 2 && index <= 4) cell.className = 'text-end';
      row.appendChild(cell);
    });
    body.appendChild(row);
  });
}

// Badges keep their on-screen size (scale: false); where they overlap when zoomed out, the heavier
// queue lies on top, and a hovered or focused badge above all (app.css).
function addBadges(viewer, container, items) {
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const overlays = viewer.get('overlays');
  const counted = new Set();
  items.forEach((item) => {
    if (!registry.get(item.element_id)) return;
    counted.add(item.element_id);
    const html = badge(container, item);
    overlays.add(item.element_id, 'of-count', { position: { top: -14, right: 14 }, scale: false, html });
    const holder = html.closest('.djs-overlays');
    if (holder) holder.style.zIndex = String(10 + Math.min(weightOf(item), 5000));
    const age = ageClass(item.oldest_ready_at);
    if (age) canvas.addMarker(item.element_id, age);
    if (item.incidents) canvas.addMarker(item.element_id, 'of-failed');
  });
  return counted;
}

// A badge reached with Tab may lie outside the view: bring its element in (the browser would
// otherwise scroll the clipped canvas box itself and shift the drawing off its overlays).
function followFocus(viewer, container) {
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  container.addEventListener('focusin', (event) => {
    const link = event.target.closest && event.target.closest('.of-badge');
    if (!link) return;
    const box = container.querySelector('.djs-container');
    if (box) { box.scrollTop = 0; box.scrollLeft = 0; }
    const element = registry.get(link.getAttribute('data-element'));
    const shown = container.getBoundingClientRect();
    const at = link.getBoundingClientRect();
    const inside = at.left >= shown.left && at.right <= shown.right && at.top >= shown.top && at.bottom <= shown.bottom;
    if (element && !inside) canvas.scrollToElement(element, 80);
  });
}

async function render(container) {
  try {
    const viewer = new NavigatedViewer({ container });
    const [bpmn, counts] = await Promise.all([
      fetch(container.getAttribute('data-bpmn-url'), { credentials: 'same-origin' }),
      fetch(container.getAttribute('data-counts-url'),
        { credentials: 'same-origin', headers: { Accept: 'application/json' } }),
    ]);
    if (!bpmn.ok || !counts.ok) throw new Error(`HTTP ${bpmn.status}/${counts.status}`);
    const xml = await bpmn.text();
    await viewer.importXML(xml);
    const items = await counts.json();
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    const counted = addBadges(viewer, container, items);
    addTimeLimitMarkers(viewer, container, xml);
    const busiest = () => showShapes(canvas, container, busiestShapes(registry, container, items));
    container.setAttribute('data-view', busiest() === 'fit' ? 'fit' : 'busiest');
    trackScale(viewer, container);
    wireViewButtons(viewer, container, { busiest });
    followFocus(viewer, container);
    viewer.get('eventBus').on('element.click', (event) => {
      if (counted.has(event.element.id)) window.location.href = boardUrl(container, event.element.id);
    });
    fillTable(container, items);
    container.bpmnViewer = viewer; // for the browser console and the browser tests
    container.setAttribute('data-loaded', 'true');
  } catch (error) {
    const message = String((error && error.message) || error);
    container.setAttribute('data-error', message);
    container.appendChild(alertBox('warning', `${container.getAttribute('data-error-text')} (${message})`, 'm-3'));
  }
}

onReady(() => {
  document.querySelectorAll('#monitor-diagram[data-bpmn-url]').forEach((container) => render(container));
});
