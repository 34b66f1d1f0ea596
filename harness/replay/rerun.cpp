#include "rerun.hpp"

#include "recording.hpp"
#include "stop_signals.hpp"

#include <gantry/app.hpp>
#include <gantry/block.hpp>
#include <gantry/kernel.hpp>
#include <gantry/nic.hpp>
#include <gantry/platform.hpp>
#include <gantry/sim/registry.hpp>
#include <gantry/trace.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>

namespace gantry::harness::replay {

namespace {

using recording::Record;
using recording::Tag;

constexpr usize region_alignment = 4096;

// Hands out the recording's records in order. A request that does not match
// the next record marks the re-run diverged; from then on every request gets
// a harmless answer and the loop stops after the current poll (the kernel
// cannot be unwound from inside a call).
class Script {
public:
    Script(recording::Reader& reader, RerunResult& result) : m_reader(reader), m_result(result) {}

    const Record* peek()
    {
        if (!m_have && !m_done) {
            std::string error;
            if (m_reader.next(m_next, error)) {
                m_have = true;
            } else {
                m_done = true;
                if (!error.empty())
                    diverge("the recording is malformed at " + error);
            }
        }
        return m_have ? &m_next : nullptr;
    }

    // The next record if it has `tag`, else a divergence.
    std::optional<Record> take(Tag tag, const char* wanted)
    {
        if (m_result.diverged)
            return std::nullopt;
        const Record* next = peek();
        if (!next) {
            if (!m_result.diverged)
                m_result.truncated = true;
            stop_now();
            return std::nullopt;
        }
        if (next->tag != tag) {
            diverge(std::string("the kernel asked for ") + wanted + " where the recording has " +
                    recording::tag_name(next->tag));
            return std::nullopt;
        }
        m_have = false;
        ++m_result.records;
        return std::move(m_next);
    }

    void diverge(const std::string& what)
    {
        if (m_result.diverged)
            return;
        m_result.diverged = true;
        m_result.divergence = "record " + std::to_string(m_result.records + 1) + " (byte " +
                              std::to_string(m_reader.offset()) + "): " + what;
        stop_now();
    }
    void stop_now() { m_stop = true; }
    bool stopped() const { return m_stop; }
    TimeNs last_clock = 0;

private:
    recording::Reader& m_reader;
    RerunResult& m_result;
    Record m_next;
    bool m_have = false;
    bool m_done = false;
    bool m_stop = false;
};

class RerunNic final : public Nic {
public:
    RerunNic(Script& script, RerunResult& result, u32 index, const recording::NicInfo& info)
        : m_script(script), m_result(result), m_index(index), m_info(info)
    {
    }
    net::MacAddress mac() const override { return net::MacAddress{m_info.mac}; }
    usize mtu() const override { return m_info.mtu; }

    usize receive(MutableBytes out) override
    {
        const Record* next = m_script.peek();
        if (m_script.stopped() || !next)
            return m_script.take(Tag::no_frame, "a received frame"), 0;
        if (next->tag == Tag::no_frame && next->nic == m_index) {
            m_script.take(Tag::no_frame, "a received frame");
            return 0;
        }
        auto frame = m_script.take(Tag::frame_in, "a received frame");
        if (!frame)
            return 0;
        if (frame->nic != m_index || frame->bytes.size() > out.size()) {
            m_script.diverge("a frame for NIC " + std::to_string(frame->nic) +
                             " (or longer than the buffer) where NIC " +
                             std::to_string(m_index) + " reads");
            return 0;
        }
        ++m_result.frames_in;
        std::memcpy(out.data(), frame->bytes.data(), frame->bytes.size());
        return frame->bytes.size();
    }

    bool transmit(Bytes frame) override
    {
        auto recorded = m_script.take(Tag::frame_out, "to send a frame");
        if (!recorded)
            return true;
        if (recorded->nic != m_index || recorded->length != frame.size() ||
            recorded->hash != recording::fnv1a64(frame)) {
            m_script.diverge("the kernel sent a " + std::to_string(frame.size()) +
                             "-byte frame that differs from the recorded " +
                             std::to_string(recorded->length) + "-byte one");
            return true;
        }
        ++m_result.frames_out;
        return true;
    }

private:
    Script& m_script;
    RerunResult& m_result;
    u32 m_index;
    recording::NicInfo m_info;
};

// Answers submit() and reap() from the recording: a completion names its
// request by submission number; a read gets the recorded data.
class RerunBlockDevice final : public BlockDevice {
public:
    RerunBlockDevice(Script& script, u32 index, const recording::DiskInfo& info)
        : m_script(script), m_index(index), m_info(info)
    {
    }
    BlockInfo info() const override
    {
        return {m_info.sector_bytes, m_info.sector_count, m_info.read_only};
    }

