// The real topology loads: eqiad's pybal.conf (rendered from the catalog as puppet does), imported with
// conftool-data's node file, goes through the pools/ loader whole.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPybalFile } from '../../src/config/pybal-import.js';
import { loadPoolsFromTexts } from '../../src/config/pools/index.js';
import { renderRealPybalConf, wmfFiles } from '../helpers/wmf-catalog.js';

t.test('eqiad: 116 LVS services, 44 on kubernetes/kubesvc, whose pool has 240 servers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'poold-wmf-sizes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const conf = join(dir, 'eqiad.conf');
  await writeFile(conf, renderRealPybalConf('eqiad'));
  const r = await importPybalFile(conf, { dc: 'eqiad', nodesFile: wmfFiles().nodes('eqiad') });
  const loaded = loadPoolsFromTexts([{ file: 'eqiad.yaml', text: r.yaml }]);
  t.same(loaded.problems, []);
  t.equal(loaded.services.length, 116);
  const kube = loaded.services.filter((s) => s.pool.cluster === 'kubernetes' && s.pool.service === 'kubesvc');
  t.equal(kube.length, 44);
  t.equal(Object.keys(kube[0].servers).length, 240);
  // The loader shares one servers object per pool: 44 services, one list.
  t.ok(kube.every((s) => s.servers === kube[0].servers));
  const pools = new Set(loaded.services.map((s) => `${s.pool.cluster}/${s.pool.service}`));
  t.equal(pools.size, 52);
});
