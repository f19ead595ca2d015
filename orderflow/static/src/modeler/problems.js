// The check's problems: a list under the diagram and a red (error) or amber (warning)
// marker on each element; clicking a problem selects the element and scrolls to it.

import { fill } from './durations.js';
import { h } from './dom.js';

const MARKERS = ['of-problem', 'of-problem-error', 'of-problem-warning'];

// Centre the element at a readable scale (a whole order flow fits only when tiny).
export function focus(canvas, element) {
  const points = element.waypoints || [{ x: element.x, y: element.y },
    { x: element.x + element.width, y: element.y + element.height }];
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const box = canvas.viewbox();
  const scale = Math.min(Math.max(box.scale, 0.8), 1.2);
  const width = box.outer.width / scale;
  const height = box.outer.height / scale;
  canvas.viewbox({ x: (Math.min(...xs) + Math.max(...xs) - width) / 2,
    y: (Math.min(...ys) + Math.max(...ys) - height) / 2, width, height });
}

export class Problems {
  constructor(modeler, section, list, t) {
    Object.assign(this, { modeler, section, list, t });
    this.marked = [];
  }

  clear() {
    const canvas = this.modeler.get('canvas');
    const registry = this.modeler.get('elementRegistry');
    this.marked.forEach((id) => {
      if (registry.get(id)) MARKERS.forEach((m) => canvas.removeMarker(id, m));
    });
    this.marked = [];
    this.list.replaceChildren();
    this.section.hidden = true;
  }

  show(problems) {
    this.clear();
    if (!problems || !problems.length) return;
    const canvas = this.modeler.get('canvas');
    const registry = this.modeler.get('elementRegistry');
    problems.forEach((p) => {
      const severity = p.severity === 'warning' ? 'warning' : 'error';
      const element = p.element_id ? registry.get(p.element_id) : null;
      if (element) {
        canvas.addMarker(element, 'of-problem');
        canvas.addMarker(element, `of-problem-${severity}`);
        this.marked.push(element.id);
      }
      const where = [p.element_id, p.line ? fill(this.t.line, { line: p.line }) : null, p.file]
        .filter(Boolean).join(' · ');
      const body = [
        h('span', { class: `badge me-2 ${severity === 'error' ? 'text-bg-danger' : 'text-bg-warning'}` },
          this.t[severity]),
        h('span', { class: 'problem-message' }, p.message),
        where ? h('div', { class: 'small text-body-secondary' }, where) : null,
      ];
      const item = element
        ? h('button', { type: 'button', class: 'list-group-item list-group-item-action',
          onclick: () => this.reveal(element) }, ...body)
        : h('div', { class: 'list-group-item' }, ...body);
      item.classList.add(`problem-${severity}`);
      if (p.element_id) item.dataset.element = p.element_id;
      this.list.append(item);
    });
    this.section.hidden = false;
  }

  reveal(element) {
    const target = element.labelTarget || element;
    focus(this.modeler.get('canvas'), target);
    this.modeler.get('selection').select(target);
  }
}
