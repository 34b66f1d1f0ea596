// racy: a deliberately buggy app for the scenario runner's tests. Two workers
// increment a shared counter with a read-modify-write that sometimes sleeps in
// the middle; when the other worker runs during that sleep, an increment is
// lost and the final assertion fails. Whether that happens depends on the
// entropy the seed provides, so some seeds fail and others pass: exactly the
// kind of bug a seed sweep finds and --seed N reproduces.
#include <gantry/app.hpp>
#include <gantry/assert.hpp>

namespace {

using namespace gantry;

constexpr int increments_per_worker = 20;

class Racy final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        Fiber* a = kernel.sched().spawn("worker-a", [&] { work(kernel); });
        Fiber* b = kernel.sched().spawn("worker-b", [&] { work(kernel); });
        if (!a || !b)
            return 1;
        kernel.sched().join(a);
        kernel.sched().join(b);
        kernel.print("racy: counter = {}\n", m_counter);
        GANTRY_ASSERT(m_counter == 2 * increments_per_worker);
        return 0;
    }

private:
    void work(Kernel& kernel)
    {
        for (int i = 0; i < increments_per_worker; ++i) {
            int value = m_counter;
            // The bug: a pause between reading and writing the shared counter.
            if (kernel.random_u64() % 256 == 0)
                kernel.sched().sleep_for(ns_per_ms);
            m_counter = value + 1;
            kernel.sched().yield();
        }
    }

    int m_counter = 0;
};

} // namespace

GANTRY_APP(racy, Racy)
