#!/usr/bin/env node
'use strict';
// A detached container's supervisor (started by `tsbuild run -d` and `tsbuild start`, never by hand).
const path = require('node:path');
const { loadBundle } = require('./load.cjs');

loadBundle(path.join(__dirname, '..', 'dist', 'bundle', 'tsbuild-supervisor.cjs'), 'supervisor');
