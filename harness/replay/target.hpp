// Where `gantry replay` runs the app under test: the far end of a
// point-to-point cable. The engine (replay.cpp) plans the feed, rewrites TCP,
// answers ARP and judges the answers the same way for every target; a Target
// only boots the app, carries frames both ways and keeps the time:
//   sim     a node in the deterministic simulator, virtual time (sim_target.cpp)
//   hosted  build/bin/APP as a Linux process on --net socket (live_target.cpp)
//   vm      build/images/APP.elf under QEMU on -netdev socket (live_target.cpp)
// The live targets run in real time on the wall clock.
#pragma once

#include "replay.hpp"

#include <functional>
#include <memory>

namespace gantry::harness::replay {

// What the app is told at boot: the recorded server's address.
struct TargetSetup {
    net::Ipv4Address ip;
    u8 prefix = 24;
    net::Ipv4Address gateway; // zero: none
};

class Target {
public:
    using FrameSink = std::function<void(Bytes frame)>;
    using Predicate = std::function<bool()>;

    virtual ~Target() = default;

    // Boots the app; returns once it serves (a live target waits for the app's
    // ready line) or once it failed (see stopped()).
    virtual void start(const TargetSetup& setup) = 0;
    virtual net::MacAddress node_mac() const = 0;
    // Time since the target was made: virtual or wall-clock.
    virtual TimeNs now() const = 0;
    // One frame onto the cable, to the app.
    virtual void transmit(Bytes frame) = 0;
    // Runs until `deadline` (or earlier once `done` holds, checked before every
    // step and after every frame), handing each frame the app sends to `sink`.
    virtual void run_until(TimeNs deadline, const Predicate& done, const FrameSink& sink) = 0;
    // True once the app cannot answer any more (a live app ended or the run's
    // time ran out): the engine stops feeding.
    virtual bool stopped() const = 0;
    // Whether time is real: the engine then ends the settling period as soon
    // as every recorded answer has come (plus a short quiet period).
    virtual bool real_time() const = 0;
    // Stops the app; fills in failures, the end time and the target's name.
    virtual void finish(ReplayResult& result) = 0;
};

std::unique_ptr<Target> make_sim_target(const ReplayOptions& options);
// Throws CommandError when the binary, the image or QEMU is missing.
std::unique_ptr<Target> make_live_target(const ReplayOptions& options);

} // namespace gantry::harness::replay
