"""Sends queries one by one and prints each response.

Usage: exchange.py SERVER HEX...
Each HEX is a DNS query in wire form; each is sent over UDP to SERVER:53
and answered within two seconds or not at all. Prints one JSON object:
responses, a list with the hex of each response (or null).
"""
import json
import socket
import sys

SERVER = sys.argv[1]
family = socket.AF_INET6 if ":" in SERVER else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(2.0)
responses = []
for query in sys.argv[2:]:
    wire = bytes.fromhex(query)
    s.sendto(wire, (SERVER, 53))
    try:
        while True:
            data = s.recv(4096)
            if data[:2] == wire[:2]:
                break
        responses.append(data.hex())
    except socket.timeout:
        responses.append(None)
print(json.dumps({"responses": responses}))
