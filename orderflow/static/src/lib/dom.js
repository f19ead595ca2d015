// Helpers the page entries share (bundled into each page's module graph by esbuild).

/** Run `fn` once the document is parsed (a module script normally runs after that already). */
export function onReady(fn) {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fn, { once: true });
  else fn();
}

/** The data of a `<script type="application/json" id="…">` block, or null when missing or unreadable.
 * Pages hand their data to scripts this way: the CSP runs no inline script. */
export function readJson(id) {
  const block = document.getElementById(id);
  if (!block) return null;
  try {
    return JSON.parse(block.textContent);
  } catch {
    return null;
  }
}

/** A Bootstrap alert (role="alert") showing `text`. */
export function alertBox(kind, text, extraClasses = '') {
  const box = document.createElement('div');
  box.className = `alert alert-${kind}${extraClasses ? ` ${extraClasses}` : ''}`;
  box.setAttribute('role', 'alert');
  box.textContent = text;
  return box;
}
