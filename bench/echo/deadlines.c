/* Timers with I/O, for the echo benchmark (bench/README.md): how late an
 * I/O deadline fires while the loop sleeps in epoll_wait. MIT licensed.
 *
 *   deadlines [TASKS [READS]]        (default 1000 tasks, 100 reads each)
 *
 * Each task owns an idle pipe (its read end registered, nothing ever
 * written) and makes READS sequential aq_read_until calls on it, each with
 * a deadline 1-50 ms ahead (uniform, to the nanosecond, from a per-task
 * LCG). Every call must return AQ_ETIMEDOUT; its lateness is aq_now()
 * just after it returned minus the deadline. Prints one line:
 *   deadlines N p50_us A p99_us B max_us C min_us D over_1ms K
 * (K: how many of the N came more than 1 ms late). Exits 1 if a read
 * returns anything but AQ_ETIMEDOUT or fires early. */
#include <aq.h>

#include <unistd.h>

#include "echo.h"

static int ntasks = 1000, nreads = 100;
static int64_t *late; /* ntasks * nreads lateness figures, ns */

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
    uint64_t x = (uint64_t)id * 2654435761u + 12345;
    char c;
    for (int i = 0; i < nreads; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        int64_t deadline = aq_now() + AQ_MSEC + (int64_t)((x >> 33) %
                                                  (uint64_t)(49 * AQ_MSEC));
        long r = aq_read_until(f, &c, 1, deadline);
        int64_t now = aq_now();
        if (r != AQ_ETIMEDOUT)
            echo_die("aq_read_until did not time out", r < 0 ? (int)r : EIO);
        late[id * nreads + i] = now - deadline;
    }
    aq_fd_close(f);
    close(p[1]);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    aq_task **t = calloc((size_t)ntasks, sizeof *t);
    for (int i = 0; i < ntasks; i++) {
        int rc = aq_spawn(&t[i], reader, (void *)(intptr_t)i);
        if (rc)
            echo_die("aq_spawn", rc);
    }
    int rc = aq_gather(t, (size_t)ntasks, NULL);
    if (rc)
        echo_die("aq_gather", rc);
    for (int i = 0; i < ntasks; i++)
        aq_task_release(t[i]);
    free(t);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
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
    qsort(late, n, sizeof *late, cmp);
    size_t over = 0;
    for (size_t i = 0; i < n; i++)
        over += late[i] > AQ_MSEC;
    printf("deadlines %zu p50_us %.1f p99_us %.1f max_us %.1f min_us %.1f "
           "over_1ms %zu\n",
           n, (double)late[n / 2] / 1e3, (double)late[n * 99 / 100] / 1e3,
           (double)late[n - 1] / 1e3, (double)late[0] / 1e3, over);
    if (late[0] < 0) {
        fprintf(stderr, "a deadline fired early\n");
        return 1;
    }
    return 0;
}
