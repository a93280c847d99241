// protocol/udp_frame.h — memcached's 8-byte UDP frame header (pure encode/decode).
//
// Owns: the header layout: request id, sequence number, datagram count, reserved; each a
// 16-bit big-endian word. Must not: do I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kioku::protocol {

inline constexpr std::size_t kUdpHeaderSize = 8;
// memcached 1.6.18 sends datagrams of at most 1400 bytes, header included (probed: a 5000-byte
// value comes back as 1400, 1400, 1400 and 857 bytes).
inline constexpr std::size_t kUdpMaxDatagram = 1400;
inline constexpr std::size_t kUdpMaxPayload = kUdpMaxDatagram - kUdpHeaderSize;

struct UdpFrameHeader {
  uint16_t request_id = 0;
  uint16_t sequence = 0;
  uint16_t total = 0;
  uint16_t reserved = 0;
};

// The header of a client datagram; nullopt for one shorter than the header. The caller
// decides what the fields allow (memcached drops requests whose total is not 1).
std::optional<UdpFrameHeader> decode_udp_header(std::string_view datagram);

// Writes the 8 header bytes to `out`.
void encode_udp_header(const UdpFrameHeader& header, char* out);

// How many datagrams a reply of `payload_bytes` needs (at least one: an empty reply still
// gets its header).
std::size_t udp_datagram_count(std::size_t payload_bytes);

}  // namespace kioku::protocol
