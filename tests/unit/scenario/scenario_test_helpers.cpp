#include "scenario_test_helpers.hpp"

#include "scenario.hpp"

namespace gantry::harness::test_support {

std::string error_of(const std::string& text, const std::string& file_name)
{
    try {
        load_scenario_text(text, file_name);
    } catch (const ScenarioError& error) {
        return error.what();
    }
    return "no error";
}

} // namespace gantry::harness::test_support
