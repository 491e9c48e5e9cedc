#include "thread_pool.h"

#include "subnormals.h"

#include <algorithm>
#include <atomic>
#include <chrono>
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

// How long a worker that finished a job, and a caller waiting for its workers, poll before
// sleeping on the condition variable. Waking a sleeping thread (a futex call and a trip
// through the scheduler) can take as long as a 128×128×64 attention product on one core
// (~23 µs); kernels come back to back in a training step, so a short poll lets small products
// use both cores, and costs at most this long a polling core after the last kernel of a burst.
constexpr std::chrono::microseconds kSpin{50};

// Polls `ready` until it holds or kSpin has passed; true when it holds. Each poll yields the
// core, so on a machine busy with other work the poll hands the core to whoever waits for it
// rather than burning it (measured under load: a pure spin made two-thread products slower).
template <typename Ready>
bool spin_until(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= until) return ready();
    std::this_thread::yield();
  }
}

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
      pending_.store(static_cast<int>(workers_.size()));
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    inJob = true;
    job(0);
    inJob = false;
    if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock, [this] { return pending_.load() == 0; });
    }
  }

 private:
  void run(int index) {
    // Workers run nothing but kernels, so they keep the kernels' float mode for good.
    FlushSubnormals scope;
    inJob = true;
    size_t seen = 0;
    for (;;) {
      // job_ is written before generation_ is raised (release), so it is read after (acquire).
      const auto fresh = [&] { return generation_.load(std::memory_order_acquire) != seen; };
      if (!spin_until(fresh)) {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || fresh(); });
        if (stop_) return;
      }
      seen = generation_.load(std::memory_order_acquire);
      (*job_)(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // Under the lock, so a caller that has just checked pending_ and is about to sleep
        // cannot miss the notification.
        std::lock_guard<std::mutex> lock(mu_);
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<size_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int pool_threads() { return inJob ? 1 : pool().threads(); }
bool in_pool_job() { return inJob; }

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
