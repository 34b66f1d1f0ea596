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

// A simulated network's trace: four nodes on a ring, a frame every 3 us, each
// a net_tx on its sender, the fabric's link_frame and a net_rx on its receiver
// (every 50th is lost instead): 1M records, a third of them link frames. Half
// the frames are TCP over 16 connections, a quarter UDP, the rest ICMP and ARP.
void put_link_frame(std::vector<u8>& out, TimeNs time, u32 from, u32 to, u8 fate, TimeNs sent)
{
    auto put = [&](u64 value, usize bytes) {
        for (usize i = 0; i < bytes; ++i)
            out.push_back(static_cast<u8>(value >> (8 * i)));
    };
    put(trace_record_header_bytes + 23, 2);
    put(static_cast<u8>(TraceKind::link_frame), 1);
    put(0, 1);
    put(0xffffffff, 4);
    put(time, 8);
    put(from, 4); // link: the sender's port
    put(from, 4);
    put(to, 4);
    put(100, 2);
    put(fate, 1);
    put(sent, 8);
}

TraceNetFrame bench_frame(usize i, u32 from, u32 to)
{
    TraceNetFrame frame{.length = 100, .ethertype = 0x0800, .source = 0x0a000001 + from,
                        .destination = 0x0a000001 + to};
    switch (i % 8) {
    case 6: frame.protocol = 1; break;
    case 7: frame = {.length = 100, .ethertype = 0x0806}; break;
    default:
        frame.protocol = i % 8 < 4 ? 6 : 17;
        frame.source_port = static_cast<u16>(40000 + i % 16);
        frame.destination_port = 80;
    }
    return frame;
}

const std::vector<u8>& network_trace()
{
    static std::vector<u8> bytes = [] {
        BytesPlatform platform;
        u8 header[trace_file_header_bytes];
        Tracer::encode_file_header(header);
        platform.out.assign(header, header + sizeof(header));
        std::vector<std::vector<u8>> buffers(4, std::vector<u8>(64 * 1024));
        std::vector<Tracer> tracers(4);
        for (u32 node = 0; node < 4; ++node) {
            tracers[node].attach(platform, node, buffers[node]);
            tracers[node].set_enabled(true);
            tracers[node].node_info("bench", "sim");
        }
        std::vector<u8> links;
        for (usize i = 0; i < records_target / 3; ++i) {
            u32 from = static_cast<u32>(i % 4), to = (from + 1) % 4;
            TimeNs sent = 1000 + i * 3000, arrival = sent + 2000;
            TraceNetFrame frame = bench_frame(i, from, to);
            platform.time = sent;
            tracers[from].net_tx(frame);
            bool lost = i % 50 == 49;
            put_link_frame(links, arrival, from, to, lost ? 3 : 0, sent);
            platform.time = arrival;
            if (!lost)
                tracers[to].net_rx(frame);
        }
        for (Tracer& tracer : tracers)
            tracer.flush();
        platform.out.insert(platform.out.end(), links.begin(), links.end());
        return std::move(platform.out);
    }();
    return bytes;
}

// Loading it: indexing plus matching every link frame to its sender's net_tx.
void BM_VizLoadNetwork1M(benchmark::State& state)
{
    for (auto _ : state) {
        viz::TraceModel model = viz::load_trace_bytes(network_trace());
        benchmark::DoNotOptimize(model.records);
    }
    viz::TraceModel model = viz::load_trace_bytes(network_trace());
    usize matched = 0;
    for (const viz::LinkFrame& frame : model.link_frames)
        matched += frame.match != viz::HeaderMatch::none;
    state.counters["records"] = static_cast<double>(model.records);
    state.counters["link_frames"] = static_cast<double>(model.link_frames.size());
    state.counters["matched"] = static_cast<double>(matched);
}
BENCHMARK(BM_VizLoadNetwork1M)->Unit(benchmark::kMillisecond)->Iterations(3);

// One frame of the network view (1600x900) of that trace, zoomed to `fraction`
// of it, with a filter: the arrows and ticks of the window are visited and
// those the filter leaves out skipped.
void network_frame(benchmark::State& state, double fraction, const viz::NetFilter& filter)
{
    static viz::TraceModel model = viz::load_trace_bytes(network_trace());
    viz::Size size{1600, 900};
    SDL_Surface* surface = SDL_CreateRGBSurfaceWithFormat(0, size.w, size.h, 32,
                                                          SDL_PIXELFORMAT_ABGR8888);
    SDL_Renderer* renderer = SDL_CreateSoftwareRenderer(surface);
    viz::Canvas canvas(renderer);
    viz::TimeWindow window = viz::full_window(model);
    window = viz::zoom(window, fraction, window.from + window.span() / 2);
    // Field by field: g++ 12 flags a designated initialiser that leaves members out.
    viz::LayoutOptions options;
    options.view = viz::View::network;
    options.net_filter = filter;
    for (auto _ : state) {
        viz::Layout layout = viz::compute_layout(model, size, window, options);
        viz::render(canvas, model, layout, {window.from + window.span() / 3, {}, {}});
        SDL_RenderPresent(renderer);
    }
    viz::Layout layout = viz::compute_layout(model, size, window, options);
    state.counters["arrows"] = static_cast<double>(viz::visible_arrows(model, layout).size());
    SDL_DestroyRenderer(renderer);
    SDL_FreeSurface(surface);
}

viz::NetFilter tcp_only()
{
    viz::NetFilter filter;
    filter.protocols = viz::protocol_bit(viz::NetProtocol::tcp);
    return filter;
}

viz::NetFilter one_connection()
{
    std::string error;
    return {.connection = viz::parse_connection("tcp:10.0.0.1:40000-10.0.0.2:80", error)};
}

void BM_VizNetworkWhole1M(benchmark::State& state) { network_frame(state, 1.0, {}); }
BENCHMARK(BM_VizNetworkWhole1M)->Unit(benchmark::kMillisecond);
void BM_VizNetworkWholeTcp1M(benchmark::State& state) { network_frame(state, 1.0, tcp_only()); }
BENCHMARK(BM_VizNetworkWholeTcp1M)->Unit(benchmark::kMillisecond);
void BM_VizNetworkWholeConnection1M(benchmark::State& state)
{
    network_frame(state, 1.0, one_connection());
}
BENCHMARK(BM_VizNetworkWholeConnection1M)->Unit(benchmark::kMillisecond);
void BM_VizNetworkZoomed1M(benchmark::State& state) { network_frame(state, 0.01, {}); }
BENCHMARK(BM_VizNetworkZoomed1M)->Unit(benchmark::kMillisecond);
void BM_VizNetworkZoomedConnection1M(benchmark::State& state)
{
    network_frame(state, 0.01, one_connection());
}
BENCHMARK(BM_VizNetworkZoomedConnection1M)->Unit(benchmark::kMillisecond);

} // namespace

GANTRY_RATIO("viz: load (index) 1M records vs decode only", "BM_VizLoad1M/iterations:3",
             "BM_TraceDecodeOnly1M/iterations:3", 10.0);
