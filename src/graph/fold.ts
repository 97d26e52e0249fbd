import type { ContainerConfig } from '../oci/index.js';

/** Go's fmt of a []string, as BuildKit writes `CMD ["a" "b"]` into history. */
export function goList(items: readonly string[]): string {
  return `[${items.map((i) => JSON.stringify(i)).join(' ')}]`;
}

/** Docker's EXPOSE normalisation: "80" -> "80/tcp", "53/UDP" -> "53/udp". */
export function normalizePort(p: string): string {
  const [port, proto = 'tcp'] = p.split('/');
  return `${port}/${proto.toLowerCase()}`;
}

/** A fresh, deep-copied container config (JSON-shaped data only). */
export function cloneConfig(c: ContainerConfig): ContainerConfig {
  return JSON.parse(JSON.stringify(c)) as ContainerConfig;
}
