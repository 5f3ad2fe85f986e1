#!/bin/sh
# Bench-only front for the recording ipvsadm stand-in. It stamps the moment an `ipvsadm -R` has
# received its commands (stdin closed) in $STAMP_LOG, then hands everything to the stand-in
# ($FAKE_IPVSADM_BIN), which applies, logs and answers as usual. A shell starts in ~1 ms, like the
# real /sbin/ipvsadm (C) and unlike the Node stand-in (~80-100 ms), so the stamp shows what the
# agent itself costs up to the point where a real ipvsadm would apply.
if [ "$1" = "-R" ]; then
  input=$(cat)
  echo "$(date +%s%N)" >> "$STAMP_LOG"
  printf '%s\n' "$input" | "$FAKE_IPVSADM_BIN" -R
  exit $?
fi
exec "$FAKE_IPVSADM_BIN" "$@"
