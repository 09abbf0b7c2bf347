// A team of OS threads with the interface of team.h and the GPU teams' work split and barriers
// (cuda/expm_teams.h), for the test hooks that run the GPU's per-matrix code on the CPU; and
// run_team, which runs one function on such a team (or on SerialTeam for one thread).
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "cc/core/team.h"

namespace detexp {

// A reusable barrier for the CPU emulation of a GPU team (C++17 has no std::barrier).
class CpuBarrier {
 public:
  explicit CpuBarrier(int count) : count_(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    const long gen = gen_;
    if (++waiting_ == count_) {
      waiting_ = 0;
      ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return gen_ != gen; });
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int count_, waiting_ = 0;
  long gen_ = 0;
};

// `size` OS threads as one team: the same interface and the same work split as the GPU's warp and
// block teams (cuda/expm_teams.h), so CI exercises the team decomposition — every member's share
// of each loop, every barrier — on the CPU. max() goes through a shared array between two
// barriers, like BlockTeam's.
struct ThreadTeam {
  int r, s;
  CpuBarrier* barrier;
  double* red;
  int rank() const { return r; }
  int size() const { return s; }
  void sync() const { barrier->wait(); }
  template <class V>
  V max(V v) const {
    red[r] = static_cast<double>(v);
    barrier->wait();
    double x = red[0];
    for (int i = 1; i < s; ++i) x = nan_max(x, red[i]);
    barrier->wait();
    return static_cast<V>(x);
  }
};

// fn(team) on `threads` OS threads forming one ThreadTeam, or on SerialTeam for threads == 1.
template <class Fn>
void run_team(int threads, Fn&& fn) {
  if (threads == 1) {
    fn(SerialTeam());
    return;
  }
  CpuBarrier barrier(threads);
  std::vector<double> red(threads);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back([&, t] { fn(ThreadTeam{t, threads, &barrier, red.data()}); });
  fn(ThreadTeam{0, threads, &barrier, red.data()});
  for (auto& th : pool) th.join();
}

}  // namespace detexp
