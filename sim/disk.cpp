#include <gantry/assert.hpp>
#include <gantry/sim/disk.hpp>
#include <gantry/sim/world.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace gantry::sim {

namespace {

constexpr u32 ppm = 1'000'000;
constexpr u32 sector_bytes_max = 64 * 1024;

std::vector<u8> read_image(const std::string& path)
{
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file)
        throw std::runtime_error("cannot open disk image '" + path + "': " + std::strerror(errno));
    std::vector<u8> contents;
    u8 buffer[16 * 1024];
    while (usize got = std::fread(buffer, 1, sizeof(buffer), file))
        contents.insert(contents.end(), buffer, buffer + got);
    bool failed = std::ferror(file) != 0;
    std::fclose(file);
    if (failed)
        throw std::runtime_error("cannot read disk image '" + path + "'");
    return contents;
}

} // namespace

std::string_view to_string(CrashPolicy policy)
{
    switch (policy) {
    case CrashPolicy::lose_unflushed: return "lose-unflushed";
    case CrashPolicy::keep_unflushed: return "keep-unflushed";
    case CrashPolicy::random_torn: return "random-torn";
    }
    return "unknown";
}

SimDisk::SimDisk(World& world, NodeId node, u32 index, DiskConfig config)
    : m_world(world), m_node(node), m_index(index), m_config(std::move(config)),
      // One stream per (node, disk): a node's disks never share numbers.
      m_rng(world.seed(), node * disks_per_node_max + index, Stream::disk)
{
    const DiskConfig& c = m_config;
    if (index >= disks_per_node_max)
        throw std::invalid_argument("a node has at most " + std::to_string(disks_per_node_max) +
                                    " disks");
    if (c.sector_bytes < 512 || c.sector_bytes > sector_bytes_max ||
        (c.sector_bytes & (c.sector_bytes - 1)) != 0)
        throw std::invalid_argument("disk sector_bytes must be a power of two from 512 to 65536");
    if (c.sector_count == 0 && c.image_path.empty())
        throw std::invalid_argument("disk sector_count must be at least 1 (or give an image)");
    if (c.read_error_ppm > ppm || c.write_error_ppm > ppm)
        throw std::invalid_argument("disk error rates are parts per million (0 .. 1000000)");
    if (c.queue_depth == 0)
        throw std::invalid_argument("disk queue_depth must be at least 1");
    if (c.cached_writes_max == 0)
        throw std::invalid_argument("disk cached_writes_max must be at least 1");
    std::vector<u8> image = c.image_path.empty() ? std::vector<u8>{} : read_image(c.image_path);
    u64 image_sectors = (image.size() + c.sector_bytes - 1) / c.sector_bytes;
    // A disk is at least as large as its image.
    m_config.sector_count = std::max(m_config.sector_count, image_sectors);
    u64 bytes = m_config.sector_count * m_config.sector_bytes;
    m_chunks.resize((bytes + chunk_bytes - 1) / chunk_bytes);
    image.resize(image_sectors * m_config.sector_bytes, 0);
    medium_write(0, image_sectors, image.data());
}

SimDisk::~SimDisk() = default;

BlockInfo SimDisk::info() const
{
    return BlockInfo{m_config.sector_bytes, m_config.sector_count, m_config.read_only};
}

BlockStatus SimDisk::decide_outcome(const BlockRequest& request)
{
    if (request.op != BlockOp::flush &&
        (request.sector > m_config.sector_count ||
         request.sectors > m_config.sector_count - request.sector))
        return BlockStatus::out_of_range;
    if (request.op != BlockOp::read && m_config.read_only)
        return BlockStatus::read_only;
    // Zero rates draw nothing, so a disk without faults leaves the stream alone.
    u32 error_ppm = request.op == BlockOp::read ? m_config.read_error_ppm
                                                : m_config.write_error_ppm;
    if (error_ppm != 0 && m_rng.below(ppm) < error_ppm) {
        if (request.op == BlockOp::read)
            ++m_counters.read_errors_injected;
        else
            ++m_counters.write_errors_injected;
        return BlockStatus::io_error;
    }
    return BlockStatus::ok;
}

