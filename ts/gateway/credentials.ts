import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import { assertNonEmptyString, assertOptionsObject, assertPositiveInteger, describeValue } from '../internal/validate.js';
import { scopeProblem } from '../remote/scopes.js';

/** What `addCredentials(name, ...)` grants a client. */
export interface ICredentialsOptions {
  /** The secret the client connects with. Compared in constant time; never logged or sent back. */
  key: string;
  /** What the client may do: `read`, `admin`, `trigger:<pattern>`, `control:<pattern>`, `serve:<pattern>` (see the readme). */
  scopes: string[];
  /** How many connections with these credentials may be open at once. @default unlimited */
  maxConnections?: number;
}

/** A client's credentials as the gateway keeps them: the key only as its digest. */
export interface ICredential {
  readonly name: string;
  readonly scopes: readonly string[];
  readonly maxConnections: number;
  readonly keyDigest: Buffer;
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** The longest key an auth frame may carry (framereader.ts): a longer one could never log in. */
const MAX_KEY_LENGTH = 1024;

// Compared when the name is unknown, so that an unknown name takes as long as a wrong key.
const NO_KEY = digest('\u0000taskbuffer: no such client\u0000');

/** The gateway's clients by name. */
export class CredentialStore {
  private readonly byName = new Map<string, ICredential>();

  /** Checks and stores `options` under `name`, replacing what was there. */
  add(name: string, options: ICredentialsOptions): ICredential {
    const where = `addCredentials(${JSON.stringify(name)})`;
    assertNonEmptyString('addCredentials', 'name', name);
    assertOptionsObject(where, options, ['key', 'scopes', 'maxConnections']);
    if (typeof options.key !== 'string' || options.key.length === 0 || options.key.length > MAX_KEY_LENGTH) {
      // The key itself is never put in a message.
      throw new InvalidOptionError('key', undefined,
        `${where}: expected \`key\` to be a non-empty string of at most ${MAX_KEY_LENGTH} characters (what an auth frame carries), got ${typeof options.key === 'string' ? `${options.key.length} characters` : typeof options.key}`);
    }
    if (!Array.isArray(options.scopes)) {
      throw new InvalidOptionError('scopes', options.scopes, `${where}: expected \`scopes\` to be an array of scopes, got ${describeValue(options.scopes)}`);
    }
    options.scopes.forEach((scope, i) => {
      const problem = scopeProblem(scope);
      if (problem !== undefined) throw new InvalidOptionError(`scopes[${i}]`, scope, `${where}: ${problem}`);
    });
    if (options.maxConnections !== undefined) assertPositiveInteger(where, 'maxConnections', options.maxConnections);
    const credential: ICredential = {
      name,
      scopes: Object.freeze([...options.scopes]),
      maxConnections: options.maxConnections ?? Number.POSITIVE_INFINITY,
      keyDigest: digest(options.key),
    };
    this.byName.set(name, credential);
    return credential;
  }

  remove(name: string): boolean {
    return this.byName.delete(name);
  }

  /** The credentials `name` when `key` is theirs; the comparison takes as long whatever is wrong. */
  verify(name: string, key: string): ICredential | undefined {
    const credential = this.byName.get(name);
    const matches = timingSafeEqual(digest(key), credential?.keyDigest ?? NO_KEY);
    return matches && credential !== undefined ? credential : undefined;
  }

  /** Whether `credential` is still the one stored under its name (not removed or replaced). */
  isCurrent(credential: ICredential): boolean {
    return this.byName.get(credential.name) === credential;
  }
}
