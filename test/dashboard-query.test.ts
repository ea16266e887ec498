/**
 * The dashboard search box's language (ts_web/dashboard-query.ts), in Node: parsing,
 * matching, and that a query survives being written into a URL and read back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatQuery, isEmptyQuery, matchesQuery, parseQuery, type IQuerySubject, type ITaskQuery } from '../ts_web/dashboard-query.js';

function subject(overrides: Partial<IQuerySubject> = {}): IQuerySubject {
  return {
    name: 'sync-acme',
    status: 'failed',
    labels: { tenantId: 'acme', team: 'data eng' },
    errors: ['Upstream timed out after 5000 ms'],
    memberships: () => [{ group: 'tenant-import', key: 'acme' }],
    ...overrides,
  };
}

describe('parseQuery', () => {
  it('reads free text and each qualifier, free text lower-cased', () => {
    assert.deepEqual(parseQuery('Timeout status:failed label:tenantId=acme label:team group:tenant-import key:acme'), {
      text: ['timeout'],
      status: ['failed'],
      labels: [{ key: 'tenantId', value: 'acme' }, { key: 'team' }],
      groups: ['tenant-import'],
      keys: ['acme'],
    });
  });

  it('keeps quoted values with spaces together, and reads \\" inside quotes as a quote', () => {
    assert.deepEqual(parseQuery('"disk full" label:"team=data eng" "say \\"hi\\""'), {
      text: ['disk full', 'say "hi"'],
      status: [],
      labels: [{ key: 'team', value: 'data eng' }],
      groups: [],
      keys: [],
    });
  });

  it('treats unknown qualifiers as free text and ignores a qualifier still being typed', () => {
    const query = parseQuery('http://example.org status: STATUS:running');
    assert.deepEqual(query.text, ['http://example.org']);
    assert.deepEqual(query.status, ['running']);
  });

  it('finds nothing to filter in blank input, and an unclosed quote runs to the end', () => {
    assert.equal(isEmptyQuery(parseQuery('   ')), true);
    assert.deepEqual(parseQuery('"disk fu').text, ['disk fu']);
  });
});

describe('matchesQuery', () => {
  it('matches free text in the name or an error message, case-insensitively', () => {
    assert.equal(matchesQuery(parseQuery('ACME'), subject()), true);
    assert.equal(matchesQuery(parseQuery('timed globex'), subject()), false, 'each word is a term of its own');
    assert.equal(matchesQuery(parseQuery('"timed out"'), subject()), true);
    assert.equal(matchesQuery(parseQuery('globex'), subject()), false);
  });

  it('requires every term to match (AND)', () => {
    assert.equal(matchesQuery(parseQuery('status:failed label:tenantId=acme group:tenant-import key:acme acme'), subject()), true);
    assert.equal(matchesQuery(parseQuery('status:failed label:tenantId=globex'), subject()), false);
    assert.equal(matchesQuery(parseQuery('status:running acme'), subject()), false);
    assert.equal(matchesQuery(parseQuery('label:region'), subject()), false);
    assert.equal(matchesQuery(parseQuery('label:team="data eng"'), subject()), true);
    assert.equal(matchesQuery(parseQuery('group:cert'), subject()), false);
    assert.equal(matchesQuery(parseQuery('key:globex'), subject()), false);
  });

  it('asks for group memberships only when the query has group: or key:', () => {
    let asked = 0;
    const counting = subject({ memberships: () => (asked++, []) });
    matchesQuery(parseQuery('status:failed acme label:tenantId'), counting);
    assert.equal(asked, 0);
    assert.equal(matchesQuery(parseQuery('group:tenant-import'), counting), false);
    assert.equal(asked, 1);
  });

  it('does not take a label named like an Object.prototype member for granted', () => {
    assert.equal(matchesQuery(parseQuery('label:toString'), subject()), false);
  });
});

describe('formatQuery', () => {
  it('writes a canonical string that parses back to the same query', () => {
    const query = parseQuery('key:acme "disk full" status:failed label:team="data eng"');
    assert.equal(formatQuery(query), '"disk full" status:failed label:"team=data eng" key:acme');
    assert.deepEqual(parseQuery(formatQuery(query)), query);
  });

  it('round-trips any query: parse(format(q)) equals q (property)', () => {
    const value = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'B', ' ', '"', '\\', '=', ':', 'é', '\t', '-', 'status:', 'x') });
    const query: fc.Arbitrary<ITaskQuery> = fc.record({
      text: fc.array(value.map((text) => text.toLowerCase()), { maxLength: 3 }),
      status: fc.array(value, { maxLength: 2 }),
      labels: fc.array(
        fc.record({ key: value.filter((key) => !key.includes('=')), value: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }) })
          .map(({ key, value: labelValue }) => (labelValue === undefined ? { key } : { key, value: labelValue })),
        { maxLength: 2 },
      ),
      groups: fc.array(value, { maxLength: 2 }),
      keys: fc.array(value, { maxLength: 2 }),
    }).map((generated) => ({ ...generated })); // fc.record makes null-prototype objects
    fc.assert(fc.property(query, (q) => {
      assert.deepEqual(parseQuery(formatQuery(q)), q);
    }), { numRuns: 2000 });
  });

  it('reads any input without throwing, and its canonical form is stable (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (input) => {
      const once = formatQuery(parseQuery(input));
      assert.equal(formatQuery(parseQuery(once)), once);
    }), { numRuns: 2000 });
  });
});
