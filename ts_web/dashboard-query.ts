/**
 * The search box's language: free text and qualifiers, all of which must match (AND).
 *
 * - `disk full` or `"disk full"`: text in the task's name or an error message (case-insensitive);
 * - `status:failed`: the task's status;
 * - `label:tenantId` (has the label) or `label:tenantId=acme`;
 * - `group:tenant-import`: a constraint group applies to the task;
 * - `key:acme`: a constraint group gives the task this key.
 *
 * Values with spaces or quotes are quoted (`label:"team=data eng"`), with `\"` and `\\`
 * inside quotes. An unknown qualifier (`http://x`) is free text. Pure functions only: the
 * parser is tested in Node (test/dashboard-query.test.ts), and `formatQuery` gives back a
 * string that parses to the same query, which is what the URL carries.
 */

/** A parsed search. Empty arrays match everything. */
export interface ITaskQuery {
  /** Lower-cased; each must be in the name or an error message. */
  text: string[];
  status: string[];
  /** `value` undefined: the task has the label, whatever its value. */
  labels: Array<{ key: string; value?: string }>;
  groups: string[];
  keys: string[];
}

/** What a query is matched against, for one task. */
export interface IQuerySubject {
  name: string;
  status: string;
  labels: Readonly<Record<string, string>>;
  /** The last error and the errors of the runs kept. */
  errors: readonly string[];
  /** Constraint groups that apply to the task, with the key each gives it (asked for only when the query needs them). */
  memberships(): ReadonlyArray<{ group: string; key: string }>;
}

const QUALIFIERS = ['status', 'label', 'group', 'key'] as const;
type TQualifier = (typeof QUALIFIERS)[number];

/** An empty query (matches every task). */
export function emptyQuery(): ITaskQuery {
  return { text: [], status: [], labels: [], groups: [], keys: [] };
}

/** Whether `query` has no term at all. */
export function isEmptyQuery(query: ITaskQuery): boolean {
  return query.text.length + query.status.length + query.labels.length + query.groups.length + query.keys.length === 0;
}

/** Parses what the user typed. Never throws: anything it cannot read as a qualifier is free text. */
export function parseQuery(input: string): ITaskQuery {
  const query = emptyQuery();
  for (const token of tokenize(input)) {
    const qualifier = token.qualifier;
    if (qualifier === undefined) {
      if (token.value !== '') query.text.push(token.value.toLowerCase());
      continue;
    }
    // `status:` alone is a qualifier still being typed: no filter yet.
    if (token.value === '') continue;
    if (qualifier === 'status') query.status.push(token.value);
    else if (qualifier === 'group') query.groups.push(token.value);
    else if (qualifier === 'key') query.keys.push(token.value);
    else {
      const at = token.value.indexOf('=');
      query.labels.push(at < 0 ? { key: token.value } : { key: token.value.slice(0, at), value: token.value.slice(at + 1) });
    }
  }
  return query;
}

/** The query as text that `parseQuery` reads back to an equal query (qualifiers in a fixed order). */
export function formatQuery(query: ITaskQuery): string {
  const parts: string[] = [];
  for (const text of query.text) parts.push(quoteText(text));
  for (const status of query.status) parts.push(`status:${quoteValue(status)}`);
  for (const label of query.labels) parts.push(`label:${quoteValue(label.value === undefined ? label.key : `${label.key}=${label.value}`)}`);
  for (const group of query.groups) parts.push(`group:${quoteValue(group)}`);
  for (const key of query.keys) parts.push(`key:${quoteValue(key)}`);
  return parts.join(' ');
}

/** Whether the task described by `subject` matches every term of `query`. */
export function matchesQuery(query: ITaskQuery, subject: IQuerySubject): boolean {
  for (const status of query.status) if (subject.status !== status) return false;
  for (const label of query.labels) {
    if (!Object.prototype.hasOwnProperty.call(subject.labels, label.key)) return false;
    if (label.value !== undefined && subject.labels[label.key] !== label.value) return false;
  }
  if (query.text.length > 0) {
    const name = subject.name.toLowerCase();
    const errors = subject.errors.map((error) => error.toLowerCase());
    for (const text of query.text) {
      if (!name.includes(text) && !errors.some((error) => error.includes(text))) return false;
    }
  }
  if (query.groups.length > 0 || query.keys.length > 0) {
    const memberships = subject.memberships();
    for (const group of query.groups) if (!memberships.some((membership) => membership.group === group)) return false;
    for (const key of query.keys) if (!memberships.some((membership) => membership.key === key)) return false;
  }
  return true;
}

interface IToken {
  qualifier?: TQualifier;
  value: string;
}

/** Splits on whitespace outside quotes; `qualifier:` is recognised only at a token's start. */
function tokenize(input: string): IToken[] {
  const tokens: IToken[] = [];
  let index = 0;
  while (index < input.length) {
    while (index < input.length && /\s/.test(input[index]!)) index++;
    if (index >= input.length) break;
    let qualifier: TQualifier | undefined;
    const rest = input.slice(index);
    const match = /^(status|label|group|key):/i.exec(rest);
    if (match !== null) {
      qualifier = match[1]!.toLowerCase() as TQualifier;
      index += match[0].length;
    }
    let value = '';
    while (index < input.length && !/\s/.test(input[index]!)) {
      if (input[index] === '"') {
        index++;
        while (index < input.length && input[index] !== '"') {
          if (input[index] === '\\' && index + 1 < input.length) index++;
          value += input[index]!;
          index++;
        }
        index++; // the closing quote (or the end, when it is missing)
      } else {
        value += input[index]!;
        index++;
      }
    }
    tokens.push(qualifier === undefined ? { value } : { qualifier, value });
  }
  return tokens;
}

/** Quotes a value that would not read back as one token as it is. */
function quoteValue(value: string): string {
  return value === '' || /[\s"\\]/.test(value) ? `"${value.replace(/["\\]/g, (char) => `\\${char}`)}"` : value;
}

/** Free text also needs quotes when it would read as a qualifier. */
function quoteText(text: string): string {
  return /^(status|label|group|key):/i.test(text) ? `"${text.replace(/["\\]/g, (char) => `\\${char}`)}"` : quoteValue(text);
}
