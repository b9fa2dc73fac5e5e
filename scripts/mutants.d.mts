/** Types of scripts/mutants.mjs, for the test that keeps the mutants in step with the sources. */
export interface Mutant {
  readonly id: string;
  readonly file: string;
  readonly why: string;
  readonly patches: readonly (readonly [string, string])[];
  readonly tests: readonly string[];
  readonly all?: boolean;
}
export declare const MUTANTS: readonly Mutant[];
/** apply() - @m's patched text of @src; throws when a patch no longer applies. */
export declare function apply(m: Mutant, src: string): string;
