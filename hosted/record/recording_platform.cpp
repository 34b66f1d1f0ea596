#include "recording_platform.hpp"

namespace gantry::recording {

namespace {

// NIC slots probed for the header; the hosted platform has at most one today.
constexpr usize nic_slots_probed = 4;

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

RecordingPlatform::RecordingPlatform(Platform& inner, Writer& writer)
    : m_inner(inner), m_writer(writer)
{
    for (usize i = 0; i < nic_slots_probed; ++i) {
        Nic* nic = inner.nic(i);
        if (!nic)
            break;
        m_nics.push_back(std::make_unique<RecordingNic>(*nic, writer, static_cast<u32>(i)));
    }
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
