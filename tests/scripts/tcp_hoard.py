"""Clients that connect over TCP, send a query, and never read.

Usage: tcp_hoard.py SERVER COUNT SECONDS SOURCE
Opens COUNT connections to SERVER:53 from SOURCE, sends a query on each
and reads nothing for SECONDS. Prints one JSON object: opened (the
connections the kernel made), kept (those the server had not closed at
the end).
"""
import json
import select
import socket
import sys
import time

SERVER, COUNT, SECONDS, SOURCE = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
wire = query("www.lab.")
framed = len(wire).to_bytes(2, "big") + wire
conns = []
for _ in range(COUNT):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((SOURCE, 0))
    s.settimeout(2)
    try:
        s.connect((SERVER, 53))
        s.sendall(framed)
        conns.append(s)
    except OSError:
        s.close()
time.sleep(SECONDS)
kept = 0
for s in conns:
    readable, _, _ = select.select([s], [], [], 0)
    try:
        closed = bool(readable) and s.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        closed = True
    kept += 0 if closed else 1
print(json.dumps({"opened": len(conns), "kept": kept}))
