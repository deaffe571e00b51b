// lowbit — whole-file reads and writes for the file formats in src/io/ (internal).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <vector>

#include "lowbit/error.h"

namespace lowbit::io::detail {

/// The bytes of the file at `path`. Throws lowbit::error(io_failure) naming the path (and the system's
/// reason) when it is a directory or cannot be opened, sized or read.
std::vector<std::byte> read_file(const std::filesystem::path& path);

/// Replaces the file at `path` with `bytes`. Throws lowbit::error(io_failure) naming the path.
void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes);

/// Throws e again with the same errc and "'<path>': " before its message, for errors a parser raised
/// about the contents of the file at `path`.
[[noreturn]] void rethrow_naming(const error& e, const std::filesystem::path& path);

}  // namespace lowbit::io::detail
