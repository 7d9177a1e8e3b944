"""Abuse for the soak: garbage datagrams and TCP clients that stall.

Usage: abuse.py SERVER SECONDS GARBAGE_RATE STALLED
For SECONDS, sends GARBAGE_RATE datagrams a second of random bytes (some
with a plausible DNS header) to SERVER port 53 and keeps STALLED TCP
connections open that send one byte and then nothing, opening a new one
whenever the server cuts one. Prints one JSON object: garbage sent, replies
to it, stalled connections opened and cut by the server.
"""
import json
import os
import random
import select
import socket
import sys
import time

SERVER, SECONDS, RATE, STALLED = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setblocking(False)
stalled, opened, cut, sent, replies = [], 0, 0, 0, 0
start = time.monotonic()


def open_stalled():
    global opened
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((SERVER, 53))
    except BlockingIOError:
        pass
    stalled.append((s, False))
    opened += 1


while time.monotonic() - start < SECONDS:
    now = time.monotonic()
    while sent < (now - start) * RATE:
        if random.random() < 0.5:
            garbage = os.urandom(random.randint(1, 100))
        else:
            # A header that claims one question, then junk.
            garbage = os.urandom(2) + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + os.urandom(random.randint(0, 40))
        udp.sendto(garbage, (SERVER, 53))
        sent += 1
    try:
        while True:
            udp.recv(4096)
            replies += 1
    except BlockingIOError:
        pass
    while len(stalled) < STALLED:
        open_stalled()
    keep = []
    for s, started in stalled:
        if not started:
            try:
                s.send(b"\x00")
                started = True
            except (BlockingIOError, OSError):
                pass
        readable, _, _ = select.select([s], [], [], 0)
        if readable:
            try:
                data = s.recv(1)
            except OSError:
                data = b""
            if not data:
                cut += 1
                s.close()
                continue
        keep.append((s, started))
    stalled = keep
    time.sleep(0.01)

for s, _ in stalled:
    s.close()
print(json.dumps({"garbage": sent, "garbage_replies": replies, "stalled_opened": opened, "stalled_cut": cut}))
