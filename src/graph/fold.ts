import type { ContainerConfig } from '../oci/index.js';

/** Go's fmt of a []string, as BuildKit writes `CMD ["a" "b"]` into history. */
export function goList(items: readonly string[]): string {
  return `[${items.map((i) => JSON.stringify(i)).join(' ')}]`;
}

/** Go's %v of a []string, as BuildKit writes `SHELL [/bin/sh -c]` and `VOLUME [/a /b]` into history. */
export function goValues(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

/**
 * Docker's EXPOSE parsing: "80" -> ["80/tcp"], "53/UDP" -> ["53/udp"], "8000-8002" -> three ports;
 * anything else is `Invalid containerPort`. Returns undefined for an invalid spec.
 */
export function exposedPorts(spec: string): string[] | undefined {
  const m = /^(\d+)(?:-(\d+))?(?:\/([a-zA-Z]+))?$/.exec(spec);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  const proto = (m[3] ?? 'tcp').toLowerCase();
  return Array.from({ length: end - start + 1 }, (_, i) => `${start + i}/${proto}`);
}

/** A fresh, deep-copied container config (JSON-shaped data only). */
export function cloneConfig(c: ContainerConfig): ContainerConfig {
  return JSON.parse(JSON.stringify(c)) as ContainerConfig;
}
