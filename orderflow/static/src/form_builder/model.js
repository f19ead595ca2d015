// The form builder's operations on a JSON-Schema form (forms/*.json): pure functions that take the
// parsed schema and return a changed copy. The JSON stays the source of truth: every key an
// operation does not name is kept as it was, in its place, so a form the builder did not change
// is the same JSON, and one it changed differs only where the owner changed it.
//
// A field is a property at the top level, or one declared in the `then` of a show-if rule in the
// top-level `allOf` ({if: {properties: {F: {const: V}}, required: [F]}, then: {properties: {...}}}),
// the shape orderflow/workflow/form_conditions.py reads. Other rules (dependentSchemas, an `if`
// at the top level, tests other than const) are kept and shown as written in JSON.

export const KINDS = ['text', 'textarea', 'number', 'money', 'date', 'select', 'radio', 'checkbox', 'file', 'table'];
export const COLUMN_KINDS = ['text', 'number', 'date', 'select', 'checkbox'];
export const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const clone = (value) => structuredClone(value);
const props = (node) => (node && typeof node.properties === 'object' && node.properties) || {};
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The show-if rules the builder can edit: index in allOf -> {field, value}. */
function simpleRule(entry) {
  if (!isObject(entry) || !isObject(entry.if) || !isObject(entry.then)) return null;
  const tested = Object.entries(props(entry.if));
  if (tested.length !== 1) return null;
  const [field, test] = tested[0];
  const keys = Object.keys(entry.if).filter((k) => !['properties', 'required'].includes(k));
  if (keys.length || !isObject(test) || Object.keys(test).join() !== 'const') return null;
  if ('else' in entry) return null;
  return { field, value: test.const };
}

/** Every field in the order the form shows them: {name, prop, rule, fixedRule, required}. */
export function fields(schema) {
  const found = [];
  Object.entries(props(schema)).forEach(([name, prop]) => {
    found.push({ name, prop, rule: null, fixedRule: false, required: (schema.required || []).includes(name) });
  });
  (Array.isArray(schema.allOf) ? schema.allOf : []).forEach((entry) => {
    const rule = simpleRule(entry);
    Object.entries(props(isObject(entry) ? entry.then : null)).forEach(([name, prop]) => {
      if (found.some((f) => f.name === name)) return; // a rule adding to a top-level field
      const required = ((entry.then && entry.then.required) || []).includes(name);
      found.push({ name, prop, rule, fixedRule: !rule, required });
    });
  });
  const order = (schema.ui && Array.isArray(schema.ui.order)) ? schema.ui.order : [];
  const rank = (name) => (order.includes(name) ? order.indexOf(name) : order.length);
  return found.map((f, i) => ({ ...f, i })).sort((a, b) => rank(a.name) - rank(b.name) || a.i - b.i);
}

function widgetOf(schema, name) {
  return (schema.ui && isObject(schema.ui.widgets)) ? schema.ui.widgets[name] : undefined;
}

/** The kind of field the builder shows for a property. */
export function kindOf(prop, widget) {
  if (!isObject(prop)) return 'text';
  if (prop.type === 'array' && isObject(prop.items) && prop.items.type === 'object') return 'table';
  if (prop.type === 'boolean') return 'checkbox';
  if (Array.isArray(prop.enum)) return widget === 'radio' ? 'radio' : 'select';
  if (prop.format === 'date') return 'date';
  if (prop.format === 'attachment') return 'file';
  if (prop.type === 'number' && widget === 'money') return 'money';
  if (prop.type === 'number' || prop.type === 'integer') return 'number';
  if (widget === 'textarea') return 'textarea';
  return 'text';
}

export function fieldKind(schema, field) {
  return kindOf(field.prop, widgetOf(schema, field.name));
}

/** Where a field's property lives: the object holding it and its required list's owner. */
function home(schema, name) {
  if (name in props(schema)) return { holder: schema };
  const entry = (schema.allOf || []).find((e) => isObject(e) && name in props(e.then));
  return entry ? { holder: entry.then } : null;
}

function setWidget(schema, name, widget) {
  const ui = schema.ui || {};
  const widgets = isObject(ui.widgets) ? ui.widgets : {};
  if (widget) widgets[name] = widget;
  else delete widgets[name];
  if (Object.keys(widgets).length) {
    ui.widgets = widgets;
    schema.ui = ui;
  } else if (schema.ui) {
    delete schema.ui.widgets;
  }
}

const KIND_KEYS = ['type', 'format', 'enum', 'enumNames', 'enumNames_zh', 'items', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern', 'minItems',
  'maxItems', 'const', 'default'];
