/** The default store root: $TSBUILD_ROOT, else /var/lib/tsbuild. */
export function defaultRoot(): string {
  return process.env.TSBUILD_ROOT || '/var/lib/tsbuild';
}
