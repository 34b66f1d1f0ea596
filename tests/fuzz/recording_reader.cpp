// Fuzz target for the recording reader (`gantry replay-run`): any bytes give a
// header and records or an error naming the offset, never a crash, a huge
// allocation or a read out of bounds.
#include "recording.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace gantry::recording;
    Reader reader(std::vector<gantry::u8>(data, data + size));
    Header header;
    std::string error;
    if (!reader.read_header(header, error))
        return 0;
    Record record;
    gantry::u64 sum = header.args.size() + header.nics.size();
    while (reader.next(record, error))
        sum += record.value + record.bytes.size() + record.hash + record.nic;
    volatile gantry::u64 sink = sum;
    (void)sink;
    return 0;
}
