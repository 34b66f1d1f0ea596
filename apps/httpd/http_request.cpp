// RFC 9112 request parsing; see http_request.hpp for the decisions made.
#include "http_request.hpp"

#include <gantry/fs/image.hpp>


namespace httpd {

using namespace std::string_view_literals;

namespace {

// tchar (RFC 9110 5.6.2).
bool is_token_char(char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

bool is_token(std::string_view text)
{
    if (text.empty())
        return false;
    for (char c : text)
        if (!is_token_char(c))
            return false;
    return true;
}

// field-value characters: VCHAR, obs-text, SP, HTAB (RFC 9110 5.5).
bool is_value_char(char c)
{
    auto byte = static_cast<unsigned char>(c);
    return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (usize i = 0; i < a.size(); i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

std::string_view trim(std::string_view text)
{
    usize start = 0;
    usize end = text.size();
    while (start < end && (text[start] == ' ' || text[start] == '\t'))
        start++;
    while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t'))
        end--;
    return std::string_view(text.data() + start, end - start);
}

// Splits off one line ending in LF (CR before it dropped). false: no LF yet.
// A CR anywhere else in the line makes `bare_cr` true.
bool next_line(std::string_view text, usize& at, std::string_view& line, bool& bare_cr)
{
    for (usize i = at; i < text.size(); i++) {
        if (text[i] != '\n')
            continue;
        usize end = i;
        if (end > at && text[end - 1] == '\r')
            end--;
        line = std::string_view(text.data() + at, end - at);
        for (char c : line)
            bare_cr = bare_cr || c == '\r';
        at = i + 1;
        return true;
    }
    return false;
}

// Splits `text` at the first `separator`.
bool split(std::string_view text, char separator, std::string_view& before, std::string_view& after)
{
    for (usize i = 0; i < text.size(); i++) {
        if (text[i] == separator) {
            before = std::string_view(text.data(), i);
            after = std::string_view(text.data() + i + 1, text.size() - i - 1);
            return true;
        }
    }
    return false;
}

ParseStatus parse_version(std::string_view text, Version& out)
{
    // HTTP-version = "HTTP" "/" DIGIT "." DIGIT (case-sensitive, RFC 9112 2.3).
    if (text.size() != 8 || std::string_view(text.data(), 5) != "HTTP/"sv || text[6] != '.' ||
        text[5] < '0' || text[5] > '9' || text[7] < '0' || text[7] > '9')
        return ParseStatus::bad_request;
    if (text == "HTTP/1.1"sv)
        out = Version::http11;
    else if (text == "HTTP/1.0"sv)
        out = Version::http10;
    else
        return ParseStatus::bad_version;
    return ParseStatus::complete;
}

ParseStatus parse_request_line(std::string_view line, Request& out)
{
    std::string_view method, rest, target, version;
    if (!split(line, ' ', method, rest) || !split(rest, ' ', target, version))
        return ParseStatus::bad_request;
    if (!is_token(method))
        return ParseStatus::bad_request;
    if (target.size() > target_bytes_max)
        return ParseStatus::target_too_long;
    if (target.empty())
        return ParseStatus::bad_request;
    for (char c : target) {
        auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f)
            return ParseStatus::bad_request;
    }
    out.method_text = method;
    out.method = method == "GET"sv ? Method::get : method == "HEAD"sv ? Method::head : Method::other;
    out.target = target;
    return parse_version(version, out.version);
}

bool parse_content_length(std::string_view value, u64& out)
{
    if (value.empty() || value.size() > 18) // < 10^18: no overflow
        return false;
    u64 number = 0;
    for (char c : value) {
        if (c < '0' || c > '9')
            return false;
        number = number * 10 + static_cast<u64>(c - '0');
    }
    out = number;
    return true;
}

// What the fields said, before the rules that combine them.
struct Fields {
    usize hosts = 0;
    bool has_length = false;
    bool has_transfer_encoding = false;
    bool connection_close = false;
    bool connection_keep_alive = false;
};

void parse_connection(std::string_view value, Fields& fields)
{
    // A comma-separated list of tokens (RFC 9110 7.6.1).
    std::string_view rest = value;
    for (;;) {
        std::string_view item, after;
        bool more = split(rest, ',', item, after);
        if (!more)
            item = rest;
        item = trim(item);
        if (equals_ignoring_case(item, "close"sv))
            fields.connection_close = true;
        else if (equals_ignoring_case(item, "keep-alive"sv))
            fields.connection_keep_alive = true;
        if (!more)
            break;
        rest = after;
    }
}

ParseStatus parse_field(std::string_view line, Request& out, Fields& fields)
{
    if (line[0] == ' ' || line[0] == '\t')
        return ParseStatus::bad_request; // obs-fold (RFC 9112 5.2)
    std::string_view name, value;
    if (!split(line, ':', name, value) || !is_token(name))
        return ParseStatus::bad_request; // includes whitespace before the colon (5.1)
    for (char c : value)
        if (!is_value_char(c))
            return ParseStatus::bad_request;
    value = trim(value);
    if (equals_ignoring_case(name, "host"sv)) {
        fields.hosts++;
    } else if (equals_ignoring_case(name, "content-length"sv)) {
        u64 length = 0;
        if (!parse_content_length(value, length))
            return ParseStatus::bad_request;
        if (fields.has_length && length != out.content_length)
            return ParseStatus::bad_request; // conflicting values (RFC 9112 6.3)
        fields.has_length = true;
        out.content_length = length;
    } else if (equals_ignoring_case(name, "transfer-encoding"sv)) {
        fields.has_transfer_encoding = true;
    } else if (equals_ignoring_case(name, "connection"sv)) {
        parse_connection(value, fields);
    }
    return ParseStatus::complete;
}

ParseStatus finish(Request& out, const Fields& fields)
{
    if (out.version == Version::http11 && fields.hosts != 1)
        return ParseStatus::bad_request; // RFC 9112 3.2
    if (fields.hosts > 1)
        return ParseStatus::bad_request;
    if (fields.has_transfer_encoding)
        return fields.has_length ? ParseStatus::bad_request : ParseStatus::not_implemented;
    if (out.version == Version::http11)
        out.keep_alive = !fields.connection_close;
    else
        out.keep_alive = fields.connection_keep_alive && !fields.connection_close;
    return ParseStatus::complete;
}

} // namespace

ParseStatus parse_request(std::string_view received, Request& out)
{
    out = Request{};
    usize at = 0;
    std::string_view line;
    bool bare_cr = false;
    // RFC 9112 2.2: ignore at least one empty line before the request line.
    usize empty_lines = 0;
    for (;;) {
        usize line_start = at;
        if (!next_line(received, at, line, bare_cr)) {
            usize pending = received.size() - line_start;
            if (received.size() >= header_bytes_max)
                return pending > target_bytes_max + 32 ? ParseStatus::target_too_long
                                                       : ParseStatus::header_too_large;
            return ParseStatus::incomplete;
        }
        if (!line.empty())
            break;
        if (++empty_lines > leading_empty_lines_max)
            return ParseStatus::bad_request;
    }
    if (bare_cr)
        return ParseStatus::bad_request;
    if (at > header_bytes_max)
        return line.size() > target_bytes_max ? ParseStatus::target_too_long
                                              : ParseStatus::header_too_large;
    ParseStatus status = parse_request_line(line, out);
    if (status != ParseStatus::complete)
        return status;

    Fields fields;
    usize field_count = 0;
    for (;;) {
        if (!next_line(received, at, line, bare_cr))
            return received.size() >= header_bytes_max ? ParseStatus::header_too_large
                                                       : ParseStatus::incomplete;
        if (at > header_bytes_max)
            return ParseStatus::header_too_large;
        if (bare_cr)
            return ParseStatus::bad_request;
        if (line.empty())
            break;
        if (++field_count > header_fields_max)
            return ParseStatus::header_too_large;
        status = parse_field(line, out, fields);
        if (status != ParseStatus::complete)
            return status;
    }
    out.header_bytes = at;
    return finish(out, fields);
}

namespace {

struct Type {
    std::string_view extension;
    std::string_view type;
};

constexpr Type types[] = {
    {"html"sv, "text/html; charset=utf-8"sv},
    {"htm"sv, "text/html; charset=utf-8"sv},
    {"css"sv, "text/css; charset=utf-8"sv},
    {"js"sv, "text/javascript; charset=utf-8"sv},
    {"mjs"sv, "text/javascript; charset=utf-8"sv},
    {"json"sv, "application/json"sv},
    {"txt"sv, "text/plain; charset=utf-8"sv},
    {"md"sv, "text/markdown; charset=utf-8"sv},
    {"xml"sv, "application/xml"sv},
    {"svg"sv, "image/svg+xml"sv},
    {"png"sv, "image/png"sv},
    {"jpg"sv, "image/jpeg"sv},
    {"jpeg"sv, "image/jpeg"sv},
    {"gif"sv, "image/gif"sv},
    {"webp"sv, "image/webp"sv},
    {"ico"sv, "image/vnd.microsoft.icon"sv},
    {"wasm"sv, "application/wasm"sv},
    {"pdf"sv, "application/pdf"sv},
    {"woff2"sv, "font/woff2"sv},
    {"gz"sv, "application/gzip"sv},
};


int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

std::string_view target_to_path(std::string_view target, char* out, usize out_bytes)
{
    constexpr std::string_view index = "index.html"sv;
    if (target.empty() || target[0] != '/' || out_bytes < target.size() + index.size())
        return {};
    usize length = 0;
    // Skip the leading '/': image paths are relative.
    for (usize i = 1; i < target.size(); i++) {
        char c = target[i];
        if (c == '?' || c == '#')
            break;
        if (c == '%') {
            if (i + 2 >= target.size())
                return {};
            int high = hex_value(target[i + 1]);
            int low = hex_value(target[i + 2]);
            if (high < 0 || low < 0)
                return {};
            c = static_cast<char>(high * 16 + low);
            if (c == '\0')
                return {};
            i += 2;
        }
        out[length++] = c;
    }
    if (length == 0 || out[length - 1] == '/') {
        for (char c : index)
            out[length++] = c;
    }
    std::string_view path(out, length);
    if (!gantry::fs::valid_path(path))
        return {};
    return path;
}

std::string_view content_type(std::string_view path)
{
    // The extension: after the last '.' of the last component.
    usize dot = path.size();
    for (usize i = path.size(); i > 0; i--) {
        if (path[i - 1] == '/')
            break;
        if (path[i - 1] == '.') {
            dot = i - 1;
            break;
        }
    }
    if (dot + 1 >= path.size())
        return "application/octet-stream"sv;
    std::string_view extension(path.data() + dot + 1, path.size() - dot - 1);
    for (const Type& type : types)
        if (equals_ignoring_case(extension, type.extension))
            return type.type;
    return "application/octet-stream"sv;
}

} // namespace httpd
