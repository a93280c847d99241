// protocol/udp_frame.cc — see udp_frame.h.
#include "protocol/udp_frame.h"

namespace kioku::protocol {
namespace {

uint16_t read_be16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

void write_be16(uint16_t value, char* p) {
  p[0] = static_cast<char>(value >> 8);
  p[1] = static_cast<char>(value & 0xff);
}

}  // namespace

std::optional<UdpFrameHeader> decode_udp_header(std::string_view datagram) {
  if (datagram.size() < kUdpHeaderSize) return std::nullopt;
  const char* p = datagram.data();
  return UdpFrameHeader{read_be16(p), read_be16(p + 2), read_be16(p + 4), read_be16(p + 6)};
}

void encode_udp_header(const UdpFrameHeader& header, char* out) {
  write_be16(header.request_id, out);
  write_be16(header.sequence, out + 2);
  write_be16(header.total, out + 4);
  write_be16(header.reserved, out + 6);
}

std::size_t udp_datagram_count(std::size_t payload_bytes) {
  if (payload_bytes == 0) return 1;
  return (payload_bytes + kUdpMaxPayload - 1) / kUdpMaxPayload;
}

}  // namespace kioku::protocol
