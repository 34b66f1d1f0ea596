// A block device in memory for unit tests, whose timing the test controls:
// requests complete at once, or wait until the test completes them (in any
// order), behind a queue of a chosen depth; one sector can be made to fail.
#pragma once

#include <gantry/block.hpp>

#include <cstring>
#include <deque>
#include <optional>
#include <vector>

namespace gantry::testing {

class MemoryBlockDevice final : public BlockDevice {
public:
    MemoryBlockDevice(u64 sector_count, u32 sector_bytes = 512)
        : m_data(sector_count * sector_bytes), m_info{sector_bytes, sector_count, false}
    {
    }

    BlockInfo info() const override { return m_info; }

    bool submit(BlockRequest& request) override
    {
        if (m_submitted.size() >= queue_depth)
            return false;
        ++submits;
        m_submitted.push_back(&request);
        if (complete_at_once)
            complete(m_submitted.size() - 1);
        return true;
    }

    BlockRequest* reap() override
    {
        if (m_completed.empty())
            return nullptr;
        BlockRequest* request = m_completed.front();
        m_completed.pop_front();
        return request;
    }

    // Carries out the index-th request still waiting (0 = the oldest).
    void complete(usize index)
    {
        BlockRequest* request = m_submitted.at(index);
        m_submitted.erase(m_submitted.begin() + static_cast<std::ptrdiff_t>(index));
        request->status = execute(*request);
        m_completed.push_back(request);
    }
    void complete_newest_first()
    {
        while (!m_submitted.empty())
            complete(m_submitted.size() - 1);
    }
    usize waiting() const { return m_submitted.size(); }

    std::vector<u8>& data() { return m_data; }
    void set_read_only(bool read_only) { m_info.read_only = read_only; }

    bool complete_at_once = true;
    usize queue_depth = 64;
    std::optional<u64> failing_sector;
    u64 submits = 0;
    u64 flushes = 0;

private:
    BlockStatus execute(const BlockRequest& request)
    {
        if (request.op == BlockOp::flush) {
            ++flushes;
            return m_info.read_only ? BlockStatus::read_only : BlockStatus::ok;
        }
        if (request.sector + request.sectors > m_info.sector_count)
            return BlockStatus::out_of_range;
        if (failing_sector && *failing_sector >= request.sector &&
            *failing_sector < request.sector + request.sectors)
            return BlockStatus::io_error;
        u8* at = m_data.data() + request.sector * m_info.sector_bytes;
        usize bytes = static_cast<usize>(request.sectors) * m_info.sector_bytes;
        if (request.op == BlockOp::read)
            std::memcpy(request.buffer, at, bytes);
        else if (m_info.read_only)
            return BlockStatus::read_only;
        else
            std::memcpy(at, request.buffer, bytes);
        return BlockStatus::ok;
    }

    std::vector<u8> m_data;
    BlockInfo m_info;
    std::vector<BlockRequest*> m_submitted;
    std::deque<BlockRequest*> m_completed;
};

} // namespace gantry::testing
