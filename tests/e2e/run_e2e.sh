#!/usr/bin/env bash
# tests/e2e/run_e2e.sh: end-to-end and security tests of bitfusiond, `bitfusion` and the TLS
# transport (owner: tests/e2e/). Starts bitfusiond on 127.0.0.1 (a free port it picks) with a fresh
# PKI in a temporary directory and checks: clients without a certificate, with one from another
# CA, or with an expired one are refused at the handshake (before any session, so before any CUDA
# call), with one clear line on both sides; malformed configuration files give one line naming the
# file and line; `bitfusion run` passes the environment on and exits with the command's status; the
# first log line names the backend; a `bitfusiond pki client` bundle works as it is through
# BITFUSION_CONFIG_DIR; and, once the client library and the session layer are built, a CUDA
# program runs through `bitfusion run` against the local server.
# One line per case (PASS/FAIL/SKIP), then `cases: P passed, F failed, S skipped`; exits non-zero
# when a case failed. Environment: B (build directory, default build), E2E_VERBOSE=1 (keep and
# show the temporary directory).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case "$B" in /*) BD=$B ;; *) BD=$ROOT/$B ;; esac
BITFUSIOND=$BD/sbin/bitfusiond
BITFUSION=$BD/bin/bitfusion
PROBE=$BD/tests/e2e/tls_probe
CLIENT_LIB=$BD/lib/bitfusion/client/libcuda.so.1
# the client library is preloaded ahead of the ASan runtime in sanitizer builds
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}:verify_asan_link_order=0"

passed=0 failed=0 skipped=0
pass() { echo "PASS  $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1: $2"; failed=$((failed + 1)); }
skip() { echo "SKIP  $1: $2"; skipped=$((skipped + 1)); }
summary() { echo "cases: $passed passed, $failed failed, $skipped skipped"; }

for f in "$BITFUSIOND" "$BITFUSION" "$PROBE"; do
    if [ ! -x "$f" ]; then
        echo "run_e2e: $f is missing; build with: make B=$B" >&2
        failed=1; summary; exit 1
    fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/bf-e2e.XXXXXX")
SRV_PID=""
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
    if [ "${E2E_VERBOSE:-0}" = 1 ]; then echo "(kept $T)"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# count_lines FILE: non-empty lines
count_lines() { grep -c . "$1" 2>/dev/null || true; }

