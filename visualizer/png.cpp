// Headless rendering: SDL's software renderer draws into a memory surface, so
// no display, window or GPU is needed (CI, the README's picture).
#include <gantry/viz/render.hpp>

#include <stb_image_write.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace gantry::viz {

namespace {

struct SurfaceRenderer {
    SDL_Surface* surface = nullptr;
    SDL_Renderer* renderer = nullptr;

    explicit SurfaceRenderer(Size size)
    {
        // No window is ever opened; the offscreen driver keeps SDL away from any
        // display should something initialise video anyway.
        setenv("SDL_VIDEODRIVER", "offscreen", 0);
        surface = SDL_CreateRGBSurfaceWithFormat(0, size.w, size.h, 32, SDL_PIXELFORMAT_ABGR8888);
        if (surface == nullptr)
            throw std::runtime_error(std::string("cannot create surface: ") + SDL_GetError());
        renderer = SDL_CreateSoftwareRenderer(surface);
        if (renderer == nullptr) {
            SDL_FreeSurface(surface);
            throw std::runtime_error(std::string("cannot create renderer: ") + SDL_GetError());
        }
    }
    ~SurfaceRenderer()
    {
        SDL_DestroyRenderer(renderer);
        SDL_FreeSurface(surface);
    }
    SurfaceRenderer(const SurfaceRenderer&) = delete;
};

std::vector<u8> read_pixels(SDL_Renderer* renderer, Size size)
{
    std::vector<u8> pixels(static_cast<usize>(size.w) * size.h * 4);
    // ABGR8888 in SDL's naming is R,G,B,A in memory order on little-endian: what
    // stb_image_write wants for 4 components.
    if (SDL_RenderReadPixels(renderer, nullptr, SDL_PIXELFORMAT_ABGR8888, pixels.data(),
                             size.w * 4) != 0)
        throw std::runtime_error(std::string("cannot read pixels: ") + SDL_GetError());
    return pixels;
}

} // namespace

std::vector<u8> render_offscreen(const TraceModel& model, const Layout& layout,
                                 const Overlay& overlay)
{
    SurfaceRenderer target(layout.size);
    Canvas canvas(target.renderer);
    render(canvas, model, layout, overlay);
    SDL_RenderPresent(target.renderer);
    return read_pixels(target.renderer, layout.size);
}

TimeWindow png_window(const TraceModel& model, const PngOptions& options)
{
    TimeWindow window = full_window(model);
    if (options.from)
        window.from = *options.from;
    if (options.to)
        window.to = *options.to;
    if (window.to <= window.from)
        window.to = window.from + 1;
    return window;
}

void export_png(const TraceModel& model, const PngOptions& options, const std::string& path)
{
    Layout layout = compute_layout(model, options.size, png_window(model, options), options.layout);
    std::vector<u8> pixels = render_offscreen(model, layout);
    if (stbi_write_png(path.c_str(), options.size.w, options.size.h, 4, pixels.data(),
                       options.size.w * 4) == 0)
        throw std::runtime_error(path + ": cannot write the PNG (check the directory exists "
                                        "and is writable)");
}

} // namespace gantry::viz
