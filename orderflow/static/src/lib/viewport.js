// Where a diagram opens and how its view buttons move it (monitor.js, diagram.js). A large process
// fitted into its box is too small to read, so the pages open on the elements that matter (the busiest
// ones, the order's open steps) at a readable zoom, and keep "fit the whole diagram" one click away.

/** Never open below this zoom (text of the diagram and its badges stays readable) … */
export const MIN_READABLE_SCALE = 0.6;
/** … nor above this one (a single small task does not fill the box). */
export const MAX_OPEN_SCALE = 1.2;
/** Diagram units of context shown around the chosen elements. */
const PADDING = 60;
/** The share of the waiting weight the busiest area holds, when it fits at a readable zoom. */
const BUSY_SHARE = 0.8;

/** The shapes of `ids` that the diagram draws (unknown ids and connections left out). */
function shapesOf(registry, ids) {
  return ids.map((id) => registry.get(id))
    .filter((el) => el && typeof el.x === 'number' && typeof el.width === 'number' && !el.waypoints);
}

/** The bounding box {x, y, width, height} of `shapes`, or null when there are none. */
export function boundsOf(shapes) {
  if (!shapes.length) return null;
  const minX = Math.min(...shapes.map((s) => s.x));
  const minY = Math.min(...shapes.map((s) => s.y));
  const maxX = Math.max(...shapes.map((s) => s.x + s.width));
  const maxY = Math.max(...shapes.map((s) => s.y + s.height));
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}

function boxSize(container) {
  return { width: container.clientWidth || 800, height: container.clientHeight || 480 };
}

/** The zoom that shows `box` (with padding) in the container, kept within the readable range. */
export function scaleFor(container, box) {
  const { width, height } = boxSize(container);
  const fit = Math.min(width / (box.width + 2 * PADDING), height / (box.height + 2 * PADDING));
  return Math.max(MIN_READABLE_SCALE, Math.min(MAX_OPEN_SCALE, fit));
}

/** Centre `box` in the container at the zoom `scaleFor` picks. */
export function showBox(canvas, container, box) {
  const { width, height } = boxSize(container);
  const scale = scaleFor(container, box);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  canvas.viewbox({ x: cx - width / 2 / scale, y: cy - height / 2 / scale, width: width / scale,
    height: height / scale });
}

/** How much an element's queue matters: every waiting order counts, an overdue one twice, an incident too. */
export function weightOf(item) {
  return (item.waiting || 0) + (item.overdue || 0) + (item.incidents || 0);
}

/** True when `box` (with padding) fits the container at the readable zoom. */
function fitsReadably(container, box) {
  const { width, height } = boxSize(container);
  return (box.width + 2 * PADDING) * MIN_READABLE_SCALE <= width &&
    (box.height + 2 * PADDING) * MIN_READABLE_SCALE <= height;
}

/**
 * The first of `entries` ({shape, weight}, most important first), then each next one while the chosen
 * hold less than `share` of the weight, as long as their bounding box still fits the container at the
 * readable zoom (so the first is always in view). Their shapes; empty when there are no entries.
 */
function readableGroup(container, entries, share) {
  if (!entries.length) return [];
  const total = entries.reduce((sum, entry) => sum + entry.weight, 0);
  const chosen = [entries[0].shape];
  let held = entries[0].weight;
  for (const entry of entries.slice(1)) {
    if (held >= share * total) break;
    if (!fitsReadably(container, boundsOf([...chosen, entry.shape]))) continue;
    chosen.push(entry.shape);
    held += entry.weight;
  }
  return chosen;
}

/**
 * The elements of the busiest area: the heaviest queue first, then the next heaviest while they hold
 * less than BUSY_SHARE of the weight and still fit at a readable zoom together. Empty when nothing waits.
 */
export function busiestShapes(registry, container, items) {
  const ranked = items.map((item) => ({ item, weight: weightOf(item), shape: shapesOf(registry, [item.element_id])[0] }))
    .filter((entry) => entry.shape && entry.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.item.element_id.localeCompare(b.item.element_id));
  return readableGroup(container, ranked, BUSY_SHARE);
}

/** Show `shapes` readably, or the whole diagram when there are none. Returns the view's name. */
export function showShapes(canvas, container, shapes) {
  const box = boundsOf(shapes);
  if (!box) {
    canvas.zoom('fit-viewport');
    return 'fit';
  }
  showBox(canvas, container, box);
  return 'focus';
}

/** Show the shapes of `ids` (see showShapes): as many of them, in their order, as fit at a readable zoom. */
export function showIds(canvas, registry, container, ids) {
  const entries = shapesOf(registry, ids).map((shape) => ({ shape, weight: 1 }));
  return showShapes(canvas, container, readableGroup(container, entries, 1));
}

/**
 * Wire the page's view buttons ([data-diagram-view][data-diagram="<container id>"]): "fit" shows the
 * whole diagram, "in"/"out" zoom one step about the centre, any other view calls `views[name]()`.
 * The container's data-view names the view last chosen (tests and styles read it).
 */
export function wireViewButtons(viewer, container, views) {
  const canvas = viewer.get('canvas');
  const all = { fit: () => canvas.zoom('fit-viewport'), ...views };
  document.querySelectorAll(`[data-diagram-view][data-diagram="${container.id}"]`).forEach((button) => {
    button.disabled = false;
    button.addEventListener('click', () => {
      const view = button.getAttribute('data-diagram-view');
      if (view === 'in' || view === 'out') {
        viewer.get('zoomScroll').stepZoom(view === 'in' ? 1 : -1);
        container.setAttribute('data-view', 'zoomed');
      } else if (all[view]) {
        all[view]();
        container.setAttribute('data-view', view);
      }
    });
  });
}

/** Keep the container's data-scale (the canvas zoom, 3 decimals) current, for tests and styles. */
export function trackScale(viewer, container) {
  const canvas = viewer.get('canvas');
  const write = () => container.setAttribute('data-scale', canvas.viewbox().scale.toFixed(3));
  viewer.get('eventBus').on('canvas.viewbox.changed', write);
  write();
}
