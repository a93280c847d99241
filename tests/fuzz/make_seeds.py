#!/usr/bin/python3
"""Writes the generated seed corpora of tests/fuzz (see docs/fuzzing.md).

Owns: the seeds of meta_parser_fuzz, binary_parser_fuzz and tls_connection_fuzz, and the meta
and binary sessions of connection_fuzz (files named meta_* and binary_* there). The text seeds
of text_parser_fuzz and connection_fuzz are hand-written files and are left alone. Must not:
write anywhere but tests/fuzz/corpus. Run it again after changing it and commit the output;
the files are deterministic except the TLS ClientHellos, whose random fields differ per run.
"""
import os
import ssl
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# --- meta protocol -------------------------------------------------------------------------

META = {
    "mg_flags": b"mg foo s v f t c k O123 h l q u\r\nmg foo N30 T-1 R15 E77\r\nmg foo\r\n",
    "ms_modes": (b"ms foo 5 T30 F3 MS I\r\nhello\r\n"
                 b"ms foo 2 ME\r\nxx\r\nms foo 2 MA\r\nyy\r\nms foo 2 MP q\r\nzz\r\n"
                 b"ms foo 1 MR C99 E100\r\na\r\nms foo 0\r\n\r\n"),
    "ms_bad_chunk": b"ms foo 3\r\nabcdef\r\nmg foo v\r\n",
    "md": b"md foo q I T5 C1 x\r\nmd foo\r\nmd foo O1 k\r\n",
    "ma": b"ma n N0 J10 D3 MD\r\nma n MI q\r\nma n M+ v t N30\r\nma n M- D18446744073709551615\r\n",
    "mn_me": b"mg a q\r\nmg b q k\r\nmn\r\nme foo\r\nme Zm9v b\r\n",
    "base64": (b"ms Zm9v 3 b\r\nbar\r\nmg Zm9v b v k\r\nmg Zm9vMg== b v\r\n"
               b"mg Zm9=Mg== b\r\nmg Zm9v= b\r\nmd Zm9v b q\r\nma Zm9v b\r\n"),
    "errors": (b"mg\r\nmd\r\nme\r\nmg foo k k\r\nmg foo z\r\nmg foo Tabc\r\nmg foo T\r\n"
               b"mg foo O" + b"x" * 40 + b"\r\nms foo\r\nms foo x\r\nms foo -1\r\n"
               b"ms foo 3 MX\r\nabc\r\nms foo 3 MEE\r\nabc\r\nms foo 3 Fx\r\nabc\r\n"
               b"md foo zz\r\nma foo Dx\r\nma foo MX\r\n"),
    "tokens": (b"mg foo" + b"".join(b" O%d" % i for i in range(17)) + b"\r\n"
               b"mg foo" + b"".join(b" O%d" % i for i in range(19)) + b"\r\n"
               b"ms foo 1" + b"".join(b" %c" % c for c in b"TNRFCEMJDIqvu") + b"\r\nx\r\n"),
    "long_key": b"mg " + b"k" * 250 + b" v\r\nmg " + b"k" * 251 + b" v\r\n",
    "spaces": b"  mg   foo   v  \r\nmg foo v\nmg foo\0 v\r\nmg\tfoo\r\nMG foo\r\n",
    "long_line": b"mg " + b"a" * 3000,
    "mixed_text": b"get foo\r\nmg foo v\r\nset a 0 0 1\r\nx\r\nms a 1\r\ny\r\nmn\r\n",
    "ms_big": b"ms big 100000 T0\r\n" + b"x" * 100 + b"\r\nmg big\r\n",
}

# --- binary protocol -----------------------------------------------------------------------

GET, SET, ADD, REPLACE, DELETE, INCR, DECR, QUIT, FLUSH, GETQ, NOOP, VERSION = range(12)
GETK, GETKQ, APPEND, PREPEND, STAT, SETQ, ADDQ, REPLACEQ, DELETEQ = range(0x0C, 0x15)
INCRQ, DECRQ, QUITQ, FLUSHQ, APPENDQ, PREPENDQ, VERBOSITY, TOUCH, GAT, GATQ = range(0x15, 0x1F)
SASL_LIST, SASL_AUTH, SASL_STEP, GATK, GATKQ = range(0x20, 0x25)


def packet(opcode, key=b"", extras=b"", value=b"", opaque=0, cas=0, magic=0x80, body=None,
           key_length=None, extras_length=None):
    """One request; body/key_length/extras_length override the header fields to disagree."""
    klen = len(key) if key_length is None else key_length
    elen = len(extras) if extras_length is None else extras_length
    blen = len(extras) + len(key) + len(value) if body is None else body
    header = struct.pack(">BBHBBHIIQ", magic, opcode, klen, elen, 0, 0, blen, opaque, cas)
    return header + extras + key + value


def storage_extras(flags=0, exptime=0):
    return struct.pack(">II", flags, exptime)


def arith_extras(delta=1, initial=0, exptime=0):
    return struct.pack(">QQI", delta, initial, exptime)


