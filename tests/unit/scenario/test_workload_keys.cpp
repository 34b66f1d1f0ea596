// The scenario keys of workload clients, services, random_within and disk
// faults, the newer chaos kinds and node patterns: what the loader accepts,
// and what random faults and chaos blocks become for a seed.
#include "scenario.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace gantry;
using namespace gantry::harness;

namespace {

const char* lan = R"(name: w
duration: 10s
nodes:
  - {name: web, app: httpd, ip: 10.0.0.1/24, disks: [{size: 1M}]}
  - name: browser
    http_client: {server: 10.0.0.1, paths: [/, /a.txt], repeat: 3, read_pause: 1s, timeout: 2s}
    ip: 10.0.0.2/24
  - name: writer
    kv_client: {server: 10.0.0.1, ops: 50, keys: 4, get_percent: 20, del_percent: 10, value_bytes: 100}
    ip: 10.0.0.3/24
  - name: flood
    syn_flood: {target: 10.0.0.1, rate: 2000/s, for: 1s}
    ip: 10.0.0.4/24
  - name: dhcpd
    dhcp_server: {pool: [10.0.0.100, 10.0.0.110], lease: 10min, router: 10.0.0.1, dns: [10.0.0.5]}
    ip: 10.0.0.6/24
  - name: ns
    dns_server: {records: {www.example.test: 10.0.0.1}, ttl: 30s}
    ip: 10.0.0.5/24
  - {name: host-1, app: netinfo, dhcp: true}
  - {name: host-2, app: netinfo, dhcp: true, dns: 10.0.0.5}
switches: [{name: sw}]
links:
  - {between: [web, sw]}
  - {between: [browser, sw]}
  - {between: [writer, sw]}
  - {between: [flood, sw]}
  - {between: [dhcpd, sw]}
  - {between: [ns, sw]}
  - {between: [host-1, sw]}
  - {between: [host-2, sw]}
)";

Scenario load(const std::string& rest)
{
    return load_scenario_text(std::string(lan) + rest, "w.yaml");
}

