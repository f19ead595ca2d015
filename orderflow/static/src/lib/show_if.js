// Show-if: hide the fields of a form that do not apply to what has been entered, as one types.
// The page hands the form's conditions in <script type="application/json" data-form-conditions>
// (orderflow/workflow/form_conditions.py, for_browser): each is {if, is} (a JSON Schema test of
// `required` and per-field const/enum/bounds, the subset engine/form_checks.py allows) or
// {present: name}, with the `fields` its branch shows and the `required` it adds. A field that
// does not apply is hidden and disabled (so it is not sent); the server decides again on submit.

function isNumber(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Does `value` pass the per-field test `rule` (const, enum, minimum, maximum, exclusive bounds)? */
function passes(rule, value) {
  if ('const' in rule && value !== rule.const) return false;
  if (Array.isArray(rule.enum) && !rule.enum.includes(value)) return false;
  if (isNumber(value)) {
    if ('minimum' in rule && value < rule.minimum) return false;
    if ('maximum' in rule && value > rule.maximum) return false;
    if ('exclusiveMinimum' in rule && value <= rule.exclusiveMinimum) return false;
    if ('exclusiveMaximum' in rule && value >= rule.exclusiveMaximum) return false;
  }
  return true;
}

/** JSON Schema's verdict on the subset an `if` may use. */
export function matches(test, values) {
  const required = Array.isArray(test.required) ? test.required : [];
  if (required.some((name) => !(name in values))) return false;
  return Object.entries(test.properties || {}).every(
    ([name, rule]) => !(name in values) || passes(rule, values[name]));
}

export function applies(condition, values) {
  if ('present' in condition) return condition.present in values;
  return matches(condition.if, values) === condition.is;
}

/** The form's current values as the server reads them: empty text is absent, a box is true/false. */
function currentValues(form) {
  const values = {};
  Array.from(form.elements).forEach((el) => {
    if (!el.name || el.disabled || el.type === 'file' || el.type === 'hidden') return;
    if (el.type === 'checkbox') {
      values[el.name] = el.checked;
    } else if (el.type === 'radio') {
      if (el.checked) values[el.name] = el.value;
    } else if (el.value.trim() !== '') {
      values[el.name] = el.type === 'number' ? Number(el.value) : el.value.trim();
    }
  });
  return values;
}

function refresh(form, spec) {
  const conditional = new Set(spec.conditions.flatMap((c) => c.fields));
  let hidden = null;
  // a hidden field no longer counts for another's condition: repeat until nothing changes
  for (let round = 0; round <= conditional.size; round += 1) {
    const values = { ...spec.facts, ...currentValues(form) };
    const shown = new Set(spec.conditions.filter((c) => applies(c, values)).flatMap((c) => c.fields));
    const now = [...conditional].filter((name) => !shown.has(name)).sort().join(' ');
    form.querySelectorAll('[data-show-field]').forEach((box) => {
      const off = !shown.has(box.getAttribute('data-show-field'));
      box.hidden = off;
      box.disabled = off;
    });
    const required = new Set(spec.conditions.filter((c) => applies(c, values)).flatMap((c) => c.required));
    form.querySelectorAll('[data-required-mark]').forEach((mark) => {
      mark.hidden = !required.has(mark.getAttribute('data-required-mark'));
    });
    if (now === hidden) break;
    hidden = now;
  }
}

/** Follow every form on the page that carries conditions. */
export function followConditions(root = document) {
  root.querySelectorAll('script[data-form-conditions]').forEach((block) => {
    const form = block.closest('form');
    if (!form) return;
    let spec;
    try {
      spec = JSON.parse(block.textContent);
    } catch {
      return;
    }
    if (!spec || !Array.isArray(spec.conditions)) return;
    spec.facts = spec.facts || {};
    const update = () => refresh(form, spec);
    form.addEventListener('input', update);
    form.addEventListener('change', update);
    update();
  });
}
