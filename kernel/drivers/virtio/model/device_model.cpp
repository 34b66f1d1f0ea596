#include <gantry/virtio/model.hpp>

#include <gantry/assert.hpp>

namespace gantry::virtio {

namespace {

constexpr u16 model_queue_size_max = 256;
constexpr u32 vendor_gantry = 0x47414e54; // "GANT"

template<typename T>
T* at(u64 address)
{
    return reinterpret_cast<T*>(address);
}

} // namespace

DeviceModel::DeviceModel(DeviceType type, u64 features, u16 queue_count)
    : m_type(type), m_features(features | feature::version_1), m_queues(queue_count)
{
}

void DeviceModel::reset()
{
    m_driver_features = 0;
    m_status = 0;
    m_interrupt_status = 0;
    m_queue_select = 0;
    for (QueueState& queue : m_queues)
        queue = QueueState{};
    on_reset();
}

DeviceModel::QueueState* DeviceModel::selected()
{
    return m_queue_select < m_queues.size() ? &m_queues[m_queue_select] : nullptr;
}

u32 DeviceModel::read32(u32 offset)
{
    QueueState* queue = selected();
    switch (offset) {
    case reg::magic: return mmio_magic;
    case reg::version: return mmio_version_modern;
    case reg::device_id: return static_cast<u32>(m_type);
    case reg::vendor_id: return vendor_gantry;
    case reg::device_features:
        return m_device_features_select == 0 ? static_cast<u32>(m_features)
               : m_device_features_select == 1 ? static_cast<u32>(m_features >> 32)
                                               : 0;
    case reg::queue_size_max: return queue ? model_queue_size_max : 0;
    case reg::queue_ready: return queue && queue->ready ? 1 : 0;
    case reg::interrupt_status: return m_interrupt_status;
    case reg::status: return m_status;
    case reg::config_generation: return 0;
    default: return 0;
    }
}

void DeviceModel::write32(u32 offset, u32 value)
{
    QueueState* queue = selected();
    switch (offset) {
    case reg::device_features_select: m_device_features_select = value; return;
    case reg::driver_features_select: m_driver_features_select = value; return;
    case reg::driver_features:
        if (m_driver_features_select < 2) {
            const u32 shift = 32 * m_driver_features_select;
            m_driver_features = (m_driver_features & ~(u64{0xffffffff} << shift)) |
                                (u64{value} << shift);
        }
        return;
    case reg::queue_select: m_queue_select = value; return;
    case reg::queue_size:
        if (queue && !queue->ready)
            queue->size = static_cast<u16>(value);
        return;
    case reg::queue_desc_low:
    case reg::queue_desc_high:
    case reg::queue_driver_low:
    case reg::queue_driver_high:
    case reg::queue_device_low:
    case reg::queue_device_high: {
        if (!queue || queue->ready)
            return;
        const u32 base = offset & ~u32{0xf};
        u64& field = base == reg::queue_desc_low ? queue->descriptors
                     : base == reg::queue_driver_low ? queue->driver
                                                     : queue->device;
        const u32 shift = (offset & 0x4) ? 32 : 0;
        field = (field & ~(u64{0xffffffff} << shift)) | (u64{value} << shift);
        return;
    }
    case reg::queue_ready:
        if (queue) {
            const bool valid = queue->size != 0 && queue->size <= model_queue_size_max &&
                               (queue->size & (queue->size - 1)) == 0 && queue->descriptors &&
                               queue->driver && queue->device;
            queue->ready = value == 1 && valid;
            if (value == 1 && !valid)
                protocol_error();
        }
        return;
    case reg::queue_notify:
        if (driver_ok() && value < m_queues.size() && m_queues[value].ready)
            on_notify(static_cast<u16>(value));
        return;
    case reg::interrupt_ack: m_interrupt_status &= ~value; return;
    case reg::status:
        if (value == 0) {
            reset();
            return;
        }
        // FEATURES_OK only sticks for features this device offered.
        if ((value & status::features_ok) && (m_driver_features & ~m_features))
            value &= ~status::features_ok;
        m_status = value | (m_status & status::needs_reset);
        return;
    default: return;
    }
}

u8 DeviceModel::read8(u32 offset)
{
    if (offset < reg::config)
        return static_cast<u8>(read32(offset & ~u32{3}) >> (8 * (offset & 3)));
    return config_byte(offset - reg::config);
}

void DeviceModel::let_device_run()
{
    if (driver_ok())
        run();
}

void DeviceModel::protocol_error()
{
    ++m_protocol_errors;
    m_status |= status::needs_reset;
}

bool DeviceModel::queue_live(u16 queue) const
{
    return driver_ok() && queue < m_queues.size() && m_queues[queue].ready;
}

bool DeviceModel::next_chain(u16 index, Chain& out)
{
    if (!queue_live(index))
        return false;
    QueueState& queue = m_queues[index];
    const auto* avail = at<AvailRing>(queue.driver);
    const u16 avail_index = __atomic_load_n(&avail->index, __ATOMIC_ACQUIRE);
    if (avail_index == queue.last_avail)
        return false;
    if (static_cast<u16>(avail_index - queue.last_avail) > queue.size) {
        protocol_error();
        return false;
    }
    const u16 head = avail->ring[queue.last_avail % queue.size];
    ++queue.last_avail;
    const auto* table = at<Descriptor>(queue.descriptors);
    out = Chain{};
    out.head = head;
    u16 index_in_table = head;
    // A chain longer than the table has a loop.
    for (u16 steps = 0;; ++steps) {
        if (index_in_table >= queue.size || steps >= queue.size ||
            out.count == Chain::segments_max) {
            protocol_error();
            return false;
        }
        const Descriptor& descriptor = table[index_in_table];
        out.segments[out.count++] = {at<u8>(descriptor.address), descriptor.bytes,
                                     (descriptor.flags & descriptor_flag::device_writes) != 0};
        if (!(descriptor.flags & descriptor_flag::next))
            return true;
        index_in_table = descriptor.next;
    }
}

void DeviceModel::complete(u16 index, u16 head, u32 bytes_written)
{
    QueueState& queue = m_queues[index];
    auto* used = at<UsedRing>(queue.device);
    used->ring[queue.used_index % queue.size] = UsedElement{head, bytes_written};
    ++queue.used_index;
    __atomic_store_n(&used->index, queue.used_index, __ATOMIC_RELEASE);
    m_interrupt_status |= 1;
}

} // namespace gantry::virtio
