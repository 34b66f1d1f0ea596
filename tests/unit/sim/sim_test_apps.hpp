// Small apps for the simulator's tests, handed to the world as factories.
// They report through their console, exit code, or a host-side struct the
// test owns (outside the node, so a crash cannot take it away).
#pragma once

#include <gantry/app.hpp>
#include <gantry/assert.hpp>
#include <gantry/sim/world.hpp>

#include <charconv>

namespace sim_test {

using namespace gantry;

inline u64 arg_u64(AppArgs args, usize index, u64 fallback)
{
    if (index >= args.values.size())
        return fallback;
    u64 value = fallback;
    std::string_view text = args.values[index];
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

template<typename T>
sim::SimAppFactory factory()
{
    return [](Kernel& kernel) -> App* { return kernel.heap().create<T>(); };
}

// args: sleep_ns [exit_code]
class SleepApp final : public App {
public:
    int main(Kernel& kernel, AppArgs args) override
    {
        kernel.sched().sleep_for(arg_u64(args, 0, ns_per_ms));
        kernel.print("slept until {}\n", kernel.now());
        return static_cast<int>(arg_u64(args, 1, 0));
    }
};

// Sleeps random amounts drawn from the node's entropy: its schedule is seed-driven.
class RandomSleeper final : public App {
public:
    int main(Kernel& kernel, AppArgs args) override
    {
        u64 rounds = arg_u64(args, 0, 5);
        for (u64 round = 0; round < rounds; ++round) {
            TimeNs pause = kernel.random_u64() % (10 * ns_per_ms) + 1;
            kernel.sched().sleep_for(pause);
            kernel.log().info("round {} slept {}", round, pause);
        }
        return 0;
    }
};

// Asserts (on a fiber) after a short sleep.
class AssertApp final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        kernel.sched().sleep_for(2 * ns_per_ms);
        int answer = 41;
        GANTRY_ASSERT(answer == 42);
        return 0;
    }
};

// Allocates until the kernel's heap says no, then exits cleanly with 3.
class GreedyApp final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        usize blocks = 0;
        while (kernel.heap().alloc(64 * 1024) != nullptr) {
            ++blocks;
            kernel.sched().yield();
        }
        kernel.log().warn("out of memory after {} blocks", blocks);
        return 3;
    }
};

// Busy-waits forever (sleeps of zero): never lets its kernel go idle. (A loop
// of yield() alone is not used: Scheduler::run_ready keeps running a fiber that
// always yields and never returns to poll, so no platform can interrupt it.)
class SpinApp final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        for (;;)
            kernel.sched().sleep_for(0);
    }
};

// Waits for a shutdown request that never comes (deadline_none).
class WaitForeverApp final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        kernel.shutdown_event().wait();
        return 0;
    }
};

// Counts ticks every `period` ns, forever; the count lives in volatile memory.
class TickerApp final : public App {
public:
    int main(Kernel& kernel, AppArgs args) override
    {
        TimeNs period = arg_u64(args, 0, 10 * ns_per_ms);
        for (u64 tick = 1;; ++tick) {
            kernel.sched().sleep_for(period);
            kernel.print("tick {}\n", tick);
        }
    }
};

} // namespace sim_test
