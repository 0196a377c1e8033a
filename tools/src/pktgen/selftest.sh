#!/usr/bin/env bash
# pktgen self-test: pktgen against udpwire, a loopback stand-in for a guest
# (tools/src/pktgen/udpwire.c), no QEMU needed. Checks that a clean wire passes,
# that drops, reorders, corruption, duplicates and MAC rewrites are counted
# exactly as the wire reports doing them, that --write produces a pcap tshark
# reads without complaint, the IMIX mix, ARP answers, replay, --mix,
# --duration, listen mode and usage errors. Ends with pktgen's loopback rate
# (a figure, not a test).
#
# Every process it starts has a timeout; all traffic stays on 127.0.0.1.
# Prints "ok"/"FAIL" per check and "selftest: N passed, N failed"; exits 1
# on any failure.
set -uo pipefail
cd "$(dirname "$0")/../../.."

BIN=build/tools
PKTGEN=$BIN/pktgen
WIRE=$BIN/udpwire
TMP=$(mktemp -d /tmp/pktgen-selftest.XXXXXX)
WIRE_PID=
passed=0
failed=0

cleanup() {
  [ -n "$WIRE_PID" ] && kill "$WIRE_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

make -s tools || { echo "selftest: build failed"; exit 1; }
command -v tshark >/dev/null || { echo "selftest: tshark missing (apt-get install -y tshark)"; exit 1; }

# Six free UDP ports on 127.0.0.1: HOST/GUEST for NICs 0, 1 and 2.
read -r H0 G0 H1 G1 H2 G2 < <(python3 -c '
import socket
ss = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
P0="0=$H0:$G0"; P1="1=$H1:$G1"; P2="2=$H2:$G2"

# --- helpers -----------------------------------------------------------------

# start_wire ARGS...: udpwire with NICs 0..2 and ARGS (links, impairments).
start_wire() {
  "$WIRE" --nic "$P0" --nic "$P1" --nic "$P2" --timeout 120 "$@" >"$TMP/wire" 2>&1 &
  WIRE_PID=$!
  for _ in $(seq 100); do
    grep -q ready "$TMP/wire" && return 0
    sleep 0.05
  done
  echo "selftest: udpwire did not start: $(cat "$TMP/wire")"; exit 1
}

# stop_wire: ends udpwire; its counters are then in $TMP/wire.
stop_wire() {
  kill -TERM "$WIRE_PID"; wait "$WIRE_PID" 2>/dev/null; WIRE_PID=
}

# pg ARGS...: runs pktgen (stdout to $TMP/out, stderr to $TMP/err); rc in $RC.
pg() {
  timeout 60 "$PKTGEN" --quiet "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
}

# val PREFIX KEY [FILE]: the value after KEY on the line starting with PREFIX.
val() {
  awk -v p="$1" -v k="$2" 'index($0, p) == 1 {
    for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' "${3:-$TMP/out}"
}
wire() { val "udpwire: received" "$1" "$TMP/wire"; }

# check WHAT CMD...: counts a check; on failure shows pktgen's output.
check() {
  local what=$1; shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok   $what"
  else
    failed=$((failed + 1)); echo "FAIL $what"
    sed 's/^/     | /' "$TMP/out" "$TMP/err"
  fi
}
eq() { [ "$1" = "$2" ] || { echo "     expected '$2', got '$1'"; return 1; }; }
all() { local c; for c in "$@"; do eval "$c" || return 1; done; }

tshark_count() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }
ws_bad() {   # frames tshark flags as malformed or with a bad IPv4/UDP checksum
  tshark -r "$1" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
    -Y '_ws.malformed || _ws.expert.severity >= warning || ip.checksum.status == "Bad" || udp.checksum.status == "Bad"' \
    2>/dev/null | wc -l
}

# write_pcap FILE HEX...: a microsecond pcap (DLT_EN10MB) holding the frames.
write_pcap() {
  python3 - "$@" <<'EOF'
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, h in enumerate(sys.argv[2:]):
        b = bytes.fromhex(h)
        f.write(struct.pack("<IIII", 1700000000, i, len(b), len(b)) + b)
EOF
}

# --- usage errors ------------------------------------------------------------

pg; check "no arguments is a usage error" eq "$RC" 2
pg --help; check "--help exits 0" all '[ $RC -eq 0 ]' 'grep -q -- --stream "$TMP/out"'
pg --port "$P0,mac=02:00:00:00:00:zz" --stream 0=0
check "bad MAC is a usage error" all '[ $RC -eq 2 ]' 'grep -q "bad MAC" "$TMP/err"'
pg --port "$P0" --bogus
check "unknown option is a usage error" all '[ $RC -eq 2 ]' 'grep -q "unknown option" "$TMP/err"'
pg --port "$P0" --stream 0=1
check "stream to an undefined port is a usage error" all '[ $RC -eq 2 ]' 'grep -q "port 1 is not defined" "$TMP/err"'
pg --port "$P0" --stream 0=0 --size 59
check "size below 60 is a usage error" eq "$RC" 2
pg --port "$P0" --stream 0=0 --expect-all --expect-none
check "--expect-all with --expect-none is a usage error" eq "$RC" 2

# --- clean wire: l2fwd both ways, IMIX, pcap ----------------------------------

start_wire --link 0=1 --link 1=0
pg --port "$P0" --port "$P1" --stream 0=1 --stream 1=0 --count 12000 --size imix --flows 16 \
   --rate 40000 --expect-all --write "$TMP/clean.pcap"
stop_wire
check "clean l2fwd both ways: PASS, exit 0" all '[ $RC -eq 0 ]' 'grep -q "^result: PASS" "$TMP/out"'
check "clean l2fwd: every frame counted once" all \
  'eq "$(val "stream 0->1:" received)" 12000' 'eq "$(val "stream 1->0:" received)" 12000' \
  'eq "$(val "stream 0->1:" lost)" 0' 'eq "$(val "port 0:" sock_drops)" 0' 'eq "$(val "port 0:" peer_drops)" 0' 'eq "$(wire forwarded)" 24000'
check "pcap: tshark reads all 24000 frames" eq "$(tshark_count "$TMP/clean.pcap" frame)" 24000
check "pcap: no malformed frames, no bad checksums" eq "$(ws_bad "$TMP/clean.pcap")" 0
check "pcap: IMIX is 7:4:1 of 60/590/1514" all \
  'eq "$(tshark_count "$TMP/clean.pcap" "frame.len == 60")" 14000' \
  'eq "$(tshark_count "$TMP/clean.pcap" "frame.len == 590")" 8000' \
  'eq "$(tshark_count "$TMP/clean.pcap" "frame.len == 1514")" 2000'
check "pcap: default MACs 02:00:00:00:00:RX" \
  eq "$(tshark_count "$TMP/clean.pcap" "eth.dst == 02:00:00:00:00:01 && eth.src == 02:00:00:00:00:00")" 12000

start_wire --link 0=0
pg --port "$P0" --stream 0=0 --count 5000 --rate 50000 --size 1514 --expect-all
stop_wire
check "reflect 0=0 at 1514 bytes: PASS" all '[ $RC -eq 0 ]' 'eq "$(val "stream 0->0:" received)" 5000'

# --- impairments: pktgen must count exactly what the wire did -------------------

start_wire --link 0=1 --drop-every 100
pg --port "$P0" --port "$P1" --stream 0=1 --count 10000 --rate 50000 --wait-ms 300 --expect-all
stop_wire
check "drop every 100th: FAIL, exit 1, lost = dropped" all '[ $RC -eq 1 ]' \
  'grep -q "^result: FAIL (stream 0->1 lost 100)" "$TMP/out"' \
  'eq "$(val "stream 0->1:" lost)" "$(wire dropped)"' 'eq "$(val "stream 0->1:" received)" 9900'

start_wire --link 0=1 --reorder-every 50
pg --port "$P0" --port "$P1" --stream 0=1 --count 10000 --rate 50000 --expect-all
stop_wire
check "reorder every 50th: FAIL, reordered = wire's, nothing lost" all '[ $RC -eq 1 ]' \
  'eq "$(val "stream 0->1:" reordered)" "$(wire reordered)"' '[ "$(wire reordered)" -ge 190 ]' \
  'eq "$(val "stream 0->1:" lost)" 0'

for size in 60 1514; do
  start_wire --link 0=1 --corrupt-every 100
  pg --port "$P0" --port "$P1" --stream 0=1 --count 10000 --rate 50000 --size $size --wait-ms 300 --expect-all
  stop_wire
  check "corrupt every 100th ($size bytes): corrupt 100, lost 100" all '[ $RC -eq 1 ]' \
    'eq "$(val "stream 0->1:" corrupt)" "$(wire corrupted)"' 'eq "$(val "stream 0->1:" corrupt)" 100' \
    'eq "$(val "stream 0->1:" lost)" 100' 'eq "$(val "stream 0->1:" foreign)" 0'
done

start_wire --link 0=1 --dup-every 100
pg --port "$P0" --port "$P1" --stream 0=1 --count 10000 --rate 50000 --expect-all
stop_wire
check "duplicate every 100th: duplicate 100, FAIL" all '[ $RC -eq 1 ]' \
  'eq "$(val "stream 0->1:" duplicate)" 100' 'eq "$(val "stream 0->1:" received)" 10000'

# --- MAC rewrite checks ----------------------------------------------------------

start_wire --link 0=1 --smac 52:54:00:12:34:11 --dmac 02:00:00:00:00:01
pg --port "$P0" --port "$P1" --stream 0=1 --count 2000 --rate 50000 --dst-mac 52:54:00:12:34:10 \
   --expect-smac 1=52:54:00:12:34:11 --expect-dmac 1=02:00:00:00:00:01 --expect-all
stop_wire
check "MAC rewrite as expected: PASS" all '[ $RC -eq 0 ]' 'eq "$(val "stream 0->1:" mac_mismatch)" 0'

start_wire --link 0=1
pg --port "$P0" --port "$P1" --stream 0=1 --count 2000 --rate 50000 \
   --expect-smac 1=52:54:00:12:34:11 --expect-all
stop_wire
check "MAC not rewritten: mac_mismatch = count, FAIL" all '[ $RC -eq 1 ]' \
  'eq "$(val "stream 0->1:" mac_mismatch)" 2000' 'grep -q "mac_mismatch 2000)" "$TMP/out"'

start_wire --link 0=1
pg --port "$P0" --port "$P1" --stream 0=1 --count 1000 --rate 50000 --ttl 17 --expect-ttl 1=17 --expect-all
rc_ttl=$RC
pg --port "$P0" --port "$P1" --stream 0=1 --count 1000 --rate 50000 --ttl 17 --expect-ttl 1=16 --expect-all
stop_wire
check "--expect-ttl: TTL as sent passes, a missing decrement fails" all 'eq "$rc_ttl" 0' '[ $RC -eq 1 ]' \
  'eq "$(val "stream 0->1:" ttl_mismatch)" 1000'

# --- --expect-none / --expect-count --------------------------------------------

start_wire --link 0=1 --drop-all
pg --port "$P0" --port "$P1" --stream 0=1 --count 1000 --rate 50000 --wait-ms 300 --expect-none
stop_wire
check "--expect-none on a dropping wire: PASS" all '[ $RC -eq 0 ]' 'grep -q "^result: PASS" "$TMP/out"'

start_wire --link 0=1
pg --port "$P0" --port "$P1" --stream 0=1 --count 1000 --rate 50000 --wait-ms 300 --expect-none
stop_wire
check "--expect-none on a clean wire: FAIL" all '[ $RC -eq 1 ]' 'grep -q "1000 test frames arrived on port 1" "$TMP/out"'

start_wire --link 0=1 --drop-every 10
pg --port "$P0" --port "$P1" --stream 0=1 --count 1000 --rate 50000 --wait-ms 300 --expect-count 900
rc_900=$RC
pg --port "$P0" --port "$P1" --stream 0=1 --count 1000 --rate 50000 --wait-ms 300 --expect-count 1000
stop_wire
check "--expect-count: 900 of 1000 through drop-every-10 passes, 1000 fails" all \
  'eq "$rc_900" 0' '[ $RC -eq 1 ]' 'grep -q "received 900 test frames, expected 1000" "$TMP/out"'

# --- flows, size ranges, nanosecond pcap ----------------------------------------

start_wire --link 0=1
pg --port "$P0" --port "$P1" --stream 0=1 --count 40000 --flows 20000 --size 64-200 --rate 80000 \
   --expect-all --write "$TMP/flows.pcap" --pcap-nano
stop_wire
check "20000 flows, sizes 64-200: PASS" eq "$RC" 0
check "flows: 16384 source ports, 2 source addresses" all \
  'eq "$(tshark -r "$TMP/flows.pcap" -T fields -e udp.srcport 2>/dev/null | sort -u | wc -l)" 16384' \
  'eq "$(tshark -r "$TMP/flows.pcap" -T fields -e ip.src 2>/dev/null | sort -u | tr "\n" " ")" "10.0.0.2 10.0.0.3 "'
check "sizes stay within 64-200 and vary" all \
  'eq "$(tshark_count "$TMP/flows.pcap" "frame.len < 64 || frame.len > 200")" 0' \
  '[ "$(tshark -r "$TMP/flows.pcap" -T fields -e frame.len 2>/dev/null | sort -u | wc -l)" -eq 137 ]'
check "nanosecond pcap: no malformed frames" eq "$(ws_bad "$TMP/flows.pcap")" 0

# --- ARP answers, replay, foreign frames ------------------------------------------

# An ARP request from 52:54:00:12:34:10 (10.0.0.1) for 10.0.1.2, and one UDP
# frame that is not pktgen's. Replayed on port 0, the wire carries them to
# port 1 (ip=10.0.1.2), whose ARP reply the wire carries back to port 0.
arp_req=ffffffffffff.525400123410.0806.0001.0800.06.04.0001.525400123410.0a000001.000000000000.0a000102
arp_req=${arp_req//./}$(printf '0%.0s' $(seq 36))
udp_other=02000000000152540012341008004500002600004000401125c50a0000010a000102
udp_other=${udp_other}04d2162e0012000068656c6c6f21000000000000000000000000
write_pcap "$TMP/replay.pcap" "$arp_req" "$udp_other"
start_wire --link 0=1 --link 1=0
pg --port "$P0" --port "$P1,ip=10.0.1.2,mac=02:00:00:00:01:01" --replay "$TMP/replay.pcap" --tx-port 0 \
   --rate 1000 --wait-ms 300 --write "$TMP/arp.pcap"
stop_wire
check "replay sends both frames as they are" all '[ $RC -eq 0 ]' \
  'grep -q "^replay: sent 2 of 2 frames" "$TMP/out"'
check "ARP request for ip= answered once, other frame foreign" all \
  'eq "$(val "port 1:" arp_replied)" 1' 'eq "$(val "port 1:" foreign)" 1' 'eq "$(val "port 0:" foreign)" 1'
check "pcap holds the ARP reply from 10.0.1.2 at 02:00:00:00:01:01" eq \
  "$(tshark_count "$TMP/arp.pcap" "arp.opcode == 2 && arp.src.proto_ipv4 == 10.0.1.2 && arp.src.hw_mac == 02:00:00:00:01:01 && arp.dst.proto_ipv4 == 10.0.0.1")" 1

# --- --mix: foreign frames interleaved with a checked stream --------------------

# Three frames cycled on port 0, one after every 7th stream frame: 1000 / 7 =
# 142 mix frames, 48 of the first, 47 of each other. The wire carries them to
# port 1, where they are foreign; the stream is still checked frame by frame.
udp_third=${udp_other%"68656c6c6f21000000000000000000000000"}776f726c6421000000000000000000000000
write_pcap "$TMP/mix.pcap" "$udp_other" "$arp_req" "$udp_third"
start_wire --link 0=1
pg --port "$P0" --port "$P1" --stream 0=1 --count 1000 --rate 20000 --mix "0=$TMP/mix.pcap" \
   --mix-every 7 --expect-all --write "$TMP/mix-rx.pcap"
stop_wire
check "--mix every 7th: stream PASS, 142 mix frames on port 0, foreign on port 1" all \
  '[ $RC -eq 0 ]' 'grep -q "^mix 0: port 0 sent 142 tx_errors 0 frames 3 from" "$TMP/out"' \
  'eq "$(val "port 0:" tx)" 1142' 'eq "$(val "port 1:" foreign)" 142' \
  'eq "$(val "stream 0->1:" received)" 1000' 'eq "$(val "total:" lost)" 0'
check "--mix cycles the file: 48, 47, 47" all \
  'eq "$(tshark_count "$TMP/mix-rx.pcap" "udp.srcport == 1234 && frame contains \"hello\"")" 48' \
  'eq "$(tshark_count "$TMP/mix-rx.pcap" "arp")" 47' \
  'eq "$(tshark_count "$TMP/mix-rx.pcap" "udp.srcport == 1234 && frame contains \"world\"")" 47'
pg --port "$P0" --mix "0=$TMP/mix.pcap"
check "--mix without --stream is a usage error" all '[ $RC -eq 2 ]' 'grep -q "at least one --stream" "$TMP/err"'
pg --port "$P0" --stream 0=0 --mix "1=$TMP/mix.pcap"
check "--mix on an undefined port is a usage error" all '[ $RC -eq 2 ]' 'grep -q "port 1 is not defined" "$TMP/err"'
write_pcap "$TMP/empty.pcap"
pg --port "$P0" --stream 0=0 --mix "0=$TMP/empty.pcap"
check "--mix of an empty pcap is a usage error" all '[ $RC -eq 2 ]' 'grep -q "no frames" "$TMP/err"'

# --- --duration ---------------------------------------------------------------------

pg --port "$P0" --stream 0=0 --rate max --duration 1
check "--duration at --rate max without --count is a usage error" all '[ $RC -eq 2 ]' \
  'grep -q "needs --count" "$TMP/err"'
start_wire --link 0=1
pg --port "$P0" --port "$P1" --stream 0=1 --rate 10000 --duration 0.5 --expect-all
check "--duration 0.5 at 10 kpps: about 5000 frames, all arrive, PASS" all '[ $RC -eq 0 ]' \
  '[ "$(val "stream 0->1:" sent)" -ge 4500 ]' '[ "$(val "stream 0->1:" sent)" -le 5001 ]' \
  'eq "$(val "stream 0->1:" lost)" 0'
pg --port "$P0" --port "$P1" --stream 0=1 --rate max --count 100000000 --duration 0.5 --wait-ms 300
stop_wire
check "--duration 0.5 at --rate max: stops near 0.5 s (last send 0.4-0.8 s), far below --count" all '[ $RC -eq 0 ]' \
  'grep -q "^clock: .* duration_ended" "$TMP/out"' \
  '[ "$(val "stream 0->1:" sent)" -gt 1000 ]' '[ "$(val "stream 0->1:" sent)" -lt 100000000 ]' \
  '[ $(( ($(val clock: last_tx_ns) - $(val clock: start_ns)) / 1000000 )) -ge 400 ]' \
  '[ $(( ($(val clock: last_tx_ns) - $(val clock: start_ns)) / 1000000 )) -le 800 ]'

# --- listen mode and timeout --------------------------------------------------------

start_wire --link 0=1
timeout 30 "$PKTGEN" --quiet --port "$P1" --write "$TMP/listen.pcap" >"$TMP/listen" 2>&1 &
listen_pid=$!
sleep 0.3
# The sender expects its stream back on port 0, but the wire takes it to port 1.
pg --port "$P0" --stream 0=0 --count 500 --rate 5000 --wait-ms 100
sleep 0.3
kill -INT $listen_pid; wait $listen_pid; listen_rc=$?
stop_wire
check "listen mode: SIGINT ends it with exit 0, 500 frames captured" all 'eq "$listen_rc" 0' \
  'eq "$(val "port 1:" rx "$TMP/listen")" 500' 'eq "$(tshark_count "$TMP/listen.pcap" frame)" 500'

pg --port "$P0" --stream 0=0 --count 100000 --rate 1000 --timeout 0.5 --expect-all
check "--timeout stops a run that cannot finish: FAIL" all '[ $RC -eq 1 ]' 'grep -q "timeout after 0.5 s" "$TMP/out"'

# --- figures: how fast pktgen alone can go -----------------------------------------

echo "--- loopback rate (figures, not checks) ---"
pg --port "0=$H0:$H0" --stream 0=0 --count 1000000 --rate max --expect-all
echo "pktgen to itself, 60 B, send+receive in one thread: $(val "total:" offered) pps, $(sed -n 's/^result: //p' "$TMP/out")"
start_wire --link 0=1
pg --port "$P0" --port "$P1" --stream 0=1 --count 500000 --rate max
stop_wire
echo "pktgen through udpwire, 60 B, rate max: offered $(val "total:" offered) pps delivered $(val "total:" delivered) pps lost $(val "stream 0->1:" lost)"

echo "selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
