import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

// Importing the driver must not load koffi or any library, so the daemon (and `--help`) start on
// any platform; only loadHcnClient opens them. A module hook in a fresh process fails any
// resolution of koffi, through import or require.
test('importing the HCN driver loads no native code', async (t) => {
  const driver = fileURLToPath(new URL('../../../src/hns/hcn/hcn-client.js', import.meta.url));
  const script = `
    import { registerHooks } from 'node:module';
    registerHooks({ resolve(specifier, context, next) {
      if (specifier === 'koffi') throw new Error('koffi was loaded at import');
      return next(specifier, context);
    } });
    const mod = await import(${JSON.stringify(driver)});
    console.log(typeof mod.loadHcnClient, typeof mod.HcnClient);
    try { mod.loadHcnClient({}); console.log('loaded'); } catch (err) { console.log('refused:', err.message); }
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  const [importLine, loadLine] = stdout.trim().split('\n');
  t.is(importLine, 'function function');
  t.is(loadLine, 'refused: koffi was loaded at import', 'the hook is live: loadHcnClient does reach koffi');
});
