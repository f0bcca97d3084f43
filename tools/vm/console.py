#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""What a test VM (tools/vm/init.sh) printed on its serial console.

console.py LOG VM IP PORT    prints a summary for people (make demo VM=1)
parse(LOG)                   the MDR- lines as a Console (tests/e2e/vmcheck.py)
"""
import sys


class Console:
    def __init__(self):
        self.res = {}     # request name -> [status, ms, size, sha256] or ["ERR", why]
        self.fields = {}  # (request, key) -> value  (MDR-FIELD)
        self.text = {}    # request -> first line (MDR-TEXT)
        self.bodies = {}  # request -> short body (MDR-BODY)
        self.info = {}    # key -> list of value lists (MDR-INFO)
        self.done = False


def parse(log):
    c = Console()
    with open(log, errors="replace") as f:
        for line in f:
            # The firmware's last words ("Booting from ROM..") end with no
            # newline: a line may carry them before its MDR- tag.
            w = line[max(line.find("MDR-"), 0):].rstrip("\r\n").split(" ")
            if w[0] == "MDR-RESULT" and len(w) >= 3:
                c.res[w[1]] = w[2:]
            elif w[0] == "MDR-FIELD" and len(w) >= 4:
                c.fields[(w[1], w[2])] = " ".join(w[3:])
            elif w[0] == "MDR-TEXT" and len(w) >= 3:
                c.text[w[1]] = " ".join(w[2:])
            elif w[0] == "MDR-BODY" and len(w) >= 2:
                c.bodies[w[1]] = " ".join(w[2:])
            elif w[0] == "MDR-INFO" and len(w) >= 2:
                c.info.setdefault(w[1], []).append(w[2:])
            elif w[0] == "MDR-DONE":
                c.done = True
    return c


def summary(log, vm, ip, port):
    c = parse(log)
    shared = {"vm1": "  (same IP as vm2)", "vm2": "  (same IP as vm1)"}.get(vm, "")
    print(f"\n  VM {vm}  ip {ip}{shared}  port {port}  (QEMU, virtio-net, Debian kernel)")
    if not c.res:
        print(f"    FAILED: nothing on its console ({log})")
        return

    def st(n):
        r = c.res.get(n)
        if not r:
            return "missing"
        return " ".join(r) if r[0] == "ERR" else f"{r[0]}, {r[2]} bytes, {r[1]} ms"

    def info(k):
        return " ".join((c.info.get(k) or [["?"]])[0])
    print(f"    hostname   {c.fields.get(('meta', 'hostname'), '?')}")
    print(f"    uuid       {c.fields.get(('meta', 'uuid'), '?')}   (meta_data.json: {st('meta')})")
    print(f"    instance   {c.bodies.get('iid', '?')}   (EC2 instance-id with an IMDSv2 token: {st('iid')})")
    print(f"    user data  {c.text.get('ud1', '(none)')}   ({st('ud1')})")
    print(f"    IPv6 LL    [fe80::a9fe:a9fe] uuid {c.fields.get(('ll', 'uuid'), '?')}   ({st('ll')})")
    print(f"    no token   instance-id without a token: {st('notoken')}; password POST {st('pwpost')}, read back {c.bodies.get('pwget', '?')!r}")
    print(f"    boot       init at {info('uptime-start')} s, done at {info('uptime-done')} s of guest time"
          + ("" if c.done else "  (did not finish)"))


if __name__ == "__main__":
    summary(*sys.argv[1:5])
