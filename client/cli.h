// client/cli.h — kioku-cli: the cluster client from the command line.
//
// Owns: kioku-cli's option table, its commands (one per memcached operation, plus ring, nodes,
// load, verify, watch and shell) and their human and --json output. Must not: know the wire
// protocol; everything goes through KiokuClient.
#pragma once

namespace kioku::client {

// Runs kioku-cli; returns the process exit status.
int run_cli(int argc, char** argv);

}  // namespace kioku::client
