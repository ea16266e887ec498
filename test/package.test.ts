/**
 * The package as users install it. `npm pack` builds it (its prepack script cleans and
 * builds), the tarball is unpacked into fresh consumer projects, and those type-check
 * against the shipped declarations (strict, skipLibCheck off, moduleResolution nodenext
 * and bundler) and run it with plain Node. Fixtures: test/fixtures/package/.
 *
 * A consumer's node_modules links the packages npm would install next to taskbuffer from
 * this repository's node_modules instead of downloading them: CI reaches only the npm
 * registry, a registry install would take most of the time budget, and `npm ci` has put
 * exactly the locked versions there already. Only what the packed package.json declares is
 * linked, so an import of an undeclared package still fails as it would for a user.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.join(root, 'test/fixtures/package');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
/** Generous: a loaded 2-core machine builds in 10–20 s; a hung command should still end the test. */
const COMMAND_TIMEOUT_MS = 120_000;

interface IPackageJson {
  name: string;
  main?: string;
  types?: string;
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface ICommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function log(line: string): void {
  console.log(`package: ${line}`);
}

function runCommand(file: string, args: string[], cwd: string): Promise<ICommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      // No exit code: it did not start (ENOENT), or it was killed at the timeout.
      const why = error !== null && code === null ? `\n${error.killed ? `killed after ${COMMAND_TIMEOUT_MS / 1000} s` : error.message}` : '';
      resolve({ code, stdout, stderr: stderr + why });
    });
  });
}

function output(result: ICommandResult): string {
  return [result.stdout.trim(), result.stderr.trim()].filter(Boolean).join('\n');
}

