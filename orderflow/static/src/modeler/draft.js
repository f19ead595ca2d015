// The draft's lifecycle behind the toolbar: open, save, check, deploy, download, discard.

import { fill } from './durations.js';
import { h } from './dom.js';
import { formatAt } from '../lib/time.js';
import { clearOfPalette } from './navigation.js';

export class Draft {
  constructor({ modeler, api, t, config, problems, ui, release }) {
    Object.assign(this, { modeler, api, t, config, problems, ui, release });
    this.draft = null;
    this.changes = 0;      // edits since load; a save only clears the ones it carried
    this.savedAt = 0;
    modeler.get('eventBus').on('commandStack.changed', (e) => {
      if (e.trigger === 'clear') return;
      this.changes += 1;
      this.showDirty();
    });
  }

  get dirty() { return this.changes !== this.savedAt; }

  showDirty() {
    this.ui.dirty.hidden = !this.dirty;
  }

  message(kind, text) {
    const box = h('div', { class: `alert alert-${kind} alert-dismissible py-2 mb-2`,
      role: kind === 'danger' || kind === 'warning' ? 'alert' : 'status' }, text,
    h('button', { type: 'button', class: 'btn-close', 'data-bs-dismiss': 'alert', 'aria-label': this.t.close }));
    this.ui.message.replaceChildren(box);
  }

  showState() {
    const d = this.draft;
    let text = '';
    if (d.saved) {
      const when = d.updated_at ? formatAt(d.updated_at) : '';
      text = fill(this.t.state_saved, { user: d.updated_by || '', time: when });
    } else if (d.base_version) {
      text = fill(this.t.state_unsaved, { version: d.base_version });
    }
    this.ui.state.textContent = text;
    if (d.base_version) this.ui.version.value = String(d.base_version);
  }

  async open(version, keepView) {
    const url = version ? `${this.config.draftUrl}?version=${encodeURIComponent(version)}` : this.config.draftUrl;
    const draft = await this.api('GET', url);
    const canvas = this.modeler.get('canvas');
    const view = keepView ? canvas.viewbox() : null;
    const { warnings } = await this.modeler.importXML(draft.bpmn);
    if (warnings.length) console.warn('bpmn import warnings', warnings); // eslint-disable-line no-console
    if (view) canvas.viewbox(view);
    else this.overview(canvas);
    this.draft = draft;
    this.changes = 0;
    this.savedAt = 0;
    this.showDirty();
    this.problems.clear();
    this.showState();
  }

  // The whole diagram when it is readable so, else its start (top left) at a readable scale.
  // Either way clear of the palette, which is drawn over the canvas.
  overview(canvas) {
    canvas.zoom('fit-viewport');
    const box = canvas.viewbox();
    if (box.scale < 0.5) {
      canvas.viewbox({ x: box.inner.x - 20, y: box.inner.y - 20, width: box.outer.width / 0.7,
        height: box.outer.height / 0.7 });
    }
    clearOfPalette(canvas);
  }

  // The diagram as Save draft and Download write it.
  async xml() {
    const { xml } = await this.modeler.saveXML({ format: true });
    return xml;
  }

  async save() {
    const carried = this.changes;
    const xml = await this.xml();
    const body = { bpmn: xml };
    // lock_version 0 = "I expect no saved draft": another owner's first save is not overwritten
    body.lock_version = this.draft.saved ? this.draft.lock_version : 0;
    if (!this.draft.saved && this.draft.base_version) body.base_version = this.draft.base_version;
    const result = await this.api('PUT', this.config.draftUrl, body);
    Object.assign(this.draft, result);
    this.savedAt = carried;
    this.showDirty();
    this.showState();
  }

  async saveAction() {
    await this.save();
    this.message('success', this.t.saved);
  }

  async checkAction() {
    await this.save();
    const result = await this.api('POST', this.config.checkUrl);
    this.problems.show(result.problems);
    const errors = result.problems.filter((p) => p.severity !== 'warning').length;
    if (!result.ok || errors) this.message('danger', this.t.check_errors);
    else this.message('success', result.problems.length ? this.t.check_warnings : this.t.check_ok);
  }

  async deployAction() {
    await this.save();
    const preview = await this.api('GET', this.config.releaseUrl);
    if (!preview.ok) { // the deploy would refuse: show why, ask nothing
      this.problems.show(preview.problems);
      this.message('danger', `${this.t.deploy_failed} ${this.t.check_errors}`);
      return;
    }
    const note = await this.release.ask(preview);
    if (note === null) return;
    let result;
    try {
      result = await this.api('POST', this.config.deployUrl, { note });
    } catch (error) {
      if (!error.problems || !error.problems.length) throw error;
      this.problems.show(error.problems);
      this.message('danger', `${this.t.deploy_failed} ${error.message}`);
      return;
    }
    const mine = result.deployed.find((d) => d.key === this.config.key) || result.deployed[0];
    this.addVersion(mine.version);
    await this.open(null, true);
    this.problems.show(result.warnings);
    this.message('success', fill(this.t.deployed, { version: mine.version }));
  }

  addVersion(version) {
    const select = this.ui.version;
    if (![...select.options].some((o) => o.value === String(version))) {
      select.append(h('option', { value: String(version) }, fill(this.t.version_n, { version })));
    }
    document.getElementById('modeler-versions').hidden = false; // a new process's first version
  }

  async download() {
    const xml = await this.xml();
    const url = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
    const link = h('a', { href: url, download: `${this.config.key}.bpmn`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async discardAction() {
    if (!window.confirm(this.t.discard_confirm)) return;
    await this.api('DELETE', this.config.draftUrl);
    if (!this.ui.version.options.length) { // never deployed: nothing is left to show
      window.location.assign(this.config.newUrl);
      return;
    }
    await this.open(null);
    this.message('info', this.t.discarded);
  }

  async versionAction(version) {
    if (this.draft.saved) {
      this.ui.version.value = String(this.draft.base_version || '');
      this.message('warning', this.t.draft_exists);
      return;
    }
    if (this.dirty && !window.confirm(this.t.lose_changes)) {
      this.ui.version.value = String(this.draft.base_version || '');
      return;
    }
    await this.open(version);
    this.message('info', fill(this.t.opened_version, { version }));
  }
}
