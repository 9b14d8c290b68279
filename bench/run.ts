/**
 * `npm run bench`: runs every scenario and prints one line per figure (name, value, unit and,
 * where one exists, the bound it is compared with). Figures are counts and ratios where
 * possible, since these machines are noisy. `npm run bench -- vxlan` runs the scenarios whose
 * file name contains "vxlan".
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

export type Report = (name: string, value: number, unit: string, bound?: string) => void;

function format(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'scenarios');
const filter = process.argv[2];
const files = (await readdir(dir)).filter((f) => f.endsWith('.js') && (!filter || f.includes(filter))).sort();
let failed = 0;
for (const file of files) {
  const scenario = file.replace(/\.js$/, '');
  console.log(`# ${scenario}`);
  const report: Report = (name, value, unit, bound) => {
    const line = `${`${scenario}.${name}`.padEnd(57)} ${`${format(value)} ${unit}`.padEnd(21)} ${bound ? `(bound ${bound})` : ''}`;
    console.log(line.trimEnd());
  };
  try {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default: (report: Report) => Promise<void> };
    await mod.default(report);
  } catch (err) {
    failed++;
    console.log(`${scenario}: FAILED: ${(err as Error).stack ?? String(err)}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