async function timed<T>(what: string, action: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const value = await action();
  log(`${what} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  return value;
}

/** `npm pack` into `destination`; prepack builds first. Returns the tarball's path. */
async function pack(destination: string): Promise<string> {
  const result = await runCommand('npm', ['pack', '--json', '--pack-destination', destination], root);
  assert.equal(result.code, 0, `npm pack failed (its prepack script builds the package):\n${output(result)}`);
  // With --json, npm writes the build's output to stderr and only the report to stdout.
  const [report] = JSON.parse(result.stdout) as Array<{ filename: string }>;
  return path.join(destination, report!.filename);
}

/** The package.json inside the tarball: what npm reads when it installs it. */
async function readPackedManifest(tarball: string): Promise<IPackageJson> {
  const result = await runCommand('tar', ['-xzOf', tarball, 'package/package.json'], root);
  assert.equal(result.code, 0, `the tarball has no package/package.json:\n${output(result)}`);
  return JSON.parse(result.stdout) as IPackageJson;
}

/** Unpacks the tarball where npm would put it: `<project>/node_modules/<name>`. */
async function unpack(tarball: string, project: string, name: string): Promise<string> {
  const target = path.join(project, 'node_modules', name);
  mkdirSync(target, { recursive: true });
  const result = await runCommand('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'], project);
  assert.equal(result.code, 0, `could not unpack ${tarball}:\n${output(result)}`);
  return target;
}

/** Links each package from this repository's node_modules into the project's, where npm would install it. */
function linkPackages(project: string, packages: Record<string, string>): void {
  for (const [name, why] of Object.entries(packages)) {
    const installed = path.join(root, 'node_modules', name);
    if (!existsSync(installed)) {
      assert.fail(`${name} (${why}) is missing from node_modules, which is older than package.json: run npm ci`);
    }
    const link = path.join(project, 'node_modules', name);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(installed, link, 'dir');
  }
}

/** A fresh project: the fixtures, the unpacked tarball, and the given packages (name → why) beside it. */
async function makeProject(
  base: string,
  folder: string,
  tarball: string,
  packages: Record<string, string>,
): Promise<{ project: string; installed: string }> {
  const project = path.join(base, folder);
  mkdirSync(project, { recursive: true });
  for (const file of readdirSync(fixtures)) copyFileSync(path.join(fixtures, file), path.join(project, file));
  const installed = await unpack(tarball, project, 'taskbuffer');
  linkPackages(project, packages);
  return { project, installed };
}

/** Every file below `dir`, relative to it, with `/` separators. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

/** Every file `exports`, `main` and `types` point at. */
function entryFiles(manifest: IPackageJson): string[] {
  const targets = Object.values(manifest.exports ?? {}).flatMap((target) =>
    typeof target === 'string' ? [target] : Object.values(target),
  );
  return [manifest.main, manifest.types, ...targets]
    .filter((target): target is string => target !== undefined)
    .map((target) => path.posix.normalize(target));
}

/** Source map entries that a debugger could not open: neither shipped nor embedded. */
function unresolvedSources(installed: string, files: string[]): string[] {
  const shipped = new Set(files);
  return files
    .filter((file) => file.endsWith('.map'))
    .flatMap((mapFile) => {
      const map = JSON.parse(readFileSync(path.join(installed, mapFile), 'utf8')) as {
        sources: string[];
        sourceRoot?: string;
        sourcesContent?: Array<string | null>;
      };
      return map.sources
        .filter((source, index) => typeof map.sourcesContent?.[index] !== 'string')
        .map((source) => path.posix.join(path.posix.dirname(mapFile), map.sourceRoot ?? '', source))
        .filter((source) => !shipped.has(source))
        .map((source) => `${mapFile} -> ${source}`);
    });
}

/** Images a registry page cannot show: relative paths only resolve inside the repository. */
function relativeImages(readme: string): string[] {
  const markdown = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)].map((match) => match[1]!);
  const html = [...readme.matchAll(/<img[^>]*\ssrc="([^"]+)"/g)].map((match) => match[1]!);
  return [...markdown, ...html].filter((url) => !/^https?:\/\//.test(url));
}

const RESOLUTIONS = ['nodenext', 'bundler'] as const;

function typecheck(project: string, resolution: string): Promise<ICommandResult> {
  const config = `tsconfig.${resolution}.json`;
  return timed(`tsc -p ${config} (strict, skipLibCheck false)`, () =>
    runCommand(process.execPath, [tsc, '-p', config, '--pretty', 'false'], project),
  );
}

describe('the package as users install it', () => {
  let base: string;
  let tarball: string;
  let manifest: IPackageJson;
  /** A user who also installed the optional peer ioredis and @types/node. */
  let full: { project: string; installed: string };
  /** A user who ran `npm install taskbuffer` and nothing else. */
  let bare: { project: string; installed: string };
  /** Started together: each tsc keeps one core busy for 5–15 s, and they do not depend on each other. */
  const typechecks = new Map<string, Promise<ICommandResult>>();

  before(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'taskbuffer-package-'));
    tarball = await timed('npm pack: prepack cleans dist_ts/ and dist_ts_web/ and builds them', () => pack(base));
    manifest = await readPackedManifest(tarball);
    const dependencies = Object.fromEntries(
      Object.keys(manifest.dependencies ?? {}).map((name) => [name, 'a dependency of taskbuffer']),
    );
    const peers = Object.fromEntries(
      Object.keys(manifest.peerDependencies ?? {}).map((name) => [name, 'a peer dependency of taskbuffer']),
    );
    full = await makeProject(base, 'with-peers', tarball, {
      ...dependencies,
      ...peers,
      '@types/node': 'what a TypeScript project on Node installs',
    });
    bare = await makeProject(base, 'bare', tarball, dependencies);
    log(`consumer projects in ${base}: with-peers/ (dependencies, peers, @types/node) and bare/ (dependencies only)`);
    for (const resolution of RESOLUTIONS) typechecks.set(resolution, typecheck(full.project, resolution));
  });

  after(async () => {
    await Promise.all(typechecks.values()); // their projects are about to go
    if (base !== undefined) rmSync(base, { recursive: true, force: true });
  });

  test('the tarball holds every entry point and the sources its maps point at, and no tests or demos', () => {
    const files = listFiles(full.installed);
    log(`${path.basename(tarball)}: ${files.length} files`);
    const missing = entryFiles(manifest).filter((file) => !files.includes(file));
    assert.deepEqual(missing, [], `package.json points at files the tarball lacks: ${missing.join(', ')} (npm pack builds in prepack; is ignore-scripts set?)`);
    const unresolved = unresolvedSources(full.installed, files);
    assert.deepEqual(unresolved, [], `source maps point at files that are neither shipped nor embedded:\n${unresolved.join('\n')}`);
    const stray = files.filter((file) => /^(test|demo|docs|\.ci)\//.test(file) || file.startsWith('node_modules/'));
    assert.deepEqual(stray, [], `the tarball ships files users never load: ${stray.join(', ')}`);
  });

  test('the readme shows its images on the registry page, where relative paths do not resolve', () => {
    const relative = relativeImages(readFileSync(path.join(full.installed, 'readme.md'), 'utf8'));
    assert.deepEqual(relative, [], `readme.md has images with relative paths: ${relative.join(', ')}`);
  });

  for (const resolution of RESOLUTIONS) {
    test(`a strict consumer type-checks against the shipped declarations with moduleResolution ${resolution}`, async () => {
      const result = await typechecks.get(resolution)!;
      assert.equal(
        result.code,
        0,
        `consumer.ts does not compile against the packed declarations (moduleResolution ${resolution}, ` +
          `skipLibCheck false); tsc says:\n${output(result)}`,
      );
    });
  }

  test('plain Node imports taskbuffer, taskbuffer/redis, taskbuffer/gateway and taskbuffer/client from the installed tarball and runs tasks, also remotely', async () => {
    const result = await runCommand(process.execPath, ['consumer.mjs'], full.project);
    assert.equal(result.code, 0, `consumer.mjs failed:\n${output(result)}`);
    for (const line of result.stdout.trim().split('\n')) log(line);
  });

  test('without the optional peers the core works, and taskbuffer/redis and taskbuffer/gateway say to npm install ioredis or ws', async () => {
    const result = await runCommand(process.execPath, ['without-ioredis.mjs'], bare.project);
    assert.equal(result.code, 0, `without-ioredis.mjs failed:\n${output(result)}`);
    for (const line of result.stdout.trim().split('\n')) log(line);
  });
});
