// protocol/binary_parser.cc — see binary_parser.h. Rules probed on memcached 1.6.18.
#include "protocol/binary_parser.h"

namespace kioku::protocol {

namespace {

uint16_t load16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t load32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint64_t load64(const unsigned char* p) { return (uint64_t{load32(p)} << 32) | load32(p + 4); }

}  // namespace

BinaryHeader decode_binary_header(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  BinaryHeader h;
  h.magic = p[0];
  h.opcode = p[1];
  h.key_length = load16(p + 2);
  h.extras_length = p[4];
  h.data_type = p[5];
  h.vbucket = load16(p + 6);
  h.body_length = load32(p + 8);
  h.opaque = load32(p + 12);
  h.cas = load64(p + 16);
  return h;
}

BinaryFrame frame_binary_request(std::string_view pending) {
  BinaryFrame frame;
  if (pending.size() < kBinaryHeaderSize) {
    frame.need = kBinaryHeaderSize;
    return frame;
  }
  BinaryRequest& r = frame.request;
  r.header = decode_binary_header(pending);
  if (r.header.magic != kBinaryRequestMagic) {
    frame.status = BinaryFrameStatus::kBadMagic;
    return frame;
  }
  const std::size_t head = kBinaryHeaderSize + r.header.extras_length + r.header.key_length;
  if (pending.size() < head) {
    frame.need = head;
    return frame;
  }
  // memcached checks the body length only once extras and key are buffered.
  const uint64_t ext_and_key = uint64_t{r.header.extras_length} + r.header.key_length;
  frame.consumed = head;
  r.extras = pending.substr(kBinaryHeaderSize, r.header.extras_length);
  r.key = pending.substr(kBinaryHeaderSize + r.header.extras_length, r.header.key_length);
  if (ext_and_key > r.header.body_length) {
    frame.status = BinaryFrameStatus::kBodyTooShort;
    return frame;
  }
  r.value_length = static_cast<uint32_t>(r.header.body_length - ext_and_key);
  frame.status = BinaryFrameStatus::kReady;
  return frame;
}

bool is_quiet(BinaryOpcode opcode) {
  switch (opcode) {
    case BinaryOpcode::kGetQ:
    case BinaryOpcode::kGetKQ:
    case BinaryOpcode::kSetQ:
    case BinaryOpcode::kAddQ:
    case BinaryOpcode::kReplaceQ:
    case BinaryOpcode::kDeleteQ:
    case BinaryOpcode::kIncrementQ:
    case BinaryOpcode::kDecrementQ:
    case BinaryOpcode::kQuitQ:
    case BinaryOpcode::kFlushQ:
    case BinaryOpcode::kAppendQ:
    case BinaryOpcode::kPrependQ:
    case BinaryOpcode::kGatQ:
    case BinaryOpcode::kGatKQ:
      return true;
    default:
      return false;
  }
}

BinaryOpcode loud_form(BinaryOpcode opcode) {
  switch (opcode) {
    case BinaryOpcode::kGetQ:
      return BinaryOpcode::kGet;
    case BinaryOpcode::kGetKQ:
      return BinaryOpcode::kGetK;
    case BinaryOpcode::kSetQ:
      return BinaryOpcode::kSet;
    case BinaryOpcode::kAddQ:
      return BinaryOpcode::kAdd;
    case BinaryOpcode::kReplaceQ:
      return BinaryOpcode::kReplace;
    case BinaryOpcode::kDeleteQ:
      return BinaryOpcode::kDelete;
    case BinaryOpcode::kIncrementQ:
      return BinaryOpcode::kIncrement;
    case BinaryOpcode::kDecrementQ:
      return BinaryOpcode::kDecrement;
    case BinaryOpcode::kQuitQ:
      return BinaryOpcode::kQuit;
    case BinaryOpcode::kFlushQ:
      return BinaryOpcode::kFlush;
    case BinaryOpcode::kAppendQ:
      return BinaryOpcode::kAppend;
    case BinaryOpcode::kPrependQ:
      return BinaryOpcode::kPrepend;
    case BinaryOpcode::kGatQ:
      return BinaryOpcode::kGat;
    case BinaryOpcode::kGatKQ:
      return BinaryOpcode::kGatK;
    default:
      return opcode;
  }
}

BinaryCheck check_binary_request(const BinaryRequest& request, bool sasl_enabled) {
  const BinaryHeader& h = request.header;
  const uint32_t ext = h.extras_length;
  const uint32_t key = h.key_length;
  const uint32_t body = h.body_length;
  BinaryCheck check;
  auto valid_if = [&check](bool ok, bool reads_value = false) {
    check.validity = ok ? BinaryValidity::kValid : BinaryValidity::kInvalid;
    check.reads_value = ok && reads_value;
    return check;
  };
  if (key > kBinaryMaxKeyLength) return valid_if(false);
  switch (loud_form(static_cast<BinaryOpcode>(h.opcode))) {
    case BinaryOpcode::kVersion:
    case BinaryOpcode::kNoop:
    case BinaryOpcode::kQuit:
      return valid_if(ext == 0 && key == 0 && body == 0);
    case BinaryOpcode::kFlush:
      return valid_if(key == 0 && body == ext && (ext == 0 || ext == 4));
    case BinaryOpcode::kSet:
    case BinaryOpcode::kAdd:
    case BinaryOpcode::kReplace:
      return valid_if(ext == 8 && key != 0, true);
    case BinaryOpcode::kGet:
    case BinaryOpcode::kGetK:
      return valid_if(ext == 0 && key > 0 && body == key);
    case BinaryOpcode::kDelete:
      return valid_if(ext == 0 && key > 0 && body == key);
    case BinaryOpcode::kIncrement:
    case BinaryOpcode::kDecrement:
      return valid_if(ext == 20 && key > 0 && body == key + ext);
    case BinaryOpcode::kAppend:
    case BinaryOpcode::kPrepend:
      return valid_if(ext == 0 && key > 0, true);
    case BinaryOpcode::kStat:
      return valid_if(ext == 0);
    case BinaryOpcode::kTouch:
    case BinaryOpcode::kGat:
    case BinaryOpcode::kGatK:
      return valid_if(ext == 4 && key != 0);
    case BinaryOpcode::kSaslListMechs:
      if (!sasl_enabled) break;
      return valid_if(ext == 0 && key == 0 && body == 0);
    case BinaryOpcode::kSaslAuth:
    case BinaryOpcode::kSaslStep:
      if (!sasl_enabled) break;
      return valid_if(ext == 0 && key != 0, true);
    default: {
      // memcached has no VERBOSITY in the binary protocol: it is an unknown command there. It
      // then discards the whole body length again after the key.
      check.validity = BinaryValidity::kUnknownCommand;
      check.skip_after_key = body;
      return check;
    }
  }
  // SASL opcodes without -S: memcached checks their shape first, then skips the value.
  const auto opcode = static_cast<BinaryOpcode>(h.opcode);
  if (opcode == BinaryOpcode::kSaslListMechs && !(ext == 0 && key == 0 && body == 0)) {
    return valid_if(false);
  }
  if (opcode != BinaryOpcode::kSaslListMechs && !(ext == 0 && key != 0)) return valid_if(false);
  check.validity = BinaryValidity::kUnknownCommand;
  check.skip_after_key = body - key;
  return check;
}

}  // namespace kioku::protocol
