// tests/protocol/udp_frame_test.cc — memcached's UDP frame header codec.
#include "protocol/udp_frame.h"

#include <catch2/catch.hpp>
#include <string>

using namespace kioku::protocol;

TEST_CASE("udp header decodes four big-endian 16-bit words") {
  const std::string bytes("\xab\xcd\x00\x02\x00\x03\x01\x00get k\r\n", 15);
  auto header = decode_udp_header(bytes);
  REQUIRE(header.has_value());
  CHECK(header->request_id == 0xabcd);
  CHECK(header->sequence == 2);
  CHECK(header->total == 3);
  CHECK(header->reserved == 0x100);
}

TEST_CASE("udp datagram shorter than the header has none") {
  CHECK_FALSE(decode_udp_header(std::string_view("\x00\x01\x00\x00\x00", 5)).has_value());
  CHECK_FALSE(decode_udp_header({}).has_value());
  CHECK(decode_udp_header(std::string(8, '\0')).has_value());
}

TEST_CASE("udp header encodes what it decodes") {
  char out[kUdpHeaderSize];
  encode_udp_header({0x1234, 0xfffe, 7, 0}, out);
  CHECK(std::string(out, sizeof out) == std::string("\x12\x34\xff\xfe\x00\x07\x00\x00", 8));
  auto back = decode_udp_header(std::string_view(out, sizeof out));
  REQUIRE(back.has_value());
  CHECK(back->request_id == 0x1234);
  CHECK(back->sequence == 0xfffe);
  CHECK(back->total == 7);
}

TEST_CASE("udp replies split into datagrams of 1392 payload bytes") {
  CHECK(kUdpMaxPayload == 1392);
  CHECK(udp_datagram_count(0) == 1);
  CHECK(udp_datagram_count(1) == 1);
  CHECK(udp_datagram_count(1392) == 1);
  CHECK(udp_datagram_count(1393) == 2);
  CHECK(udp_datagram_count(5025) == 4);  // "VALUE big 0 5000\r\n" + value + "\r\nEND\r\n"
}
