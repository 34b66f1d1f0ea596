// Drawing a layout with SDL_Renderer primitives, and the headless PNG export.
#pragma once

#include <gantry/viz/layout.hpp>

#include <SDL.h>

#include <optional>
#include <string>
#include <vector>

namespace gantry::viz {

// Thin wrapper over an SDL_Renderer: filled rectangles are batched per colour,
// text uses the built-in 5x7 font.
class Canvas {
public:
    explicit Canvas(SDL_Renderer* renderer) : m_renderer(renderer) {}
    void fill(const Rect& rect, Color color);
    void outline(const Rect& rect, Color color);
    void line(int x0, int y0, int x1, int y1, Color color);
    // Draws `text` from (x, y) (top-left), cut to `max_w` pixels; returns the width.
    int text(int x, int y, std::string_view text, Color color, int max_w = 1 << 20);
    void clip(const Rect& rect);
    void unclip();
    // Batched rectangles: add many, then flush once (SDL_RenderFillRects).
    void add_rect(const Rect& rect) { m_batch.push_back({rect.x, rect.y, rect.w, rect.h}); }
    void flush_rects(Color color);
    SDL_Renderer* sdl() { return m_renderer; }

private:
    void set_color(Color color);
    SDL_Renderer* m_renderer;
    std::vector<SDL_Rect> m_batch;
    std::vector<SDL_Point> m_points;
};

// What the viewer adds on top of the static picture.
struct Overlay {
    std::optional<TimeNs> cursor;
    std::optional<Hit> selected;
    std::string search; // log markers whose text contains it are highlighted
};

void render(Canvas& canvas, const TraceModel& model, const Layout& layout,
            const Overlay& overlay = {});

// Views (render_timeline.cpp, render_memory.cpp).
void render_timeline(Canvas& canvas, const TraceModel& model, const Layout& layout,
                     const Overlay& overlay);
void render_memory(Canvas& canvas, const TraceModel& model, const Layout& layout);
void render_tcp(Canvas& canvas, const TraceModel& model, const Layout& layout);
// Tints `lane` where the simulator held a fault on node `node` (down, paused,
// partitioned), so faults line up with what they caused.
void shade_faults(Canvas& canvas, const TraceModel& model, const TimeScale& scale,
                  const Rect& lane, u32 node);
void render_axis(Canvas& canvas, const TimeScale& scale, const Rect& axis, int grid_bottom);

std::string format_tick(TimeNs t, TimeNs step);

struct PngOptions {
    Size size{1600, 900};
    LayoutOptions layout;
    std::optional<TimeNs> from;
    std::optional<TimeNs> to;
};

// Renders with SDL's software renderer into memory and writes a PNG. Throws
// std::runtime_error with a message if SDL or the file write fails.
void export_png(const TraceModel& model, const PngOptions& options, const std::string& path);
// The window a PngOptions asks for (the whole trace unless from/to are given).
TimeWindow png_window(const TraceModel& model, const PngOptions& options);

// Renders one frame offscreen and returns RGBA pixels (tests and benchmarks).
std::vector<u8> render_offscreen(const TraceModel& model, const Layout& layout,
                                 const Overlay& overlay = {});

} // namespace gantry::viz
