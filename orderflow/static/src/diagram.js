// The order page's diagram (templates/pages/order.html): renders each .diagram[data-bpmn-url] with the
// bpmn-js navigated viewer and marks the elements that are done (data-done), waiting (data-current)
// and failed (data-failed). Sets data-loaded="true" when finished, or data-error with a message on
// failure. The bpmn.io watermark stays visible (bpmn-js licence).

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { alertBox, onReady } from './lib/dom.js';

const MIN_READABLE_SCALE = 0.45;
const FOCUS_SCALE = 0.8;

function parseIds(value) {
  if (!value) return [];
  try {
    const ids = JSON.parse(value);
    return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string' && id) : [];
  } catch {
    return [];
  }
}

function showError(container, message) {
  container.setAttribute('data-error', message);
  const text = (container.getAttribute('data-error-text') || 'The diagram could not be shown.') +
    (message ? ` (${message})` : '');
  container.appendChild(alertBox('warning', text, 'm-3 diagram-error'));
}

// Show the open tasks at a readable scale, centred in the container.
function focusOn(viewer, container, ids) {
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const shapes = ids.map((id) => registry.get(id))
    .filter((el) => el && typeof el.x === 'number' && typeof el.width === 'number');
  if (!shapes.length) return false;
  const minX = Math.min(...shapes.map((s) => s.x));
  const minY = Math.min(...shapes.map((s) => s.y));
  const maxX = Math.max(...shapes.map((s) => s.x + s.width));
  const maxY = Math.max(...shapes.map((s) => s.y + s.height));
  const width = container.clientWidth || 800;
  const height = container.clientHeight || 480;
  const scale = Math.min(1, FOCUS_SCALE, 0.8 * width / Math.max(maxX - minX, 1),
    0.8 * height / Math.max(maxY - minY, 1));
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  canvas.viewbox({ x: cx - width / 2 / scale, y: cy - height / 2 / scale, width: width / scale,
    height: height / scale });
  return true;
}

function wireControls(viewer, container, current) {
  document.querySelectorAll(`[data-diagram-view][data-diagram="${container.id}"]`).forEach((button) => {
    button.disabled = false;
    button.addEventListener('click', () => {
      if (button.getAttribute('data-diagram-view') === 'current') {
        focusOn(viewer, container, current);
      } else {
        viewer.get('canvas').zoom('fit-viewport');
      }
    });
  });
}

async function render(container) {
  if (container.getAttribute('data-loaded') || container.getAttribute('data-error')) return;
  const loading = document.createElement('div');
  loading.className = 'diagram-loading text-body-secondary small p-3';
  loading.textContent = container.getAttribute('data-loading-text') || 'Loading…';
  container.appendChild(loading);
  let viewer = null;
  try {
    const response = await fetch(container.getAttribute('data-bpmn-url'), {
      credentials: 'same-origin',
      headers: { Accept: 'application/xml' },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const xml = await response.text();
    loading.remove();
    viewer = new NavigatedViewer({ container });
    await viewer.importXML(xml);
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    canvas.zoom('fit-viewport');
    const current = parseIds(container.getAttribute('data-current'));
    parseIds(container.getAttribute('data-done')).forEach((id) => {
      if (registry.get(id) && !current.includes(id)) canvas.addMarker(id, 'of-done');
    });
    current.forEach((id) => {
      if (registry.get(id)) canvas.addMarker(id, 'of-current');
    });
    parseIds(container.getAttribute('data-failed')).forEach((id) => {
      if (registry.get(id)) canvas.addMarker(id, 'of-failed');
    });
    // A large process fitted into the box is too small to read: start at the open tasks.
    if (canvas.viewbox().scale < MIN_READABLE_SCALE) focusOn(viewer, container, current);
    container.bpmnViewer = viewer; // for the browser console
    wireControls(viewer, container, current);
    container.dataset.loaded = 'true';
  } catch (err) {
    loading.remove();
    if (viewer) {
      try {
        viewer.destroy();
      } catch {
        // the error shown below is the one that matters
      }
    }
    showError(container, err && err.message ? err.message : String(err));
  }
}

onReady(() => {
  document.querySelectorAll('.diagram[data-bpmn-url]').forEach((container) => render(container));
});
