// etcd authentication for security tests: a root user, then users whose role is limited to
// key prefixes (e.g. one pool's conftool keys plus the audit prefix every write appends to).
import type { EtcdInstance } from './etcd.js';

export async function enableAuth(etcd: EtcdInstance, rootPassword = 'root-test-pw'): Promise<void> {
  await etcd.etcdctl(['user', 'add', `root:${rootPassword}`]);
  await etcd.etcdctl(['auth', 'enable']);
  etcd.rootPassword = rootPassword;
}

export interface PrefixGrant {
  prefix: string;
  perm: 'read' | 'write' | 'readwrite';
}

/** Creates `user` with a role of the same name granted exactly `grants` (prefix permissions). */
export async function addPrefixUser(etcd: EtcdInstance, user: string, password: string, grants: PrefixGrant[]): Promise<void> {
  if (etcd.rootPassword === undefined) throw new Error('addPrefixUser: call enableAuth() first');
  const role = `${user}-role`;
  await etcd.etcdctl(['role', 'add', role]);
  for (const g of grants) {
    await etcd.etcdctl(['role', 'grant-permission', role, '--prefix=true', g.perm, g.prefix]);
  }
  await etcd.etcdctl(['user', 'add', `${user}:${password}`]);
  await etcd.etcdctl(['user', 'grant-role', user, role]);
}
