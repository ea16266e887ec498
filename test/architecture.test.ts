/**
 * The shape of the library, as a new maintainer relies on it: no import cycles (type-only
 * imports count: they tie files together for readers as much as values do), no file over
 * 400 lines and no class over 300, and the core never imports the dashboard, Node's
 * built-ins or ioredis (it runs in browsers).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_FILE_LINES = 400;
const MAX_CLASS_LINES = 300;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative imports of a file (`import`, `import type`, `export ... from`), as paths from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/^(?:import|export)[^;]*?from\s+'(\.[^']+)'/gms)].map((match) => match[1]!);
  return specifiers.map((specifier) => relative(root, resolve(root, dirname(file), specifier)).replace(/\.js$/, '.ts'));
}

/** Every cycle reachable in the graph, each as the list of files around it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

/** Each class declared in a file with its length in lines (up to its closing brace at column 0). */
function classLengths(file: string): Array<{ name: string; lines: number }> {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const classes: Array<{ name: string; lines: number }> = [];
  lines.forEach((line, index) => {
    const match = /^export (?:abstract )?class (\w+)|^class (\w+)/.exec(line);
    if (match === null) return;
    const end = lines.findIndex((candidate, at) => at > index && candidate === '}');
    classes.push({ name: match[1] ?? match[2]!, lines: end - index + 1 });
  });
  return classes;
}

const files = [...sourceFiles('ts'), ...sourceFiles('ts_web')];

describe('the shape of the library', () => {
  it('has no import cycle in ts/ or ts_web/, type-only imports included', () => {
    const graph = new Map(files.map((file) => [file, importsOf(file)]));
    const cycles = findCycles(graph);
    assert.deepEqual(cycles.map((cycle) => cycle.join(' → ')), [], 'import cycles');
  });

  it(`has no source file over ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((file) => ({ file, lines: readFileSync(join(root, file), 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_FILE_LINES);
    assert.deepEqual(long, [], 'files over the limit');
  });

  it(`has no class over ${MAX_CLASS_LINES} lines`, () => {
    const long = files.flatMap((file) => classLengths(file).map((found) => ({ file, ...found })))
      .filter(({ lines }) => lines > MAX_CLASS_LINES);
    assert.deepEqual(long, [], 'classes over the limit');
  });

  it('keeps the core (everything in ts/ but the Redis coordinator, job queue and gateway) free of node: built-ins, ioredis, ws and the dashboard', () => {
    const nodeOnly = new Set(['ts/coordinator/redis.ts', 'ts/coordinator/ioredis.ts']);
    const offending = sourceFiles('ts')
      .filter((file) => !nodeOnly.has(file) && !file.startsWith('ts/coordinator/redis') && !file.startsWith('ts/jobqueue/') && !file.startsWith('ts/gateway/'))
      .filter((file) => /from\s+'(node:[^']+|ioredis|ws|lit[^']*|\.\.\/\.\.\/ts_web[^']*)'/.test(readFileSync(join(root, file), 'utf8')));
    assert.deepEqual(offending, [], 'core files importing Node-only or dashboard modules');
  });

  it('keeps the client (taskbuffer/client) loadable in a browser: no static import of node: built-ins, ws, ioredis or the gateway', () => {
    const offending = sourceFiles('ts').filter((file) => file.startsWith('ts/client/') || file.startsWith('ts/remote/'))
      .filter((file) => /from\s+'(node:[^']+|ws|ioredis|\.\.\/gateway\/[^']*|\.\.\/jobqueue\/(?!jobrecord\.js)[^']*)'/.test(readFileSync(join(root, file), 'utf8')));
    assert.deepEqual(offending, [], 'client files importing Node-only modules');
    // The one queue module the client reads its job types from must stay plain data.
    const jobRecord = readFileSync(join(root, 'ts/jobqueue/jobrecord.ts'), 'utf8');
    assert.doesNotMatch(jobRecord, /from\s+'(node:[^']+|ws|ioredis|\.\/(?!queueerrors\.js)[^']*)'/, 'jobrecord.ts imports only types');
  });
});
