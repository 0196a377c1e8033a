#!/usr/bin/env bash
# pktcap self-test: pktcap against fake_image.py, a stand-in for the image's
# control channel and capture port (see its docstring), no QEMU needed.
#
# Checks that the filter pktcap sends is the program libpcap compiles (same
# instructions as `tcpdump -dd`), that the start command names the chosen
# points and snap length, that the pcapng it writes is read by tshark without
# malformed packets or warnings and by tcpdump, with one interface per port
# (named, described from the run file), nanosecond timestamps, directions,
# drop comments and the image's seq as packet id; that seq gaps, the image's
# stop counters and bad datagrams reach the summary; that `-w -` streams into
# `tcpdump -r -` packet by packet; and that each way of stopping (-c,
# SIGINT, --duration, --timeout, a silent, refusing or vanishing image, a
# closed pipe) ends with the documented exit status.
#
# Every process it starts has a timeout; all traffic stays on 127.0.0.1.
# Prints "ok"/"FAIL" per check and "selftest: N passed, N failed"; exits 1
# on any failure.
set -uo pipefail
cd "$(dirname "$0")/../../.."

PKTCAP=build/tools/pktcap
FAKE=tools/src/pktcap/fake_image.py
TMP=$(mktemp -d /tmp/pktcap-selftest.XXXXXX)
FAKE_PID=
passed=0
failed=0

cleanup() {
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

make -s build/tools/pktcap || { echo "selftest: build failed"; exit 1; }
for t in tshark capinfos tcpdump python3; do
  command -v $t >/dev/null || { echo "selftest: $t missing"; exit 1; }
done

# --- helpers -----------------------------------------------------------------

check() {   # check NAME CONDITION...: runs the condition, counts the result
  local name=$1; shift
  if "$@"; then
    echo "ok    $name"; passed=$((passed + 1))
  else
    echo "FAIL  $name"; failed=$((failed + 1))
  fi
}

free_udp_port() {
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_fake [MODE [ARGS...]]: a fresh fake image; sets SOCK, UDP, REC.
start_fake() {
  local mode=${1:-normal}; shift || true
  SOCK=$TMP/com2.sock; UDP=$(free_udp_port); REC=$TMP/record
  rm -f "$REC" "$SOCK"
  python3 "$FAKE" --control "$SOCK" --udp "$UDP" --record "$REC" --mode "$mode" \
    --timeout 30 "$@" >"$TMP/fake" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 100); do
    grep -q ready "$TMP/fake" && return 0
    sleep 0.05
  done
  echo "selftest: fake image did not start: $(cat "$TMP/fake")"; exit 1
}

stop_fake() {
  [ -n "$FAKE_PID" ] || return 0
  timeout 5 tail --pid="$FAKE_PID" -f /dev/null 2>/dev/null || kill "$FAKE_PID" 2>/dev/null
  wait "$FAKE_PID" 2>/dev/null; FAKE_PID=
}

# pc ARGS...: runs pktcap against the fake (stdout $TMP/out, stderr $TMP/err); rc in $RC.
pc() {
  timeout 30 "$PKTCAP" "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?
}

has() { grep -q -- "$2" "$1"; }                     # has FILE REGEX
err_has() { grep -q -- "$1" "$TMP/err"; }
fields() { tshark -r "$1" -T fields -E separator=' ' "${@:2}" 2>/dev/null | tr '\n' '|'; }
clean_pcapng() { [ -z "$(tshark -r "$1" -Y '_ws.malformed || _ws.expert.severity >= warning' 2>&1 | grep -v 'Running as user')" ]; }

# The bpf= of a start command as "code jt jf k" lines (decimal).
decode_hex() {
  sed -n 's/^capture start .*bpf=\([0-9a-fA-F]*\).*/\1/p' "$1" | head -1 | python3 -c '
import sys
h = sys.stdin.read().strip()
assert h and len(h) % 16 == 0, "hex length"
for i in range(0, len(h), 16):
    w = h[i:i + 16]
    print(int(w[0:4], 16), int(w[4:6], 16), int(w[6:8], 16), int(w[8:16], 16))'
}

# What libpcap compiles for EXPR on an EN10MB handle of snaplen 65535, via tcpdump.
python3 -c 'import struct, sys
sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))' >"$TMP/en10mb.pcap"
tcpdump_dd() {
  tcpdump -r "$TMP/en10mb.pcap" -dd "$1" 2>/dev/null | python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"\{ (0x[0-9a-f]+), (\d+), (\d+), (0x[0-9a-f]+) \},", line.strip())
    if m:
        print(int(m[1], 16), m[2], m[3], int(m[4], 16))'
}

same_program() {   # same_program FILE_WITH_START_LINE EXPR
  local a b
  a=$(decode_hex "$1"); b=$(tcpdump_dd "$2")
  [ -n "$a" ] && [ "$a" = "$b" ]
}

