// lvs-configs/<dc>.conf are generated from pools/. This test fails when they are out of date;
// regenerate with `UPDATE_LVS_CONFIGS=1 npx tap test/config/lvs-configs.test.ts`.
import t from 'tap';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadPoolsOrThrow } from '../../src/config/pools/index.js';
import { defaultPooldUrl, renderPybalForDc } from '../../src/config/pybal-render.js';
import { detectDrift } from '../../src/monitoring/drift.js';
import { renderIcinga2 } from '../../src/monitoring/icinga2.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

t.test('committed lvs-configs/ match pools/ and show no drift', async (t) => {
  const services = await loadPoolsOrThrow(join(root, 'pools'));
  const dcs = [...new Set(services.map((s) => s.dc))].sort();
  t.ok(dcs.length > 0, 'pools/ defines services');
  for (const dc of dcs) {
    const file = join(root, 'lvs-configs', `${dc}.conf`);
    const expected = renderPybalForDc(services, dc, defaultPooldUrl(dc));
    if (process.env.UPDATE_LVS_CONFIGS === '1') {
      await mkdir(join(root, 'lvs-configs'), { recursive: true });
      await writeFile(file, expected);
    }
    const committed = await readFile(file, 'utf8').catch(() => '(missing)');
    t.equal(committed, expected, `lvs-configs/${dc}.conf is up to date (UPDATE_LVS_CONFIGS=1 to regenerate)`);
    const report = detectDrift({
      services,
      dc,
      pybal: { text: committed, file: `lvs-configs/${dc}.conf`, pooldUrl: defaultPooldUrl(dc) },
      icinga: { text: renderIcinga2(services.filter((s) => s.dc === dc), { pooldUrl: defaultPooldUrl(dc) }), file: 'icinga.conf' },
    });
    t.same(report.items, [], `${dc}: regenerated configs agree with pools/`);
  }
});
