/* Names, all_tasks and the dump (aq_task_set_name, aq_loop_tasks,
 * aq_loop_dump), and the dump aq_run writes by itself on a deadlock when
 * AQ_DEADLOCK_DUMP is set. */
#include "rt_helpers.h"

#include <stdlib.h>
#include <unistd.h>

static aq_queue *g_q;

static void *get_forever(void *arg)
{
    (void)arg;
    long v;
    return IARG(aq_queue_get(g_q, &v));
}

static void *sleeper(void *arg)
{
    (void)arg;
    return IARG(aq_sleep(AQ_SEC));
}

static void *selecter(void *arg)
{
    aq_queue **qs = arg;
    long a, b;
    aq_clause c[] = {AQ_GET(qs[0], &a), AQ_GET(qs[1], &b)};
    return IARG(aq_select_until(c, 2, 0, aq_now() + AQ_SEC));
}

/* The dump of the calling task's loop, as a string the caller frees. */
static char *dump_now(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ASSERT(f != NULL);
    ASSERT_OK(aq_loop_dump(aq_loop_current(), f));
    ASSERT_EQ(fclose(f), 0);
    return text;
}

/* d has line `what` followed by "deadline in S s", S in (0.5, 1.0]: the
 * tasks' 1 s deadlines, seen a moment later. */
static void deadline_near(const char *d, const char *what)
{
    const char *p = strstr(d, what);
    ASSERT(p != NULL);
    double s = -1;
    ASSERT_EQ(sscanf(p + strlen(what), "deadline in %lf s", &s), 1);
    ASSERT(s > 0.5 && s <= 1.0);
}

static void *names_main(void *arg)
{
    (void)arg;
    aq_task *self = aq_task_self();
    ASSERT(aq_task_name(self) == NULL);
    ASSERT_OK(aq_task_set_name(self, "main"));
    ASSERT(strcmp(aq_task_name(self), "main") == 0);
    ASSERT_OK(aq_task_set_name(self, "renamed")); /* the old copy freed */
    ASSERT(strcmp(aq_task_name(self), "renamed") == 0);
    ASSERT_RC(aq_task_set_name(NULL, "x"), AQ_EINVAL);
    ASSERT_RC(aq_task_set_name(self, NULL), AQ_EINVAL);
    ASSERT(aq_task_name(NULL) == NULL);
    t_fail_alloc_at(1);
    ASSERT_RC(aq_task_set_name(self, "no room"), AQ_ENOMEM);
    ASSERT(strcmp(aq_task_name(self), "renamed") == 0); /* kept */
    /* A name goes with its task: a finished task's record, reused by the
     * next spawn, has none (the counting allocator sees no leak). */
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, ret_arg, NULL));
    ASSERT_OK(aq_task_set_name(t, "short-lived"));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
    ASSERT_OK(aq_spawn(&t, ret_arg, NULL));
    ASSERT(aq_task_name(t) == NULL);
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
    return NULL;
}
TEST(test_dump_names) { t_main(names_main, NULL); }

static void *tasks_main(void *arg)
{
    (void)arg;
    g_q = new_fifo(0);
    aq_task *a, *b, *all[4];
    ASSERT_OK(aq_spawn(&a, get_forever, NULL));
    ASSERT_OK(aq_spawn(&b, ret_arg, NULL));
    ASSERT_EQ(aq_loop_tasks(aq_loop_current(), all, 4), 3);
    ASSERT(all[0] == aq_task_self() && all[1] == a && all[2] == b);
    ASSERT_EQ(aq_loop_tasks(aq_loop_current(), NULL, 0), 3); /* count */
    ASSERT_EQ(aq_loop_tasks(aq_loop_current(), all, 1), 3);  /* 1 filled */
    ASSERT(all[0] == aq_task_self());
    ASSERT_OK(aq_task_wait(b, NULL)); /* returned: no longer listed */
    ASSERT_EQ(aq_loop_tasks(aq_loop_current(), all, 4), 2);
    ASSERT_RC(aq_loop_tasks(NULL, all, 4), AQ_EINVAL);
    ASSERT_RC(aq_loop_tasks(aq_loop_current(), NULL, 1), AQ_EINVAL);
    ASSERT_OK(aq_task_cancel(a));
    ASSERT_OK(aq_task_wait(a, NULL));
    ASSERT_OK(aq_task_release(a));
    ASSERT_OK(aq_task_release(b));
    ASSERT_OK(aq_queue_free(g_q));
    return NULL;
}
TEST(test_dump_all_tasks) { t_main(tasks_main, NULL); }

