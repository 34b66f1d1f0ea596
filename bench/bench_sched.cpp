// Fiber switch and timer costs, beside Boost.Context's raw jump_fcontext (the
// floor our switch is built on) measured in the same run.
#include "ratio.hpp"
#include "test_platform.hpp"

#include <gantry/kernel.hpp>

#include <benchmark/benchmark.h>
#include <boost/context/detail/fcontext.hpp>

#include <memory>
#include <vector>

using namespace gantry;

namespace {

// One iteration = a fiber yields to the scheduler and is resumed (two switches).
void BM_FiberSwitchRoundTrip(benchmark::State& state)
{
    testing::TestKernel tk;
    Scheduler& sched = tk.kernel->sched();
    bool done = false;
    sched.detach(sched.spawn("yielder", [&] {
        for (auto _ : state)
            sched.yield();
        done = true;
    }));
    while (!done)
        sched.run_ready();
}
BENCHMARK(BM_FiberSwitchRoundTrip);

namespace fc = boost::context::detail;

void bounce(fc::transfer_t transfer)
{
    for (;;)
        transfer = fc::jump_fcontext(transfer.fctx, nullptr);
}

// The peer: a bare jump_fcontext there and back, no scheduler at all.
void BM_RawFcontextRoundTrip(benchmark::State& state)
{
    std::vector<char> stack(64 * 1024);
    fc::fcontext_t context = fc::make_fcontext(stack.data() + stack.size(), stack.size(), bounce);
    for (auto _ : state) {
        fc::transfer_t back = fc::jump_fcontext(context, nullptr);
        context = back.fctx;
    }
}
BENCHMARK(BM_RawFcontextRoundTrip);

GANTRY_RATIO("fiber switch round trip / raw fcontext", "BM_FiberSwitchRoundTrip",
             "BM_RawFcontextRoundTrip", 1.5);

// One iteration = arm a timer among `range` armed ones, then fire it.
void BM_TimerArmFire(benchmark::State& state)
{
    testing::TestKernel tk;
    TimerQueue& queue = tk.kernel->timers();
    auto noop = [](Timer&, void*) {};
    std::vector<std::unique_ptr<Timer>> background;
    for (i64 i = 0; i < state.range(0); ++i) {
        background.push_back(std::make_unique<Timer>(noop, nullptr));
        if (!queue.arm(*background.back(), ns_per_s + static_cast<TimeNs>(i)))
            state.SkipWithError("arm failed");
    }
    Timer timer(noop, nullptr);
    TimeNs now = 0;
    for (auto _ : state) {
        ++now;
        if (!queue.arm(timer, now))
            state.SkipWithError("arm failed");
        benchmark::DoNotOptimize(queue.fire_due(now));
    }
    queue.clear();
}
BENCHMARK(BM_TimerArmFire)->Arg(0)->Arg(1000);

} // namespace
