#include "table.hpp"

#include <gantry/assert.hpp>

namespace kv {

bool Table::same(const Slot& slot, Bytes key)
{
    if (slot.key_bytes != key.size())
        return false;
    for (usize i = 0; i < key.size(); ++i)
        if (slot.key[i] != key[i])
            return false;
    return true;
}

Table::Slot* Table::find_slot(Bytes key)
{
    usize index = hash(key) % slots;
    for (usize probe = 0; probe < slots; ++probe) {
        Slot& slot = m_slots[(index + probe) % slots];
        if (slot.state == SlotState::empty)
            return nullptr;
        if (slot.state == SlotState::live && same(slot, key))
            return &slot;
    }
    return nullptr;
}

Table::Lookup Table::get(Bytes key)
{
    Slot* slot = find_slot(key);
    if (!slot)
        return {};
    return Lookup{true, Bytes(slot->value, slot->value_bytes)};
}

bool Table::set(Bytes key, Bytes value)
{
    GANTRY_ASSERT(key.size() >= 1 && key.size() <= key_bytes_max);
    GANTRY_ASSERT(value.size() <= value_bytes_max);
    Slot* slot = find_slot(key);
    if (!slot) {
        if (m_live >= keys_max)
            return false;
        // The first slot that is not live on the probe path: a deleted one is
        // reused, so churn does not fill the table with tombstones.
        usize index = hash(key) % slots;
        for (usize probe = 0; probe < slots && !slot; ++probe) {
            Slot& candidate = m_slots[(index + probe) % slots];
            if (candidate.state != SlotState::live)
                slot = &candidate;
        }
        GANTRY_ASSERT(slot != nullptr); // keys_max < slots
        slot->state = SlotState::live;
        slot->key_bytes = static_cast<u8>(key.size());
        for (usize i = 0; i < key.size(); ++i)
            slot->key[i] = key[i];
        ++m_live;
    }
    slot->value_bytes = static_cast<u16>(value.size());
    for (usize i = 0; i < value.size(); ++i)
        slot->value[i] = value[i];
    return true;
}

bool Table::erase(Bytes key)
{
    Slot* slot = find_slot(key);
    if (!slot)
        return false;
    slot->state = SlotState::deleted;
    GANTRY_ASSERT(m_live > 0);
    --m_live;
    return true;
}

} // namespace kv
