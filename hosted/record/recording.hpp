// The recording of a hosted run (`--record FILE`, docs/replay.md, "Record and
// re-run"): every input the kernel took from the platform, in order, so that
// `gantry replay-run FILE` can hand the same kernel the same inputs again.
//
// Format, version 2 (all integers unsigned LEB128 varints unless noted):
//   magic "GREC", version (u16 little endian), then the header:
//     app, platform name, each a varint length + bytes; argument count, each
//     argument as length + bytes; memory bytes; log level; flags (bit 0: trace,
//     bit 1: DHCP); IPv4 address, prefix, gateway, DNS (each u32 as varint);
//     NIC count; per NIC its MAC (6 raw bytes) and MTU; disk count; per disk
//     its sector size, sector count and read-only flag.
//   then records, each a tag byte and its fields:
//     1 clock      now() returned previous + delta (delta varint; first from 0)
//     2 entropy    length, bytes
//     3 frame in   NIC index, length, bytes       (receive() returned a frame)
//     4 no frame   NIC index                      (receive() returned 0)
//     5 frame out  NIC index, length, FNV-1a 64 of the bytes (8 raw bytes)
//     6 signals    poll iteration, count          (Ctrl-C seen after that poll)
//     7 end        exit code (zigzag varint)
//     8 disk submit  disk index, accepted (0/1)    (submit() refused or took it)
//     9 disk idle    disk index                    (reap() returned nothing)
//    10 disk done    disk index, request number (in submission order, from 0),
//                    status, length, bytes         (reap() returned a request;
//                    the bytes a successful read filled in, else length 0)
// Frames sent are stored as a hash only (the re-run checks them, it does not
// need them), which keeps recordings of busy servers small.
#pragma once

#include <gantry/types.hpp>

#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace gantry::recording {

inline constexpr u16 format_version = 2;
// Bounds a reader enforces on untrusted files.
inline constexpr usize text_bytes_max = 4096;
inline constexpr usize args_max = 256;
inline constexpr usize nics_max = 16;
inline constexpr usize disks_max = 16;
inline constexpr usize record_bytes_max = 1024 * 1024; // a disk read of up to 1 MiB

struct NicInfo {
    std::array<u8, 6> mac{};
    u32 mtu = 1500;
};

struct DiskInfo {
    u32 sector_bytes = 512;
    u64 sector_count = 0;
    bool read_only = false;
};

struct Header {
    std::string app;
    std::string platform_name;
    std::vector<std::string> args;
    u64 memory_bytes = 0;
    u8 log_level = 0;
    bool trace = false;
    bool dhcp = false;
    u32 ip = 0;
    u8 prefix = 24;
    u32 gateway = 0;
    u32 dns = 0;
    std::vector<NicInfo> nics;
    std::vector<DiskInfo> disks;
};

enum class Tag : u8 {
    clock = 1,
    entropy = 2,
    frame_in = 3,
    no_frame = 4,
    frame_out = 5,
    signals = 6,
    end = 7,
    disk_submit = 8,
    disk_idle = 9,
    disk_done = 10,
};
const char* tag_name(Tag tag);

struct Record {
    Tag tag = Tag::end;
    u64 value = 0;          // clock: the time; signals: the iteration; disk done: request number
    u32 nic = 0;            // the NIC, or the disk for disk records
    u8 status = 0;          // disk submit: accepted; disk done: BlockStatus
    i64 number = 0;         // signals: count; end: exit code
    u64 hash = 0;           // frame out
    u64 length = 0;         // frame out: the frame's length
    std::vector<u8> bytes;  // entropy, frame in
};

u64 fnv1a64(Bytes bytes);

// Writes a recording through a FILE (buffered); errors are remembered and
// reported by finish().
class Writer {
public:
    Writer() = default;
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer();

    // false (with `error`) when the file cannot be created.
    bool open(const std::string& path, const Header& header, std::string& error);
    void clock(TimeNs now);
    void entropy(Bytes bytes);
    void frame_in(u32 nic, Bytes frame);
    void no_frame(u32 nic);
    void frame_out(u32 nic, Bytes frame);
    void signals(u64 iteration, int count);
    void disk_submit(u32 disk, bool accepted);
    void disk_idle(u32 disk);
    void disk_done(u32 disk, u64 request, u8 status, Bytes data);
    // Writes the end record and closes; false if any write failed.
    bool finish(int exit_code);
    u64 bytes_written() const { return m_bytes; }

private:
    void put(u8 byte);
    void put_varint(u64 value);
    void put_bytes(Bytes bytes);
    void put_text(const std::string& text);

    std::FILE* m_file = nullptr;
    bool m_failed = false;
    TimeNs m_last_clock = 0;
    u64 m_bytes = 0;
};

// Reads a recording from memory. Every malformed input is an error string
// naming the byte offset, never a crash (tests/fuzz/recording_reader.cpp).
class Reader {
public:
    explicit Reader(std::vector<u8> bytes) : m_bytes(std::move(bytes)) {}

    bool read_header(Header& header, std::string& error);
    // false at the end of the data (error empty) or on a malformed record (error set).
    bool next(Record& record, std::string& error);
    usize offset() const { return m_at; }
    u64 records_read() const { return m_records; }

private:
    bool get(u8& byte);
    bool get_varint(u64& value);
    bool get_text(std::string& text, usize max);
    bool fail(std::string& error, const std::string& what);

    std::vector<u8> m_bytes;
    usize m_at = 0;
    TimeNs m_last_clock = 0;
    u64 m_records = 0;
};

} // namespace gantry::recording
