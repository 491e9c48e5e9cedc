#include "thread_pool.h"

#include "subnormals.h"

#include <algorithm>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ts {
namespace {

// True on a thread that is running a pool job: a kernel called from inside another kernel's
// job (a GEMM per attention head) then runs on its own thread instead of waiting on a pool
// that is busy with its caller.
thread_local bool inJob = false;

class Pool {
 public:
  Pool() {
    // TUNESMITH_THREADS caps the pool, for machines shared with other work.
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    if (const char* env = std::getenv("TUNESMITH_THREADS")) cores = std::max(1, std::atoi(env));
    for (unsigned i = 1; i < cores; i++) workers_.emplace_back([this, i] { run(i); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  void run_all(const std::function<void(int)>& job) {
    if (workers_.empty()) return job(0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &job;
      pending_ = static_cast<int>(workers_.size());
      generation_++;
    }
    wake_.notify_all();
    inJob = true;
    job(0);
    inJob = false;
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void run(int index) {
    // Workers run nothing but kernels, so they keep the kernels' float mode for good.
    FlushSubnormals scope;
    inJob = true;
    size_t seen = 0;
    for (;;) {
      const std::function<void(int)>* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      (*job)(index);
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  size_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int pool_threads() { return pool().threads(); }

void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  Pool& p = pool();
  size_t threads = std::min<size_t>(p.threads(), std::max<size_t>(1, n / std::max<size_t>(1, grain)));
  if (threads <= 1 || inJob) return fn(0, n);
  size_t chunk = (n + threads - 1) / threads;
  p.run_all([&](int index) {
    size_t begin = static_cast<size_t>(index) * chunk;
    if (index < static_cast<int>(threads) && begin < n) fn(begin, std::min(n, begin + chunk));
  });
}

}  // namespace ts
