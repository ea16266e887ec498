/**
 * Every ```ts block of readme.md that is followed by a ```text block is an example with
 * its output: it runs in its own process and must print exactly that text.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(root, 'readme.md'), 'utf8');
const entry = pathToFileURL(join(root, 'ts/index.ts')).href;
/** The package's entry points, pointed at the sources. */
const entries: Record<string, string> = {
  taskbuffer: entry,
  'taskbuffer/gateway': pathToFileURL(join(root, 'ts/gateway/index.ts')).href,
  'taskbuffer/client': pathToFileURL(join(root, 'ts/client/index.ts')).href,
};

interface IExample {
  heading: string;
  code: string;
  output: string;
}

function findExamples(markdown: string): IExample[] {
  const examples: IExample[] = [];
  // A ts block directly followed by a text block; neither may swallow another block's fence.
  const pattern = /```ts\n((?:(?!```)[\s\S])*)```\s*\n```text\n((?:(?!```)[\s\S])*)```/g;
  for (const match of markdown.matchAll(pattern)) {
    const before = markdown.slice(0, match.index);
    const heading = [...before.matchAll(/^#+ (.+)$/gm)].pop()?.[1] ?? 'top';
    examples.push({ heading, code: match[1]!, output: match[2]! });
  }
  return examples;
}

const examples = findExamples(readme);
const workDir = mkdtempSync(join(tmpdir(), 'taskbuffer-readme-'));
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));

test('readme.md has runnable examples for every primitive', () => {
  const headings = examples.map((e) => e.heading);
  for (const section of ['Quick start', 'Buffered tasks', 'Taskchain', 'Taskparallel', 'Taskgraph', 'TaskOnce', 'TaskDebounced', 'Events', 'Remote access: a gateway and its client']) {
    assert.ok(headings.includes(section), `no example with output under "${section}" (found: ${headings.join(', ')})`);
  }
});

// Each example is its own process (about half a second to start), so a few run side by side.
describe('readme examples', { concurrency: 3 }, () => {
  for (const [index, example] of examples.entries()) {
    test(`the example under "${example.heading}" prints what the readme shows`, async () => {
      const file = join(workDir, `example-${index}.mts`);
      writeFileSync(file, example.code.replace(/from '(taskbuffer(?:\/gateway|\/client)?)'/g, (_match, name: string) => `from '${entries[name]}'`));
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 30_000 });
      assert.equal(stdout, example.output);
    });
  }
});
