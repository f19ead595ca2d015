// The visual form builder beside the JSON (templates/form_editor/form_editor.html): add, order and
// configure fields, bilingual titles side by side, choices, a table's columns and show-if rules.
// Each change goes through model.js into the JSON text area, whose input event re-renders the
// preview (htmx) exactly as typing does; typing in the JSON re-reads the builder.
import { h, option } from '../modeler/dom.js';
import * as model from './model.js';

const STRUCTURAL = new Set(['kind', 'required', 'showif', 'move', 'remove', 'add', 'choices', 'columns']);

export class FormBuilder {
  constructor(root, area, t) {
    this.root = root;
    this.area = area;
    this.t = t;
    this.schema = null;
    area.addEventListener('input', (event) => { if (!event.detail || !event.detail.builder) this.read(); });
    this.read();
  }

  /** Take the schema from the text area; a text that is not a JSON object turns the builder off. */
  read() {
    let parsed = null;
    try {
      parsed = JSON.parse(this.area.value);
    } catch { /* shown below */ }
    this.schema = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : null;
    this.render();
  }

  /** Apply one change; structural ones redraw the builder, text edits keep the focus where it is. */
  change(kind, fn) {
    let next;
    try {
      next = fn(this.schema);
    } catch (error) {
      this.say(this.t[`error_${error.message}`] || this.t.error_name);
      return;
    }
    this.schema = next;
    this.area.value = model.text(next);
    this.area.dispatchEvent(new CustomEvent('input', { bubbles: true, detail: { builder: true } }));
    if (STRUCTURAL.has(kind)) this.render();
  }

  say(message) {
    const box = this.root.querySelector('#builder-message');
    if (box) box.textContent = message;
  }

  render() {
    const { t } = this;
    if (!this.schema) {
      this.root.replaceChildren(h('p', { class: 'alert alert-warning small', id: 'builder-off' }, t.json_first));
      return;
    }
    const fields = model.fields(this.schema);
    this.root.replaceChildren(
      h('div', { class: 'builder-fields', id: 'builder-fields' },
        fields.map((f, i) => this.fieldCard(f, i, fields))),
      this.addForm(),
    );
  }

  addForm() {
    const { t } = this;
    const name = h('input', { class: 'form-control form-control-sm font-monospace', id: 'builder-new-name',
      placeholder: 'field_name', autocomplete: 'off', spellcheck: 'false' });
    const kind = h('select', { class: 'form-select form-select-sm', id: 'builder-new-kind', 'aria-label': t.kind },
      model.KINDS.map((k) => option(k, t[`kind_${k}`], k === 'text')));
    const title = h('input', { class: 'form-control form-control-sm', id: 'builder-new-title', placeholder: t.title_en });
    const titleZh = h('input', { class: 'form-control form-control-sm', id: 'builder-new-title-zh', placeholder: t.title_zh,
      lang: 'zh' });
    const add = () => {
      this.say('');
      this.change('add', (s) => model.addField(s, name.value.trim(), kind.value, title.value.trim(), titleZh.value.trim()));
    };
    return h('fieldset', { class: 'border rounded p-2 mt-2', id: 'builder-add-form' },
      h('legend', { class: 'float-none w-auto small fw-semibold px-1 mb-1' }, t.add_field),
      h('div', { class: 'row g-1' },
        h('div', { class: 'col-6 col-md-3' }, name), h('div', { class: 'col-6 col-md-3' }, kind),
        h('div', { class: 'col-6 col-md-3' }, title), h('div', { class: 'col-6 col-md-3' }, titleZh)),
      h('div', { class: 'd-flex align-items-center gap-2 mt-1' },
        h('button', { type: 'button', class: 'btn btn-sm btn-outline-primary', id: 'builder-add', onclick: add }, t.add),
        h('span', { class: 'small text-danger', id: 'builder-message', role: 'status' })));
  }

