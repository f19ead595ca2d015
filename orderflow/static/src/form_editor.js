// Form editor (templates/form_editor/form_editor.html): [data-format-json="<textarea id>"]
// pretty-prints the JSON when it parses; when it does not, the preview already names the line and
// column, so the text is left as typed.
import { readJson } from './lib/dom.js';
import { FormBuilder } from './form_builder/view.js';
import * as formModel from './form_builder/model.js';

document.addEventListener('click', (event) => {
  const button = event.target.closest('[data-format-json]');
  if (!button) return;
  const area = document.getElementById(button.getAttribute('data-format-json'));
  if (!area) return;
  let parsed;
  try {
    parsed = JSON.parse(area.value);
  } catch {
    area.focus();
    return;
  }
  const pretty = JSON.stringify(parsed, null, 2);
  if (pretty !== area.value) {
    area.value = pretty;
    area.dispatchEvent(new Event('input', { bubbles: true })); // htmx re-renders the preview
  }
});

// The visual builder beside the JSON (form_builder/): off without its container or its texts.
const builderRoot = document.getElementById('form-builder');
const builderTexts = readJson('form-builder-texts');
const schemaArea = document.getElementById('schema-text');
if (builderRoot && builderTexts && schemaArea) {
  window.orderflowFormBuilder = new FormBuilder(builderRoot, schemaArea, builderTexts);
  window.orderflowFormModel = formModel; // tests replay the builder's operations on every shipped form
}
