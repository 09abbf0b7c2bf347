// A plain std::thread split of a batch of independent matrices, for the pybind11 module
// (which runs without TF and so without its thread pool). The GIL is released by the caller.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace detexp {

// fn(begin, end) over [0, count); one contiguous chunk per thread, at least `min_chunk` items.
template <class Fn>
void parallel_for(int64_t count, int64_t min_chunk, Fn&& fn) {
  if (count <= 0) return;
  const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t threads = std::min<int64_t>(hw, std::max<int64_t>(1, count / std::max<int64_t>(1, min_chunk)));
  if (threads <= 1) {
    fn(int64_t{0}, count);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  const int64_t chunk = (count + threads - 1) / threads;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t b = t * chunk, e = std::min(count, b + chunk);
    if (b < e) pool.emplace_back([&fn, b, e] { fn(b, e); });
  }
  fn(int64_t{0}, std::min(count, chunk));
  for (auto& th : pool) th.join();
}

// Items per thread so that each thread gets roughly `work` flops or more.
inline int64_t min_chunk_for(int n, double work = 2e5) {
  const double per = 1.0 + double(n) * n * n;
  return std::max<int64_t>(1, static_cast<int64_t>(work / per));
}

}  // namespace detexp
