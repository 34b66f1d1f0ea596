// gantry-viz on a generated trace of a million records: loading (indexing) it,
// and one frame (layout + render into SDL's software renderer) of the whole
// trace and of a zoomed window. The peer for loading is a bare TraceReader +
// decode_fields pass over the same bytes: the ratio is the cost of indexing.
// Targets (issue 8): load < 2 s, frame < 16 ms.
#include "ratio.hpp"

#include <gantry/platform.hpp>
#include <gantry/trace.hpp>
#include <gantry/viz/render.hpp>

#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace gantry;

namespace {

constexpr usize records_target = 1'000'000;

class BytesPlatform final : public Platform {
public:
    TimeNs now() override { return time; }
    void idle_until(TimeNs) override {}
    void console_write(std::string_view) override {}
    void fill_entropy(MutableBytes out) override { std::memset(out.data(), 0, out.size()); }
    std::span<const MemoryRegion> memory_regions() override { return {}; }
    bool trace_sink_enabled() override { return true; }
    void trace_sink_write(Bytes bytes) override
    {
        out.insert(out.end(), bytes.begin(), bytes.end());
    }
    TimeNs time = 0;
    std::vector<u8> out;
};

// Four nodes, eight fibers each, switching every few microseconds, with timer
// passes, idle periods, log lines, page events and a mem_stats sample per
// thousand records: roughly what a busy simulation writes.
void trace_node(BytesPlatform& platform, u32 node, usize records)
{
    std::vector<u8> buffer(64 * 1024);
    Tracer tracer;
    tracer.attach(platform, node, buffer);
    tracer.set_enabled(true);
    platform.time = 0;
    tracer.node_info("bench", "sim");
    tracer.page_region(0, 16384); // 64 MiB: the page map has a region to draw
    tracer.boot_phase_begin("boot");
    for (u32 fiber = 1; fiber <= 8; ++fiber)
        tracer.fiber_spawn(fiber, 0, "worker " + std::to_string(fiber));
    tracer.boot_phase_end("boot");
    u32 running = 0;
    for (usize i = 0; i < records; ++i) {
        platform.time += 1000 + (i * 7919) % 3000;
        switch (i % 10) {
        case 0: tracer.timer_fire(1); break;
        case 1: tracer.idle(platform.time + 5000); break;
        case 2: tracer.log(1, "request " + std::to_string(i) + " done"); break;
        case 3: tracer.page_alloc(0, 0, i % 4096); break;
        case 4: tracer.page_free(0, 0, (i - 1) % 4096); break;
        case 5:
            if (i % 1000 == 5) {
                tracer.mem_stats(16384, 1000 + i % 500, 12, 100000 + i % 7777, i, i / 2);
                TraceHeapClasses classes;
                classes.class_count = 14;
                for (u8 c = 0; c < 14; ++c) {
                    classes.class_bytes[c] = static_cast<u16>(16 * (c + 1));
                    classes.objects_live[c] = static_cast<u32>((i / 1000 + c) % 50);
                }
                tracer.heap_classes(classes);
            }
            else
                tracer.fiber_exit(0); // filler of fixed size: fiber 0 never exists
            break;
        default: {
            u32 next = static_cast<u32>(i % 8) + 1;
            tracer.fiber_switch(running, next);
            running = next;
        }
        }
    }
    tracer.flush();
}

const std::vector<u8>& million_record_trace()
{
    static std::vector<u8> bytes = [] {
        BytesPlatform platform;
        u8 header[trace_file_header_bytes];
        Tracer::encode_file_header(header);
        platform.out.assign(header, header + sizeof(header));
        for (u32 node = 0; node < 4; ++node)
            trace_node(platform, node, records_target / 4);
        return std::move(platform.out);
    }();
    return bytes;
}

void BM_VizLoad1M(benchmark::State& state)
{
    const std::vector<u8>& bytes = million_record_trace();
    for (auto _ : state) {
        viz::TraceModel model = viz::load_trace_bytes(bytes);
        benchmark::DoNotOptimize(model.records);
    }
    viz::TraceModel model = viz::load_trace_bytes(bytes);
    state.counters["records"] = static_cast<double>(model.records);
    state.counters["trace_MB"] = static_cast<double>(bytes.size()) / 1e6;
    // What the index costs in memory, per record: the bound docs/visualiser.md gives.
    state.counters["model_MB"] = static_cast<double>(viz::model_bytes(model)) / 1e6;
    state.counters["bytes_per_record"] =
        static_cast<double>(viz::model_bytes(model)) / static_cast<double>(model.records);
}
BENCHMARK(BM_VizLoad1M)->Unit(benchmark::kMillisecond)->Iterations(3);

// The peer: the same bytes read and decoded, nothing kept.
void BM_TraceDecodeOnly1M(benchmark::State& state)
{
    const std::vector<u8>& bytes = million_record_trace();
    for (auto _ : state) {
        BytesTraceSource source(bytes);
        auto reader = std::make_unique<TraceReader>(source);
        (void)reader->open();
        TraceRecord record{};
        TraceFields fields;
        u64 count = 0;
        while (reader->next(record).value()) {
            (void)decode_fields(record, fields);
            ++count;
        }
        benchmark::DoNotOptimize(count);
    }
}
BENCHMARK(BM_TraceDecodeOnly1M)->Unit(benchmark::kMillisecond)->Iterations(3);

// One frame: layout + render into a software-rendered 1600x900 surface.
void frame_benchmark(benchmark::State& state, double window_fraction,
                     viz::View view = viz::View::all)
{
    static viz::TraceModel model = viz::load_trace_bytes(million_record_trace());
    viz::Size size{1600, 900};
    SDL_Surface* surface = SDL_CreateRGBSurfaceWithFormat(0, size.w, size.h, 32,
                                                          SDL_PIXELFORMAT_ABGR8888);
    SDL_Renderer* renderer = SDL_CreateSoftwareRenderer(surface);
    viz::Canvas canvas(renderer);
    viz::TimeWindow window = viz::full_window(model);
    window = viz::zoom(window, window_fraction, window.from + window.span() / 2);
    viz::LayoutOptions options;
    options.view = view;
    for (auto _ : state) {
        // The cursor moves every frame, so the page map is rebuilt every frame.
        auto frame = static_cast<TimeNs>(state.iterations());
        options.at = window.from + window.span() / 3 + frame * 1000;
        viz::Layout layout = viz::compute_layout(model, size, window, options);
        viz::render(canvas, model, layout, {window.from + window.span() / 3, {}, {}});
        SDL_RenderPresent(renderer);
    }
    SDL_DestroyRenderer(renderer);
    SDL_FreeSurface(surface);
}

void BM_VizFrameWhole1M(benchmark::State& state) { frame_benchmark(state, 1.0); }
BENCHMARK(BM_VizFrameWhole1M)->Unit(benchmark::kMillisecond);

void BM_VizFrameZoomed1M(benchmark::State& state) { frame_benchmark(state, 0.001); }
BENCHMARK(BM_VizFrameZoomed1M)->Unit(benchmark::kMillisecond);

// The memory view alone: every node's page map and heap classes at the cursor.
void BM_VizFrameMemory1M(benchmark::State& state)
{
    frame_benchmark(state, 1.0, viz::View::memory);
}
BENCHMARK(BM_VizFrameMemory1M)->Unit(benchmark::kMillisecond);

} // namespace

GANTRY_RATIO("viz: load (index) 1M records vs decode only", "BM_VizLoad1M/iterations:3",
             "BM_TraceDecodeOnly1M/iterations:3", 10.0);
