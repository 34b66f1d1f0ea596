// Fuzzes httpd's request parser and target mapping (apps/httpd/http_request.*)
// with arbitrary bytes. A complete request must describe itself within the
// input; a path must be one the image reader would accept.
#include "http_request.hpp"

#include <gantry/assert.hpp>
#include <gantry/fs/image.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view input(reinterpret_cast<const char*>(data), size);
    httpd::Request request;
    httpd::ParseStatus status = httpd::parse_request(input, request);
    if (status != httpd::ParseStatus::complete)
        return 0;
    GANTRY_ASSERT(request.header_bytes > 0 && request.header_bytes <= input.size());
    GANTRY_ASSERT(request.header_bytes <= httpd::header_bytes_max);
    GANTRY_ASSERT(request.target.data() >= input.data() &&
                  request.target.data() + request.target.size() <= input.data() + request.header_bytes);
    GANTRY_ASSERT(!request.target.empty() && request.target.size() <= httpd::target_bytes_max);
    char path_buffer[httpd::target_bytes_max + 16];
    std::string_view path = httpd::target_to_path(request.target, path_buffer, sizeof(path_buffer));
    GANTRY_ASSERT(path.empty() || gantry::fs::valid_path(path));
    (void)httpd::content_type(path);
    // The rest of the input may hold a pipelined request.
    httpd::Request next;
    (void)httpd::parse_request(input.substr(request.header_bytes), next);
    return 0;
}
