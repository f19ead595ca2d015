// ISO-8601 timer values (as SpiffWorkflow reads them) in plain words.

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

export function timerWords(text, t, lang) {
  const value = (text || '').trim();
  const kind = timerKind(value);
  if (kind === 'duration') return fill(t.timer_after, { duration: durationWords(value, t) });
  if (kind === 'date') return fill(t.timer_at, { date: new Date(value).toLocaleString(lang) });
  if (kind === 'cycle') {
    const [repeat, ...rest] = value.split('/');
    const duration = durationWords(rest.find(isDuration), t);
    const count = repeat.slice(1);
    return count ? fill(t.timer_times, { count, duration }) : fill(t.timer_every, { duration });
  }
  return '';
}

export { fill };
