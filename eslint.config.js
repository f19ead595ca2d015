// ESLint (flat config) for Orderflow's own JavaScript: the page modules in orderflow/static/src/
// (bundled by tools/build-vendor.mjs) and the Node build tools. `npm run lint`, `make lint`.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['node_modules/', 'orderflow/static/vendor/', '.venv/'] },
  js.configs.recommended,
  {
    files: ['orderflow/static/src/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.browser } },
    rules: { 'no-console': 'error' }, // no stray logging left in the pages (disable per line when meant)
  },
  {
    files: ['tools/**/*.mjs', 'eslint.config.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
  },
  {
    rules: {
      'no-unused-vars': ['error', { args: 'after-used', caughtErrors: 'none' }],
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
];
