/**
 * The gateway configuration's JSON Schema (gateway.schema.json, draft 2020-12, published with the
 * package so editors complete and check gateway.yaml) and the small interpreter validateConfig
 * runs it with. The schema is the one statement of every setting's type, range, allowed values
 * and default; config.ts adds only what a schema cannot say (URLs, canonical paths, settings that
 * depend on each other, overrides from the environment and flags).
 *
 * The interpreter covers the subset the schema uses, and reports each problem as one line with
 * the setting's path (`auth.ntlm.domain must be a non-empty string`), so `--check` lists every
 * problem at once: type, enum, minimum/maximum, minLength, pattern, items, minItems, properties,
 * additionalProperties: false, required, anyOf (branch chosen by the value's type), oneOf over
 * `required` (exactly one of two settings) and local $ref. A pattern's message comes from
 * `patternErrorMessage` (the keyword VS Code and yaml-language-server show too); messages for a
 * list or a oneOf from `errorMessages`, an annotation editors ignore. A keyword outside the
 * subset makes loading the schema fail, so the schema never says more than the gateway checks.
 */
import { readFileSync } from 'node:fs';

export interface SchemaNode {
  readonly $ref?: string;
  readonly type?: 'string' | 'number' | 'boolean' | 'array' | 'object';
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly pattern?: string;
  readonly patternErrorMessage?: string;
  readonly items?: SchemaNode;
  readonly minItems?: number;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: false;
  readonly required?: readonly string[];
  readonly anyOf?: readonly SchemaNode[];
  readonly oneOf?: readonly SchemaNode[];
  readonly errorMessages?: Readonly<
    Partial<Record<'type' | 'items' | 'minItems' | 'oneOf', string>>
  >;
  readonly default?: unknown;
}

/** Keywords the interpreter checks, and annotations it may ignore. */
const CHECKED = new Set([
  '$ref',
  'type',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'pattern',
  'patternErrorMessage',
  'items',
  'minItems',
  'properties',
  'additionalProperties',
  'required',
  'anyOf',
  'oneOf',
  'errorMessages',
  'default',
]);
const ANNOTATIONS = new Set(['$schema', '$id', '$defs', 'title', 'description']);

/** The schema file, next to package.json (one level above both src/ and dist/). */
export const SCHEMA_URL = new URL('../gateway.schema.json', import.meta.url);

type Document = SchemaNode & { readonly $defs?: Readonly<Record<string, SchemaNode>> };

function loadSchema(): Document {
  const document = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Document;
  assertSubset(document, '#');
  return document;
}

function assertSubset(node: unknown, where: string): void {
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (!CHECKED.has(key) && !ANNOTATIONS.has(key))
      throw new Error(`gateway.schema.json: ${where} uses "${key}", which validateConfig ignores`);
    if (key === 'properties' || key === '$defs') {
      for (const [name, child] of Object.entries(value as object))
        assertSubset(child, `${where}/${key}/${name}`);
    } else if (key === 'items') {
      assertSubset(value, `${where}/items`);
    } else if (key === 'anyOf' || key === 'oneOf') {
      (value as unknown[]).forEach((child, i) => assertSubset(child, `${where}/${key}/${i}`));
    }
  }
}

export const gatewaySchema: Document = loadSchema();

