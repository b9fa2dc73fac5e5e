/** Types of fuzz-gen.mjs, for the vitest test that imports it. */
export interface FuzzEnv {
  Prng: new (seed: number, stream?: string) => { nextInt(n: number): number; nextFloat(): number };
  registry: {
    policies: ReadonlyMap<string, unknown>;
    devices: ReadonlyMap<string, { params: Record<string, { kind: string; values?: readonly string[]; default: unknown }>; ops: readonly string[] }>;
  };
  implementedOps?: ReadonlySet<string>;
}
export interface FuzzRun { policy: string; seed: number; window: number; chooserSeed: number }
export interface FuzzCase { scenario: Record<string, unknown> & { name: string }; run: FuzzRun }
export const GENERATED_OPS: readonly string[];
export function distEnv(): Promise<FuzzEnv & { implementedOps: ReadonlySet<string> }>;
export function generateScenario(seed: number, env: FuzzEnv): FuzzCase;
export function makeChooser(env: FuzzEnv, chooserSeed: number): (point: { candidates: readonly unknown[] }) => number;
export const HOSTILE_NAMES: readonly string[];
export const BAD_INPUT_CLASSES: readonly string[];
export function generateBadInput(seed: number, env: FuzzEnv): { cls: string; input?: unknown; text?: string };
