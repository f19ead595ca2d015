// Time limits drawn for reading: a small clock on each task whose time limit is a property of the
// task — Spiff's <spiffworkflow:property name="sla" value="PT3H"/> (what the modeler's Time limit
// field writes) or a literal camunda:dueDate duration — with the limit in its title ("Time limit
// 3 h"). Read from the BPMN XML itself, in the browser. A task that carries a boundary timer gets
// none: its timer is drawn already. Used by the order page (diagram.js) and the monitor (monitor.js).

const BPMN = 'http://www.omg.org/spec/BPMN/20100524/MODEL';
const SPIFF = 'http://spiffworkflow.org/bpmn/schema/1.0/core';
const CAMUNDA = 'http://camunda.org/schema/1.0/bpmn';
const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i;
const SVG = 'http://www.w3.org/2000/svg';

function owner(property) {
  let el = property.parentElement;
  while (el && !(el.namespaceURI === BPMN && el.localName === 'extensionElements')) el = el.parentElement;
  return el ? el.parentElement : null;
}

// element id -> ISO-8601 duration, for the tasks whose time limit is their own property.
export function timeLimits(xml) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const timed = new Set();
  Array.from(doc.getElementsByTagNameNS(BPMN, 'boundaryEvent')).forEach((event) => {
    if (event.getElementsByTagNameNS(BPMN, 'timerEventDefinition').length) timed.add(event.getAttribute('attachedToRef'));
  });
  const limits = new Map();
  Array.from(doc.getElementsByTagNameNS(SPIFF, 'property')).forEach((property) => {
    const value = (property.getAttribute('value') || '').trim();
    const task = owner(property);
    if (property.getAttribute('name') !== 'sla' || !task || !task.getAttribute('id') || !DURATION.test(value)) return;
    limits.set(task.getAttribute('id'), value);
  });
  Array.from(doc.getElementsByTagNameNS(BPMN, '*')).forEach((el) => {
    const due = (el.getAttributeNS(CAMUNDA, 'dueDate') || '').trim();
    if (el.getAttribute('id') && DURATION.test(due) && !limits.has(el.getAttribute('id'))) limits.set(el.getAttribute('id'), due);
  });
  timed.forEach((id) => limits.delete(id));
  return limits;
}

// "3 h", "1 d 4 h": unit words from the page (data-limit-units, translated: "y mo w d h min s").
export function limitWords(iso, units) {
  const match = DURATION.exec(iso);
  if (!match) return iso;
  const names = (units || 'y mo w d h min s').split(/\s+/);
  const words = [];
  for (let i = 1; i <= 7; i += 1) {
    const n = Number(match[i] || 0);
    if (n) words.push(`${n} ${names[i - 1] || ''}`.trim());
  }
  return words.join(' ') || iso;
}

function clockIcon() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '14');
  svg.setAttribute('height', '14');
  svg.setAttribute('aria-hidden', 'true');
  const face = document.createElementNS(SVG, 'circle');
  Object.entries({ cx: 8, cy: 8, r: 6.5, fill: '#fff', stroke: 'currentColor', 'stroke-width': 1.6 })
    .forEach(([k, v]) => face.setAttribute(k, String(v)));
  const hands = document.createElementNS(SVG, 'path');
  Object.entries({ d: 'M8 4.2V8h3', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.6, 'stroke-linecap': 'round' })
    .forEach(([k, v]) => hands.setAttribute(k, String(v)));
  svg.append(face, hands);
  return svg;
}

// One clock per task with a time limit, at the task's bottom right (the bottom left carries message
// events). The title comes from the container's data-limit-text ("Time limit {limit}").
export function addTimeLimitMarkers(viewer, container, xml) {
  const registry = viewer.get('elementRegistry');
  const overlays = viewer.get('overlays');
  const template = container.getAttribute('data-limit-text') || 'Time limit {limit}';
  const units = container.getAttribute('data-limit-units');
  let count = 0;
  timeLimits(xml).forEach((iso, id) => {
    const element = registry.get(id);
    if (!element || element.waypoints) return;
    const marker = document.createElement('span');
    marker.className = 'of-time-limit';
    marker.setAttribute('data-element', id);
    marker.setAttribute('data-limit', iso);
    marker.setAttribute('role', 'img');
    marker.title = template.replace('{limit}', limitWords(iso, units));
    marker.setAttribute('aria-label', marker.title);
    marker.appendChild(clockIcon());
    overlays.add(id, 'of-time-limit', { position: { bottom: 20, right: 20 }, html: marker });
    count += 1;
  });
  container.setAttribute('data-time-limits', String(count));
  return count;
}
