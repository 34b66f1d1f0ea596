#include <gantry/virtio/model.hpp>

#include <gantry/assert.hpp>

#include <algorithm>

namespace gantry::virtio {

namespace {

constexpr u64 feature_read_only = u64{1} << 5;
constexpr u64 feature_flush = u64{1} << 9;
constexpr u32 request_in = 0;
constexpr u32 request_out = 1;
constexpr u32 request_flush = 4;
constexpr u8 status_ok = 0;
constexpr u8 status_io_error = 1;
constexpr u8 status_unsupported = 2;
constexpr u32 sector_bytes = 512;

u64 features_for(const BlockInfo& info)
{
    return feature_flush | (info.read_only ? feature_read_only : 0);
}

} // namespace

BlockModel::BlockModel(BlockDevice& backend)
    : DeviceModel(DeviceType::block, features_for(backend.info()), 1), m_backend(backend),
      m_info(backend.info())
{
    GANTRY_ASSERT(m_info.sector_bytes == sector_bytes);
}

BlockModel::~BlockModel()
{
    // Requests still in the backend point into m_in_backend: let them finish.
    while (!m_in_backend.empty()) {
        BlockRequest* done = m_backend.reap();
        if (!done)
            break;
        std::erase_if(m_in_backend, [done](const auto& p) { return &p->request == done; });
    }
}

u8 BlockModel::config_byte(u32 offset)
{
    // capacity (le64, 512-byte sectors) at 0; nothing else is offered.
    return offset < 8 ? static_cast<u8>(m_info.sector_count >> (8 * offset)) : 0;
}

void BlockModel::on_reset()
{
    m_waiting.clear();
}

void BlockModel::on_notify(u16)
{
    accept_requests();
    submit_waiting();
}

void BlockModel::run()
{
    accept_requests();
    submit_waiting();
    while (BlockRequest* done = m_backend.reap()) {
        auto found = std::find_if(m_in_backend.begin(), m_in_backend.end(),
                                  [done](const auto& p) { return &p->request == done; });
        GANTRY_ASSERT(found != m_in_backend.end());
        std::unique_ptr<Pending> pending = std::move(*found);
        m_in_backend.erase(found);
        finish(*pending, done->status == BlockStatus::ok ? status_ok : status_io_error);
    }
}

void BlockModel::finish(Pending& pending, u8 status)
{
    *pending.status = status;
    complete(0, pending.head, pending.written + 1);
}

// Chains are header (16 bytes, read), one data buffer (read or written), and a
// status byte (written); flushes have no data.
void BlockModel::accept_requests()
{
    Chain chain;
    while (next_chain(0, chain)) {
        const Segment& first = chain.segments[0];
        const Segment& last = chain.segments[chain.count - 1];
        if (chain.count < 2 || first.device_writes || first.bytes < 16 || !last.device_writes ||
            last.bytes < 1) {
            protocol_error();
            return;
        }
        auto pending = std::make_unique<Pending>();
        pending->head = chain.head;
        pending->status = last.data;
        u32 type = 0;
        u64 sector = 0;
        __builtin_memcpy(&type, first.data, 4);
        __builtin_memcpy(&sector, first.data + 8, 8);
        BlockRequest& request = pending->request;
        if (type == request_flush && chain.count == 2) {
            request.op = BlockOp::flush;
        } else if ((type == request_in || type == request_out) && chain.count == 3 &&
                   chain.segments[1].device_writes == (type == request_in) &&
                   chain.segments[1].bytes % sector_bytes == 0 && chain.segments[1].bytes > 0) {
            request.op = type == request_in ? BlockOp::read : BlockOp::write;
            request.sector = sector;
            request.sectors = chain.segments[1].bytes / sector_bytes;
            request.buffer = chain.segments[1].data;
            pending->written = type == request_in ? chain.segments[1].bytes : 0;
        } else {
            finish(*pending, status_unsupported);
            continue;
        }
        m_waiting.push_back(std::move(pending));
    }
}

void BlockModel::submit_waiting()
{
    while (!m_waiting.empty()) {
        Pending& pending = *m_waiting.front();
        if (!m_backend.submit(pending.request))
            return; // the backend is full: retried when the driver next looks
        m_in_backend.push_back(std::move(m_waiting.front()));
        m_waiting.erase(m_waiting.begin());
    }
}

} // namespace gantry::virtio
