// Bundles the compiled CLI (dist/src) for start-up speed: one CommonJS file per entry under dist/bundle/,
// loaded by bin/load.cjs with a V8 code cache.
//
// Why CommonJS and not ES modules (measured on a 2-core VM, node 20; `node -e 0` is ~40 ms):
// - Node 20 has no compile cache for ES modules, but a CommonJS script run through vm.Script takes V8's
//   code cache: `tsbuild build` no-op spent ~25 ms compiling its chunks, ~3 ms with the cache.
// - The ESM loader itself (resolve, link, module jobs) cost ~10 ms more per run for our dozen chunks.
// - Code behind a dynamic import() (each command's module, undici, tar-stream) is wrapped by esbuild in a
//   lazy initialiser, so one file still runs only what the command needs, as code splitting did.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/bundle', { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // a few modules find files next to themselves through import.meta.url
  define: { 'import.meta.url': '__tsbuildImportMetaUrl' },
  banner: {
    js: [
      "const __tsbuildImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
      'const __tsbuildLazy = (id) => { let m; return new Proxy({}, { get: (_, k) => (m ??= require(id))[k], has: (_, k) => k in (m ??= require(id)) }); };',
    ].join('\n'),
  },
};

// `import * as fs from 'node:fs'` becomes `__toESM(require('node:fs'))` in every module that has it: a
// copy of ~100 property getters each time, ~14 ms of a no-op build for our ~130 such imports. A builtin's
// exports object serves as the namespace as it is, so the copy is dropped wherever the code never reads
// `.default` from it (a dependency's default imports keep theirs).
//
// Builtins that are slow to load and that many commands never call (child_process drags in net and dgram:
// ~13 ms; zlib, tls, http) are required on first use through a proxy: a no-op build spawns nothing.
const LAZY = new Set(['node:child_process', 'node:net', 'node:dgram', 'node:zlib', 'node:tls', 'node:http', 'node:https', 'node:readline', 'node:worker_threads', 'node:dns', 'node:stream/promises', 'node:fs/promises', 'node:timers/promises']);

function directBuiltins(file) {
  const src = readFileSync(file, 'utf8');
  const assign = /([A-Za-z0-9_$]+) = __toESM\(require\("(node:[a-z_/]+)"\)(?:, 1)?\)/g;
  const out = src
    .replace(assign, (all, name, mod) => (new RegExp(`[^A-Za-z0-9_$.]${name.replace(/\$/g, '\\$')}\\.default\\b`).test(src) ? all : `${name} = require("${mod}")`))
    .replace(/([A-Za-z0-9_$]+) = require\("(node:[a-z_/]+)"\)/g, (all, name, mod) => (LAZY.has(mod) ? `${name} = __tsbuildLazy("${mod}")` : all));
  // esbuild escapes non-ASCII in strings (charset=ascii) but keeps comments as they are: a few (undici's)
  // hold non-ASCII text. Made ASCII, the file can be read as latin1 (bin/load.cjs): no UTF-8 decoding of
  // 1.7 MB on every start (~6 ms), and V8 keeps it as a one-byte string.
  writeFileSync(file, out.replace(/[^\x00-\x7f]/g, '?'));
}

// undici's index (1 MB: fetch, websocket, cache...) is used only by ADD of an https URL with extra CAs
// (ops/fetch.ts): it stays in node_modules, loaded there on that rare path, so every start reads 0.7 MB
// instead of 1.7 MB. The registry client bundles the two parts of undici it needs (registry/transport.ts).
const undiciIndexOutside = {
  name: 'undici-index-outside',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', external: true }));
  },
};

// undici loads node:http2 at start-up (~15 ms with the tls it pulls in) for HTTP/2, which the registry
// client never asks for (allowH2 is off). A module that fails to load sends undici down its own fallback
// for a Node without http2 (`{ constants: {} }`).
const noHttp2 = {
  name: 'no-http2',
  setup(b) {
    b.onResolve({ filter: /^node:http2$/ }, (a) => (a.namespace === 'builtin' ? undefined : { path: 'http2', namespace: 'no-http2' }));
    b.onLoad({ filter: /.*/, namespace: 'no-http2' }, () => ({ contents: "throw new Error('tsbuild: HTTP/2 is not bundled');", loader: 'js' }));
  },
};

// The container commands (run, exec, ps, ...) start from a second bundle of the same CLI without the build,
// registry and housekeeping commands: a quarter of the size, ~4 ms less to read and deserialize on every
// `tsbuild run`. main.ts loads each command's module on demand; bin/tsbuild.cjs picks this bundle only for
// the commands it holds, so the modules left out are never asked for (they throw if they are).
const containersOnly = {
  name: 'containers-only',
  setup(b) {
    b.onResolve({ filter: /^\.\/(commands|registry-commands|housekeeping-commands)\.js$/ }, (a) => (a.importer.endsWith('/cli/main.js') ? { path: a.path.slice(2), namespace: 'left-out' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (a) => ({ contents: `throw new Error(${JSON.stringify(`tsbuild: ${a.path} is not in the container commands bundle`)});`, loader: 'js' }));
  },
};

for (const [entry, out, extra] of [
  ['dist/src/cli/main.js', 'dist/bundle/tsbuild.cjs', []],
  ['dist/src/cli/main.js', 'dist/bundle/tsbuild-containers.cjs', [containersOnly]],
  ['dist/src/runtime/supervisor-main.js', 'dist/bundle/tsbuild-supervisor.cjs', []],
]) {
  await build({ ...common, entryPoints: [entry], outfile: out, plugins: [...extra, undiciIndexOutside, noHttp2] });
  directBuiltins(out);
}