/** A node with its local `$ref` resolved (keywords next to the $ref win: a default, a title). */
function resolved(node: SchemaNode): SchemaNode {
  if (node.$ref === undefined) return node;
  const name = /^#\/\$defs\/(.+)$/.exec(node.$ref)?.[1];
  const target = name === undefined ? undefined : gatewaySchema.$defs?.[name];
  if (target === undefined) throw new Error(`gateway.schema.json: unresolved ${node.$ref}`);
  const { $ref: _, ...siblings } = node;
  return { ...resolved(target), ...siblings };
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

/** "a, b or c" */
function alternatives(values: readonly string[]): string {
  return values.length <= 1
    ? (values[0] ?? '')
    : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

const KIND: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

function fitsABranch(node: SchemaNode, value: unknown): boolean {
  return (node.anyOf ?? []).some((branch) => resolved(branch).type === jsonType(value));
}

/** The branch of an anyOf that speaks about this value's type (the last one if none does). */
function branchFor(node: SchemaNode, value: unknown): SchemaNode {
  const branches = (node.anyOf ?? []).map(resolved);
  return (
    branches.find((branch) => branch.type === jsonType(value)) ??
    (branches[branches.length - 1] as SchemaNode)
  );
}

function scalarProblem(node: SchemaNode, value: unknown): string | undefined {
  if (node.enum !== undefined) {
    return node.enum.includes(value as string) ? undefined : `must be ${alternatives(node.enum)}`;
  }
  switch (node.type) {
    case 'string':
      if (typeof value !== 'string' || value.length < (node.minLength ?? 0))
        return (node.minLength ?? 0) > 0 ? 'must be a non-empty string' : 'must be a string';
      if (node.pattern !== undefined && !new RegExp(node.pattern, 'u').test(value))
        return node.patternErrorMessage ?? `must match ${node.pattern}`;
      return undefined;
    case 'number': {
      const min = node.minimum ?? -Infinity;
      const max = node.maximum ?? Infinity;
      return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max
        ? undefined
        : `must be a number from ${min} to ${max}`;
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    default:
      return undefined;
  }
}

function checkArray(node: SchemaNode, value: unknown, path: string, problems: string[]): void {
  const items = node.items === undefined ? undefined : resolved(node.items);
  const listMessage = items?.type === 'string' ? 'must be a list of strings' : 'must be a list';
  if (!Array.isArray(value)) {
    problems.push(`${path} ${node.errorMessages?.type ?? listMessage}`);
    return;
  }
  if (items !== undefined) {
    if (items.type === 'object' || items.type === 'array') {
      value.forEach((item, i) => checkNode(items, item, `${path}[${i}]`, problems));
    } else if (value.some((item) => scalarProblem(items, item) !== undefined)) {
      problems.push(`${path} ${node.errorMessages?.items ?? listMessage}`);
      return;
    }
  }
  if (node.minItems !== undefined && value.length < node.minItems)
    problems.push(
      `${path} ${node.errorMessages?.minItems ?? `must list at least ${node.minItems}`}`,
    );
}

function checkObject(node: SchemaNode, value: unknown, path: string, problems: string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${path} must be an object`);
    return;
  }
  const record = value as Record<string, unknown>;
  const properties = node.properties ?? {};
  const prefix = path === '' ? '' : `${path}.`;
  for (const [key, child] of Object.entries(record)) {
    const property = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (property !== undefined) {
      if (child !== undefined) checkNode(property, child, prefix + key, problems);
    } else if (node.additionalProperties === false) {
      problems.push(`unknown setting "${prefix}${key}"`);
    }
  }
  for (const key of node.required ?? []) {
    const property = properties[key];
    // A missing section reports its own missing settings (`directory.ldap.url must be ...`).
    if (record[key] === undefined && property !== undefined)
      checkNode(
        property,
        resolved(property).type === 'object' ? {} : undefined,
        prefix + key,
        problems,
      );
  }
  if (node.oneOf !== undefined) {
    const present = (branch: SchemaNode) =>
      (branch.required ?? []).every((key) => record[key] !== undefined);
    if (node.oneOf.filter(present).length !== 1)
      problems.push(`${path} ${node.errorMessages?.oneOf ?? 'matches none or several of oneOf'}`);
  }
}

/** Check `value` against `node`; every problem is pushed with the setting's path. */
export function checkNode(
  node: SchemaNode,
  value: unknown,
  path: string,
  problems: string[],
): void {
  const effective = resolved(node);
  if (effective.anyOf !== undefined && !fitsABranch(effective, value)) {
    const kinds = effective.anyOf.map((branch) => KIND[resolved(branch).type ?? ''] ?? 'valid');
    problems.push(`${path} must be ${alternatives(kinds)}`);
    return;
  }
  const schema = effective.anyOf === undefined ? effective : branchFor(effective, value);
  if (schema.type === 'object') return checkObject(schema, value, path, problems);
  if (schema.type === 'array') return checkArray(schema, value, path, problems);
  const problem = scalarProblem(schema, value);
  if (problem !== undefined) problems.push(`${path} ${problem}`);
}

/** Every problem of a configuration document, as validateConfig reports them. */
export function schemaProblems(document: unknown): string[] {
  const problems: string[] = [];
  checkNode(gatewaySchema, document, '', problems);
  return problems;
}

/**
 * The schema node for a setting path: `auth.ntlm.domain`, `rules[].prefix` (`[]`: a list's
 * items). anyOf settings (`listen`, `upstream`) resolve to their object form.
 */
export function schemaAt(path: string): SchemaNode {
  let node: SchemaNode = gatewaySchema;
  for (const step of path.split('.')) {
    const list = step.endsWith('[]');
    const name = list ? step.slice(0, -2) : step;
    node = resolved(node);
    if (node.anyOf !== undefined) node = resolved(branchFor(node, {}));
    const next = node.properties?.[name];
    if (next === undefined) throw new Error(`gateway.schema.json has no setting ${path}`);
    node = resolved(next);
    if (list) {
      if (node.items === undefined) throw new Error(`gateway.schema.json: ${path} is not a list`);
      node = resolved(node.items);
    }
  }
  return node;
}

/** A setting's default, as the schema states it (editors show the same value). */
export function defaultOf<T extends string | number | boolean>(path: string): T {
  const value = schemaAt(path).default;
  if (value === undefined) throw new Error(`gateway.schema.json gives ${path} no default`);
  return value as T;
}
