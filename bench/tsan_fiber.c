/* What ThreadSanitizer's fiber calls cost (fiber.c's header quotes it):
 * 1,000 fibers made, switched to and back, destroyed. Not libaq: the
 * price libaq pays per fiber, which is why a task record keeps its fiber
 * and at most 128 live at once. Build and run:
 *   cc -O1 -fsanitize=thread bench/tsan_fiber.c -o /tmp/tsan_fiber &&
 *   /tmp/tsan_fiber */
#include <sanitizer/tsan_interface.h>
#include <stdio.h>
#include <time.h>

#define N 1000

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void)
{
    static void *f[N];
    void *me = __tsan_get_current_fiber();
    double t0 = now();
    for (int i = 0; i < N; i++)
        f[i] = __tsan_create_fiber(0);
    double t1 = now();
    for (int i = 0; i < N; i++) {
        __tsan_switch_to_fiber(f[i], 0);
        __tsan_switch_to_fiber(me, 0);
    }
    double t2 = now();
    for (int i = 0; i < N; i++)
        __tsan_destroy_fiber(f[i]);
    double t3 = now();
    printf("per fiber: create %.1f us, switch there and back %.2f us, "
           "destroy %.1f us\n",
           (t1 - t0) * 1e6 / N, (t2 - t1) * 1e6 / N, (t3 - t2) * 1e6 / N);
    return 0;
}
