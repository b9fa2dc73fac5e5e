/**
 * (pinsim-only) Reading a scenario's JSON text strictly. JSON.parse accepts what a scenario must
 * not contain: a key given twice (it silently keeps the last: two `"app"` actors become one), a
 * number beyond the largest double (`1e400` becomes Infinity, then prints as `null`), and nesting
 * of any depth. parseJson() parses with JSON.parse, then walks the text once, without recursion, to
 * find those; each is an issue with its JSON path and its line and column. Text that is not UTF-8
 * JSON at all (a UTF-16 file, a second byte-order mark, binary data) is told at line 1 column 1.
 * Pure: the caller (load.ts) reads the file.
 */
import { pathIndex, pathKey } from './check.js';
import { MAX_DEPTH } from './limits.js';
import type { Issue } from './types.js';

/** What parseJson() found: the value, or one issue (the first problem in the text). */
export type JsonRead = { ok: true; value: unknown } | { ok: false; issue: Issue };

/** lineColumn() - the 1-based line and column of @offset in @text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/**
 * jsonErrorPosition() - 1-based line and column of a JSON.parse error (V8 gives a character offset,
 * or the line and column; "Unexpected end" has neither and is at the end of the text).
 */
export function jsonErrorPosition(message: string, text: string): { line: number; column: number } {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /position (\d+)/.exec(message);
  return lineColumn(text, pos ? Math.min(Number(pos[1]), text.length) : text.length);
}

function at(text: string, offset: number, code: string, path: string, message: string, expected?: string): JsonRead {
  const { line, column } = lineColumn(text, offset);
  const issue: Issue = { code, path: `line ${line} column ${column}`, message: path ? `${path}: ${message}` : message };
  if (expected !== undefined) issue.expected = expected;
  return { ok: false, issue };
}

/**
 * notText() - why @text (decoded from a file's bytes) is not JSON text at all, or null: a second
 * byte-order mark, or a NUL character (UTF-16 without a byte-order mark, or binary data). The
 * caller has already refused bytes that are not UTF-8 and dropped one leading UTF-8 byte-order mark.
 */
export function notText(text: string): string | null {
  if (text.charCodeAt(0) === 0xfeff) return 'a second byte-order mark (U+FEFF) starts the text';
  const nul = text.indexOf('\0');
  if (nul >= 0) return `a NUL character at offset ${nul}: this is UTF-16 or binary data, not UTF-8 JSON text`;
  return null;
}

/** One open object or array of the walk. */
interface Frame { readonly object: boolean; readonly path: string; index: number; key: string; keys: Map<string, number> | null }

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
/** A string's body after its opening quote: up to and including the closing quote. */
const STRING_BODY = /(?:[^"\\]|\\.)*"/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/y;

/**
 * parseJson() - the value of @text, or the first of: a JSON syntax error (`bad-json`), a key given
 * twice in one object (`duplicate-key`), a number beyond the largest double (`bad-number`),
 * nesting deeper than MAX_DEPTH (`too-deep`). Each issue's path is `line L column C`; its message
 * names the JSON path.
 */
export function parseJson(text: string): JsonRead {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const { line, column } = jsonErrorPosition(msg, text);
    return { ok: false, issue: { code: 'bad-json', path: `line ${line} column ${column}`, message: `invalid JSON: ${msg}` } };
  }
  const problem = scan(text);
  return problem ?? { ok: true, value };
}

/** The path of the value that starts next inside @f. */
function childPath(f: Frame | undefined): string {
  if (!f) return '';
  return f.object ? pathKey(f.path, f.key) : pathIndex(f.path, f.index);
}

/** Walk @text (valid JSON) once with an explicit stack; Return: the first problem, or null. */
function scan(text: string): JsonRead | null {
  const stack: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    if (WS.has(c) || c === 0x3a /* : */) { i++; continue; }
    const top = stack[stack.length - 1];
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const path = childPath(top);
      if (stack.length >= MAX_DEPTH) {
        return at(text, i, 'too-deep', path, `objects and arrays nest more than ${MAX_DEPTH} deep here`, `at most ${MAX_DEPTH} levels of nesting (pinsim's limit)`);
      }
      stack.push({ object: c === 0x7b, path, index: 0, key: '', keys: c === 0x7b ? new Map() : null });
      expectKey = c === 0x7b;
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
      i++;
    } else if (c === 0x2c /* , */) {
      if (top?.object) expectKey = true;
      else if (top) top.index++;
      i++;
    } else if (c === 0x22 /* " */) {
      STRING_BODY.lastIndex = i + 1;
      if (!STRING_BODY.test(text)) return null; // cannot happen: JSON.parse accepted the text
      const end = STRING_BODY.lastIndex;
      if (expectKey && top?.keys) {
        const raw = text.slice(i + 1, end - 1);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : raw;
        const first = top.keys.get(key);
        if (first !== undefined) {
          const was = lineColumn(text, first);
          return at(text, i, 'duplicate-key', pathKey(top.path, key),
            `duplicate key ${JSON.stringify(key)} (first at line ${was.line} column ${was.column}); JSON would keep only the last`,
            'each key once in an object');
        }
        top.keys.set(key, i);
        top.key = key;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) return null;
      const literal = text.slice(i, NUMBER.lastIndex);
      if (!Number.isFinite(Number(literal))) {
        return at(text, i, 'bad-number', childPath(top), `number ${literal} is beyond the largest number JSON can carry (about 1.8e308)`,
          'a non-negative integer ≤ 2^53-1, or a unit string like "4K" or "10us"');
      }
      i = NUMBER.lastIndex;
    } else {
      i++; // true, false, null: letters only
    }
  }
  return null;
}
