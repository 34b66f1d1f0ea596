// kv's wire protocol: one request per line, one reply per line (docs/apps.md).
//
//   SET <key> <value>   -> OK                  (after the record is durable)
//   GET <key>           -> VALUE <value> | NOT_FOUND
//   DEL <key>           -> DELETED | NOT_FOUND (after the record is durable)
//   PING                -> PONG
//   STATS               -> STATS keys=N records=N commits=N log_sector=N
//   anything else       -> ERR <reason>
//
// Keys: 1..64 bytes without spaces. Values: 0..256 bytes, the rest of the
// line after one space (spaces allowed). Lines end with \n (a \r before it is
// dropped) and are at most line_bytes_max long.
#pragma once

#include <gantry/kernel.hpp>
#include <gantry/net/stack/stack.hpp>

namespace kv {

using namespace gantry;

constexpr u16 kv_port = 7070;
constexpr usize line_bytes_max = 512;

// The server (server.cpp): runs until shutdown; 0 on a clean stop.
int serve(Kernel& kernel, net::NetStack& stack);

} // namespace kv
