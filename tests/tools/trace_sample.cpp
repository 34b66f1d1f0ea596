// Writes a small trace with every record kind from two nodes, through the real
// Tracer, so the `gantry trace` tests have input that does not depend on an app.
// usage: gantry_trace_sample OUT.trace
#include <gantry/platform.hpp>
#include <gantry/trace.hpp>

#include <cstdio>
#include <vector>

namespace {

using namespace gantry;

class FilePlatform final : public Platform {
public:
    explicit FilePlatform(std::FILE* file) : m_file(file) {}
    TimeNs now() override { return m_now; }
    void idle_until(TimeNs) override {}
    void console_write(std::string_view) override {}
    void fill_entropy(MutableBytes out) override
    {
        for (u8& byte : out)
            byte = 0;
    }
    std::span<const MemoryRegion> memory_regions() override { return {}; }
    bool trace_sink_enabled() override { return true; }
    void trace_sink_write(Bytes bytes) override
    {
        std::fwrite(bytes.data(), 1, bytes.size(), m_file);
    }

    TimeNs m_now = 0;

private:
    std::FILE* m_file;
};

void run_node(FilePlatform& platform, u32 node, TimeNs start)
{
    std::vector<u8> buffer(256); // small, so flushing mid-run is exercised
    Tracer tracer;
    tracer.attach(platform, node, buffer);
    tracer.set_enabled(true);
    auto at = [&](TimeNs offset_us) { platform.m_now = start + offset_us * ns_per_us; };
    at(0);
    tracer.node_info("sample", "test \"quoted\"");
    tracer.boot_phase_begin("boot");
    at(10);
    tracer.boot_phase_begin("memory");
    tracer.page_alloc(0, 3, 16);
    at(20);
    tracer.boot_phase_end("memory");
    tracer.boot_phase_end("boot");
    tracer.fiber_spawn(1, 0, "main");
    tracer.fiber_spawn(2, 1, "worker");
    at(30);
    tracer.fiber_switch(0, 1);
    tracer.log(1, "hello from node\t\"sample\" \xc3\xa9 \xff");
    at(40);
    tracer.fiber_switch(1, 2);
    tracer.mem_stats(1024, 40, 12, 4096, 10, 3);
    at(50);
    tracer.fiber_exit(2);
    tracer.fiber_switch(2, 0);
    tracer.idle(start + 1000 * ns_per_us);
    at(1000);
    tracer.timer_fire(1);
    tracer.page_free(0, 3, 16);
    tracer.kernel_exit(0);
    tracer.flush();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT.trace\n", argv[0]);
        return 2;
    }
    std::FILE* file = std::fopen(argv[1], "wb");
    if (file == nullptr) {
        std::perror(argv[1]);
        return 2;
    }
    u8 header[trace_file_header_bytes];
    Tracer::encode_file_header(header);
    std::fwrite(header, 1, sizeof(header), file);
    FilePlatform platform(file);
    run_node(platform, 0, 0);
    run_node(platform, 1, 5 * ns_per_us);
    return std::fclose(file) == 0 ? 0 : 1;
}