  fieldCard(f, index, all) {
    const { t } = this;
    const kind = model.fieldKind(this.schema, f);
    const id = (key) => `builder-${f.name}-${key}`;
    const set = (key, value, structural) => this.change(structural ? key : 'text', (s) => model.setProp(s, f.name, key, value));
    const text = (key, label, attrs = {}) => h('div', { class: 'col' },
      h('label', { class: 'form-label small mb-0', for: id(key) }, label),
      h('input', { class: 'form-control form-control-sm', id: id(key), 'data-key': key, value: f.prop[key] ?? '',
        oninput: (e) => set(key, e.target.value), ...attrs }));
    const number = (key, label) => text(key, label, { type: 'number', step: 'any',
      oninput: (e) => set(key, e.target.value === '' ? '' : Number(e.target.value)) });
    const button = (label, action, disabled, extra = {}) => h('button', { type: 'button', class: 'btn btn-sm btn-outline-secondary',
      'aria-label': label, title: label, disabled, onclick: action, ...extra }, extra.text || label);
    return h('div', { class: 'card mb-2 builder-field', 'data-field': f.name, 'data-kind': kind },
      h('div', { class: 'card-header d-flex flex-wrap align-items-center gap-2 py-1' },
        h('code', { class: 'me-auto' }, f.name),
        h('select', { class: 'form-select form-select-sm w-auto', id: id('kind'), 'data-key': 'kind', 'aria-label': t.kind,
          onchange: (e) => this.change('kind', (s) => model.setKind(s, f.name, e.target.value)) },
        model.KINDS.map((k) => option(k, t[`kind_${k}`], k === kind))),
        button(t.up, () => this.change('move', (s) => model.move(s, f.name, -1)), index === 0, { text: '↑', 'data-move': 'up' }),
        button(t.down, () => this.change('move', (s) => model.move(s, f.name, 1)), index === all.length - 1,
          { text: '↓', 'data-move': 'down' }),
        button(t.remove, () => this.change('remove', (s) => model.removeField(s, f.name)), false,
          { text: '×', 'data-remove': f.name })),
      h('div', { class: 'card-body py-2' },
        h('div', { class: 'row g-2 mb-1' }, text('title', t.title_en), text('title_zh', t.title_zh, { lang: 'zh' })),
        h('div', { class: 'form-check mb-1' },
          h('input', { class: 'form-check-input', type: 'checkbox', id: id('required'), 'data-key': 'required',
            checked: f.required, onchange: (e) => this.change('required', (s) => model.setRequired(s, f.name, e.target.checked)) }),
          h('label', { class: 'form-check-label small', for: id('required') }, t.required)),
        ['number', 'money'].includes(kind) ? h('div', { class: 'row g-2 mb-1' }, number('minimum', t.minimum), number('maximum', t.maximum)) : null,
        ['text', 'textarea'].includes(kind) ? h('div', { class: 'row g-2 mb-1' },
          text('pattern', t.pattern, { class: 'form-control form-control-sm font-monospace' }), number('maxLength', t.max_length)) : null,
        ['select', 'radio'].includes(kind) ? this.choicesEditor(f) : null,
        kind === 'table' ? this.columnsEditor(f) : null,
        this.showIf(f, all)));
  }

  choicesEditor(f) {
    const { t } = this;
    const list = model.choices(f.prop);
    const save = (next, structural) => this.change(structural ? 'choices' : 'text', (s) => model.setChoices(s, f.name, next));
    const cell = (i, key, label) => h('td', {}, h('input', { class: 'form-control form-control-sm', value: list[i][key],
      'aria-label': label, 'data-choice': `${i}-${key}`, lang: key === 'zh' ? 'zh' : null,
      oninput: (e) => { list[i] = { ...list[i], [key]: e.target.value }; save(list.slice(), false); } }));
    return h('div', { class: 'mb-1', 'data-choices': f.name },
      h('table', { class: 'table table-sm mb-1' },
        h('thead', {}, h('tr', {}, h('th', { class: 'small' }, t.value), h('th', { class: 'small' }, t.title_en),
          h('th', { class: 'small' }, t.title_zh), h('th', {}))),
        h('tbody', {}, list.map((_c, i) => h('tr', {}, cell(i, 'value', t.value), cell(i, 'en', t.title_en),
          cell(i, 'zh', t.title_zh), h('td', {}, h('button', { type: 'button', class: 'btn btn-sm btn-link text-danger p-0',
            'aria-label': t.remove, onclick: () => save(list.filter((_x, j) => j !== i), true) }, '×')))))),
      h('button', { type: 'button', class: 'btn btn-sm btn-link p-0', 'data-add-choice': f.name,
        onclick: () => save([...list, { value: `choice_${list.length + 1}`, en: '', zh: '' }], true) }, t.add_choice));
  }

