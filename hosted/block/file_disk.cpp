#include "file_disk.hpp"

#include <gantry/hosted/os.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

namespace gantry::hosted {

FileDisk::~FileDisk()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

std::string FileDisk::open(const FileDiskConfig& config)
{
    m_path = config.path;
    m_fd = ::open(config.path.c_str(), (config.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (m_fd < 0) {
        std::string what = "--disk: cannot open '" + config.path + "'";
        if (errno == EACCES || errno == EROFS)
            what += " for writing (add ,ro to attach it read-only)";
        return errno_text(what.c_str());
    }
    struct stat status {};
    if (fstat(m_fd, &status) != 0)
        return errno_text(("--disk: cannot stat '" + config.path + "'").c_str());
    u64 bytes = 0;
    if (S_ISBLK(status.st_mode)) {
        if (ioctl(m_fd, BLKGETSIZE64, &bytes) != 0)
            return errno_text(("--disk: cannot get the size of '" + config.path + "'").c_str());
    } else if (S_ISREG(status.st_mode)) {
        bytes = static_cast<u64>(status.st_size);
    } else {
        return "--disk: '" + config.path + "' is neither a regular file nor a block device";
    }
    if (bytes == 0 || bytes % sector_bytes != 0)
        return "--disk: '" + config.path + "' is " + std::to_string(bytes) +
               " bytes, not a positive multiple of 512 (grow it with truncate -s 64M " +
               config.path + ")";
    m_info = BlockInfo{sector_bytes, bytes / sector_bytes, config.read_only};
    return {};
}

BlockStatus FileDisk::execute(BlockRequest& request)
{
    if (request.op == BlockOp::flush) {
        if (m_info.read_only)
            return BlockStatus::read_only;
        ++m_fdatasyncs;
        return fdatasync(m_fd) == 0 ? BlockStatus::ok : BlockStatus::io_error;
    }
    if (request.sector > m_info.sector_count ||
        request.sectors > m_info.sector_count - request.sector)
        return BlockStatus::out_of_range;
    if (request.op == BlockOp::write && m_info.read_only)
        return BlockStatus::read_only;
    usize bytes = static_cast<usize>(request.sectors) * sector_bytes;
    off_t offset = static_cast<off_t>(request.sector * sector_bytes);
    usize done = 0;
    while (done < bytes) {
        ssize_t moved = request.op == BlockOp::read
                            ? pread(m_fd, request.buffer + done, bytes - done,
                                    offset + static_cast<off_t>(done))
                            : pwrite(m_fd, request.buffer + done, bytes - done,
                                     offset + static_cast<off_t>(done));
        if (moved < 0 && errno == EINTR)
            continue;
        // 0 on a read: the file shrank under us, which the device reports as an error.
        if (moved <= 0)
            return BlockStatus::io_error;
        done += static_cast<usize>(moved);
    }
    return BlockStatus::ok;
}

bool FileDisk::submit(BlockRequest& request)
{
    request.status = execute(request);
    request.next = nullptr;
    if (m_done_tail)
        m_done_tail->next = &request;
    else
        m_done_head = &request;
    m_done_tail = &request;
    return true;
}

BlockRequest* FileDisk::reap()
{
    BlockRequest* request = m_done_head;
    if (!request)
        return nullptr;
    m_done_head = request->next;
    if (!m_done_head)
        m_done_tail = nullptr;
    request->next = nullptr;
    return request;
}

bool parse_disk_option(std::string_view value, FileDiskConfig& out, std::string& error)
{
    std::string_view path = value;
    out.read_only = false;
    if (auto comma = value.rfind(','); comma != std::string_view::npos) {
        std::string_view flag = value.substr(comma + 1);
        if (flag == "ro" || flag == "readonly") {
            out.read_only = true;
            path = value.substr(0, comma);
        } else if (flag == "rw") {
            path = value.substr(0, comma);
        }
    }
    if (path.empty()) {
        error = "--disk: no file given (expected --disk FILE or --disk FILE,ro)";
        return false;
    }
    out.path = path;
    return true;
}

} // namespace gantry::hosted
