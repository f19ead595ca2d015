// ISO-8601 timer values (as SpiffWorkflow reads them) in plain words.
import { formatAt } from '../lib/time.js';

const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;
const UNITS = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'];
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

export function isDuration(text) {
  return DURATION.test((text || '').trim());
}

function isDate(text) {
  return DATE.test(text) && !Number.isNaN(Date.parse(text));
}

// 'date' | 'duration' | 'cycle', or '' when the value is none of them.
export function timerKind(text) {
  const value = (text || '').trim();
  if (/^R\d*\//i.test(value)) {
    const parts = value.split('/');
    return parts.length <= 3 && parts.slice(1).every((p) => isDuration(p) || isDate(p)) &&
      parts.slice(1).some(isDuration) ? 'cycle' : '';
  }
  if (isDuration(value)) return 'duration';
  return isDate(value) ? 'date' : '';
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name]) : m));
}

export function durationWords(text, t) {
  const match = DURATION.exec((text || '').trim());
  if (!match) return '';
  const words = [];
  UNITS.forEach((unit, i) => {
    const n = match[i + 1] === undefined ? 0 : Number(match[i + 1]);
    if (n) words.push(`${n} ${t[n === 1 ? `unit_${unit}` : `unit_${unit}s`]}`);
  });
  return words.join(' ') || `0 ${t.unit_minutes}`;
}

export function timerWords(text, t) {
  const value = (text || '').trim();
  const kind = timerKind(value);
  if (kind === 'duration') return fill(t.timer_after, { duration: durationWords(value, t) });
  if (kind === 'date') return fill(t.timer_at, { date: formatAt(value) || value });
  if (kind === 'cycle') {
    const [repeat, ...rest] = value.split('/');
    const duration = durationWords(rest.find(isDuration), t);
    const count = repeat.slice(1);
    return count ? fill(t.timer_times, { count, duration }) : fill(t.timer_every, { duration });
  }
  return '';
}

export { fill };

// A time limit's label on the diagram, as tools/bpmn_gen.py writes it: "3 h limit 时限3小时".
// (Diagram text, bilingual whatever the page's language, like the lanes' names.)
const LIMIT_UNITS = [['y', '年'], ['mo', '个月'], ['w', '周'], ['d', '天'], ['h', '小时'], ['min', '分钟'],
  ['s', '秒']];
const EN_LIMIT = /\d+(?:\.\d+)?\s?(?:y|mo|w|d|h|min|s)(?:\s+\d+(?:\.\d+)?\s?(?:y|mo|w|d|h|min|s))*(?=\s+limit\b)/i;
const ZH_LIMIT = /(时限)(?:\d+(?:\.\d+)?(?:年|个月|周|天|小时|分钟|秒))+/;

export function limitWords(text) {
  const match = DURATION.exec((text || '').trim());
  if (!match) return null;
  const en = [];
  let zh = '';
  LIMIT_UNITS.forEach(([unit, unitZh], i) => {
    const n = match[i + 1] === undefined ? 0 : Number(match[i + 1]);
    if (!n) return;
    en.push(`${n} ${unit}`);
    zh += `${n}${unitZh}`;
  });
  return en.length ? { en: en.join(' '), zh } : { en: '0 min', zh: '0分钟' };
}

// The timer's name for a new limit: the old limit in it replaced, a missing name written,
// any other name (it does not show the limit) kept as it is.
export function limitLabel(name, value) {
  const words = limitWords(value);
  const current = name || '';
  if (!words) return current;
  if (!current.trim()) return `${words.en} limit 时限${words.zh}`;
  return current.replace(EN_LIMIT, words.en).replace(ZH_LIMIT, `$1${words.zh}`);
}
