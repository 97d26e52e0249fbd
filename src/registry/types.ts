/** Options shared by every registry operation. */
export interface RegistryOptions {
  /** Hosts (host[:port]) reached over plain HTTP when HTTPS fails; loopback hosts always are. */
  insecureRegistries?: string[];
  /** Directory of per-host TLS material (HOST[:PORT]/ca.crt, client.cert, client.key); default $TSBUILD_CERTS_DIR or /etc/docker/certs.d. */
  certsDir?: string;
  /** Docker config directory (config.json); default $DOCKER_CONFIG or ~/.docker. */
  configDir?: string;
  /** Per-request header and idle-body timeout. */
  timeoutMs?: number;
  /** Retries of a request on 5xx, 429 and connection errors (default 4). */
  retries?: number;
  /** Base backoff delay; doubles per attempt (default 200 ms). */
  backoffMs?: number;
  signal?: AbortSignal;
}

/** Username + password (or identity token) for one registry. */
export interface Credentials {
  username: string;
  password: string;
}

/** A progress report for one blob of a pull or push. */
export interface BlobProgress {
  type: 'pull.progress' | 'push.progress';
  digest: string;
  /** Bytes transferred so far (resumed bytes count once). */
  current: number;
  total: number;
  status: 'waiting' | 'downloading' | 'uploading' | 'resumed' | 'restarted' | 'exists' | 'mounted' | 'done';
}
