// The simulator's panic seam: a failed assertion inside a node is a recorded
// node failure (file, line, message, seed, virtual time) and that node stops;
// the process and the other nodes go on. Outside a node it is a simulator bug:
// report and abort, like the hosted seam.
//
// This file is compiled into the OBJECT library gantry_panic_sim and reaches
// binaries as an object file, never as an archive member, so it always wins
// over hosted/panic.cpp (gantry_panic_abort), which the linker then never
// pulls out of its archive.
#include <gantry/assert.hpp>
#include <gantry/sim/world.hpp>

#include <cstdio>
#include <cstdlib>

namespace gantry::sim {

World* running_world();

// world.cpp checks this, so a binary with the world but without this seam fails
// to link instead of aborting on the first node failure.
extern const char panic_seam_name[] = "sim";

} // namespace gantry::sim

namespace gantry::arch {

void panic(const char* file, int line, const char* message)
{
    if (sim::World* world = sim::running_world())
        world->fail_running_node(file, line, message);
    std::fflush(stdout);
    std::fprintf(stderr, "gantry sim: panic outside any node at %s:%d: %s\n", file, line,
                 message);
    std::fflush(stderr);
    std::abort();
}

} // namespace gantry::arch
