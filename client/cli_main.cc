// client/cli_main.cc — kioku-cli's entry point; see cli.h.
#include "client/cli.h"

int main(int argc, char** argv) { return kioku::client::run_cli(argc, argv); }
