// The order page's diagram (templates/pages/order.html): renders each .diagram[data-bpmn-url] with the
// bpmn-js navigated viewer and marks the elements that are done (data-done), waiting (data-current)
// and failed (data-failed), and draws a small clock on each task with a time limit (lib/time_limits.js); it opens on the waiting and failed ones at a readable zoom
// (lib/viewport.js). Sets data-loaded="true" when finished, or data-error with a message on failure.
// The bpmn.io watermark stays visible (bpmn-js licence).

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { alertBox, onReady } from './lib/dom.js';
import { addTimeLimitMarkers } from './lib/time_limits.js';
import { showIds, trackScale, wireViewButtons } from './lib/viewport.js';

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
    const current = parseIds(container.getAttribute('data-current'));
    parseIds(container.getAttribute('data-done')).forEach((id) => {
      if (registry.get(id) && !current.includes(id)) canvas.addMarker(id, 'of-done');
    });
    current.forEach((id) => {
      if (registry.get(id)) canvas.addMarker(id, 'of-current');
    });
    const failed = parseIds(container.getAttribute('data-failed'));
    failed.forEach((id) => {
      if (registry.get(id)) canvas.addMarker(id, 'of-failed');
    });
    addTimeLimitMarkers(viewer, container, xml);
    // A large process fitted into the box is too small to read: open on the open steps at a
    // readable zoom (the whole diagram when none is open); the buttons switch views.
    const showCurrent = () => showIds(canvas, registry, container, [...current, ...failed]);
    container.setAttribute('data-view', showCurrent() === 'fit' ? 'fit' : 'current');
    trackScale(viewer, container);
    container.bpmnViewer = viewer; // for the browser console and the browser tests
    wireViewButtons(viewer, container, { current: showCurrent });
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
