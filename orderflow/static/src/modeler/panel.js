// The properties panel: the selected element in the process owner's words.
// Every edit is a bpmn-js command (spiff.js), so undo/redo covers the panel too.

import * as spiff from './spiff.js';
import { fill, timerKind, timerWords } from './durations.js';
import { ConditionHelp } from './condition_help.js';
import { check, field, h, option } from './dom.js';
import { serviceTaskFields, userTaskFields } from './panel-tasks.js';

const { stripQuotes } = spiff;
const GATEWAYS = ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway', 'bpmn:ComplexGateway'];

const ID = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;

function idProblem(modeler, value, t) {
  if (!ID.test(value)) return t.id_invalid;
  const ids = modeler.get('moddle').ids;
  if (modeler.get('elementRegistry').get(value) || (ids && ids.assigned(value))) return t.id_taken;
  return '';
}

export class Panel {
  constructor(modeler, root, t, config, hooks) {
    Object.assign(this, { modeler, root, t, config, hooks });
    this.catalogue = { groups: [], forms: [], handlers: [] };
    this.element = null;
    this.busy = false;
    const bus = modeler.get('eventBus');
    bus.on('selection.changed', (e) => this.show(e.newSelection.length === 1 ? e.newSelection[0] : null));
    bus.on('commandStack.changed', () => { if (!this.busy) this.refresh(); }); // undo, redo, canvas edits
    bus.on('import.done', () => this.show(null));
  }

  setCatalogue(part) {
    Object.assign(this.catalogue, part);
    this.refresh();
  }

  refresh() {
    const alive = this.element && this.modeler.get('elementRegistry').get(this.element.id);
    this.show(alive || null);
  }

  // Our own edits do not redraw the panel (focus stays where the user tabbed to) unless asked.
  commit(commands, redraw) {
    this.busy = true;
    try {
      spiff.run(this.modeler, commands);
    } finally {
      this.busy = false;
    }
    if (redraw) this.refresh();
  }

  groupLabel(id) {
    const group = this.catalogue.groups.find((g) => g.id === id);
    if (!group) return id;
    return `${this.config.lang === 'zh' ? group.name_zh : group.name} (${id})`;
  }

  // A group's name as lanes show it on the diagram: both languages ("Sales 销售").
  groupName(id) {
    const group = this.catalogue.groups.find((g) => g.id === id);
    if (!group) return id;
    return group.name_zh && group.name_zh !== group.name ? `${group.name} ${group.name_zh}` : group.name;
  }

  groupOptions(current, first) {
    const { groups } = this.catalogue;
    const options = first ? [first] : [];
    groups.forEach((g) => options.push(option(g.id, this.groupLabel(g.id), g.id === current)));
    if (current && groups.length && !groups.some((g) => g.id === current)) {
      options.push(option(current, fill(this.t.unknown_value, { value: current }), true));
    }
    return options;
  }

  show(element) {
    const target = element && element.labelTarget ? element.labelTarget : element;
    this.element = target;
    this.root.replaceChildren();
    this.root.dataset.elementId = target ? target.id : '';
    if (!target || !target.businessObject || target === this.modeler.get('canvas').getRootElement()) {
      this.root.append(h('p', { class: 'text-body-secondary small mb-0' }, this.t.select_element));
      return;
    }
    const bo = target.businessObject;
    const type = bo.$type.replace(/^bpmn:/, '');
    this.root.append(h('h2', { class: 'h6 mb-3', id: 'pp-type' }, this.t.types[type] || type),
      this.nameField(target),
      this.idField(target));
    if (spiff.is(bo, 'bpmn:UserTask')) this.root.append(...userTaskFields(this, target));
    if (spiff.is(bo, 'bpmn:ServiceTask')) this.root.append(...serviceTaskFields(this, target));
    if (spiff.timerDefinition(bo)) this.root.append(this.timerField(target));
    if (spiff.is(bo, 'bpmn:SequenceFlow') && target.source &&
        GATEWAYS.some((g) => spiff.is(target.source.businessObject, g))) {
      this.root.append(...this.flowFields(target));
    }
    if (spiff.is(bo, 'bpmn:Lane')) this.root.append(this.laneField(target));
  }

  // An id stays editable until a version is deployed with it; then orders and reports refer to it.
  idField(element) {
    const bo = element.businessObject;
    const since = (this.config.deployedIds || {})[bo.id];
    if (since !== undefined) {
      return field(this.t.id, 'pp-id', h('input', { id: 'pp-id', class: 'form-control form-control-sm',
        readonly: true, value: bo.id }), fill(this.t.id_hint, { version: since }));
    }
    const error = h('div', { class: 'invalid-feedback', id: 'pp-id-error' });
    const input = h('input', { id: 'pp-id', class: 'form-control form-control-sm font-monospace', value: bo.id,
      maxlength: '100', spellcheck: 'false', 'aria-describedby': 'pp-id-hint pp-id-error' });
    input.addEventListener('change', () => {
      const value = input.value.trim();
      if (value === bo.id) return;
      const problem = idProblem(this.modeler, value, this.t);
      error.textContent = problem || '';
      input.classList.toggle('is-invalid', Boolean(problem));
      if (!problem) this.commit([spiff.updateProps(element, { id: value })], true);
    });
    return field(this.t.id, 'pp-id', input, this.t.id_new_hint, error);
  }

