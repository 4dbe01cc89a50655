// What an operating system does for a process through the CPU's
// exceptions: a page fault on a bad pointer becomes SIGSEGV with the
// faulting address, integer divide by zero SIGFPE, UD2 SIGILL, INT3
// SIGTRAP, on an alternate signal stack; and processes: fork (copy-on-write
// pages), pipes, exit statuses, mmap/mprotect.
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf resume;
static volatile int last_signal;
static volatile int last_code;
static void* volatile last_address;
static volatile int on_alt_stack;
static char alt_stack[64 * 1024];

static void handler(int sig, siginfo_t* info, void* context) {
  (void)context;
  last_signal = sig;
  last_code = info->si_code;
  last_address = info->si_addr;
  char here;
  on_alt_stack = &here >= alt_stack && &here < alt_stack + sizeof alt_stack;
  siglongjmp(resume, 1);
}

static void report(const char* what) {
  printf("%s: signal %d code %d alt-stack %d\n", what, last_signal, last_code, on_alt_stack);
  last_signal = 0;
}

int main(void) {
  stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  const int caught[] = {SIGSEGV, SIGFPE, SIGILL, SIGTRAP, SIGBUS};
  for (size_t i = 0; i < sizeof caught / sizeof caught[0]; ++i) sigaction(caught[i], &sa, NULL);

  volatile int* bad = (int*)0x1000;
  if (sigsetjmp(resume, 1) == 0) *bad = 1;
  printf("segv at %p: ", last_address);
  report("write to 0x1000");

  char* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy(page, "readable");
  mprotect(page, 4096, PROT_READ);
  if (sigsetjmp(resume, 1) == 0) page[1] = 'X';
  printf("write to read-only page offset %ld, still '%s': ", (long)((char*)last_address - page), page);
  report("mprotect");

  volatile int zero = 0;
  if (sigsetjmp(resume, 1) == 0) printf("%d\n", 10 / zero);
  report("divide by zero");
  volatile int64_t min = INT64_MIN, minus_one = -1;
  if (sigsetjmp(resume, 1) == 0) printf("%ld\n", (long)(min / minus_one));
  report("INT64_MIN / -1");
  if (sigsetjmp(resume, 1) == 0) __asm__ volatile("ud2");
  report("ud2");
  if (sigsetjmp(resume, 1) == 0) __asm__ volatile("int3");
  report("int3");

  // fork: the child sees the parent's memory, writes its copy, reports
  // through a pipe and exits with a status the parent checks.
  int fds[2];
  if (pipe(fds) != 0) return 1;
  static char shared_buffer[8192] = "parent data";
  uint64_t sum = 0;
  for (int child = 0; child < 4; ++child) {
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      snprintf(shared_buffer, sizeof shared_buffer, "child %d wrote this", child);
      char line[64];
      int n = snprintf(line, sizeof line, "%s;", shared_buffer);
      if (write(fds[1], line, (size_t)n) != n) _exit(99);
      _exit(10 + child);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    sum += (uint64_t)WEXITSTATUS(status);
  }
  close(fds[1]);
  char got[256] = {0};
  size_t used = 0;
  ssize_t n;
  while ((n = read(fds[0], got + used, sizeof got - 1 - used)) > 0) used += (size_t)n;
  printf("children said: %s exit statuses sum %llu; parent still has '%s'\n", got,
         (unsigned long long)sum, shared_buffer);

  // A large allocation touched page by page, then freed.
  size_t size = 32u << 20;
  unsigned char* big = malloc(size);
  uint64_t h = 0;
  for (size_t i = 0; i < size; i += 4096) big[i] = (unsigned char)(i >> 12);
  for (size_t i = 0; i < size; i += 4096) h = h * 31 + big[i];
  free(big);
  printf("big allocation hash %llx\n", (unsigned long long)h);
  return 0;
}
