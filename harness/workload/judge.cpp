// The http and kv_linearizable checks: judged after the run from what the
// workload clients recorded (docs/scenarios.md, "Workload clients").
#include "judge.hpp"

#include <gantry/net/address.hpp>

#include <fstream>
#include <sstream>

namespace gantry::harness {

namespace {

constexpr TimeNs never = deadline_none; // an unanswered operation's completion

bool applies_to(const CheckSpec& check, const Scenario& scenario, usize client)
{
    return node_selected(check.node, scenario.nodes.at(client).name);
}

// The file an http_client's path names on its server's disk 0, when that disk
// was made from a directory: the digest a correct body must have.
std::string expected_digest(const Scenario& scenario, const HttpRecord& record,
                            std::map<std::string, std::string>& cache)
{
    u32 server = scenario.nodes.at(record.client).workload.server;
    const NodeSpec* served_by = nullptr;
    for (const NodeSpec& node : scenario.nodes)
        if (node.ip == server && !node.disks.empty() && node.disks[0].image_is_directory)
            served_by = &node;
    if (!served_by)
        return {};
    std::string path = record.path.substr(1, record.path.find_first_of("?#") - 1);
    if (path.empty() || path.back() == '/')
        path += "index.html";
    std::string file = served_by->disks[0].image + "/" + path;
    if (auto found = cache.find(file); found != cache.end())
        return found->second;
    std::ifstream in(file, std::ios::binary);
    std::string digest;
    if (in) {
        std::stringstream bytes;
        bytes << in.rdbuf();
        std::string data = bytes.str();
        digest = sha256_hex(Bytes(reinterpret_cast<const u8*>(data.data()), data.size()));
    }
    return cache[file] = digest;
}

u64 planned_requests(const Scenario& scenario, const CheckSpec& check)
{
    u64 planned = 0;
    for (usize index = 0; index < scenario.nodes.size(); ++index) {
        const WorkloadSpec& spec = scenario.nodes[index].workload;
        if (spec.kind != WorkloadKind::http_client || !applies_to(check, scenario, index))
            continue;
        for (const std::string& path : spec.paths)
            planned += check.http.path.empty() || check.http.path == path ? spec.repeat : 0;
    }
    return planned;
}

std::string describe_request(const Scenario& scenario, const HttpRecord& record)
{
    return scenario.nodes.at(record.client).name + "'s GET " + record.path + " at " +
           std::to_string(record.started / ns_per_ms) + " ms";
}

} // namespace

CheckOutcome judge_http(const Scenario& scenario, const CheckSpec& check, const WorkloadLog& log)
{
    const HttpCheckSpec& spec = check.http;
    std::map<std::string, std::string> digests;
    u64 good = 0;
    u64 errors = 0;
    std::string first_error;
    for (const HttpRecord& record : log.http) {
        if (!applies_to(check, scenario, record.client) ||
            (!spec.path.empty() && spec.path != record.path))
            continue;
        if (!record.error.empty()) {
            if (errors++ == 0)
                first_error = describe_request(scenario, record) + ": " + record.error;
            continue;
        }
        if (record.status != spec.status)
            return {&check, false, describe_request(scenario, record) + " got status " +
                                       std::to_string(record.status) + ", expected " +
                                       std::to_string(spec.status)};
        std::string want = spec.sha256.empty() ? expected_digest(scenario, record, digests)
                                               : spec.sha256;
        if (!want.empty() && record.sha256 != want)
            return {&check, false, describe_request(scenario, record) + ": the body's SHA-256 " +
                                       "is " + record.sha256 + ", expected " + want + " (" +
                                       std::to_string(record.body_bytes) + " bytes)"};
        TimeNs took = record.finished - record.started;
        if (spec.latency_max_ns != 0 && took > spec.latency_max_ns)
            return {&check, false, describe_request(scenario, record) + " took " +
                                       std::to_string(took / ns_per_us) + " us, more than " +
                                       std::to_string(spec.latency_max_ns / ns_per_us) + " us"};
        ++good;
    }
    u64 needed = spec.min.value_or(planned_requests(scenario, check));
    std::string detail = std::to_string(good) + " good responses (" + std::to_string(needed) +
                         " needed), " + std::to_string(errors) + " transport errors (" +
                         std::to_string(spec.errors_max) + " tolerated)";
    if (errors > spec.errors_max)
        return {&check, false, detail + "; the first: " + first_error};
    return {&check, good >= needed, detail};
}

namespace {

struct KvKey {
    u32 server;
    std::string key;
    auto operator<=>(const KvKey&) const = default;
};

TimeNs completion(const KvRecord& record)
{
    return record.acknowledged && record.answered ? *record.answered : never;
}

bool is_write(const KvRecord& record) { return record.op != KvRecord::Op::get; }

// The read saw `source` (nullptr: the initial, empty state), which an
// acknowledged write that began after `source` completed and completed before
// the read began should have replaced: that write was lost.
const KvRecord* lost_write(const std::vector<const KvRecord*>& history, const KvRecord& read,
                           const KvRecord* source)
{
    TimeNs source_done = source ? completion(*source) : 0;
    if (source_done == never)
        return nullptr; // an unanswered write may take effect at any time
    for (const KvRecord* write : history) {
        if (write == source || !is_write(*write) || completion(*write) == never)
            continue;
        if (write->invoked > source_done && completion(*write) < read.invoked)
            return write;
    }
    return nullptr;
}

// Values can be 256 bytes; a report needs only enough to tell them apart.
std::string short_value(const std::string& value)
{
    constexpr usize shown_max = 24;
    return value.size() <= shown_max ? value : value.substr(0, shown_max) + "...";
}

std::string describe_op(const KvRecord& record)
{
    const char* verb = record.op == KvRecord::Op::set ? "SET " : record.op == KvRecord::Op::get
                                                                     ? "GET "
                                                                     : "DEL ";
    std::string text = verb + record.key;
    if (record.op == KvRecord::Op::set)
        text += "=" + short_value(record.value);
    text += " invoked at " + std::to_string(record.invoked / ns_per_us) + " us";
    if (record.answered)
        text += ", answered at " + std::to_string(*record.answered / ns_per_us) + " us";
    return text;
}

// One read against the key's history; an empty string when it is consistent.
std::string judge_read(const std::vector<const KvRecord*>& history, const KvRecord& read)
{
    std::vector<const KvRecord*> sources;
    if (read.found) {
        for (const KvRecord* write : history)
            if (write->op == KvRecord::Op::set && write->value == read.value)
                sources.push_back(write);
        if (sources.empty())
            return describe_op(read) + " returned '" + short_value(read.value) +
                   "', which no client wrote";
        if (sources.front()->invoked > *read.answered)
            return describe_op(read) + " returned '" + short_value(read.value) +
                   "' before it was written";
    } else {
        sources.push_back(nullptr); // the initial state
        for (const KvRecord* write : history)
            if (write->op == KvRecord::Op::del && write->invoked < *read.answered)
                sources.push_back(write);
    }
    const KvRecord* lost = nullptr;
    for (const KvRecord* source : sources) {
        lost = lost_write(history, read, source);
        if (!lost)
            return {};
    }
    return describe_op(read) + (read.found ? " returned '" + short_value(read.value) + "'" : " found nothing") +
           ", but " + describe_op(*lost) + " was acknowledged before the read began: an "
           "acknowledged write was lost";
}

} // namespace

CheckOutcome judge_kv(const CheckSpec& check, const WorkloadLog& log)
{
    std::map<KvKey, std::vector<const KvRecord*>> histories;
    u64 acknowledged_writes = 0;
    u64 reads = 0;
    for (const KvRecord& record : log.kv) {
        histories[{record.server, record.key}].push_back(&record);
        acknowledged_writes += is_write(record) && record.acknowledged ? 1 : 0;
    }
    for (const auto& [key, history] : histories) {
        for (const KvRecord* record : history) {
            if (record->op != KvRecord::Op::get || !record->acknowledged)
                continue;
            ++reads;
            if (std::string violation = judge_read(history, *record); !violation.empty())
                return {&check, false, violation};
        }
    }
    std::string detail = std::to_string(log.kv.size()) + " operations, " +
                         std::to_string(acknowledged_writes) + " acknowledged writes, " +
                         std::to_string(reads) + " reads checked";
    if (acknowledged_writes < check.kv.min_acknowledged)
        return {&check, false, detail + "; at least " +
                                   std::to_string(check.kv.min_acknowledged) +
                                   " acknowledged writes needed"};
    return {&check, true, detail};
}

} // namespace gantry::harness
