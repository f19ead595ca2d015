// The deploy dialog: what the release changes against the latest version, which running orders stay
// on the versions they started on, and the release note (GET …/draft/release, then the deploy).

import { fill } from './durations.js';
import { h } from './dom.js';

const KINDS = ['steps_added', 'steps_removed', 'steps_changed', 'time_limits', 'groups', 'flows', 'forms'];
const SHOWN = 8; // names listed per kind; the rest are counted

export class ReleaseDialog {
  constructor(dialog, t) {
    this.dialog = dialog;
    this.t = t;
    this.changes = dialog.querySelector('#modeler-release-changes');
    this.staying = dialog.querySelector('#modeler-release-staying');
    this.note = dialog.querySelector('#modeler-release-note');
    this.links = dialog.querySelector('#modeler-release-links'); // the full diff and the what-if, in a new tab
    dialog.querySelector('#modeler-release-cancel').addEventListener('click', () => dialog.close('cancel'));
  }

  // Resolves with the note (possibly empty) when the owner confirms, null when they cancel.
  ask(preview) {
    this.changes.replaceChildren(...this.describe(preview));
    this.staying.textContent = this.stayingText(preview);
    if (this.links) this.links.hidden = preview.from === null; // a first version has nothing to compare
    this.note.value = '';
    return new Promise((resolve) => {
      this.dialog.addEventListener('close', () => {
        resolve(this.dialog.returnValue === 'deploy' ? this.note.value : null);
      }, { once: true });
      this.dialog.returnValue = '';
      this.dialog.showModal();
      this.note.focus();
    });
  }

  describe(preview) {
    if (preview.from === null) return [h('p', { class: 'mb-2' }, this.t.release_first)];
    const kinds = KINDS.filter((kind) => (preview.summary[kind] || []).length);
    if (!kinds.length) return [h('p', { class: 'mb-2' }, fill(this.t.release_same, { version: preview.from }))];
    return [
      h('p', { class: 'mb-1' }, fill(this.t.release_from, { version: preview.from })),
      h('ul', { class: 'small mb-2', id: 'modeler-release-list' }, kinds.map((kind) => {
        const names = preview.summary[kind];
        const more = names.length > SHOWN ? ` ${fill(this.t.release_more, { count: names.length - SHOWN })}` : '';
        return h('li', { 'data-kind': kind },
          h('span', { class: 'fw-semibold' }, `${this.t[`release_${kind}`]} (${names.length}): `),
          names.slice(0, SHOWN).join(', ') + more);
      })),
    ];
  }

  stayingText(preview) {
    if (!preview.staying_total) return this.t.release_none_running;
    const versions = preview.staying.map((s) => fill(this.t.release_on_version, s)).join(', ');
    const text = preview.staying_total === 1 ? this.t.release_staying_one : this.t.release_staying;
    return fill(text, { count: preview.staying_total, versions });
  }
}
