// Tiny DOM builders for the properties panel (Bootstrap 5 markup).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  Object.entries(attrs).forEach(([key, value]) => {
    if (value === undefined || value === null || value === false) return;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'value') {
      el.value = value;
      if (tag === 'input') el.setAttribute('value', value); // lets tests and CSS see the value
    } else if (key === 'checked') el.checked = true;
    else el.setAttribute(key, value === true ? '' : value);
  });
  children.flat().forEach((child) => {
    if (child !== null && child !== undefined && child !== false && child !== '') el.append(child);
  });
  return el;
}

export function option(value, label, selected) {
  return h('option', { value, selected: Boolean(selected) }, label);
}

export function field(label, id, control, hint, ...extra) {
  return h('div', { class: 'mb-3' },
    h('label', { class: 'form-label small fw-semibold mb-1', for: id }, label),
    control,
    hint ? h('div', { class: 'form-text', id: `${id}-hint` }, hint) : null,
    ...extra);
}

export function check(id, label, checked, onchange, switchStyle) {
  return h('div', { class: `form-check${switchStyle ? ' form-switch' : ''}` },
    h('input', { class: 'form-check-input', type: 'checkbox', id, checked, onchange }),
    h('label', { class: 'form-check-label small', for: id }, label));
}
