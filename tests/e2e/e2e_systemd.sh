#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_systemd: the systemd service protocol, with a stand-in notification
# socket (tests/e2e/sdnotify.py) in place of systemd:
#  - mdrd sends READY=1 only once the program is attached and the maps are
#    loaded (its STATUS= line counts the interfaces and instances), the
#    responder once its sockets are open (STATUS= counts them);
#  - both send WATCHDOG=1 every half WATCHDOG_USEC, also while idle;
#  - STOPPING=1 on SIGTERM;
#  - with stderr on the journal stream (JOURNAL_STREAM) every log line
#    starts with its syslog priority (<3> errors .. <7> debug).
. "$(dirname "$0")/lib.sh"
e2e_init systemd

DATA=$E2E_ROOT/tests/data/instances
# Watchdog of the test (µs): pings every 200 ms are expected.
WD_USEC=400000
# Idle window over which pings are counted, and the fewest expected in it
# (5 are due; one may straddle the window's edges).
IDLE_S=1.2
MIN_PINGS=4

topo_create --mode port --guests 2 || e2e_done
inst_write "$DATA/vm1.json" 1 port
inst_write "$DATA/vm2.json" 2 port
cp "$DEF_DIR/g1.json" "$DEF_DIR/g2.json" "$INST_DIR/"

# notify_listen NAME: a stand-in socket, its log in $E2E_TMP/NAME.notify
notify_listen() {
	bg "notify-$1" "$GUEST_PY" "$E2E_PY/sdnotify.py" "$E2E_TMP/$1.sock" "$E2E_TMP/$1.notify"
	wait_for grep -q LISTENING "$E2E_TMP/$1.notify"
}
notify_listen mdrd
notify_listen responder
# stderr of each daemon goes to its log file: make that the journal stream
for d in mdrd responder; do
	: >"$E2E_TMP/$d-$TOPO.log"
done
export WATCHDOG_USEC=$WD_USEC
export NOTIFY_SOCKET=$E2E_TMP/mdrd.sock JOURNAL_STREAM=$(stat -c '%d:%i' "$E2E_TMP/mdrd-$TOPO.log")
start_mdrd || { dump_logs; e2e_done; }
export NOTIFY_SOCKET=$E2E_TMP/responder.sock JOURNAL_STREAM=$(stat -c '%d:%i' "$E2E_TMP/responder-$TOPO.log")
start_responder || { dump_logs; e2e_done; }
unset NOTIFY_SOCKET JOURNAL_STREAM WATCHDOG_USEC

_ready() { grep -q 'READY=1' "$E2E_TMP/$1.notify"; }
check "mdrd sends READY=1" wait_for _ready mdrd
check "mdr-responder sends READY=1" wait_for _ready responder
rline=$(grep -m1 'READY=1' "$E2E_TMP/mdrd.notify")
diag "mdrd: $rline"
case "$rline" in
*"STATUS=attached to 2 interface(s); 2 instance(s); 2 port and 0 MAC binding(s)") ok "mdrd's READY=1 comes after attaching to both ports and loading both instances" ;;
*) not_ok "mdrd's READY=1 comes after attaching to both ports and loading both instances" "$rline" ;;
esac
rline=$(grep -m1 'READY=1' "$E2E_TMP/responder.notify")
diag "responder: $rline"
case "$rline" in
*"STATUS=2 socket(s) registered on 2 attached interface(s)") ok "the responder's READY=1 comes with its sockets open" ;;
*) not_ok "the responder's READY=1 comes with its sockets open" "$rline" ;;
esac

# watchdog pings while nothing happens
pings() { grep -c 'WATCHDOG=1' "$E2E_TMP/$1.notify"; }
m0=$(pings mdrd) r0=$(pings responder)
sleep "$IDLE_S"
m1=$(pings mdrd) r1=$(pings responder)
check "mdrd pings the watchdog while idle ($((m1 - m0)) in ${IDLE_S}s, want >= $MIN_PINGS)" [ $((m1 - m0)) -ge $MIN_PINGS ]
check "the responder pings the watchdog while idle ($((r1 - r0)) in ${IDLE_S}s)" [ $((r1 - r0)) -ge $MIN_PINGS ]

# log priorities on the journal stream
check "mdrd's info lines carry <6>" grep -q '^<6>mdrd: info: ready$' "$E2E_TMP/mdrd-$TOPO.log"
check "the responder's info lines carry <6>" grep -q '^<6>mdr-responder: info: serving' "$E2E_TMP/responder-$TOPO.log"
check_eq "every line of both logs has a priority prefix" \
	"$(cat "$E2E_TMP/mdrd-$TOPO.log" "$E2E_TMP/responder-$TOPO.log" | grep -cv '^<[3-7]>')" 0
# a warning: an instance file that does not parse
printf '{ not json' >"$INST_DIR/bad.json"
check "a bad definition is logged at priority 3 or 4" wait_for grep -Eq '^<[34]>mdrd: (error|warning): .*bad.json' "$E2E_TMP/mdrd-$TOPO.log"

stop_pid "$RESP_PID"; RESP_PID=""
stop_pid "$MDRD_PID"; MDRD_PID=""
check "mdrd sends STOPPING=1 on SIGTERM" grep -q 'STOPPING=1' "$E2E_TMP/mdrd.notify"
check "the responder sends STOPPING=1 on SIGTERM" grep -q 'STOPPING=1' "$E2E_TMP/responder.notify"
topo_teardown
e2e_done
