#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The hostile-guest table of e2e_security.sh (issue 12), run on the host.

hostile_table.py snap --rss-kb N < `mdrctl stats -j UUID`
    One JSON line: the instance's XDP and responder counters, the
    responder's RSS (KiB) and the time.
hostile_table.py row TABLE --attack A --before F --after F --victim F
                 [--sent TEXT] [--memo TEXT] [--note TEXT] [--isolation yes|no]
    Appends one row (a JSON line) to TABLE: what the attacker achieved
    between the two snapshots (packets that reached the responder, frames
    and bytes it sent back, connections opened / held at the end /
    refused, RSS delta) and the victim probe's figures (sec_http.py seq
    output: sent, failed, p99). Prints the row.
hostile_table.py print TABLE --quiet F
    The table in Markdown, with the quiet p99 (victim probe without an
    attack) next to each row's.
"""
import argparse
import json
import sys
import time

COLS = ["Attack", "Attacker sent", "Reached the responder (XDP passed / dropped)",
        "Responder to attacker: frames / bytes", "Conns opened / held / refused",
        "Responder RSS delta", "Memo entries", "Victim OK", "Victim p99 ms (quiet)",
        "Isolation held", "Notes"]


def kv(path):
    """sec_http.py seq output: first line k=v pairs."""
    with open(path) as f:
        line = f.readline()
    return dict(p.split("=", 1) for p in line.split() if "=" in p)


def cmd_snap(a):
    d = json.load(sys.stdin)
    print(json.dumps({"xdp": d.get("xdp", {}), "responder": d.get("responder", {}),
                      "rss_kb": a.rss_kb, "t": time.monotonic()}))
    return 0


def delta(b, a, sec, field):
    return int(a[sec].get(field, 0)) - int(b[sec].get(field, 0))


def human(n):
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def cmd_row(a):
    b = json.load(open(a.before))
    f = json.load(open(a.after))
    v = kv(a.victim)
    r = f["responder"]
    held = int(r.get("conns_opened", 0)) - int(r.get("conns_closed", 0))
    passed = delta(b, f, "xdp", "redirected")
    dropped = delta(b, f, "xdp", "rate_limited") + delta(b, f, "xdp", "spoofed")
    row = {
        "attack": a.attack,
        "sent": a.sent or "",
        "reached": f"{passed:,} / {dropped:,}",
        "out": f"{delta(b, f, 'responder', 'frames_sent'):,} / {human(delta(b, f, 'responder', 'bytes_sent'))}",
        "conns": f"{delta(b, f, 'responder', 'conns_opened'):,} / {held} / "
                 f"{delta(b, f, 'responder', 'conns_refused'):,}",
        "rss": ("+" if f["rss_kb"] >= b["rss_kb"] else "") + human((f["rss_kb"] - b["rss_kb"]) * 1024),
        "memo": a.memo or "-",
        "victim_sent": int(v.get("sent", 0)),
        "victim_failed": int(v.get("failed", -1)),
        "p99": float(v.get("p99_ms", "nan")),
        "isolation": a.isolation,
        "note": a.note or "",
    }
    with open(a.table, "a") as t:
        t.write(json.dumps(row) + "\n")
    print(json.dumps(row))
    return 0


def cmd_print(a):
    q = float(kv(a.quiet).get("p99_ms", "nan"))
    print("| " + " | ".join(COLS) + " |")
    print("|" + "---|" * len(COLS))
    for line in open(a.table):
        r = json.loads(line)
        ok = r["victim_sent"] - r["victim_failed"] if r["victim_failed"] >= 0 else 0
        pct = 100.0 * ok / r["victim_sent"] if r["victim_sent"] else 0.0
        cells = [r["attack"], r["sent"], r["reached"], r["out"], r["conns"], r["rss"], r["memo"],
                 f"{ok}/{r['victim_sent']} ({pct:.0f}%)", f"{r['p99']:.2f} ({q:.2f})",
                 r["isolation"], r["note"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("snap")
    p.add_argument("--rss-kb", type=int, required=True)
    p = sub.add_parser("row")
    p.add_argument("table")
    for o in ("--attack", "--before", "--after", "--victim"):
        p.add_argument(o, required=True)
    p.add_argument("--sent")
    p.add_argument("--memo")
    p.add_argument("--note")
    p.add_argument("--isolation", default="yes")
    p = sub.add_parser("print")
    p.add_argument("table")
    p.add_argument("--quiet", required=True)
    a = ap.parse_args()
    return {"snap": cmd_snap, "row": cmd_row, "print": cmd_print}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
