// Unit tests for daemon/prefix_stats: what counts under which prefix, the dump's order and
// format, and the bound on how many prefixes are kept.
#include "daemon/prefix_stats.h"

#include <catch2/catch.hpp>
#include <string>

using kioku::daemon::murmur3_32;
using kioku::daemon::PrefixStats;

TEST_CASE("murmur3_32 matches the reference vectors", "[daemon][prefix_stats]") {
  // MurmurHash3_x86_32 with seed 0 (SMHasher's verification values).
  CHECK(murmur3_32("") == 0u);
  CHECK(murmur3_32("a") == 0x3c2569b2u);
  CHECK(murmur3_32("abc") == 0xb3dd93fau);
  CHECK(murmur3_32("abcd") == 0x43ed676au);
  CHECK(murmur3_32("Hello, world!") == 0xc0363e43u);
}

TEST_CASE("prefix stats count only while on, under the key's first delimiter",
          "[daemon][prefix_stats]") {
  PrefixStats stats(':');
  stats.record_get("user:1", true);  // off: not counted
  CHECK(stats.dump() == "END\r\n");
  stats.set_enabled(true);
  stats.record_get("user:1", true);
  stats.record_get("user:2", false);
  stats.record_set("user:1");
  stats.record_delete("user:1:x");  // the prefix ends at the first delimiter
  stats.record_get("plain", true);  // no delimiter: not counted
  CHECK(stats.dump() == "PREFIX user get 2 hit 1 set 1 del 1\r\nEND\r\n");
  stats.set_enabled(false);
  stats.record_set("user:3");
  CHECK(stats.dump() == "PREFIX user get 2 hit 1 set 1 del 1\r\nEND\r\n");  // kept while off
  stats.clear();
  CHECK(stats.dump() == "END\r\n");

  PrefixStats slashes('/');
  slashes.set_enabled(true);
  slashes.record_set("a:b/c");
  slashes.record_set("/root");  // empty prefix
  CHECK(slashes.dump() ==
        "PREFIX  get 0 hit 0 set 1 del 0\r\nPREFIX a:b get 0 hit 0 set 1 del 0\r\nEND\r\n");
}

TEST_CASE("the dump lists prefixes in memcached's order", "[daemon][prefix_stats]") {
  // Bucket murmur3 % 256 ascending, newest first within a bucket: as memcached 1.6.18 listed
  // these (probed): "" 0, b 3, l 44, m 92, c 95, o and d 115, p 154, n 172, a 178, k 209.
  PrefixStats stats(':');
  stats.set_enabled(true);
  for (const char* key :
       {"a:1", "b:1", "c:1", "d:1", "k:1", "l:1", "m:1", "n:1", "o:1", "p:1", ":x"})
    stats.record_get(key, false);
  std::string order;
  const std::string dump = stats.dump();
  for (std::size_t at = 0; (at = dump.find("PREFIX ", at)) != std::string::npos; at += 7)
    order += dump.substr(at + 7, dump.find(' ', at + 7) - at - 7) + ",";
  CHECK(order == ",b,l,m,c,o,d,p,n,a,k,");
}

TEST_CASE("prefix stats keep at most kMaxPrefixes prefixes", "[daemon][prefix_stats]") {
  PrefixStats stats(':');
  stats.set_enabled(true);
  for (std::size_t i = 0; i < PrefixStats::kMaxPrefixes + 10; ++i)
    stats.record_set(std::string("p").append(std::to_string(i)).append(":k"));  // GCC 12 -Wrestrict

  stats.record_set("p0:k");  // an existing prefix still counts
  const std::string dump = stats.dump();
  std::size_t rows = 0;
  for (std::size_t at = 0; (at = dump.find("PREFIX ", at)) != std::string::npos; at += 7) ++rows;
  CHECK(rows == PrefixStats::kMaxPrefixes);
  CHECK(dump.find("PREFIX p0 get 0 hit 0 set 2 del 0\r\n") != std::string::npos);
  CHECK(dump.find(std::string("PREFIX p").append(std::to_string(PrefixStats::kMaxPrefixes))) ==
        std::string::npos);
}
