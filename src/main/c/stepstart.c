/*
 * stepstart: how a player starts a step's shell at an instant (see StepStarter.java).
 *
 *   stepstart [-n] [-r] [-p BYTES] [-P PID] -- PROGRAM [ARG...]
 *
 * The player's JVM starts it ahead of the step's start (its only program load before the
 * step's shell). It leads a new session and process group at once, then reads one line from
 * stdin: the instant to start at, in nanoseconds of CLOCK_MONOTONIC (the JVM's nanoTime), or
 * 0 for at once. End of stdin before that line: the step is not to run; it exits 0, running
 * nothing. It waits for the instant itself: at real-time priority (with -r, where the system
 * allows it) it sleeps to SPIN_NS before, then yields the CPU in turn with whoever else waits,
 * so that many steps due at one instant on few CPUs each get a CPU as soon as it comes;
 * otherwise it sleeps to the instant. It takes the time it woke, leaves real-time priority,
 * writes that time as the first line of its stdout ("stepstart <ns>\n", which the JVM takes
 * off before the step's output) and becomes PROGRAM, keeping its pid.
 *
 *   -n         stdin becomes /dev/null after the instant's line (a step that reads nothing)
 *   -r         run at real-time priority (SCHED_FIFO 1) until the instant; left before PROGRAM runs
 *   -p BYTES   the capacity of its stdout and stderr pipes (F_SETPIPE_SZ); a refusal leaves them
 *   -P PID     the parent it must have (the player's JVM); without it, the one it has at its start
 *
 * If its parent (the player) is gone when it starts or wakes, it runs nothing. Exit codes of its
 * own: 0 (not to run), 125 (bad use or input), 127 (PROGRAM cannot run), each with a line on
 * stderr.
 *
 * On x86-64 Linux it is built without the C library (STEPSTART_NOLIBC, see build.sh): it makes
 * a handful of system calls, and a C library's start-up (which asks the CPU for its caches, a
 * trap to the hypervisor each time on a virtual machine) cost a static build 0.5 ms of CPU per
 * step here, where this one costs 0.02 (docs/PERFORMANCE.md). Elsewhere it is built with it.
 */

#ifdef STEPSTART_NOLIBC

typedef long ssize_t;
typedef unsigned long size_t;
typedef int pid_t;
struct timespec {
    long tv_sec;
    long tv_nsec;
};
struct sched_param {
    int sched_priority;
};
#define CLOCK_MONOTONIC 1
#define TIMER_ABSTIME 1
#define SCHED_OTHER 0
#define SCHED_FIFO 1
#define SCHED_RR 2
#define SCHED_RESET_ON_FORK 0x40000000
#define F_SETPIPE_SZ 1031
#define O_RDONLY 0
#define AT_FDCWD (-100)
#define EINTR 4

static long sc(long n, long a, long b, long c, long d) {
    long r;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return r;
}

/* Each returns what the system call does: -errno on failure. */
static ssize_t sys_read(int fd, void *b, size_t n) { return sc(0, fd, (long) b, (long) n, 0); }
static ssize_t sys_write(int fd, const void *b, size_t n) { return sc(1, fd, (long) b, (long) n, 0); }
static int sys_close(int fd) { return (int) sc(3, fd, 0, 0, 0); }
static int sys_sched_yield(void) { return (int) sc(24, 0, 0, 0, 0); }
static int sys_dup2(int a, int b) { return (int) sc(33, a, b, 0, 0); }
static int sys_execve(const char *p, char *const *argv, char *const *envp) {
    return (int) sc(59, (long) p, (long) argv, (long) envp, 0);
}
static int sys_fcntl(int fd, int cmd, long arg) { return (int) sc(72, fd, cmd, arg, 0); }
static pid_t sys_getppid(void) { return (pid_t) sc(110, 0, 0, 0, 0); }
static pid_t sys_setsid(void) { return (pid_t) sc(112, 0, 0, 0, 0); }
static int sys_sched_setscheduler(int pid, int policy, const struct sched_param *p) {
    return (int) sc(144, pid, policy, (long) p, 0);
}
static int sys_sched_getscheduler(int pid) { return (int) sc(145, pid, 0, 0, 0); }
static int sys_clock_gettime(int clock, struct timespec *t) { return (int) sc(228, clock, (long) t, 0, 0); }
static int sys_clock_nanosleep(int clock, int flags, const struct timespec *t) {
    return (int) sc(230, clock, flags, (long) t, 0);
}
static int sys_open_rdonly(const char *path) { return (int) sc(257, AT_FDCWD, (long) path, O_RDONLY, 0); }
static void sys_exit(int code) {
    sc(231, code, 0, 0, 0);
    for (;;) {
    }
}

