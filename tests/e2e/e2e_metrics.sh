#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# e2e_metrics: mdrd --metrics serves the Prometheus text format; a real
# Prometheus server (Debian's prometheus, run directly with a temporary
# config and storage, in the hypervisor namespace on its loopback) scrapes
# it; PromQL through Prometheus' HTTP API shows a guest's requests as a
# rate on its own instance (and none on an idle guest's), the counts match
# the requests made, and `promtool check metrics` passes on the exposition.
. "$(dirname "$0")/lib.sh"
e2e_init metrics

command -v prometheus >/dev/null || skip_all "needs prometheus (Debian package prometheus)"
command -v promtool >/dev/null || skip_all "needs promtool (Debian package prometheus)"
command -v curl >/dev/null || skip_all "needs curl"

DATA=$E2E_ROOT/tests/data/instances
U1=d8e02d56-2648-415b-b62a-3a1b9ce1d0f8
U2=4b9a6f3e-0c8d-4e55-9f10-2a7b3c4d5e61
# Loopback of the hypervisor namespace (private to this run).
METRICS=127.0.0.1:9464
RSP_METRICS=127.0.0.1:9465
PROM=127.0.0.1:9090
# Requests guest 1 makes, spread over a few scrapes (one per second).
NREQ=40
REQ_GAP_S=0.1
# Seconds Prometheus gets to start and to see a scrape.
PROM_WAIT_S=60

topo_create --mode port --guests 2 || e2e_done
inst_write "$DATA/vm1.json" 1 port
inst_write "$DATA/vm2.json" 2 port
cp "$DEF_DIR/g1.json" "$DEF_DIR/g2.json" "$INST_DIR/"
start_mdrd --metrics "$METRICS" || { dump_logs; e2e_done; }
start_responder --metrics "$RSP_METRICS" || { dump_logs; e2e_done; }
_inst_loaded() { [ "$(map_count mdr_inst)" -ge 2 ]; }
wait_for _inst_loaded

scrape() { in_hv curl -sS -m 5 "$@" "http://$METRICS/metrics"; }
# ---- the exposition itself ----------------------------------------------------
check "guest 1 is served before scraping" in_guest 1 curl -sf -m 5 -o /dev/null $META/openstack/latest/meta_data.json
# vm2 requires IMDSv2 tokens on the EC2 tree: its tokenless GET there is
# answered with 401 (the OpenStack tree's policy is its own, optional)
check_eq "guest 2 is answered before scraping" "$(in_guest 2 curl -s -m 5 -o /dev/null -w '%{http_code}' $META/latest/meta-data/instance-id)" 401
# the responder writes its counters to mdr_rstats once a second
_counted() {
	scrape >"$E2E_TMP/expo.txt" 2>&1 &&
		grep -q "^mdr_responder_requests_total{instance=\"$U1\"" "$E2E_TMP/expo.txt" &&
		grep -q "^mdr_responder_requests_total{instance=\"$U2\"" "$E2E_TMP/expo.txt"
}
wait_for _counted
check "promtool check metrics passes on the exposition" sh -c "promtool check metrics <'$E2E_TMP/expo.txt'"
has() { grep -qxF "$1" "$E2E_TMP/expo.txt"; }
check "global XDP counter with HELP and TYPE" sh -c "grep -qx '# TYPE mdr_xdp_redirected_total counter' '$E2E_TMP/expo.txt' && grep -q '^# HELP mdr_xdp_redirected_total ' '$E2E_TMP/expo.txt'"
check "port tap1 attached in generic mode" has 'mdr_port_xdp_attached{port="tap1",mode="generic"} 1'
check "a responder socket serves tap1 queue 0" has 'mdr_port_queue_socket{port="tap1",queue="0"} 1'
gen1=$(mdrctl instance list -j | "$GUEST_PY" -c "import json,sys; print([i['gen'] for i in json.load(sys.stdin) if i['uuid']=='$U1'][0])")
check "generation of instance 1 with its port (as mdrctl lists it)" has "mdr_instance_generation{instance=\"$U1\",port=\"tap1\"} $gen1"
check "instances gauge" has 'mdr_instances 2'
check "guest 1's request counted on its instance" grep -q "^mdr_responder_responses_total{instance=\"$U1\",port=\"tap1\",code=\"200\",class=\"2xx\"} [1-9]" "$E2E_TMP/expo.txt"
N_XDP_COUNTERS=$(abi_u64_count mdr_xdp_counters)
check "every XDP counter per instance ($N_XDP_COUNTERS)" sh -c "[ \$(grep -c '^mdr_instance_xdp_.*{instance=\"$U1\"' '$E2E_TMP/expo.txt') -eq $N_XDP_COUNTERS ]"
check_eq "other paths: 404" "$(scrape -o /dev/null -w '%{http_code}' | head -c3; in_hv curl -s -o /dev/null -w '%{http_code}' "http://$METRICS/")" "200404"
check_eq "POST: 405" "$(in_hv curl -s -o /dev/null -w '%{http_code}' -X POST "http://$METRICS/metrics")" "405"
in_hv curl -sS -m 5 "http://$RSP_METRICS/metrics" >"$E2E_TMP/rsp-expo.txt" 2>&1
check "responder: promtool check metrics passes" sh -c "promtool check metrics <'$E2E_TMP/rsp-expo.txt'"
check "responder: its sockets gauge" grep -qx 'mdr_responder_sockets 2' "$E2E_TMP/rsp-expo.txt"
check "responder: UMEM fill shortage and reopened sockets exported" sh -c \
	"grep -q '^mdr_responder_kernel_dropped_frames_total{reason=\"fill_empty\"} ' '$E2E_TMP/rsp-expo.txt' &&
	 grep -q '^mdr_responder_reopened_sockets_total ' '$E2E_TMP/rsp-expo.txt'"