# --- the filter ----------------------------------------------------------------

for expr in '' 'udp port 53' 'ip and tcp[tcpflags] & tcp-syn != 0' 'vlan 10 and ip' \
            'ether host 52:54:00:12:34:10 or arp' 'icmp6 or ip6 and tcp'; do
  "$PKTCAP" -d "$expr" >"$TMP/dump" 2>&1
  check "-d: bpf hex for '$expr' is what tcpdump -dd compiles" same_program "$TMP/dump" "$expr"
done

"$PKTCAP" -d 'udp port' >"$TMP/out" 2>"$TMP/err"; RC=$?
check "a filter libpcap cannot compile exits 2 with its message" \
  eval '[ $RC = 2 ] && err_has "syntax error"'
"$PKTCAP" -d -i 3 -i 1 --point drop --point tx -s 128 >"$TMP/dump" 2>&1
check "-i/--point/-s make points=tx3,tx1,drop3,drop1 snap=128" \
  has "$TMP/dump" '^capture start points=tx3,tx1,drop3,drop1 snap=128 bpf=000600000000ffff$'
"$PKTCAP" -d --point any >"$TMP/dump" 2>&1
check "--point any is rx*,tx*,drop*" has "$TMP/dump" '^capture start points=rx\*,tx\*,drop\* snap=65535 '
"$PKTCAP" -d --queue 4 >"$TMP/dump" 2>&1
check "--queue 4 is queue=4 in the start command" has "$TMP/dump" '^capture start points=rx\* snap=65535 queue=4 bpf='

for bad in "-i x" "--point up" "-s 70000" "-c 0" "--duration -1" "--capture-udp 0" "--queue 0" "--bogus"; do
  pc $bad ''
  check "usage error '$bad' exits 2" eval '[ $RC = 2 ]'
done

mkdir -p "$TMP/empty"
(cd "$TMP/empty" && timeout 10 "$OLDPWD/$PKTCAP" 'ip' >/dev/null 2>"$TMP/err"); RC=$?
check "no control socket and no run file: exit 2, says what to pass" \
  eval '[ $RC = 2 ] && err_has "pass --control SOCKET, or --run FILE"'

# --- a capture: pcapng to a file -------------------------------------------------

F=$TMP/cap.pcapng
start_fake
pc --control "$SOCK" --capture-udp "$UDP" -i 0 -i 1 --point any -c 6 --timeout 20 -w "$F" 'ip or arp'
stop_fake
check "capture with -c 6 exits 0" eval '[ $RC = 0 ]'
check "start command names every point of ports 0 and 1" \
  has "$REC" '^capture start points=rx0,rx1,tx0,tx1,drop0,drop1 snap=65535 bpf='
check "the bpf hex sent decodes to libpcap's program for 'ip or arp'" same_program "$REC" 'ip or arp'
check "'capture stop' sent after -c" has "$REC" '^capture stop$'
check "tshark: no malformed packets, no warnings" clean_pcapng "$F"
check "2 interfaces, named port0 and port1" \
  eval 'capinfos "$F" | grep -q "Number of interfaces in file: 2" &&
        [ "$(fields "$F" -e frame.interface_id -e frame.interface_name)" = "0 port0|1 port1|0 port0|1 port1|0 port0|1 port1|" ]'
check "nanosecond timestamps (if_tsresol 9) from ts_ns" \
  eval 'capinfos "$F" | grep -q "Time precision = nanoseconds (9)" &&
        [ "$(fields "$F" -e frame.time_epoch)" = "1700000000.123456789|1700000000.123457790|1700000000.123458791|1700000000.123460793|1700000000.123461794|1700000000.123462795|" ]'
check "directions: rx and drop inbound (1), tx outbound (2)" \
  eval '[ "$(fields "$F" -e frame.packet_flags_direction)" = "0x00000001|0x00000002|0x00000001|0x00000001|0x00000002|0x00000001|" ]'
check "drop comments from net/drop.h's names, unknown reasons by number" \
  eval '[ "$(fields "$F" -e frame.comment)" = "||drop: ttl_expired|||drop: reason 999|" ]'
check "packet id is the image's seq (3 missing)" \
  eval '[ "$(fields "$F" -e frame.packet_id)" = "0|1|2|4|5|6|" ]'
check "caplen/origlen of a snapped copy (54 of 70), padding not taken" \
  eval '[ "$(fields "$F" -e frame.cap_len -e frame.len)" = "50 50|50 50|45 45|54 70|42 42|60 60|" ]'
check "summary: 6 written; the stop reply's captured, queue_drops, filtered, sent, tx_drops" \
  eval 'err_has "packets written: 6 " && err_has "image captured: 8$" && err_has "image queue drops: 2$" &&
        err_has "image filtered: 7$" && err_has "image sent: 7$" && err_has "image tx drops: 1$"'