# start_server LOG ARGS...: starts bitfusiond, waits for "listening on", sets SRV_PID and PORT
start_server() {
    local log=$1; shift
    "$BITFUSIOND" "$@" >"$log" 2>&1 &
    SRV_PID=$!
    PORT=""
    for _ in $(seq 1 300); do
        PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
        [ -n "$PORT" ] && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

stop_server() {
    [ -n "$SRV_PID" ] || return 0
    kill -TERM "$SRV_PID" 2>/dev/null
    local rc=0
    wait "$SRV_PID" 2>/dev/null || rc=$?
    SRV_PID=""
    return $rc
}

# ---- PKI ----------------------------------------------------------------------------------------
PKI=$T/pki
if "$BITFUSIOND" pki init "$PKI" --server-name gpu1.example.com >"$T/init.out" 2>&1 &&
   [ -f "$PKI/ca.crt" ] && [ -f "$PKI/server.crt" ] && [ -f "$PKI/bitfusiond.yaml" ] &&
   [ "$(stat -c %a "$PKI/ca.key")" = 600 ] && [ "$(stat -c %a "$PKI/server.key")" = 600 ]; then
    pass "pki init makes the CA, the server certificate and bitfusiond.yaml (keys 0600)"
else
    fail "pki init" "$(cat "$T/init.out")"; summary; exit 1
fi
if "$BITFUSIOND" pki init "$PKI" >"$T/init2.out" 2>&1; then
    fail "pki init refuses to overwrite a CA" "it succeeded"
elif [ "$(count_lines "$T/init2.out")" = 1 ] && grep -q "already" "$T/init2.out"; then
    pass "pki init refuses to overwrite a CA, in one line"
else
    fail "pki init refuses to overwrite a CA" "$(cat "$T/init2.out")"
fi

bundle() { # NAME PKI OUT ARGS...
    local name=$1 pki=$2 out=$3; shift 3
    "$BITFUSIOND" pki client "$name" --pki "$pki" --out "$out" "$@" >"$T/bundle.$name.out" 2>&1
}
"$BITFUSIOND" pki init "$T/otherpki" >/dev/null 2>&1
if bundle alice "$PKI" "$T/alice" --server 127.0.0.1:1 && bundle mallory "$T/otherpki" "$T/mallory" &&
   bundle old "$PKI" "$T/old" --not-after-days -1 && [ -f "$T/alice/client.yaml" ] &&
   [ -f "$T/alice/servers.conf" ] && [ -f "$T/alice/tls/ca.crt" ] && [ -f "$T/alice/tls/client.crt" ] &&
   [ "$(stat -c %a "$T/alice/tls/client.key")" = 600 ]; then
    pass "pki client makes bundles (client.yaml, servers.conf, tls/ with the key 0600)"
else
    fail "pki client" "$(cat "$T"/bundle.*.out)"
fi

# ---- server ---------------------------------------------------------------------------------------
LOG=$T/server.log
if start_server "$LOG" --config "$PKI/bitfusiond.yaml" --listen 127.0.0.1:0 --backend emu; then
    pass "bitfusiond serves with the configuration pki init wrote (port $PORT)"
else
    fail "bitfusiond starts" "$(cat "$LOG")"; summary; exit 1
fi
if head -n 1 "$LOG" | grep -q "backend: emu (software GPU"; then
    pass "the first log line names the backend"
else
    fail "the first log line names the backend" "$(head -n 1 "$LOG")"
fi
# the bundle's servers.conf pointed at port 1: now point it at the server
printf 'servers:\n  - addresses: [127.0.0.1:%s]\n' "$PORT" >"$T/alice/servers.conf"
printf 'servers:\n  - addresses:\n      - 127.0.0.1:%s\n' "$PORT" >"$T/mallory/servers.conf"
printf 'servers:\n  - addresses: [localhost:%s]\n' "$PORT" >"$T/old/servers.conf"

probe() { # NAME ARGS... : runs tls_probe, stdout+stderr to $T/probe.NAME
    local name=$1; shift
    timeout 20 "$PROBE" "$@" >"$T/probe.$name" 2>&1
}

if probe good connect 127.0.0.1 "$PORT" "$T/alice/tls/ca.crt" "$T/alice/tls/client.crt" "$T/alice/tls/client.key" &&
   grep -q "ok peer=bitfusiond" "$T/probe.good"; then
    pass "a client with a certificate from the cluster CA is accepted"
else
    fail "a good client is accepted" "$(cat "$T/probe.good")"
fi
if BITFUSION_CONFIG_DIR=$T/alice probe config config && grep -q "ok peer" "$T/probe.config"; then
    pass "a pki client bundle works as it is through BITFUSION_CONFIG_DIR"
else
    fail "bundle through BITFUSION_CONFIG_DIR" "$(cat "$T/probe.config")"
fi

# refused: CASE-NAME, client's expected text, server's expected text, CN, probe args...
refused() {
    local name=$1 ctext=$2 stext=$3 cn=$4; shift 4
    local before after
    before=$(grep -c "refused" "$LOG")
    if probe "$name" "$@"; then
        fail "$name" "the client was accepted: $(cat "$T/probe.$name")"; return
    fi
    for _ in $(seq 1 50); do
        after=$(grep -c "refused" "$LOG")
        [ "$after" -gt "$before" ] && break
        sleep 0.1
    done
    local sline cl
    sline=$(grep "refused" "$LOG" | tail -n 1)
    cl=$(count_lines "$T/probe.$name")
    if [ "$after" -ne $((before + 1)) ]; then
        fail "$name" "the server logged $((after - before)) refusal lines: $(tail -n 3 "$LOG")"
    elif ! grep -q "$ctext" "$T/probe.$name" || [ "$cl" != 1 ]; then
        fail "$name" "client said ($cl lines): $(cat "$T/probe.$name")"
    elif ! echo "$sline" | grep -q "$stext"; then
        fail "$name" "server said: $sline"
    elif [ -n "$cn" ] && grep -q "session start: client=$cn" "$LOG"; then
        fail "$name" "a session started for $cn"
    else
        pass "$name: refused before any session; client: '$(cut -c1-90 "$T/probe.$name")...'; server: '${sline#*refused }'"
    fi
}
refused "no client certificate" "requires a client certificate" "client sent no certificate" "" \
    connect 127.0.0.1 "$PORT" "$T/alice/tls/ca.crt" - -
refused "certificate from another CA" "server refused our certificate" "(CN=mallory) is not signed by this cluster's CA" mallory \
    connect 127.0.0.1 "$PORT" "$T/alice/tls/ca.crt" "$T/mallory/tls/client.crt" "$T/mallory/tls/client.key"
refused "expired certificate" "certificate expired.*CN=old" "client certificate expired on .* (CN=old)" old \
    connect localhost "$PORT" "$T/old/tls/ca.crt" "$T/old/tls/client.crt" "$T/old/tls/client.key"
refused "client trusting another CA" "server certificate (CN=bitfusiond) is not signed by our CA" \
    "client refused this server's certificate" mallory \
    connect 127.0.0.1 "$PORT" "$T/mallory/tls/ca.crt" "$T/mallory/tls/client.crt" "$T/mallory/tls/client.key"

if command -v openssl >/dev/null 2>&1; then
    before=$(grep -c "client sent no certificate" "$LOG")
    sleep 2 | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$PKI/ca.crt" >"$T/sclient.out" 2>&1
    sleep 0.3
    if [ "$(grep -c "client sent no certificate" "$LOG")" -gt "$before" ] &&
       grep -qi "alert certificate required" "$T/sclient.out"; then
        pass "openssl s_client without a certificate gets 'certificate required'"
    else
        fail "openssl s_client without a certificate" "$(grep -i alert "$T/sclient.out" | head -n 2)"
    fi
    echo | timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$PORT" -CAfile "$PKI/ca.crt" \
        -cert "$T/alice/tls/client.crt" -key "$T/alice/tls/client.key" >"$T/tls12.out" 2>&1
    sleep 0.3
    if grep -q "does not speak TLS 1.3" "$LOG"; then
        pass "TLS 1.2 is refused"
    else
        fail "TLS 1.2 is refused" "$(tail -n 2 "$LOG")"
    fi
else
    skip "openssl s_client cases" "no openssl command"
fi

if probe echo echo "$PKI/ca.crt" "$PKI/server.crt" "$PKI/server.key" \
        "$T/alice/tls/ca.crt" "$T/alice/tls/client.crt" "$T/alice/tls/client.key"; then
    pass "one reader and one writer thread share a connection (32 MiB both ways); close wakes a reader"
else
    fail "concurrent reader and writer" "$(cat "$T/probe.echo")"
fi

# ---- configuration errors ---------------------------------------------------------------------------
# bad_config CASE FILE-CONTENT EXPECTED-TEXT COMMAND...: the command fails with one line naming FILE:LINE
bad_config() {
    local name=$1 expect=$2; shift 2
    local out=$T/bad.out
    if "$@" >"$out" 2>&1; then
        fail "$name" "it succeeded"
    elif [ "$(count_lines "$out")" != 1 ] || ! grep -q "$expect" "$out"; then
        fail "$name" "$(cat "$out")"
    else
        pass "$name: $(cat "$out")"
    fi
}
printf 'listen: "*:0"\nbackend: gpu\n' >"$T/bad1.yaml"
bad_config "server config with a bad value" "bad1.yaml:2: backend must be one of" "$BITFUSIOND" --config "$T/bad1.yaml"
printf 'listen: "*:0"\ntls:\n  ca: a\n  cret: b\n' >"$T/bad2.yaml"
bad_config "server config with an unknown key" "bad2.yaml:4: unknown key 'cret'" "$BITFUSIOND" --config "$T/bad2.yaml"
printf 'listen: [1\nbackend: emu\n' >"$T/bad3.yaml"
bad_config "server config that is not YAML" "bad3.yaml:[0-9]*: not valid YAML" "$BITFUSIOND" --config "$T/bad3.yaml"
bad_config "server config that does not exist" "cannot read $T/none.yaml" "$BITFUSIOND" --config "$T/none.yaml"
printf 'backend: emu\n' >"$T/notls.yaml"
bad_config "server config without TLS files" "tls: ca, cert and key are all required" "$BITFUSIOND" --config "$T/notls.yaml"
if [ ! -e /etc/bitfusion/bitfusiond.yaml ]; then
    bad_config "bitfusiond without a configuration says how to make one" "bitfusiond pki init" "$BITFUSIOND"
fi
mkdir -p "$T/badc"
cp -r "$T/alice/tls" "$T/badc/"
printf 'servers:\n  - addresses: [127.0.0.1:%s]\n' "$PORT" >"$T/badc/servers.conf"
printf 'tls:\n  ca: tls/ca.crt\ntimeout: soon\n' >"$T/badc/client.yaml"
BITFUSION_CONFIG_DIR=$T/badc bad_config "client.yaml with a bad value" "client.yaml:3: timeout" \
    "$BITFUSION" run -n 1 -- true
printf 'timeout: 5\n' >"$T/badc/client.yaml"
printf 'servers:\n  - adresses: [a:1]\n' >"$T/badc/servers.conf"
BITFUSION_CONFIG_DIR=$T/badc bad_config "servers.conf with an unknown key" "servers.conf:2: unknown key 'adresses'" \
    "$BITFUSION" run -n 1 -- true
printf 'servers:\n  - addresses: [a:1\n' >"$T/badc/servers.conf"
BITFUSION_CONFIG_DIR=$T/badc bad_config "servers.conf that is not YAML" "servers.conf:[0-9]*: not valid YAML" \
    "$BITFUSION" run -n 1 -- true
printf 'servers:\n  - addresses: [127.0.0.1:%s]\n' "$PORT" >"$T/badc/servers.conf"
rm -f "$T/badc/tls/client.key"
BITFUSION_CONFIG_DIR=$T/badc bad_config "a missing client key says how to make a bundle" \
    "cannot read .*client.key.*bitfusiond pki client" "$BITFUSION" run -n 1 -- true

# ---- bitfusion run ---------------------------------------------------------------------------------
# A private prefix whose client library is a stand-in when the real one is not built, so the
# wrapper's own behaviour is tested either way.
PFX=$T/prefix
mkdir -p "$PFX/bin" "$PFX/lib/bitfusion/client"
cp "$BITFUSION" "$PFX/bin/bitfusion"
# the stand-in is the C library itself: harmless to preload, and not instrumented in sanitizer builds
STANDIN=$(ldd "$(command -v sh)" | awk '/libc\.so/ {print $3; exit}')
cp "$STANDIN" "$PFX/lib/bitfusion/client/libcuda.so.1"
export BITFUSION_CONFIG_DIR=$T/alice
"$PFX/bin/bitfusion" run -n 1 -- sh -c 'exit 7'
rc=$?
[ "$rc" = 7 ] && pass "bitfusion run exits with the command's status" || fail "bitfusion run exit status" "got $rc, not 7"
"$PFX/bin/bitfusion" run -n 1 -- sh -c 'kill -TERM $$'
rc=$?
[ "$rc" = 143 ] && pass "bitfusion run exits 128+N when a signal N kills the command" || fail "bitfusion run signal status" "got $rc"
"$PFX/bin/bitfusion" run -n 1 -- "$T/no-such-command" 2>"$T/run.err"
rc=$?
[ "$rc" = 127 ] && [ "$(count_lines "$T/run.err")" = 1 ] && pass "bitfusion run of a missing command: 127 and one line" ||
    fail "bitfusion run of a missing command" "rc=$rc $(cat "$T/run.err")"
env_out=$("$PFX/bin/bitfusion" run -n 1 --timeout 9 -- sh -c \
    'printf "%s|%s|%s|%s|%s" "$LD_PRELOAD" "$LD_LIBRARY_PATH" "$BITFUSION_SERVER" "$BITFUSION_CONFIG_DIR" "$BITFUSION_LEASE"')
want_re="^$PFX/lib/bitfusion/client/libcuda.so.1\\|$PFX/lib/bitfusion/client${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\\|127.0.0.1:$PORT\\|$(cd "$T/alice" && pwd -P)\\|[0-9a-f]{32}@127.0.0.1:$PORT\$"
echo "$env_out" | grep -Eq "$want_re" && pass "bitfusion run sets LD_PRELOAD, LD_LIBRARY_PATH, BITFUSION_SERVER, BITFUSION_CONFIG_DIR, BITFUSION_LEASE" ||
    fail "bitfusion run environment" "got '$env_out' want /$want_re/"
"$PFX/bin/bitfusion" run -n 2 --timeout 1 -- true 2>"$T/run.err"
rc=$?
[ "$rc" = 1 ] && [ "$(count_lines "$T/run.err")" = 1 ] && grep -q "2 GPUs" "$T/run.err" &&
    pass "bitfusion run -n 2 on a one-GPU server fails at once in one line" ||
    fail "bitfusion run -n 2" "rc=$rc $(cat "$T/run.err")"
# the command gets SIGTERM sent to bitfusion
"$PFX/bin/bitfusion" run -n 1 -- sh -c 'trap "exit 42" TERM; sleep 30 & wait' &
RUNPID=$!
sleep 0.5
kill -TERM $RUNPID
wait $RUNPID
rc=$?
[ "$rc" = 42 ] && pass "bitfusion run forwards SIGTERM to the command" || fail "SIGTERM forwarding" "got $rc"
unset BITFUSION_CONFIG_DIR

# ---- a CUDA program through bitfusion run ---------------------------------------------------------
if [ -f "$CLIENT_LIB" ] && [ -x "$BD/demo/demo" ] && [ -f "$BD/demo/demo_kernels.fatbin" ]; then
    before=$(grep -c "session end" "$LOG")
    BITFUSION_CONFIG_DIR=$T/alice timeout 180 "$BITFUSION" run -n 1 -- "$BD/demo/demo" "$BD/demo/demo_kernels.fatbin" \
        >"$T/demo.out" 2>"$T/demo.err"
    rc=$?
    if [ "$rc" = 0 ] && grep -q "demo: OK" "$T/demo.out"; then
        pass "a CUDA driver-API program runs through bitfusion run on the local server"
    else
        fail "CUDA program through bitfusion run" "rc=$rc $(tail -n 5 "$T/demo.out" "$T/demo.err")"
    fi
    for _ in $(seq 1 30); do
        [ "$(grep -c "session end: client=alice calls=" "$LOG")" -gt "$before" ] && break
        sleep 0.1
    done
    if grep -q "session start: client=alice peer=127.0.0.1:[0-9]* lease=[0-9a-f]\{8\}" "$LOG"; then
        pass "the server logs 'session start: client=<CN> peer=<addr> lease=<id>'"
    else
        fail "session start line" "$(cat "$LOG")"
    fi
    if [ "$(grep -c "session end: client=alice calls=" "$LOG")" -gt "$before" ]; then
        pass "the server logs 'session end: client=alice calls=N reason=...'"
    else
        fail "session end line" "$(tail -n 3 "$LOG")"
    fi
    BITFUSION_CONFIG_DIR=$T/old timeout 60 "$BITFUSION" run -n 1 -- "$BD/demo/demo" "$BD/demo/demo_kernels.fatbin" \
        >"$T/demo_old.out" 2>"$T/demo_old.err"
    rc=$?
    if [ "$rc" != 0 ] && grep -q "certificate expired" "$T/demo_old.err" && ! grep -q "session start: client=old" "$LOG"; then
        pass "a CUDA program with an expired certificate fails at cuInit with the reason"
    else
        fail "CUDA program with an expired certificate" "rc=$rc $(cat "$T/demo_old.err" | head -n 3)"
    fi
else
    skip "CUDA program through bitfusion run" "the client library ($CLIENT_LIB) or build/demo is not built yet"
fi

# ---- shutdown --------------------------------------------------------------------------------------
if stop_server && grep -q "stopped" "$LOG"; then
    pass "SIGTERM stops bitfusiond cleanly"
else
    fail "SIGTERM stops bitfusiond" "$(tail -n 3 "$LOG")"
fi
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$LOG"; then
    fail "no sanitizer reports in the server log" "$(grep -m 3 -E "Sanitizer|runtime error" "$LOG")"
fi
[ "${E2E_VERBOSE:-0}" = 1 ] && sed 's/^/    | /' "$LOG"
summary
[ "$failed" -eq 0 ]
