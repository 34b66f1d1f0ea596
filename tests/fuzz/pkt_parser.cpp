// libFuzzer target: the packetdrill script parser (harness/pkt/parse.cpp)
// must reject any input with a ParseError, never crash, hang or leak.
#include "script.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        gantry::pkt::Script script = gantry::pkt::parse_script(text, {"STANDARD"});
        for (const gantry::pkt::Event& event : script.events)
            if (const auto* packet = std::get_if<gantry::pkt::PacketSpec>(&event.body))
                (void)gantry::pkt::describe(*packet);
    } catch (const gantry::pkt::ParseError& error) {
        if (error.line() < 1)
            __builtin_trap(); // every error names a line
    }
    return 0;
}
