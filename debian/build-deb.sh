#!/bin/sh
# Builds poold's binary packages from this checkout without touching it: copies the files git knows
# (tracked, plus new files not ignored) to var/deb/build/poold-VERSION, links the checkout's
# node_modules there for the compiler (debian/rules runs npm ci when there is none), and runs
# dpkg-buildpackage. Leaves var/deb/poold_VERSION_all.deb, var/deb/poold-lvs-agent_VERSION_all.deb
# and the .changes/.buildinfo next to them. POOLD_DEB_OUT=DIR writes elsewhere.
# From a source tree that is not a git checkout, run `dpkg-buildpackage -b -us -uc` in it instead.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
out=${POOLD_DEB_OUT:-$root/var/deb}
build=$out/build
src=$build/poold-$version

rm -rf "$build"
mkdir -p "$src"
# --ignore-failed-read: a tracked file deleted in the work tree is simply not copied.
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$src"
if [ -x "$root/node_modules/.bin/tsc" ]; then ln -s "$root/node_modules" "$src/node_modules"; fi

(cd "$src" && dpkg-buildpackage --build=binary --no-sign)

for f in "$build"/poold_"$version"_all.deb "$build"/poold-lvs-agent_"$version"_all.deb "$build"/poold_"$version"_*.changes "$build"/poold_"$version"_*.buildinfo; do
  mv "$f" "$out/"
done
echo "built: $out/poold_${version}_all.deb $out/poold-lvs-agent_${version}_all.deb"
