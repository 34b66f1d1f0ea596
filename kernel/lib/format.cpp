#include <gantry/format.hpp>

namespace gantry {

void FormatBuffer::append(char c)
{
    if (m_size < m_capacity)
        m_data[m_size++] = c;
    else
        m_truncated = true;
}

void FormatBuffer::append(std::string_view text)
{
    for (char c : text)
        append(c);
}

namespace {

struct Spec {
    bool zero_pad = false;
    bool hex = false;
    usize width = 0;
};

// Parses the text between "{:" and "}". Unknown characters are ignored so a
// malformed spec still prints the argument rather than nothing.
Spec parse_spec(std::string_view text)
{
    Spec spec;
    usize i = 0;
    if (i < text.size() && text[i] == '0') {
        spec.zero_pad = true;
        ++i;
    }
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
        spec.width = spec.width * 10 + static_cast<usize>(text[i] - '0');
    if (spec.width > 64)
        spec.width = 64;
    for (; i < text.size(); ++i)
        if (text[i] == 'x')
            spec.hex = true;
    return spec;
}

void append_padded(FormatBuffer& out, std::string_view digits, bool negative, const Spec& spec)
{
    usize length = digits.size() + (negative ? 1 : 0);
    if (!spec.zero_pad)
        for (usize i = length; i < spec.width; ++i)
            out.append(' ');
    if (negative)
        out.append('-');
    if (spec.zero_pad)
        for (usize i = length; i < spec.width; ++i)
            out.append('0');
    out.append(digits);
}

void append_unsigned(FormatBuffer& out, u64 value, bool negative, const Spec& spec)
{
    constexpr char digit_chars[] = "0123456789abcdef";
    const u64 base = spec.hex ? 16 : 10;
    char digits[24];
    usize start = sizeof(digits);
    do {
        digits[--start] = digit_chars[value % base];
        value /= base;
    } while (value != 0);
    append_padded(out, std::string_view(digits + start, sizeof(digits) - start), negative, spec);
}

void append_string(FormatBuffer& out, std::string_view text, const Spec& spec)
{
    out.append(text);
    for (usize i = text.size(); i < spec.width; ++i)
        out.append(' ');
}

void append_arg(FormatBuffer& out, const FormatArg& arg, const Spec& spec)
{
    switch (arg.kind) {
    case FormatArg::Kind::unsigned_int:
        append_unsigned(out, arg.u, false, spec);
        break;
    case FormatArg::Kind::signed_int: {
        bool negative = arg.i < 0 && !spec.hex;
        u64 magnitude = negative ? ~static_cast<u64>(arg.i) + 1 : static_cast<u64>(arg.i);
        append_unsigned(out, magnitude, negative, spec);
        break;
    }
    case FormatArg::Kind::string:
        append_string(out, arg.s, spec);
        break;
    case FormatArg::Kind::character:
        out.append(arg.c);
        break;
    case FormatArg::Kind::boolean:
        append_string(out, arg.b ? "true" : "false", spec);
        break;
    }
}

} // namespace

void vformat(FormatBuffer& out, std::string_view format, std::span<const FormatArg> args)
{
    usize next_arg = 0;
    for (usize i = 0; i < format.size(); ++i) {
        char c = format[i];
        if (c == '{' && i + 1 < format.size() && format[i + 1] == '{') {
            out.append('{');
            ++i;
            continue;
        }
        if (c == '}' && i + 1 < format.size() && format[i + 1] == '}') {
            out.append('}');
            ++i;
            continue;
        }
        if (c != '{') {
            out.append(c);
            continue;
        }
        // Hand-rolled search and slicing: string_view::find and substr call memchr
        // and may throw, neither of which the freestanding image has.
        usize close = i + 1;
        while (close < format.size() && format[close] != '}')
            ++close;
        if (close == format.size()) {
            out.append(std::string_view(format.data() + i, format.size() - i));
            return;
        }
        std::string_view inside(format.data() + i + 1, close - i - 1);
        if (!inside.empty() && inside[0] == ':')
            inside.remove_prefix(1);
        Spec spec = parse_spec(inside);
        if (next_arg < args.size())
            append_arg(out, args[next_arg++], spec);
        else
            out.append("{?}"); // more placeholders than arguments: visible, not fatal
        i = close;
    }
}

} // namespace gantry
