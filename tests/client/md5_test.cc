// tests/client/md5_test.cc — client/md5 against the RFC 1321 appendix A.5 test suite.
#include "client/md5.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

namespace {
std::string hex(const kioku::client::Md5Digest& d) {
  std::string out;
  char byte[3];
  for (uint8_t b : d) {
    std::snprintf(byte, sizeof byte, "%02x", b);
    out += byte;
  }
  return out;
}
}  // namespace

TEST_CASE("md5 matches the RFC 1321 test suite") {
  using kioku::client::md5;
  CHECK(hex(md5("")) == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(hex(md5("a")) == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(hex(md5("abc")) == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(hex(md5("message digest")) == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(hex(md5("abcdefghijklmnopqrstuvwxyz")) == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(hex(md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")) ==
        "d174ab98d277d9f5a5611c2c9f419d9f");
  CHECK(hex(md5("1234567890123456789012345678901234567890123456789012345678901234567890123456789"
                "0")) == "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("md5 pads correctly at every length around the 56- and 64-byte block edges") {
  using kioku::client::md5;
  // Reference digests of "a" repeated n times (coreutils md5sum).
  CHECK(hex(md5(std::string(55, 'a'))) == "ef1772b6dff9a122358552954ad0df65");
  CHECK(hex(md5(std::string(56, 'a'))) == "3b0c8ac703f828b04c6c197006d17218");
  CHECK(hex(md5(std::string(63, 'a'))) == "b06521f39153d618550606be297466d5");
  CHECK(hex(md5(std::string(64, 'a'))) == "014842d480b571495a4a0363793f7367");
  CHECK(hex(md5(std::string(65, 'a'))) == "c743a45e0d2e6a95cb859adae0248435");
  CHECK(hex(md5(std::string(1000, 'a'))) == "cabe45dcc9ae5b66ba86600cca6b8ba8");
}
