// Where everything goes: rectangles for the views, lanes and spans, computed
// from the model, a pixel size and a time window. Pure functions with no SDL,
// shared by the renderer, hit testing, the --layout-json debug output and tests.
#pragma once

#include <gantry/viz/filter.hpp>
#include <gantry/viz/model.hpp>

#include <optional>
#include <string>
#include <vector>

namespace gantry::viz {

struct Size {
    int w = 0;
    int h = 0;
};

struct Rect {
    int x = 0;
    int y = 0;
    int w = 0;
    int h = 0;
    bool contains(int px, int py) const { return px >= x && px < x + w && py >= y && py < y + h; }
    int right() const { return x + w; }
    int bottom() const { return y + h; }
};

struct Color {
    u8 r = 0;
    u8 g = 0;
    u8 b = 0;
    u8 a = 255;
    bool operator==(const Color&) const = default;
};

// The colours are part of the layout, not the renderer, so that tests (and
// --layout-json) can say which colour a span must have been drawn in.
namespace palette {
inline constexpr Color background{22, 24, 28};
inline constexpr Color panel{30, 33, 39};
inline constexpr Color lane_even{36, 40, 47};
inline constexpr Color lane_odd{32, 35, 42};
inline constexpr Color text{225, 225, 225};
inline constexpr Color text_dim{150, 155, 165};
inline constexpr Color axis{110, 115, 125};
inline constexpr Color grid{48, 52, 60};
inline constexpr Color idle{62, 70, 86};
inline constexpr Color timer{235, 200, 70};
inline constexpr Color pages{80, 200, 120};
inline constexpr Color pages_fill{40, 90, 60};
inline constexpr Color heap{205, 120, 225};
inline constexpr Color heap_fill{85, 50, 95};
inline constexpr Color high_water{235, 85, 80};
inline constexpr Color page_alloc{120, 210, 160};
inline constexpr Color page_free{210, 140, 120};
inline constexpr Color page_map_free{52, 57, 66}; // a free page in the page map
Color page_block(u8 order); // a used page in the page map, by its block's order
inline constexpr Color cursor{255, 255, 255};
inline constexpr Color selection{255, 235, 120};
inline constexpr Color filter{250, 200, 60}; // the network filter's banner
inline constexpr Color net_drop{255, 60, 60};
Color net_protocol(u8 ip_protocol, u16 ethertype); // tx/rx ticks by protocol
// Link frames' arrows (the fabric's record has no protocol, so by fate only).
inline constexpr Color frame_delivered{150, 175, 215};
inline constexpr Color frame_duplicate{190, 120, 255};
inline constexpr Color frame_corrupted{255, 150, 40};
// TCP plots and disk requests.
inline constexpr Color tcp_cwnd{100, 170, 255};
inline constexpr Color tcp_ssthresh{250, 160, 50};
inline constexpr Color tcp_snd_wnd{110, 220, 140};
inline constexpr Color tcp_srtt{205, 120, 225};
inline constexpr Color tcp_rto{150, 155, 165};
inline constexpr Color tcp_retransmit{255, 60, 60};
inline constexpr Color tcp_state{225, 225, 225};
inline constexpr Color disk_read{90, 170, 230};
inline constexpr Color disk_write{230, 150, 70};
inline constexpr Color disk_flush{235, 235, 235};
inline constexpr Color disk_error{255, 60, 60};
Color disk_op(u8 op, u8 status);
// Fault shading, blended over a node's lanes (alpha matters).
inline constexpr Color fault_down{255, 50, 50, 80};
inline constexpr Color fault_paused{120, 150, 255, 80};
inline constexpr Color fault_partition{255, 170, 40, 70};
Color fault(FaultKind kind);
Color phase(u16 depth);
Color fiber(u32 fiber);
Color log(u8 level);
} // namespace palette

enum class View : u8 { timeline, memory, network, tcp, all };
std::optional<View> parse_view(std::string_view text);

struct TimeWindow {
    TimeNs from = 0;
    TimeNs to = 1;
    TimeNs span() const { return to > from ? to - from : 1; }
};

// The whole trace, with a little margin so the first and last events are visible.
TimeWindow full_window(const TraceModel& model);
// Zooms by `factor` (< 1 zooms in) around `anchor`, keeping at least 1 ns.
TimeWindow zoom(TimeWindow window, double factor, TimeNs anchor);
// Pans by `fraction` of the window's span (negative: earlier). Never below 0.
TimeWindow pan(TimeWindow window, double fraction);

// Maps time to x within a plot rectangle.
struct TimeScale {
    Rect plot;
    TimeWindow window;
    double x_of(TimeNs t) const;
    TimeNs time_at(int x) const;
    // A span's pixels in `lane`: clamped to the plot, at least 1 px wide; w=0 if
    // the span is outside the window.
    Rect span_rect(const Rect& lane, TimeNs begin, TimeNs end) const;
    TimeNs ns_per_px() const;
};

// Axis ticks at 1-2-5 steps, at least `spacing_px` apart.
std::vector<TimeNs> axis_ticks(const TimeScale& scale, int spacing_px);

enum class LaneKind : u8 { phases, kernel, disk, fiber };

struct Lane {
    LaneKind kind;
    usize node_slot;  // index into TraceModel::nodes
    usize fiber_slot; // index into NodeIndex::fibers (fiber lanes)
    Rect rect;        // the plotting part (right of the label column)
    Rect label;       // the label column part
    int top;          // y before clipping to the plot (phase rows count from here)
};

struct NodeHeader {
    usize node_slot;
    Rect rect;
};

struct TimelineLayout {
    Rect panel;
    Rect axis; // time labels, above the lanes
    Rect plot; // every lane's plotting area together
    std::vector<NodeHeader> node_headers;
    std::vector<Lane> lanes;
    int content_h = 0; // lanes' total height: more than plot.h means clipping
};

struct MemoryPlot {
    usize node_slot;
    Rect pages; // pages in use over time, high-water line
    Rect heap;  // heap bytes live
    Rect page_events; // a strip of page_alloc/page_free ticks
    Rect label;
    // At the layout's `at` time (w = 0 when the row is too small for them):
    Rect page_map;     // the buddy allocator's blocks, one cell per page (or per few)
    Rect heap_classes; // bytes live per heap size class, and the large allocations
};

// Where the page map's cells go: regions one after another, row by row, each
// cell `cell_px` square holding `pages_per_cell` pages.
struct PageMapGeometry {
    Rect rect;
    int cell_px = 1;
    int columns = 1;
    u64 pages_per_cell = 1;
    std::vector<u64> region_cell; // first cell of each region
    u64 cells = 0;                // cells in use by all regions
};
PageMapGeometry page_map_geometry(const Rect& rect, const PageMap& map);
// The used pages as runs of cells (one rectangle per row a block covers), in
// their block's colour; a cell holding several pages is used when any is.
struct PageRun {
    Rect rect;
    PageBlock block;
};
std::vector<PageRun> page_runs(const PageMapGeometry& geometry, const PageMap& map);
// Cells first..last (inclusive) as one rectangle per row they cover.
std::vector<Rect> cell_rects(const PageMapGeometry& geometry, u64 first, u64 last);
// The page under a pixel: region and page, if the pixel is on a region's cell.
std::optional<std::pair<u8, u64>> page_at(const PageMapGeometry& geometry, const PageMap& map,
                                          int x, int y);

// The heap class bars: one per class, then one for large allocations.
struct HeapBar {
    Rect rect;  // the bar's slot (the bar fills its lower part by value)
    Rect value; // the filled part (h = 0 when nothing is live)
    usize index;
    u64 bytes;
};
std::vector<HeapBar> heap_bars(const Rect& area, const NodeIndex& node, const HeapSample* sample);
inline constexpr int heap_bar_label_px = 9;

struct MemoryLayout {
    Rect panel;
    Rect plot;
    std::vector<MemoryPlot> plots;
};

struct NetLane {
    usize node_slot;
    Rect rect; // tx ticks in the upper half, rx in the lower, drops as crosses
    Rect label;
};

struct NetworkLayout {
    Rect panel;
    Rect plot;
    std::vector<NetLane> lanes; // nodes with network events or link frames
    int pitch = 0;              // lane to lane, in pixels
    NetFilter filter;           // ticks and arrows it does not match are not drawn
};

// A link frame as the sequence diagram draws it: a line from the sender's lane
// centre at `sent` to the receiver's at the fate's time. A dropped frame ends
// half-way to the receiver (or half a lane when it had none) in a red cross.
enum class ArrowFate : u8 { delivered, duplicate, corrupted, dropped }; // draw order
inline constexpr usize arrow_fate_count = 4;
ArrowFate arrow_fate(u8 frame_fate);
Color arrow_color(ArrowFate fate);
const char* arrow_fate_name(ArrowFate fate);

struct FrameArrow {
    int x0, y0, x1, y1; // clipped to the plot's columns
    ArrowFate fate;
    usize frame; // index into TraceModel::link_frames
};

// One TCP connection's plots: congestion and send windows (bytes), RTT and RTO,
// and a strip with state changes (white ticks) and retransmissions (red).
struct TcpPlot {
    usize node_slot;
    usize connection; // index into NodeIndex::tcp
    Rect window;
    Rect rtt;
    Rect events;
    Rect label;
};

struct TcpLayout {
    Rect panel;
    Rect plot;
    std::vector<TcpPlot> plots;
    usize hidden = 0;   // connections that did not fit
    usize filtered = 0; // connections the network filter's connection left out
};

struct Layout {
    Size size;
    TimeWindow window;
    TimeNs at = 0; // the time the memory view's page map and heap classes show
    std::optional<TimelineLayout> timeline;
    std::optional<MemoryLayout> memory;
    std::optional<NetworkLayout> network;
    std::optional<TcpLayout> tcp;
    TimeScale scale() const; // the common time axis of every view
    Rect plot_columns;       // x range shared by all views' plots
};

struct LayoutOptions {
    View view = View::all;
    std::vector<bool> node_visible; // by node slot; empty = all visible
    int timeline_scroll_px = 0;     // lanes scrolled up in the interactive viewer
    std::optional<TimeNs> at;       // page map time (the cursor); default: the window's end
    NetFilter net_filter;           // network view: protocols, connection (TCP rows too)
};

inline constexpr int label_column_px = 120;
inline constexpr int node_header_px = 16;
inline constexpr int phase_row_px = 15;
inline constexpr int kernel_lane_px = 14;
inline constexpr int fiber_lane_px = 12;
inline constexpr int panel_title_px = 16;
inline constexpr int axis_px = 14;
inline constexpr int network_panel_px = 60;
inline constexpr int net_lane_px = 18;
inline constexpr int seq_lane_px = 30; // pitch with link frames: room for arrows
inline constexpr int disk_lane_px = 10;
inline constexpr int tcp_row_px = 84;  // window + rtt + event strip + gap
inline constexpr usize tcp_rows_in_all = 3; // connections the "all" view shows

Layout compute_layout(const TraceModel& model, Size size, TimeWindow window,
                      const LayoutOptions& options = {});

// One frame's arrow, or nothing when its sender has no lane or it is outside the
// window (pure: the unit tests check the geometry).
std::optional<FrameArrow> frame_arrow(const TraceModel& model, const NetworkLayout& network,
                                      const TimeScale& scale, usize frame);
// The arrows the renderer draws, in draw order (drops last, so never hidden):
// frames found by binary search on time, one per distinct pixel geometry.
std::vector<FrameArrow> visible_arrows(const TraceModel& model, const Layout& layout);

// A boot phase's pixels in its phases lane (w = 0 when not visible).
Rect phase_rect(const TimeScale& scale, const Lane& lane, const PhaseSpan& phase);

// What is under a pixel: for details on click.
enum class HitKind : u8 {
    phase, run, idle, timer, log, mem_sample, net_tx, net_rx, net_drop, block_io, tcp_sample,
    link_frame, fault, page_block, heap_class
};
struct Hit {
    HitKind kind;
    usize node_slot;
    usize fiber_slot; // run only; tcp_sample: the connection; page_block: the region
    usize index;      // into the node's (or fiber's, connection's) array of that kind;
                      // link_frame: TraceModel::link_frames, fault: TraceModel::faults,
                      // page_block: the page, heap_class: the class (count = large)
    TimeNs at = 0;    // page_block, heap_class: the time the map showed
};
// The node's array of network events a net_* hit indexes.
const std::vector<NetEvent>& net_events(const NodeIndex& node, HitKind kind);
std::optional<Hit> hit_test(const TraceModel& model, const Layout& layout, int x, int y);
// The details panel's text for a hit: what it is, when, how long, its fields.
std::string describe(const TraceModel& model, const Hit& hit);
// The protocol and connection of a clicked NIC tick, link frame arrow (its
// matched headers) or TCP row: what the viewer's "filter to this" keys pick.
std::optional<NetProtocol> hit_protocol(const TraceModel& model, const Hit& hit);
std::optional<NetConnection> hit_connection(const TraceModel& model, const Hit& hit);
// The time a hit is at (its begin for spans), to centre the view on it.
TimeNs hit_time(const TraceModel& model, const Hit& hit);

// Search by node ("node 3"), event kind ("log", "phase", "fiber", "idle", "drop") or text
// (log lines, phase and fiber names, case-sensitive); at most `limit` results.
std::vector<Hit> search(const TraceModel& model, std::string_view query, usize limit);

// Debug output for tests: every panel, lane and visible phase span, with the
// colour the renderer uses for it.
std::string layout_json(const TraceModel& model, const Layout& layout);

} // namespace gantry::viz
