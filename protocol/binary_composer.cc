// protocol/binary_composer.cc — see binary_composer.h.
#include "protocol/binary_composer.h"

#include <cstring>

namespace kioku::protocol {

void store_be32(char* at, uint32_t value) {
  for (int i = 3; i >= 0; --i) {
    at[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

void store_be64(char* at, uint64_t value) {
  store_be32(at, static_cast<uint32_t>(value >> 32));
  store_be32(at + 4, static_cast<uint32_t>(value));
}

void encode_binary_response_header(const BinaryResponseHeader& header,
                                   std::span<char, kBinaryHeaderSize> out) {
  char* p = out.data();
  p[0] = static_cast<char>(kBinaryResponseMagic);
  p[1] = static_cast<char>(header.opcode);
  p[2] = static_cast<char>(header.key_length >> 8);
  p[3] = static_cast<char>(header.key_length & 0xff);
  p[4] = static_cast<char>(header.extras_length);
  p[5] = 0;  // data type: raw bytes
  const auto status = static_cast<uint16_t>(header.status);
  p[6] = static_cast<char>(status >> 8);
  p[7] = static_cast<char>(status & 0xff);
  store_be32(p + 8, header.body_length);
  store_be32(p + 12, header.opaque);
  store_be64(p + 16, header.cas);
}

std::string_view binary_status_text(BinaryStatus status) {
  switch (status) {
    case BinaryStatus::kKeyNotFound:
      return "Not found";
    case BinaryStatus::kKeyExists:
      return "Data exists for key.";
    case BinaryStatus::kTooLarge:
      return "Too large.";
    case BinaryStatus::kInvalidArguments:
      return "Invalid arguments";
    case BinaryStatus::kNotStored:
      return "Not stored.";
    case BinaryStatus::kDeltaBadValue:
      return "Non-numeric server-side value for incr or decr";
    case BinaryStatus::kAuthError:
      return "Auth failure.";
    case BinaryStatus::kUnknownCommand:
      return "Unknown command";
    case BinaryStatus::kOutOfMemory:
      return "Out of memory";
    case BinaryStatus::kSuccess:
    case BinaryStatus::kAuthContinue:
      return {};
  }
  return {};
}

std::size_t compose_binary_error(std::span<char, kMaxBinaryErrorSize> out, uint8_t opcode,
                                 uint32_t opaque, BinaryStatus status, std::string_view text) {
  if (text.empty()) text = binary_status_text(status);
  text = text.substr(0, kMaxBinaryErrorSize - kBinaryHeaderSize);
  BinaryResponseHeader header;
  header.opcode = opcode;
  header.status = status;
  header.body_length = static_cast<uint32_t>(text.size());
  header.opaque = opaque;
  encode_binary_response_header(header, out.first<kBinaryHeaderSize>());
  std::memcpy(out.data() + kBinaryHeaderSize, text.data(), text.size());
  return kBinaryHeaderSize + text.size();
}

std::size_t compose_binary_stat(std::span<char> out, uint8_t opcode, uint32_t opaque,
                                std::string_view name, std::string_view value) {
  BinaryResponseHeader header;
  header.opcode = opcode;
  header.key_length = static_cast<uint16_t>(name.size());
  header.body_length = static_cast<uint32_t>(name.size() + value.size());
  header.opaque = opaque;
  encode_binary_response_header(header, out.first<kBinaryHeaderSize>());
  char* p = out.data() + kBinaryHeaderSize;
  if (!name.empty()) std::memcpy(p, name.data(), name.size());
  if (!value.empty()) std::memcpy(p + name.size(), value.data(), value.size());
  return kBinaryHeaderSize + name.size() + value.size();
}

}  // namespace kioku::protocol
