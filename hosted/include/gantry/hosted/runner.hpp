// The entry point every hosted app's generated main() calls.
#pragma once

#include <gantry/app.hpp>

namespace gantry::hosted {

int main(int argc, char** argv, const char* app_name, AppFactory factory);

} // namespace gantry::hosted
