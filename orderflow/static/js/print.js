/* [data-print] buttons print the page (no inline handlers: the CSP allows only scripts from 'self'). */
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    if (event.target.closest('[data-print]')) {
      window.print();
    }
  });
})();
