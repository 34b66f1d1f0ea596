// The app an image runs: defined by the source the build generates per image from
// image_app.cpp.in, since each image is built for exactly one app.
#pragma once

#include <gantry/app.hpp>

namespace gantry::x86 {

App* create_image_app(Kernel& kernel);
std::string_view image_app_name();

} // namespace gantry::x86