/* What the compiler may call for a struct's initialisation or copy. */
void *memset(void *d, int c, size_t n) {
    unsigned char *p = d;
    while (n--) {
        *p++ = (unsigned char) c;
    }
    return d;
}

void *memcpy(void *d, const void *s, size_t n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) {
        *p++ = *q++;
    }
    return d;
}

static int run(int argc, char **argv, char **envp);

/* The kernel's entry: argc, then argv, then envp, at the stack pointer. */
__attribute__((used)) static void start_c(long *sp) {
    int argc = (int) sp[0];
    char **argv = (char **) (sp + 1);
    sys_exit(run(argc, argv, argv + argc + 1));
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call start_c\n"
        "  hlt\n");

#else

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The same calls through the C library, answering -errno on failure as the raw ones do. */
static long ret(long r) { return r < 0 ? -errno : r; }
static ssize_t sys_read(int fd, void *b, size_t n) { return ret(read(fd, b, n)); }
static ssize_t sys_write(int fd, const void *b, size_t n) { return ret(write(fd, b, n)); }
static int sys_close(int fd) { return (int) ret(close(fd)); }
static int sys_sched_yield(void) { return sched_yield(); }
static int sys_dup2(int a, int b) { return (int) ret(dup2(a, b)); }
static int sys_execve(const char *p, char *const *argv, char *const *envp) { return (int) ret(execve(p, argv, envp)); }
static int sys_fcntl(int fd, int cmd, long arg) { return (int) ret(fcntl(fd, cmd, arg)); }
static pid_t sys_getppid(void) { return getppid(); }
static pid_t sys_setsid(void) { return (pid_t) ret(setsid()); }
static int sys_sched_setscheduler(int pid, int policy, const struct sched_param *p) {
    return (int) ret(sched_setscheduler(pid, policy, p));
}
static int sys_sched_getscheduler(int pid) { return (int) ret(sched_getscheduler(pid)); }
static int sys_clock_gettime(int clock, struct timespec *t) { return (int) ret(clock_gettime(clock, t)); }
static int sys_clock_nanosleep(int clock, int flags, const struct timespec *t) {
    return -clock_nanosleep(clock, flags, t, 0);
}
static int sys_open_rdonly(const char *path) { return (int) ret(open(path, O_RDONLY)); }

static int run(int argc, char **argv, char **envp);

int main(int argc, char **argv, char **envp) {
    return run(argc, argv, envp);
}

#endif

#define SPIN_NS 500000L
#define MAX_LINE 32

static long long now_ns(void) {
    struct timespec t;
    sys_clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long) t.tv_sec * 1000000000LL + t.tv_nsec;
}

static size_t length(const char *s) {
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

static int same(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* A decimal number, or -1 where s is none (or too long to be one). */
static long long number(const char *s) {
    long long v = 0;
    int digits = 0;
    for (; *s; s++, digits++) {
        if (*s < '0' || *s > '9' || digits >= 18) {
            return -1;
        }
        v = v * 10 + (*s - '0');
    }
    return digits ? v : -1;
}

/* Writes v in decimal at the end of buf (which has room for 20 digits); returns where it starts. */
static char *decimal(long long v, char *end) {
    char *p = end;
    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return p;
}

static void say(const char *s) {
    sys_write(2, s, length(s));
}

/* "conductor: stepstart: WHAT[: DETAIL]" on stderr; returns code. */
static int fail(int code, const char *what, const char *detail) {
    say("conductor: stepstart: ");
    say(what);
    if (detail) {
        say(": ");
        say(detail);
    }
    say("\n");
    return code;
}

static const char *error_name(int err) {
    switch (err) {
        case 2: return "no such file or directory";
        case 8: return "not an executable format";
        case 9: return "bad file descriptor";
        case 13: return "permission denied";
        case 20: return "a part of the path is not a folder";
        case 24: return "too many open files";
        default: return "system error";
    }
}

/* The instant's line, read a byte at a time: what follows it on stdin is the step's. 1: read; 0: end of stdin; -1: bad. */
static int read_instant(long long *at) {
    char line[MAX_LINE];
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = sys_read(0, &c, 1);
        if (r == 0) {
            return 0;
        }
        if (r < 0) {
            if (r == -EINTR) {
                continue;
            }
            return -1;
        }
        if (c == '\n') {
            break;
        }
        if (n + 1 >= sizeof line) {
            return -1;
        }
        line[n++] = c;
    }
    line[n] = '\0';
    *at = number(line);
    return *at < 0 ? -1 : 1;
}

/*
 * Sleeps to the instant; at real-time priority (spin), to SPIN_NS before it and then yields
 * until it comes. At normal priority a spinner would keep its CPU for a whole time slice from
 * those due at the same instant (32 such on 2 CPUs woke over 10 ms instead of 0.06).
 */
static void wait_until(long long at, int spin) {
    long long sleep_to = spin ? at - SPIN_NS : at;
    if (sleep_to > now_ns()) {
        struct timespec t = {.tv_sec = sleep_to / 1000000000LL, .tv_nsec = sleep_to % 1000000000LL};
        while (sys_clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t) == -EINTR) {
        }
    }
    while (now_ns() < at) {
        sys_sched_yield();
    }
}