    bool submit(BlockRequest& request) override
    {
        auto recorded = m_script.take(Tag::disk_submit, "to submit a disk request");
        if (!recorded)
            return false;
        if (recorded->nic != m_index) {
            m_script.diverge("a request to disk " + std::to_string(m_index) +
                             " where the recording has one to disk " +
                             std::to_string(recorded->nic));
            return false;
        }
        if (recorded->status == 0)
            return false;
        m_in_flight.emplace(m_next_request++, &request);
        return true;
    }

    BlockRequest* reap() override
    {
        const Record* next = m_script.peek();
        if (!m_script.stopped() && next && next->tag == Tag::disk_idle && next->nic == m_index) {
            m_script.take(Tag::disk_idle, "a disk completion");
            return nullptr;
        }
        auto done = m_script.take(Tag::disk_done, "a disk completion");
        if (!done)
            return nullptr;
        auto found = m_in_flight.find(done->value);
        if (done->nic != m_index || found == m_in_flight.end()) {
            m_script.diverge("a completion of a request the re-run did not submit");
            return nullptr;
        }
        BlockRequest* request = found->second;
        usize expected = request->op == BlockOp::read &&
                                 done->status == static_cast<u8>(BlockStatus::ok)
                             ? usize{request->sectors} * m_info.sector_bytes
                             : 0;
        if (done->bytes.size() != expected) {
            m_script.diverge("a disk completion whose data does not fit the request");
            return nullptr;
        }
        std::memcpy(request->buffer, done->bytes.data(), done->bytes.size());
        request->status = static_cast<BlockStatus>(done->status);
        m_in_flight.erase(found);
        return request;
    }

private:
    Script& m_script;
    u32 m_index;
    recording::DiskInfo m_info;
    u64 m_next_request = 0;
    std::map<u64, BlockRequest*> m_in_flight;
};

struct FreeAligned {
    void operator()(u8* memory) const { std::free(memory); }
};

class RerunPlatform final : public Platform {
public:
    RerunPlatform(Script& script, RerunResult& result, const recording::Header& header,
                  std::FILE* trace)
        : m_script(script), m_header(header), m_trace(trace)
    {
        usize bytes = (header.memory_bytes + region_alignment - 1) / region_alignment *
                      region_alignment;
        m_memory.reset(static_cast<u8*>(std::aligned_alloc(region_alignment, bytes)));
        if (!m_memory)
            throw RerunError("cannot allocate the recorded " + std::to_string(bytes) +
                             " bytes of memory");
        m_region = MemoryRegion{m_memory.get(), static_cast<usize>(header.memory_bytes)};
        for (usize i = 0; i < header.nics.size(); ++i)
            m_nics.push_back(std::make_unique<RerunNic>(script, result, static_cast<u32>(i),
                                                        header.nics[i]));
        for (usize i = 0; i < header.disks.size(); ++i)
            m_disks.push_back(
                std::make_unique<RerunBlockDevice>(script, static_cast<u32>(i), header.disks[i]));
    }

