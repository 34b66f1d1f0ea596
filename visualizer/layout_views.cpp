// compute_layout: splits the picture between the views and stacks each node's
// lanes; hit_test and layout_json read the result back.
#include <gantry/viz/layout.hpp>

#include <algorithm>
#include <cstdio>

namespace gantry::viz {

namespace {

constexpr int right_margin_px = 8;
constexpr int memory_row_px = 96; // pages + heap + page-event strip + gap, per node
constexpr int memory_band_row_min_px = 130; // rows at least this high show the page map

bool visible(const LayoutOptions& options, usize slot)
{
    return options.node_visible.empty() || slot >= options.node_visible.size() ||
           options.node_visible[slot];
}

int phase_rows(const NodeIndex& node)
{
    int depth = 0;
    for (const PhaseSpan& phase : node.phases)
        depth = std::max(depth, phase.depth + 1);
    return std::max(depth, 1);
}

int timeline_needed(const TraceModel& model, const LayoutOptions& options)
{
    int height = panel_title_px + axis_px;
    for (usize slot = 0; slot < model.nodes.size(); ++slot) {
        if (!visible(options, slot))
            continue;
        const NodeIndex& node = model.nodes[slot];
        height += node_header_px + phase_rows(node) * phase_row_px + kernel_lane_px +
                  (node.block_io.empty() ? 0 : disk_lane_px) +
                  static_cast<int>(node.fibers.size()) * fiber_lane_px;
    }
    return height + 4;
}

int visible_nodes(const TraceModel& model, const LayoutOptions& options)
{
    int count = 0;
    for (usize slot = 0; slot < model.nodes.size(); ++slot)
        count += visible(options, slot) ? 1 : 0;
    return count;
}

// Adds a lane if any of it is inside the plot; lanes scrolled out are left out.
void add_lane(TimelineLayout& timeline, LaneKind kind, usize node, usize fiber, int y, int h)
{
    const Rect& plot = timeline.plot;
    int top = std::max(y, plot.y);
    int bottom = std::min(y + h, plot.bottom());
    if (bottom <= top)
        return;
    Rect rect{plot.x, top, plot.w, bottom - top};
    Rect label{0, top, label_column_px - 4, bottom - top};
    timeline.lanes.push_back({kind, node, fiber, rect, label, y});
}

TimelineLayout layout_timeline(const TraceModel& model, Rect panel, const LayoutOptions& options)
{
    TimelineLayout timeline;
    timeline.panel = panel;
    timeline.axis = {label_column_px, panel.y + panel_title_px,
                     panel.w - label_column_px - right_margin_px, axis_px};
    timeline.plot = {label_column_px, timeline.axis.bottom(), timeline.axis.w,
                     std::max(panel.bottom() - timeline.axis.bottom(), 0)};
    int y = timeline.plot.y - options.timeline_scroll_px;
    for (usize slot = 0; slot < model.nodes.size(); ++slot) {
        if (!visible(options, slot))
            continue;
        const NodeIndex& node = model.nodes[slot];
        if (y >= timeline.plot.y && y + node_header_px <= timeline.plot.bottom())
            timeline.node_headers.push_back({slot, {0, y, panel.w, node_header_px}});
        y += node_header_px;
        int phases_h = phase_rows(node) * phase_row_px;
        add_lane(timeline, LaneKind::phases, slot, 0, y, phases_h);
        y += phases_h;
        add_lane(timeline, LaneKind::kernel, slot, 0, y, kernel_lane_px);
        y += kernel_lane_px;
        if (!node.block_io.empty()) {
            add_lane(timeline, LaneKind::disk, slot, 0, y, disk_lane_px);
            y += disk_lane_px;
        }
        for (usize fiber = 0; fiber < node.fibers.size(); ++fiber) {
            add_lane(timeline, LaneKind::fiber, slot, fiber, y, fiber_lane_px);
            y += fiber_lane_px;
        }
    }
    timeline.content_h = y + options.timeline_scroll_px - timeline.plot.y;
    return timeline;
}

MemoryLayout layout_memory(const TraceModel& model, Rect panel, const LayoutOptions& options)
{
    MemoryLayout memory;
    memory.panel = panel;
    memory.plot = {label_column_px, panel.y + panel_title_px,
                   panel.w - label_column_px - right_margin_px,
                   std::max(panel.h - panel_title_px, 0)};
    int nodes = std::max(visible_nodes(model, options), 1);
    // Rows shrink to fit but never below a readable minimum; the rest is clipped.
    int row = std::max(std::min(memory_row_px * 3, memory.plot.h / nodes), 40);
    int y = memory.plot.y;
    for (usize slot = 0; slot < model.nodes.size(); ++slot) {
        if (!visible(options, slot))
            continue;
        if (y + row > memory.plot.bottom() + 1)
            break;
        // Rows with room get a band below the time plots for the page map and
        // the heap's size classes at the layout's `at` time.
        int band_h = row >= memory_band_row_min_px ? row * 40 / 100 : 0;
        int time_h = row - band_h;
        int pages_h = time_h * 55 / 100;
        int heap_h = time_h * 30 / 100;
        int strip_h = std::max(time_h * 7 / 100, 3);
        Rect pages{memory.plot.x, y, memory.plot.w, pages_h};
        Rect heap{memory.plot.x, y + pages_h + 2, memory.plot.w, heap_h - 2};
        Rect strip{memory.plot.x, heap.bottom() + 1, memory.plot.w, strip_h};
        Rect page_map{}, classes{};
        if (band_h > 0) {
            int band_y = strip.bottom() + 4;
            int band_bottom = y + row - 6;
            int map_w = memory.plot.w * 60 / 100;
            page_map = {memory.plot.x, band_y, map_w, band_bottom - band_y};
            classes = {page_map.right() + 12, band_y, memory.plot.right() - page_map.right() - 12,
                       band_bottom - band_y};
        }
        memory.plots.push_back({slot, pages, heap, strip, {0, y, label_column_px - 4, row - 4},
                                page_map, classes});
        y += row;
    }
    return memory;
}

bool has_net(const NodeIndex& node)
{
    return !node.net_tx.empty() || !node.net_rx.empty() || !node.net_drops.empty();
}

int net_lanes_needed(const TraceModel& model, const LayoutOptions& options)
{
    int lanes = 0;
    for (usize slot = 0; slot < model.nodes.size(); ++slot)
        lanes += visible(options, slot) && has_net(model.nodes[slot]) ? 1 : 0;
    return lanes;
}

NetworkLayout layout_network(const TraceModel& model, Rect panel, const LayoutOptions& options)
{
    NetworkLayout network;
    network.panel = panel;
    network.plot = {label_column_px, panel.y + panel_title_px,
                    panel.w - label_column_px - right_margin_px,
                    std::max(panel.h - panel_title_px - 2, 0)};
    // With link frames the lanes spread apart so arrows between them have room
    // to show their slope; the tick lanes themselves keep their height.
    network.pitch = model.link_frames.empty() ? net_lane_px : seq_lane_px;
    network.filter = options.net_filter;
    int y = network.plot.y + (network.pitch - net_lane_px) / 2;
    for (usize slot = 0; slot < model.nodes.size(); ++slot) {
        if (!visible(options, slot) || !has_net(model.nodes[slot]))
            continue;
        if (y + net_lane_px > network.plot.bottom())
            break; // more nodes than fit: the viewer's node filter narrows them down
        network.lanes.push_back({slot, {network.plot.x, y, network.plot.w, net_lane_px - 2},
                                 {0, y, label_column_px - 4, net_lane_px - 2}});
        y += network.pitch;
    }
    return network;
}

// A TCP row is shown unless the network filter names another connection.
bool tcp_shown(const LayoutOptions& options, const TcpConnection& connection)
{
    const auto& wanted = options.net_filter.connection;
    return !wanted || wanted->matches(connection);
}

usize tcp_connections(const TraceModel& model, const LayoutOptions& options)
{
    usize count = 0;
    for (usize slot = 0; slot < model.nodes.size(); ++slot)
        for (const TcpConnection& connection : model.nodes[slot].tcp)
            count += visible(options, slot) && tcp_shown(options, connection) ? 1 : 0;
    return count;
}

TcpLayout layout_tcp(const TraceModel& model, Rect panel, const LayoutOptions& options)
{
    TcpLayout tcp;
    tcp.panel = panel;
    tcp.plot = {label_column_px, panel.y + panel_title_px,
                panel.w - label_column_px - right_margin_px,
                std::max(panel.h - panel_title_px, 0)};
    int y = tcp.plot.y;
    for (usize slot = 0; slot < model.nodes.size(); ++slot) {
        if (!visible(options, slot))
            continue;
        for (usize c = 0; c < model.nodes[slot].tcp.size(); ++c) {
            if (!tcp_shown(options, model.nodes[slot].tcp[c])) {
                ++tcp.filtered;
                continue;
            }
            if (y + tcp_row_px > tcp.plot.bottom() + 1) {
                ++tcp.hidden;
                continue;
            }
            int window_h = tcp_row_px * 45 / 100;
            int rtt_h = tcp_row_px * 30 / 100;
            int strip_h = tcp_row_px * 12 / 100;
            Rect window{tcp.plot.x, y, tcp.plot.w, window_h};
            Rect rtt{tcp.plot.x, window.bottom() + 2, tcp.plot.w, rtt_h - 2};
            Rect events{tcp.plot.x, rtt.bottom() + 1, tcp.plot.w, strip_h};
            tcp.plots.push_back({slot, c, window, rtt, events,
                                 {0, y, label_column_px - 4, tcp_row_px - 4}});
            y += tcp_row_px;
        }
    }
    return tcp;
}

} // namespace

Layout compute_layout(const TraceModel& model, Size size, TimeWindow window,
                      const LayoutOptions& options)
{
    Layout layout;
    layout.size = size;
    layout.window = window;
    layout.at = options.at ? *options.at : std::min(window.to, model.last_time);
    layout.plot_columns = {label_column_px, 0,
                           std::max(size.w - label_column_px - right_margin_px, 1), size.h};
    Rect whole{0, 0, size.w, size.h};
    if (options.view == View::timeline)
        layout.timeline = layout_timeline(model, whole, options);
    if (options.view == View::memory)
        layout.memory = layout_memory(model, whole, options);
    if (options.view == View::network)
        layout.network = layout_network(model, whole, options);
    if (options.view == View::tcp)
        layout.tcp = layout_tcp(model, whole, options);
    if (options.view != View::all)
        return layout;

    int pitch = model.link_frames.empty() ? net_lane_px : seq_lane_px;
    int net_wanted = panel_title_px + net_lanes_needed(model, options) * pitch + 4;
    int network_h = std::min(std::max(network_panel_px, net_wanted), size.h / 3);
    // TCP connections get a panel at the bottom (a few rows; the tcp view has them all).
    usize connections = std::min(tcp_connections(model, options), tcp_rows_in_all);
    int tcp_h = connections == 0 ? 0
                                 : std::min(panel_title_px + static_cast<int>(connections) *
                                                                 tcp_row_px,
                                            size.h / 4);
    int available = size.h - network_h - tcp_h;
    int memory_wanted = panel_title_px + visible_nodes(model, options) * memory_row_px;
    int timeline_h = std::min(timeline_needed(model, options), available);
    if (available - timeline_h < memory_wanted)
        timeline_h = std::max(available * 6 / 10, available - memory_wanted);
    layout.timeline = layout_timeline(model, {0, 0, size.w, timeline_h}, options);
    layout.memory = layout_memory(model, {0, timeline_h, size.w, available - timeline_h}, options);
    layout.network = layout_network(model, {0, available, size.w, network_h}, options);
    if (tcp_h > 0)
        layout.tcp = layout_tcp(model, {0, available + network_h, size.w, tcp_h}, options);
    return layout;
}

} // namespace gantry::viz
