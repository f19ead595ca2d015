/* Render each .diagram[data-bpmn-url] with the bpmn-js navigated viewer (global BpmnJS) and
 * mark the elements that are done (data-done) and waiting (data-current).
 * Sets data-loaded="true" when finished, or data-error with a message on failure.
 * The bpmn.io watermark stays visible (bpmn-js licence). */
(function () {
  'use strict';

  var MIN_READABLE_SCALE = 0.45;
  var FOCUS_SCALE = 0.8;

  function parseIds(value) {
    if (!value) { return []; }
    try {
      var ids = JSON.parse(value);
      return Array.isArray(ids) ? ids.filter(function (id) { return typeof id === 'string' && id; }) : [];
    } catch (e) {
      return [];
    }
  }

  function showError(container, message) {
    container.setAttribute('data-error', message);
    var box = document.createElement('div');
    box.className = 'alert alert-warning m-3 diagram-error';
    box.setAttribute('role', 'alert');
    box.textContent = (container.getAttribute('data-error-text') || 'The diagram could not be shown.') +
      (message ? ' (' + message + ')' : '');
    container.appendChild(box);
  }

  // Show the open tasks at a readable scale, centred in the container.
  function focusOn(viewer, container, ids) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var shapes = ids.map(function (id) { return registry.get(id); }).filter(function (el) {
      return el && typeof el.x === 'number' && typeof el.width === 'number';
    });
    if (!shapes.length) { return false; }
    var minX = Math.min.apply(null, shapes.map(function (s) { return s.x; }));
    var minY = Math.min.apply(null, shapes.map(function (s) { return s.y; }));
    var maxX = Math.max.apply(null, shapes.map(function (s) { return s.x + s.width; }));
    var maxY = Math.max.apply(null, shapes.map(function (s) { return s.y + s.height; }));
    var width = container.clientWidth || 800;
    var height = container.clientHeight || 480;
    var scale = Math.min(1, FOCUS_SCALE, 0.8 * width / Math.max(maxX - minX, 1), 0.8 * height / Math.max(maxY - minY, 1));
    var cx = (minX + maxX) / 2;
    var cy = (minY + maxY) / 2;
    canvas.viewbox({ x: cx - width / 2 / scale, y: cy - height / 2 / scale, width: width / scale, height: height / scale });
    return true;
  }

  function wireControls(viewer, container, current) {
    document.querySelectorAll('[data-diagram-view][data-diagram="' + container.id + '"]').forEach(function (button) {
      button.disabled = false;
      button.addEventListener('click', function () {
        if (button.getAttribute('data-diagram-view') === 'current') {
          focusOn(viewer, container, current);
        } else {
          viewer.get('canvas').zoom('fit-viewport');
        }
      });
    });
  }

  async function render(container) {
    if (container.getAttribute('data-loaded') || container.getAttribute('data-error')) { return; }
    if (typeof window.BpmnJS !== 'function') {
      showError(container, 'bpmn-js not loaded');
      return;
    }
    var loading = document.createElement('div');
    loading.className = 'diagram-loading text-body-secondary small p-3';
    loading.textContent = container.getAttribute('data-loading-text') || 'Loading…';
    container.appendChild(loading);
    var viewer = null;
    try {
      var response = await fetch(container.getAttribute('data-bpmn-url'), {
        credentials: 'same-origin',
        headers: { 'Accept': 'application/xml' }
      });
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      var xml = await response.text();
      loading.remove();
      viewer = new window.BpmnJS({ container: container });
      await viewer.importXML(xml);
      var canvas = viewer.get('canvas');
      var registry = viewer.get('elementRegistry');
      canvas.zoom('fit-viewport');
      var current = parseIds(container.getAttribute('data-current'));
      parseIds(container.getAttribute('data-done')).forEach(function (id) {
        if (registry.get(id) && current.indexOf(id) === -1) { canvas.addMarker(id, 'of-done'); }
      });
      current.forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, 'of-current'); }
      });
      parseIds(container.getAttribute('data-failed')).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, 'of-failed'); }
      });
      // A large process fitted into the box is too small to read: start at the open tasks.
      if (canvas.viewbox().scale < MIN_READABLE_SCALE) { focusOn(viewer, container, current); }
      container.bpmnViewer = viewer;
      wireControls(viewer, container, current);
      container.dataset.loaded = 'true';
    } catch (err) {
      loading.remove();
      if (viewer) {
        try { viewer.destroy(); } catch (e) { /* ignore */ }
      }
      showError(container, err && err.message ? err.message : String(err));
    }
  }

  function renderAll() {
    document.querySelectorAll('.diagram[data-bpmn-url]').forEach(function (container) {
      render(container);
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', renderAll);
  } else {
    renderAll();
  }
})();