TimeNs SimDisk::latency_for(u32 sectors)
{
    TimeNs latency = m_config.latency_ns + TimeNs{sectors} * m_config.sector_ns;
    if (m_config.jitter_ns != 0)
        latency += m_rng.below(m_config.jitter_ns + 1);
    return std::max<TimeNs>(latency, 1);
}

bool SimDisk::submit(BlockRequest& request)
{
    if (m_in_flight.size() >= m_config.queue_depth) {
        ++m_counters.queue_full;
        return false;
    }
    GANTRY_ASSERT(request.op == BlockOp::flush || request.buffer != nullptr);
    InFlight entry{&request, request.op, request.sector, request.sectors,
                   decide_outcome(request), {}, 0};
    if (entry.op == BlockOp::write && entry.outcome == BlockStatus::ok) {
        const u8* data = request.buffer;
        entry.data.assign(data, data + u64{request.sectors} * m_config.sector_bytes);
    }
    if (entry.op == BlockOp::flush)
        entry.flush_covers = m_writes_completed;
    u64 id = m_next_id++;
    TimeNs due = m_world.now() + latency_for(request.sectors);
    m_in_flight.emplace(id, std::move(entry));
    m_world.schedule_disk(due, m_node, (id << 8) | m_index);
    return true;
}

BlockRequest* SimDisk::reap()
{
    if (m_completed.empty())
        return nullptr;
    BlockRequest* request = m_completed.front();
    m_completed.pop_front();
    return request;
}

void SimDisk::complete(u64 id)
{
    auto found = m_in_flight.find(id);
    if (found == m_in_flight.end())
        return; // discarded by a crash or a stop
    InFlight entry = std::move(found->second);
    m_in_flight.erase(found);
    switch (entry.op) {
    case BlockOp::read:
        ++m_counters.reads;
        finish_read(entry);
        break;
    case BlockOp::write:
        ++m_counters.writes;
        finish_write(entry);
        break;
    case BlockOp::flush:
        ++m_counters.flushes;
        finish_flush(entry);
        break;
    }
    entry.request->status = entry.outcome;
    m_completed.push_back(entry.request);
    m_world.wake(m_node);
}

void SimDisk::finish_read(InFlight& read)
{
    if (read.outcome != BlockStatus::ok)
        return;
    std::vector<u8> data = peek(read.sector, read.sectors);
    std::memcpy(read.request->buffer, data.data(), data.size());
}

void SimDisk::finish_write(InFlight& write)
{
    if (write.outcome != BlockStatus::ok)
        return;
    m_cache.push_back(CachedWrite{++m_writes_completed, write.sector, std::move(write.data)});
    if (m_cache.size() > m_config.cached_writes_max)
        destage_oldest();
}

void SimDisk::finish_flush(const InFlight& flush)
{
    if (flush.outcome != BlockStatus::ok)
        return;
    // Only writes that completed before the flush was submitted are covered;
    // the cache is in completion order, so they are at its front.
    while (!m_cache.empty() && m_cache.front().number <= flush.flush_covers) {
        const CachedWrite& write = m_cache.front();
        medium_write(write.sector, write.data.size() / m_config.sector_bytes, write.data.data());
        m_cache.pop_front();
    }
}

void SimDisk::destage_oldest()
{
    const CachedWrite& write = m_cache.front();
    medium_write(write.sector, write.data.size() / m_config.sector_bytes, write.data.data());
    m_cache.pop_front();
    ++m_counters.destaged;
}

SimDisk::Fate SimDisk::apply_at_crash(u64 sector, Bytes data)
{
    u64 sectors = data.size() / m_config.sector_bytes;
    switch (m_config.crash_policy) {
    case CrashPolicy::lose_unflushed:
        return Fate::lost;
    case CrashPolicy::keep_unflushed:
        medium_write(sector, sectors, data.data());
        return Fate::kept;
    case CrashPolicy::random_torn:
        break;
    }
    u64 roll = m_rng.below(3);
    if (roll == 0 || (roll == 2 && sectors == 1)) {
        medium_write(sector, sectors, data.data());
        return Fate::kept;
    }
    if (roll == 1)
        return Fate::lost;
    // Torn: each sector reaches the medium or not, by a coin; redraw the rare
    // all-or-nothing outcome so a torn write is really partial.
    std::vector<bool> reaches(sectors);
    for (;;) {
        u64 kept = 0;
        for (u64 i = 0; i < sectors; ++i) {
            reaches[i] = m_rng.below(2) == 1;
            kept += reaches[i] ? 1 : 0;
        }
        if (kept != 0 && kept != sectors)
            break;
    }
    for (u64 i = 0; i < sectors; ++i)
        if (reaches[i])
            medium_write(sector + i, 1, data.data() + i * m_config.sector_bytes);
    return Fate::torn;
}

