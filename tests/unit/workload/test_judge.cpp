// The checks that judge workload clients' records (harness/workload/judge.cpp)
// on hand-made histories: each rule must pass what is consistent and fail
// what is not, and the counters must be the ones the loader admits.
#include "judge.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using namespace gantry;
using namespace gantry::harness;

namespace {

constexpr u32 server = 0x0a000001;

KvRecord op(KvRecord::Op kind, std::string key, std::string value, TimeNs invoked,
            std::optional<TimeNs> answered, bool found = true)
{
    KvRecord record{0, server, kind, std::move(key), std::move(value), found, invoked,
                    answered, answered.has_value()};
    return record;
}

KvRecord set(std::string value, TimeNs invoked, std::optional<TimeNs> answered)
{
    return op(KvRecord::Op::set, "k1", std::move(value), invoked, answered);
}

KvRecord get(std::string value, TimeNs invoked, TimeNs answered)
{
    bool found = !value.empty();
    return op(KvRecord::Op::get, "k1", std::move(value), invoked, answered, found);
}

CheckOutcome judge(std::vector<KvRecord> records, u64 min_acknowledged = 1)
{
    static CheckSpec check; // judge_kv keeps a pointer to it in the outcome
    check.kind = CheckKind::kv_linearizable;
    check.kv.min_acknowledged = min_acknowledged;
    WorkloadLog log;
    log.kv = std::move(records);
    return judge_kv(check, log);
}

} // namespace

TEST_CASE("sha256: FIPS 180-4 test vectors, in one piece and byte by byte")
{
    auto bytes = [](std::string_view text) {
        return Bytes(reinterpret_cast<const u8*>(text.data()), text.size());
    };
    CHECK(sha256_hex(bytes("")) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex(bytes("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::string long_text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(sha256_hex(bytes(long_text)) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    Sha256 pieces;
    std::string million(1'000'000, 'a');
    for (usize at = 0; at < million.size(); at += 997)
        pieces.update(bytes(std::string_view(million).substr(at, 997)));
    CHECK(pieces.hex_digest() ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("kv_linearizable: a consistent history passes")
{
    auto outcome = judge({set("w0", 10, 20), get("w0", 30, 40), set("w2", 50, 60),
                          get("w2", 70, 80)});
    INFO(outcome.detail);
    CHECK(outcome.passed);
}

TEST_CASE("kv_linearizable: a read that misses an acknowledged write fails")
{
    // w2 was acknowledged at 60, the read began at 70 and still saw w0.
    auto outcome = judge({set("w0", 10, 20), set("w2", 50, 60), get("w0", 70, 80)});
    CHECK_FALSE(outcome.passed);
    CHECK_THAT(outcome.detail, Catch::Contains("acknowledged write was lost"));
    // Before anything was written the key is empty; after an acknowledged
    // write, an empty read is a lost write too.
    CHECK(judge({get("", 1, 2), set("w1", 10, 20)}).passed);
    CHECK_FALSE(judge({set("w0", 10, 20), get("", 30, 40)}).passed);
}

TEST_CASE("kv_linearizable: concurrent and unanswered writes may go either way")
{
    // The read overlaps w2: either value is right.
    CHECK(judge({set("w0", 10, 20), set("w2", 50, 60), get("w0", 55, 80)}).passed);
    CHECK(judge({set("w0", 10, 20), set("w2", 50, 60), get("w2", 55, 80)}).passed);
    // w1 never got an answer: it may have happened, late, or not at all.
    CHECK(judge({set("w0", 10, 20), set("w1", 30, std::nullopt), get("w1", 500, 510),
                 get("w0", 600, 610)})
              .passed);
}

TEST_CASE("kv_linearizable: a value nobody wrote, or read before its write, fails")
{
    auto invented = judge({set("w0", 10, 20), get("w9", 30, 40)});
    CHECK_FALSE(invented.passed);
    CHECK_THAT(invented.detail, Catch::Contains("which no client wrote"));
    auto early = judge({get("w1", 5, 8), set("w1", 10, 20)});
    CHECK_FALSE(early.passed);
    CHECK_THAT(early.detail, Catch::Contains("before it was written"));
}

TEST_CASE("kv_linearizable: deletes, other keys, and too few acknowledged writes")
{
    KvRecord del = op(KvRecord::Op::del, "k1", "", 30, 40);
    CHECK(judge({set("w0", 10, 20), del, get("", 50, 60)}).passed);
    CHECK_FALSE(judge({set("w0", 10, 20), del, get("w0", 50, 60)}).passed);
    KvRecord other = op(KvRecord::Op::set, "k2", "w5", 10, 20);
    CHECK(judge({set("w0", 10, 20), other, get("w0", 50, 60)}).passed);
    auto empty = judge({get("", 1, 2)}, 1);
    CHECK_FALSE(empty.passed);
    CHECK_THAT(empty.detail, Catch::Contains("acknowledged writes needed"));
}

TEST_CASE("http: status, digest, errors and the planned count are all checked")
{
    Scenario scenario = load_scenario_text(R"(name: h
nodes:
  - {name: web, app: httpd, ip: 10.0.0.1/24}
  - name: b
    http_client: {server: 10.0.0.1, paths: [/a, /b], repeat: 2}
    ip: 10.0.0.2/24
links: [{between: [web, b]}]
checks:
  - http: ok
  - http: {path: /a, status: 404, errors_max: 1}
  - http: {path: /b, sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad, min: 1}
)",
                                           "h.yaml");
    std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    WorkloadLog log;
    log.http = {{1, "/a", 200, 3, abc, "", 0, 10}, {1, "/b", 200, 3, abc, "", 10, 20},
                {1, "/a", 200, 3, abc, "", 20, 30}, {1, "/b", 200, 3, abc, "", 30, 40}};
    CHECK(judge_http(scenario, scenario.checks[0], log).passed);
    CHECK_FALSE(judge_http(scenario, scenario.checks[1], log).passed); // 200, not 404
    CHECK(judge_http(scenario, scenario.checks[2], log).passed);
    log.http[3].sha256 = std::string(64, '0');
    CHECK_FALSE(judge_http(scenario, scenario.checks[2], log).passed);
    log.http.pop_back(); // one request short of paths x repeat
    CHECK_FALSE(judge_http(scenario, scenario.checks[0], log).passed);
    log.http.push_back({1, "/b", 0, 0, "", "refused", 30, 40});
    CHECK_FALSE(judge_http(scenario, scenario.checks[0], log).passed);
}

TEST_CASE("counters: a node's book holds exactly the names the loader admits")
{
    sim::World world({.seed = 3});
    sim::NodeId node = world.add_node({.app = "hello", .name = "a"});
    CounterBook book(1);
    world.on_incarnation_end([&book](sim::NodeId id, Kernel& kernel) {
        book.add_kernel(id, kernel);
    });
    world.run_until_idle(10 * ns_per_s);
    book.add_world(0, world, node);
    std::set<std::string> names;
    for (const auto& [name, value] : book.node(0))
        names.insert(name);
    std::vector<std::string> admitted = node_counter_names();
    CHECK(names == std::set<std::string>(admitted.begin(), admitted.end()));
    CHECK(book.node(0).at("node.incarnations") == 1);
    CHECK(book.node(0).at("heap.allocations") > 0); // counted when the app exited
    std::set<std::string> link_names;
    for (const auto& [name, value] : link_counters({}))
        link_names.insert(name);
    std::vector<std::string> links = link_counter_names();
    CHECK(link_names == std::set<std::string>(links.begin(), links.end()));
}
