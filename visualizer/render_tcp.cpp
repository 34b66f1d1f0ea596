// The TCP view: one row per connection with its congestion window, slow-start
// threshold and peer window (bytes), its smoothed RTT and RTO, and a strip of
// state changes and retransmissions. Samples hold until the next one (tcp_stats
// is written when the connection's figures are sampled), so values are steps.
#include "font.hpp"

#include <gantry/net/tcp/connection.hpp>
#include <gantry/viz/render.hpp>

#include <algorithm>
#include <cstdio>

namespace gantry::viz {

namespace {

using SampleValue = u64 (*)(const TcpSample&);

// The sample in effect at time t (the last at or before it), or nullptr.
const TcpSample* sample_at(const std::vector<TcpSample>& samples, TimeNs t)
{
    usize i = first_at_or_after(samples, t + 1);
    return i > 0 ? &samples[i - 1] : nullptr;
}

void draw_steps(Canvas& canvas, const TcpConnection& connection, const TimeScale& scale,
                const Rect& plot, SampleValue value, u64 max_value, Color color)
{
    if (connection.samples.empty() || max_value == 0)
        return;
    int x0 = std::max(static_cast<int>(scale.x_of(connection.samples.front().time)), plot.x);
    int x1 = std::min(static_cast<int>(scale.x_of(connection.last_time)) + 1, plot.right());
    for (int x = x0; x < x1; ++x) {
        const TcpSample* sample = sample_at(connection.samples, scale.time_at(x + 1));
        if (!sample)
            continue;
        u64 v = std::min(value(*sample), max_value);
        int y = plot.bottom() - 2 - static_cast<int>(static_cast<double>(v) * (plot.h - 3) /
                                                     static_cast<double>(max_value));
        canvas.add_rect({x, y, 1, 2});
    }
    canvas.flush_rects(color);
}

const char* state_name(u8 state)
{
    return state <= static_cast<u8>(net::TcpState::time_wait)
               ? net::tcp_state_name(static_cast<net::TcpState>(state))
               : "?";
}

void draw_events(Canvas& canvas, const TcpConnection& connection, const TimeScale& scale,
                 const Rect& strip)
{
    // Retransmissions: a red tick where the count went up since the last sample.
    u64 previous = 0;
    for (const TcpSample& sample : connection.samples) {
        if (sample.retransmits > previous && sample.time >= scale.window.from &&
            sample.time <= scale.window.to)
            canvas.add_rect({static_cast<int>(scale.x_of(sample.time)), strip.y, 2, strip.h});
        previous = sample.retransmits;
    }
    canvas.flush_rects(palette::tcp_retransmit);
    int last_label_end = strip.x - 1;
    for (const TcpStateChange& change : connection.states) {
        if (change.time < scale.window.from || change.time > scale.window.to)
            continue;
        int x = static_cast<int>(scale.x_of(change.time));
        canvas.fill({x, strip.y, 1, strip.h}, palette::tcp_state);
        std::string name = state_name(change.to);
        if (x + 2 > last_label_end && strip.h >= glyph_h)
            last_label_end = x + 2 + canvas.text(x + 2, strip.y + (strip.h - glyph_h) / 2, name,
                                                 palette::text_dim, strip.right() - x - 2);
    }
}

std::string endpoint(u32 address, u16 port)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%u.%u.%u.%u:%u", address >> 24, (address >> 16) & 255,
                  (address >> 8) & 255, address & 255, port);
    return text;
}

std::string summary(const TcpConnection& connection)
{
    std::string text = endpoint(connection.local, connection.local_port) + " -> " +
                       endpoint(connection.remote, connection.remote_port);
    if (connection.samples.empty())
        return text + "  (no tcp_stats samples)";
    const TcpSample& last = connection.samples.back();
    return text + "  in " + std::to_string(last.bytes_in) + " B, out " +
           std::to_string(last.bytes_out) + " B, " + std::to_string(last.retransmits) +
           " retransmits, srtt " + format_duration(last.srtt);
}

