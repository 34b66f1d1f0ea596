// Canvas: SDL_Renderer calls, batched where a frame may issue thousands.
#include "font.hpp"

#include <gantry/viz/render.hpp>

namespace gantry::viz {

void Canvas::set_color(Color color)
{
    SDL_SetRenderDrawColor(m_renderer, color.r, color.g, color.b, color.a);
}

void Canvas::fill(const Rect& rect, Color color)
{
    if (rect.w <= 0 || rect.h <= 0)
        return;
    set_color(color);
    SDL_Rect r{rect.x, rect.y, rect.w, rect.h};
    SDL_RenderFillRect(m_renderer, &r);
}

void Canvas::outline(const Rect& rect, Color color)
{
    set_color(color);
    SDL_Rect r{rect.x, rect.y, rect.w, rect.h};
    SDL_RenderDrawRect(m_renderer, &r);
}

void Canvas::line(int x0, int y0, int x1, int y1, Color color)
{
    set_color(color);
    SDL_RenderDrawLine(m_renderer, x0, y0, x1, y1);
}

int Canvas::text(int x, int y, std::string_view text, Color color, int max_w)
{
    usize fit = static_cast<usize>(std::max(max_w, 0) / glyph_advance);
    if (text.size() > fit)
        text = text.substr(0, fit);
    m_points.clear();
    for (usize i = 0; i < text.size(); ++i) {
        const u8* rows = glyph_rows(text[i]);
        int left = x + static_cast<int>(i) * glyph_advance;
        for (int row = 0; row < glyph_h; ++row)
            for (int column = 0; column < glyph_w; ++column)
                if (rows[row] & (0x10 >> column))
                    m_points.push_back({left + column, y + row});
    }
    if (!m_points.empty()) {
        set_color(color);
        SDL_RenderDrawPoints(m_renderer, m_points.data(), static_cast<int>(m_points.size()));
    }
    return text_width(text.size());
}

void Canvas::clip(const Rect& rect)
{
    SDL_Rect r{rect.x, rect.y, rect.w, rect.h};
    SDL_RenderSetClipRect(m_renderer, &r);
}

void Canvas::unclip()
{
    SDL_RenderSetClipRect(m_renderer, nullptr);
}

void Canvas::flush_rects(Color color)
{
    if (m_batch.empty())
        return;
    set_color(color);
    SDL_RenderFillRects(m_renderer, m_batch.data(), static_cast<int>(m_batch.size()));
    m_batch.clear();
}

} // namespace gantry::viz
