/* Timers with I/O, for the echo benchmark (bench/README.md): how late an
 * I/O deadline fires while the loop sleeps in epoll_wait. MIT licensed.
 *
 *   deadlines [TASKS [READS]]        (default 1000 tasks, 100 reads each)
 *
 * Each task owns an idle pipe (its read end registered, nothing ever
 * written) and, once every task has made its own (an event, so that the
 * set-up's syscalls do not delay the first deadlines: deadline_floor.c
 * does the same), makes READS sequential aq_read_until calls on it, each with
 * a deadline 1-50 ms ahead (uniform, to the nanosecond, from a per-task
 * LCG). Every call must return AQ_ETIMEDOUT; its lateness is aq_now()
 * just after it returned minus the deadline. Prints one line (echo.h,
 * echo_lateness):
 *   deadlines N p50_us A p99_us B max_us C min_us D over_1ms K
 * and with DEADLINE_TRACE set, each read more than 1 ms late on stderr
 * (echo_trace_late). Exits 1 if a read returns anything but AQ_ETIMEDOUT or
 * fires early. deadline_floor.c is the same without libaq. */
#include <aq.h>

#include <unistd.h>

#include "echo.h"

static int ntasks = 1000, nreads = 100;
static int64_t *late; /* ntasks * nreads lateness figures, ns */
static aq_event *go;  /* set once every task has made its pipe */
static int64_t t0;    /* aq_now() when main starts, for the trace */

static void *reader(void *arg)
{
    intptr_t id = (intptr_t)arg;
    int p[2];
    if (pipe(p))
        echo_die("pipe", errno);
    aq_fd *f;
    int rc = aq_fd_open(NULL, &f, p[0]);
    if (rc)
        echo_die("aq_fd_open", rc);
    rc = aq_event_wait(go);
    if (rc)
        echo_die("aq_event_wait", rc);
    uint64_t x = echo_seed(id);
    char c;
    for (int i = 0; i < nreads; i++) {
        int64_t deadline = echo_next_deadline(&x, aq_now());
        long r = aq_read_until(f, &c, 1, deadline);
        int64_t now = aq_now();
        if (r != AQ_ETIMEDOUT)
            echo_die("aq_read_until did not time out", r < 0 ? (int)r : EIO);
        late[id * nreads + i] = now - deadline;
        echo_trace_late((long)id, i, now - deadline, now - t0);
    }
    aq_fd_close(f);
    close(p[1]);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    t0 = aq_now();
    aq_task **t = calloc((size_t)ntasks, sizeof *t);
    int rc = aq_event_new(&go);
    for (int i = 0; rc == 0 && i < ntasks; i++)
        rc = aq_spawn(&t[i], reader, (void *)(intptr_t)i);
    if (rc)
        echo_die("aq_spawn", rc);
    /* Behind every new task: when main runs again, each has made its pipe
     * and waits for go, so no deadline is drawn during the set-up. */
    rc = aq_yield();
    if (rc == 0)
        rc = aq_event_set(go);
    if (rc)
        echo_die("aq_event_set", rc);
    rc = aq_gather(t, (size_t)ntasks, NULL);
    if (rc)
        echo_die("aq_gather", rc);
    for (int i = 0; i < ntasks; i++)
        aq_task_release(t[i]);
    free(t);
    aq_event_free(go);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        ntasks = atoi(argv[1]);
    if (argc > 2)
        nreads = atoi(argv[2]);
    if (argc > 3 || ntasks < 1 || nreads < 1) {
        fprintf(stderr, "usage: deadlines [TASKS [READS]]\n");
        return 2;
    }
    size_t n = (size_t)ntasks * (size_t)nreads;
    late = calloc(n, sizeof *late);
    int rc = aq_run(main_task, NULL, NULL);
    if (rc)
        echo_die("aq_run", rc);
    return echo_lateness("deadlines", late, n);
}