std::string error_of(const std::string& rest)
{
    try {
        load(rest);
    } catch (const ScenarioError& error) {
        return error.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("scenario: workload clients and services are node kinds")
{
    Scenario s = load("");
    const WorkloadSpec& http = s.nodes[1].workload;
    CHECK(http.kind == WorkloadKind::http_client);
    CHECK(http.server == 0x0a000001);
    CHECK(http.paths == std::vector<std::string>{"/", "/a.txt"});
    CHECK(http.repeat == 3);
    CHECK(http.read_pause_ns == ns_per_s);
    CHECK(http.timeout_ns == 2 * ns_per_s);
    CHECK(s.nodes[1].app == "http_client");
    const WorkloadSpec& kv = s.nodes[2].workload;
    CHECK(kv.kind == WorkloadKind::kv_client);
    CHECK((kv.ops == 50 && kv.keys == 4 && kv.get_percent == 20 && kv.del_percent == 10));
    CHECK(kv.value_bytes == 100);
    CHECK(s.nodes[3].workload.kind == WorkloadKind::syn_flood);
    CHECK(s.nodes[3].workload.rate == 2000);
    const WorkloadSpec& dhcp = s.nodes[4].workload;
    CHECK(dhcp.kind == WorkloadKind::dhcp_server);
    CHECK((dhcp.pool_first == 0x0a000064 && dhcp.pool_last == 0x0a00006e));
    CHECK(dhcp.lease_s == 600);
    CHECK(dhcp.dns_servers == std::vector<u32>{0x0a000005});
    const WorkloadSpec& dns = s.nodes[5].workload;
    REQUIRE(dns.records.size() == 1);
    CHECK(dns.records[0].first == "www.example.test");
    CHECK(dns.ttl_s == 30);
    CHECK(s.nodes[6].dhcp);
    CHECK(s.nodes[7].dns == 0x0a000005);
}

TEST_CASE("scenario: bad workload keys are rejected where they are written")
{
    CHECK_THAT(error_of("checks:\n  - counter: {node: web, name: tcp.retransmit, max: 0}\n"),
               Catch::Contains("did you mean 'tcp.retransmits'"));
    CHECK_THAT(error_of("checks:\n  - counter: {node: web, name: disk.0.writes_torn, max: 0}\n"),
               Catch::Contains("no error"));
    CHECK_THAT(error_of("checks:\n  - counter: {node: web, name: disk.1.reads, max: 0}\n"),
               Catch::Contains("is not a counter of node 'web'"));
    CHECK_THAT(error_of("checks:\n  - counter: {link: web-sw, name: dropped.mtu, min: 3, max: 1}\n"),
               Catch::Contains("'min' is above its 'max'"));
    CHECK_THAT(error_of("checks:\n  - counter: {node: host-*, name: net.drops, max: 0}\n"),
               Catch::Contains("naming one node"));
    CHECK_THAT(error_of("checks:\n  - {node: web, http: {status: 404}}\n"),
               Catch::Contains("node 'web' is no http_client"));
    CHECK_THAT(error_of("checks:\n  - http: {sha256: ABC}\n"),
               Catch::Contains("64 lowercase hex digits"));
    CHECK_THAT(error_of("checks:\n  - {node: web, counter: {node: ns, name: dns.queries, min: 1}}\n"),
               Catch::Contains("differ"));
    CHECK(load("checks:\n  - {node: host-*, exit_code: 0}\n").checks[0].node == "host-*");
    CHECK(node_selected("host-*", "host-12"));
    CHECK_FALSE(node_selected("host-*", "hos"));
    CHECK(node_selected("*", "anything"));
    CHECK_FALSE(node_selected("web", "web2"));
}

TEST_CASE("scenario: random_within resolves per seed, by probability, reproducibly")
{
    Scenario s = load(R"(faults:
  - random_within: [1s, 2s]
    crash: web
  - random_within: [3s, 4s]
    probability: 50%
    pause: writer
  - random_within: [5s, 6s]
    probability: 0%
    crash: browser
  - at: 7s
    disk_faults: {node: web, disk: 0, read_errors: 1%, write_errors: 20%}
)");
    REQUIRE(s.faults.size() == 4);
    CHECK(s.faults[0].random);
    CHECK(s.faults[1].probability_ppm == 500'000);
    CHECK(s.faults[3].kind == FaultKind::disk_faults);
    CHECK(s.faults[3].write_error_ppm == 200'000);
    std::set<TimeNs> crash_times;
    int pauses = 0;
    for (u64 seed = 1; seed <= 200; ++seed) {
        std::vector<FaultSpec> faults = resolve_random_faults(s, seed);
        CHECK(faults.size() >= 2); // the certain crash and the disk fault; never the 0% one
        CHECK(faults.front().kind == FaultKind::crash);
        CHECK(faults.front().at_ns >= ns_per_s);
        CHECK(faults.front().at_ns < 2 * ns_per_s);
        CHECK_FALSE(faults.front().random);
        crash_times.insert(faults.front().at_ns);
        for (const FaultSpec& fault : faults) {
            CHECK(fault.node != "browser");
            pauses += fault.kind == FaultKind::pause ? 1 : 0;
        }
        // The same seed, the same schedule.
        std::vector<FaultSpec> again = resolve_random_faults(s, seed);
        REQUIRE(again.size() == faults.size());
        for (usize i = 0; i < faults.size(); ++i)
            CHECK(again[i].at_ns == faults[i].at_ns);
    }
    CHECK(crash_times.size() > 190); // different seeds, different times
    CHECK(pauses > 70);               // about half of 200
    CHECK(pauses < 130);
}

TEST_CASE("scenario: chaos with one-way partitions and kernel faults")
{
    Scenario s = load(R"(chaos:
  from: 100ms
  until: 9s
  one_way_partition_rate: 2/s
  kernel_fault_rate: 2/s
  kernel_faults: {alloc_fail: 10%, timer_jitter: 1ms}
  nodes: [web, browser, writer]
  mean_duration: 100ms
)");
    REQUIRE(s.chaos.size() == 1);
    CHECK(s.chaos[0].kernel_faults.alloc_fail_ppm == 100'000);
    std::vector<FaultSpec> faults = expand_chaos(s, 4);
    int one_way = 0, kernel_on = 0, kernel_off = 0, heals = 0;
    for (const FaultSpec& fault : faults) {
        CHECK(fault.generated);
        CHECK(fault.at_ns >= 100 * ns_per_ms);
        CHECK(fault.at_ns <= 9 * ns_per_s);
        if (fault.kind == FaultKind::partition) {
            CHECK(fault.one_way);
            CHECK(fault.node != fault.node2);
            ++one_way;
        }
        heals += fault.kind == FaultKind::heal ? 1 : 0;
        if (fault.kind == FaultKind::kernel_faults) {
            bool on = fault.kernel_faults.alloc_fail_ppm != 0;
            (on ? kernel_on : kernel_off) += 1;
            if (on)
                CHECK(fault.kernel_faults.timer_jitter_ns == ns_per_ms);
        }
    }
    CHECK(one_way > 5);
    CHECK(one_way == heals);       // each is healed
    CHECK(kernel_on > 5);
    CHECK(kernel_on == kernel_off); // each is cleared
    // Adding the new kinds leaves the older kinds' schedules where they were.
    Scenario older = load("chaos: {crash_rate: 3/s, nodes: [web]}\n");
    Scenario both = load("chaos: {crash_rate: 3/s, kernel_fault_rate: 5/s, nodes: [web]}\n");
    std::vector<TimeNs> crashes_older, crashes_both;
    for (const FaultSpec& fault : expand_chaos(older, 9))
        if (fault.kind == FaultKind::crash)
            crashes_older.push_back(fault.at_ns);
    for (const FaultSpec& fault : expand_chaos(both, 9))
        if (fault.kind == FaultKind::crash)
            crashes_both.push_back(fault.at_ns);
    CHECK(crashes_older == crashes_both);
}

TEST_CASE("scenario: a fault repeated with every and until")
{
    Scenario s = load(R"(faults:
  - at: 1s
    every: 500ms
    until: 3s
    pause: writer
  - at: 1200ms
    every: 500ms
    until: 3s
    resume: writer
)");
    std::vector<FaultSpec> faults = resolve_random_faults(s, 1);
    REQUIRE(faults.size() == 9); // 1.0 .. 3.0 s (5) and 1.2 .. 2.7 s (4)
    CHECK(faults[0].at_ns == ns_per_s);
    CHECK(faults[4].at_ns == 3 * ns_per_s);
    CHECK(faults[5].at_ns == 1200 * ns_per_ms);
    CHECK(faults[8].at_ns == 2700 * ns_per_ms);
    for (const FaultSpec& fault : faults)
        CHECK(fault.every_ns == 0);
    CHECK_THAT(error_of("faults:\n  - {at: 1s, every: 100us, until: 9s, crash: web}\n"),
               Catch::Contains("would repeat more than 10000 times"));
    CHECK_THAT(error_of("faults:\n  - {at: 1s, every: 1s, crash: web}\n"),
               Catch::Contains("needs both 'every'"));
    CHECK_THAT(error_of("faults:\n  - {at: 1s, every: 1s, until: 11s, crash: web}\n"),
               Catch::Contains("after the run ends"));
    CHECK_THAT(error_of("faults:\n  - {random_within: [1s, 2s], every: 1s, until: 3s, crash: web}\n"),
               Catch::Contains("go with 'at'"));
}
