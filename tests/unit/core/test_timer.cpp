#include "test_platform.hpp"

#include <gantry/timer.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

using namespace gantry;
using gantry::testing::TestKernel;

namespace {

struct Recorder {
    std::vector<int> fired;
};

struct Tagged {
    Timer timer;
    Recorder* recorder;
    int tag;
};

void record(Timer&, void* context)
{
    auto* tagged = static_cast<Tagged*>(context);
    tagged->recorder->fired.push_back(tagged->tag);
}

} // namespace

TEST_CASE("timers: fire in deadline order, equal deadlines in arming order")
{
    TestKernel tk;
    TimerQueue& queue = tk.kernel->timers();
    Recorder recorder;
    std::vector<std::unique_ptr<Tagged>> timers;
    const TimeNs deadlines[] = {50, 10, 30, 10, 20, 10, 50};
    for (int i = 0; i < 7; ++i) {
        auto tagged = std::make_unique<Tagged>();
        tagged->recorder = &recorder;
        tagged->tag = i;
        tagged->timer.set_callback(record, tagged.get());
        REQUIRE(queue.arm(tagged->timer, deadlines[i]));
        timers.push_back(std::move(tagged));
    }
    CHECK(queue.next_deadline() == 10);
    CHECK(queue.fire_due(9) == 0);
    CHECK(queue.fire_due(10) == 3);
    CHECK(recorder.fired == std::vector<int>{1, 3, 5});
    CHECK(queue.fire_due(100) == 4);
    CHECK(recorder.fired == std::vector<int>{1, 3, 5, 4, 2, 0, 6});
    CHECK(queue.next_deadline() == deadline_none);
}

TEST_CASE("timers: cancel, re-arm and destruction unlink")
{
    TestKernel tk;
    TimerQueue& queue = tk.kernel->timers();
    Recorder recorder;
    Tagged a{{}, &recorder, 1}, b{{}, &recorder, 2};
    a.timer.set_callback(record, &a);
    b.timer.set_callback(record, &b);
    REQUIRE(queue.arm(a.timer, 10));
    REQUIRE(queue.arm(b.timer, 20));
    queue.cancel(a.timer);
    CHECK_FALSE(a.timer.armed());
    REQUIRE(queue.arm(b.timer, 5)); // re-arm moves it
    CHECK(queue.size() == 1);
    {
        Tagged c{{}, &recorder, 3};
        c.timer.set_callback(record, &c);
        REQUIRE(queue.arm(c.timer, 1));
    } // destructor cancels
    CHECK(queue.size() == 1);
    CHECK(queue.fire_due(100) == 1);
    CHECK(recorder.fired == std::vector<int>{2});
}

TEST_CASE("timers: a timer re-arming itself for now does not spin a pass")
{
    TestKernel tk;
    TimerQueue& queue = tk.kernel->timers();
    struct Self {
        TimerQueue* queue;
        int fired = 0;
    } self{&queue};
    Timer timer(
        [](Timer& t, void* c) {
            auto* s = static_cast<Self*>(c);
            ++s->fired;
            REQUIRE(s->queue->arm(t, 0));
        },
        &self);
    REQUIRE(queue.arm(timer, 0));
    CHECK(queue.fire_due(0) == 1);
    CHECK(queue.fire_due(0) == 1);
    CHECK(self.fired == 2);
    queue.cancel(timer);
}

TEST_CASE("timers: random arm/cancel/fire against a sorted model")
{
    TestKernel tk;
    TimerQueue& queue = tk.kernel->timers();
    std::mt19937_64 rng(GENERATE(1u, 2u, 3u));
    Recorder recorder;
    constexpr int count = 500;
    std::vector<std::unique_ptr<Tagged>> timers;
    struct ModelEntry {
        TimeNs deadline;
        u64 order;
        int tag;
    };
    std::vector<ModelEntry> model;
    u64 order = 0;
    for (int i = 0; i < count; ++i) {
        auto tagged = std::make_unique<Tagged>();
        tagged->recorder = &recorder;
        tagged->tag = i;
        tagged->timer.set_callback(record, tagged.get());
        timers.push_back(std::move(tagged));
    }
    TimeNs now = 0;
    for (int step = 0; step < 20000; ++step) {
        int tag = static_cast<int>(rng() % count);
        Tagged& t = *timers[tag];
        auto in_model = std::find_if(model.begin(), model.end(),
                                     [&](const ModelEntry& e) { return e.tag == tag; });
        switch (rng() % 3) {
        case 0: { // arm or re-arm
            TimeNs deadline = now + rng() % 100;
            REQUIRE(queue.arm(t.timer, deadline));
            if (in_model != model.end())
                model.erase(in_model);
            model.push_back({deadline, order++, tag});
            break;
        }
        case 1:
            queue.cancel(t.timer);
            if (in_model != model.end())
                model.erase(in_model);
            break;
        default: {
            now += rng() % 20;
            std::vector<ModelEntry> due;
            for (auto& e : model)
                if (e.deadline <= now)
                    due.push_back(e);
            std::sort(due.begin(), due.end(), [](auto& x, auto& y) {
                return x.deadline != y.deadline ? x.deadline < y.deadline : x.order < y.order;
            });
            recorder.fired.clear();
            REQUIRE(queue.fire_due(now) == due.size());
            for (usize i = 0; i < due.size(); ++i)
                REQUIRE(recorder.fired[i] == due[i].tag);
            model.erase(std::remove_if(model.begin(), model.end(),
                                       [&](auto& e) { return e.deadline <= now; }),
                        model.end());
        }
        }
        REQUIRE(queue.size() == model.size());
    }
}
