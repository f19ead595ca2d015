// Orderflow page behaviour, loaded on every page (templates/shared/base.html; CSP: script-src 'self',
// no inline code):
//  - [data-add-row="<table id>"]: clone the last row of the table's <tbody>, clear it and
//    renumber names/ids/labels from <field>-<n>- to the next free index.
//  - [data-remove-row]: remove a table row (or clear it when it is the only one).
//  - [data-print]: print the page.
//  - forms with show-if conditions hide the fields that do not apply (lib/show_if.js).
//  - htmx: show error fragments (4xx/5xx) in #htmx-errors instead of dropping them.

import { alertBox, onReady } from './lib/dom.js';
import { followConditions } from './lib/show_if.js';

function rowIndexPattern(field) {
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}-(\\d+)-`);
}

function nextIndex(table, field) {
  const pattern = rowIndexPattern(field);
  let max = -1;
  table.querySelectorAll('[name]').forEach((el) => {
    const m = pattern.exec(el.getAttribute('name'));
    if (m) max = Math.max(max, parseInt(m[1], 10));
  });
  return max + 1;
}

function clearControls(row) {
  row.querySelectorAll('input, select, textarea').forEach((el) => {
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
  table.querySelectorAll('tbody tr').forEach((row, position) => {
    row.querySelectorAll('[data-row-number]').forEach((el) => {
      el.textContent = String(position + 1);
    });
  });
}

function addRow(button) {
  const table = document.getElementById(button.getAttribute('data-add-row'));
  if (!table) return;
  const body = table.tBodies[0];
  const last = body && body.rows[body.rows.length - 1];
  if (!last) return;
  const field = table.getAttribute('data-field') || table.id.replace(/-table$/, '');
  const pattern = rowIndexPattern(field);
  const index = nextIndex(table, field);
  const clone = last.cloneNode(true);
  ['name', 'id', 'for'].forEach((attr) => {
    clone.querySelectorAll(`[${attr}]`).forEach((el) => {
      const value = el.getAttribute(attr);
      if (pattern.test(value)) el.setAttribute(attr, value.replace(pattern, `${field}-${index}-`));
    });
  });
  clone.setAttribute('data-row', String(index));
  clearControls(clone);
  body.appendChild(clone);
  renumberRows(table);
  const first = clone.querySelector('input:not([type=hidden]), select, textarea');
  if (first) first.focus();
}

function removeRow(button) {
  const row = button.closest('tr');
  const body = row && row.parentElement;
  if (!row || !body) return;
  const table = body.closest('table');
  if (body.rows.length > 1) {
    row.remove();
  } else {
    clearControls(row);
  }
  if (table) {
    renumberRows(table);
    const focusable = table.querySelector('tbody tr:last-child input, tbody tr:last-child select');
    if (focusable) focusable.focus();
  }
}

document.addEventListener('click', (event) => {
  const add = event.target.closest('[data-add-row]');
  if (add) {
    event.preventDefault();
    addRow(add);
    return;
  }
  const remove = event.target.closest('[data-remove-row]');
  if (remove) {
    event.preventDefault();
    removeRow(remove);
    return;
  }
  if (event.target.closest('[data-print]')) window.print();
});

// Focus the error summary after a failed submit so screen readers announce it.
onReady(() => {
  followConditions();
  const summary = document.getElementById('form-errors');
  if (summary) summary.focus();
});

// htmx does not swap error answers by default; show the error fragment above the page.
document.addEventListener('htmx:beforeSwap', (event) => {
  const xhr = event.detail.xhr;
  if (!xhr || xhr.status < 400) return;
  const box = document.getElementById('htmx-errors');
  if (!box) return;
  event.detail.shouldSwap = true;
  event.detail.isError = false;
  event.detail.target = box;
  event.detail.swapOverride = 'innerHTML';
});

document.addEventListener('htmx:sendError', () => {
  const box = document.getElementById('htmx-errors');
  if (!box) return;
  box.replaceChildren(alertBox('danger',
    box.getAttribute('data-offline-text') || 'The server could not be reached; try again.'));
});

// Clear an old error once a later htmx request succeeds.
document.addEventListener('htmx:afterRequest', (event) => {
  const xhr = event.detail.xhr;
  if (xhr && xhr.status < 400 && event.detail.target && event.detail.target.id !== 'htmx-errors') {
    const box = document.getElementById('htmx-errors');
    if (box) box.replaceChildren();
  }
});
