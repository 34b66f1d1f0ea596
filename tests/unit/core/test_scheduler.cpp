#include "test_platform.hpp"

#include <gantry/app.hpp>
#include <gantry/kernel.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace gantry;
using gantry::testing::TestKernel;

TEST_CASE("scheduler: fibers start in spawn order and round-robin on yield")
{
    TestKernel tk;
    Scheduler& sched = tk.kernel->sched();
    std::string order;
    for (char name : {'a', 'b', 'c'}) {
        Fiber* fiber = sched.spawn(std::string(1, name), [&, name] {
            for (int i = 0; i < 3; ++i) {
                order.push_back(name);
                sched.yield();
            }
        });
        REQUIRE(fiber != nullptr);
        sched.detach(fiber);
    }
    tk.run_until_idle();
    CHECK(order == "abcabcabc");
    CHECK(sched.live_fibers() == 0);
}

TEST_CASE("scheduler: sleep wakes at the deadline, not before")
{
    TestKernel tk;
    Scheduler& sched = tk.kernel->sched();
    std::vector<std::pair<int, TimeNs>> wakes;
    for (int i : {3, 1, 2}) {
        sched.detach(sched.spawn("sleeper", [&, i] {
            sched.sleep_for(static_cast<TimeNs>(i) * ns_per_ms);
            wakes.emplace_back(i, tk.platform.now());
        }));
    }
    tk.run_until_idle();
    REQUIRE(wakes.size() == 3);
    CHECK(wakes[0] == std::pair<int, TimeNs>{1, 1 * ns_per_ms});
    CHECK(wakes[1] == std::pair<int, TimeNs>{2, 2 * ns_per_ms});
    CHECK(wakes[2] == std::pair<int, TimeNs>{3, 3 * ns_per_ms});
    // Virtual time jumped straight from deadline to deadline.
    CHECK(tk.platform.idle_calls() == 3);
}

TEST_CASE("scheduler: a fiber that only yields cannot starve timers")
{
    TestKernel tk;
    Scheduler& sched = tk.kernel->sched();
    bool woke = false;
    u64 spins = 0;
    sched.detach(sched.spawn("spinner", [&] {
        while (!woke) {
            ++spins;
            sched.yield();
        }
    }));
    sched.detach(sched.spawn("sleeper", [&] {
        sched.sleep_for(ns_per_ms);
        woke = true;
    }));
    tk.run_until_idle(ns_per_s);
    CHECK(woke);
    CHECK(spins > 0);
    CHECK(sched.live_fibers() == 0);
}

TEST_CASE("scheduler: join waits for the fiber and releases it")
{
    TestKernel tk;
    Scheduler& sched = tk.kernel->sched();
    std::vector<std::string> log;
    sched.detach(sched.spawn("parent", [&] {
        Fiber* child = sched.spawn("child", [&] {
            sched.sleep_for(5 * ns_per_ms);
            log.push_back("child done");
        });
        REQUIRE(child != nullptr);
        log.push_back("joining");
        sched.join(child);
        log.push_back("joined");
        // Joining a fiber that already finished returns at once.
        Fiber* quick = sched.spawn("quick", [&] { log.push_back("quick"); });
        sched.yield();
        sched.join(quick);
        log.push_back("joined quick");
    }));
    tk.run_until_idle();
    CHECK(log == std::vector<std::string>{"joining", "child done", "joined", "quick",
                                          "joined quick"});
    CHECK(sched.live_fibers() == 0);
}

TEST_CASE("scheduler: events wake waiters in FIFO order; timeouts report timed_out")
{
    TestKernel tk;
    Scheduler& sched = tk.kernel->sched();
    Event event(sched);
    std::vector<int> woke;
    for (int i = 0; i < 3; ++i)
        sched.detach(sched.spawn("waiter", [&, i] {
            event.wait();
            woke.push_back(i);
        }));
    WaitResult timed = WaitResult::notified;
    WaitResult notified = WaitResult::timed_out;
    sched.detach(sched.spawn("timeout", [&] {
        timed = event.wait_until(tk.platform.now() + ns_per_ms);
    }));
    sched.detach(sched.spawn("notifier", [&] {
        sched.sleep_for(2 * ns_per_ms);
        event.notify_one();
        sched.yield();
        event.notify_all();
    }));
    sched.detach(sched.spawn("late", [&] {
        sched.sleep_for(10 * ns_per_ms);
        notified = event.wait_until(tk.platform.now() + 100 * ns_per_ms);
    }));
    sched.detach(sched.spawn("late notifier", [&] {
        sched.sleep_for(20 * ns_per_ms);
        event.notify_all();
    }));
    tk.run_until_idle();
    CHECK(woke == std::vector<int>{0, 1, 2});
    CHECK(timed == WaitResult::timed_out);
    CHECK(notified == WaitResult::notified);
    CHECK(tk.platform.now() == 20 * ns_per_ms); // the late wait did not run to its timeout
    CHECK_FALSE(event.has_waiters());
}

