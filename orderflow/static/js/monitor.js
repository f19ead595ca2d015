/* The diagram view: a badge on every element where orders wait (count, overdue in red),
 * elements coloured by how long the oldest has waited, a click opens the board filtered to
 * that step. Data: GET data-counts-url (the monitor API). Sets data-loaded="true" when done. */
(function () {
  'use strict';

  var HOUR = 3600 * 1000;

  function ageClass(oldest) {
    if (!oldest) { return null; }
    var age = Date.now() - Date.parse(oldest);
    if (age < HOUR) { return 'of-age-1'; }
    if (age < 24 * HOUR) { return 'of-age-2'; }
    if (age < 72 * HOUR) { return 'of-age-3'; }
    return 'of-age-4';
  }

  function boardUrl(container, elementId) {
    var url = new URL(container.getAttribute('data-board-url'), window.location.href);
    url.searchParams.set('element', elementId);
    return url.pathname + url.search;
  }

  function badge(container, item) {
    var link = document.createElement('a');
    link.className = 'of-badge';
    link.href = boardUrl(container, item.element_id);
    link.setAttribute('data-element', item.element_id);
    link.title = item.waiting + ' ' + container.getAttribute('data-waiting-text') + ', ' +
      item.overdue + ' ' + container.getAttribute('data-overdue-text');
    var count = document.createElement('span');
    count.className = 'of-badge-count';
    count.textContent = String(item.waiting);
    link.appendChild(count);
    if (item.overdue) {
      var late = document.createElement('span');
      late.className = 'of-badge-overdue';
      late.textContent = String(item.overdue);
      link.appendChild(late);
    }
    if (item.incidents) {
      var failed = document.createElement('span');
      failed.className = 'of-badge-incident';
      failed.textContent = '!' + item.incidents;
      link.appendChild(failed);
    }
    return link;
  }

  function fillTable(container, items) {
    var body = document.querySelector('#monitor-table tbody');
    if (!body) { return; }
    items.forEach(function (item) {
      var row = document.createElement('tr');
      var cells = [item.name, item.group || '', item.waiting, item.overdue, item.incidents || 0,
        item.oldest_ready_at ? new Date(item.oldest_ready_at).toLocaleString() : ''];
      cells.forEach(function (value, index) {
        var cell = document.createElement('td');
        if (index === 0) {
          var link = document.createElement('a');
          link.href = boardUrl(container, item.element_id);
          link.textContent = value;
          cell.appendChild(link);
        } else {
          cell.textContent = String(value);
        }
        if (index >= 2 && index <= 4) { cell.className = 'text-end'; }
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
  }

  async function render(container) {
    try {
      var viewer = new window.BpmnJS({ container: container });
      var responses = await Promise.all([
        fetch(container.getAttribute('data-bpmn-url'), { credentials: 'same-origin' }),
        fetch(container.getAttribute('data-counts-url'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      ]);
      if (!responses[0].ok || !responses[1].ok) { throw new Error('HTTP ' + responses[0].status + '/' + responses[1].status); }
      await viewer.importXML(await responses[0].text());
      var items = await responses[1].json();
      var canvas = viewer.get('canvas');
      var registry = viewer.get('elementRegistry');
      var overlays = viewer.get('overlays');
      canvas.zoom('fit-viewport');
      var counted = {};
      items.forEach(function (item) {
        if (!registry.get(item.element_id)) { return; }
        counted[item.element_id] = true;
        overlays.add(item.element_id, 'of-count', { position: { top: -12, right: 12 }, html: badge(container, item) });
        var age = ageClass(item.oldest_ready_at);
        if (age) { canvas.addMarker(item.element_id, age); }
        if (item.incidents) { canvas.addMarker(item.element_id, 'of-failed'); }
      });
      viewer.get('eventBus').on('element.click', function (event) {
        if (counted[event.element.id]) { window.location.href = boardUrl(container, event.element.id); }
      });
      fillTable(container, items);
      container.setAttribute('data-loaded', 'true');
    } catch (error) {
      container.setAttribute('data-error', String(error && error.message || error));
      var box = document.createElement('div');
      box.className = 'alert alert-warning m-3';
      box.setAttribute('role', 'alert');
      box.textContent = container.getAttribute('data-error-text') + ' (' + (error && error.message || error) + ')';
      container.appendChild(box);
    }
  }

  document.querySelectorAll('#monitor-diagram[data-bpmn-url]').forEach(render);
}());
