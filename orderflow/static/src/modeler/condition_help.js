// Help while a flow's condition is typed (panel.js): the process's data fields that match the word
// at the caret, to pick instead of spelling them; the condition read out in words; and the names
// nothing in the process sets, with the closest one that is (POST /api/v1/expressions/check with
// the process, GET …/draft/fields once per page).
import { h } from './dom.js';

const MAX_SHOWN = 8;
const WORD = /[A-Za-z_][A-Za-z0-9_]*$/;

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_m, key) => values[key] ?? '');
}

/** The name being typed at the caret, or null inside a string or after a non-name character. */
export function wordAt(text, caret) {
  const before = text.slice(0, caret);
  const quotes = (before.match(/["']/g) || []).length;
  if (quotes % 2) return null;
  const found = WORD.exec(before);
  return found ? { word: found[0], start: caret - found[0].length } : null;
}

/** The fields whose name (or title) holds `word`, names starting with it first. */
export function matching(fields, word, lang) {
  const needle = word.toLowerCase();
  const title = (f) => ((lang === 'zh' && f.title_zh) || f.title || '').toLowerCase();
  return fields.filter((f) => f.name !== word && (f.name.toLowerCase().includes(needle) || title(f).includes(needle)))
    .sort((a, b) => Number(!a.name.toLowerCase().startsWith(needle)) - Number(!b.name.toLowerCase().startsWith(needle))
      || a.name.localeCompare(b.name))
    .slice(0, MAX_SHOWN);
}

export class ConditionHelp {
  constructor(area, t, fieldsPromise) {
    this.area = area;
    this.t = t;
    this.fields = [];
    this.list = h('div', { class: 'd-flex flex-wrap gap-1 mt-1', id: 'pp-condition-fields', role: 'listbox',
      'aria-label': t.condition_fields });
    this.reading = h('div', { class: 'form-text', id: 'pp-condition-reading', 'aria-live': 'polite' });
    this.unknown = h('div', { class: 'form-text text-warning-emphasis', id: 'pp-condition-unknown', 'aria-live': 'polite' });
    fieldsPromise.then((answer) => { this.fields = (answer && answer.items) || []; this.suggest(); }).catch(() => {});
    ['input', 'click', 'keyup'].forEach((kind) => area.addEventListener(kind, () => this.suggest()));
  }

  elements() {
    return [this.list, this.reading, this.unknown];
  }

  suggest() {
    const at = wordAt(this.area.value, this.area.selectionStart ?? this.area.value.length);
    const found = at ? matching(this.fields, at.word, this.t.lang) : [];
    this.list.replaceChildren(...found.map((f) => h('button', {
      type: 'button', class: 'btn btn-sm btn-outline-secondary py-0', role: 'option', 'data-field': f.name,
      title: (this.t.lang === 'zh' && f.title_zh) || f.title || f.name,
      onclick: () => this.insert(at, f.name),
    }, h('code', {}, f.name), (this.t.lang === 'zh' && f.title_zh) || f.title ? ` ${(this.t.lang === 'zh' && f.title_zh) || f.title}` : '')));
  }

  insert(at, name) {
    const text = this.area.value;
    const end = at.start + at.word.length;
    this.area.value = text.slice(0, at.start) + name + text.slice(end);
    const caret = at.start + name.length;
    this.area.focus();
    this.area.setSelectionRange(caret, caret);
    this.area.dispatchEvent(new Event('input', { bubbles: true }));
    this.area.dispatchEvent(new Event('change', { bubbles: true })); // the diagram takes it as typed
  }

  /** Show the server's answer: its reading and the names nothing sets. */
  show(answer) {
    this.reading.textContent = answer && answer.ok && answer.reading ? fill(this.t.condition_reads, answer) : '';
    const unknown = (answer && answer.unknown) || [];
    this.unknown.replaceChildren(...unknown.map((u) => h('div', { 'data-unknown': u.name },
      fill(this.t.condition_unknown, { name: u.name }),
      u.suggestion ? ` ${fill(this.t.condition_did_you_mean, { suggestion: u.suggestion })}` : '')));
  }
}
