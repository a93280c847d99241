// tests/client/catch_main.cc — the Catch2 main for client_tests, compiled once.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
