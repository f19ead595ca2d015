// Panel sections for user tasks (group, form, time limit, signature) and service tasks
// (handler, its parameters, result variable).

import * as spiff from './spiff.js';
import { durationWords, fill, isDuration } from './durations.js';
import { check, field, h, option } from './dom.js';

const { stripQuotes } = spiff;
const TRUE = ['true', '1', 'yes'];

function groupField(panel, element) {
  const { t, modeler } = panel;
  const bo = element.businessObject;
  const inherited = spiff.inheritedGroup(modeler, bo);
  const current = spiff.candidateGroup(bo);
  const first = option('', inherited ? fill(t.group_inherited, { group: panel.groupLabel(inherited) }) : t.group_none,
    !current);
  const select = h('select', { id: 'pp-group', class: 'form-select form-select-sm',
    onchange: () => panel.commit(spiff.setProperty(modeler, element, 'candidateGroups', select.value)) },
  panel.groupOptions(current, first));
  return field(t.group, 'pp-group', select, t.group_hint);
}

function formField(panel, element) {
  const { t, modeler, config, hooks } = panel;
  const current = spiff.formKey(element.businessObject);
  const { forms } = panel.catalogue;
  const options = [option('', t.form_none, !current)];
  forms.forEach((f) => options.push(option(f.key, f.title === f.key ? f.key : `${f.title} (${f.key})`,
    f.key === current)));
  if (current && !forms.some((f) => f.key === current)) {
    options.push(option(current, fill(t.unknown_value, { value: current }), true));
  }
  const select = h('select', { id: 'pp-form', class: 'form-select form-select-sm',
    onchange: () => panel.commit(spiff.setProperty(modeler, element, 'formJsonSchemaFilename',
      select.value ? `${select.value}.json` : ''), true) }, options);
  const href = `${config.formEditUrl}${encodeURIComponent(current)}`;
  const link = current ? h('a', { id: 'pp-form-edit', class: 'small', href,
    onclick: (e) => { e.preventDefault(); hooks.saveThenGo(href); } }, t.edit_form) : null;
  return field(t.form, 'pp-form', select, null, link);
}

function limitField(panel, element) {
  const { t, modeler } = panel;
  const timer = spiff.limitTimer(element);
  const def = timer && spiff.timerDefinition(timer.businessObject);
  const value = timer ? spiff.timerValue(def) : spiff.getProperty(element.businessObject, 'sla');
  const words = h('div', { class: 'small text-body-secondary', id: 'pp-sla-words' });
  const input = h('input', { id: 'pp-sla', class: 'form-control form-control-sm font-monospace', value,
    placeholder: 'P2D' });
  const describe = () => {
    const text = stripQuotes(input.value);
    const ok = isDuration(text) || (!text && !timer);
    words.textContent = text && ok ? durationWords(text, t) : (ok ? '' : t[text ? 'invalid_duration' : 'timer_needs_value']);
    input.classList.toggle('is-invalid', !ok);
    return ok;
  };
  input.addEventListener('input', describe);
  input.addEventListener('change', () => {
    const text = stripQuotes(input.value);
    if (!describe()) return;
    panel.commit(timer ? [...spiff.setTimer(modeler, timer, def, 'duration', text), ...spiff.relabelLimit(timer, text)]
      : spiff.setProperty(modeler, element, 'sla', text));
  });
  describe();
  const where = timer ? fill(t.time_limit_timer, { timer: timer.businessObject.name || timer.id }) : t.time_limit_hint;
  return field(t.time_limit, 'pp-sla', input, where, words);
}

function isSignatureStep(bo) {
  return TRUE.includes(spiff.getProperty(bo, 'signature').toLowerCase());
}

function stepLabel(bo) {
  return bo.name ? `${bo.name} (${bo.id})` : bo.id;
}

// The user tasks of the diagram other than this one, as options; ids the diagram lacks stay listed.
function stepOptions(panel, element, chosen, keep) {
  const steps = panel.modeler.get('elementRegistry').filter((e) => spiff.is(e.businessObject, 'bpmn:UserTask') &&
    e.id !== element.id && !e.labelTarget).map((e) => e.businessObject).filter(keep);
  const options = steps.map((bo) => option(bo.id, stepLabel(bo), chosen.includes(bo.id)));
  chosen.filter((id) => !steps.some((bo) => bo.id === id))
    .forEach((id) => options.push(option(id, fill(panel.t.unknown_value, { value: id }), true)));
  return options;
}

// What signing means and who may not sign (README: How a diagram is written, Signatures).
function signatureFields(panel, element) {
  const { t, modeler } = panel;
  const bo = element.businessObject;
  const meaning = h('input', { id: 'pp-signature-meaning', class: 'form-control form-control-sm',
    value: spiff.getProperty(bo, 'signatureMeaning'), placeholder: 'approved', // the service's default meaning, as stored
    onchange: () => panel.commit(spiff.setProperty(modeler, element, 'signatureMeaning', meaning.value.trim())) });
  const current = spiff.getProperty(bo, 'signatureRequestedBy').split(',').map((s) => s.trim()).filter(Boolean);
  const requested = h('select', { id: 'pp-signature-requested-by', class: 'form-select form-select-sm', multiple: true,
    size: 4, onchange: () => panel.commit(spiff.setProperty(modeler, element, 'signatureRequestedBy',
      [...requested.selectedOptions].map((o) => o.value).join(','))) },
  stepOptions(panel, element, current, () => true));
  return [field(t.signature_meaning, 'pp-signature-meaning', meaning, t.signature_meaning_hint),
    field(t.signature_requested_by, 'pp-signature-requested-by', requested, t.signature_requested_by_hint)];
}

