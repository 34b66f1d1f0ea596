#include <gantry/virtio/model.hpp>

namespace gantry::virtio {

InProcessDevices::~InProcessDevices()
{
    // Drivers before the models they talk to.
    m_nets.clear();
    m_net_models.clear();
    m_disks.clear();
    m_disk_models.clear();
}

std::string InProcessDevices::wrap(Nic*& device)
{
    auto model = std::make_unique<NetModel>(*device);
    auto driver = std::make_unique<VirtioNet>(*model);
    if (auto started = driver->start(m_arena); !started.ok())
        return "virtio-net: " + std::string(to_string(started.error()));
    device = driver.get();
    m_net_models.push_back(std::move(model));
    m_nets.push_back(std::move(driver));
    return {};
}

std::string InProcessDevices::wrap(BlockDevice*& device)
{
    auto model = std::make_unique<BlockModel>(*device);
    auto driver = std::make_unique<VirtioBlk>(*model);
    if (auto started = driver->start(m_arena); !started.ok())
        return "virtio-blk: " + std::string(to_string(started.error()));
    device = driver.get();
    m_disk_models.push_back(std::move(model));
    m_disks.push_back(std::move(driver));
    return {};
}

} // namespace gantry::virtio
