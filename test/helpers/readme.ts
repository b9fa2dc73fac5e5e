/**
 * The README's examples as tests see them: a section by its `## ` title, its fenced blocks, and a
 * block evaluated as a CommonJS module with its imports resolved to given modules.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './dist.js';

export const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The text of the section headed `## <title>`, up to the next `## ` heading. */
export function section(md: string, title: string): string {
  const start = md.indexOf(`\n## ${title}\n`);
  if (start < 0) return '';
  const next = md.indexOf('\n## ', start + 1);
  return md.slice(start, next < 0 ? undefined : next);
}

/** The fenced blocks of @lang in @md, in order. */
export function blocks(md: string, lang: string): string[] {
  return [...md.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1] as string);
}

/**
 * evalBlock() - evaluate @code (a test file) here, its imports resolved to @modules, then @tail
 * (plain JS in the same scope). Return: its module.exports.
 */
export function evalBlock(code: string, modules: Record<string, unknown>, tail = ''): Record<string, unknown> {
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const require = (name: string): unknown => {
    if (!(name in modules)) throw new Error(`the README example imports "${name}", which this test does not provide`);
    return modules[name];
  };
  const module = { exports: {} as Record<string, unknown> };
  new Function('require', 'module', 'exports', `${js}\n${tail}`)(require, module, module.exports);
  return module.exports;
}