check "summary: 2 lost in transit (1 seq gap + 1 after the last copy)" \
  err_has "lost in transit: 2 (seq gaps 1 in 1 gap, missing at the end 1)"
check "summary: 3 bad datagrams (magic, length, ethertype)" \
  err_has "bad datagrams: 3 (ethertype 1, magic 1, length 1)"
tcpdump -r "$F" -n >"$TMP/td" 2>/dev/null
check "tcpdump reads the file: 6 packets" eval '[ "$(wc -l <"$TMP/td")" = 6 ]'

# --- the run file ------------------------------------------------------------------

start_fake
cat >"$TMP/run.json" <<EOF
{"control": "$SOCK", "capture_udp": $UDP, "qemu_pid": 4242,
 "ports": [{"index": 1, "model": "virtio-net-pci", "mac": "52:54:00:12:34:11"},
           {"index": 0, "model": "e1000", "mac": "52:54:00:12:34:10", "extra": [1, {"a": null}]},
           {"index": 2, "model": "e1000", "mac": "52:54:00:12:34:1f", "role": "capture"}]}
EOF
pc --run "$TMP/run.json" --point any -s 1000 -c 6 --timeout 20 -w "$F"
stop_fake
check "--run: capture exits 0, snap=1000 sent" eval '[ $RC = 0 ] && has "$REC" " snap=1000 bpf="'
check "--run: one IDB per listed port, model in if_description, snaplen 1000" \
  eval 'capinfos "$F" | grep -q "Number of interfaces in file: 3" &&
        capinfos "$F" | grep -q "Capture length = 1000" &&
        [ "$(fields "$F" -e frame.interface_description | cut -d"|" -f1-2)" = "e1000|virtio-net-pci" ]'
check "--run: tshark clean" clean_pcapng "$F"

start_fake
mkdir -p "$TMP/cwd/build/run"
sed "s/\"capture_udp\": [0-9]*/\"capture_udp\": $UDP/" "$TMP/run.json" >"$TMP/cwd/build/run/current.json"
(cd "$TMP/cwd" && timeout 30 "$OLDPWD/$PKTCAP" -c 3 --timeout 20 -w "$TMP/cwd.pcapng" >/dev/null 2>"$TMP/err"); RC=$?
stop_fake
check "default run file build/run/current.json is used" \
  eval '[ $RC = 0 ] && [ "$(fields "$TMP/cwd.pcapng" -e frame.interface_name)" = "port0|port1|port0|" ]'

echo '{"control": "/x", "ports": [' >"$TMP/bad.json"
pc --run "$TMP/bad.json" ''
check "a broken run file exits 2 and says where" eval '[ $RC = 2 ] && err_has "bad.json: offset"'
echo '{"control": "/x", "capture_udp": null}' >"$TMP/nocap.json"
pc --run "$TMP/nocap.json" ''
check "a run file without capture_udp: exit 2, says so" \
  eval '[ $RC = 2 ] && err_has "no capture UDP port"'

# Ports nobody named: IDBs are written as their first packet arrives.
start_fake
pc --control "$SOCK" --capture-udp "$UDP" --point any -c 6 --timeout 20 -w "$F"
stop_fake
check "unlisted ports get IDBs on first use; tshark clean" \
  eval '[ $RC = 0 ] && clean_pcapng "$F" &&
        [ "$(fields "$F" -e frame.interface_name)" = "port0|port1|port0|port1|port0|port1|" ]'
check "... and tcpdump reads that file" \
  eval '[ "$(tcpdump -r "$F" -n 2>/dev/null | wc -l)" = 6 ]'

# --- streaming ---------------------------------------------------------------------

start_fake
( timeout 30 "$PKTCAP" --control "$SOCK" --capture-udp "$UDP" --point any --duration 3 -w - 2>"$TMP/err" |
  tcpdump -r - -n -l >"$TMP/td" 2>/dev/null ) &
PIPE_PID=$!
sleep 1.5
live=$(wc -l <"$TMP/td")
wait $PIPE_PID; RC=$?
stop_fake
check "-w - | tcpdump -r -: packets shown while capturing (flushed per packet)" eval '[ "$live" = 6 ]'
check "-w - | tcpdump -r -: 6 packets, --duration ends it with exit 0" \
  eval '[ $RC = 0 ] && [ "$(wc -l <"$TMP/td")" = 6 ] && err_has "stopped: --duration reached" &&
        grep -q "10.0.0.2.1000 > 10.0.1.2.2000: UDP, length 8" "$TMP/td"'

