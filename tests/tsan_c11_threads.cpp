// ThreadSanitizer and Debian's librdkafka. librdkafka uses C11 threads (thrd_create, mtx_lock,
// cnd_wait). glibc 2.36 implements them with its internal pthread functions, which TSan's
// interceptors never see. As a result, TSan does not know librdkafka's threads, and crashes in
// their first malloc. It also does not see librdkafka's locks, so every access those locks
// protect looks like a race. The definitions here are linked into the tsan preset's executables
// only, where librdkafka's references bind to them. They do the same work through the
// intercepted pthread functions. glibc's mtx_t and cnd_t wrap a pthread_mutex_t and a
// pthread_cond_t, and its thrd_t is a pthread_t, so the objects are the same.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

namespace {
int result(int err) {
  switch (err) {
    case 0: return thrd_success;
    case ENOMEM: return thrd_nomem;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    default: return thrd_error;
  }
}
pthread_mutex_t* native(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* native(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

struct start {
  thrd_start_t fn;
  void* arg;
};
void* trampoline(void* p) {
  const start s = *static_cast<start*>(p);
  delete static_cast<start*>(p);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.fn(s.arg)));
}
}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t fn, void* arg) {
  auto* s = new (std::nothrow) start{fn, arg};
  if (!s) return thrd_nomem;
  const int err = pthread_create(thr, nullptr, trampoline, s);
  if (err != 0) delete s;
  return result(err);
}
int thrd_join(thrd_t thr, int* res) {
  void* value = nullptr;
  const int err = pthread_join(thr, &value);
  if (err == 0 && res) *res = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
  return result(err);
}
int thrd_detach(thrd_t thr) { return result(pthread_detach(thr)); }

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int err = pthread_mutex_init(native(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return result(err);
}
int mtx_lock(mtx_t* m) { return result(pthread_mutex_lock(native(m))); }
int mtx_trylock(mtx_t* m) { return result(pthread_mutex_trylock(native(m))); }
int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict t) {
  return result(pthread_mutex_timedlock(native(m), t));
}
int mtx_unlock(mtx_t* m) { return result(pthread_mutex_unlock(native(m))); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(native(m)); }

int cnd_init(cnd_t* c) { return result(pthread_cond_init(native(c), nullptr)); }
int cnd_signal(cnd_t* c) { return result(pthread_cond_signal(native(c))); }
int cnd_broadcast(cnd_t* c) { return result(pthread_cond_broadcast(native(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return result(pthread_cond_wait(native(c), native(m))); }
int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict t) {
  return result(pthread_cond_timedwait(native(c), native(m), t));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy(native(c)); }

}  // extern "C"
