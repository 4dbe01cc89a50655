// Threads on however many CPUs the guest has: LOCK-prefixed atomics
// (add, exchange, compare-and-swap, 128-bit CAS is not baseline), a mutex
// and condition variable (futexes), and thread-local storage (FS base).
// The totals are the same however the threads interleave.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

enum { kThreads = 4, kRounds = 20000 };

static atomic_uint_fast64_t atomic_total;
static atomic_int cas_counter;
static uint64_t locked_total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn;
static _Thread_local uint64_t thread_sum;
static uint64_t per_thread[kThreads];

static void* worker(void* arg) {
  const int id = (int)(intptr_t)arg;
  for (int i = 0; i < kRounds; ++i) {
    atomic_fetch_add(&atomic_total, (uint64_t)(i ^ id));
    int seen = atomic_load(&cas_counter);
    while (!atomic_compare_exchange_weak(&cas_counter, &seen, seen + 1)) {
    }
    thread_sum += (uint64_t)i * (uint64_t)(id + 1);
    if (i % 64 == 0) {
      pthread_mutex_lock(&lock);
      locked_total += (uint64_t)id;
      pthread_mutex_unlock(&lock);
    }
  }
  // Take turns in id order through a condition variable.
  pthread_mutex_lock(&lock);
  while (turn != id) pthread_cond_wait(&turn_changed, &lock);
  per_thread[id] = thread_sum;
  ++turn;
  pthread_cond_broadcast(&turn_changed);
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; ++i) pthread_create(&threads[i], NULL, worker, (void*)(intptr_t)i);
  for (int i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  printf("atomic total %llu\n", (unsigned long long)atomic_load(&atomic_total));
  printf("cas counter %d\n", atomic_load(&cas_counter));
  printf("locked total %llu\n", (unsigned long long)locked_total);
  for (int i = 0; i < kThreads; ++i) printf("thread %d tls sum %llu\n", i, (unsigned long long)per_thread[i]);
  printf("main tls sum %llu\n", (unsigned long long)thread_sum);
  return 0;
}
