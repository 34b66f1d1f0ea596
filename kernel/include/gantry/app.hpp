// The application model: an app is a class instantiated once per kernel
// instance and handed that kernel. Its main() runs on the kernel's first fiber;
// when it returns, the kernel exits with its value.
#pragma once

#include <gantry/kernel.hpp>

namespace gantry {

class App {
public:
    virtual ~App() = default;
    virtual int main(Kernel& kernel, AppArgs args) = 0;
};

using AppFactory = App* (*)(Kernel& kernel);

} // namespace gantry

// Defines the factory gantry_app_<name>() that the build's generated entry
// points (hosted main, simulator registry, image) call. Use once per app.
#define GANTRY_APP(name, Class)                                  \
    ::gantry::App* gantry_app_##name(::gantry::Kernel& kernel)   \
    {                                                            \
        return kernel.heap().create<Class>();                    \
    }
