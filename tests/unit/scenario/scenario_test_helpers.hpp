// Helpers shared by the scenario loader's unit tests.
#pragma once

#include <string>

namespace gantry::harness::test_support {

// The loader's message for `text` loaded as `file_name`, or "no error" when it
// loads, so a test can compare the whole message (file:line:col included).
std::string error_of(const std::string& text, const std::string& file_name = "s.yaml");

} // namespace gantry::harness::test_support
