// Fuzzes the scenario loader: any bytes must give a Scenario or a ScenarioError,
// never a crash, a hang or another exception.
#include "scenario.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > 64 * 1024)
        return 0; // yaml-cpp's cost grows with nesting; bigger inputs teach nothing new
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        gantry::harness::Scenario scenario =
            gantry::harness::load_scenario_text(text, "fuzz.yaml");
        (void)scenario;
    } catch (const gantry::harness::ScenarioError&) {
    }
    return 0;
}
