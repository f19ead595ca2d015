/* Orderflow page behaviour. Loaded on every page (CSP: script-src 'self', no inline code).
 *  - [data-add-row="<table id>"]: clone the last row of the table's <tbody>, clear it and
 *    renumber names/ids/labels from <field>-<n>- to the next free index.
 *  - [data-remove-row]: remove a table row (or clear it when it is the only one).
 *  - htmx: show error fragments (4xx/5xx) in #htmx-errors instead of dropping them.
 */
(function () {
  'use strict';

  function rowIndexPattern(field) {
    var escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp('^' + escaped + '-(\\d+)-');
  }

  function nextIndex(table, field) {
    var pattern = rowIndexPattern(field);
    var max = -1;
    table.querySelectorAll('[name]').forEach(function (el) {
      var m = pattern.exec(el.getAttribute('name'));
      if (m) { max = Math.max(max, parseInt(m[1], 10)); }
    });
    return max + 1;
  }

  function clearControls(row) {
    row.querySelectorAll('input, select, textarea').forEach(function (el) {
      if (el.type === 'checkbox' || el.type === 'radio') {
        el.checked = false;
      } else if (el.tagName === 'SELECT') {
        el.selectedIndex = 0;
      } else {
        el.value = '';
      }
      el.classList.remove('is-invalid');
      el.removeAttribute('aria-invalid');
      el.removeAttribute('aria-describedby');
    });
  }

  function renumberRows(table) {
    table.querySelectorAll('tbody tr').forEach(function (row, position) {
      row.querySelectorAll('[data-row-number]').forEach(function (el) {
        el.textContent = String(position + 1);
      });
    });
  }

  function addRow(button) {
    var table = document.getElementById(button.getAttribute('data-add-row'));
    if (!table) { return; }
    var body = table.tBodies[0];
    var last = body && body.rows[body.rows.length - 1];
    if (!last) { return; }
    var field = table.getAttribute('data-field') || table.id.replace(/-table$/, '');
    var pattern = rowIndexPattern(field);
    var index = nextIndex(table, field);
    var clone = last.cloneNode(true);
    ['name', 'id', 'for'].forEach(function (attr) {
      clone.querySelectorAll('[' + attr + ']').forEach(function (el) {
        var value = el.getAttribute(attr);
        if (pattern.test(value)) {
          el.setAttribute(attr, value.replace(pattern, field + '-' + index + '-'));
        }
      });
    });
    clone.setAttribute('data-row', String(index));
    clearControls(clone);
    body.appendChild(clone);
    renumberRows(table);
    var first = clone.querySelector('input:not([type=hidden]), select, textarea');
    if (first) { first.focus(); }
  }

  function removeRow(button) {
    var row = button.closest('tr');
    var body = row && row.parentElement;
    if (!row || !body) { return; }
    var table = body.closest('table');
    if (body.rows.length > 1) {
      row.remove();
    } else {
      clearControls(row);
    }
    if (table) {
      renumberRows(table);
      var focusable = table.querySelector('tbody tr:last-child input, tbody tr:last-child select');
      if (focusable) { focusable.focus(); }
    }
  }

  document.addEventListener('click', function (event) {
    var add = event.target.closest('[data-add-row]');
    if (add) {
      event.preventDefault();
      addRow(add);
      return;
    }
    var remove = event.target.closest('[data-remove-row]');
    if (remove) {
      event.preventDefault();
      removeRow(remove);
    }
  });

  // Focus the error summary after a failed submit so screen readers announce it.
  document.addEventListener('DOMContentLoaded', function () {
    var summary = document.getElementById('form-errors');
    if (summary) { summary.focus(); }
  });

  // htmx does not swap error answers by default; show the error fragment above the page.
  document.addEventListener('htmx:beforeSwap', function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status < 400) { return; }
    var box = document.getElementById('htmx-errors');
    if (!box) { return; }
    event.detail.shouldSwap = true;
    event.detail.isError = false;
    event.detail.target = box;
    event.detail.swapOverride = 'innerHTML';
  });

  document.addEventListener('htmx:sendError', function () {
    var box = document.getElementById('htmx-errors');
    if (box) {
      box.innerHTML = '';
      var alert = document.createElement('div');
      alert.className = 'alert alert-danger';
      alert.setAttribute('role', 'alert');
      alert.textContent = box.getAttribute('data-offline-text') || 'The server could not be reached; try again.';
      box.appendChild(alert);
    }
  });

  // Clear an old error once a later htmx request succeeds.
  document.addEventListener('htmx:afterRequest', function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status < 400 && event.detail.target && event.detail.target.id !== 'htmx-errors') {
      var box = document.getElementById('htmx-errors');
      if (box) { box.innerHTML = ''; }
    }
  });
})();
