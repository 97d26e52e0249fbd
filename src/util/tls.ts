/**
 * Extra trusted CA certificates, read when a TLS connection needs them rather than at process start.
 *
 * Node parses every certificate named by NODE_EXTRA_CA_CERTS before it runs any JavaScript: ~60 ms for
 * Debian's CA bundle on a 2-core VM, more than node's whole start-up without it. Most tsbuild commands
 * (build from local bases, run, images) never open a TLS connection, so bin/tsbuild moves the variable to
 * TSBUILD_EXTRA_CA_CERTS before starting node, and the TLS clients (registry transport, ADD of an https URL)
 * add these certificates to Node's bundled roots themselves.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';

// node:tls is loaded on first use too: this module is part of util's index, which every command loads.
const load = createRequire(import.meta.url);

let extra: Buffer | null | undefined;

/** The PEM file named by TSBUILD_EXTRA_CA_CERTS (one Buffer may hold many certificates), or null. */
export function extraCaCerts(): Buffer | null {
  if (extra !== undefined) return extra;
  const file = process.env.TSBUILD_EXTRA_CA_CERTS;
  extra = null;
  if (file) {
    try {
      extra = fs.readFileSync(file);
    } catch (e) {
      // node itself only warns when NODE_EXTRA_CA_CERTS cannot be read; do the same
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
    }
  }
  return extra;
}

/**
 * The `ca` option for a TLS connection: Node's bundled roots plus the deferred extra CAs plus `more`;
 * undefined when there is nothing to add, so Node's default store is used as is.
 */
export function trustedCas(more: Buffer[] = []): Buffer[] | undefined {
  const x = extraCaCerts();
  if (!x && more.length === 0) return undefined;
  const tls = load('node:tls') as typeof import('node:tls');
  return [...tls.rootCertificates.map((c) => Buffer.from(c)), ...(x ? [x] : []), ...more];
}
