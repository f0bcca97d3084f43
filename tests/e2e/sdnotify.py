#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# sdnotify.py SOCKET LOG: stands in for systemd's notification socket
# (NOTIFY_SOCKET): binds an AF_UNIX datagram socket at SOCKET and appends
# each message to LOG as one line, its assignments joined by '|', prefixed
# with the receive time in ms (CLOCK_MONOTONIC). Runs until killed.
import os
import socket
import sys
import time

path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s.bind(path)
with open(log, "a", buffering=1) as out:
    out.write("%d LISTENING\n" % (time.monotonic() * 1000))
    while True:
        msg = s.recv(4096).decode(errors="replace").strip("\n").replace("\n", "|")
        out.write("%d %s\n" % (time.monotonic() * 1000, msg))
