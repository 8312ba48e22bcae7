// gate: see README.md. Everything happens in cli::main.
#include "cli/commands.hpp"

int main(int argc, char **argv) {
  return gate::cli::main(argc, argv);
}
