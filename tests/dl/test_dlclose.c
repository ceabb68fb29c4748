/* libaq as a plugin: loaded with dlopen, used, unloaded with dlclose, and
 * loaded again, as a plugin host does. This program is not linked with
 * libaq (AQ_SO names the build's libaq.so), so dlclose really unmaps it.
 * - After dlclose, SIGSEGV's action is what it was before dlopen: the
 *   overflow handler libaq installs over the default (overflow.c) would
 *   point into unmapped code (a fresh user's trial: a reloaded libaq died
 *   of SIGILL at a task's overflow, with no report).
 * - A thread that ran a loop and outlives the unload exits cleanly: the
 *   key whose destructor frees its alternate signal stack was deleted
 *   with the library, not left to call into unmapped code.
 * Own checks, no harness: test.h needs libaq linked in. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

typedef void *(*task_fn)(void *);
typedef int (*run_fn)(task_fn, void *, void **);

static run_fn run;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ran, unloaded;

static void *nothing(void *arg) { return arg; }

/* Runs a loop, then waits until the library is gone before it exits. */
static void *loop_thread(void *arg)
{
    (void)arg;
    CHECK(run(nothing, NULL, NULL) == 0);
    pthread_mutex_lock(&mu);
    ran = 1;
    pthread_cond_signal(&cv);
    while (!unloaded)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *handler_of(struct sigaction *sa)
{
    CHECK(sigaction(SIGSEGV, NULL, sa) == 0);
    return sa->sa_flags & SA_SIGINFO ? (void *)sa->sa_sigaction
                                     : (void *)sa->sa_handler;
}

int main(void)
{
    struct sigaction sa;
    void *before = handler_of(&sa);
    for (int round = 0; round < 3; round++) {
        void *lib = dlopen(AQ_SO, RTLD_NOW | RTLD_LOCAL);
        if (!lib)
            fprintf(stderr, "dlopen: %s\n", dlerror());
        CHECK(lib != NULL);
        run = (run_fn)(uintptr_t)dlsym(lib, "aq_run");
        CHECK(run != NULL);
        CHECK(run(nothing, NULL, NULL) == 0); /* arms the overflow report */
        pthread_t t;
        ran = unloaded = 0;
        CHECK(pthread_create(&t, NULL, loop_thread, NULL) == 0);
        pthread_mutex_lock(&mu);
        while (!ran)
            pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
        CHECK(dlclose(lib) == 0);
        CHECK(handler_of(&sa) == before); /* not libaq's any more */
        pthread_mutex_lock(&mu);
        unloaded = 1;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
        CHECK(pthread_join(t, NULL) == 0); /* its exit calls no libaq code */
    }
    printf("ok test_dlclose (3 rounds)\n");
    return 0;
}
