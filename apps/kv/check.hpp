// kv's durability checker (check.cpp): a client that records every answer it
// got and verifies reads against that record (docs/apps.md, "kv check").
#pragma once

#include <gantry/kernel.hpp>
#include <gantry/net/stack/stack.hpp>

namespace kv {

using namespace gantry;

// args: check A.B.C.D [OPS] [KEYS] [PREFIX]
int run_check(Kernel& kernel, net::NetStack& stack, AppArgs args);

} // namespace kv
