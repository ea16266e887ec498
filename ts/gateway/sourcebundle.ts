import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root: this file is in `ts/gateway/` (sources) or `dist_ts/gateway/` (built), two levels down either way. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The package's public import paths, pointed at the sources (what tsconfig.json's `paths`
 * does for tsc). The built package resolves the same names through its `exports`.
 */
export const SOURCE_ALIASES: Readonly<Record<string, string>> = {
  taskbuffer: path.join(PACKAGE_ROOT, 'ts/index.ts'),
  'taskbuffer/web': path.join(PACKAGE_ROOT, 'ts_web/index.ts'),
  'taskbuffer/client': path.join(PACKAGE_ROOT, 'ts/client/index.ts'),
};

/** What `bundleSources` made: one ESM file, its source map, and what went into it. */
export interface IBrowserBundle {
  /** The bundle (without a sourceMappingURL comment: serve `map` as you like). */
  js: string;
  map: string;
  /** Every file that went into the bundle, relative to the package's root. */
  inputs: string[];
}

/** Options of `bundleSources`. */
export interface IBundleOptions {
  /** @default false */
  minify?: boolean;
}

/** The little of esbuild's API used here: esbuild is a devDependency, so its types are not part of this package's. */
interface IEsbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles: Array<{ path: string; text: string }>; metafile: { inputs: Record<string, unknown> } }>;
}

/**
 * Bundles a browser entry of this package (ESM, one file plus its source map) with
 * esbuild, `taskbuffer`, `taskbuffer/web` and `taskbuffer/client` taken from the sources.
 * For the demo, the browser tests, `npm run build`, and a gateway run from the sources.
 * Rejects when esbuild is not installed (`code` `ERR_MODULE_NOT_FOUND`).
 */
export async function bundleSources(entry: string, options: IBundleOptions = {}): Promise<IBrowserBundle> {
  const esbuild = (await import('esbuild' as string)) as IEsbuild;
  const result = await esbuild.build({
    entryPoints: [path.resolve(PACKAGE_ROOT, entry)],
    absWorkingDir: PACKAGE_ROOT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify === true,
    sourcemap: 'external',
    outfile: 'bundle.js',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [{
      name: 'taskbuffer-sources',
      // Exactly these names: esbuild's `alias` would turn `taskbuffer/web` into `ts/index.ts/web`.
      setup(build: { onResolve(options: { filter: RegExp }, resolve: (args: { path: string }) => { path: string }): void }) {
        build.onResolve({ filter: /^taskbuffer(\/web|\/client)?$/ }, (args) => ({ path: SOURCE_ALIASES[args.path]! }));
      },
    }],
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('.js'))!.text;
  const map = result.outputFiles.find((file) => file.path.endsWith('.js.map'))?.text ?? '';
  return { js, map, inputs: Object.keys(result.metafile.inputs) };
}
