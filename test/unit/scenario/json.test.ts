/**
 * format/json.ts: a scenario's JSON read strictly. What JSON.parse accepts silently (a key given
 * twice, a number beyond a double, nesting of any depth) is an issue with its JSON path, line and
 * column; everything under the limits parses exactly as JSON.parse does.
 */
import { describe, expect, it } from 'vitest';
import { lineColumn, notText, parseJson } from '../../../src/scenario/format/json.js';
import { MAX_DEPTH } from '../../../src/scenario/format/limits.js';

function issue(text: string): { code: string; path: string; message: string } {
  const r = parseJson(text);
  if (r.ok) throw new Error(`expected an issue for ${text.slice(0, 60)}`);
  return r.issue;
}

describe('parseJson', () => {
  it('gives what JSON.parse gives for valid input, nested at the limit included', () => {
    const text = JSON.stringify({ name: 'x', actors: { a: [{ op: 'sleep', duration: '1us', as: 'z\u00e9' }] }, n: [1.5e308, -0, 2 ** 53 - 1], s: 'a"b\\c' });
    expect(parseJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
    const deepest = `${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`;
    expect(parseJson(deepest).ok).toBe(true);
  });

  it('refuses nesting one level beyond the limit, naming the path and the limit', () => {
    const i = issue(`{"a":${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}}`);
    expect(i.code).toBe('too-deep');
    expect(i.path).toBe(`line 1 column ${5 + MAX_DEPTH}`);
    expect(i.message).toBe(`a${'[0]'.repeat(MAX_DEPTH - 1)}: objects and arrays nest more than ${MAX_DEPTH} deep here`);
  });

  it('refuses a duplicate key with both positions and the path of the second', () => {
    const i = issue('{"name":"x",\n "actors":{"app":[1],\n  "app":[2]}}');
    expect(i).toMatchObject({ code: 'duplicate-key', path: 'line 3 column 3' });
    expect(i.message).toBe('actors.app: duplicate key "app" (first at line 2 column 12); JSON would keep only the last');
  });

  it('compares keys after their escapes, and keys that are not identifiers quote in the path', () => {
    expect(issue('{"a.b":1,"a\\u002eb":2}').message).toMatch(/^\["a\.b"\]: duplicate key "a\.b"/);
    expect(parseJson('{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}').ok).toBe(true);
  });

  it('refuses a number beyond a double where it stands, and takes the largest double', () => {
    expect(issue('{"x":[0, 1e309]}')).toMatchObject({ code: 'bad-number', path: 'line 1 column 10', message: expect.stringMatching(/^x\[1\]: number 1e309 is beyond/) });
    expect(issue('{"x":-1e999}').message).toMatch(/^x: number -1e999/);
    expect(parseJson('{"x":1.7976931348623157e308}')).toEqual({ ok: true, value: { x: Number.MAX_VALUE } });
  });

  it('reports a syntax error at its line and column', () => {
    expect(issue('{\n  "a": 1,\n}')).toMatchObject({ code: 'bad-json', path: 'line 3 column 1' });
  });
});

describe('notText and lineColumn', () => {
  it('finds a second byte-order mark and NUL characters', () => {
    expect(notText('\ufeff{}')).toMatch(/second byte-order mark/);
    expect(notText('{\0"')).toMatch(/NUL character at offset 1/);
    expect(notText('{"a":"\\u0000"}')).toBeNull(); // an escaped NUL is JSON text
  });
  it('counts lines and columns from 1', () => {
    expect(lineColumn('ab\ncd\n', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd\n', 4)).toEqual({ line: 2, column: 2 });
  });
});