  columnsEditor(f) {
    const { t } = this;
    const cols = model.columns(f.prop);
    const set = (col, key, value, structural) => this.change(structural ? 'columns' : 'text',
      (s) => model.setColumn(s, f.name, col, key, value));
    const name = h('input', { class: 'form-control form-control-sm font-monospace', placeholder: 'column', 'data-new-column': f.name,
      'aria-label': t.column_name });
    const kind = h('select', { class: 'form-select form-select-sm', 'aria-label': t.kind },
      model.COLUMN_KINDS.map((k) => option(k, t[`kind_${k}`], k === 'text')));
    return h('div', { class: 'mb-1', 'data-columns': f.name },
      h('div', { class: 'small fw-semibold' }, t.columns),
      h('table', { class: 'table table-sm mb-1' }, h('tbody', {}, cols.map((c) => h('tr', { 'data-column': c.name },
        h('td', {}, h('code', {}, c.name)),
        h('td', {}, h('select', { class: 'form-select form-select-sm', 'aria-label': t.kind,
          onchange: (e) => set(c.name, 'kind', e.target.value, true) },
        model.COLUMN_KINDS.map((k) => option(k, t[`kind_${k}`], k === model.kindOf(c.prop))))),
        h('td', {}, h('input', { class: 'form-control form-control-sm', value: c.prop.title ?? '', 'aria-label': t.title_en,
          oninput: (e) => set(c.name, 'title', e.target.value, false) })),
        h('td', {}, h('input', { class: 'form-control form-control-sm', value: c.prop.title_zh ?? '', 'aria-label': t.title_zh,
          lang: 'zh', oninput: (e) => set(c.name, 'title_zh', e.target.value, false) })),
        h('td', {}, h('input', { class: 'form-check-input', type: 'checkbox', checked: c.required, 'aria-label': t.required,
          onchange: (e) => set(c.name, 'required', e.target.checked, true) })),
        h('td', {}, h('button', { type: 'button', class: 'btn btn-sm btn-link text-danger p-0', 'aria-label': t.remove,
          onclick: () => this.change('columns', (s) => model.removeColumn(s, f.name, c.name)) }, '×')))))),
      h('div', { class: 'd-flex gap-1' }, name, kind,
        h('button', { type: 'button', class: 'btn btn-sm btn-outline-secondary text-nowrap', 'data-add-column': f.name,
          onclick: () => this.change('columns', (s) => model.addColumn(s, f.name, name.value.trim(), kind.value)) },
        t.add_column)));
  }

  /** "Show only when <field> is <value>": the fields with choices (or a yes/no box) can decide. */
  showIf(f, all) {
    const { t } = this;
    if (f.fixedRule) return h('p', { class: 'small text-body-secondary mb-0', 'data-rule': 'json' }, t.rule_in_json);
    const deciders = all.filter((o) => o.name !== f.name && !o.rule && !o.fixedRule
      && ['select', 'radio', 'checkbox'].includes(model.fieldKind(this.schema, o)));
    if (!deciders.length && !f.rule) return null;
    const valuesOf = (name) => {
      const decider = all.find((o) => o.name === name);
      if (!decider) return [];
      return decider.prop.type === 'boolean' ? [{ value: true, en: t.yes }, { value: false, en: t.no }]
        : model.choices(decider.prop).map((c) => ({ value: c.value, en: (this.t.lang === 'zh' && c.zh) || c.en || String(c.value) }));
    };
    const chosen = f.rule ? f.rule.field : '';
    const values = valuesOf(chosen);
    const pick = (field, value) => this.change('showif', (s) => model.setShowIf(s, f.name, field || null, value));
    const fieldSelect = h('select', { class: 'form-select form-select-sm w-auto', id: `builder-${f.name}-showif`,
      'data-key': 'showif-field', onchange: (e) => {
        const first = valuesOf(e.target.value)[0];
        pick(e.target.value, first ? first.value : null);
      } },
    option('', t.always, !chosen), deciders.map((o) => option(o.name, o.prop[this.t.lang === 'zh' ? 'title_zh' : 'title'] || o.name,
      o.name === chosen)));
    const valueSelect = chosen ? h('select', { class: 'form-select form-select-sm w-auto', 'data-key': 'showif-value',
      'aria-label': t.value, onchange: (e) => pick(chosen, values[Number(e.target.value)].value) },
    values.map((v, i) => option(String(i), v.en, v.value === f.rule.value))) : null;
    return h('div', { class: 'd-flex flex-wrap align-items-center gap-1 small' },
      h('label', { for: `builder-${f.name}-showif` }, t.show_when), fieldSelect, chosen ? h('span', {}, t.is) : null, valueSelect);
  }
}
