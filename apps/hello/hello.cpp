// hello: the first unikernel. Prints its boot phases, runs a few fibers that
// sleep and signal each other, prints memory statistics and exits 0.
#include <gantry/app.hpp>

namespace {

using namespace gantry;

constexpr int rounds = 5;

// Two fibers pass a token back and forth; each hand-off waits a little so the
// trace shows sleeps, wake-ups and switches.
struct PingPong {
    explicit PingPong(Kernel& kernel) : kernel(kernel), turn_changed(kernel.sched()) {}

    void play(int me, TimeNs pause)
    {
        for (int round = 0; round < rounds; ++round) {
            while (turn != me)
                turn_changed.wait();
            kernel.sched().sleep_for(pause);
            kernel.log().info("fiber {} ({}): round {} done", me,
                              kernel.sched().current()->name(), round + 1);
            turn = 1 - me;
            turn_changed.notify_all();
        }
    }

    Kernel& kernel;
    Event turn_changed;
    int turn = 0;
};

void print_boot_phases(Kernel& kernel)
{
    kernel.print("boot phases:\n");
    for (const BootPhase& phase : kernel.boot_phases()) {
        TimeNs took = phase.end - phase.begin;
        kernel.print("  {:12} {:6}.{:03} us\n", phase.name_view(), took / 1000, took % 1000);
    }
}

void print_memory(Kernel& kernel)
{
    PageStats pages = kernel.pages().stats();
    HeapStats heap = kernel.heap().stats();
    kernel.print("memory: {} of {} pages in use (high water {}), fragmentation {}.{}%\n",
                 pages.pages_used, pages.pages_total, pages.pages_used_high_water,
                 pages.fragmentation_permille / 10, pages.fragmentation_permille % 10);
    kernel.print("heap: {} bytes live (high water {}), {} allocations, {} frees, {} slab pages\n",
                 heap.bytes_requested, heap.bytes_requested_high_water, heap.allocations,
                 heap.frees, heap.slab_pages);
    for (usize i = 0; i < heap.class_count; ++i)
        if (heap.class_allocations[i] > 0)
            kernel.print("  class {:5} B: {} live, {} allocated\n", heap.class_bytes[i],
                         heap.class_in_use[i], heap.class_allocations[i]);
}

class Hello final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        kernel.print("Gantry hello: node {}, platform {}\n", kernel.node_id(),
                     kernel.config().platform_name);
        print_boot_phases(kernel);

        PingPong game(kernel);
        Fiber* ping = kernel.sched().spawn("ping", [&] { game.play(0, 2 * ns_per_ms); });
        Fiber* pong = kernel.sched().spawn("pong", [&] { game.play(1, 3 * ns_per_ms); });
        if (!ping || !pong) {
            kernel.log().error("out of memory starting fibers");
            return 1;
        }
        kernel.sched().join(ping);
        kernel.sched().join(pong);
        kernel.log().info("{} fiber switches", kernel.sched().switches());

        print_memory(kernel);
        kernel.print("hello: done\n");
        return 0;
    }
};

} // namespace

GANTRY_APP(hello, Hello)
