// --conftool-v2 / POOLD_CONFTOOL_V2 / `conftool_v2:` in the etcd config file: off by default,
// flags over env over file, 'off' turns it off again, anything else is a usage error naming where.
import t from 'tap';
import { UsageError } from '../../src/model/errors.js';
import { describeEtcdOptions, resolveEtcdOptions } from '../../src/store/connection.js';

t.test('off unless configured; flag > env > file; off overrides', async (t) => {
  t.equal(resolveEtcdOptions({}, {}).conftoolV2, undefined, 'default: v3 only, no bridge');
  t.equal(resolveEtcdOptions({}, {}, 'conftool_v2: v3\n').conftoolV2, 'v3');
  t.equal(resolveEtcdOptions({}, { POOLD_CONFTOOL_V2: 'v2' }, 'conftool_v2: v3\n').conftoolV2, 'v2');
  t.equal(resolveEtcdOptions({ conftoolV2: 'off' }, { POOLD_CONFTOOL_V2: 'v2' }).conftoolV2, undefined, '--conftool-v2 off wins');
  t.match(describeEtcdOptions(resolveEtcdOptions({ conftoolV2: 'v2' }, {})), /conftool-v2=v2-wins/);
});

t.test('a bad value is a usage error naming where it came from', async (t) => {
  t.throws(() => resolveEtcdOptions({}, { POOLD_CONFTOOL_V2: 'yes' }), UsageError);
  t.throws(() => resolveEtcdOptions({}, { POOLD_CONFTOOL_V2: 'yes' }), /environment: conftool v2 setting "yes" is not one of v2, v3, off/);
  t.throws(() => resolveEtcdOptions({ etcdConfig: '/etc/poold/etcd.yaml' }, {}, 'conftool_v2: both\n'), /\/etc\/poold\/etcd.yaml: conftool v2 setting "both"/);
});