check_not "metrics only on the configured address" in_hv curl -s -m 2 -o /dev/null "http://127.0.0.2:9464/metrics"

# ---- a real Prometheus -----------------------------------------------------------
cat >"$E2E_TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mdr
    honor_labels: true   # keep mdr's instance (uuid) label
    static_configs:
      - targets: ['$METRICS']
  - job_name: mdr-responder
    static_configs:
      - targets: ['$RSP_METRICS']
YML
check "promtool check config" promtool check config "$E2E_TMP/prometheus.yml"
mkdir -p "$E2E_TMP/tsdb"
bg prometheus nsenter --net="/run/netns/$HV" prometheus --config.file="$E2E_TMP/prometheus.yml" \
	--storage.tsdb.path="$E2E_TMP/tsdb" --web.listen-address="$PROM" --log.level=warn
PROM_PID=$BG_PID
# query EXPR -> the first result's value ("" when the result is empty)
query() {
	in_hv curl -sS -m 5 -G "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
		"$GUEST_PY" -c 'import json,sys
d=json.load(sys.stdin)
r=d["data"]["result"] if d.get("status")=="success" else []
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
_up() { [ "$(query 'up{job="mdr"}')" = 1 ] && [ "$(query 'up{job="mdr-responder"}')" = 1 ]; }
_series() { [ -n "$(query "mdr_responder_requests_total{instance=\"$U2\"}")" ]; }
if wait_for --timeout "$PROM_WAIT_S" _up && wait_for --timeout 10 _series; then
	ok "Prometheus scrapes mdrd (up == 1)"
else
	not_ok "Prometheus scrapes mdrd (up == 1)" "$(tail -n 20 "$E2E_TMP/prometheus.log")" \
		"$(in_hv curl -sS -m 5 "http://$PROM/api/v1/targets" 2>&1 | head -c 600)"
	e2e_done
fi
before=$(query "mdr_responder_requests_total{instance=\"$U1\"}")
before2=$(query "mdr_responder_requests_total{instance=\"$U2\"}")
ok200="mdr_responder_responses_total{instance=\"$U1\",code=\"200\"}"
before200=$(query "$ok200")
# guest 1 makes NREQ requests over a few seconds
cat >"$E2E_TMP/reqs.sh" <<SH
i=0; fails=0
while [ \$i -lt $NREQ ]; do
	curl -sf -m 5 -o /dev/null $META/openstack/latest/meta_data.json || fails=\$((fails + 1))
	i=\$((i + 1)); sleep $REQ_GAP_S
done
echo \$fails
SH
fails=$(in_guest 1 sh "$E2E_TMP/reqs.sh")
check_eq "guest 1's $NREQ requests all answered" "$fails" 0
_rate_up() {
	r=$(query "rate(mdr_responder_requests_total{instance=\"$U1\"}[10s])")
	[ -n "$r" ] && "$GUEST_PY" -c "import sys; sys.exit(0 if float('$r') > 0 else 1)"
}
if wait_for --timeout 10 _rate_up; then
	ok "PromQL: guest 1's requests appear as a rate ($(query "rate(mdr_responder_requests_total{instance=\"$U1\"}[10s])")/s)"
else
	not_ok "PromQL: guest 1's requests appear as a rate" "$(query "mdr_responder_requests_total{instance=\"$U1\"}")"
fi
want=$(( ${before%.*} + NREQ ))
_count_in() { [ "$(query "mdr_responder_requests_total{instance=\"$U1\"}")" = "$want" ]; }
wait_for --timeout 10 _count_in
check_eq "PromQL: the requests counted are the requests made" \
	"$(query "mdr_responder_requests_total{instance=\"$U1\"}")" "$want"
check_eq "PromQL: 200 responses of guest 1 rose by $NREQ" "$(query "$ok200")" "$(( ${before200%.*} + NREQ ))"
check_eq "PromQL: the idle guest 2 has no request rate" \
	"$(query "rate(mdr_responder_requests_total{instance=\"$U2\"}[10s])")" "0"
check_eq "PromQL: guest 2's count unchanged" "$(query "mdr_responder_requests_total{instance=\"$U2\"}")" "$before2"
check_eq "PromQL: the responder's service time histogram counts guest 1's requests" \
	"$(query "mdr_responder_service_seconds_count >= $NREQ" | sed 's/.*/yes/')" "yes"
q99="histogram_quantile(0.99, rate(mdr_responder_service_seconds_bucket[1m]))"
diag "99th percentile of the service time: $(query "$q99") s"
check_eq "PromQL: the responder's received frames rise" \
	"$(query 'increase(mdr_responder_frames_received_total[1h]) > 0' | sed 's/.*/yes/')" "yes"
check_eq "PromQL: frames redirected on port tap1 rise" \
	"$(query "increase(mdr_instance_xdp_redirected_total{instance=\"$U1\",port=\"tap1\"}[1h]) > 0" | sed 's/.*/yes/')" "yes"
stop_pid "$PROM_PID"
topo_teardown
e2e_done
