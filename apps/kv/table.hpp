// kv's in-memory table: open addressing with linear probing over a fixed
// array of slots (no allocation after creation, bounded probes). It holds
// only what the log made durable.
#pragma once

#include "wal.hpp"

namespace kv {

class Table {
public:
    static constexpr usize slots = 4096;
    static constexpr usize keys_max = 3072; // 75% load keeps probes short

    bool contains(Bytes key) { return find_slot(key) != nullptr; }
    // false only when the table is full (callers reserve room first).
    bool set(Bytes key, Bytes value);
    // true if the key was there.
    bool erase(Bytes key);
    usize size() const { return m_live; }

    // The value of `key`, valid until the next set or erase.
    struct Lookup {
        bool found = false;
        Bytes value;
    };
    Lookup get(Bytes key);

private:
    enum class SlotState : u8 { empty = 0, live = 1, deleted = 2 };
    struct Slot {
        SlotState state = SlotState::empty;
        u8 key_bytes = 0;
        u16 value_bytes = 0;
        u8 key[key_bytes_max];
        u8 value[value_bytes_max];
    };

    static u32 hash(Bytes key) { return crc32c(0, key); }
    static bool same(const Slot& slot, Bytes key);
    Slot* find_slot(Bytes key);

    Slot m_slots[slots];
    usize m_live = 0;
};

} // namespace kv
