// A block device backed by a file (or a host block device): --disk FILE[,ro].
// Requests complete inside submit() with pread/pwrite; a flush is fdatasync, so
// what the kernel's flush promises holds on the host's disk too.
#pragma once

#include <gantry/block.hpp>

#include <string>

namespace gantry::hosted {

struct FileDiskConfig {
    std::string path;
    bool read_only = false;
};

class FileDisk final : public BlockDevice {
public:
    static constexpr u32 sector_bytes = 512;

    FileDisk() = default;
    FileDisk(const FileDisk&) = delete;
    FileDisk& operator=(const FileDisk&) = delete;
    ~FileDisk() override;

    // Returns an empty string on success, else what is wrong and what to do.
    std::string open(const FileDiskConfig& config);

    BlockInfo info() const override { return m_info; }
    bool submit(BlockRequest& request) override;
    BlockRequest* reap() override;

    u64 fdatasyncs() const { return m_fdatasyncs; }

private:
    BlockStatus execute(BlockRequest& request);

    int m_fd = -1;
    std::string m_path;
    BlockInfo m_info;
    BlockRequest* m_done_head = nullptr;
    BlockRequest* m_done_tail = nullptr;
    u64 m_fdatasyncs = 0;
};

// "FILE" or "FILE,ro" (also ",readonly"); false with a message on anything else.
bool parse_disk_option(std::string_view value, FileDiskConfig& out, std::string& error);

} // namespace gantry::hosted
