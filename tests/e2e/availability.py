#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Availability probe, run inside a guest namespace: GETs URL (with an
IMDSv2 token header when --token is given) back to back, each with a short
timeout, until the file --stop exists; then prints one line:
  requests=N ok=N failed=N longest_gap_ms=G gap_ended_at_s=T
where longest_gap_ms is the longest time between the completions of two
successful requests (or from the start to the first one): how long the
guest went without an answer. Failures are listed on stderr."""
import argparse
import os
import sys
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--url", default="http://169.254.169.254/openstack/latest/meta_data.json")
ap.add_argument("--token", default="")
ap.add_argument("--timeout", type=float, default=0.25)
ap.add_argument("--stop", required=True)
ap.add_argument("--ready", help="file created once the first request succeeded")
a = ap.parse_args()

hdr = {"X-aws-ec2-metadata-token": a.token} if a.token else {}
n = ok = 0
last_ok = start = time.monotonic()
longest = 0.0
gap_end = 0.0
while not os.path.exists(a.stop):
    n += 1
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(a.url, headers=hdr),
                                    timeout=a.timeout) as r:
            r.read()
            good = r.status == 200
    except Exception as e:  # timeouts, resets, HTTP errors
        good = False
        print("fail at %.3f: %s" % (t0 - start, e), file=sys.stderr)
    if good:
        now = time.monotonic()
        if now - last_ok > longest:
            longest, gap_end = now - last_ok, now - start
        last_ok = now
        ok += 1
        if a.ready and ok == 1:
            open(a.ready, "w").close()
    else:
        time.sleep(0.01)  # a refused request returns at once: no busy loop
longest = max(longest, time.monotonic() - last_ok)
print("requests=%d ok=%d failed=%d longest_gap_ms=%d gap_ended_at_s=%.3f"
      % (n, ok, n - ok, longest * 1000, gap_end))
