#!/usr/bin/env node
'use strict';
// The CLI entry (bin/tsbuild starts node on this file). One code cache per common command, see load.cjs.
// bin/tsbuild picks node's flags per command from the same list: keep the two in step.
const fs = require('node:fs');
const path = require('node:path');
const { loadBundle } = require('./load.cjs');

const COMMANDS = new Set(['build', 'run', 'exec', 'push', 'pull', 'images', 'ps', 'rm', 'start', 'stop', 'logs', 'du', 'prune']);
const args = process.argv.slice(2);
const tag = args.find((a) => COMMANDS.has(a)) ?? 'other';
// The launcher's find(1) walk of a build context (src/context/prewalk.ts), written to a file open on fd 3:
// reopened read-only and close-on-exec (no process tsbuild starts may inherit it), and unlinked.
if (process.env.TSBUILD_PREWALK_DIR !== undefined) {
  const { TSBUILD_PREWALK_DIR: dir, TSBUILD_PREWALK_FILE: file, TSBUILD_PREWALK_PID: pid } = process.env;
  delete process.env.TSBUILD_PREWALK_DIR;
  delete process.env.TSBUILD_PREWALK_FILE;
  delete process.env.TSBUILD_PREWALK_PID;
  let fd;
  try {
    fd = fs.openSync('/proc/self/fd/3', 'r');
  } catch {
    // no /proc: the build walks its context itself
  }
  for (const undo of [() => fs.closeSync(3), () => fs.unlinkSync(file)]) {
    try {
      undo();
    } catch {
      // already gone
    }
  }
  if (fd !== undefined) globalThis[Symbol.for('tsbuild.prewalk')] = { dir, fd, pid: Number(pid) };
  // find must not outlive the command (a huge tree, a wrong guess); a finished find is a zombie child
  // of this process, and a signal to it does nothing
  process.once('exit', () => {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  });
}
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
