#!/usr/bin/env node
'use strict';
// The CLI entry (bin/tsbuild starts node on this file). One code cache per common command, see load.cjs.
// bin/tsbuild picks node's flags per command from the same list: keep the two in step.
const path = require('node:path');
const { loadBundle } = require('./load.cjs');

const COMMANDS = new Set(['build', 'run', 'exec', 'push', 'pull', 'images', 'ps', 'rm', 'start', 'stop', 'logs', 'du', 'prune']);
const args = process.argv.slice(2);
const tag = args.find((a) => COMMANDS.has(a)) ?? 'other';
loadBundle(path.join(__dirname, '..', 'dist', 'bundle', 'tsbuild.cjs'), tag)
  .main(args)
  .then((code) => {
    process.exitCode = code;
  });
