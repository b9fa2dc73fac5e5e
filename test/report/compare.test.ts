/**
 * The compare matrix's pieces: which device configurations are hardware no driver gives, a DMA
 * error the kernel answered with SIGBUS (beyond EOF) punishing nobody, the legend naming only the
 * words shown, the matrix wrapping to its width and the verdicts leaving a row out.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { odp_nic } from '../../src/devices/odp-nic/odp-nic.js';
import { gup_nic } from '../../src/devices/gup-nic/gup-nic.js';
import { cellOf, formatMatrix, legendLines, sigbusDmas, verdicts, type Cell, type MatrixRow } from '../../src/report/compare.js';
import { runValidated } from '../../src/scenario/run/run.js';
import { validateOrThrow } from '../../src/scenario/format/validate.js';

const load = (f: string) => validateOrThrow(JSON.parse(readFileSync(new URL(`../../examples/${f}`, import.meta.url), 'utf8')));
const cell = (short: string, punished: Cell['punished'] = [], met = true): Cell => ({ short, text: short, punished, met });

describe('device configurations no driver gives', () => {
  it('odp-nic: a failed zap that stops all DMA is hypothetical; the driver\'s own behaviour (stale translations) is not', () => {
    const base = { umrFailure: 'none', afterZapFailure: 'stale' };
    expect(odp_nic.hypothetical?.({ ...base, umrFailure: 'completion', afterZapFailure: 'fatal' })).toMatch(/stops all DMA after a failed zap UMR/);
    expect(odp_nic.hypothetical?.({ ...base, umrFailure: 'completion' })).toBeNull();
    expect(odp_nic.hypothetical?.({ ...base, afterZapFailure: 'fatal' })).toBeNull();
    expect(odp_nic.hypothetical?.(base)).toBeNull();
    expect(odp_nic.hypothetical?.({ ...base, umrFailure: 'alloc' })).toBeNull();
    expect(gup_nic.hypothetical).toBeUndefined();
  });
});

describe('cellOf()', () => {
  it('an ODP DMA that faults beyond EOF (SIGBUS) completes with an error that punishes nobody', () => {
    const s = load('thread-2018/05-odp-truncate.json');
    const eof = sigbusDmas();
    const r = runValidated(s, { policy: 'linux-6.12', trace: eof.listener });
    expect([...eof.wrs]).toEqual(['w2']);
    expect(cellOf(s, r, true, eof.wrs)).toMatchObject({ short: 'beyond-EOF', punished: [] });
    // Without the trace's word for it, the same error would count against the RDMA user.
    expect(cellOf(s, r, true)).toMatchObject({ short: 'access-error', punished: ['the RDMA user'] });
  });

  it('an IOMMU fault is not the kernel\'s SIGBUS: the backstop\'s access-error still punishes the RDMA user', () => {
    const s = load('thread-2018/13-iommu-backstop.json');
    const eof = sigbusDmas();
    const r = runValidated(s, { policy: 'iommu-backstop', trace: eof.listener });
    expect(eof.wrs.size).toBe(0);
    expect(cellOf(s, r, true, eof.wrs)).toMatchObject({ short: 'access-error', punished: ['the RDMA user'] });
  });
});

describe('formatMatrix(), legendLines(), verdicts()', () => {
  const policies = ['linux-4.20', 'linux-6.12', 'block-truncate', 'lease-break-dummy', 'revoke'];
  const rows: MatrixRow[] = [
    { scenario: 'a-rather-long-scenario-name-here', cells: Object.fromEntries(policies.map((p) => [p, cell('lost-write', ['the data'])])) },
    { scenario: 'hypothetical', leftOut: 'nic0 does what no driver does', cells: Object.fromEntries(policies.map((p) => [p, cell('device-error+', ['the RDMA user'], false)])) },
  ];

  it('keeps one line per scenario when it fits, and wraps each scenario under its name when it does not', () => {
    const wide = formatMatrix(policies, rows, 200).split('\n');
    expect(wide[0]).toMatch(/^scenario +linux-4\.20 +linux-6\.12 +block-truncate +lease-break-dummy +revoke$/);
    expect(wide).toHaveLength(4);
    const narrow = formatMatrix(policies, rows, 60).split('\n');
    for (const l of narrow) expect([...l].length).toBeLessThanOrEqual(60);
    expect(narrow).toContain('a-rather-long-scenario-name-here');
    // The kernels on one line, the proposals on the next (each fits in 60 columns).
    expect(narrow[1]).toMatch(/^ {2}linux-4\.20 +linux-6\.12$/);
    expect(narrow[2]).toMatch(/^ {2}block-truncate +lease-break-dummy +revoke$/);
    expect(narrow.some((l) => /^ {2}device-error\+! +device-error\+!$/.test(l))).toBe(true);
  });

  it('explains only the words shown, and the marks used', () => {
    expect(legendLines(policies, rows).map(([k]) => k)).toEqual(['lost-write', 'device-error', '+', '!']);
  });

  it('counts only the scenarios not left out', () => {
    const v = verdicts(policies, rows);
    expect(v['revoke']).toMatchObject({ punished: { 'the data': 1 }, sentence: 'punishes the data (1 of 1)', short: 'the data 1' });
  });
});
