#!/usr/bin/env bash
# tests/demo/demo.sh: the README's main job in one command. Makes a throwaway cluster PKI, starts
# a local bitfusiond on the software GPU (127.0.0.1, a free port), makes a client bundle for it,
# and runs a CUDA program (tests/demo/demo.c) through `bitfusion run -p 0.25` (a quarter of the GPU). Stops the server at the end.
set -euo pipefail
B=${B:-build}
BITFUSIOND=$B/sbin/bitfusiond
BITFUSION=$B/bin/bitfusion
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bitfusion-demo.XXXXXX")
srv=""
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

"$BITFUSIOND" pki init "$tmp/pki" >/dev/null
"$BITFUSIOND" --config "$tmp/pki/bitfusiond.yaml" --listen 127.0.0.1:0 --backend emu 2>"$tmp/server.log" &
srv=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$tmp/server.log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$srv" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "demo: bitfusiond did not start listening:" >&2; cat "$tmp/server.log" >&2; exit 1; }
"$BITFUSIOND" pki client demo --pki "$tmp/pki" --out "$tmp/client" --server "127.0.0.1:$port" >/dev/null

echo "bitfusiond (software GPU) listening on 127.0.0.1:$port; running the demo through bitfusion run:"
status=0
BITFUSION_CONFIG_DIR="$tmp/client" "$BITFUSION" run -n 1 -p 0.25 -- "$B/demo/demo" "$B/demo/demo_kernels.fatbin" || status=$?
for _ in $(seq 1 30); do grep -q "session end" "$tmp/server.log" && break; sleep 0.1; done
echo "--- server log ---"
cat "$tmp/server.log"
exit "$status"
