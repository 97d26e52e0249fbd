/**
 * A small JSON Schema validator for the subset the progress-event schema uses: type, const, enum, required,
 * properties, additionalProperties: false, items, minimum, pattern, oneOf, allOf and local $ref (#/$defs/…).
 * Returns the problems found ([] when valid), each prefixed with its JSON pointer.
 */
export type Schema = { [k: string]: unknown };

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function validate(value: unknown, schema: Schema, root: Schema = schema, at = ''): string[] {
  const errs: string[] = [];
  const where = at || '/';
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace(/^#\//, '').split('/').reduce<unknown>((o, k) => (o as Schema)?.[k], root);
    if (!target) return [`${where}: unresolved $ref ${schema.$ref}`];
    errs.push(...validate(value, target as Schema, root, at));
  }
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = ([] as unknown[]).concat(schema.type);
    if (!types.some((x) => x === t || (x === 'number' && t === 'integer'))) return [...errs, `${where}: expected ${types.join('|')}, got ${t}`];
  }
  if ('const' in schema && value !== schema.const) errs.push(`${where}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errs.push(`${where}: not one of ${JSON.stringify(schema.enum)}`);
  if (typeof schema.minimum === 'number' && typeof value === 'number' && value < schema.minimum) errs.push(`${where}: below ${schema.minimum}`);
  if (typeof schema.pattern === 'string' && typeof value === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errs.push(`${where}: does not match ${schema.pattern}`);
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of (schema.required as string[] | undefined) ?? []) if (!(k in obj)) errs.push(`${where}: missing "${k}"`);
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errs.push(...validate(v, props[k]!, root, `${at}/${k}`));
      else if (schema.additionalProperties === false) errs.push(`${where}: unexpected "${k}"`);
    }
  }
  if (t === 'array' && schema.items) (value as unknown[]).forEach((v, i) => errs.push(...validate(v, schema.items as Schema, root, `${at}/${i}`)));
  if (Array.isArray(schema.allOf)) for (const s of schema.allOf) errs.push(...validate(value, s as Schema, root, at));
  if (Array.isArray(schema.oneOf)) {
    const results = schema.oneOf.map((s) => validate(value, s as Schema, root, at));
    const ok = results.filter((r) => r.length === 0).length;
    if (ok !== 1) {
      const best = results.reduce((a, b) => (b.length < a.length ? b : a));
      errs.push(ok === 0 ? `${where}: matches no alternative (closest: ${best.join('; ')})` : `${where}: matches ${ok} alternatives`);
    }
  }
  return errs;
}
