// Layout: the vertical split between views, lanes per node, and the time scale
// that every view shares so the cursor lines up across them.
#include <gantry/viz/layout.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gantry::viz {

namespace palette {

Color phase(u16 depth)
{
    static constexpr Color colors[] = {{70, 130, 190}, {90, 165, 100}, {200, 150, 60},
                                       {170, 95, 165}};
    return colors[depth % 4];
}

Color fiber(u32 fiber)
{
    // Distinct hues that stay readable on the dark lanes; fiber ids start at 1.
    static constexpr Color colors[] = {{230, 120, 70},  {80, 180, 220}, {150, 210, 90},
                                       {220, 90, 150},  {240, 190, 80}, {140, 120, 230},
                                       {90, 200, 170},  {200, 200, 200}};
    return colors[(fiber + 7) % 8];
}

Color log(u8 level)
{
    switch (level) {
    case 0:
        return {140, 140, 140};
    case 1:
        return {120, 200, 255};
    case 2:
        return {250, 160, 50};
    default:
        return {255, 70, 70};
    }
}

Color net_protocol(u8 ip_protocol, u16 ethertype)
{
    if (ethertype == 0x0806)
        return {170, 170, 170}; // ARP
    switch (ip_protocol) {
    case 1:
        return {240, 210, 90}; // ICMP
    case 6:
        return {100, 170, 255}; // TCP
    case 17:
        return {110, 220, 140}; // UDP
    default:
        return {220, 220, 220};
    }
}

Color fault(FaultKind kind)
{
    switch (kind) {
    case FaultKind::down:
        return fault_down;
    case FaultKind::paused:
        return fault_paused;
    case FaultKind::partition:
    case FaultKind::link:
        break;
    }
    return fault_partition;
}

Color disk_op(u8 op, u8 status)
{
    if (status != 1)
        return disk_error;
    return op == 0 ? disk_read : op == 1 ? disk_write : disk_flush;
}

} // namespace palette

std::optional<View> parse_view(std::string_view text)
{
    if (text == "timeline")
        return View::timeline;
    if (text == "memory")
        return View::memory;
    if (text == "network")
        return View::network;
    if (text == "tcp")
        return View::tcp;
    if (text == "all")
        return View::all;
    return std::nullopt;
}

TimeWindow full_window(const TraceModel& model)
{
    TimeNs span = std::max<TimeNs>(model.last_time - model.first_time, 1000);
    TimeNs margin = span / 50;
    TimeNs from = model.first_time > margin ? model.first_time - margin : 0;
    return {from, model.last_time + margin};
}

TimeWindow zoom(TimeWindow window, double factor, TimeNs anchor)
{
    anchor = std::clamp(anchor, window.from, window.to);
    double left = static_cast<double>(anchor - window.from) * factor;
    double right = static_cast<double>(window.to - anchor) * factor;
    double from = std::max(0.0, static_cast<double>(anchor) - left);
    auto new_from = static_cast<TimeNs>(from);
    auto new_to = static_cast<TimeNs>(static_cast<double>(anchor) + right);
    if (new_to <= new_from)
        new_to = new_from + 1;
    return {new_from, new_to};
}

TimeWindow pan(TimeWindow window, double fraction)
{
    double shift = static_cast<double>(window.span()) * fraction;
    if (shift < 0 && static_cast<double>(window.from) < -shift)
        shift = -static_cast<double>(window.from);
    auto delta = static_cast<i64>(shift);
    return {static_cast<TimeNs>(static_cast<i64>(window.from) + delta),
            static_cast<TimeNs>(static_cast<i64>(window.to) + delta)};
}

double TimeScale::x_of(TimeNs t) const
{
    double offset = static_cast<double>(t) - static_cast<double>(window.from);
    return plot.x + offset * plot.w / static_cast<double>(window.span());
}

TimeNs TimeScale::time_at(int x) const
{
    double offset = static_cast<double>(x - plot.x) * static_cast<double>(window.span()) /
                    std::max(plot.w, 1);
    double t = static_cast<double>(window.from) + offset;
    return t <= 0 ? 0 : static_cast<TimeNs>(t);
}

TimeNs TimeScale::ns_per_px() const
{
    return std::max<TimeNs>(window.span() / static_cast<TimeNs>(std::max(plot.w, 1)), 1);
}

Rect TimeScale::span_rect(const Rect& lane, TimeNs begin, TimeNs end) const
{
    if (end < window.from || begin > window.to)
        return {lane.x, lane.y, 0, lane.h};
    double x0 = std::max(x_of(begin), static_cast<double>(plot.x));
    double x1 = std::min(x_of(end), static_cast<double>(plot.right()));
    int left = static_cast<int>(std::floor(x0));
    int right = std::max(static_cast<int>(std::ceil(x1)), left + 1);
    return {left, lane.y, right - left, lane.h};
}

std::vector<TimeNs> axis_ticks(const TimeScale& scale, int spacing_px)
{
    double min_step = static_cast<double>(scale.window.span()) * spacing_px /
                      std::max(scale.plot.w, 1);
    TimeNs decade = 1;
    while (static_cast<double>(decade) * 10 <= min_step)
        decade *= 10;
    TimeNs step = decade * 10;
    for (TimeNs multiple : {1, 2, 5})
        if (static_cast<double>(decade * multiple) >= min_step) {
            step = decade * multiple;
            break;
        }
    std::vector<TimeNs> ticks;
    for (TimeNs t = (scale.window.from + step - 1) / step * step; t <= scale.window.to; t += step)
        ticks.push_back(t);
    return ticks;
}

TimeScale Layout::scale() const
{
    return {plot_columns, window};
}


} // namespace gantry::viz
