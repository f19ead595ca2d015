/* Form editor: [data-format-json="<textarea id>"] pretty-prints the JSON when it parses; when it
 * does not, the preview already names the line and column, so the text is left as typed. */
(function () {
  'use strict';

  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-format-json]');
    if (!button) { return; }
    var area = document.getElementById(button.getAttribute('data-format-json'));
    if (!area) { return; }
    var parsed;
    try {
      parsed = JSON.parse(area.value);
    } catch (e) {
      area.focus();
      return;
    }
    var pretty = JSON.stringify(parsed, null, 2);
    if (pretty !== area.value) {
      area.value = pretty;
      area.dispatchEvent(new Event('input', { bubbles: true }));  // htmx re-renders the preview
    }
  });
})();