static void *dump_main(void *arg)
{
    (void)arg;
    g_q = new_fifo(0);
    aq_queue *qs[2] = {new_fifo(0), new_fifo(0)};
    aq_task *t[3];
    ASSERT_OK(aq_spawn(&t[0], get_forever, NULL));
    ASSERT_OK(aq_spawn(&t[1], sleeper, NULL));
    ASSERT_OK(aq_spawn(&t[2], selecter, qs));
    ASSERT_OK(aq_task_set_name(t[0], "consumer"));
    ASSERT_OK(aq_task_set_name(t[1], "ticker"));
    ASSERT_OK(aq_task_set_name(t[2], "router"));
    ASSERT_OK(aq_task_set_name(aq_task_self(), "main"));
    ASSERT_OK(aq_yield()); /* all three parked */
    ASSERT_OK(aq_task_cancel(t[1]));
    char *d = dump_now();
    ASSERT(strstr(d, "4 tasks (1 ready, 2 parked)") != NULL);
    ASSERT(strstr(d, "\"main\": running") != NULL);
    char want[160];
    snprintf(want, sizeof want, "task %p #%llu \"main\": running",
             (void *)aq_task_self(),
             (unsigned long long)aq_task_id(aq_task_self()));
    ASSERT(strstr(d, want) != NULL); /* the id a program logs */
    snprintf(want, sizeof want,
             "\"consumer\": parked on get from queue %p, no deadline",
             (void *)g_q);
    ASSERT(strstr(d, want) != NULL);
    snprintf(want, sizeof want,
             "\"router\": parked on a select of 2 clauses: get from queue "
             "%p or get from queue %p, ",
             (void *)qs[0], (void *)qs[1]);
    deadline_near(d, want);
    ASSERT(strstr(d, "\"ticker\": ready, cancelled") != NULL);
    free(d);
    ASSERT_RC(aq_loop_dump(NULL, stdout), AQ_EINVAL);
    ASSERT_RC(aq_loop_dump(aq_loop_current(), NULL), AQ_EINVAL);
    FILE *ro = fopen("/dev/null", "r"); /* writing to it fails */
    ASSERT(ro != NULL);
    ASSERT_RC(aq_loop_dump(aq_loop_current(), ro), AQ_EBADF);
    fclose(ro);
    FILE *full = fopen("/dev/full", "w"); /* buffered: fails at the flush */
    ASSERT(full != NULL);
    ASSERT_RC(aq_loop_dump(aq_loop_current(), full), AQ_EBADF);
    fclose(full);
    ASSERT_OK(aq_task_cancel(t[0]));
    ASSERT_OK(aq_task_cancel(t[2]));
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(aq_task_wait(t[i], NULL));
        ASSERT_OK(aq_task_release(t[i]));
    }
    ASSERT_OK(aq_queue_free(g_q));
    ASSERT_OK(aq_queue_free(qs[0]));
    ASSERT_OK(aq_queue_free(qs[1]));
    return NULL;
}
TEST(test_dump_says_what_each_task_waits_on) { t_main(dump_main, NULL); }

/* A task waiting on a shared queue (aq_queue_share) is named by the
 * queue its caller holds (not the shared state behind it), and by what
 * it waits to do there, as for any queue. */
static aq_queue *g_sq[3]; /* empty, full, one unfinished */

static void *shared_getter(void *arg)
{
    (void)arg;
    long v;
    return IARG(aq_queue_get(g_sq[0], &v));
}

static void *shared_putter(void *arg)
{
    (void)arg;
    long v = 2;
    return IARG(aq_queue_put(g_sq[1], &v));
}

static void *shared_joiner(void *arg)
{
    (void)arg;
    return IARG(aq_queue_join(g_sq[2]));
}

