#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Parsing and reporting for `make bench` (tools/bench.sh).

report.py wrk FILE        parse wrk --latency output:
                          "rps p50_ms p99_ms requests errors" (errors = socket
                          errors + non-2xx/3xx responses)
report.py kv FILE KEY     value of KEY=VALUE in a one-line tool output
report.py table RAW OUT   medians of RAW ("key<TAB>side<TAB>value" lines and
                          "note<TAB>text" lines; "meta<TAB>key<TAB>value"
                          lines name the sizes in labels) -> OUT/report.md, OUT/plot.dat,
                          printed table; sides: ours, nginx, ref (a baseline
                          that is not nginx: the empty program, detached, ...)
"""
import re
import statistics
import sys

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def parse_wrk(text):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    req = re.search(r"(\d+) requests in", text)
    lat = {}
    for pct, val, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        lat[pct] = float(val) * UNIT[unit]
    err = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        err += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        err += int(m.group(1))
    if not rps or not req:
        return None
    return (float(rps.group(1)), lat.get("50", float("nan")), lat.get("99", float("nan")),
            int(req.group(1)), err)


# ---- the table -------------------------------------------------------------
# (section, label, key, unit, baseline side, target kind, target value, fmt)
# target kinds: ge / le compare ours/baseline; zero wants ours == 0 (and
# reports nginx's for comparison); pct_ge wants ours >= value percent.
WRK = [("ka_small", "keep-alive, instance-id"), ("ka_16k", "keep-alive, 16 KiB user-data"),
       ("close_small", "new conn/request, instance-id"),
       ("close_16k", "new conn/request, 16 KiB user-data"),
       ("ka_lone", "one connection (wrk -c1), keep-alive, instance-id")]


def rows(meta):
    r = []
    for cfg, name in WRK:
        sec = "1" if cfg.startswith("ka") else "2"
        tgt = 1.3 if sec == "1" else 2.0
        r.append((sec, name + ": req/s", cfg + "_rps", "req/s", "nginx", "ge", tgt, "%.0f"))
        r.append((sec, name + ": p50", cfg + "_p50_ms", "ms", "nginx", None, None, "%.3f"))
        r.append((sec, name + ": p99", cfg + "_p99_ms", "ms", "nginx", "le", 1.0, "%.3f"))
        r.append((sec, name + ": errors", cfg + "_err", "", "nginx", "zero", 0, "%.0f"))
        r.append((sec, name + ": guest TCP retransmissions", cfg + "_retrans", "", "nginx", None,
                  None, "%.0f"))
        r.append((sec, name + ": client's CPU (wrk and guest 1's kernel, its cgroup), cores",
                  cfg + "_cli_cores", "", "nginx", None, None, "%.2f"))
    r.append(("3", "4 guests, keep-alive, instance-id: total req/s", "multi_ka_rps", "req/s",
              "nginx", "ge", 1.3, "%.0f"))
    r.append(("3", "4 guests, new conn/request, instance-id: total req/s", "multi_close_rps",
              "req/s", "nginx", "ge", 2.0, "%.0f"))
    for cfg, name in WRK:
        r.append(("4", "CPU-s per 1,000 req, " + name, cfg + "_cpu", "CPU-s", "nginx", None, None,
                  "%.4f"))
        r.append(("4", "server's own CPU-s per 1,000 req (its cgroup; softirq it is not "
                  "running in is not in it), " + name, cfg + "_srv_cpu", "CPU-s", "nginx", None,
                  None, "%.4f"))
    r.append(("5", "boot storm, %s guests x cloud-init crawl: time" % meta.get("storm_guests", "64"),
              "storm_s", "s", "nginx", "le", 0.5, "%.2f"))
    r.append(("5", "boot storm: failed requests (attempts)", "storm_failed", "", "nginx", "zero",
              0, "%.0f"))
    g, k = int(meta.get("storm_guests", "64")), int(meta.get("storm_rounds", "8"))
    lab = "long storm, %d guests x %d crawls (%d guest boots)" % (g, k, g * k)
    r.append(("5", lab + ": time", "stormx_s", "s", "nginx", "le", 0.75, "%.2f"))
    r.append(("5", lab + ": one crawl, p50", "stormx_crawl_p50_s", "s", "nginx", None, None,
              "%.3f"))
    r.append(("5", lab + ": one crawl, p99", "stormx_crawl_p99_s", "s", "nginx", "le", 0.5,
              "%.3f"))
    r.append(("5", lab + ": one crawl, max", "stormx_crawl_max_s", "s", "nginx", None, None,
              "%.3f"))
    r.append(("5", lab + ": failed requests (attempts)", "stormx_failed", "", "nginx", "zero", 0,
              "%.0f"))
    r.append(("5", lab + ": guests' TCP retransmissions", "stormx_retrans", "", "nginx", None,
              None, "%.0f"))
    r.append(("5", lab + ": server's own CPU (its cgroup)", "stormx_srv_cpu_s", "CPU-s", "nginx",
              None, None, "%.3f"))
    r.append(("5", lab + ": machine-wide CPU (clients included)", "stormx_cpu_s", "CPU-s",
              "nginx", None, None, "%.2f"))
    for k, name in (("p50_s", "p50"), ("p99_s", "p99"), ("max_s", "max")):
        r.append(("5", "VM boot storm, %s QEMU VMs: QEMU start -> metadata fetched, %s"
                  % (meta.get("vm_storm", "8"), name), "vmstorm_" + k, "s", "nginx", None, None,
                  "%.2f"))
    r.append(("5", "VM boot storm: VMs without their metadata", "vmstorm_failed", "", "nginx",
              "zero", 0, "%.0f"))
    r.append(("6", "%s definitions: load time" % meta.get("scale_n", "1,000"), "load_s", "s",
              "ref", None, None, "%.2f"))
    r.append(("6", "map memory per instance (baseline: unique content bytes)", "mem_per_inst",
              "bytes", "ref", "le", 1.5, "%.0f"))
    r.append(("6", "responder RSS with %s instances" % meta.get("scale_n", "1,000"), "rss_mib",
              "MiB", "ref", None, None, "%.1f"))
    r.append(("6", "%s taps: attach time (recorded by mdrd)" % meta.get("scale_taps", "256"),
              "attach_s", "s", "ref", None, None, "%.2f"))
    r.append(("6", "new tap -> first served request", "firstreq_ms", "ms", "ref", None, None,
              "%.0f"))
    r.append(("7", "XDP pass-through (baseline: empty XDP_PASS)", "pass_ns", "ns/pkt", "ref",
              "le", 1.5, "%.1f"))
    r.append(("7", "XDP pass-through: mdr's program minus the empty one", "pass_delta_ns",
              "ns/pkt", "ref", None, None, "%.1f"))
    r.append(("7", "iperf3 guest->hv, attached as mdrd does (generic on veth) (baseline: detached)",
              "iperf_gbps", "Gbit/s", "ref", "ge", 0.97, "%.2f"))
    r.append(("7", "iperf3 guest->hv, forced --xdp-mode native on veth (baseline: detached)",
              "iperf_native_gbps", "Gbit/s", "ref", None, None, "%.2f"))
    r.append(("7", "iperf3 QEMU VM->hv over a real tap, attached as mdrd does (native) "
              "(baseline: detached)", "iperf_vm_gbps", "Gbit/s", "ref", "ge", 0.97, "%.2f"))
    r.append(("9", "change notification: mdrctl put -> guest's long-poll answer, p50",
              "notify_p50_ms", "ms", "ref", None, None, "%.1f"))
    r.append(("9", "change notification: p99", "notify_p99_ms", "ms", "ref", None, None, "%.1f"))
    r.append(("9", "change notification: mdrctl put alone (start -> exit), p50", "notify_cmd_p50_ms",
              "ms", "ref", None, None, "%.1f"))
    r.append(("9", "change notification: mdrctl put alone, p99", "notify_cmd_p99_ms", "ms", "ref",
              None, None, "%.1f"))
    for f, name in [("base", "no flood"), ("syn", "SYN flood"), ("conn", "connection flood"),
                    ("req", "request flood")]:
        r.append(("8", "victim during %s: success" % name, "flood_%s_ok" % f, "%", "nginx",
                  "pct_ge", 99.0, "%.1f"))
        r.append(("8", "victim during %s: p99" % name, "flood_%s_p99_ms" % f, "ms", "nginx", None,
                  None, "%.1f"))
        r.append(("8", "server CPU during %s (mdr's / nginx's processes, ms per s)" % name,
                  "flood_%s_cpu_ms" % f, "ms/s", "nginx", None, None, "%.1f"))
    # issue 16: a SYN flood costs the responder (almost) nothing: its CPU
    # with one at most 10 % over its CPU with none (victim probe in both).
    r.append(("8", "mdr's CPU during the SYN flood (baseline: mdr's, no flood)", "flood_syn_cpu_ms",
              "ms/s", "ours_noflood", "le", 1.1, "%.1f"))
    return r


SECTIONS = {"1": "1 keep-alive", "2": "2 new connection", "3": "3 several guests",
            "4": "4 CPU cost", "5": "5 boot storm", "6": "6 scale", "7": "7 pass-through",
            "8": "flood fairness", "9": "9 change notification"}


def load(raw):
    vals, notes, meta = {}, [], {}
    with open(raw) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "note" and len(parts) >= 2:
                notes.append(parts[1])
            elif parts[0] == "meta" and len(parts) == 3:
                meta[parts[1]] = parts[2]
            elif len(parts) == 3:
                try:
                    vals.setdefault((parts[0], parts[1]), []).append(float(parts[2]))
                except ValueError:
                    pass
    med = {k: statistics.median(v) for k, v in vals.items()}
    n = {k: len(v) for k, v in vals.items()}
    # baselines that are another row's mdr figure
    if ("flood_base_cpu_ms", "ours") in med:
        med[("flood_syn_cpu_ms", "ours_noflood")] = med[("flood_base_cpu_ms", "ours")]
    return med, n, notes, meta


def judge(kind, tv, ours, base):
    if kind is None:
        return "", ""
    if kind == "zero":
        return "0", ("n/a" if ours is None else "met" if ours == 0 else "missed")
    if kind == "pct_ge":
        return ">= %g %%" % tv, ("n/a" if ours is None else "met" if ours >= tv else "missed")
    word = {"ge": ">=", "le": "<="}[kind]
    txt = "%s %gx" % (word, tv)
    if ours is None or base is None or base == 0:
        return txt, "n/a"
    ratio = ours / base
    ok = ratio >= tv if kind == "ge" else ratio <= tv
    return txt, "met" if ok else "missed"


def table(raw, out):
    med, n, notes, meta = load(raw)
    lines = ["| # | Measurement | mdr | baseline | mdr/baseline | Target | Status |",
             "|---|---|---|---|---|---|---|"]
    plot = []
    for sec, label, key, unit, bside, kind, tv, fmt in rows(meta):
        ours = med.get((key, "ours"))
        base = med.get((key, bside))
        u = (" " + unit) if unit and unit != "%" else unit

        def show(v):
            return "n/a" if v is None else (fmt % v) + u
        bl = show(base)
        if bside == "nginx" and base is not None:
            bl = "nginx " + bl
        elif bside == "ours_noflood" and base is not None:
            bl = "mdr, no flood " + bl
        ratio = "%.2fx" % (ours / base) if ours is not None and base else "n/a"
        if kind == "zero" or kind == "pct_ge":
            ratio = "—"
        txt, status = judge(kind, tv, ours, base)
        reps = max(n.get((key, "ours"), 0), n.get((key, bside), 0))
        lab = label + (" (median of %d)" % reps if reps > 1 else "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            sec, lab, show(ours), bl, ratio, txt or "—", status or "—"))
        if key.endswith("_rps") or key in ("storm_s", "stormx_s") or \
                key.endswith("_p99_ms") and sec in "12":
            plot.append((key, ours, base))
    md = "\n".join(lines) + "\n"
    if notes:
        md += "\n" + "\n".join("- " + x for x in notes) + "\n"
    with open(out + "/report.md", "w") as f:
        f.write(md)
    # plot.dat: three blocks (throughput k req/s, p99 ms, boot storm s)
    def nz(v, scale=1.0):
        return "NaN" if v is None else "%g" % (v * scale)
    labels = {"ka_small_rps": "keep-alive\\nsmall", "ka_16k_rps": "keep-alive\\n16 KiB",
              "close_small_rps": "new conn\\nsmall", "close_16k_rps": "new conn\\n16 KiB",
              "multi_ka_rps": "4 guests\\nkeep-alive", "multi_close_rps": "4 guests\\nnew conn",
              "ka_small_p99_ms": "keep-alive\\nsmall", "ka_16k_p99_ms": "keep-alive\\n16 KiB",
              "close_small_p99_ms": "new conn\\nsmall", "close_16k_p99_ms": "new conn\\n16 KiB",
              "ka_lone_rps": "one conn\\nkeep-alive", "ka_lone_p99_ms": "one conn\\nkeep-alive",
              "storm_s": "%s-guest\\nboot storm" % meta.get("storm_guests", "64"),
              "stormx_s": "long storm\\n%s x %s crawls" % (meta.get("storm_guests", "64"),
                                                       meta.get("storm_rounds", "8"))}
    with open(out + "/plot.dat", "w") as f:
        for block, pred, scale in (("rps", lambda k: k.endswith("_rps"), 1e-3),
                                   ("p99", lambda k: k.endswith("_p99_ms"), 1.0),
                                   ("storm", lambda k: k in ("storm_s", "stormx_s"), 1.0)):
            f.write("# %s\n" % block)
            rows_ = [(k, o, b) for k, o, b in plot if pred(k) and (o is not None or b is not None)]
            for key, o, b in rows_:
                f.write('"%s" %s %s\n' % (labels.get(key, key), nz(o, scale), nz(b, scale)))
            if not rows_:  # gnuplot cannot plot a block without a number
                f.write('"(not measured)" 0 0\n')
            f.write("\n\n")
    sys.stdout.write(md)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "wrk":
        r = parse_wrk(open(sys.argv[2]).read())
        if r is None:
            sys.exit("report.py: no wrk result in %s" % sys.argv[2])
        print("%.1f %.4f %.4f %d %d" % r)
    elif len(sys.argv) == 4 and sys.argv[1] == "kv":
        for tok in open(sys.argv[2]).read().split():
            k, _, v = tok.partition("=")
            if k == sys.argv[3]:
                print(v)
                return
        sys.exit(1)
    elif len(sys.argv) == 4 and sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