void draw_plot(Canvas& canvas, const TraceModel& model, const TimeScale& scale,
               const TcpPlot& plot)
{
    const NodeIndex& node = model.nodes[plot.node_slot];
    const TcpConnection& connection = node.tcp[plot.connection];
    canvas.text(6, plot.label.y + 2, "node " + std::to_string(node.node), palette::text);
    canvas.text(6, plot.window.y + 14, "windows", palette::tcp_cwnd);
    canvas.text(6, plot.rtt.y + 2, "rtt, rto", palette::tcp_srtt);
    canvas.text(6, plot.events.y, "states", palette::text_dim);
    canvas.fill(plot.window, palette::lane_even);
    canvas.fill(plot.rtt, palette::lane_odd);
    canvas.fill(plot.events, palette::lane_even);
    u64 scale_max = connection.cwnd_max > 0 ? connection.cwnd_max : connection.window_max;
    u64 window_max = scale_max + scale_max / 4;
    u64 rtt_max = connection.rtt_max + connection.rtt_max / 8;
    canvas.clip(plot.window);
    draw_steps(canvas, connection, scale, plot.window,
               [](const TcpSample& s) -> u64 { return s.snd_wnd; }, window_max,
               palette::tcp_snd_wnd);
    draw_steps(canvas, connection, scale, plot.window,
               [](const TcpSample& s) -> u64 { return s.ssthresh < (1u << 30) ? s.ssthresh : 0; },
               window_max, palette::tcp_ssthresh);
    draw_steps(canvas, connection, scale, plot.window,
               [](const TcpSample& s) -> u64 { return s.cwnd; }, window_max, palette::tcp_cwnd);
    canvas.text(plot.window.x + 4, plot.window.y + 3, summary(connection), palette::text,
                plot.window.w - 8);
    canvas.clip(plot.rtt);
    draw_steps(canvas, connection, scale, plot.rtt,
               [](const TcpSample& s) -> u64 { return s.rto; }, rtt_max, palette::tcp_rto);
    draw_steps(canvas, connection, scale, plot.rtt,
               [](const TcpSample& s) -> u64 { return s.srtt; }, rtt_max, palette::tcp_srtt);
    canvas.clip(plot.events);
    draw_events(canvas, connection, scale, plot.events);
    canvas.unclip();
}

} // namespace

void render_tcp(Canvas& canvas, const TraceModel& model, const Layout& layout)
{
    const TcpLayout& tcp = *layout.tcp;
    canvas.fill(tcp.panel, palette::panel);
    canvas.fill({tcp.panel.x, tcp.panel.y, tcp.panel.w, 1}, palette::axis);
    canvas.text(6, tcp.panel.y + 5, "TCP", palette::text);
    std::string legend = "cwnd (blue), ssthresh (orange), peer window (green); srtt (purple), "
                         "rto (grey); state changes, retransmissions (red)";
    if (tcp.hidden > 0)
        legend += "; " + std::to_string(tcp.hidden) + " more connection(s): --view tcp";
    int legend_x = label_column_px;
    if (tcp.filtered > 0) { // the network filter's connection: the other rows are left out
        std::string shown =
            "FILTER: " + std::to_string(tcp.filtered) + " other connection(s) left out";
        int w = text_width(shown.size()) + 8;
        canvas.fill({legend_x - 2, tcp.panel.y + 3, w, glyph_h + 4}, palette::filter);
        canvas.text(legend_x + 2, tcp.panel.y + 5, shown, palette::background, tcp.plot.w);
        legend_x += w + 6;
    }
    canvas.text(legend_x, tcp.panel.y + 5, legend, palette::text_dim,
                std::max(tcp.plot.right() - legend_x, 0));
    if (tcp.plots.empty()) {
        std::string message = tcp.filtered > 0 ? "no TCP connection matches the filter"
                                               : "no TCP connections in this trace";
        canvas.fill(tcp.plot, palette::lane_even);
        canvas.text(tcp.plot.x + 8, tcp.plot.y + 8, message, palette::text_dim);
        return;
    }
    TimeScale scale = layout.scale();
    for (const TcpPlot& plot : tcp.plots)
        draw_plot(canvas, model, scale, plot);
}

} // namespace gantry::viz
