// The architecture measures of docs/architecture.md, checked on every `npm run lint:root`:
//
//   1. no import cycle between the source files of packages/*/src, type-only imports included;
//   2. no import from a lower layer of @httpauth/core to a higher one (LAYERS below);
//   3. no source file over MAX_LINES lines unless one of its first lines says why: `// size: ...`.
//
//   node scripts/check-architecture.mjs [--root <dir>]
//
// The import graph comes from the TypeScript compiler's parser (import and export declarations,
// `import x = require()`, `import()` calls and `import('...')` types), so an import a regular
// expression would miss, or a comment that looks like one, cannot fool it. Relative specifiers
// resolve to the .ts file they name; `@httpauth/<package>[/<subpath>]` resolves through that
// package's `exports` from dist back to src, so a cycle through another package is found too.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_LINES = 400;

/**
 * Layers of packages/core/src, low to high: a module imports only from its own layer or lower.
 * Keys are folders (ending in /) or files, relative to packages/core/src; the longest key that
 * matches a file wins. Every other package's src is layer 8. A core file no key matches is
 * itself a finding: a new folder must say where it sits.
 */
export const LAYERS = {
  // 1. primitives
  'crypto/': 1,
  'asn1/': 1,
  'ndr/': 1,
  // The one error type is thrown from the DER reader up (every DER failure is
  // ERR_HTTPAUTH_ASN1_MALFORMED), so it sits with the primitives; it imports nothing.
  'errors.ts': 1,
  // 2. foundation
  'principal.ts': 2,
  'events.ts': 2,
  'store/': 2,
  // 3. RFC 9110 §11 header grammar, below every security package
  'grammar/': 3,
  // 4. mechanisms
  'mechanism.ts': 4,
  'kerberos/': 4,
  'ntlm/': 4,
  'netlogon/': 4,
  'channel-binding.ts': 4,
  'credentials/': 4,
  'directory/': 4,
  // 5. security packages
  'security-package.ts': 5,
  'negotiate/': 5,
  'digest/': 5,
  'basic/': 5,
  // TLS client certificates: a package that answers at the connection, not through Authorization
  'certificate/': 5,
  'ntlm/ntlm-package.ts': 5,
  // the folder's entry re-exports the NTLM package with the mechanism
  'ntlm/index.ts': 5,
  // 6. the loop
  'loop/': 6,
  'session/': 6,
  'authorization/': 6,
  'impersonation/': 6,
  // metrics listen to the events and the loop's authenticators
  'metrics/': 6,
  // 7. Node glue, and the entry points that publish it all
  'node/': 7,
  // operator tools: the doctor runs the real loop on a token; the httpauth command
  'doctor/': 7,
  'cli.ts': 7,
  'index.ts': 7,
  'wire.ts': 7,
  'adapter.ts': 7,
};
/** Everything outside packages/core/src: the adapters, the gateway, the stores. */
export const OUTER_LAYER = 8;

/**
 * Findings accepted for a while (a refactor in progress), each with a comment saying why; the
 * check prints the ones that no longer occur so they are removed. Empty: nothing is accepted.
 * Keys: `layer <from> -> <to>`, `cycle <file> -> <file> -> ...` (as printed), `size <file>`.
 */
export const KNOWN = new Set([]);

const IMPORT_TYPE_KINDS = new Set([ts.SyntaxKind.ImportType]);

