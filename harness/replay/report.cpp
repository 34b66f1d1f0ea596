// The replay's report: a text page for people (the first divergence with the
// recorded exchange just before it) and the same facts as JSON for tools.
#include "replay.hpp"

#include <algorithm>
#include <cstdio>

namespace gantry::harness::replay {

namespace {

std::string seconds(TimeNs time)
{
    char text[32];
    std::snprintf(text, sizeof text, "+%.6fs", static_cast<double>(time) / 1e9);
    return text;
}

std::string item_line(const char* label, const char* origin, const Item& item)
{
    return std::string("  ") + label + " (" + origin + " " + std::to_string(item.ref) + ", " +
           seconds(item.time) + "): " + item.summary + "\n";
}

std::string json_string(const std::string& text)
{
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_strings(const std::vector<std::string>& list)
{
    std::string out = "[";
    for (usize i = 0; i < list.size(); ++i)
        out += (i ? ", " : "") + json_string(list[i]);
    return out + "]";
}

std::string json_item(const std::optional<Item>& item, const char* ref_name)
{
    if (!item)
        return "null";
    return "{\"" + std::string(ref_name) + "\": " + std::to_string(item->ref) +
           ", \"time_ns\": " + std::to_string(item->time) +
           ", \"summary\": " + json_string(item->summary) +
           ", \"bytes\": " + std::to_string(item->payload.size()) + "}";
}

} // namespace

std::string text_report(const ReplayResult& r)
{
    std::string out;
    out += "replay: " + r.capture_path + " (" + r.link_name + ", " + std::to_string(r.records) +
           " records, " + std::to_string(r.selected) + " selected)\n";
    out += "target: " + r.target;
    if (!r.target_detail.empty())
        out += " (" + r.target_detail + ")";
    out += "\n";
    out += "server: " + r.server_ip + " (recorded MAC " + r.server_mac + ", node MAC " +
           r.node_mac + (r.node_ip.empty() ? "" : ", node IP " + r.node_ip) + "); clients:";
    for (const std::string& client : r.clients)
        out += " " + client;
    out += "\n";
    out += "fed " + std::to_string(r.client_frames_fed) + " client frames; recorded server sent " +
           std::to_string(r.server_frames) + ", the node " + std::to_string(r.node_frames) +
           " (ARP requests not compared: " + std::to_string(r.server_arp_requests) +
           " recorded, " + std::to_string(r.node_arp_requests) + " from the node, " +
           std::to_string(r.arp_answered) + " answered by the replay)\n";
    if (r.waits_timed_out > 0)
        out += "note: " + std::to_string(r.waits_timed_out) +
               " client frames went out before the node had answered what preceded them\n";
    out += "conversations:\n";
    for (const ConversationOutcome& c : r.conversations) {
        char line[256];
        std::snprintf(line, sizeof line, "  %-44s %4zu recorded %4zu node  %s\n", c.key.c_str(),
                      c.expected, c.actual, c.matched ? "match" : "DIFFERS");
        out += line;
    }
    for (const std::string& failure : r.node_failures)
        out += "node failure: " + failure + "\n";
    if (r.matched()) {
        out += "result: MATCH\n";
        return out;
    }
    const Divergence& d = *r.first;
    out += "first divergence (" + d.kind + "): " + d.conversation + ": " + d.what + "\n";
    if (d.expected)
        out += item_line("expected", "record", *d.expected);
    if (d.actual)
        out += item_line("actual  ", "node frame", *d.actual);
    for (const std::string& line : d.detail)
        out += "  " + line + "\n";
    if (!d.context.empty()) {
        out += "  recorded just before:\n";
        for (const std::string& line : d.context)
            out += "    " + line + "\n";
    }
    out += "result: DIVERGED\n";
    return out;
}

std::string json_report(const ReplayResult& r)
{
    std::string out = "{\n";
    out += "  \"capture\": " + json_string(r.capture_path) + ",\n";
    out += "  \"link_type\": " + json_string(r.link_name) + ",\n";
    out += "  \"records\": " + std::to_string(r.records) + ",\n";
    out += "  \"selected\": " + std::to_string(r.selected) + ",\n";
    out += "  \"server\": {\"ip\": " + json_string(r.server_ip) + ", \"recorded_mac\": " +
           json_string(r.server_mac) + ", \"node_mac\": " + json_string(r.node_mac) + "},\n";
    out += "  \"clients\": " + json_strings(r.clients) + ",\n";
    out += "  \"frames\": {\"client_fed\": " + std::to_string(r.client_frames_fed) +
           ", \"client_skipped\": " + std::to_string(r.client_frames_skipped) +
           ", \"server_recorded\": " + std::to_string(r.server_frames) +
           ", \"server_arp_requests\": " + std::to_string(r.server_arp_requests) +
           ", \"other\": " + std::to_string(r.other_frames) +
           ", \"node\": " + std::to_string(r.node_frames) +
           ", \"node_arp_requests\": " + std::to_string(r.node_arp_requests) +
           ", \"arp_answered\": " + std::to_string(r.arp_answered) +
           ", \"waits_timed_out\": " + std::to_string(r.waits_timed_out) + "},\n";
    out += "  \"target\": " + json_string(r.target) + ",\n";
    out += "  \"node_ip\": " + json_string(r.node_ip.empty() ? r.server_ip : r.node_ip) + ",\n";
    out += "  \"target_detail\": " + json_string(r.target_detail) + ",\n";
    out += "  \"ready_ns\": " + std::to_string(r.ready_ns) + ",\n";
    out += "  \"end_ns\": " + std::to_string(r.end_ns) + ",\n";
    out += "  \"clock\": " + json_string(r.target == "sim" ? "virtual" : "wall") + ",\n";
    out += "  \"conversations\": [";
    for (usize i = 0; i < r.conversations.size(); ++i) {
        const ConversationOutcome& c = r.conversations[i];
        out += std::string(i ? "," : "") + "\n    {\"key\": " + json_string(c.key) +
               ", \"protocol\": " + json_string(proto_name(c.proto)) +
               ", \"recorded\": " + std::to_string(c.expected) +
               ", \"node\": " + std::to_string(c.actual) +
               ", \"recorded_bytes\": " + std::to_string(c.expected_bytes) +
               ", \"node_bytes\": " + std::to_string(c.actual_bytes) +
               ", \"match\": " + (c.matched ? "true" : "false") + "}";
    }
    out += "\n  ],\n";
    out += "  \"node_failures\": " + json_strings(r.node_failures) + ",\n";
    out += "  \"match\": " + std::string(r.matched() ? "true" : "false") + ",\n";
    if (r.matched()) {
        out += "  \"first_divergence\": null\n}\n";
        return out;
    }
    const Divergence& d = *r.first;
    out += "  \"first_divergence\": {\n";
    out += "    \"conversation\": " + json_string(d.conversation) + ",\n";
    out += "    \"kind\": " + json_string(d.kind) + ",\n";
    out += "    \"what\": " + json_string(d.what) + ",\n";
    out += "    \"time_ns\": " + std::to_string(d.time) + ",\n";
    out += "    \"expected\": " + json_item(d.expected, "record") + ",\n";
    out += "    \"actual\": " + json_item(d.actual, "node_frame") + ",\n";
    out += "    \"detail\": " + json_strings(d.detail) + ",\n";
    out += "    \"context\": " + json_strings(d.context) + "\n";
    out += "  }\n}\n";
    return out;
}

namespace {

// What a target found, in the terms that must agree across platforms.
std::string finding(const ReplayResult& r)
{
    if (r.matched())
        return "match";
    const Divergence& d = *r.first;
    return d.kind + "|" + d.conversation + "|" + d.what + "|" +
           (d.detail.empty() ? std::string() : d.detail.front());
}

std::string names_with(const std::vector<ReplayResult>& results, const std::string& found)
{
    std::string names;
    for (const ReplayResult& r : results)
        if (finding(r) == found)
            names += (names.empty() ? "" : ", ") + r.target;
    return names;
}

} // namespace

bool platform_dependent(const std::vector<ReplayResult>& results)
{
    for (const ReplayResult& r : results)
        if (finding(r) != finding(results.front()))
            return true;
    return false;
}

std::string differential_text(const std::vector<ReplayResult>& results)
{
    std::string out = "differential run on " + std::to_string(results.size()) + " targets:\n";
    for (const ReplayResult& r : results) {
        char line[64];
        std::snprintf(line, sizeof line, "  %-7s %s", r.target.c_str(),
                      r.matched() ? "MATCH" : "DIVERGED  ");
        out += line;
        if (!r.matched())
            out += r.first->kind + ": " + r.first->conversation + ": " + r.first->what;
        out += "\n";
    }
    if (!platform_dependent(results)) {
        out += results.front().matched()
                   ? "verdict: every target matches the recording\n"
                   : "verdict: every target diverges the same way: the app differs from the "
                     "recording, not the platforms from each other\n";
        return out;
    }
    out += "verdict: PLATFORM-DEPENDENT: the targets disagree";
    std::vector<std::string> seen;
    for (const ReplayResult& r : results) {
        std::string found = finding(r);
        if (std::find(seen.begin(), seen.end(), found) != seen.end())
            continue;
        seen.push_back(found);
        std::string names = names_with(results, found);
        bool one = names.find(',') == std::string::npos;
        out += (seen.size() == 1 ? " (" : "; ") + names +
               (found == "match" ? (one ? " matches" : " match")
                                 : (one ? " diverges: " : " diverge: ") + r.first->kind);
    }
    return out + ")\n";
}

std::string differential_json(const std::vector<ReplayResult>& results)
{
    bool all_match = std::all_of(results.begin(), results.end(),
                                 [](const ReplayResult& r) { return r.matched(); });
    std::string out = "{\n\"differential\": true,\n";
    out += std::string("\"all_match\": ") + (all_match ? "true" : "false") + ",\n";
    out += std::string("\"platform_dependent\": ") +
           (platform_dependent(results) ? "true" : "false") + ",\n";
    out += "\"targets\": [\n";
    for (usize i = 0; i < results.size(); ++i)
        out += (i ? ",\n" : "") + json_report(results[i]);
    return out + "]\n}\n";
}

} // namespace gantry::harness::replay
