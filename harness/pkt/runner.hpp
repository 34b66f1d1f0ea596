// Runs one packetdrill script against a fresh Gantry node in the simulator.
//
// The node under test is an ordinary sim node with the kernel's network stack
// and a small "agent" app that executes the script's system calls, each on a
// fiber of its own, against Gantry's TCP socket API. The remote peer is the
// interpreter itself: it owns the NIC of a second node (NicOwner::app) on a
// zero-latency link, injects the `<` segments from there, answers ARP for the
// remote address, and matches every TCP segment the node sends against the
// next `>` line. Time is the world's virtual time: script time 0 is
// `epoch_ns` after boot, and timing is checked with the script's
// --tolerance_usecs (zero when it gives none).
#pragma once

#include "script.hpp"
#include "segment.hpp"

#include <string>
#include <vector>

namespace gantry::pkt {

enum class Outcome : std::uint8_t {
    passed,         // every event happened as the script says
    diverged,       // passed except for documented, permitted divergences
    failed,         // a mismatch: `line` and `message` say which and how
    not_applicable, // uses something Gantry does not have (IPv6, a sysctl, ...)
    error,          // the interpreter's own problem: unreadable, unparsable script
};
std::string_view to_string(Outcome outcome);

struct RunOptions {
    // `#ifdef` names: STANDARD selects the scripts' RFC behaviour over their
    // FreeBSD-specific blocks.
    std::vector<std::string> defines = {"STANDARD"};
    OptionMatch option_match = OptionMatch::semantic;
    // Mismatch fields that count as permitted divergences instead of failures
    // (`--permit`). None by default: Gantry now offers its window and sends
    // D-SACK as FreeBSD does, so "window-sws" and "dsack" are failures too.
    std::vector<std::string> permitted = {};
    bool verbose = false; // print each event as it runs
    std::string pcap_path = {}; // capture the wire between node and peer (libpcap)
};

struct ScriptResult {
    std::string path;
    Outcome outcome = Outcome::error;
    int line = 0;            // where it failed, stopped or could not go on
    std::string message;     // expected vs actual, or the reason
    std::vector<std::string> divergences; // "line N: field expected X, got Y"
    double virtual_seconds = 0;
    std::vector<std::string> log; // with verbose
};

ScriptResult run_script(const std::string& path, const std::string& text,
                        const RunOptions& options);
// Reads the file (error outcome when it cannot) and runs it.
ScriptResult run_script_file(const std::string& path, const RunOptions& options);

} // namespace gantry::pkt