TEST_CASE("scheduler: a notify and the deadline in one poll wake the waiter once, notified")
{
    // Found by the kv crash sweep: a frame notified a reader, then the reader's
    // deadline timer fired in the same poll and made the ready fiber ready again.
    TestKernel tk;
    Scheduler& sched = tk.kernel->sched();
    Event event(sched);
    WaitResult result = WaitResult::timed_out;
    bool done = false;
    sched.detach(sched.spawn("waiter", [&] {
        result = event.wait_until(ns_per_ms);
        done = true;
    }));
    tk.kernel->poll(); // the waiter blocks
    REQUIRE_FALSE(done);
    tk.platform.set_now(ns_per_ms); // its deadline is due...
    event.notify_all();             // ...and a device notifies it before timers fire
    tk.kernel->poll();
    CHECK(done);
    CHECK(result == WaitResult::notified);
}

TEST_CASE("scheduler: many fibers, fair progress and clean release")
{
    TestKernel tk({}, 64 * 1024 * 1024);
    Scheduler& sched = tk.kernel->sched();
    constexpr int fibers = 300;
    std::vector<int> progress(fibers, 0);
    std::vector<Fiber*> handles;
    usize pages_before = tk.kernel->pages().pages_used();
    for (int i = 0; i < fibers; ++i) {
        Fiber* fiber = sched.spawn("worker", [&, i] {
            for (int step = 0; step < 10; ++step) {
                ++progress[i];
                // Fairness: nobody gets more than one step ahead of anyone else.
                for (int other = 0; other < fibers; ++other)
                    REQUIRE(progress[i] - progress[other] <= 1);
                sched.yield();
            }
        }, SpawnOptions{16 * 1024});
        REQUIRE(fiber != nullptr);
        handles.push_back(fiber);
    }
    sched.detach(sched.spawn("joiner", [&] {
        for (Fiber* fiber : handles)
            sched.join(fiber);
    }));
    tk.run_until_idle();
    for (int value : progress)
        CHECK(value == 10);
    CHECK(sched.live_fibers() == 0);
    // 300 stacks of 4 pages came back; the heap may keep a few slab pages and the
    // grown timer array, nothing more.
    CHECK(tk.kernel->pages().pages_used() < pages_before + 16);
}

TEST_CASE("scheduler: spawn fails cleanly when memory runs out")
{
    TestKernel tk({}, 2 * 1024 * 1024);
    Scheduler& sched = tk.kernel->sched();
    std::vector<Fiber*> spawned;
    for (int i = 0; i < 1000; ++i) {
        Fiber* fiber = sched.spawn("hog", [] {}, SpawnOptions{256 * 1024});
        if (!fiber)
            break;
        spawned.push_back(fiber);
    }
    CHECK(spawned.size() < 1000);
    CHECK_FALSE(spawned.empty());
    for (Fiber* fiber : spawned)
        sched.detach(fiber);
    tk.run_until_idle();
    CHECK(sched.live_fibers() == 0);
}

namespace {

class CountingApp final : public App {
public:
    int main(Kernel& kernel, AppArgs args) override
    {
        arguments = args.values.size();
        kernel.sched().sleep_for(ns_per_s);
        return 7;
    }
    usize arguments = 0;
};

} // namespace

TEST_CASE("kernel: the app's return value is the exit code; abandoned fibers are released")
{
    KernelConfig config;
    config.trace = true;
    TestKernel tk(config);
    CountingApp app;
    Event never(tk.kernel->sched());
    // A fiber blocked forever must not keep the kernel from exiting.
    tk.kernel->sched().detach(tk.kernel->sched().spawn("stuck", [&] { never.wait(); }));
    std::string_view argv[] = {"x", "y"};
    REQUIRE(tk.kernel->start_app(app, AppArgs{argv}).ok());
    tk.run_until_idle();
    CHECK(tk.kernel->exited());
    CHECK(tk.kernel->exit_code() == 7);
    CHECK(app.arguments == 2);
    CHECK(tk.platform.now() == ns_per_s);
    CHECK(tk.kernel->boot_phases().size() >= 2);
    CHECK_FALSE(tk.platform.trace_bytes().empty());
}

TEST_CASE("kernel: the same inputs give the same trace")
{
    auto run = [](u64 seed) {
        KernelConfig config;
        config.trace = true;
        TestKernel tk(config);
        Scheduler& sched = tk.kernel->sched();
        std::mt19937_64 rng(seed);
        for (int i = 0; i < 20; ++i) {
            TimeNs pause = rng() % 1000;
            sched.detach(sched.spawn("f", [&sched, pause] {
                for (int k = 0; k < 5; ++k)
                    sched.sleep_for(pause);
            }));
        }
        tk.run_until_idle();
        tk.kernel->trace().flush();
        return tk.platform.trace_bytes();
    };
    CHECK(run(1) == run(1));
    CHECK(run(1) != run(2));
}