const TEXT_KEYS = ['minLength', 'maxLength', 'pattern', 'default'];
const NUMBER_KEYS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'default'];
const CHOICE_KEYS = ['enum', 'enumNames', 'enumNames_zh', 'default'];
// what a property of each kind keeps from the one it replaces, beside its texts
const KEEP = { text: TEXT_KEYS, textarea: TEXT_KEYS, number: NUMBER_KEYS, money: NUMBER_KEYS, date: ['default'],
  select: CHOICE_KEYS, radio: CHOICE_KEYS, checkbox: ['default', 'const'], file: [], table: ['items', 'minItems', 'maxItems'] };

/** A property of `kind` made from `old`: its texts kept, and what of its rules still applies. */
export function propertyOf(kind, old = {}) {
  const kept = Object.fromEntries(Object.entries(old).filter(([k]) => !KIND_KEYS.includes(k) || KEEP[kind].includes(k)));
  const made = {
    text: { type: 'string' },
    textarea: { type: 'string' },
    number: { type: old.type === 'integer' ? 'integer' : 'number' },
    money: { type: 'number', minimum: 0 },
    date: { type: 'string', format: 'date' },
    select: { type: 'string', enum: ['yes', 'no'], enumNames: ['Yes', 'No'], enumNames_zh: ['是', '否'] },
    radio: { type: 'string', enum: ['yes', 'no'], enumNames: ['Yes', 'No'], enumNames_zh: ['是', '否'] },
    checkbox: { type: 'boolean' },
    file: { type: 'string', format: 'attachment' },
    table: { type: 'array', minItems: 1,
      items: { type: 'object', properties: { item: { type: 'string', title: 'Item', title_zh: '项目' } }, required: ['item'] } },
  }[kind];
  if ('enum' in kept) ['enumNames', 'enumNames_zh'].forEach((k) => delete made[k]);  // the old choices' own names
  const result = { ...made, ...kept };   // the type first, as the forms are written
  Object.keys(result).forEach((k) => result[k] === undefined && delete result[k]);
  return result;
}

const WIDGET_OF_KIND = { textarea: 'textarea', radio: 'radio', money: 'money' };

export function setKind(schema, name, kind) {
  const field = fields(schema).find((f) => f.name === name);
  if (!field || fieldKind(schema, field) === kind) return schema;
  const next = clone(schema);
  const place = home(next, name);
  if (!place) return schema;
  place.holder.properties[name] = propertyOf(kind, place.holder.properties[name]);
  setWidget(next, name, WIDGET_OF_KIND[kind]);
  return next;
}

/** Set (or, with '' / null, remove) one key of a field's property. */
export function setProp(schema, name, key, value) {
  const next = clone(schema);
  const place = home(next, name);
  if (!place) return schema;
  const prop = place.holder.properties[name];
  if (value === '' || value === null || value === undefined) delete prop[key];
  else prop[key] = value;
  return next;
}

export function setRequired(schema, name, on) {
  const next = clone(schema);
  const place = home(next, name);
  if (!place) return schema;
  const list = Array.isArray(place.holder.required) ? place.holder.required : [];
  if (list.includes(name) === on) return schema;
  const without = list.filter((n) => n !== name);
  const result = on ? [...without, name] : without;
  if (result.length || 'required' in place.holder) place.holder.required = result;
  return next;
}

/** The choices of a select or radio field: [{value, en, zh}]. */
export function choices(prop) {
  const values = Array.isArray(prop.enum) ? prop.enum : [];
  return values.map((value, i) => ({ value, en: (prop.enumNames || [])[i] ?? '', zh: (prop.enumNames_zh || [])[i] ?? '' }));
}

export function setChoices(schema, name, list) {
  const next = clone(schema);
  const place = home(next, name);
  if (!place) return schema;
  const prop = place.holder.properties[name];
  prop.enum = list.map((c) => c.value);
  if (list.some((c) => c.en) || 'enumNames' in prop) prop.enumNames = list.map((c) => c.en);
  if (list.some((c) => c.zh) || 'enumNames_zh' in prop) prop.enumNames_zh = list.map((c) => c.zh);
  return next;
}

function order(schema) {
  return fields(schema).map((f) => f.name);
}

function setOrder(schema, names) {
  schema.ui = schema.ui || {};
  schema.ui.order = names;
}

export function addField(schema, name, kind, title = '', titleZh = '') {
  if (!FIELD_NAME.test(name)) throw new Error('name');
  if (order(schema).includes(name)) throw new Error('taken');
  const next = clone(schema);
  next.properties = next.properties || {};
  next.properties[name] = propertyOf(kind, { title: title || name, title_zh: titleZh || undefined });
  setWidget(next, name, WIDGET_OF_KIND[kind]);
  if (next.ui && Array.isArray(next.ui.order)) next.ui.order = [...next.ui.order, name];
  return next;
}