start_fake
pc --control "$SOCK" --capture-udp "$UDP" --point any -c 6 --timeout 20
stop_fake
check "without -w: one text line per packet" \
  eval '[ $RC = 0 ] && [ "$(wc -l <"$TMP/out")" = 6 ] && grep -q "port0 drop(ttl_expired) 45/45 seq 2" "$TMP/out" &&
        grep -q "^1700000000.123456789 port0 rx 50/50 seq 0 02:00:00:00:00:01 > 52:54:00:12:34:10 IPv4 10.0.0.2:1000 > 10.0.1.2:2000 udp$" "$TMP/out"'

start_fake
timeout 30 "$PKTCAP" --control "$SOCK" --capture-udp "$UDP" --point any -w - 2>"$TMP/err" | head -c 100 >/dev/null
RC=$?
stop_fake
check "a reader that goes away: stop, 'capture stop' sent, exit 0" \
  eval '[ $RC = 0 ] && err_has "stopped: output closed" && has "$REC" "^capture stop$"'

# --- stopping -------------------------------------------------------------------------

start_fake
timeout 30 "$PKTCAP" --control "$SOCK" --capture-udp "$UDP" --point any -w "$F" >/dev/null 2>"$TMP/err" &
PC_PID=$!
for _ in $(seq 100); do grep -q "capturing" "$TMP/err" && break; sleep 0.05; done
sleep 0.5
kill -INT $PC_PID; wait $PC_PID; RC=$?
stop_fake
check "SIGINT: capture stop, summary, exit 0" \
  eval '[ $RC = 0 ] && err_has "stopped: signal" && err_has "packets written: 6 " && has "$REC" "^capture stop$"'

start_fake hold --hold-s 1.5
pc --control "$SOCK" --capture-udp "$UDP" --point any -c 6 --timeout 20 -w "$F"
stop_fake
check "a stop reply 1.5 s late is still taken" eval '[ $RC = 0 ] && err_has "image captured: 8$"'

start_fake
pc --control "$SOCK" --capture-udp "$UDP" --point any -c 10 --timeout 1.5 -w "$F"
stop_fake
check "--timeout before -c COUNT: exit 1, file still complete" \
  eval '[ $RC = 1 ] && err_has "timeout before -c 10" && [ "$(fields "$F" -e frame.number | tr -cd "|" | wc -c)" = 6 ]'

start_fake
pc --control "$SOCK" --capture-udp "$UDP" --point any --timeout 1.5 -w "$F"
stop_fake
check "--timeout without -c: exit 0" eval '[ $RC = 0 ] && err_has "stopped: --timeout reached"'

start_fake silent
t0=$(date +%s.%N)
pc --control "$SOCK" --capture-udp "$UDP" -w "$F"
t1=$(date +%s.%N)
stop_fake
check "an image that never answers: exit 1 after 5 s" \
  eval '[ $RC = 1 ] && err_has "no reply from the image within 5 s" &&
        python3 -c "import sys; sys.exit(not 4.9 < $t1 - $t0 < 8)"'

start_fake silent
t0=$(date +%s.%N)
pc --control "$SOCK" --capture-udp "$UDP" --reply-timeout 1 -w "$F"
t1=$(date +%s.%N)
stop_fake
check "--reply-timeout 1: gives up after 1 s" \
  eval '[ $RC = 1 ] && err_has "no reply from the image within 1 s" &&
        python3 -c "import sys; sys.exit(not 0.9 < $t1 - $t0 < 3)" && has "$REC" "^capture stop$"'

start_fake stale
pc --control "$SOCK" --capture-udp "$UDP" --point any -c 6 --timeout 20 -w "$F"
stop_fake
check "late replies to an earlier pktcap are skipped" \
  eval '[ $RC = 0 ] && err_has "skipping a stale reply: capture: ok started points=rx0 insns=999" &&
        err_has "packets written: 6 " && err_has "image captured: 8$"'

start_fake refuse
pc --control "$SOCK" --capture-udp "$UDP" -w "$F"
stop_fake
check "an image that refuses: exit 1 with its reason" \
  eval '[ $RC = 1 ] && err_has "refused the capture: capture: error bpf: insn 3"'

start_fake hangup
pc --control "$SOCK" --capture-udp "$UDP" --point any --timeout 20 -w "$F"
stop_fake
check "control channel closed mid-capture: exit 1, copies kept" \
  eval '[ $RC = 1 ] && err_has "stopped: control channel closed" && clean_pcapng "$F"'

start_fake
python3 -c 'import socket, time, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1]))); time.sleep(3)' "$UDP" &
HOG=$!
sleep 0.3
pc --control "$SOCK" --capture-udp "$UDP" -w "$F"
kill $HOG 2>/dev/null; wait $HOG 2>/dev/null
kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=
check "capture UDP port already taken: exit 1" \
  eval '[ $RC = 1 ] && err_has "Address already in use"'

echo "selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]
