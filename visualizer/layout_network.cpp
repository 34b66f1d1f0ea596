// The network view's sequence diagram: where each link frame's arrow goes, and
// which frames are visible (binary search by time: a trace may hold millions).
#include <gantry/viz/layout.hpp>

#include <algorithm>
#include <array>
#include <unordered_set>

namespace gantry::viz {

namespace {

constexpr u32 no_node = 0xffffffff;

// The centre line of `node`'s lane, or -1 when it has none (filtered, clipped).
int lane_centre(const TraceModel& model, const NetworkLayout& network, u32 node)
{
    if (node == no_node)
        return -1;
    for (const NetLane& lane : network.lanes)
        if (model.nodes[lane.node_slot].node == node)
            return lane.rect.y + lane.rect.h / 2;
    return -1;
}

// Cuts the segment to the plot's columns; false when it lies wholly outside.
bool clip_columns(const Rect& plot, double& x0, double& y0, double& x1, double& y1)
{
    double left = plot.x, right = plot.right() - 1;
    if (std::max(x0, x1) < left || std::min(x0, x1) > right)
        return false;
    auto at = [&](double x) { return x1 == x0 ? y0 : y0 + (y1 - y0) * (x - x0) / (x1 - x0); };
    if (x0 < left) {
        y0 = at(left);
        x0 = left;
    }
    if (x1 > right) {
        y1 = at(right);
        x1 = right;
    }
    return true;
}

} // namespace

ArrowFate arrow_fate(u8 frame_fate)
{
    // FrameFate (sim/include/gantry/sim/network.hpp): 0 delivered, 1 corrupted,
    // 2 duplicate, 3 and up a drop reason.
    switch (frame_fate) {
    case 0: return ArrowFate::delivered;
    case 1: return ArrowFate::corrupted;
    case 2: return ArrowFate::duplicate;
    default: return ArrowFate::dropped;
    }
}

Color arrow_color(ArrowFate fate)
{
    switch (fate) {
    case ArrowFate::delivered: return palette::frame_delivered;
    case ArrowFate::duplicate: return palette::frame_duplicate;
    case ArrowFate::corrupted: return palette::frame_corrupted;
    case ArrowFate::dropped: return palette::net_drop;
    }
    return palette::frame_delivered;
}

const char* arrow_fate_name(ArrowFate fate)
{
    static constexpr std::array<const char*, arrow_fate_count> names = {
        "delivered", "duplicate", "corrupted", "dropped"};
    return names[static_cast<usize>(fate)];
}

std::optional<FrameArrow> frame_arrow(const TraceModel& model, const NetworkLayout& network,
                                      const TimeScale& scale, usize frame)
{
    const LinkFrame& f = model.link_frames[frame];
    int from_y = lane_centre(model, network, f.from);
    if (from_y < 0)
        return std::nullopt;
    ArrowFate fate = arrow_fate(f.fate);
    int to_y = lane_centre(model, network, f.to);
    double x0 = scale.x_of(f.sent), x1 = scale.x_of(f.time);
    double y0 = from_y, y1 = to_y;
    if (fate == ArrowFate::dropped) {
        // Lost on the way: half-way to the receiver, or (no receiver chosen, or
        // its lane hidden) half a lane towards the middle of the plot.
        int towards = from_y < network.plot.y + network.plot.h / 2 ? 1 : -1;
        y1 = to_y >= 0 ? (from_y + to_y) / 2.0 : from_y + towards * network.pitch / 2.0;
    } else if (to_y < 0) {
        return std::nullopt; // delivered to a node whose lane is not shown
    }
    if (!clip_columns(scale.plot, x0, y0, x1, y1))
        return std::nullopt;
    return FrameArrow{static_cast<int>(x0), static_cast<int>(y0), static_cast<int>(x1),
                      static_cast<int>(y1), fate, frame};
}

std::vector<FrameArrow> visible_arrows(const TraceModel& model, const Layout& layout)
{
    std::array<std::vector<FrameArrow>, arrow_fate_count> by_fate;
    if (!layout.network || model.link_frames.empty())
        return {};
    TimeScale scale = layout.scale();
    const auto& frames = model.link_frames;
    // Sorted by the fate's time: a frame visible in [from, to] has time >= from
    // and was sent by `to`, so its time is at most to + the longest delay.
    TimeNs last = scale.window.to + model.link_delay_max;
    std::unordered_set<u64> seen; // pixel geometry + fate: one line per pixel path
    // Zoomed out, most frames repeat a path just seen: a small direct-mapped
    // cache of recent keys answers them without touching the set.
    constexpr usize recent_slots = 1024;
    std::array<u64, recent_slots> recent;
    recent.fill(~u64{0});
    for (usize i = first_at_or_after(frames, scale.window.from);
         i < frames.size() && frames[i].time <= last; ++i) {
        if (frames[i].sent > scale.window.to ||
            !frame_matches(layout.network->filter, model, frames[i]))
            continue;
        std::optional<FrameArrow> arrow = frame_arrow(model, *layout.network, scale, i);
        if (!arrow)
            continue;
        u64 key = (static_cast<u64>(arrow->x0 & 0x7fff) << 49) |
                  (static_cast<u64>(arrow->x1 & 0x7fff) << 34) |
                  (static_cast<u64>(arrow->y0 & 0x7fff) << 19) |
                  (static_cast<u64>(arrow->y1 & 0x7fff) << 4) | static_cast<u64>(arrow->fate);
        u64& slot = recent[(key ^ (key >> 17) ^ (key >> 34)) % recent_slots];
        if (slot == key)
            continue;
        slot = key;
        if (seen.insert(key).second)
            by_fate[static_cast<usize>(arrow->fate)].push_back(*arrow);
    }
    std::vector<FrameArrow> arrows;
    for (const auto& group : by_fate)
        arrows.insert(arrows.end(), group.begin(), group.end());
    return arrows;
}

} // namespace gantry::viz
