#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""soakfit.py SOAK.csv MINUTES SUMMARY.txt: judge the soak's samples.

For each series a least-squares line is fitted to the samples after the
warm-up (the first WARMUP_FRACTION of the run: allocators, caches and the
flooder's held connections settle there). The fitted growth over the fit
window (slope x window) must not exceed the series' threshold times
max(1, run hours): "grows without bound" means a trend that would keep
adding more than the threshold each hour. Orphans must be 0 in every
sample. Prints one "ok<TAB>name" / "fail<TAB>name<TAB>why" line per series
(tests/e2e/lib.sh tap_lines) and writes a table to SUMMARY.txt."""
import csv
import sys

WARMUP_FRACTION = 0.25
# Largest fitted growth allowed per hour of run (and over any shorter run).
THRESHOLDS = {
    "mdrd_rss_kb": 2048,     # 2 MiB/h: a leak of 1 KiB per churn round is 720 KiB/h
    "resp_rss_kb": 2048,
    "mdrd_fds": 4,           # fds of sockets come and go with hot-plug
    "resp_fds": 4,           # (one XSK per tap queue)
    "umem_in_use": 512,      # frames (4 KiB): fill rings refill per socket
    "resp_sockets": 2,       # tap5 unplugged / re-created
    "conns_open": 64,        # the flooder holds up to 200, replaced as closed
    "mdr_inst": 16,          # churn: CHURN_EXTRA instances come and go
    "mdr_uuids": 16,
    "mdr_chunk0": 64, "mdr_chunk1": 64, "mdr_chunk2": 64,
    "mdr_chunk3": 64, "mdr_chunk4": 64, "mdr_chunk5": 64,
    "mdr_ports": 2, "mdr_macs": 2, "mdr_limits": 16, "mdr_rl": 16,
    "mdr_passwords": 16, "mdr_istats": 16, "mdr_rstats": 16,
}


def fit(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def main():
    path, minutes, summary = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    # --sanitized: the daemons run under AddressSanitizer, whose quarantine
    # of freed chunks (256 MiB by default) makes RSS climb whatever the
    # code does; LeakSanitizer checks leaks at their exit instead.
    sanitized = "--sanitized" in sys.argv[4:]
    rows = list(csv.DictReader(open(path)))
    out, table = [], []
    if len(rows) < 4:
        print("fail\tsoak: enough samples to fit\tonly %d samples" % len(rows))
        return
    t_end = float(rows[-1]["t_s"])
    fit_rows = [r for r in rows if float(r["t_s"]) >= WARMUP_FRACTION * t_end]
    hours = max(1.0, minutes / 60.0)
    t0, t1 = float(fit_rows[0]["t_s"]), float(fit_rows[-1]["t_s"])
    table.append("%-14s %10s %10s %10s %10s %12s %10s %10s  %s" % (
        "series", "first", "last", "min", "max", "slope/h", "growth", "allowed", "verdict"))
    for name, thr in THRESHOLDS.items():
        pts = [(float(r["t_s"]), num(r[name])) for r in fit_rows if name in r]
        pts = [(x, y) for x, y in pts if y is not None]
        allr = [num(r.get(name, "")) for r in rows]
        allr = [v for v in allr if v is not None]
        if len(pts) < 3:
            out.append("fail\tsoak: %s sampled\t%d usable samples" % (name, len(pts)))
            continue
        slope = fit([p[0] for p in pts], [p[1] for p in pts])  # per second
        growth = slope * (t1 - t0)
        allowed = thr * hours
        good = growth <= allowed
        table.append("%-14s %10g %10g %10g %10g %12.1f %10.1f %10g  %s" % (
            name, allr[0], allr[-1], min(allr), max(allr), slope * 3600, growth, allowed,
            "ok" if good else "GROWS"))
        label = "soak: %s does not grow (fitted %+.1f over %ds after warm-up, allowed %g)" % (
            name, growth, t1 - t0, allowed)
        if sanitized and name.endswith("_rss_kb"):
            out.append("skip\tsoak: %s does not grow\tsanitized build: ASan's quarantine is in "
                       "the RSS (fitted %+.1f); LeakSanitizer checks leaks at exit" % (name, growth))
            continue
        out.append(("ok\t%s" % label) if good else
                   ("fail\t%s\tslope %+.1f/h, first %g last %g max %g" % (
                       label, slope * 3600, allr[0], allr[-1], max(allr))))
    orphan_rows = [r["t_s"] for r in rows if r.get("orphans") not in ("0",)]
    out.append(("ok\tsoak: no orphaned map entry in any of %d samples" % len(rows))
               if not orphan_rows else
               ("fail\tsoak: no orphaned map entry in any of %d samples\torphans (or fsck "
                "failure) at t=%s s" % (len(rows), ",".join(orphan_rows[:10]))))
    last = rows[-1]
    table.append("requests of the judged guests: ok=%s failed=%s; samples %d over %d s, fit from t=%d s"
                 % (last["req_ok"], last["req_failed"], len(rows), t_end, t0))
    with open(summary, "w") as f:
        f.write("\n".join(table) + "\n")
    print("\n".join(out))


main()