static void *shared_dump_main(void *arg)
{
    (void)arg;
    long one = 1;
    for (int i = 0; i < 3; i++) {
        g_sq[i] = new_fifo(1);
        ASSERT_OK(aq_queue_share(g_sq[i]));
    }
    ASSERT_OK(aq_queue_try_put(g_sq[1], &one));
    ASSERT_OK(aq_queue_try_put(g_sq[2], &one));
    aq_task *t[3];
    aq_task_fn fn[3] = {shared_getter, shared_putter, shared_joiner};
    const char *want[3] = {"get from queue", "put on queue",
                           "join of queue"};
    for (int i = 0; i < 3; i++)
        ASSERT_OK(aq_spawn(&t[i], fn[i], NULL));
    ASSERT_OK(aq_yield()); /* all three parked */
    char *d = dump_now();
    for (int i = 0; i < 3; i++) {
        char line[160];
        snprintf(line, sizeof line, "parked on %s %p, no deadline", want[i],
                 (void *)g_sq[i]);
        ASSERT(strstr(d, line) != NULL);
    }
    free(d);
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(aq_task_cancel(t[i]));
        ASSERT_OK(aq_task_wait(t[i], NULL));
        ASSERT_OK(aq_task_release(t[i]));
        ASSERT_OK(aq_queue_free(g_sq[i]));
    }
    return NULL;
}
TEST(test_dump_shared_queue_waits) { t_main(shared_dump_main, NULL); }

/* A sleep shows as such, with its deadline. */
static void *sleep_dump_main(void *arg)
{
    (void)arg;
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, sleeper, NULL));
    ASSERT_OK(aq_task_set_name(t, "napper"));
    ASSERT_OK(aq_yield());
    char *d = dump_now();
    deadline_near(d, "\"napper\": parked on sleep, ");
    ASSERT(strstr(d, "2 tasks (0 ready, 1 parked), 1 timer\n") != NULL);
    free(d);
    ASSERT_OK(aq_task_cancel(t));
    ASSERT_OK(aq_task_wait(t, NULL));
    ASSERT_OK(aq_task_release(t));
    return NULL;
}
TEST(test_dump_sleep) { t_main(sleep_dump_main, NULL); }

/* The seconds after "waited " on line `what` of d, or -1 if that line
 * shows no wait time. */
static double waited(const char *d, const char *what)
{
    const char *p = strstr(d, what);
    ASSERT(p != NULL);
    const char *eol = strchr(p, '\n');
    const char *w = strstr(p, ", waited ");
    double s = -1;
    if (w && (!eol || w < eol))
        ASSERT_EQ(sscanf(w, ", waited %lf s so far", &s), 1);
    return s;
}

/* Debug mode stamps each park: the dump says how long a task has waited,
 * with or without a deadline; a wait begun before debug mode was turned
 * on, or after it was turned off, shows no time. */
static void *debug_main(void *arg)
{
    (void)arg;
    aq_loop *l = aq_loop_current();
    ASSERT_EQ(aq_loop_debug(l), 0);
    g_q = new_fifo(0);
    aq_task *early, *late, *napper;
    ASSERT_OK(aq_spawn(&early, get_forever, NULL));
    ASSERT_OK(aq_task_set_name(early, "early"));
    ASSERT_OK(aq_yield());
    ASSERT_OK(aq_loop_set_debug(l, 1));
    ASSERT_EQ(aq_loop_debug(l), 1);
    ASSERT_OK(aq_spawn(&late, get_forever, NULL));
    ASSERT_OK(aq_task_set_name(late, "late"));
    ASSERT_OK(aq_spawn(&napper, sleeper, NULL));
    ASSERT_OK(aq_task_set_name(napper, "napper"));
    ASSERT_OK(aq_sleep(50 * AQ_MSEC));
    char *d = dump_now();
    ASSERT(waited(d, "\"early\": parked") < 0);
    double s = waited(d, "\"late\": parked on get from queue");
    ASSERT(s >= 0.045 && s < 5.0);
    s = waited(d, "\"napper\": parked on sleep");
    ASSERT(s >= 0.045 && s < 5.0);
    free(d);
    ASSERT_OK(aq_loop_set_debug(l, 0));
    ASSERT_EQ(aq_loop_debug(l), 0);
    d = dump_now();
    ASSERT(waited(d, "\"late\": parked") < 0);
    free(d);
    aq_task *all[] = {early, late, napper};
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(aq_task_cancel(all[i]));
        ASSERT_OK(aq_task_wait(all[i], NULL));
        ASSERT_OK(aq_task_release(all[i]));
    }
    ASSERT_OK(aq_queue_free(g_q));
    return NULL;
}
TEST(test_dump_wait_time_in_debug_mode) { t_main(debug_main, NULL); }

