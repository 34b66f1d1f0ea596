// HTTP/1.1 request parsing for httpd (RFC 9112 for the message syntax, RFC
// 9110 for the semantics of the fields it looks at). Freestanding: works on
// the bytes received so far, copies nothing, allocates nothing, and does a
// bounded amount of work (one pass over at most header_bytes_max bytes).
//
// Decisions a server must make about malformed input are made here, once:
// bare LF line ends are accepted (RFC 9112 2.2 allows it), obs-fold,
// whitespace before a colon, control characters, a missing or repeated Host
// (HTTP/1.1), conflicting Content-Length values and Content-Length together
// with Transfer-Encoding are all 400 (RFC 9112 3.2, 5.1, 5.2, 6.3).
#pragma once

#include <gantry/types.hpp>

namespace httpd {

using gantry::u64;
using gantry::usize;

// Bounds (docs/networking.md, "httpd").
inline constexpr usize header_bytes_max = 8192;  // request line + fields + empty line
inline constexpr usize target_bytes_max = 2048;  // request-target
inline constexpr usize header_fields_max = 64;
inline constexpr usize leading_empty_lines_max = 8;
inline constexpr usize path_bytes_max = 255; // gantry::fs::path_bytes_max

enum class Method : gantry::u8 { get, head, other };
enum class Version : gantry::u8 { http10, http11 };

// What the server should answer; complete means a well-formed request.
enum class ParseStatus : gantry::u8 {
    incomplete,        // need more bytes (the header block has not ended yet)
    complete,
    bad_request,       // 400
    target_too_long,   // 414
    header_too_large,  // 431: more than header_bytes_max or header_fields_max
    bad_version,       // 505: a well-formed version other than 1.0 and 1.1
    not_implemented,   // 501: a request body in a transfer coding
};

struct Request {
    Method method = Method::other;
    std::string_view method_text;
    std::string_view target;
    Version version = Version::http11;
    bool keep_alive = true;   // after Connection: close/keep-alive and the version default
    u64 content_length = 0;   // the request body to skip
    usize header_bytes = 0;   // bytes the request line and fields used, empty line included
};

// Parses the request at the start of `received`. On complete, `out` views
// into `received`.
ParseStatus parse_request(std::string_view received, Request& out);

// Maps a request-target to an image path: drops the query, percent-decodes,
// "/" and any path ending in "/" get "index.html". Writes into `out` (at least
// target_bytes_max + 10 bytes) and returns the path without its leading '/',
// or an empty view for a target that names nothing servable (not origin-form,
// bad escapes, NUL, "." or ".." components, empty components).
std::string_view target_to_path(std::string_view target, char* out, usize out_bytes);

// The Content-Type for a path, by its extension (default application/octet-stream).
std::string_view content_type(std::string_view path);

} // namespace httpd