    TimeNs now() override
    {
        if (auto clock = m_script.take(Tag::clock, "the clock"))
            m_script.last_clock = static_cast<TimeNs>(clock->value);
        return m_script.last_clock;
    }
    void idle_until(TimeNs) override {}
    void console_write(std::string_view text) override
    {
        std::fwrite(text.data(), 1, text.size(), stdout);
    }
    void fill_entropy(MutableBytes out) override
    {
        std::memset(out.data(), 0, out.size());
        auto entropy = m_script.take(Tag::entropy, "entropy");
        if (!entropy)
            return;
        if (entropy->bytes.size() != out.size()) {
            m_script.diverge("the kernel asked for " + std::to_string(out.size()) +
                             " bytes of entropy where the recording has " +
                             std::to_string(entropy->bytes.size()));
            return;
        }
        std::memcpy(out.data(), entropy->bytes.data(), out.size());
    }
    std::span<const MemoryRegion> memory_regions() override { return {&m_region, 1}; }
    bool trace_sink_enabled() override { return m_header.trace; }
    void trace_sink_write(Bytes bytes) override
    {
        if (m_trace && std::fwrite(bytes.data(), 1, bytes.size(), m_trace) != bytes.size())
            m_trace_failed = true;
    }
    Nic* nic(usize index) override
    {
        return index < m_nics.size() ? m_nics[index].get() : nullptr;
    }
    BlockDevice* block_device(usize index) override
    {
        return index < m_disks.size() ? m_disks[index].get() : nullptr;
    }
    bool trace_failed() const { return m_trace_failed; }

private:
    Script& m_script;
    const recording::Header& m_header;
    std::FILE* m_trace;
    bool m_trace_failed = false;
    std::unique_ptr<u8, FreeAligned> m_memory;
    MemoryRegion m_region{};
    std::vector<std::unique_ptr<RerunNic>> m_nics;
    std::vector<std::unique_ptr<RerunBlockDevice>> m_disks;
};

recording::Header read_header(recording::Reader& reader, const std::string& path)
{
    recording::Header header;
    std::string error;
    if (!reader.read_header(header, error))
        throw RerunError(path + ": " + error);
    return header;
}

KernelConfig kernel_config(const recording::Header& header)
{
    KernelConfig config;
    config.app_name = header.app;
    config.platform_name = header.platform_name;
    config.trace = header.trace;
    config.log_level = static_cast<LogLevel>(header.log_level);
    config.ip = net::Ipv4Address::from_u32(header.ip);
    config.prefix = header.prefix;
    config.gateway = net::Ipv4Address::from_u32(header.gateway);
    config.dns = net::Ipv4Address::from_u32(header.dns);
    config.dhcp = header.dhcp ? NetDhcp::on : NetDhcp::off;
    return config;
}

// The hosted runner's loop, with the recorded Ctrl-Cs instead of real ones.
void run_loop(Kernel& kernel, Script& script, RerunResult& result)
{
    u64 iteration = 0;
    while (!kernel.exited() && !script.stopped()) {
        kernel.poll();
        ++iteration;
        ++result.polls;
        if (kernel.exited() || script.stopped())
            break;
        const Record* next = script.peek();
        if (!next)
            break; // a recording cut short: the run went on, its inputs are gone
        if (next->tag == Tag::end) {
            script.diverge("the recorded run ended here, the re-run goes on");
            break;
        }
        if (next->tag != Tag::signals || next->value != iteration)
            continue;
        int signals = static_cast<int>(script.take(Tag::signals, "signals")->number);
        recording::handle_stop_signals(kernel, signals);
    }
}

// After the kernel's teardown (which reads the clock too, as when recorded).
void finish(bool exited, Script& script, RerunResult& result)
{
    if (!exited || script.stopped())
        return;
    const Record* next = script.peek();
    if (!next) {
        result.truncated = true;
        return;
    }
    if (next->tag != Tag::end) {
        script.diverge(std::string("the app exited where the recording goes on with ") +
                       recording::tag_name(next->tag));
        return;
    }
    result.recorded_exit_code = static_cast<int>(script.take(Tag::end, "the end")->number);
    result.reached_end = true;
    if (result.recorded_exit_code != result.exit_code)
        script.diverge("the app exited with " + std::to_string(result.exit_code) +
                       ", the recorded run with " + std::to_string(result.recorded_exit_code));
}

std::vector<u8> read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw RerunError(path + ": cannot open the recording");
    return std::vector<u8>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace

RerunResult rerun(const RerunOptions& options)
{
    recording::Reader reader(read_file(options.recording_path));
    recording::Header header = read_header(reader, options.recording_path);
    AppFactory factory = sim::find_app(header.app);
    if (!factory)
        throw RerunError(options.recording_path + ": the recorded app '" + header.app +
                         "' is not in this build");
    if (!options.trace_path.empty() && !header.trace)
        throw RerunError(options.recording_path + ": the run was recorded without --trace, so "
                                                  "its re-run cannot write one (tracing reads "
                                                  "the clock); record with --trace FILE");
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> trace(
        options.trace_path.empty() ? nullptr : std::fopen(options.trace_path.c_str(), "wb"),
        [](std::FILE* f) { return f ? std::fclose(f) : 0; });
    if (!options.trace_path.empty() && !trace)
        throw RerunError("cannot create the trace file '" + options.trace_path + "'");
    if (trace) {
        // The file header, as the hosted platform writes it before the kernel starts.
        u8 file_header[trace_file_header_bytes];
        Tracer::encode_file_header(file_header);
        if (std::fwrite(file_header, 1, sizeof file_header, trace.get()) != sizeof file_header)
            throw RerunError("writing the trace to '" + options.trace_path + "' failed");
    }
    RerunResult result;
    result.app = header.app;
    Script script(reader, result);
    RerunPlatform platform(script, result, header, trace.get());
    auto kernel = std::make_unique<Kernel>(platform, kernel_config(header));
    kernel->record_phase("platform", 0, platform.now());
    if (!kernel->boot().ok())
        throw RerunError(options.recording_path + ": the app does not boot on the re-run");
    App* app = factory(*kernel);
    std::vector<std::string_view> args(header.args.begin(), header.args.end());
    if (!app || !kernel->start_app(*app, AppArgs{args}).ok())
        throw RerunError(options.recording_path + ": the app cannot start on the re-run");
    run_loop(*kernel, script, result);
    bool exited = kernel->exited();
    if (exited)
        result.exit_code = kernel->exit_code();
    kernel->heap().destroy(app);
    kernel.reset();
    finish(exited, script, result);
    std::fflush(stdout);
    if (platform.trace_failed())
        throw RerunError("writing the trace to '" + options.trace_path + "' failed");
    return result;
}

} // namespace gantry::harness::replay
