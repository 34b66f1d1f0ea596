// Decodes the records a test kernel traced (record bytes without the file
// header, as a trace sink or Tracer::buffered() holds them), keeping those of
// the kinds asked for. String fields point into the reader's buffer and are not
// valid afterwards: this is for numeric fields. Throws on a malformed trace.
#pragma once

#include <gantry/trace.hpp>

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace gantry::testing {

inline std::vector<std::pair<TraceKind, TraceFields>>
decode_records(Bytes records, std::initializer_list<TraceKind> kinds)
{
    u8 header[trace_file_header_bytes];
    Tracer::encode_file_header(header);
    std::vector<u8> file(header, header + sizeof(header));
    file.insert(file.end(), records.begin(), records.end());
    BytesTraceSource source(file);
    auto reader = std::make_unique<TraceReader>(source); // 64 KiB: not on the stack
    if (!reader->open().ok())
        throw std::runtime_error("trace header rejected");
    std::vector<std::pair<TraceKind, TraceFields>> out;
    TraceRecord record{};
    for (;;) {
        auto more = reader->next(record);
        if (!more.ok())
            throw std::runtime_error(std::string(describe(more.error())));
        if (!more.value())
            return out;
        if (std::find(kinds.begin(), kinds.end(), record.kind) == kinds.end())
            continue;
        TraceFields fields;
        if (!decode_fields(record, fields).ok())
            throw std::runtime_error("a record's payload does not decode");
        out.emplace_back(record.kind, fields);
    }
}

} // namespace gantry::testing
