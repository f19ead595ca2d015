// Finding one's way in a large diagram: fit / zoom buttons, a minimap, a visible search (diagram-js's pad, Ctrl+F),
// the keyboard shortcuts, and an opening view that keeps the diagram clear of the palette.

import { trackScale, wireViewButtons } from '../lib/viewport.js';

const GAP = 24; // screen pixels between the palette (or the box's edge) and the diagram

export function setUpNavigation(modeler, container, ui) {
  wireViewButtons(modeler, container, {});
  trackScale(modeler, container);
  ui.search.addEventListener('click', (event) => {
    event.stopPropagation(); // the pad closes on a click outside the diagram: this one opened it
    modeler.get('searchPad').open();
  });
  ui.keys.addEventListener('click', () => ui.keysDialog.showModal());
  const minimap = modeler.get('minimap');   // diagram-js-minimap: the whole diagram, the view as a box to drag
  const showMap = () => ui.minimap.setAttribute('aria-pressed', String(minimap.isOpen()));
  ui.minimap.addEventListener('click', () => { minimap.toggle(); showMap(); });
  modeler.get('eventBus').on('minimap.toggle', showMap);
  showMap();
  ui.keysDialog.querySelector('[data-close]').addEventListener('click', () => ui.keysDialog.close());
}

// Scroll right, at the current zoom, until the diagram's left edge is clear of the palette (drawn
// over the canvas), so it never covers the start event.
export function clearOfPalette(canvas) {
  const container = canvas.getContainer();
  const box = canvas.viewbox();
  if (!box.inner || !Number.isFinite(box.inner.x)) return;
  const palette = container.querySelector('.djs-palette');
  const edge = Math.max(0, palette ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left : 0);
  const left = (box.inner.x - box.x) * box.scale; // where the diagram starts on screen
  if (left >= edge + GAP) return;
  canvas.viewbox({ x: box.x - (edge + GAP - left) / box.scale, y: box.y, width: box.width, height: box.height });
}
