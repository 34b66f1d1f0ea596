// crash: a deliberate null dereference. Booted as an image it must end with a
// register dump and a non-zero exit, not a hang (tests/tools/image.cmake).
#include <gantry/app.hpp>

namespace {

using namespace gantry;

// Not inlined, so the backtrace shows a frame of the app's own.
[[gnu::noinline]] int read_through(const int* pointer)
{
    // The empty asm hides the null from the optimiser, which would otherwise
    // replace the load with a trap instruction.
    asm volatile("" : "+r"(pointer));
    return *pointer;
}

class Crash final : public App {
public:
    int main(Kernel& kernel, AppArgs) override
    {
        kernel.print("crash: dereferencing a null pointer\n");
        int value = read_through(nullptr);
        kernel.print("crash: survived, read {}\n", value);
        return 0;
    }
};

} // namespace

GANTRY_APP(crash, Crash)
