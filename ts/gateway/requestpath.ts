/** The path of a request's URL; undefined when it cannot be read (e.g. `//[`, which `new URL` throws on). */
export function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://gateway').pathname;
  } catch {
    return undefined;
  }
}
