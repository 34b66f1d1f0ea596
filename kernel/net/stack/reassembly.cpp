// IPv4 reassembly: RFC 791 section 3.2 (the reassembly procedure; fragments
// are keyed by source, destination, protocol and identification), RFC 815
// (hole tracking, here as a bitmap), RFC 1122 section 3.3.2 (timeout).
#include <gantry/assert.hpp>
#include <gantry/net/endian.hpp>
#include <gantry/net/stack/reassembly.hpp>

namespace gantry::net {

namespace {

constexpr usize block_bytes = 8; // fragment offsets count 8-byte blocks

usize bitmap_bytes(usize datagram_bytes)
{
    usize blocks = (datagram_bytes + block_bytes - 1) / block_bytes;
    return (blocks + 7) / 8;
}

} // namespace

Reassembler::~Reassembler()
{
    if (m_heap && m_memory)
        m_heap->free(m_memory);
}

bool Reassembler::init(Heap& heap, usize datagram_bytes)
{
    GANTRY_ASSERT(m_memory == nullptr);
    GANTRY_ASSERT(datagram_bytes > 0);
    GANTRY_ASSERT(datagram_bytes <= datagram_bytes_max);
    usize per_slot = datagram_bytes + bitmap_bytes(datagram_bytes);
    m_memory = static_cast<u8*>(heap.alloc(per_slot * slots_max));
    if (!m_memory)
        return false;
    m_heap = &heap;
    m_datagram_bytes = datagram_bytes;
    for (usize i = 0; i < slots_max; ++i) {
        m_slots[i].data = m_memory + i * per_slot;
        m_slots[i].bitmap = m_slots[i].data + datagram_bytes;
    }
    return true;
}

Reassembler::Slot* Reassembler::find_or_claim(const Ipv4Packet& fragment, TimeNs now)
{
    Slot* free_slot = nullptr;
    Slot* oldest = nullptr;
    for (Slot& slot : m_slots) {
        if (slot.state == SlotState::free) {
            free_slot = free_slot ? free_slot : &slot;
            continue;
        }
        if (slot.state == SlotState::filling && slot.source == fragment.source() &&
            slot.destination == fragment.destination() &&
            slot.protocol == static_cast<u8>(fragment.protocol()) &&
            slot.ident == fragment.ident())
            return &slot;
        if (slot.state == SlotState::filling && (!oldest || slot.started < oldest->started))
            oldest = &slot;
    }
    Slot* slot = free_slot;
    if (!slot) {
        if (!oldest)
            return nullptr; // every slot holds a completed datagram being delivered
        slot = oldest;
        m_evictions++;
    }
    slot->state = SlotState::filling;
    slot->source = fragment.source();
    slot->destination = fragment.destination();
    slot->protocol = static_cast<u8>(fragment.protocol());
    slot->ident = fragment.ident();
    slot->total_len = 0;
    slot->high_water = 0;
    // RFC 1122 3.3.2: the timer starts with the first fragment to arrive.
    slot->deadline = now + timeout_ns;
    slot->started = m_next_start++;
    fill_bytes(MutableBytes(slot->bitmap, bitmap_bytes(m_datagram_bytes)), 0);
    return slot;
}

void Reassembler::mark(Slot& slot, usize first_block, usize blocks)
{
    for (usize block = first_block; block < first_block + blocks; ++block)
        slot.bitmap[block / 8] = static_cast<u8>(slot.bitmap[block / 8] | (1u << (block % 8)));
}

bool Reassembler::covered(const Slot& slot) const
{
    if (slot.total_len == 0)
        return false;
    usize blocks = (slot.total_len + block_bytes - 1) / block_bytes;
    for (usize block = 0; block < blocks; ++block)
        if ((slot.bitmap[block / 8] & (1u << (block % 8))) == 0)
            return false;
    return true;
}

std::optional<ReassembledDatagram> Reassembler::add(const Ipv4Packet& fragment, TimeNs now,
                                                    std::optional<DropReason>& drop)
{
    GANTRY_ASSERT(fragment.is_fragment());
    drop.reset();
    Bytes payload = fragment.payload();
    usize offset = fragment.fragment_offset();
    bool last = fragment.more_fragments() == MoreFragments::no;
    // RFC 791: every fragment but the last carries a multiple of 8 bytes.
    if ((!last && payload.size() % block_bytes != 0) || (!last && payload.empty())) {
        drop = DropReason::malformed;
        return std::nullopt;
    }
    if (offset + payload.size() > m_datagram_bytes) {
        drop = DropReason::too_big;
        return std::nullopt;
    }
    Slot* slot = find_or_claim(fragment, now);
    if (!slot) {
        drop = DropReason::reassembly_overflow;
        return std::nullopt;
    }
    usize end = offset + payload.size();
    bool conflicting_end = last && ((slot->total_len != 0 && slot->total_len != end) ||
                                    end < slot->high_water);
    if (conflicting_end || (slot->total_len != 0 && end > slot->total_len)) {
        slot->state = SlotState::free; // inconsistent fragments: give the datagram up
        drop = DropReason::malformed;
        return std::nullopt;
    }
    copy_bytes(MutableBytes(slot->data + offset, payload.size()), payload);
    mark(*slot, offset / block_bytes, (payload.size() + block_bytes - 1) / block_bytes);
    if (end > slot->high_water)
        slot->high_water = static_cast<u32>(end);
    if (last)
        slot->total_len = static_cast<u32>(end);
    if (offset == 0) {
        slot->ttl = fragment.ttl();
        slot->dscp_ecn = fragment.dscp_ecn();
    }
    if (!covered(*slot))
        return std::nullopt;
    slot->state = SlotState::complete;
    ReassembledDatagram done{};
    done.header.source = slot->source;
    done.header.destination = slot->destination;
    done.header.protocol = static_cast<IpProtocol>(slot->protocol);
    done.header.payload_len = static_cast<u16>(slot->total_len);
    done.header.ttl = slot->ttl;
    done.header.dscp_ecn = slot->dscp_ecn;
    done.header.ident = slot->ident;
    done.payload = Bytes(slot->data, slot->total_len);
    done.slot = static_cast<u32>(slot - m_slots);
    return done;
}

void Reassembler::release(u32 slot)
{
    GANTRY_ASSERT(slot < slots_max);
    GANTRY_ASSERT(m_slots[slot].state == SlotState::complete);
    m_slots[slot].state = SlotState::free;
}

usize Reassembler::expire(TimeNs now)
{
    usize expired = 0;
    for (Slot& slot : m_slots) {
        if (slot.state == SlotState::filling && slot.deadline <= now) {
            slot.state = SlotState::free;
            expired++;
        }
    }
    return expired;
}

TimeNs Reassembler::next_deadline() const
{
    TimeNs next = deadline_none;
    for (const Slot& slot : m_slots)
        if (slot.state == SlotState::filling && slot.deadline < next)
            next = slot.deadline;
    return next;
}

usize Reassembler::in_progress() const
{
    usize count = 0;
    for (const Slot& slot : m_slots)
        count += slot.state == SlotState::filling ? 1 : 0;
    return count;
}

} // namespace gantry::net
