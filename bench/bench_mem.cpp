// Memory benchmarks: the buddy page allocator on its own, and the heap against
// glibc malloc/free for the same sizes in the same run.
#include "ratio.hpp"

#include <benchmark/benchmark.h>

#include <gantry/mem.hpp>

#include <cstdlib>
#include <memory>

namespace {

using gantry::usize;

struct FreeDeleter {
    void operator()(gantry::u8* memory) const { std::free(memory); }
};

// A page allocator over a fresh 64 MiB region, as a kernel would have after boot.
struct BenchMemory {
    static constexpr usize bytes = usize{64} << 20;

    BenchMemory()
        : memory(static_cast<gantry::u8*>(std::aligned_alloc(gantry::page_size, bytes)))
    {
        if (!pages.add_region(memory.get(), bytes).ok())
            std::abort();
    }
    std::unique_ptr<gantry::u8, FreeDeleter> memory;
    gantry::PageAllocator pages;
};

void BM_PageAllocFree(benchmark::State& state)
{
    BenchMemory memory;
    auto order = static_cast<gantry::u32>(state.range(0));
    for (auto _ : state) {
        void* block = memory.pages.alloc_pages(order);
        benchmark::DoNotOptimize(block);
        memory.pages.free_pages(block, order);
    }
}
BENCHMARK(BM_PageAllocFree)->Arg(0)->Arg(4);

void BM_HeapAllocFree(benchmark::State& state)
{
    BenchMemory memory;
    gantry::Heap heap(memory.pages);
    auto bytes = static_cast<usize>(state.range(0));
    heap.free(heap.alloc(bytes)); // the slab exists before timing, as malloc's arena does
    for (auto _ : state) {
        void* pointer = heap.alloc(bytes);
        benchmark::DoNotOptimize(pointer);
        heap.free(pointer);
    }
}
BENCHMARK(BM_HeapAllocFree)->Arg(16)->Arg(64)->Arg(256)->Arg(1024);

void BM_MallocFree(benchmark::State& state)
{
    auto bytes = static_cast<usize>(state.range(0));
    std::free(std::malloc(bytes));
    for (auto _ : state) {
        void* pointer = std::malloc(bytes);
        benchmark::DoNotOptimize(pointer);
        std::free(pointer);
    }
}
BENCHMARK(BM_MallocFree)->Arg(16)->Arg(64)->Arg(256)->Arg(1024);

// A batch of live objects freed in reverse: slab turnover, not one hot object.
constexpr usize batch_objects = 512;

void BM_HeapBatch(benchmark::State& state)
{
    BenchMemory memory;
    gantry::Heap heap(memory.pages);
    auto bytes = static_cast<usize>(state.range(0));
    void* live[batch_objects];
    for (auto _ : state) {
        for (auto& pointer : live)
            pointer = heap.alloc(bytes);
        benchmark::DoNotOptimize(live);
        for (usize index = batch_objects; index > 0; --index)
            heap.free(live[index - 1]);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch_objects));
}
BENCHMARK(BM_HeapBatch)->Arg(64);

void BM_MallocBatch(benchmark::State& state)
{
    auto bytes = static_cast<usize>(state.range(0));
    void* live[batch_objects];
    for (auto _ : state) {
        for (auto& pointer : live)
            pointer = std::malloc(bytes);
        benchmark::DoNotOptimize(live);
        for (usize index = batch_objects; index > 0; --index)
            std::free(live[index - 1]);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch_objects));
}
BENCHMARK(BM_MallocBatch)->Arg(64);

} // namespace

GANTRY_RATIO("heap alloc+free 16 B vs glibc malloc", "BM_HeapAllocFree/16", "BM_MallocFree/16",
             1.0);
GANTRY_RATIO("heap alloc+free 64 B vs glibc malloc", "BM_HeapAllocFree/64", "BM_MallocFree/64",
             1.0);
GANTRY_RATIO("heap alloc+free 256 B vs glibc malloc", "BM_HeapAllocFree/256",
             "BM_MallocFree/256", 1.0);
GANTRY_RATIO("heap alloc+free 1024 B vs glibc malloc", "BM_HeapAllocFree/1024",
             "BM_MallocFree/1024", 1.0);
GANTRY_RATIO("heap 512 allocs then frees, 64 B, vs glibc", "BM_HeapBatch/64",
             "BM_MallocBatch/64", 1.0);