  nameField(element) {
    const input = h('input', { id: 'pp-name', class: 'form-control form-control-sm',
      value: element.businessObject.name || '',
      onchange: () => this.commit([spiff.updateProps(element, { name: input.value.trim() || undefined })]) });
    return field(this.t.name, 'pp-name', input);
  }

  timerField(element) {
    const def = spiff.timerDefinition(element.businessObject);
    const t = this.t;
    const kind = h('span', { class: 'badge text-bg-secondary ms-1', id: 'pp-timer-kind' });
    const words = h('div', { class: 'small text-body-secondary', id: 'pp-timer-words' });
    const input = h('input', { id: 'pp-timer', class: 'form-control form-control-sm font-monospace',
      value: spiff.timerValue(def), placeholder: 'PT2H', 'aria-describedby': 'pp-timer-hint' });
    const describe = () => {
      const value = stripQuotes(input.value);
      const found = timerKind(value);
      kind.textContent = found ? t[`kind_${found}`] : '';
      kind.hidden = !found;
      words.textContent = found ? timerWords(value, t) : (value ? t.timer_invalid : '');
      input.classList.toggle('is-invalid', Boolean(value) && !found);
    };
    input.addEventListener('input', describe);
    input.addEventListener('change', () => {
      const value = stripQuotes(input.value);
      const found = timerKind(value);
      describe();
      // a time limit (a duration on a task's edge) keeps its label in step
      const label = found === 'duration' && element.host ? spiff.relabelLimit(element, value) : [];
      if (found) this.commit([...spiff.setTimer(this.modeler, element, def, found, value), ...label], label.length > 0);
      else input.classList.add('is-invalid');
    });
    describe();
    const label = h('span', {}, t.timer, kind);
    return field(label, 'pp-timer', input, t.timer_hint, words);
  }

  flowFields(element) {
    const bo = element.businessObject;
    const source = element.source;
    const isDefault = source.businessObject.default === bo;
    const expr = bo.conditionExpression;
    const area = h('textarea', { id: 'pp-condition', class: 'form-control form-control-sm font-monospace', rows: 2,
      disabled: isDefault, placeholder: 'order_total > 1000' }, expr ? expr.body || '' : '');
    area.addEventListener('change', () => this.commit(spiff.setCondition(this.modeler, element, area.value.trim())));
    const verdict = h('div', { class: 'invalid-feedback', id: 'pp-condition-check', 'aria-live': 'polite' });
    const help = new ConditionHelp(area, this.t, this.hooks.fields());
    let pending = 0;
    area.addEventListener('input', () => { // checked as typed (as a deploy would), a moment after the last key
      window.clearTimeout(pending);
      pending = window.setTimeout(() => this.checkCondition(area, verdict, help), 300);
    });
    const toggle = check('pp-default', this.t.default_flow, isDefault, (e) => {
      // The default flow is taken when no condition holds, so it carries none itself.
      const commands = e.target.checked
        ? [spiff.updateProps(source, { default: bo }), ...spiff.setCondition(this.modeler, element, '')]
        : [spiff.updateProps(source, { default: undefined })];
      this.commit(commands, true);
    });
    if (area.value.trim()) this.checkCondition(area, verdict, help); // read out what is written already
    return [field(this.t.condition, 'pp-condition', area, this.t.condition_hint, verdict, ...help.elements()),
      h('div', { class: 'mb-3' }, toggle)];
  }

  async checkCondition(area, verdict, help) {
    const text = area.value;
    let answer;
    try {
      answer = await this.hooks.checkExpression(text);
    } catch (error) {
      return; // the server could not be asked: Check and Deploy still will
    }
    if (area.value !== text) return; // typed on meanwhile: a newer check follows
    verdict.textContent = answer.ok ? '' : answer.message;
    area.classList.toggle('is-invalid', !answer.ok);
    help.show(answer);
  }

  laneField(element) {
    const group = spiff.laneGroup(element.businessObject);
    const select = h('select', { id: 'pp-lane-group', class: 'form-select form-select-sm',
      onchange: () => this.commit(spiff.setLaneGroup(this.modeler, element, select.value,
        (id) => this.groupName(id)), true) },
    this.groupOptions(group));
    return field(this.t.lane_group, 'pp-lane-group', select, fill(this.t.lane_hint, { group: this.groupLabel(group) }));
  }
}
