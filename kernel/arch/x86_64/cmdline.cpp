#include "cmdline.hpp"

namespace gantry::x86 {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Splits the copied text at whitespace, in place.
class Tokens {
public:
    Tokens(char* text, usize bytes) : m_text(text), m_bytes(bytes) {}
    bool next(std::string_view& out)
    {
        while (m_at < m_bytes && is_space(m_text[m_at]))
            ++m_at;
        if (m_at == m_bytes)
            return false;
        const usize begin = m_at;
        while (m_at < m_bytes && !is_space(m_text[m_at]))
            ++m_at;
        out = std::string_view(m_text + begin, m_at - begin);
        return true;
    }

private:
    char* m_text;
    usize m_bytes;
    usize m_at = 0;
};

bool parse_unsigned(std::string_view text, u64& out)
{
    u64 base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty())
        return false;
    u64 value = 0;
    for (char c : text) {
        u64 digit;
        if (c >= '0' && c <= '9')
            digit = static_cast<u64>(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            digit = static_cast<u64>(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            digit = static_cast<u64>(c - 'A' + 10);
        else
            return false;
        if (value > (~u64{0} - digit) / base)
            return false;
        value = value * base + digit;
    }
    out = value;
    return true;
}

// "512@0xfeb00e00:12" or "4K@0xd0000000:5" (Linux's virtio_mmio.device syntax).
bool parse_mmio_device(std::string_view text, MmioDeviceEntry& out)
{
    usize at = text.find('@');
    if (at == std::string_view::npos)
        return false;
    std::string_view size = text.substr(0, at);
    std::string_view rest = text.substr(at + 1);
    const usize colon = rest.find(':');
    std::string_view address = colon == std::string_view::npos ? rest : rest.substr(0, colon);
    u64 multiplier = 1;
    if (!size.empty() && (size.back() == 'K' || size.back() == 'k')) {
        multiplier = 1024;
        size.remove_suffix(1);
    }
    u64 bytes = 0;
    if (!parse_unsigned(size, bytes) || !parse_unsigned(address, out.address))
        return false;
    out.irq = irq_none;
    if (colon != std::string_view::npos) {
        u64 irq = 0;
        if (!parse_unsigned(rest.substr(colon + 1), irq) || irq > 255)
            return false;
        out.irq = static_cast<u32>(irq);
    }
    out.bytes = bytes * multiplier;
    return out.bytes != 0;
}

bool parse_cidr(std::string_view text, BootArgs& out)
{
    const usize slash = text.find('/');
    auto address = net::Ipv4Address::parse(text.substr(0, slash));
    if (!address)
        return false;
    u64 prefix = 24;
    if (slash != std::string_view::npos &&
        (!parse_unsigned(text.substr(slash + 1), prefix) || prefix > 32))
        return false;
    out.ip = *address;
    out.prefix = static_cast<u8>(prefix);
    return true;
}

bool parse_log_level(std::string_view text, LogLevel& out)
{
    for (LogLevel level : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
        if (text == to_string(level)) {
            out = level;
            return true;
        }
    }
    return false;
}

void set_error(BootArgs& out, std::string_view error, std::string_view token)
{
    if (out.error.empty()) {
        out.error = error;
        out.error_token = token;
    }
}

// One kernel option and, for those that take one, its value.
void parse_option(std::string_view name, Tokens& tokens, BootArgs& out)
{
    if (name == "--dhcp" || name == "--trace") {
        (name == "--dhcp" ? out.dhcp : out.trace) = true;
        return;
    }
    std::string_view value;
    const bool takes_value = name == "--ip" || name == "--gw" || name == "--dns" ||
                             name == "--log-level";
    if (!takes_value)
        return set_error(out, "unknown kernel option (known: --ip --gw --dns --dhcp "
                              "--trace --log-level, then -- and the app's arguments)", name);
    if (!tokens.next(value))
        return set_error(out, "option needs a value", name);
    bool ok = false;
    if (name == "--ip") {
        ok = parse_cidr(value, out);
    } else if (name == "--log-level") {
        ok = parse_log_level(value, out.log_level);
    } else {
        auto address = net::Ipv4Address::parse(value);
        ok = address.has_value();
        if (ok)
            (name == "--gw" ? out.gateway : out.dns) = *address;
    }
    if (!ok)
        set_error(out, "bad value for option", name);
}

} // namespace

void parse_boot_args(const char* text, BootArgs& out)
{
    out.text_bytes = 0;
    if (text != nullptr) {
        while (text[out.text_bytes] != '\0' && out.text_bytes < BootArgs::text_bytes_max)
            ++out.text_bytes;
        for (usize i = 0; i < out.text_bytes; ++i)
            out.text[i] = text[i];
        if (text[out.text_bytes] != '\0')
            set_error(out, "command line too long", "");
    }
    constexpr std::string_view mmio_prefix = "virtio_mmio.device=";
    Tokens tokens(out.text, out.text_bytes);
    bool app_part = false;
    std::string_view token;
    while (tokens.next(token)) {
        if (token.starts_with(mmio_prefix)) {
            MmioDeviceEntry entry{};
            if (!parse_mmio_device(token.substr(mmio_prefix.size()), entry))
                set_error(out, "malformed virtio_mmio.device entry", token);
            else if (out.mmio_device_count < BootArgs::mmio_devices_max)
                out.mmio_devices[out.mmio_device_count++] = entry;
        } else if (app_part) {
            if (out.app_arg_count == BootArgs::app_args_max)
                set_error(out, "too many app arguments", token);
            else
                out.app_args[out.app_arg_count++] = token;
        } else if (token == "--") {
            app_part = true;
        } else {
            parse_option(token, tokens, out);
        }
    }
}

} // namespace gantry::x86