function requiresSignatureField(panel, element) {
  const { t, modeler } = panel;
  const current = spiff.getProperty(element.businessObject, 'requiresSignatureOf').trim();
  const select = h('select', { id: 'pp-requires-signature', class: 'form-select form-select-sm',
    onchange: () => panel.commit(spiff.setProperty(modeler, element, 'requiresSignatureOf', select.value)) },
  option('', t.requires_signature_none, !current),
  stepOptions(panel, element, current ? [current] : [], isSignatureStep));
  return field(t.requires_signature, 'pp-requires-signature', select, t.requires_signature_hint);
}

export function userTaskFields(panel, element) {
  const { t, modeler } = panel;
  const bo = element.businessObject;
  const flag = (name) => TRUE.includes(spiff.getProperty(bo, name).toLowerCase());
  const toggle = (id, label, name, redraw) => check(id, label, flag(name),
    (e) => panel.commit(spiff.setProperty(modeler, element, name, e.target.checked ? 'true' : ''), redraw));
  const fields = [groupField(panel, element), formField(panel, element), limitField(panel, element),
    h('div', { class: 'mb-3' }, toggle('pp-signature', t.signature, 'signature', true),
      toggle('pp-customer', t.customer_step, 'customer'))];
  if (isSignatureStep(bo)) fields.push(...signatureFields(panel, element));
  fields.push(requiresSignatureField(panel, element));
  return fields;
}

// One parameter: text values are stored as quoted literals, expressions as written.
function parameterRow(panel, element, op, name, info) {
  const { t, modeler } = panel;
  const param = spiff.parameters(op).find((p) => p.id === name);
  const stored = param ? param.value || '' : '';
  const expression = Boolean(stored) && !spiff.isQuoted(stored);
  const id = `pp-param-${name}`;
  const input = h('input', { id, class: 'form-control form-control-sm', 'data-param': name,
    value: expression || !stored ? stored : spiff.unquote(stored),
    placeholder: info && info.default ? fill(t.default_value, { value: info.default }) : '' });
  const save = (asExpression) => {
    const text = asExpression ? input.value.trim() : input.value;
    const value = text === '' ? '' : (asExpression ? text : spiff.quote(text));
    panel.commit(spiff.setParameter(modeler, element, op, name, value));
  };
  const toggle = check(`${id}-expr`, t.expression, expression, (e) => {
    const text = input.value.trim();
    if (!e.target.checked && spiff.isQuoted(text)) input.value = spiff.unquote(text);
    input.classList.toggle('font-monospace', e.target.checked);
    save(e.target.checked);
  }, true);
  input.classList.toggle('font-monospace', expression);
  input.addEventListener('change', () => save(toggle.querySelector('input').checked));
  const label = h('span', {}, h('code', {}, name), info && info.required ? h('span', { class: 'small text-body-secondary' },
    ` (${t.required})`) : null);
  const extra = info ? null : h('div', { class: 'd-flex align-items-center gap-2' },
    h('span', { class: 'small text-warning-emphasis' }, t.extra_parameter),
    h('button', { type: 'button', class: 'btn btn-link btn-sm p-0',
      onclick: () => panel.commit(spiff.setParameter(modeler, element, op, name, ''), true) }, t.remove));
  return field(label, id, h('div', { class: 'd-flex gap-2 align-items-center' }, input, toggle), null, extra);
}

export function serviceTaskFields(panel, element) {
  const { t, modeler } = panel;
  const op = spiff.operator(element.businessObject);
  const current = op ? op.id || '' : '';
  const { handlers } = panel.catalogue;
  const handler = handlers.find((x) => x.name === current);
  const options = [option('', t.handler_none, !current)];
  handlers.forEach((x) => options.push(option(x.name, x.name, x.name === current)));
  if (current && !handler) options.push(option(current, fill(t.unknown_value, { value: current }), true));
  const select = h('select', { id: 'pp-handler', class: 'form-select form-select-sm', onchange: () => {
    const chosen = handlers.find((x) => x.name === select.value);
    if (chosen) panel.commit(spiff.setHandler(modeler, element, chosen.name, chosen.params.map((p) => p.name)), true);
  } }, options);
  const fields = [field(t.handler, 'pp-handler', select, null,
    handler && handler.doc ? h('div', { class: 'pp-doc small mt-1', id: 'pp-handler-doc' }, handler.doc) : null,
    handler && handler.asynchronous ? h('div', { class: 'small text-body-secondary' }, t.background) : null)];
  if (!op) return fields;
  const result = h('input', { id: 'pp-result', class: 'form-control form-control-sm font-monospace',
    value: op.resultVariable || '',
    onchange: () => panel.commit(spiff.setOperatorAttr(element, op, 'resultVariable', result.value.trim())) });
  fields.push(field(t.result_variable, 'pp-result', result, t.result_hint));
  const known = handler ? handler.params : [];
  const rows = known.map((p) => parameterRow(panel, element, op, p.name, p));
  spiff.parameters(op).filter((p) => !known.some((k) => k.name === p.id))
    .forEach((p) => rows.push(parameterRow(panel, element, op, p.id, null)));
  fields.push(h('fieldset', { class: 'mb-3' }, h('legend', { class: 'small fw-semibold mb-1' }, t.parameters),
    rows.length ? rows : h('p', { class: 'small text-body-secondary' }, t.no_parameters),
    rows.length ? h('div', { class: 'form-text' }, t.expression_hint) : null));
  return fields;
}
