// tests/daemon/exposure_warning_test.cc — which listeners earn the start-up warning.
#include "daemon/exposure_warning.h"

#include <catch2/catch.hpp>

using kioku::daemon::exposure_warning;
using kioku::daemon::is_loopback_host;
using kioku::daemon::Settings;

TEST_CASE("loopback hosts are recognised with and without a port", "[daemon][exposure]") {
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.8.9.10:11311"));
  CHECK(is_loopback_host("::1"));
  CHECK(is_loopback_host("[::1]:11211"));
  CHECK(is_loopback_host("localhost"));
  CHECK_FALSE(is_loopback_host("0.0.0.0"));
  CHECK_FALSE(is_loopback_host("::"));
  CHECK_FALSE(is_loopback_host("10.1.2.3"));
  CHECK_FALSE(is_loopback_host(""));
}

TEST_CASE("listening beyond loopback without auth warns", "[daemon][exposure]") {
  Settings settings;
  CHECK(exposure_warning(settings).find("every interface") != std::string::npos);
  settings.listen = {"127.0.0.1"};
  CHECK(exposure_warning(settings).empty());
  settings.listen = {"127.0.0.1", "192.168.1.5"};
  const std::string warning = exposure_warning(settings);
  CHECK(warning.starts_with("kiokud: warning: listening on 192.168.1.5 without authentication"));
  settings.sasl = true;
  CHECK(exposure_warning(settings).empty());
  settings.sasl = false;
  settings.unix_socket = "/tmp/kiokud.sock";
  CHECK(exposure_warning(settings).empty());
}
