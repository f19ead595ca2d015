// The inbox's keys, as in mail clients (templates/pages/inbox.html): j / k move the selection
// down / up the task rows, Enter opens the selected task, c claims it. Keys typed into a field
// (input, select, textarea, contenteditable) or with a modifier are left alone. The rows are looked
// up on every key, so the table may be swapped by htmx (claim, release, filter) in between.

const SELECTED = 'table-active';
let swapped = null; // the id of the selected row while htmx swaps it

function typing(target) {
  if (!(target instanceof Element)) return false;
  return Boolean(target.closest('input, select, textarea, [contenteditable=""], [contenteditable="true"]'));
}

function rows() {
  return Array.from(document.querySelectorAll('#inbox tbody tr[data-task-id]'));
}

function select(row) {
  rows().forEach((r) => {
    r.classList.remove(SELECTED);
    r.removeAttribute('aria-selected');
  });
  if (!row) return;
  row.classList.add(SELECTED);
  row.setAttribute('aria-selected', 'true');
  row.scrollIntoView({ block: 'nearest' });
}

function move(step) {
  const all = rows();
  if (all.length === 0) return;
  const at = all.findIndex((r) => r.classList.contains(SELECTED));
  const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + step, 0), all.length - 1);
  select(all[next]);
}

function selected() {
  return document.querySelector(`#inbox tbody tr.${SELECTED}`);
}

function onKey(event) {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
  if (!document.getElementById('inbox')) return;
  const row = selected();
  if (event.key === 'j') move(1);
  else if (event.key === 'k') move(-1);
  else if (event.key === 'Enter' && row && !(event.target instanceof Element && event.target.closest('a, button'))) {
    const link = row.querySelector('a.task-link');
    if (link) window.location.assign(link.href);
  } else if (event.key === 'c' && row) {
    const claim = row.querySelector('button.claim');
    if (claim) claim.click();
  } else return;
  event.preventDefault();
}

document.addEventListener('keydown', onKey);

// a claimed or released row comes back from the server in place of the old one: keep it selected
document.addEventListener('htmx:beforeSwap', (event) => {
  const row = event.detail.target;
  if (row instanceof Element && row.classList.contains(SELECTED)) swapped = row.id;
});
document.addEventListener('htmx:afterSettle', () => {
  if (!swapped) return;
  const row = document.getElementById(swapped);
  swapped = null;
  if (row && row.matches('#inbox tbody tr[data-task-id]')) select(row);
});