export function removeField(schema, name) {
  const next = clone(schema);
  const place = home(next, name);
  if (!place) return schema;
  delete place.holder.properties[name];
  [next, place.holder].forEach((h) => {
    if (Array.isArray(h.required)) h.required = h.required.filter((n) => n !== name);
  });
  if (place.holder !== next && !Object.keys(place.holder.properties).length) { // an emptied rule goes
    next.allOf = next.allOf.filter((e) => !isObject(e) || e.then !== place.holder);
    if (!next.allOf.length) delete next.allOf;
  }
  const ui = next.ui || {};
  ['order', 'readonly'].forEach((k) => { if (Array.isArray(ui[k])) ui[k] = ui[k].filter((n) => n !== name); });
  if (isObject(ui.widgets)) setWidget(next, name, null);
  (Array.isArray(ui.groups) ? ui.groups : []).forEach((g) => {
    if (Array.isArray(g.fields)) g.fields = g.fields.filter((n) => n !== name);
  });
  return next;
}

export function move(schema, name, step) {
  const names = order(schema);
  const at = names.indexOf(name);
  const to = at + step;
  if (at < 0 || to < 0 || to >= names.length) return schema;
  const next = clone(schema);
  [names[at], names[to]] = [names[to], names[at]];
  setOrder(next, names);
  return next;
}

/** Show `name` only while `field` equals `value`; a null `field` shows it always. */
export function setShowIf(schema, name, field, value) {
  let next = clone(schema);
  const place = home(next, name);
  if (!place || name === field) return schema;
  const prop = place.holder.properties[name];
  const required = (place.holder.required || []).includes(name);
  const names = order(schema);
  next = removeField(next, name);
  if (field) {
    next.allOf = Array.isArray(next.allOf) ? next.allOf : [];
    let entry = next.allOf.find((e) => {
      const rule = simpleRule(e);
      return rule && rule.field === field && rule.value === value;
    });
    if (!entry) {
      entry = { if: { properties: { [field]: { const: value } }, required: [field] }, then: { properties: {} } };
      next.allOf.push(entry);
    }
    entry.then.properties[name] = prop;
    if (required) entry.then.required = [...(entry.then.required || []), name];
  } else {
    next.properties = next.properties || {};
    next.properties[name] = prop;
    if (required) next.required = [...(next.required || []), name];
  }
  const widget = widgetOf(schema, name);
  if (widget) setWidget(next, name, widget);
  if ((schema.ui && Array.isArray(schema.ui.order)) || field) setOrder(next, names);   // stays where it was
  copyUi(schema, next, name);
  return next;
}

function copyUi(before, after, name) {
  const ui = before.ui || {};
  if (Array.isArray(ui.readonly) && ui.readonly.includes(name)) {
    after.ui.readonly = [...(after.ui.readonly || []), name];
  }
  (Array.isArray(ui.groups) ? ui.groups : []).forEach((g, i) => {
    if (Array.isArray(g.fields) && g.fields.includes(name) && after.ui.groups && after.ui.groups[i]) {
      after.ui.groups[i].fields = g.fields.slice();
    }
  });
}

/** The columns of a table field: [{name, prop, required}]. */
export function columns(prop) {
  const item = isObject(prop.items) ? prop.items : {};
  return Object.entries(props(item)).map(([name, col]) => ({ name, prop: col, required: (item.required || []).includes(name) }));
}

function withItems(schema, name, change) {
  const next = clone(schema);
  const place = home(next, name);
  if (!place) return schema;
  const prop = place.holder.properties[name];
  prop.items = isObject(prop.items) ? prop.items : { type: 'object', properties: {} };
  prop.items.properties = prop.items.properties || {};
  change(prop.items);
  return next;
}

export function addColumn(schema, name, column, kind) {
  if (!FIELD_NAME.test(column)) throw new Error('name');
  return withItems(schema, name, (items) => {
    if (column in items.properties) throw new Error('taken');
    items.properties[column] = propertyOf(kind, { title: column });
  });
}

export function removeColumn(schema, name, column) {
  return withItems(schema, name, (items) => {
    delete items.properties[column];
    if (Array.isArray(items.required)) items.required = items.required.filter((n) => n !== column);
  });
}

export function setColumn(schema, name, column, key, value) {
  return withItems(schema, name, (items) => {
    const col = items.properties[column];
    if (!col) return;
    if (key === 'kind') items.properties[column] = propertyOf(value, col);
    else if (key === 'required') {
      const list = (items.required || []).filter((n) => n !== column);
      items.required = value ? [...list, column] : list;
    } else if (value === '' || value === null) delete col[key];
    else col[key] = value;
  });
}

/** The JSON text as the editor shows it. */
export function text(schema) {
  return JSON.stringify(schema, null, 2);
}
