// RFC 6298: computing TCP's retransmission timer.
#include <gantry/assert.hpp>
#include <gantry/net/tcp/rtt.hpp>

namespace gantry::net {

void RttEstimator::sample(TimeNs rtt)
{
    if (!m_has_sample) {
        // RFC 6298 2.2: SRTT <- R, RTTVAR <- R/2.
        m_srtt = rtt;
        m_rttvar = rtt / 2;
        m_has_sample = true;
    } else {
        // RFC 6298 2.3, with alpha = 1/8 and beta = 1/4.
        TimeNs delta = m_srtt > rtt ? m_srtt - rtt : rtt - m_srtt;
        m_rttvar = (3 * m_rttvar + delta) / 4;
        m_srtt = (7 * m_srtt + rtt) / 8;
    }
    TimeNs variance = 4 * m_rttvar;
    m_rto = m_srtt + (variance > m_config.granularity_ns ? variance : m_config.granularity_ns);
    m_backoff = 0;
}

void RttEstimator::back_off()
{
    if (m_backoff < backoff_max)
        m_backoff++;
}

TimeNs RttEstimator::rto() const
{
    TimeNs rto = m_rto < m_config.rto_min_ns ? m_config.rto_min_ns : m_rto;
    for (u32 i = 0; i < m_backoff && rto < m_config.rto_max_ns; i++)
        rto *= 2;
    GANTRY_ASSERT(rto > 0);
    return rto > m_config.rto_max_ns ? m_config.rto_max_ns : rto;
}

} // namespace gantry::net
