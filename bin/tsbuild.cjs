#!/usr/bin/env node
'use strict';
// The CLI entry (bin/tsbuild starts node on this file). One code cache per common command, see load.cjs.
// bin/tsbuild picks node's flags per command from the same list: keep the two in step.
const path = require('node:path');
const { loadBundle } = require('./load.cjs');

const COMMANDS = new Set(['build', 'run', 'exec', 'push', 'pull', 'images', 'ps', 'rm', 'start', 'stop', 'logs', 'du', 'prune']);
const args = process.argv.slice(2);
const tag = args.find((a) => COMMANDS.has(a)) ?? 'other';
// The container commands have a bundle of their own, without the build and registry code (scripts/bundle.mjs).
// The command is the first argument after the global options, read as src/cli/main.ts reads them.
const CONTAINER_COMMANDS = new Set(['run', 'exec', 'ps', 'logs', 'stop', 'kill', 'rm', 'start', 'restart', 'wait', 'container']);
let i = 0;
while (args[i] === '--root' || args[i] === '--debug' || args[i]?.startsWith('--root=')) i += args[i] === '--root' ? 2 : 1;
const bundle = CONTAINER_COMMANDS.has(args[i]) ? 'tsbuild-containers.cjs' : 'tsbuild.cjs';
loadBundle(path.join(__dirname, '..', 'dist', 'bundle', bundle), tag)
  .main(args)
  .then((code) => {
    process.exitCode = code;
  });
