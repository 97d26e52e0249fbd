'use strict';
// Runs a bundled CommonJS file (dist/bundle/*.cjs) with a V8 code cache beside it, so that a command's
// functions are not compiled again on every start (node 20 has no compile cache of its own). A cache
// belongs to one command ("build", "run", ...) because V8 stores the functions compiled by the run that
// wrote it; it is rewritten when V8 rejects it (new bundle, new node) or none exists. A cache that cannot be
// written (read-only install) only costs the compile time it would have saved.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

exports.loadBundle = function loadBundle(file, tag) {
  const cacheFile = path.join(path.dirname(file), 'cache', `${path.basename(file)}.${tag}.v8`);
  // scripts/bundle.mjs writes pure ASCII: latin1 reads it without UTF-8 decoding
  const source = fs.readFileSync(file, 'latin1');
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        // best effort: the next run compiles again
      }
    });
  }
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  return mod.exports;
};