static int run(int argc, char **argv, char **envp) {
    int null_stdin = 0, realtime = 0;
    long long pipe_size = 0, parent = 0;
    int i = 1;
    for (; i < argc && !same(argv[i], "--"); i++) {
        if (same(argv[i], "-n")) {
            null_stdin = 1;
        } else if (same(argv[i], "-r")) {
            realtime = 1;
        } else if (same(argv[i], "-p") && i + 1 < argc && (pipe_size = number(argv[i + 1])) >= 0) {
            i++;
        } else if (same(argv[i], "-P") && i + 1 < argc && (parent = number(argv[i + 1])) > 0) {
            i++;
        } else {
            return fail(125, "unknown option or value", argv[i]);
        }
    }
    if (i + 1 >= argc) {
        return fail(125, "usage: stepstart [-n] [-r] [-p BYTES] [-P PID] -- PROGRAM [ARG...]", 0);
    }
    char **program = argv + i + 1;
    if (parent == 0) {
        parent = sys_getppid();
    } else if (sys_getppid() != parent) {
        return 0; /* the player is gone already */
    }
    if (sys_setsid() < 0) {
        return fail(125, "setsid", "it leads a process group already");
    }
    /* At real-time priority from here: it reacts to its instant's line at once, on a busy machine too. */
    struct sched_param fifo = {.sched_priority = 1};
    if (realtime) {
        sys_sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &fifo);
    }
    /* Real-time now, asked for or inherited from the thread that started it: left before PROGRAM. */
    int policy = sys_sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;
    int raised = policy == SCHED_FIFO || policy == SCHED_RR;
    if (pipe_size > 0 && pipe_size < (1LL << 31)) {
        sys_fcntl(1, F_SETPIPE_SZ, (long) pipe_size);
        sys_fcntl(2, F_SETPIPE_SZ, (long) pipe_size);
    }
    long long at = 0;
    int got = read_instant(&at);
    if (got == 0) {
        return 0;
    }
    if (got < 0) {
        return fail(125, "no instant on stdin (a line of digits)", 0);
    }
    if (null_stdin) {
        int fd = sys_open_rdonly("/dev/null");
        if (fd < 0 || sys_dup2(fd, 0) < 0) {
            return fail(125, "/dev/null", error_name(fd < 0 ? -fd : 9));
        }
        if (fd != 0) {
            sys_close(fd);
        }
    }
    if (at > 0) {
        wait_until(at, raised);
    }
    long long woke = now_ns();
    if (raised) {
        struct sched_param normal = {.sched_priority = 0};
        sys_sched_setscheduler(0, SCHED_OTHER, &normal);
    }
    if (sys_getppid() != parent) {
        return 0; /* the player is gone: nothing of it may start now */
    }
    char said[48];
    const char *head = "stepstart ";
    size_t h = length(head);
    char digits[24];
    char *d = decimal(woke, digits + sizeof digits - 1);
    size_t dn = (size_t) (digits + sizeof digits - 1 - d);
    memcpy(said, head, h);
    memcpy(said + h, d, dn);
    said[h + dn] = '\n';
    if (sys_write(1, said, h + dn + 1) != (ssize_t) (h + dn + 1)) {
        return fail(125, "cannot write its start time", 0);
    }
    int err = sys_execve(program[0], program, envp);
    return fail(127, program[0], error_name(-err));
}
