// The retransmission timer's estimator, RFC 6298: SRTT and RTTVAR (section 2),
// the minimum and maximum bounds (2.4, 2.5), exponential backoff (5.5) and
// Karn's rule (section 3: no samples from retransmitted segments; the caller
// enforces it by not timing them, or by using RFC 7323 timestamps).
#pragma once

#include <gantry/types.hpp>

namespace gantry::net {

struct RttConfig {
    TimeNs rto_initial_ns = 1 * ns_per_s;   // RFC 6298 2.1
    // RFC 6298 2.4 says 1 s; Linux uses 200 ms and so does Gantry by default,
    // because a 1 s floor makes every loss on a LAN a one-second stall.
    TimeNs rto_min_ns = 200 * ns_per_ms;
    TimeNs rto_max_ns = 60 * ns_per_s;      // RFC 6298 2.5: at least 60 s
    TimeNs granularity_ns = 1 * ns_per_ms;  // G: the timestamp clock's tick
};

class RttEstimator {
public:
    static constexpr u32 backoff_max = 16; // 2^16 * rto_min is far beyond rto_max

    explicit RttEstimator(const RttConfig& config = {})
        : m_config(config), m_rto(config.rto_initial_ns)
    {
    }

    // One measurement R (RFC 6298 2.2, 2.3). Resets the backoff (5.7 lets the
    // next sample recompute the RTO).
    void sample(TimeNs rtt_ns);
    // The timer expired: RTO = RTO * 2, bounded by rto_max (5.5).
    void back_off();
    // The persist timer's backoff ends when the window opens.
    void reset_backoff() { m_backoff = 0; }

    TimeNs rto() const;
    TimeNs srtt() const { return m_srtt; }
    TimeNs rttvar() const { return m_rttvar; }
    bool has_sample() const { return m_has_sample; }
    u32 backoff() const { return m_backoff; }

private:
    RttConfig m_config;
    TimeNs m_srtt = 0;
    TimeNs m_rttvar = 0;
    TimeNs m_rto;    // before backoff
    u32 m_backoff = 0;
    bool m_has_sample = false;
};

} // namespace gantry::net