/** Every module specifier in a source file, type-only ones included. */
export function specifiersOf(fileName, text) {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      found.push(node.moduleReference.expression.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    } else if (
      IMPORT_TYPE_KINDS.has(node.kind) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(m|c)?tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** packages/<dir> -> { name, src, exports } for every package with a src folder. */
function workspacePackages(root) {
  const base = join(root, 'packages');
  const packages = new Map();
  if (!existsSync(base)) return packages;
  for (const dir of readdirSync(base).sort()) {
    const src = join(base, dir, 'src');
    const manifestPath = join(base, dir, 'package.json');
    if (!existsSync(src) || !existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    packages.set(manifest.name, { dir: join(base, dir), src, exports: manifest.exports });
  }
  return packages;
}

/** The src file behind a built file the manifest names (dist/x.js -> src/x.ts). */
function srcOfDist(pkg, target) {
  const path = resolve(pkg.dir, target.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts'));
  return existsSync(path) ? path : undefined;
}

function resolvePackageImport(packages, specifier) {
  const match = /^(@httpauth\/[^/]+)(\/.*)?$/.exec(specifier);
  const pkg = match && packages.get(match[1]);
  if (!pkg) return undefined;
  const entry = pkg.exports?.[`.${match[2] ?? ''}`] ?? (match[2] ? undefined : './dist/index.js');
  const target =
    typeof entry === 'string' ? entry : (entry?.import ?? entry?.default ?? entry?.types);
  return typeof target === 'string' ? srcOfDist(pkg, target.replace(/\.d\.ts$/, '.js')) : undefined;
}

function resolveRelative(from, specifier) {
  const base = resolve(dirname(from), specifier);
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    base,
    `${base}.ts`,
    join(base, 'index.ts'),
  ];
  return candidates.find((path) => existsSync(path) && statSync(path).isFile());
}

/** The layer of a file under root, by LAYERS; undefined for an unmapped core file. */
export function layerOf(root, file) {
  const coreSrc = join(root, 'packages', 'core', 'src') + sep;
  if (!file.startsWith(coreSrc)) return OUTER_LAYER;
  const rel = file.slice(coreSrc.length).split(sep).join('/');
  let best;
  for (const [key, layer] of Object.entries(LAYERS)) {
    const hit = key.endsWith('/') ? rel.startsWith(key) : rel === key;
    if (hit && (best === undefined || key.length > best.key.length)) best = { key, layer };
  }
  return best?.layer;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
function cyclesOf(graph) {
  let index = 0;
  const indices = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const connect = (node) => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), indices.get(next)));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) cycles.push(component);
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) connect(node);
  return cycles;
}

/** One concrete cycle through a component, as a readable path (shortest loop from its first file). */
function cyclePath(graph, component) {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Run the three checks on the repository at root; returns the findings, each a printable key. */
export function checkArchitecture(root) {
  const packages = workspacePackages(root);
  const files = [...packages.values()].flatMap((pkg) => sourceFiles(pkg.src));
  const rel = (file) => relative(root, file).split(sep).join('/');
  const graph = new Map();
  const findings = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const edges = new Set();
    for (const specifier of specifiersOf(file, text)) {
      const target = specifier.startsWith('.')
        ? resolveRelative(file, specifier)
        : resolvePackageImport(packages, specifier);
      if (target !== undefined) edges.add(target);
    }
    graph.set(file, edges);

    const lines = text.split('\n');
    const lineCount = text.endsWith('\n') ? lines.length - 1 : lines.length;
    const reason = lines.slice(0, 5).some((line) => /^\/\/ size: \S/.test(line));
    if (lineCount > MAX_LINES && !reason) {
      findings.push({ key: `size ${rel(file)}`, detail: `${lineCount} lines` });
    }
  }
  for (const [file, edges] of graph) {
    const from = layerOf(root, file);
    if (from === undefined) {
      findings.push({ key: `unmapped ${rel(file)}`, detail: 'add its folder to LAYERS' });
      continue;
    }
    for (const target of edges) {
      const to = layerOf(root, target);
      if (to !== undefined && to > from) {
        findings.push({
          key: `layer ${rel(file)} -> ${rel(target)}`,
          detail: `layer ${from} imports layer ${to}`,
        });
      }
    }
  }
  for (const component of cyclesOf(graph)) {
    const path = cyclePath(graph, component).map(rel);
    findings.push({ key: `cycle ${path.join(' -> ')}`, detail: `${component.length} files` });
  }
  return findings;
}

function main(argv) {
  const rootIndex = argv.indexOf('--root');
  const root =
    rootIndex === -1
      ? resolve(dirname(fileURLToPath(import.meta.url)), '..')
      : resolve(argv[rootIndex + 1] ?? '.');
  const findings = checkArchitecture(root);
  const failures = findings.filter((finding) => !KNOWN.has(finding.key));
  const known = findings.filter((finding) => KNOWN.has(finding.key));
  for (const finding of known) console.log(`known (TODO): ${finding.key}  (${finding.detail})`);
  const seen = new Set(findings.map((finding) => finding.key));
  for (const key of KNOWN) {
    if (!seen.has(key)) console.log(`resolved, remove from KNOWN: ${key}`);
  }
  for (const finding of failures) console.error(`${finding.key}  (${finding.detail})`);
  if (failures.length > 0) {
    console.error(
      `check-architecture: ${failures.length} finding(s): import cycles, imports from a lower ` +
        `layer to a higher one, or files over ${MAX_LINES} lines without a "// size:" reason`,
    );
    return 1;
  }
  console.log(`check-architecture: ok (${findings.length - failures.length} known)`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
