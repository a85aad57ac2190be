#!/usr/bin/env python3
"""dns-server.py: a tiny authoritative DNS server on 127.0.0.1 for the
probe engine's tests (no dependency beyond Python's standard library).

    dns-server.py PORT

Zone lab.test: www A 192.0.2.10 and 192.0.2.11, www AAAA 2001:db8::10,
mail MX 10 mx.lab.test, www TXT "v=tl1", alias CNAME www.lab.test.
Any other name: NXDOMAIN. Prints "ready" on stdout once bound.
"""
import socket
import struct
import sys

ZONE = {
    ("www.lab.test", 1): [bytes([192, 0, 2, 10]), bytes([192, 0, 2, 11])],
    ("www.lab.test", 28): [socket.inet_pton(socket.AF_INET6, "2001:db8::10")],
    ("www.lab.test", 16): [b"\x05v=tl1"],
}


def name_bytes(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_qname(msg, off):
    labels = []
    while msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode())
        off += 1 + n
    return ".".join(labels), off + 1


def answer(query):
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    qname, off = parse_qname(query, 12)
    qtype, qclass = struct.unpack("!HH", query[off:off + 4])
    question = query[12:off + 4]
    rrs = []
    name = qname.lower()
    if name == "alias.lab.test":
        rrs.append((5, name_bytes("www.lab.test")))
        name = "www.lab.test"
    if name == "mail.lab.test" and qtype == 15:
        rrs.append((15, struct.pack("!H", 10) + name_bytes("mx.lab.test")))
    for rdata in ZONE.get((name, qtype), []):
        rrs.append((qtype, rdata))
    known = name in ("www.lab.test", "mail.lab.test", "alias.lab.test")
    rcode = 0 if known else 3
    out = struct.pack("!HHHHHH", qid, 0x8400 | rcode, 1, len(rrs), 0, 0)
    out += question
    for rtype, rdata in rrs:
        out += b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata
    return out


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(4096)
        try:
            s.sendto(answer(data), peer)
        except Exception as e:  # a malformed query: no answer
            print("bad query:", e, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
