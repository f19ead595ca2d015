// Form editor (templates/form_editor/form_editor.html): [data-format-json="<textarea id>"]
// pretty-prints the JSON when it parses; when it does not, the preview already names the line and
// column, so the text is left as typed.

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
