"""DNS wire helpers the lab scripts share (the tests prepend this file)."""
import struct


COOKIE = 10
CLIENT_SUBNET = 8


def query(name, qtype=1, qid=0x4242, cookie=None, options=()):
    """A DNS query in wire form (RD set). With `cookie` (8 bytes, or 24
    with a server cookie) it carries EDNS with a COOKIE option (RFC 7873);
    `options` are more (code, data) EDNS options."""
    options = list(options) + ([(COOKIE, cookie)] if cookie else [])
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if options else 0)
    for label in name.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    wire += b"\x00" + struct.pack("!HH", qtype, 1)
    if options:
        rdata = b"".join(struct.pack("!HH", code, len(data)) + data for code, data in options)
        wire += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(rdata)) + rdata
    return wire


def response_cookie(wire):
    """The COOKIE option's data in a response's OPT record (the last
    record), or None."""
    at = len(wire)
    # The OPT record is last: walk its options back from RDLEN.
    for start in range(12, len(wire) - 10):
        if wire[start] == 0 and wire[start + 1:start + 3] == b"\x00\x29":
            rdlen = int.from_bytes(wire[start + 9:start + 11], "big")
            if start + 11 + rdlen == at:
                rdata, i = wire[start + 11:], 0
                while i + 4 <= len(rdata):
                    code, n = struct.unpack("!HH", rdata[i:i + 4])
                    if code == COOKIE:
                        return rdata[i + 4:i + 4 + n]
                    i += 4 + n
    return None


