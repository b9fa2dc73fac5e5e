/**
 * docs/scenario-reference.md is generated from the op table (npm run docs): it must equal what the
 * table says now, and `pinsim list --ops` must print the same ops and fields.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { opsListing, scenarioReference } from '../../src/report/reference.js';
import { ownFields, type OpDescriptor } from '../../src/scenario/ops/op.js';
import { OP_TABLE } from '../../src/scenario/ops/table.js';
import { defaultRegistry } from '../../src/scenario/registry.js';
import { MAIN, ROOT, ensureBuilt } from '../helpers/dist.js';

const FILE = join(ROOT, 'docs/scenario-reference.md');
const TABLE: readonly OpDescriptor[] = OP_TABLE;

/** The ops and their fields as `pinsim list --ops` prints them: op → field names. */
function listed(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let op: string[] | undefined;
  for (const line of text.split('\n')) {
    const m = /^ {2}([a-z_]+)\*? {2}/.exec(line);
    const f = /^ {6}([A-Za-z]+)\*? {2}/.exec(line);
    if (m) out.set(m[1] as string, (op = []));
    else if (f && op) op.push(f[1] as string);
  }
  return out;
}

/** The reference's section of op @name (up to the next heading). */
function section(md: string, name: string): string {
  const start = md.indexOf(`\n### ${name}\n`);
  return start < 0 ? '' : md.slice(start, md.indexOf('\n#', start + 1));
}

describe('docs/scenario-reference.md', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('is what the op table generates (run npm run docs after changing an op)', () => {
    expect(readFileSync(FILE, 'utf8')).toBe(scenarioReference(defaultRegistry()));
  });

  it('holds every op and every field of the table, and names no document outside the package', () => {
    const md = readFileSync(FILE, 'utf8');
    for (const d of TABLE) {
      const s = section(md, d.name);
      expect(s, d.name).not.toBe('');
      for (const [f] of ownFields(d)) expect(s, `${d.name}.${f}`).toContain(`\`${f}\``);
      if (!d.exec) expect(s, d.name).toContain('not built yet');
    }
    expect(md).not.toMatch(/DESIGN|kernel-semantics|§/);
  });

  it('pinsim list --ops prints every op with its fields, and the reference matches it', () => {
    const r = spawnSync(process.execPath, [MAIN, 'list', '--ops'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(opsListing(defaultRegistry()).join('\n') + '\n');
    const ops = listed(r.stdout);
    expect([...ops.keys()]).toEqual(TABLE.map((d) => d.name));
    const md = readFileSync(FILE, 'utf8');
    for (const [op, fields] of ops) {
      expect(fields).toEqual(ownFields(TABLE.find((d) => d.name === op) as OpDescriptor).map(([f]) => f));
      for (const f of fields) expect(section(md, op), `${op}.${f}`).toContain(`| \`${f}\``);
    }
  });
});
