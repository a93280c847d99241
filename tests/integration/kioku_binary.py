"""Binary-protocol helpers for the integration tests (stdlib only).

Owns: building request packets and reading response packets over a harness
Session, so tests can state byte-exact expectations in terms of fields.
Must not: hide what goes over the wire; every helper is a thin packer.
"""

import struct

REQ = 0x80
RES = 0x81
HEADER = struct.Struct(">BBHBBHIIQ")

OP = dict(GET=0x00, SET=0x01, ADD=0x02, REPLACE=0x03, DELETE=0x04, INCR=0x05, DECR=0x06,
          QUIT=0x07, FLUSH=0x08, GETQ=0x09, NOOP=0x0a, VERSION=0x0b, GETK=0x0c, GETKQ=0x0d,
          APPEND=0x0e, PREPEND=0x0f, STAT=0x10, SETQ=0x11, ADDQ=0x12, REPLACEQ=0x13,
          DELETEQ=0x14, INCRQ=0x15, DECRQ=0x16, QUITQ=0x17, FLUSHQ=0x18, APPENDQ=0x19,
          PREPENDQ=0x1a, VERBOSITY=0x1b, TOUCH=0x1c, GAT=0x1d, GATQ=0x1e, SASL_LIST=0x20,
          SASL_AUTH=0x21, SASL_STEP=0x22, GATK=0x23, GATKQ=0x24)

SUCCESS, ENOENT, EEXISTS, E2BIG, EINVAL, NOT_STORED, DELTA_BADVAL = 0, 1, 2, 3, 4, 5, 6
AUTH_ERROR, AUTH_CONTINUE, UNKNOWN, ENOMEM = 0x20, 0x21, 0x81, 0x82


def request(op, key=b"", extras=b"", value=b"", opaque=0, cas=0, body_length=None, magic=REQ):
    if isinstance(op, str):
        op = OP[op]
    if isinstance(key, str):
        key = key.encode()
    if isinstance(value, str):
        value = value.encode()
    body = len(extras) + len(key) + len(value) if body_length is None else body_length
    return HEADER.pack(magic, op, len(key), len(extras), 0, 0, body, opaque, cas) + extras + key + value


def set_extras(flags=0, exptime=0):
    return struct.pack(">II", flags, exptime)


def incr_extras(delta=1, initial=0, exptime=0xffffffff):
    return struct.pack(">QQI", delta, initial, exptime)


def touch_extras(exptime):
    return struct.pack(">I", exptime)


class Response:
    def __init__(self, raw):
        (self.magic, self.opcode, key_len, ext_len, self.datatype, self.status, body_len,
         self.opaque, self.cas) = HEADER.unpack(raw[:24])
        body = raw[24:]
        self.raw = raw
        self.extras = body[:ext_len]
        self.key = body[ext_len:ext_len + key_len]
        self.value = body[ext_len + key_len:]

    def __repr__(self):
        return "Response(op=%#x status=%#x opaque=%d cas=%d extras=%r key=%r value=%r)" % (
            self.opcode, self.status, self.opaque, self.cas, self.extras, self.key, self.value[:60])


def read_response(session, timeout=None):
    head = session.read_exactly(24, timeout)
    body_len = HEADER.unpack(head)[6]
    return Response(head + session.read_exactly(body_len, timeout))


def call(session, *args, **kwargs):
    session.send(request(*args, **kwargs))
    return read_response(session)


def error_packet(op, status, text, opaque=0):
    """The exact bytes memcached sends for an error status."""
    if isinstance(op, str):
        op = OP[op]
    text = text.encode()
    return HEADER.pack(RES, op, 0, 0, 0, status, len(text), opaque, 0) + text
