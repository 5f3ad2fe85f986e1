// Where etcd options come from: flags > env > config file > default, field by field; bad input named.
import t from 'tap';
import { UsageError } from '../../src/model/errors.js';
import { describeEtcdOptions, resolveEtcdOptions } from '../../src/store/connection.js';

const FILE = `
endpoints: [https://file1:2379, https://file2:2379]
ca: /file/ca.pem
cert: /file/cert.pem
key: /file/key.pem
user: fileuser
password: filepw
`;

t.test('default when nothing is configured', async (t) => {
  t.same(resolveEtcdOptions({}, {}), { endpoints: ['http://127.0.0.1:2379'] });
});

t.test('file alone; env over file; flags over env, per field', async (t) => {
  t.same(resolveEtcdOptions({}, {}, FILE), {
    endpoints: ['https://file1:2379', 'https://file2:2379'], ca: '/file/ca.pem', cert: '/file/cert.pem', key: '/file/key.pem',
    user: 'fileuser', password: 'filepw',
  });
  const env = { POOLD_ETCD: 'https://env1:2379,https://env2:2379', POOLD_ETCD_USER: 'envuser', POOLD_ETCD_PASSWORD: 'envpw', POOLD_ETCD_CA: '/env/ca.pem' };
  t.same(resolveEtcdOptions({}, env, FILE), {
    endpoints: ['https://env1:2379', 'https://env2:2379'], ca: '/env/ca.pem', cert: '/file/cert.pem', key: '/file/key.pem',
    user: 'envuser', password: 'envpw',
  });
  t.same(resolveEtcdOptions({ etcd: 'http://flag:2379', etcdUser: 'flaguser', etcdPassword: 'flagpw', etcdCert: '/f/c', etcdKey: '/f/k' },
    { ...env, POOLD_ETCD_CERT: '/env/cert', POOLD_ETCD_KEY: '/env/key' }, FILE), {
    endpoints: ['http://flag:2379'], ca: '/env/ca.pem', cert: '/f/c', key: '/f/k', user: 'flaguser', password: 'flagpw',
  });
  t.same(resolveEtcdOptions({}, { POOLD_ETCD: '' }, 'hosts: [http://h:1]\nusername: u\n'), { endpoints: ['http://h:1'], user: 'u' },
    'empty env counts as unset; conftool-style names accepted');
});

t.test('bad input is a UsageError that says where and what', async (t) => {
  t.throws(() => resolveEtcdOptions({ etcd: 'etcd1:2379' }, {}), { name: 'UsageError', message: /--etcd flags: etcd endpoint "etcd1:2379" is not an http\(s\) URL/ });
  t.throws(() => resolveEtcdOptions({}, { POOLD_ETCD: ' , ' }), { message: /environment: no etcd endpoint/ });
  t.throws(() => resolveEtcdOptions({ etcdConfig: '/etc/poold/etcd.yaml' }, {}, 'endpoint: [x]'),
    { message: /\/etc\/poold\/etcd.yaml: unknown setting "endpoint"/ });
  t.throws(() => resolveEtcdOptions({}, { POOLD_ETCD_CONFIG: '/e.yaml' }, 'user: [a]'), { message: /\/e.yaml: setting "user" must be a string/ });
  t.throws(() => resolveEtcdOptions({}, {}, 'a: [unclosed'), UsageError);
  t.throws(() => resolveEtcdOptions({}, {}, '- a list'), { message: /expected a mapping/ });
  t.throws(() => resolveEtcdOptions({ etcdCert: '/c' }, {}), { message: /certificate and key go together/ });
  t.throws(() => resolveEtcdOptions({ etcdPassword: 'pw' }, {}), { message: /password was given without a user/ });
});

t.test('the password never shows up in descriptions or errors', async (t) => {
  const o = resolveEtcdOptions({ etcdUser: 'u', etcdPassword: 's3cret-pw' }, {});
  t.equal(describeEtcdOptions(o), 'endpoints=http://127.0.0.1:2379 user=u password=***');
  try {
    resolveEtcdOptions({ etcd: 'bogus', etcdUser: 'u', etcdPassword: 's3cret-pw' }, {});
    t.fail('should throw');
  } catch (err) {
    t.notMatch(String((err as Error).message) + JSON.stringify((err as UsageError).context), /s3cret/);
  }
});
