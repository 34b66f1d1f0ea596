// `gantry replay`: feeds the client side of a capture to a Gantry node running
// an app in the simulator and compares the node's answers with the recorded
// server's (docs/replay.md). The capture is read by capture.hpp; this runs the
// world and judges; report.cpp prints the outcome as text and JSON.
#pragma once

#include "capture.hpp"
#include "packet.hpp"

#include <optional>
#include <string>
#include <vector>

namespace gantry::harness::replay {

// Where the app runs (target.hpp): the simulator, a hosted process or a VM.
enum class TargetKind : u8 { sim, hosted, vm };
const char* target_name(TargetKind kind);

enum class Timing : u8 {
    recorded, // each client frame at its recorded offset (times `scale`)
    asap,     // each client frame as soon as what it answers has come back
};

struct ReplayOptions {
    std::string app;
    std::vector<std::string> app_args;
    usize memory_bytes = 16 * 1024 * 1024;
    std::optional<net::Ipv4Address> server; // the recorded server; default: inferred
    std::optional<net::Ipv4Address> client; // only this client's traffic
    std::optional<net::Ipv4Address> node_ip; // the node's address, if not the server's
    u8 prefix = 24;
    Timing timing = Timing::recorded;
    double scale = 1.0;
    TimeNs warmup_ns = 10 * ns_per_ms; // the node boots this long before the first frame
    TimeNs wait_ns = 1 * ns_per_s;     // how long a frame waits for the answers before it
    TimeNs settle_ns = 2 * ns_per_s;   // run on after the last client frame
    u64 seed = 1;
    usize mtu = 1500;
    std::string pcap_path;  // capture of the replay's link
    std::string trace_path; // the world's trace
    // The live targets (hosted, vm): the run is bounded by `timeout_s` in all,
    // the app must print a line containing `ready_text` within
    // `ready_timeout_ns`, and the settling period ends `quiet_ns` after the
    // last recorded answer has come.
    TargetKind target = TargetKind::sim;
    std::string bin_dir;    // hosted apps (default: beside the gantry binary)
    std::string image;      // vm: an image path (default: build/images/APP.elf)
    std::string accel = "tcg";
    std::string vm_memory = "64M";
    std::string ready_text = "serving";
    TimeNs ready_timeout_ns = 20 * ns_per_s;
    TimeNs quiet_ns = 200 * ns_per_ms;
    int timeout_s = 60;
};

// One recorded or observed message of a conversation.
struct Item {
    TimeNs time = 0;  // relative: capture time since the first frame, or virtual
                      // time since the first client frame was due
    u64 ref = 0;      // capture record number, or the node's frame number
    std::string summary;
    std::vector<u8> payload;
    u64 offset = 0;   // TCP data: the first byte's stream offset
    u64 length = 0;   // TCP data: how many bytes
};

struct Divergence {
    std::string conversation;
    std::string kind;   // "different", "missing", "unexpected", "node-failed"
    std::string what;   // one line
    std::optional<Item> expected;
    std::optional<Item> actual;
    std::vector<std::string> detail;  // field or byte differences
    std::vector<std::string> context; // the recorded exchange just before
    TimeNs time = 0;
};

struct ConversationOutcome {
    std::string key;
    Proto proto;
    usize expected = 0; // items (TCP: events + data segments)
    usize actual = 0;
    u64 expected_bytes = 0;
    u64 actual_bytes = 0;
    bool matched = false;
};

struct ReplayResult {
    std::string capture_path;
    std::string link_name;
    u64 records = 0;
    u64 selected = 0;
    std::string server_ip;
    std::string server_mac; // recorded
    std::string node_mac;
    std::string node_ip;    // set when --node-ip moved the node off the recorded address
    std::vector<std::string> clients;
    u64 client_frames_fed = 0;
    u64 client_frames_skipped = 0; // ARP replies and gratuitous ARPs the replay answers itself
    u64 server_frames = 0;
    u64 server_arp_requests = 0;   // not compared: the node's ARP cache decides them
    u64 other_frames = 0;          // neither to nor from the server
    u64 node_frames = 0;
    u64 node_arp_requests = 0;
    u64 arp_answered = 0;
    u64 waits_timed_out = 0;       // client frames sent before their answers came
    std::string target = "sim";     // the platform the app ran on
    std::string target_detail;      // how it was started (live targets)
    TimeNs ready_ns = 0;            // live: from launch to the ready line
    TimeNs end_ns = 0;              // the run's end: virtual time (sim) or wall clock
    std::vector<ConversationOutcome> conversations;
    std::vector<std::string> node_failures;
    std::optional<Divergence> first;
    bool matched() const { return !first.has_value(); }
};

// Throws CaptureError for a capture it cannot replay (no server found, a frame
// cut short by the snap length) and std::invalid_argument for an unknown app.
ReplayResult run_replay(const Capture& capture, const ReplayOptions& options);

// True once Ctrl-C or SIGTERM ended a live run: a differential run stops
// there instead of starting the next target.
bool live_run_interrupted();

std::string text_report(const ReplayResult& result);
std::string json_report(const ReplayResult& result);

// A differential run: one capture replayed on several targets. The outcome of
// each is reduced to what it found (a match, or the first divergence's kind,
// conversation and first detail); targets that found different things show a
// difference that depends on the platform, even when every one of them
// diverged from the recording.
bool platform_dependent(const std::vector<ReplayResult>& results);
std::string differential_text(const std::vector<ReplayResult>& results);
std::string differential_json(const std::vector<ReplayResult>& results);

} // namespace gantry::harness::replay
