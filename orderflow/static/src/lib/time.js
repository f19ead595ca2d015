// One way to show a time, as the server does (orderflow/core/timefmt.py): "2026-12-06 18:30 UTC+8",
// in the reader's zone, which the page names on <body data-time-zone>.

/** The reader's IANA time zone, from the page (the company's or their own); UTC without one. */
export function readerZone() {
  return (document.body && document.body.dataset.timeZone) || 'UTC';
}

/** `value` (an ISO text or a Date) as "YYYY-MM-DD HH:MM UTC±H" in `zone`; '' when it is no time. */
export function formatAt(value, zone = readerZone()) {
  const moment = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(moment.getTime())) return '';
  let parts;
  try {
    parts = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
      hourCycle: 'h23', timeZoneName: 'shortOffset',
    }).formatToParts(moment);
  } catch {
    return formatAt(moment, 'UTC');
  }
  const part = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  const offset = (part.timeZoneName || 'GMT').replace('GMT', 'UTC');
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute} ${offset}`;
}
