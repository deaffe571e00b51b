// lowbit — whole-file reads and writes (internal).
// SPDX-License-Identifier: Apache-2.0
#include "src/io/file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace lowbit::io::detail {
namespace {

std::string quoted(const std::filesystem::path& path) {
  std::string s(1, '\'');  // appends, not "'" + ...: GCC 12 warns (-Wrestrict, a false positive) on that form here
  s += path.string();
  s += '\'';
  return s;
}
std::string reason(int err) { return err != 0 ? std::string(": ") + std::strerror(err) : std::string(); }

}  // namespace

std::vector<std::byte> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw error(errc::io_failure, "cannot read " + quoted(path) + ": it is a directory");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error(errc::io_failure, "cannot open " + quoted(path) + reason(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  in.seekg(0, std::ios::beg);
  if (end < 0 || !in) throw error(errc::io_failure, "cannot determine the size of " + quoted(path) + reason(errno));
  std::vector<std::byte> bytes(static_cast<std::size_t>(end));
  if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), end)) {
    throw error(errc::io_failure, "cannot read " + std::to_string(end) + " bytes from " + quoted(path) + reason(errno));
  }
  return bytes;
}

namespace {
// Writes bytes to `file` (named `path` in errors), truncating it or, with `append`, after its end;
// false, with errno kept, when a write fails.
bool write_bytes(const std::filesystem::path& file, const std::filesystem::path& path, std::span<const std::byte> bytes,
                 bool append, int& write_errno) {
  errno = 0;
  std::ofstream out(file, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  if (!out) throw error(errc::io_failure, "cannot open " + quoted(path) + " for writing" + reason(errno));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  write_errno = errno;
  return static_cast<bool>(out);
}

// Whether `path` names something to write into rather than replace: anything that is not a regular
// file (a FIFO, a device, a socket; a directory then fails to open), and a caller's file descriptor
// reached through /proc (/dev/stdout, /dev/fd/N, /proc/self/fd/N: a pipe, or a file the shell opened,
// perhaps for appending, which a rename would replace).
bool written_in_place(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);  // follows links
  if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st)) return true;
  const auto under_proc = [](const std::filesystem::path& p) {
    auto it = p.begin();
    return p.is_absolute() && it != p.end() && ++it != p.end() && *it == "proc";
  };
  const std::filesystem::path parent = std::filesystem::canonical(std::filesystem::absolute(path, ec).parent_path(), ec);
  if (!ec && under_proc(parent)) return true;  // /dev/fd/N, /proc/self/fd/N
  if (std::filesystem::is_symlink(std::filesystem::symlink_status(path, ec))) {
    const std::filesystem::path link = std::filesystem::read_symlink(path, ec);
    if (!ec && under_proc(link)) return true;  // /dev/stdout -> /proc/self/fd/1
  }
  return false;
}
}  // namespace

// Writes a temporary file beside the target and renames it over the target only once every byte is
// written: a failed write (a full disk) leaves the old file, or none, never a truncated one, and an
// output path equal to the input path is safe. A symbolic link is written through, not replaced.
// What written_in_place names is opened for appending and written directly instead.
void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  int write_errno = 0;
  if (written_in_place(path)) {
    if (!write_bytes(path, path, bytes, true, write_errno)) {
      throw error(errc::io_failure, "cannot write " + quoted(path) + reason(write_errno));
    }
    return;
  }
  std::error_code ec;
  std::filesystem::path target = path;
  if (std::filesystem::is_symlink(std::filesystem::symlink_status(path, ec))) {
    target = std::filesystem::canonical(path, ec);
    if (ec) throw error(errc::io_failure, "cannot resolve " + quoted(path) + ": " + ec.message());
  }
  const std::string suffix = ".lowbit-tmp-" + std::to_string(::getpid());
  const std::filesystem::path temp = target.string() + suffix;
  if (!write_bytes(temp, path, bytes, false, write_errno)) {
    std::filesystem::remove(temp, ec);
    throw error(errc::io_failure, "cannot write " + quoted(path) + reason(write_errno));
  }
  std::filesystem::rename(temp, target, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw error(errc::io_failure, "cannot write " + quoted(path) + ": " + ec.message());
  }
}

void rethrow_naming(const error& e, const std::filesystem::path& path) {
  throw error(e.code(), quoted(path) + ": " + e.message());
}

}  // namespace lowbit::io::detail
