#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""XDP pass-through cost for `make bench`: prints "MDR_NS EMPTY_NS".

passns.py parse FILE
    reads `build/tests/bpf_xdp --bench` output (a table with columns "empty"
    and "mdr_xdp"): the "TCP/IPv4 pass-through" row.
passns.py run PINNED_PROG EMPTY_OBJ EMPTY_PIN
    BPF_PROG_TEST_RUN through bpftool: a non-metadata TCP frame (guest ->
    hypervisor port 5201, the iperf3 traffic) through the pinned mdr program
    and through EMPTY_OBJ (loaded and pinned at EMPTY_PIN for the run, then
    removed); median of RUNS runs of REPEAT repetitions each.
"""
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile

REPEAT = 1000000  # repetitions per bpftool run: ~20-50 ms of kernel time
RUNS = 5          # runs per program; the median is reported


def frame():
    eth = bytes.fromhex("525400fe0001" "525400000101") + struct.pack("!H", 0x0800)
    tcp = struct.pack("!HHIIBBHHH", 40000, 5201, 1, 0, 5 << 4, 0x10, 64240, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + 64, 0, 0x4000, 64, 6, 0,
                     bytes([10, 99, 0, 11]), bytes([10, 99, 0, 1]))
    return eth + ip + tcp + b"x" * 64


def run_ns(prog_path, data):
    out = subprocess.run(["bpftool", "prog", "run", "pinned", prog_path, "data_in", data,
                          "repeat", str(REPEAT)], capture_output=True, text=True, check=True)
    m = re.search(r"duration \(average\): (\d+)ns", out.stdout + out.stderr)
    if not m:
        raise SystemExit("passns: no duration in: " + out.stdout + out.stderr)
    return int(m.group(1))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "parse":
        # A table: a header naming the columns "empty" and "mdr_xdp", one row
        # per packet kind; the pass-through row of TCP/IPv4 is the figure.
        cols = None
        for line in open(sys.argv[2]):
            words = line.split()
            if "empty" in words and "mdr_xdp" in words:
                cols = (words.index("empty"), words.index("mdr_xdp"))
            elif cols and line.startswith("TCP/IPv4 pass-through"):
                nums = line[len("TCP/IPv4 pass-through"):].split()
                # the header's first word names the label column
                print(float(nums[cols[1] - 1]), float(nums[cols[0] - 1]))
                return
        sys.exit("passns: no TCP/IPv4 pass-through row")
    elif len(sys.argv) == 5 and sys.argv[1] == "run":
        prog, obj, pin = sys.argv[2:5]
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(frame())
            f.flush()
            subprocess.run(["bpftool", "prog", "load", obj, pin, "type", "xdp"], check=True)
            try:
                ours = statistics.median(run_ns(prog, f.name) for _ in range(RUNS))
                empty = statistics.median(run_ns(pin, f.name) for _ in range(RUNS))
            finally:
                os.unlink(pin)
        print(ours, empty)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
