// A small, allocation-free text formatter for the core (no printf, no iostream).
// Placeholders: {} and {:[0][width][x]}, e.g. "{:08x}". Arguments: integers,
// bool, char, const char*, std::string_view. Output is truncated, never overrun.
#pragma once

#include <gantry/types.hpp>

#include <type_traits>

namespace gantry {

struct FormatArg {
    enum class Kind : u8 { unsigned_int, signed_int, string, character, boolean };
    Kind kind;
    union {
        u64 u;
        i64 i;
        char c;
        bool b;
    };
    std::string_view s;

    template<typename T>
    static FormatArg from(const T& value)
    {
        FormatArg arg{};
        using V = std::remove_cvref_t<T>;
        if constexpr (std::is_same_v<V, bool>) {
            arg.kind = Kind::boolean;
            arg.b = value;
        } else if constexpr (std::is_same_v<V, char>) {
            arg.kind = Kind::character;
            arg.c = value;
        } else if constexpr (std::is_enum_v<V>) {
            arg.kind = Kind::signed_int;
            arg.i = static_cast<i64>(value);
        } else if constexpr (std::is_integral_v<V> && std::is_signed_v<V>) {
            arg.kind = Kind::signed_int;
            arg.i = value;
        } else if constexpr (std::is_integral_v<V>) {
            arg.kind = Kind::unsigned_int;
            arg.u = value;
        } else if constexpr (std::is_convertible_v<const V&, std::string_view>) {
            arg.kind = Kind::string;
            arg.s = std::string_view(value);
        } else {
            static_assert(sizeof(V) == 0, "unsupported format argument type");
        }
        return arg;
    }
};

// A fixed-capacity output buffer. `size()` never exceeds the capacity.
class FormatBuffer {
public:
    FormatBuffer(char* data, usize capacity) : m_data(data), m_capacity(capacity) {}
    void append(std::string_view text);
    void append(char c);
    std::string_view view() const { return {m_data, m_size}; }
    usize size() const { return m_size; }
    bool truncated() const { return m_truncated; }
    void clear() { m_size = 0, m_truncated = false; }

private:
    char* m_data;
    usize m_capacity;
    usize m_size = 0;
    bool m_truncated = false;
};

void vformat(FormatBuffer& out, std::string_view format, std::span<const FormatArg> args);

template<typename... Args>
void format_to(FormatBuffer& out, std::string_view format, const Args&... args)
{
    const FormatArg packed[sizeof...(Args) + 1] = {FormatArg::from(args)..., FormatArg{}};
    vformat(out, format, std::span<const FormatArg>(packed, sizeof...(Args)));
}

// A FormatBuffer with its own storage.
template<usize capacity>
class InlineFormatBuffer : public FormatBuffer {
public:
    InlineFormatBuffer() : FormatBuffer(m_storage, capacity) {}

private:
    char m_storage[capacity];
};

} // namespace gantry
