#!/usr/bin/env node
// Build orderflow/static/vendor/ (build output, not committed):
//  - copy the third-party files pages load as they are (Bootstrap, htmx, the bpmn-js stylesheets and
//    font) from node_modules/ into vendor/<path>;
//  - bundle every orderflow/static/src/*.js page entry (ES modules; their parts live in the
//    subfolders of src/) with esbuild into vendor/app/<entry>.js, ES module output for
//    <script type="module">; code two entries share (bpmn-js, src/lib/) goes into vendor/app/chunks/.
//
// Runs fully offline after `npm ci --ignore-scripts`. Fails loudly (exit 1)
// when an expected source file is missing. Templates reference the results as
// /static/vendor/<path>.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, copyFileSync, cpSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NM = join(ROOT, 'node_modules');
const VENDOR = join(ROOT, 'orderflow', 'static', 'vendor');
const SRC = join(ROOT, 'orderflow', 'static', 'src');

// [destination (relative to vendor/), candidate sources (relative to node_modules/), first existing wins]
const FILES = [
  ['bpmn-js/assets/bpmn-js.css', ['bpmn-js/dist/assets/bpmn-js.css']],
  ['bpmn-js/assets/diagram-js.css', ['bpmn-js/dist/assets/diagram-js.css']],
  ['diagram-js-minimap/diagram-js-minimap.css', ['diagram-js-minimap/assets/diagram-js-minimap.css']],
  ['htmx/htmx.min.js', ['htmx.org/dist/htmx.min.js']],
  ['bootstrap/css/bootstrap.min.css', ['bootstrap/dist/css/bootstrap.min.css']],
  ['bootstrap/js/bootstrap.bundle.min.js', ['bootstrap/dist/js/bootstrap.bundle.min.js']],
];

// [destination dir (relative to vendor/), source dir (relative to node_modules/)]
const DIRS = [
  ['bpmn-js/assets/bpmn-font', 'bpmn-js/dist/assets/bpmn-font'],
];

const errors = [];
const written = [];

function fail(msg) {
  console.error(`build-vendor: ERROR: ${msg}`);
  process.exit(1);
}

function note(dest) {
  written.push(dest);
  const size = statSync(dest).size;
  console.log(`  wrote ${relative(ROOT, dest)} (${size} bytes)`);
}

function listFiles(dir) {
  const out = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

if (!existsSync(NM)) {
  fail(`${relative(ROOT, NM) || NM}/ not found - run \`npm ci --ignore-scripts\` first`);
}

// Check every source before touching the output directory.
const plan = [];
for (const [dest, candidates] of FILES) {
  const src = candidates.map((c) => join(NM, c)).find((p) => existsSync(p) && statSync(p).isFile());
  if (!src) errors.push(`missing source for vendor/${dest}: tried ${candidates.map((c) => 'node_modules/' + c).join(', ')}`);
  else plan.push(['file', src, join(VENDOR, dest)]);
}
for (const [dest, srcRel] of DIRS) {
  const src = join(NM, srcRel);
  if (!existsSync(src) || !statSync(src).isDirectory() || listFiles(src).length === 0) {
    errors.push(`missing source directory for vendor/${dest}: node_modules/${srcRel}`);
  } else plan.push(['dir', src, join(VENDOR, dest)]);
}
if (errors.length) {
  for (const e of errors) console.error(`build-vendor: ERROR: ${e}`);
  fail(`${errors.length} source(s) missing - is node_modules up to date with package-lock.json? (npm ci --ignore-scripts)`);
}

// Start from a clean vendor directory so stale files never linger.
rmSync(VENDOR, { recursive: true, force: true });
mkdirSync(VENDOR, { recursive: true });
console.log(`build-vendor: writing ${relative(ROOT, VENDOR)}/`);

for (const [kind, src, dest] of plan) {
  mkdirSync(dirname(dest), { recursive: true });
  if (kind === 'file') {
    copyFileSync(src, dest);
    note(dest);
    // Ship the source map too when the package has one (avoids 404s in devtools).
    if (existsSync(src + '.map')) {
      copyFileSync(src + '.map', dest + '.map');
      note(dest + '.map');
    }
  } else {
    cpSync(src, dest, { recursive: true });
    for (const f of listFiles(dest)) note(f);
  }
}

// Bundle the page entries: orderflow/static/src/*.js -> vendor/app/<name>.js (+ shared chunks/)
const entries = existsSync(SRC)
  ? readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.js'))
      .map((e) => join(SRC, e.name))
      .sort()
  : [];
if (entries.length) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    fail(`cannot load esbuild (${err.message}) - run \`npm ci --ignore-scripts\``);
  }
  const outdir = join(VENDOR, 'app');
  try {
    const result = await esbuild.build({
      entryPoints: entries,
      outdir,
      bundle: true,
      format: 'esm',
      splitting: true,
      entryNames: '[name]',
      chunkNames: 'chunks/[name]-[hash]',
      minify: true,
      target: ['es2020'],
      logLevel: 'warning',
      metafile: true,
    });
    for (const out of Object.keys(result.metafile.outputs).sort()) note(resolve(ROOT, out));
  } catch (err) {
    fail(`esbuild failed: ${err.message}`);
  }
} else {
  console.log(`  (no ${relative(ROOT, SRC)}/*.js entry files; skipping esbuild)`);
}

console.log(`build-vendor: ${written.length} file(s) written`);
