#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Judge what a test VM (tools/vm/init.sh) printed on its serial console.

vmcheck.py LOG LABEL KEY=VALUE...   prints "ok|fail<TAB>name<TAB>why" lines
                                     for lib.sh's tap_lines
Keys (expected values, computed on the hypervisor from what mdr serves):
  iid=SHA256 uuid=UUID meta_size=N ud=SHA256 ud_size=N ud_n=N
  queues=N      the guest must have N queue pairs (rx-0..rx-N-1)
  spread=N      N requests per CPU, each must be 200 with sha iid
  pw_host=TEXT  the password mdrctl get shows after the VM ran
  iface=NAME    the interface the guest configured (eth0.100 for a VLAN)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tools/vm"))
import console  # noqa: E402  (tools/vm/console.py: the console's MDR- lines)


def main():
    log, label = sys.argv[1], sys.argv[2]
    exp = dict(kv.split("=", 1) for kv in sys.argv[3:])
    c = console.parse(log)
    res, info, bodies, done = c.res, c.info, c.bodies, c.done
    uuids = {k[0]: v for k, v in c.fields.items() if k[1] == "uuid"}
    out = []

    def check(name, cond, why=""):
        out.append(("ok" if cond else "fail", f"{label}: {name}", why))

    def status(n):
        r = res.get(n)
        return r[0] if r else "missing"

    def got(n, code, sha=None, size=None):
        r = res.get(n)
        if not r:
            return False, "no result (the VM did not get that far)"
        if r[0] != code:
            return False, "got " + " ".join(r)
        if size is not None and r[2] != str(size):
            return False, f"{r[2]} bytes, want {size}"
        if sha is not None and r[3] != sha:
            return False, f"sha256 {r[3]}, want {sha}"
        return True, ""

    check("the VM booted, ran every request and powered off", done,
          "no MDR-DONE on the console")
    if "iface" in exp:
        ifc = (info.get("iface") or [["?"]])[0][0]
        check(f"the guest talked through {exp['iface']}", ifc == exp["iface"], f"it used {ifc}")
    check("IMDSv2 token PUT: 200 and a token", *(
        (True, "") if status("token") == "200" and res["token"][2] != "0"
        else (False, " ".join(res.get("token", ["missing"])))))
    check("instance-id (with the token) is its own", *got("iid", "200", exp["iid"]))
    def own_meta(n):
        ok, why = got(n, "200", size=exp["meta_size"])
        if ok and uuids.get(n) != exp["uuid"]:
            ok, why = False, f"uuid {uuids.get(n)}, want {exp['uuid']}"
        return ok, why

    check("meta_data.json is its own (uuid, size)", *own_meta("meta"))
    for i in range(1, int(exp.get("ud_n", "0")) + 1):
        check(f"user data fetch {i}: {exp['ud_size']} bytes, sha256 verified",
              *got(f"ud{i}", "200", exp["ud"], exp["ud_size"]))
    check("IPv6 link-local endpoint: its own meta_data.json", *own_meta("ll"))
    check("GET without the token under tokens=required: 401", *got("notoken", "401"))
    check("password POST: 200", *got("pwpost", "200"))
    pw = "pw-" + bodies.get("iid", "?")
    check("password GET returns what it posted", *(
        (True, "") if bodies.get("pwget") == pw
        else (False, f"got {bodies.get('pwget')!r}, want {pw!r}")))
    if "queues" in exp:
        n = int(exp["queues"])
        q = (info.get("queues") or [[]])[0]
        want = [f"rx-{i}" for i in range(n)]
        check(f"guest enabled {n} queue pairs", all(x in q for x in want) and f"rx-{n}" not in q,
              f"queues {' '.join(q)}")
    if "spread" in exp:
        per = int(exp["spread"])
        cpus = int((info.get("cpus") or [["1"]])[0][0])
        bad = []
        for c in range(cpus):
            for i in range(1, per + 1):
                ok, why = got(f"spread-c{c}-{i}", "200", exp["iid"])
                if not ok:
                    bad.append(f"cpu{c}#{i}: {why}")
        check(f"{per} requests from each of {cpus} CPUs at once: all 200, its own instance-id",
              not bad, "; ".join(bad[:5]))
        irqs = {v[0]: int(v[1]) for v in info.get("irq", []) if len(v) == 2}
        for qi in range(int(exp.get("queues", "1"))):
            k = f"virtio0-input.{qi}"
            check(f"replies arrived on RX queue {qi} ({k} interrupts)", irqs.get(k, 0) > 0,
                  f"interrupts {irqs}")
    if "pw_host" in exp:
        check("the hypervisor (mdrctl get) sees the password it posted",
              exp["pw_host"] == pw, f"mdrctl: {exp['pw_host']!r}, posted {pw!r}")
    for st, name, why in out:
        print(f"{st}\t{name}\t{why}")


if __name__ == "__main__":
    main()
