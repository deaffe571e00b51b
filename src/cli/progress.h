// lowbit CLI — a progress bar on stderr, shown only when stderr is a terminal.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <string>

namespace lowbit::cli {

/// Draws "label [#####.....]  45%" on one terminal line while work advances from 0 to `total`.
/// Silent when stderr is not a terminal (piped or redirected output stays clean) or when the work
/// is too small to be worth a bar.
class progress {
 public:
  progress(std::string label, std::size_t total, std::size_t min_total = std::size_t{1} << 24)
      : label_(std::move(label)), total_(total), on_(total >= min_total && isatty(STDERR_FILENO) == 1) {
    draw(0);
  }
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;
  ~progress() {
    if (on_) std::fputc('\n', stderr);
  }
  /// Reports that `done` of `total` units are finished.
  void update(std::size_t done) { draw(done); }

 private:
  void draw(std::size_t done) {
    if (!on_ || total_ == 0) return;
    const int percent = static_cast<int>(done * 100 / total_);
    if (percent == last_) return;
    last_ = percent;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    std::fprintf(stderr, "\r%s [%s%s] %3d%%", label_.c_str(), std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(), percent);
    std::fflush(stderr);
  }

  std::string label_;
  std::size_t total_;
  bool on_;
  int last_ = -1;
};

}  // namespace lowbit::cli
