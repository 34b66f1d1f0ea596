#include "fault_nic.hpp"

#include <charconv>
#include <cstring>

namespace gantry::hosted {

namespace {

// "5%", "0.1%" -> parts per million.
bool parse_percent(std::string_view text, u32& out)
{
    if (!text.ends_with('%'))
        return false;
    text.remove_suffix(1);
    double value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0 || value > 100)
        return false;
    out = static_cast<u32>(value * 10'000 + 0.5);
    return true;
}

// "10ms", "250us", "1s" -> ns.
bool parse_duration(std::string_view text, TimeNs& out)
{
    u64 value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data())
        return false;
    std::string_view unit(end, static_cast<usize>(text.data() + text.size() - end));
    TimeNs scale = unit == "ms" ? ns_per_ms : unit == "us" ? ns_per_us : unit == "s" ? ns_per_s
                                                                                      : 0;
    if (scale == 0 || value > 60'000'000'000ULL / scale)
        return false;
    out = value * scale;
    return true;
}

} // namespace

std::string parse_net_faults(std::string_view text, NetFaults& out)
{
    while (!text.empty()) {
        std::string_view item = text.substr(0, text.find(','));
        text = item.size() < text.size() ? text.substr(item.size() + 1) : "";
        auto equals = item.find('=');
        std::string_view key = item.substr(0, equals);
        std::string_view value = equals == std::string_view::npos ? "" : item.substr(equals + 1);
        bool ok = false;
        if (key == "loss")
            ok = parse_percent(value, out.loss_ppm);
        else if (key == "dup")
            ok = parse_percent(value, out.dup_ppm);
        else if (key == "reorder")
            ok = parse_percent(value, out.reorder_ppm);
        else if (key == "corrupt")
            ok = parse_percent(value, out.corrupt_ppm);
        else if (key == "delay")
            ok = parse_duration(value, out.delay_ns);
        else if (key == "jitter")
            ok = parse_duration(value, out.jitter_ns);
        else if (key == "seed")
            ok = std::from_chars(value.data(), value.data() + value.size(), out.seed).ec ==
                 std::errc() && !value.empty();
        if (!ok)
            return "--net-faults: '" + std::string(item) +
                   "' is not one of loss=P%, delay=Nms, jitter=Nms, dup=P%, reorder=P%, "
                   "corrupt=P%, seed=N";
    }
    return {};
}

FaultNic::FaultNic(Nic& inner, const NetFaults& faults, Clock clock, void* clock_context)
    : m_inner(inner), m_faults(faults), m_clock(clock), m_clock_context(clock_context),
      m_state(faults.seed)
{
}

// splitmix64: small, fast, and the same sequence for the same seed everywhere.
u64 FaultNic::next_random()
{
    u64 z = (m_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

bool FaultNic::chance(u32 ppm)
{
    return ppm > 0 && next_random() % 1'000'000 < ppm;
}

void FaultNic::insert(Queue& queue, Held held)
{
    // Ordered by (due, arrival): equal due times keep their order.
    auto at = queue.end();
    while (at != queue.begin() && std::prev(at)->due > held.due)
        --at;
    queue.insert(at, std::move(held));
}

void FaultNic::admit(Queue& queue, Bytes frame, TimeNs now)
{
    if (chance(m_faults.loss_ppm)) {
        m_stats.lost++;
        return;
    }
    int copies = chance(m_faults.dup_ppm) ? 2 : 1;
    m_stats.duplicated += copies - 1;
    for (int copy = 0; copy < copies; ++copy) {
        if (queue.size() >= queue_max) {
            m_stats.overflow++;
            return;
        }
        Held held{now + m_faults.delay_ns, m_sequence++, {frame.begin(), frame.end()}};
        if (m_faults.jitter_ns > 0)
            held.due += next_random() % (m_faults.jitter_ns + 1);
        if (chance(m_faults.reorder_ppm)) {
            // Held back long enough for the next frames to overtake it.
            held.due += m_faults.delay_ns + m_faults.jitter_ns + ns_per_ms;
            m_stats.reordered++;
        }
        if (chance(m_faults.corrupt_ppm) && !held.frame.empty()) {
            u64 bit = next_random() % (held.frame.size() * 8);
            held.frame[bit / 8] = static_cast<u8>(held.frame[bit / 8] ^ (1u << (bit % 8)));
            m_stats.corrupted++;
        }
        insert(queue, std::move(held));
    }
}

usize FaultNic::receive(MutableBytes out)
{
    TimeNs now = m_clock(m_clock_context);
    u8 frame[Nic::frame_bytes_max + 64];
    for (usize pulled = 0; pulled < pull_max; ++pulled) {
        usize length = m_inner.receive(MutableBytes(frame, sizeof(frame)));
        if (length == 0)
            break;
        admit(m_rx, Bytes(frame, length), now);
    }
    while (!m_rx.empty() && m_rx.front().due <= now) {
        Held held = std::move(m_rx.front());
        m_rx.pop_front();
        if (held.frame.size() > out.size())
            continue;
        std::memcpy(out.data(), held.frame.data(), held.frame.size());
        return held.frame.size();
    }
    return 0;
}

bool FaultNic::transmit(Bytes frame)
{
    TimeNs now = m_clock(m_clock_context);
    admit(m_tx, frame, now);
    flush(now);
    return true; // a lost frame is lost on the wire, not refused by the device
}

void FaultNic::flush(TimeNs now)
{
    while (!m_tx.empty() && m_tx.front().due <= now) {
        (void)m_inner.transmit(Bytes(m_tx.front().frame));
        m_tx.pop_front();
    }
}

TimeNs FaultNic::next_due() const
{
    TimeNs next = deadline_none;
    if (!m_rx.empty())
        next = m_rx.front().due;
    if (!m_tx.empty() && m_tx.front().due < next)
        next = m_tx.front().due;
    return next;
}

} // namespace gantry::hosted