TEST(test_dump_debug_mode_switches)
{
    ASSERT_RC(aq_loop_set_debug(NULL, 1), AQ_EINVAL);
    ASSERT(strcmp(aq_error_detail(), "loop is NULL") == 0);
    ASSERT_EQ(aq_loop_debug(NULL), 0);
    const char *vals[] = {"1", "0", "", NULL};
    const int want[] = {1, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        if (vals[i])
            ASSERT_EQ(setenv("AQ_DEBUG", vals[i], 1), 0);
        else
            ASSERT_EQ(unsetenv("AQ_DEBUG"), 0);
        aq_loop *l;
        ASSERT_OK(aq_loop_new(&l));
        ASSERT_EQ(aq_loop_debug(l), want[i]);
        ASSERT_OK(aq_loop_set_debug(l, 7)); /* any non-zero: on */
        ASSERT_EQ(aq_loop_debug(l), 1);
        ASSERT_OK(aq_loop_free(l));
    }
}

/* A program that deadlocks, with AQ_DEADLOCK_DUMP set, gets the dump on
 * stderr with no code changed; without it, nothing. */
static void *deadlock_main(void *arg)
{
    (void)arg;
    ASSERT_OK(aq_task_set_name(aq_task_self(), "stuck-main"));
    aq_task *t;
    ASSERT_OK(aq_spawn(&t, get_forever, NULL));
    ASSERT_OK(aq_task_set_name(t, "stuck-consumer"));
    long v;
    aq_queue_get(g_q, &v); /* nobody will ever put */
    aq_task_wait(t, NULL);
    aq_task_release(t);
    return NULL;
}

/* Runs deadlock_main with stderr going to a file; returns what it got. */
static char *stderr_of_deadlock(void)
{
    char path[] = "/tmp/aq-dump-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    ASSERT(dup2(fd, 2) == 2);
    g_q = new_fifo(0);
    int rc = aq_run(deadlock_main, NULL, NULL);
    ASSERT_OK(aq_queue_free(g_q));
    fflush(stderr);
    ASSERT(dup2(saved, 2) == 2);
    close(saved);
    ASSERT_RC(rc, AQ_EDEADLK);
    static char text[4096];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    ASSERT(n >= 0);
    text[n] = 0;
    close(fd);
    unlink(path);
    return text;
}

TEST(test_dump_on_deadlock_by_environment)
{
    ASSERT_EQ(setenv("AQ_DEADLOCK_DUMP", "1", 1), 0);
    char *err = stderr_of_deadlock();
    ASSERT(strstr(err, "no task can ever run again (AQ_EDEADLK)") != NULL);
    ASSERT(strstr(err, "2 tasks (0 ready, 2 parked)") != NULL);
    char want[160];
    snprintf(want, sizeof want, "\"stuck-main\": parked on get from queue %p",
             (void *)g_q);
    ASSERT(strstr(err, want) != NULL);
    snprintf(want, sizeof want,
             "\"stuck-consumer\": parked on get from queue %p", (void *)g_q);
    ASSERT(strstr(err, want) != NULL);
    /* Each parked task's frames follow its line. */
    ASSERT(strstr(err, "\n      #0 0x") != NULL);
    ASSERT(strstr(err, "\n      #1 0x") != NULL);
    /* aq_run ran its loop in debug mode: each wait has its time. */
    ASSERT(waited(err, "\"stuck-main\": parked") >= 0);
    ASSERT(waited(err, "\"stuck-consumer\": parked") >= 0);
    ASSERT_EQ(setenv("AQ_DEADLOCK_DUMP", "0", 1), 0); /* "0": off */
    err = stderr_of_deadlock();
    ASSERT(strstr(err, "libaq") == NULL);
    ASSERT_EQ(unsetenv("AQ_DEADLOCK_DUMP"), 0);
    err = stderr_of_deadlock();
    ASSERT(strstr(err, "libaq") == NULL); /* quiet without it */
}

int main(int argc, char **argv)
{
    RUN(test_dump_names);
    RUN(test_dump_all_tasks);
    RUN(test_dump_says_what_each_task_waits_on);
    RUN(test_dump_shared_queue_waits);
    RUN(test_dump_sleep);
    RUN(test_dump_wait_time_in_debug_mode);
    RUN(test_dump_debug_mode_switches);
    RUN(test_dump_on_deadlock_by_environment);
    return t_done();
}
