// Sharding a batch of matrices over the thread pool XLA's FFI hands a CPU custom call (TF's
// intra-op pool under tf.function(jit_compile=True)): the XLA counterpart of ForEachMatrix in
// cc/kernels/batch_util.h, running the same Work (cc/kernels/batch_work.h).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "cc/xla/ffi_buffers.h"
#include "xla/ffi/api/ffi.h"

namespace detexp {
namespace xla_ffi {

// The thresholds of TF's ParallelFor (Eigen's TensorCostModel: ~1e5 cycles to start a thread and
// ~1e5 cycles of work per thread before another one pays), so both runtimes split a batch alike.
constexpr double kStartupCycles = 1e5;
constexpr double kPerThreadCycles = 1e5;
// Blocks per thread used: some slack for threads that start late or run slower.
constexpr int64_t kBlocksPerThread = 4;

// Blocks of a range, claimed one by one from an atomic counter by the caller and the pool tasks.
// Shared-owned: a task the pool starts only after the caller returned finds no block left and
// exits without touching anything else.
struct BlockQueue {
  int64_t batch = 0, block = 1, blocks = 0;
  std::atomic<int64_t> next{0}, done{0};
  std::mutex mu;
  std::condition_variable all_done;

  // Runs blocks until none is left unclaimed; fn is called only for a claimed block.
  template <class Fn>
  void drain(const Fn& fn) {
    for (int64_t b; (b = next.fetch_add(1, std::memory_order_relaxed)) < blocks;) {
      fn(b * block, std::min(batch, (b + 1) * block));
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == blocks) {
        std::lock_guard<std::mutex> lock(mu);
        all_done.notify_all();
      }
    }
  }
};

// Runs work(begin, end) over [0, batch), sharded by work.cost() cycles per matrix. The calling
// thread works too and then waits only for blocks other threads have claimed and are running, so
// a caller that is itself a pool thread cannot deadlock on tasks queued behind it.
template <class Work>
void ForEachMatrix(::xla::ffi::ThreadPool& pool, int64_t batch, const Work& work) {
  if (batch <= 0) return;
  const double total = static_cast<double>(batch) * static_cast<double>(work.cost());
  const int64_t threads = pool.num_threads();  // 0 where the runtime gives no pool
  const int64_t wanted = static_cast<int64_t>((total - kStartupCycles) / kPerThreadCycles + 0.9);
  const int64_t used = std::min({threads, wanted, batch});
  if (used <= 1) {
    work(0, batch);
    return;
  }
  auto queue = std::make_shared<BlockQueue>();
  queue->batch = batch;
  queue->block = std::max<int64_t>(1, (batch + used * kBlocksPerThread - 1) / (used * kBlocksPerThread));
  queue->blocks = (batch + queue->block - 1) / queue->block;
  // Through a pointer: dereferenced only for a claimed block, i.e. while the caller still waits.
  const auto run = [w = &work](int64_t begin, int64_t end) { (*w)(begin, end); };
  for (int64_t t = 1; t < used; ++t) {
    pool.Schedule([queue, run] { queue->drain(run); });
  }
  queue->drain(run);
  std::unique_lock<std::mutex> lock(queue->mu);
  queue->all_done.wait(lock, [&] { return queue->done.load(std::memory_order_acquire) == queue->blocks; });
}

// The signature of a CPU handler: the pool, kArgs buffer arguments, kRets buffer results.
template <int kArgs, int kRets>
auto HostBinding() {
  return WithBuffers<kArgs, kRets>(ffi::Ffi::Bind().Ctx<ffi::ThreadPool>());
}

// The body of a CPU handler: make(T{}) is the Work for the matrices of a's dtype T (one of the four),
// run over a's batch on the pool.
template <class Make>
ffi::Error RunOnPool(ffi::ThreadPool& pool, const ffi::AnyBuffer& a, const char* target, Make&& make) {
  const int64_t batch = MatricesOf(a).batch;
  return ForDtype(a.element_type(), target, [&](auto zero) {
    ForEachMatrix(pool, batch, make(zero));
    return ffi::Error::Success();
  });
}

}  // namespace xla_ffi
}  // namespace detexp
