#include "recording_platform.hpp"

#include <gantry/assert.hpp>

namespace gantry::recording {

namespace {

// Device slots probed for the header (the hosted platform has one NIC and a
// few disks at most).
constexpr usize nic_slots_probed = 4;
constexpr usize disk_slots_probed = disks_max;

} // namespace

usize RecordingNic::receive(MutableBytes out)
{
    usize length = m_inner.receive(out);
    if (length == 0)
        m_writer.no_frame(m_index);
    else
        m_writer.frame_in(m_index, Bytes(out.data(), length));
    return length;
}

bool RecordingNic::transmit(Bytes frame)
{
    m_writer.frame_out(m_index, frame);
    return m_inner.transmit(frame);
}

bool RecordingBlockDevice::submit(BlockRequest& request)
{
    bool accepted = m_inner.submit(request);
    m_writer.disk_submit(m_index, accepted);
    if (accepted)
        m_in_flight.emplace(&request, m_next_request++);
    return accepted;
}

BlockRequest* RecordingBlockDevice::reap()
{
    BlockRequest* request = m_inner.reap();
    if (!request) {
        m_writer.disk_idle(m_index);
        return nullptr;
    }
    auto found = m_in_flight.find(request);
    GANTRY_ASSERT(found != m_in_flight.end());
    bool read_data = request->op == BlockOp::read && request->status == BlockStatus::ok;
    usize bytes = read_data ? usize{request->sectors} * m_inner.info().sector_bytes : 0;
    m_writer.disk_done(m_index, found->second, static_cast<u8>(request->status),
                       Bytes(request->buffer, bytes));
    m_in_flight.erase(found);
    return request;
}

RecordingPlatform::RecordingPlatform(Platform& inner, Writer& writer)
    : m_inner(inner), m_writer(writer)
{
    for (usize i = 0; i < nic_slots_probed; ++i) {
        Nic* nic = inner.nic(i);
        if (!nic)
            break;
        m_nics.push_back(std::make_unique<RecordingNic>(*nic, writer, static_cast<u32>(i)));
    }
    for (usize i = 0; i < disk_slots_probed; ++i) {
        BlockDevice* disk = inner.block_device(i);
        if (!disk)
            break;
        m_disks.push_back(
            std::make_unique<RecordingBlockDevice>(*disk, writer, static_cast<u32>(i)));
    }
}

BlockDevice* RecordingPlatform::block_device(usize index)
{
    return index < m_disks.size() ? m_disks[index].get() : nullptr;
}

std::vector<DiskInfo> RecordingPlatform::disk_infos()
{
    std::vector<DiskInfo> infos;
    for (const auto& disk : m_disks) {
        BlockInfo info = disk->info();
        infos.push_back({info.sector_bytes, info.sector_count, info.read_only});
    }
    return infos;
}

TimeNs RecordingPlatform::now()
{
    TimeNs time = m_inner.now();
    m_writer.clock(time);
    return time;
}

void RecordingPlatform::fill_entropy(MutableBytes out)
{
    m_inner.fill_entropy(out);
    m_writer.entropy(out);
}

Nic* RecordingPlatform::nic(usize index)
{
    return index < m_nics.size() ? m_nics[index].get() : nullptr;
}

std::vector<NicInfo> RecordingPlatform::nic_infos()
{
    std::vector<NicInfo> infos;
    for (const auto& nic : m_nics) {
        NicInfo info;
        info.mac = nic->mac().octets;
        info.mtu = static_cast<u32>(nic->mtu());
        infos.push_back(info);
    }
    return infos;
}

} // namespace gantry::recording