BINARY = {
    "get_set": (packet(SET, b"foo", storage_extras(7, 0), b"hello", opaque=1)
                + packet(GET, b"foo", opaque=2) + packet(GETK, b"foo") + packet(GETQ, b"nope")
                + packet(GETKQ, b"foo") + packet(NOOP)),
    "storage": (packet(ADD, b"a", storage_extras(), b"1") + packet(REPLACE, b"a", storage_extras(),
                                                                   b"2")
                + packet(SETQ, b"b", storage_extras(1, 100), b"x")
                + packet(ADDQ, b"b", storage_extras(), b"y")
                + packet(REPLACEQ, b"c", storage_extras(), b"z")
                + packet(APPEND, b"a", value=b"tail") + packet(PREPEND, b"a", value=b"head")
                + packet(APPENDQ, b"a", value=b"t") + packet(PREPENDQ, b"a", value=b"h")
                + packet(SET, b"a", storage_extras(), b"v", cas=12345) + packet(GET, b"a")),
    "delete": (packet(SET, b"d", storage_extras(), b"v") + packet(DELETE, b"d")
               + packet(DELETEQ, b"d") + packet(DELETE, b"d", cas=1) + packet(NOOP)),
    "arith": (packet(INCR, b"n", arith_extras(5, 10)) + packet(DECR, b"n", arith_extras(100))
              + packet(INCRQ, b"n", arith_extras(2**64 - 1)) + packet(DECRQ, b"n", arith_extras())
              + packet(INCR, b"m", arith_extras(1, 0, 0xFFFFFFFF)) + packet(NOOP)),
    "touch_gat": (packet(SET, b"t", storage_extras(), b"v") + packet(TOUCH, b"t", b"\0\0\0\x0a")
                  + packet(GAT, b"t", b"\0\0\0\0") + packet(GATQ, b"t", b"\0\0\0\x01")
                  + packet(GATK, b"t", b"\0\0\0\x01") + packet(GATKQ, b"u", b"\0\0\0\x01")
                  + packet(TOUCH, b"t", b"\0\0\0\x0a", value=b"extra") + packet(NOOP)),
    "admin": (packet(VERSION) + packet(STAT) + packet(STAT, b"settings") + packet(STAT, b"slabs")
              + packet(FLUSH) + packet(FLUSH, extras=b"\0\0\0\x05") + packet(FLUSHQ)
              + packet(VERBOSITY, extras=b"\0\0\0\x01") + packet(NOOP)),
    "quit": packet(GET, b"a") + packet(QUITQ) + packet(GET, b"b"),
    "quit_loud": packet(QUIT) + packet(NOOP),
    "sasl": (packet(SASL_LIST) + packet(SASL_AUTH, b"PLAIN", value=b"\0user\0pass")
             + packet(SASL_STEP, b"PLAIN", value=b"x") + packet(NOOP)),
    "body_too_short": packet(GET, b"foo", body=2) + packet(NOOP),
    "extras_over_body": packet(SET, b"k", storage_extras(), b"", body=4),
    "huge_body": packet(SET, b"k", storage_extras(), b"xx", body=0xFFFFFFFF),
    "huge_unknown": packet(0x7F, b"k", body=0xFFFFFFF0) + packet(NOOP),
    "unknown_opcode": packet(0x42, b"key", b"ext", b"value") + packet(NOOP) + packet(NOOP),
    "key_too_long": packet(GET, b"k" * 251),
    "key_max": packet(SET, b"k" * 250, storage_extras(), b"v") + packet(GET, b"k" * 250),
    "bad_shapes": (packet(GET, b"", opaque=9) + packet(NOOP, b"k") + packet(SET, b"k")
                   + packet(INCR, b"n", b"\0" * 8)),
    "bad_magic": packet(NOOP) + packet(GET, b"a", magic=0x81),
    "truncated": packet(SET, b"foo", storage_extras(), b"hello")[:30],
    "header_only": packet(GET, b"foo")[:24],
    "lengths_disagree": packet(GET, b"foo", key_length=0xFFFF, extras_length=0xFF, body=3),
    "too_large": packet(SET, b"big", storage_extras(), b"y" * 100, body=3 + 8 + 100000),
}

# --- TLS -----------------------------------------------------------------------------------


def client_hello(maximum=None):
    """The first flight of a real client, from Python's ssl over memory BIOs."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        context.maximum_version = maximum
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    session = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname="localhost")
    try:
        session.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def tls_seeds():
    hello13 = client_hello()
    hello12 = client_hello(ssl.TLSVersion.TLSv1_2)
    return {
        "hello_tls13": hello13,
        "hello_tls12": hello12,
        "hello_then_garbage": hello13 + b"\x17\x03\x03\x00\x05hello",
        "hello_truncated": hello13[: len(hello13) // 2],
        "record_header_only": hello13[:5],
        "plain_text_client": b"get foo\r\n",
        "binary_client": packet(NOOP),
        "alert": b"\x15\x03\x03\x00\x02\x02\x28",
        "ccs_first": b"\x14\x03\x03\x00\x01\x01" + hello13,
        "sslv2_hello": b"\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10" + b"\x00" * 37,
        "huge_record": b"\x16\x03\x01\xff\xff" + b"\x01" * 64,
        # A first byte with the top bit set: the harness completes a handshake and sends the rest
        # through it (0x40 also: it ends with close_notify rather than a bare EOF).
        "session_text": b"\x80set k 0 0 5\r\nhello\r\nget k\r\nstats\r\n",
        "session_text_notify": b"\xc5get k\r\ngets k\r\nversion\r\n",
        "session_meta": b"\x81" + META["ms_modes"] + META["mg_flags"],
        "session_binary": b"\x80" + BINARY["get_set"] + BINARY["admin"],
        "session_big_value": b"\x82set big 0 0 40000\r\n" + b"v" * 40000 + b"\r\nget big\r\n",
        "session_quit": b"\xc0get a\r\nquit\r\nget b\r\n",
        "session_empty": b"\x80",
    }


def write(target, seeds):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def main():
    write("meta_parser", META)
    write("binary_parser", BINARY)
    write("connection", {"meta_" + name: data for name, data in META.items()})
    write("connection", {"binary_" + name: data for name, data in BINARY.items()})
    write("tls_connection", tls_seeds())


if __name__ == "__main__":
    main()
