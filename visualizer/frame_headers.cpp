// Which headers a link frame carried. The fabric's link_frame record says who
// sent a frame, when, how long it was and what became of it, but not what was
// in it; the sender's net_tx record, written when its NIC handed the frame to
// the link (at `sent`, with the same length), does. Matching the two lets the
// network view filter arrows by protocol and connection without the fabric
// parsing frames or the trace growing.
#include <gantry/viz/model.hpp>

#include <algorithm>

namespace gantry::viz {

namespace {

// How far back a frame looks for earlier frames handed over together with it
// (its "twins", for matching by order): a bound, so a pathological trace
// cannot make matching quadratic.
constexpr usize twin_scan_max = 4096;
constexpr u32 no_node = 0xffffffff;

bool same_headers(const NetEvent& a, const NetEvent& b)
{
    return a.ethertype == b.ethertype && a.protocol == b.protocol && a.source == b.source &&
           a.destination == b.destination && a.source_port == b.source_port &&
           a.destination_port == b.destination_port;
}

bool delivered(const LinkFrame& frame)
{
    return frame.fate <= 2; // delivered, corrupted, duplicate: the receiver got it
}

// The sender's net_tx records at `sent` with the frame's length, in send order.
void sent_records(const NodeIndex& sender, const LinkFrame& frame, std::vector<u32>& out)
{
    out.clear();
    for (usize i = first_at_or_after(sender.net_tx, frame.sent);
         i < sender.net_tx.size() && sender.net_tx[i].time == frame.sent; ++i)
        if (sender.net_tx[i].length == frame.length)
            out.push_back(static_cast<u32>(i));
}

// Keeps the candidates whose headers the receiver's net_rx records at the
// arrival confirm; keeps them all when none is confirmed (a corrupted frame's
// headers may have been damaged on the way).
void confirm_by_receiver(const TraceModel& model, const LinkFrame& frame,
                         const NodeIndex& sender, std::vector<u32>& candidates)
{
    const NodeIndex* receiver = frame.to == no_node ? nullptr : model.node(frame.to);
    if (receiver == nullptr || !delivered(frame))
        return;
    auto received = [&](const NetEvent& sent) {
        for (usize i = first_at_or_after(receiver->net_rx, frame.time);
             i < receiver->net_rx.size() && receiver->net_rx[i].time == frame.time; ++i)
            if (receiver->net_rx[i].length == frame.length &&
                same_headers(receiver->net_rx[i], sent))
                return true;
        return false;
    };
    usize kept = 0;
    for (u32 candidate : candidates)
        if (received(sender.net_tx[candidate]))
            candidates[kept++] = candidate;
    if (kept > 0)
        candidates.resize(kept);
}

bool all_same(const NodeIndex& sender, const std::vector<u32>& candidates)
{
    for (u32 candidate : candidates)
        if (!same_headers(sender.net_tx[candidate], sender.net_tx[candidates[0]]))
            return false;
    return true;
}

// Frames before `index` from the same sender, sent at the same time with the
// same length to the same receiver: the position of this one among them.
usize twins_before(const TraceModel& model, usize index)
{
    const LinkFrame& frame = model.link_frames[index];
    usize twins = 0;
    for (usize j = index, looked = 0; j-- > 0 && looked < twin_scan_max; ++looked) {
        const LinkFrame& other = model.link_frames[j];
        if (other.time < frame.sent)
            break; // sorted by time, and a twin arrives no earlier than it was sent
        twins += other.from == frame.from && other.sent == frame.sent &&
                 other.length == frame.length && other.to == frame.to;
    }
    return twins;
}

void match_one(TraceModel& model, usize index, std::vector<u32>& candidates)
{
    LinkFrame& frame = model.link_frames[index];
    frame.header = LinkFrame::no_header;
    frame.match = HeaderMatch::none;
    frame.protocol = NetProtocol::unknown;
    const NodeIndex* sender = model.node(frame.from);
    if (sender == nullptr)
        return;
    sent_records(*sender, frame, candidates);
    if (candidates.empty())
        return;
    if (all_same(*sender, candidates)) {
        frame.match = HeaderMatch::exact;
    } else {
        confirm_by_receiver(model, frame, *sender, candidates);
        frame.match = all_same(*sender, candidates) ? HeaderMatch::by_receiver
                                                    : HeaderMatch::by_order;
    }
    // Frames handed over together leave in order and, on one path, keep it.
    usize position = frame.match == HeaderMatch::by_order ? twins_before(model, index) : 0;
    frame.header = candidates[std::min(position, candidates.size() - 1)];
    frame.protocol = net_protocol(sender->net_tx[frame.header]);
}

// A frame's match may change while its sender (or receiver) can still write
// records at the frame's time: only when following a trace being written.
bool provisional(const TraceModel& model, const LinkFrame& frame)
{
    const NodeIndex* sender = model.node(frame.from);
    if (sender != nullptr && sender->last_time <= frame.sent)
        return true;
    const NodeIndex* receiver = frame.to == no_node ? nullptr : model.node(frame.to);
    return receiver != nullptr && delivered(frame) && receiver->last_time <= frame.time;
}

} // namespace

usize match_frame_headers(TraceModel& model, usize first)
{
    std::vector<u32> candidates;
    usize pending = model.link_frames.size();
    for (usize i = first; i < model.link_frames.size(); ++i) {
        match_one(model, i, candidates);
        if (pending == model.link_frames.size() && provisional(model, model.link_frames[i]))
            pending = i;
    }
    return pending;
}

NetProtocol net_protocol(u16 ethertype, u8 ip_protocol)
{
    if (ethertype == 0x0806)
        return NetProtocol::arp;
    if (ethertype != 0x0800)
        return NetProtocol::other;
    switch (ip_protocol) {
    case 1:
        return NetProtocol::icmp;
    case 6:
        return NetProtocol::tcp;
    case 17:
        return NetProtocol::udp;
    default:
        return NetProtocol::other;
    }
}

} // namespace gantry::viz
