#!/usr/bin/env node
import { main } from '../dist/bundle/tsbuild.mjs';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
