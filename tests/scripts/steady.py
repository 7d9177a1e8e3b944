"""A steady client: hot and uncached names, over UDP and TCP.

Usage: steady.py SERVER HOT ZONE RATE SECONDS SOURCE
RATE times a second for SECONDS, from SOURCE: HOT over UDP, a fresh
<random>.ZONE over UDP, HOT over TCP and a fresh name over TCP (each TCP
query on a connection of its own), each given 3 seconds; a UDP query is
sent again after 1.5 s without an answer, as stubs retry (a node under a
flood drops datagrams, a legitimate client's among them). Fresh names are
16 random letters, so that a forger guessing the case of a query (0x20)
has no real chance. Prints one JSON
object with, for each of udp_hot, udp_new, tcp_hot and tcp_new: sent,
answered (NOERROR with an answer), failed (any other answer) and lost.
"""
import json
import random
import socket
import string
import sys
import threading
import time

SERVER, HOT, ZONE = sys.argv[1], sys.argv[2], sys.argv[3]
RATE, SECONDS, SOURCE = float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
WAIT = 3.0
report = {k: {"sent": 0, "answered": 0, "failed": 0, "lost": 0} for k in ("udp_hot", "udp_new", "tcp_hot", "tcp_new")}
lock = threading.Lock()


def count(kind, data):
    with lock:
        if data is None:
            report[kind]["lost"] += 1
        elif (data[3] & 0x0F) == 0 and int.from_bytes(data[6:8], "big") > 0:
            report[kind]["answered"] += 1
        else:
            report[kind]["failed"] += 1


def udp(kind, name, qid):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((SOURCE, 0))
    s.settimeout(WAIT / 2)
    answer = None
    for _ in range(2):
        s.sendto(query(name, qid=qid), (SERVER, 53))
        try:
            answer = s.recv(4096)
            break
        except OSError:
            pass
    count(kind, answer)
    s.close()


def tcp(kind, name, qid):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((SOURCE, 0))
    s.settimeout(WAIT)
    try:
        s.connect((SERVER, 53))
        wire = query(name, qid=qid)
        s.sendall(len(wire).to_bytes(2, "big") + wire)
        head = s.recv(2, socket.MSG_WAITALL)
        count(kind, s.recv(int.from_bytes(head, "big"), socket.MSG_WAITALL))
    except OSError:
        count(kind, None)
    s.close()


threads = []
start = time.monotonic()
n = 0
while time.monotonic() < start + SECONDS:
    if time.monotonic() < start + n / RATE:
        time.sleep(0.002)
        continue
    for kind, send in (("udp_hot", udp), ("udp_new", udp), ("tcp_hot", tcp), ("tcp_new", tcp)):
        fresh = "".join(random.choice(string.ascii_lowercase) for _ in range(16))
        name = HOT if kind.endswith("hot") else fresh + "." + ZONE
        with lock:
            report[kind]["sent"] += 1
        t = threading.Thread(target=send, args=(kind, name, n % 65536))
        t.start()
        threads.append(t)
    n += 1
for t in threads:
    t.join()
print(json.dumps(report))
