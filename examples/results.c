/* Results that are not pointers (examples/python/results.py).
 *
 * A task's result is one void * (aq_task_fn). Three patterns cover what
 * asyncio tasks return:
 * 1. an integer: through intptr_t, both ways;
 * 2. several values or a struct: the task fills a struct its spawner owns
 *    and passes as the argument; the spawner reads it after aq_task_wait
 *    (the struct must outlive the task: a local of the waiting frame);
 * 3. something the task makes (a string): returned as a pointer to
 *    memory the task allocated, which the waiter frees.
 */
#include "example.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1. An integer. */
static void *count_words(void *arg)
{
    const char *text = arg;
    aq_yield();
    long n = 0;
    for (const char *p = text; *p; p++)
        n += !isspace((unsigned char)*p) &&
             (p == text || isspace((unsigned char)p[-1]));
    return (void *)(intptr_t)n;
}

/* 2. A struct the spawner owns: inputs in, results out. */
struct stats {
    const int *numbers;
    size_t n;
    int lo, hi;    /* out */
    double mean;   /* out */
};

static void *stats(void *arg)
{
    struct stats *s = arg;
    aq_yield();
    long sum = 0;
    s->lo = s->hi = s->numbers[0];
    for (size_t i = 0; i < s->n; i++) {
        int v = s->numbers[i];
        s->lo = v < s->lo ? v : s->lo;
        s->hi = v > s->hi ? v : s->hi;
        sum += v;
    }
    s->mean = (double)sum / (double)s->n;
    return NULL;
}

/* 3. Memory the task makes and the waiter frees (NULL: out of memory). */
static void *shout(void *arg)
{
    const char *word = arg;
    aq_yield();
    size_t len = strlen(word);
    char *out = malloc(len + 2);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)toupper((unsigned char)word[i]);
    memcpy(out + len, "!", 2);
    return out;
}

/* Spawns fn(arg), waits for it and gives back its result (NULL on an
 * error, reported by check()). */
static void *run_task(aq_task_fn fn, void *arg)
{
    aq_task *t;
    void *result = NULL;
    if (check(aq_spawn(&t, fn, arg), "aq_spawn"))
        return NULL;
    check(aq_task_wait(t, &result), "aq_task_wait");
    aq_task_release(t);
    return result;
}

static void *main_task(void *arg)
{
    (void)arg;
    long n = (long)(intptr_t)run_task(count_words, "the quick brown fox");
    printf("words: %ld\n", n);

    static const int numbers[] = {3, 1, 4, 1, 5};
    struct stats s = {.numbers = numbers, .n = 5};
    run_task(stats, &s);
    printf("min %d max %d mean %.2f\n", s.lo, s.hi, s.mean);

    char *loud = run_task(shout, "hello");
    if (!loud) {
        exit_status = 1;
        return NULL;
    }
    printf("shout: %s\n", loud);
    free(loud);
    return NULL;
}

int main(void)
{
    check(aq_run(main_task, NULL, NULL), "aq_run");
    return exit_status;
}