void SimDisk::power_loss()
{
    ++m_counters.crashes;
    auto count = [this](Fate fate) {
        (fate == Fate::kept ? m_counters.writes_kept
                            : fate == Fate::lost ? m_counters.writes_lost
                                                 : m_counters.writes_torn) += 1;
    };
    for (const CachedWrite& write : m_cache)
        count(apply_at_crash(write.sector, write.data));
    m_cache.clear();
    // A write still in flight was being transferred when the power went: under
    // random_torn it may have landed whole or in part; otherwise it is lost.
    for (auto& [id, entry] : m_in_flight) {
        if (entry.op != BlockOp::write || entry.outcome != BlockStatus::ok)
            continue;
        if (m_config.crash_policy == CrashPolicy::random_torn)
            count(apply_at_crash(entry.sector, entry.data));
        else
            count(Fate::lost);
    }
    discard_requests();
}

void SimDisk::detach()
{
    discard_requests();
}

void SimDisk::discard_requests()
{
    m_counters.discarded += m_in_flight.size() + m_completed.size();
    m_in_flight.clear();
    m_completed.clear();
}

std::vector<u8> SimDisk::peek(u64 sector, u64 sectors) const
{
    std::vector<u8> out = peek_durable(sector, sectors);
    // The cache overlays the medium, oldest first, so the newest write wins.
    for (const CachedWrite& write : m_cache) {
        u64 write_sectors = write.data.size() / m_config.sector_bytes;
        u64 begin = std::max(sector, write.sector);
        u64 end = std::min(sector + sectors, write.sector + write_sectors);
        if (begin >= end)
            continue;
        std::memcpy(out.data() + (begin - sector) * m_config.sector_bytes,
                    write.data.data() + (begin - write.sector) * m_config.sector_bytes,
                    (end - begin) * m_config.sector_bytes);
    }
    return out;
}

std::vector<u8> SimDisk::peek_durable(u64 sector, u64 sectors) const
{
    if (sector > m_config.sector_count || sectors > m_config.sector_count - sector)
        throw std::out_of_range("peek past the end of the disk");
    std::vector<u8> out(sectors * m_config.sector_bytes);
    medium_read(sector, sectors, out.data());
    return out;
}

const u8* SimDisk::chunk_at(u64 byte_offset) const
{
    return m_chunks[byte_offset / chunk_bytes].get();
}

u8* SimDisk::chunk_for(u64 byte_offset, bool create)
{
    auto& chunk = m_chunks[byte_offset / chunk_bytes];
    if (!chunk && create)
        chunk = std::make_unique<u8[]>(chunk_bytes); // value-initialised: zeros
    return chunk.get();
}

void SimDisk::medium_read(u64 sector, u64 sectors, u8* out) const
{
    u64 offset = sector * m_config.sector_bytes;
    u64 remaining = sectors * m_config.sector_bytes;
    while (remaining > 0) {
        u64 within = offset % chunk_bytes;
        u64 take = std::min(remaining, chunk_bytes - within);
        if (const u8* chunk = chunk_at(offset))
            std::memcpy(out, chunk + within, take);
        else
            std::memset(out, 0, take);
        out += take;
        offset += take;
        remaining -= take;
    }
}

void SimDisk::medium_write(u64 sector, u64 sectors, const u8* data)
{
    u64 offset = sector * m_config.sector_bytes;
    u64 remaining = sectors * m_config.sector_bytes;
    while (remaining > 0) {
        u64 within = offset % chunk_bytes;
        u64 take = std::min(remaining, chunk_bytes - within);
        std::memcpy(chunk_for(offset, true) + within, data, take);
        data += take;
        offset += take;
        remaining -= take;
    }
}

} // namespace gantry::sim
