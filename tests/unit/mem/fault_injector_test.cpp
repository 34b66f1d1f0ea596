// The allocation-failure seam (AllocFaultInjector): asked once per request,
// by the heap for its allocations and by the page allocator for direct page
// requests, never twice for one heap request; removing it restores normal service.
#include "mem_test_region.hpp"

#include <catch2/catch.hpp>

#include <gantry/mem.hpp>

#include <vector>

using namespace gantry;
using gantry::test::TestRegion;

namespace {

// Fails the requests whose (0-based) position is in `failing`; records sizes.
class ScriptedInjector final : public AllocFaultInjector {
public:
    explicit ScriptedInjector(std::vector<usize> failing) : m_failing(std::move(failing)) {}
    bool should_fail(usize bytes) override
    {
        asked.push_back(bytes);
        usize position = asked.size() - 1;
        for (usize index : m_failing)
            if (index == position)
                return true;
        return false;
    }
    std::vector<usize> asked;

private:
    std::vector<usize> m_failing;
};

struct Fixture {
    Fixture() : memory(64 + 1), heap(pages) { REQUIRE(pages.add_region(memory.data(), memory.bytes()).ok()); }
    TestRegion memory;
    PageAllocator pages;
    Heap heap;
};

} // namespace

TEST_CASE("the injector decides each heap request once, slab refills included", "[mem]")
{
    Fixture fixture;
    ScriptedInjector injector({1, 3});
    fixture.heap.set_fault_injector(&injector);
    fixture.pages.set_fault_injector(&injector);
    void* first = fixture.heap.alloc(32);   // asked 0: a new slab, no second question
    void* second = fixture.heap.alloc(32);  // asked 1: fails
    void* large = fixture.heap.alloc(9000); // asked 2: a large block from the pages
    void* third = fixture.heap.alloc(64);   // asked 3: fails
    CHECK(first != nullptr);
    CHECK(second == nullptr);
    CHECK(large != nullptr);
    CHECK(third == nullptr);
    CHECK(injector.asked == std::vector<usize>{32, 32, 9000, 64});
    CHECK(fixture.heap.stats().failures == 2);
    CHECK(fixture.pages.stats().failures == 0);
    fixture.heap.free(first);
    fixture.heap.free(large);
}

TEST_CASE("direct page requests ask the injector, and removing it restores service", "[mem]")
{
    Fixture fixture;
    ScriptedInjector injector({0});
    fixture.pages.set_fault_injector(&injector);
    CHECK(fixture.pages.alloc_pages(2) == nullptr);
    CHECK(injector.asked == std::vector<usize>{4 * page_size});
    CHECK(fixture.pages.stats().failures == 1);
    CHECK(fixture.pages.pages_used() == 0);
    void* block = fixture.pages.alloc_pages(2);
    REQUIRE(block != nullptr);
    fixture.pages.free_pages(block, 2);
    fixture.pages.set_fault_injector(nullptr);
    usize asked = injector.asked.size();
    block = fixture.pages.alloc_pages(0);
    CHECK(block != nullptr);
    CHECK(injector.asked.size() == asked);
    fixture.pages.free_pages(block, 0);
}
