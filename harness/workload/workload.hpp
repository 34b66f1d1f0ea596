// Workload clients (docs/scenarios.md, "Workload clients"): built-in node
// kinds that drive a service from inside the simulated world and record what
// they saw in a WorkloadLog that outlives the nodes, so the runner can judge
// it after the run (the http and kv_linearizable checks). They are apps like
// any other: they run on their node's kernel, crash with it and restart with
// it; only their observations survive, as a client's notes would.
#pragma once

#include "scenario.hpp"

#include <gantry/app.hpp>
#include <gantry/sim/world.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gantry::harness {

// One HTTP request an http_client made.
struct HttpRecord {
    usize client;          // index into the scenario's nodes
    std::string path;
    int status = 0;        // 0: no response (see error)
    u64 body_bytes = 0;
    std::string sha256;    // of the body, lowercase hex
    std::string error;     // transport error: refused, reset, timed out, malformed
    TimeNs started = 0;
    TimeNs finished = 0;
};

// One kv operation, as the client saw it: invoked, then answered or not.
struct KvRecord {
    enum class Op : u8 { set, get, del };
    usize client;
    u32 server;
    Op op;
    std::string key;
    std::string value;       // set: the value written; get: the value read
    bool found = false;      // get: VALUE (true) or NOT_FOUND
    TimeNs invoked = 0;
    std::optional<TimeNs> answered; // nullopt: no answer (it may or may not have happened)
    bool acknowledged = false;      // set/del: OK/DELETED/NOT_FOUND; get: a value or NOT_FOUND
};

struct WorkloadLog {
    std::vector<HttpRecord> http;
    std::vector<KvRecord> kv;
    // What the built-in kinds counted, by node index; counter checks read
    // them as dhcp.*, dns.* and syn_flood.*.
    std::vector<std::map<std::string, u64>> service_counters;
};

// The factory for a workload node; the spec and the log must outlive the world.
sim::SimAppFactory workload_factory(const NodeSpec& node, WorkloadLog& log, usize node_index);

// Which NIC owner a workload kind needs (the SYN flooder writes raw frames).
sim::NicOwner workload_nic_owner(WorkloadKind kind);

// SHA-256 (FIPS 180-4), incrementally.
class Sha256 {
public:
    Sha256();
    void update(Bytes data);
    std::string hex_digest(); // finishes; the object is spent afterwards

private:
    void block(const u8* data);
    u32 m_state[8];
    u8 m_buffer[64];
    usize m_buffered = 0;
    u64 m_total_bytes = 0;
};
std::string sha256_hex(Bytes data);

} // namespace gantry::harness
