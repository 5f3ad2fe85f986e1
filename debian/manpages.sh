#!/bin/sh
# Generates poold.8 and poolctl.8 with help2man from the compiled program's own --help, so the man
# pages cannot disagree with the flags. poolctl.8 also carries every subcommand's --help (the list
# comes from the program itself). Usage: debian/manpages.sh VERSION OUTDIR   (after tsc)
set -eu
version=$1
out=$2
work=$out/work
mkdir -p "$out" "$work"

# help2man runs a program by path; these call the compiled entry points of this tree.
cat > "$work/poold" <<WRAP
#!/bin/sh
exec node "$PWD/dist/src/daemon/poold.js" "\$@"
WRAP
cat > "$work/poolctl" <<WRAP
#!/bin/sh
exec node "$PWD/dist/src/cli/poolctl.js" "\$@"
WRAP
chmod +x "$work/poold" "$work/poolctl"

# Help text inside a roff no-fill block: escape backslashes, and keep lines starting with . or '
# from being read as requests.
roff_verbatim() {
  printf '.nf\n'
  sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
  printf '.fi\n'
}

{
  printf '[COMMANDS]\n'
  node --input-type=module -e '
    import { buildProgram } from "./dist/src/cli/main.js";
    const walk = (cmd, prefix) => cmd.commands.flatMap((c) => {
      const name = [...prefix, c.name()];
      return c.commands.length > 0 ? walk(c, name) : [name.join(" ")];
    });
    console.log(walk(buildProgram(), []).join("\n"));
  ' | while read -r cmd; do
    printf '.SS "poolctl %s"\n' "$cmd"
    # shellcheck disable=SC2086 # cmd is one or two words
    "$work/poolctl" $cmd --help | roff_verbatim
  done
  cat <<'TEXT'
[EXIT STATUS]
0 done, 1 failed (including: nothing matched), 2 usage, 3 refused by a safety rule (a depool that
would break the depool threshold; \fB\-\-force\fR overrides). With \fB\-\-nagios\fR, the Nagios
plugin codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
[ENVIRONMENT]
.TP
.B POOLD_ETCD, POOLD_ETCD_CA, POOLD_ETCD_CERT, POOLD_ETCD_KEY, POOLD_ETCD_USER, POOLD_ETCD_PASSWORD
etcd endpoints and credentials, when the matching \fB\-\-etcd\fR flag is not given.
.TP
.B POOLD_ETCD_CONFIG
a YAML file with the same settings (e.g. \fI/etc/poold/etcd.yaml\fR).
.TP
.B POOLD_API
poold's API for \fBstatus \-\-watch\fR (default http://127.0.0.1:9090).
.TP
.B POOLD_ICINGA_API_URL, POOLD_ICINGA_API_USER, POOLD_ICINGA_API_PASSWORD, POOLD_ICINGA_API_CA
the Icinga 2 API used by \fB\-\-downtime\fR.
[FILES]
.TP
.I /etc/poold/etcd.yaml
etcd settings shared with poold and the LVS agent.
.TP
.I /etc/default/poold-lvs-agent
flags of the LVS agent service (poold-lvs-agent.service).
[SEE ALSO]
.BR poold (8),
.BR ipvsadm (8)
TEXT
} > "$work/poolctl.h2m"

cat > "$work/poold.h2m" <<'TEXT'
[ENVIRONMENT]
.TP
.B POOLD_ETCD, POOLD_ETCD_CA, POOLD_ETCD_CERT, POOLD_ETCD_KEY, POOLD_ETCD_USER, POOLD_ETCD_PASSWORD
etcd endpoints and credentials, when the matching \fB\-\-etcd\fR flag is not given.
.TP
.B POOLD_ETCD_CONFIG
a YAML file with the same settings; the systemd unit sets it to its credential copy of
\fI/etc/poold/etcd.yaml\fR.
.TP
.B POOLD_LOG_LEVEL
fatal, error, warn, info (default), debug or trace.
.TP
.B POOLD_TCP_TRANSPORT
\fBnet\fR makes plain\-HTTP checks use node:net instead of libuv's TCP handle.
[FILES]
.TP
.I /etc/default/poold
flags of the systemd service (POOLD_OPTS).
.TP
.I /etc/poold/etcd.yaml
etcd settings (endpoints, TLS files, user, password).
.TP
.I /var/lib/poold
the service's working directory.
.TP
.I /usr/share/poold/monitoring/
Prometheus alert rules and a Grafana dashboard for poold's /metrics.
[SEE ALSO]
.BR poolctl (8)
TEXT

help2man --no-info --section=8 --version-string="$version" --include="$work/poold.h2m" \
  --name='LVS pool manager: health checks, depool thresholds and PyBal-compatible state in etcd' \
  --output="$out/poold.8" "$work/poold"
help2man --no-info --section=8 --version-string="$version" --include="$work/poolctl.h2m" \
  --name='operate poold pools in etcd (conftool-compatible)' \
  --output="$out/poolctl.8" "$work/poolctl"
