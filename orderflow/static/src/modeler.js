// The Modeler page (templates/modeler/modeler.html): bpmn-js with our own properties panel and a
// toolbar for the process draft. URLs and translated strings come from the template.
// Sets data-ready="true" on #modeler and <body> once the first diagram is shown.

import Modeler from 'bpmn-js/lib/Modeler';
import camunda from 'camunda-bpmn-moddle/resources/camunda.json';
import minimapModule from 'diagram-js-minimap';
import spiffworkflow from './spiffworkflow-moddle.json';
import { makeApi } from './modeler/api.js';
import { Draft } from './modeler/draft.js';
import { makeLossless } from './modeler/lossless.js';
import { setUpNavigation } from './modeler/navigation.js';
import { Panel } from './modeler/panel.js';
import { Problems } from './modeler/problems.js';
import { ReleaseDialog } from './modeler/release.js';
import { registerBatch } from './modeler/spiff.js';
import { onReady, readJson } from './lib/dom.js';

function byId(id) {
  return document.getElementById(id);
}

function boot() {
  const root = byId('modeler');
  if (!root) return;
  const t = readJson('modeler-strings');
  const config = { ...root.dataset, deployedIds: readJson('modeler-deployed') };
  const modeler = new Modeler({ container: byId('modeler-canvas'), moddleExtensions: { spiffworkflow, camunda },
    additionalModules: [minimapModule], minimap: { open: window.matchMedia('(min-width: 768px)').matches } });
  makeLossless(modeler.get('moddle')); // what the modeler opens, it saves unchanged
  window.orderflowModeler = modeler; // for tests and the browser console
  registerBatch(modeler);
  const api = makeApi(config.csrf, t);
  const ui = { dirty: byId('modeler-dirty'), state: byId('modeler-state'), message: byId('modeler-message'),
    version: byId('modeler-version') };
  const problems = new Problems(modeler, byId('modeler-problems'), byId('modeler-problem-list'), t);
  setUpNavigation(modeler, byId('modeler-canvas'), { search: byId('modeler-search'), keys: byId('modeler-keys'),
    minimap: byId('modeler-minimap'),
    keysDialog: byId('modeler-keys-dialog') });
  const release = new ReleaseDialog(byId('modeler-release'), t);
  const draft = new Draft({ modeler, api, t, config, problems, ui, release });
  window.orderflowDraft = draft; // tests export through the path Save draft and Download use
  const buttons = [...root.querySelectorAll('[data-action]')];

  // One action at a time; a failure is shown, never thrown away.
  async function act(action) {
    buttons.forEach((b) => { b.disabled = true; });
    root.setAttribute('aria-busy', 'true');
    ui.message.replaceChildren(); // an old outcome must not pass for this action's
    try {
      await action();
    } catch (error) {
      draft.message('danger', error.message || t.failed);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      root.removeAttribute('aria-busy');
    }
  }

  let fieldsAsked = null;
  const panel = new Panel(modeler, byId('modeler-panel'), t, config, {
    checkExpression: (expression) => api('POST', config.expressionUrl, { expression, process: config.key }),
    fields: () => { // the process's data fields, asked once per page
      fieldsAsked = fieldsAsked || api('GET', config.fieldsUrl);
      return fieldsAsked;
    },
    saveThenGo: (url) => act(async () => {
      if (draft.dirty) await draft.save();
      window.location.assign(url);
    }),
  });

  const actions = {
    save: () => draft.saveAction(),
    check: () => draft.checkAction(),
    deploy: () => draft.deployAction(),
    download: () => draft.download(),
    discard: () => draft.discardAction(),
    whatif: async () => { // the preview replays the saved draft: save it first
      await draft.save();
      window.location.assign(config.whatIfUrl);
    },
  };
  buttons.forEach((b) => b.addEventListener('click', () => act(actions[b.dataset.action])));
  ui.version.addEventListener('change', () => act(() => draft.versionAction(ui.version.value)));
  window.addEventListener('beforeunload', (e) => {
    if (draft.dirty) e.preventDefault();
  });

  // The catalogue fills the panel's choices; the diagram does not wait for it.
  [['groups', config.groupsUrl], ['forms', config.formsUrl], ['handlers', config.handlersUrl]]
    .forEach(([name, url]) => api('GET', url)
      .then((data) => panel.setCatalogue({ [name]: data.items }))
      .catch((error) => draft.message('warning', `${t.catalogue_failed} ${error.message}`)));

  act(() => draft.open(null)).then(() => {
    if (!draft.draft) return;
    root.dataset.ready = 'true';
    document.body.dataset.ready = 'true';
  });
}

onReady(boot);
