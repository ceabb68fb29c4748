/* libaq - a Promela model of the cross-thread wake-up and hand-off
 * protocol of shared queues (src/thread/shared.c) and of the loop's inbox
 * of posts (src/thread/post.c, src/io/io.c, src/runtime/loop.c).
 * Checked exhaustively by tests/spin/run.sh. MIT licensed.
 *
 * WHAT IS MODELLED
 *
 * The code as of commit c1b7822, with src/thread/shared.c as changed
 * after it (putters that doze: not yet committed when this was written).
 * The inbox is a lock-free stack (`top`, pushed with a seq_cst CAS, taken
 * whole by the loop with an exchange);
 * an owned post's sender counts itself in `senders` around its push and
 * wake (aq__post_send_owned); a task's timer unlinks its wait at once on
 * the loop's thread (aq__timer_expire -> aq__task_abort -> the aq__foreign
 * record's abort hook, shared.c's task_abort: state ABORTED); a task
 * completed as its timer fired stays ready until its wake-up post has run
 * (task_wait's yield loop on w->delivered) and then returns the
 * completer's rc; s->mu is an aq__spinlock. A thread's put that waits on
 * a full queue (thread_wait with doze = 1) watches its futex word
 * (watch(), WATCH_PUT_NS), then turns it WORD_WAITING -> WORD_DOZING and
 * sleeps until `until`: the end of its doze (DOZE_NS), or its deadline if
 * that comes first; a completer that finds WORD_DOZING and moves the item
 * in (rc AQ_OK) does not FUTEX_WAKE it but links it on s->dozers
 * (w->dozing = 1), and a get that leaves the queue at most half full
 * (get_op: count <= limit / 2) or vt_shutdown wakes every dozer
 * (wake_dozers); a completer that fails the put (AQ_ESHUTDOWN) wakes it
 * at once. A thread that finds WORD_DONE takes s->mu and leaves s->dozers
 * if still on it; one whose doze ended turns WORD_DOZING -> WORD_ASLEEP
 * (or finds WORD_DONE) and sleeps until its deadline; at the deadline it
 * takes s->mu and unlinks itself if PENDING, else takes the result. Each
 * model step names, in a comment, the C function and the action it stands
 * for.
 *
 * The system:
 * - NP = 2 producer threads, each putting K distinct items with the thread
 *   face (aq_queue_thread_put -> put_op(AS_THREAD)) into a shared FIFO
 *   queue of capacity 1. Producer 1 has no deadline (aq_queue_thread_put);
 *   producer 2 has one (aq_queue_thread_put_until) that may pass at any
 *   moment: before it links its record (may_wait), or while it waits on
 *   its futex word, racing the consumer's hand-off to it. Each wait dozes
 *   first (WORD_DOZING); the doze's end (DOZE_NS) is a timeout that may
 *   fire at any moment of the doze. For producer 2 the deadline comes
 *   after the doze's end (until = end), or, with -DDL_IN_DOZE=1, possibly
 *   within it (until = d: the deadline ends the doze, word WORD_DOZING):
 *   see FIXED BUG below.
 * - One loop thread running one consumer task (aq_run's main task) that
 *   gets until AQ_ESHUTDOWN (aq_queue_get / aq_queue_get_until ->
 *   get_op(AS_TASK)). Each get chooses whether it has a deadline; one that
 *   has may pass at any moment (a nondeterministic timer), racing a
 *   producer's hand-off or the shutdown's completion. While the task is
 *   parked the loop runs its iterations (loop.c: run): aq__timer_expire,
 *   maybe a poll with timeout 0 (AQ__POLL_EVERY, abstracted as "any
 *   iteration may"), and idle() = io_poll with the time to the deadline
 *   or no limit: may_sleep (its watch of `top`, then `sleeping` and `top`),
 *   epoll_wait, dispatch, run_posts; or, when the watch saw a post
 *   (may_sleep returned -1), run_posts without the poller (io_poll's
 *   `unpolled` abstracted: either way may happen).
 * - A main thread that joins both producers, then shuts the queue down
 *   (aq_queue_shutdown -> vt_shutdown: complete_all on the getters and
 *   the putters, wake_dozers), which ends the consumer; the loop then
 *   returns and aq_loop_free frees the inbox (io_destroy -> inbox_free:
 *   open = 0, wait_senders, take_all, wait_senders, free). With
 *   -DSHUT_RACE=1 it shuts the queue down first, at any moment, and then
 *   joins: the shutdown races the puts (a putter linked, asleep or
 *   dozing gets AQ_ESHUTDOWN; a dozer is woken by vt_shutdown; later puts
 *   fail), and the consumer drains what is left. run.sh checks this
 *   variant too, with K = 1.
 *
 * Properties (assertions, plus SPIN's invalid end state check):
 * 1. No lost wake-up: every run ends with every process at its end. A
 *    lost wake-up leaves the loop in epoll_wait with no limit (a get
 *    without deadline) or a producer in FUTEX_WAIT (producer 1) for ever,
 *    after everything else has ended: an invalid end state. (A wait with a
 *    deadline is never stuck: its deadline ends it. Nor is a doze, whose
 *    end may come at any moment: a dozing putter whose put completed is
 *    woken by wake_dozers or by its doze's end. With -DDOZE_TIMEOUT=0 a
 *    doze never ends, and a dozer left on s->dozers is an invalid end
 *    state: wake_dozers alone must wake every dozer while the consumer
 *    drains the queue.)
 * 2. No item lost or doubled, the count conserved: each item is got at
 *    most once, in its producer's order, and at the end (once every
 *    thread has returned) got exactly once if its put returned AQ_OK and
 *    never if it returned anything else (AQ_ETIMEDOUT, AQ_ESHUTDOWN), and
 *    the queue is empty.
 * 3. No deadlock: the invalid-end-state check (all processes must end).
 * 4. Completed beats timed out: when a wait returns, if its record was
 *    completed (state DONE) it returns the completer's rc; a record is
 *    completed only while PENDING, and an ABORTED one moved nothing.
 * 5. Lifetimes: nobody touches a waiter record (or its owned post) after
 *    its frame returned, no owned post is still on the inbox when its
 *    frame returns, and no sender touches the inbox (`sleeping`, the
 *    eventfd, `senders`) after aq_loop_free freed it.
 * 6. A task completed as its timer fired gets its wake-up at the loop's
 *    next poll: task_wait's yield loop ends after one poll(l, 0).
 * 7. Dozers: when a put returns its record is on no list of the queue
 *    (s->putters, s->dozers), and whoever links, pops or wakes a dozer
 *    (complete, wake_dozers) finds its frame alive: no FUTEX_WAKE or list
 *    write into a dead frame.
 * 8. A completed put is never reported failed (property 4, for threads:
 *    DONE with AQ_OK returns AQ_OK), and a put reported failed moved
 *    nothing (its item is not in the queue, not in the consumer's `out`,
 *    and never got).
 *
 * WHAT IS NOT MODELLED
 *
 * - Posts other than the consumer's owned wake-up post: aq_loop_post, the
 *   reserved posts of aq__post_reserve / aq__post_send (in->mu and
 *   `promised`, inbox_free's condition wait and its running of reserved
 *   posts), aq_loop_stop. So the stack holds at most one post, and the
 *   reversal in take_all is not modelled. `open` is only read by
 *   aq_loop_post and aq_loop_stop, so its store in inbox_free is not
 *   modelled either.
 * - complete()'s direct deliver(w), for a completer running in a task of
 *   the waiter's own loop: the only completers of the consumer here are
 *   threads (producers, main).
 * - Cancellation (aq_task_cancel -> aq__task_abort takes the same path as
 *   the timer, on the loop's thread, so the timer stands for both), timeout
 *   scopes, outcome()'s mapping to AQ_ECANCELED, select, join_op and
 *   vt_task_done, the rendezvous queue, compact tasks, task_ready_to_wait's
 *   failure, aq_loop_free with tasks still waiting (finish_all), and
 *   spurious returns of epoll_wait (EINTR: just another iteration).
 * - The adaptive length of may_sleep's watch (spin_ns) and io_poll's
 *   `unpolled` count: the watch may see a post or not, and a watch that
 *   saw one may or may not skip the poller.
 * - Likewise the lengths of thread_wait's watch (WATCH_PUT_NS) and doze
 *   (DOZE_NS): the watch is one read, the doze may end at any moment.
 * - Getters that are threads (thread_wait with doze = 0: WORD_ASLEEP at
 *   once): the consumer is a task. Queues larger than 1: with capacity 1,
 *   get_op's "count <= limit / 2" (1 / 2 == 0) holds exactly when the get
 *   leaves the queue empty, and s->dozers holds at most the NP producers.
 * - vt_free (AQ_EBUSY while s->dozers is not empty): the queue is not
 *   freed here; property 7 checks, at each put's return, what would make
 *   a free unsafe.
 *
 * THE ABSTRACTION
 *
 * - Promela is sequentially consistent: every shared variable access is
 *   one step of one global interleaving. The argument of post.c's header
 *   (two seq_cst writes each followed by a seq_cst read of the other's
 *   variable: at least one read sees the other write) holds in C because
 *   the code uses seq_cst exactly there: inbox_send's CAS on `top` and
 *   wake's load of `sleeping` (sender), may_sleep's store of `sleeping`
 *   and load of `top` (loop). The other atomics the model treats as SC are
 *   weaker in C, and the model relies on nothing more of them than C
 *   gives: run_posts' relaxed store of sleeping = 0 can only reach a
 *   sender late (a spare eventfd write: a spurious wake-up); its relaxed
 *   load of `top` and may_sleep's relaxed watch can only read an older
 *   value (NULL: the post then waits for the next may_sleep, whose
 *   accesses are seq_cst; and a loop that already read the post through a
 *   seq_cst load, or was woken by the eventfd written after the push, or
 *   saw the completer's DONE under s->mu, reads it again), and a non-NULL
 *   value they read stays non-NULL until the loop, the only taker, takes
 *   it; the futex word is release/acquire: the completer writes state and
 *   rc before its exchange, and the thread reads rc only after it sees
 *   WORD_DONE.
 * - s->mu (an aq__spinlock: test-and-test-and-set, acquire/release) is a
 *   lock; a critical section that touches only what the lock guards (plus
 *   the owner's locals and variables nobody else can read meanwhile) is
 *   one atomic step. Sections that do more are split into one step per
 *   access outside the lock's guard: complete() of a task pushes the post
 *   (the CAS, the last action of the holder's atomic step, since nothing
 *   before it is visible to another thread: see complete_task) and then
 *   wakes (sleeping, the eventfd, senders) under s->mu; complete() of a
 *   thread exchanges the futex word (last action of the step; linking a
 *   dozer on s->dozers and w->dozing come after it in the same step: only
 *   read under s->mu), then FUTEX_WAKEs under s->mu; wake_dozers pops
 *   every dozer and clears its dozing in the holder's atomic step, then
 *   FUTEX_WAKEs each in a step of its own, still under s->mu.
 * - The inbox's CAS loop (relaxed load of top, link, CAS, retry) is one
 *   step: its successful CAS. run_posts' relaxed look at `top` and
 *   take_all's exchange are one step: only the loop takes, so a post seen
 *   is still there, and a push after a look that saw NULL is a push after
 *   run_posts returned.
 * - The eventfd is armed edge-triggered (epoll.c): `efd` is "an edge not
 *   yet reported"; write sets it, an epoll_wait that reports it clears it
 *   (dispatch then reads the counter; a write between the report and the
 *   read leaves a new edge, and the next epoll_wait returns at once, as
 *   here). epoll_wait with no limit blocks until efd is set; with a
 *   deadline armed it may also return at any moment (the deadline passed,
 *   or not quite: loop.c then just iterates).
 * - A futex is a flag "asleep in FUTEX_WAIT": FUTEX_WAIT compares the word
 *   and sets it in one step (EAGAIN if the word changed); FUTEX_WAKE
 *   clears it; the wait also returns at `until` (ETIMEDOUT): the doze's
 *   end, at any moment of the doze (DOZE_TIMEOUT), or the deadline
 *   (producer 2), and, at most once per put, spuriously (EINTR). Only a
 *   bounded number of spurious returns: were one always possible, a
 *   thread that nobody wakes would never look stuck to the end-state
 *   check.
 * - Likewise every other nondeterministic escape of a blocked process is
 *   a real one (a deadline, a doze's end). The loop's "poll(l, 0) in any
 *   iteration" is chosen before it would block, never from inside
 *   epoll_wait. The doze's end being always possible, a dozer that
 *   nothing else wakes is not an invalid end state in the default search
 *   (DOZE_NS guarantees progress; a dozer that waits for it is slow, not
 *   stuck); -DDOZE_TIMEOUT=0 takes the doze's end away, to check that
 *   wake_dozers alone wakes every dozer.
 * - Loop iterations that change nothing the model tracks (no timer due,
 *   no poll) are left out: while the task yields in task_wait, only the
 *   iteration with AQ__POLL_EVERY's poll(l, 0) is modelled (property 6
 *   says it is the last).
 * - Variables only the loop thread touches are locals of proctype Loop;
 *   ghost variables (p_alive, g_alive, inbox_alive, put_rc, got, cdone,
 *   ...) only observe. A record's fields are cleared when its frame is
 *   gone, and a local when it is dead (Loop's p and old, Producer's err,
 *   sleepw, dozeto): nothing reads them then (the p_alive and g_alive
 *   assertions check it), and stale values would only multiply the
 *   states.
 *
 * Options (spin -DNAME=VALUE): K, the items per producer (default 2);
 * DOZE_TIMEOUT (1: a doze may end at any moment; 0: never);
 * DL_IN_DOZE (0: producer 2's deadline comes after its doze's end; 1, the
 * default: it may come within it, FIXED BUG below); SHUT_RACE (0: main joins the
 * producers, then shuts the queue down; 1: it shuts it down at any
 * moment, then joins).
 *
 * FIXED BUG (found by this model and by test_thread_stress; DL_IN_DOZE=0
 * would hide the case). When a putter's deadline d comes before its doze
 * would end,
 * thread_wait sleeps on WORD_DOZING with until = d, and at ETIMEDOUT takes
 * the deadline branch (until == d). If the word was still WORD_DOZING at
 * its load but a get refilled from this putter before it took s->mu,
 * complete(p, AQ_OK) found WORD_DOZING and linked the record on
 * s->dozers (dozing = 1); the deadline branch sees state DONE, takes
 * w->rc (AQ_OK) and returns without leaving s->dozers: its dead frame
 * stays on the list, and the next wake_dozers (a get that empties the
 * queue, or vt_shutdown) unlinks it and FUTEX_WAKEs its word (a write to
 * a dead stack frame); vt_free reports AQ_EBUSY meanwhile. Property 7
 * failed. shared.c now leaves s->dozers in that branch too (if
 * (w->dozing) aq__list_remove(&w->link) where it takes w->rc), and so does
 * the model, with DL_IN_DOZE=1 the default.
 *
 * The model's teeth, checked by hand on mutated copies outside tests/spin/
 * (each must make run.sh fail): the sender skips wake()'s eventfd write
 * (a lost wake-up: the loop stays in epoll_wait); may_sleep loads `top`
 * before it stores `sleeping` (likewise); aq__post_send_owned without the
 * senders count (a write to the freed inbox); task_wait returning
 * aq__park's rc when delivered (completed beats timed out); task_wait
 * returning at once when DONE (its post outlives its frame); task_abort
 * aborting a record it finds DONE; thread_wait returning on WORD_DONE
 * without leaving s->dozers (property 7: wake_dozers FUTEX_WAKEs a dead
 * frame). Two mutants only make a dozer wait for its doze's end, which
 * the default search cannot tell from a correct run (a doze may end at any
 * moment): get_op never calling wake_dozers (passes; with
 * -DDOZE_TIMEOUT=0, an invalid end state: the dozer sleeps for ever), and
 * complete() not waking a WORD_DOZING thread whose put it fails (passes;
 * with -DDOZE_TIMEOUT=0 -DSHUT_RACE=1 -DK=1, an invalid end state: a
 * putter failed by vt_shutdown sleeps for ever).
 */

#ifndef K
#define K 2
#endif
#define NP 2
#define NITEMS (NP * K)
#ifndef DOZE_TIMEOUT
#define DOZE_TIMEOUT 1 /* a doze may end (DOZE_NS) at any moment */
#endif
#ifndef DL_IN_DOZE
#define DL_IN_DOZE 1   /* producer 2's deadline may come within its doze */
#endif
#ifndef SHUT_RACE
#define SHUT_RACE 0    /* main shuts the queue down before it joins */
#endif

/* return codes */
#define OK 0
#define ETIMEDOUT 1
#define ESHUTDOWN 2
#define EAGAIN 3
#define EINTR 4
#define NORC 255 /* put not returned yet */

/* xwaiter.state */
#define PENDING 0
#define DONE 1
#define ABORTED 2

/* xwaiter.word */
#define WORD_WAITING 0
#define WORD_DONE 1
#define WORD_ASLEEP 2
#define WORD_DOZING 3

/* aq__task_state */
#define T_RUNNING 0
#define T_WAITING 1
#define T_READY 2
#define T_DONE 3

/* holders of s->mu (producers are 1..NP) */
#define MAIN_ID 3
#define LOOP_ID 4

/* ---- the shared queue (struct shared), guarded by s->mu ---------------- */
byte mu;            /* s->mu (aq__spinlock held): 0 free, else its holder */
byte qitem;         /* the inner queue (capacity 1): its item, 0 if empty */
bool qshut;         /* the inner queue is shut down */
bool glinked;       /* the consumer's xwaiter is on s->getters */
byte plist[NP];     /* s->putters, oldest first: producer ids */
byte plen;
byte dlist[NP];     /* s->dozers, oldest first: producer ids */
byte dlen;

/* the consumer task's xwaiter (in get_op's frame) */
bool g_alive;       /* ghost: its frame exists */
byte g_state;       /* PENDING / DONE / ABORTED (s->mu) */
byte g_rc;          /* set with DONE (s->mu) */
byte cbuf;          /* the get's `out`: aq__queue_hand_over writes it */

/* each producer's xwaiter (in put_op's frame) */
bool p_alive[NP + 1];  /* ghost: its frame exists */
bool p_state[NP + 1];  /* PENDING / DONE (a thread's is never ABORTED) */
byte p_rc[NP + 1];
byte p_word[NP + 1];   /* _Atomic unsigned word */
byte p_item[NP + 1];   /* w.buf */
bool p_futex[NP + 1];  /* the thread is asleep in FUTEX_WAIT on word */
bool p_dozing[NP + 1]; /* w->dozing: DONE and on s->dozers (s->mu) */
bool pdone[NP + 1];    /* the thread has returned (pthread_join) */

/* ---- the loop's inbox (struct inbox) and wake-up fd -------------------- */
bool top;              /* in->top != NULL: the consumer's owned post is on
                          the stack (the only post there is) */
bool inbox_alive = 1;  /* ghost: aq_loop_free has not freed it */
bool sleeping;         /* _Atomic int sleeping */
bool efd;              /* an edge of the eventfd epoll has not reported */
byte senders;          /* _Atomic int senders */

/* ---- accounting (ghost) ------------------------------------------------ */
byte put_rc[NITEMS + 1];  /* what each item's put returned */
byte got[NITEMS + 1];     /* how many times each item was got */
byte last_got[NP + 1];    /* per producer: index + 1 of its last item got */
bool cdone;               /* the consumer has returned */

inline plist_push(t)
{
    plist[plen] = t;
    plen++
}

inline plist_pop(t) /* aq__list_pop_front (NP == 2) */
{
    t = plist[0];
    plist[0] = plist[1];
    plist[1] = 0;
    plen--
}

inline plist_remove(t) /* aq__list_remove (NP == 2) */
{
    if
    :: plist[0] == t -> plist[0] = plist[1]
    :: else -> assert(plist[1] == t)
    fi;
    plist[1] = 0;
    plen--
}

inline dlist_remove(t) /* aq__list_remove on s->dozers (NP == 2) */
{
    if
    :: dlist[0] == t -> dlist[0] = dlist[1]
    :: else -> assert(dlist[1] == t)
    fi;
    dlist[1] = 0;
    dlen--
}

/* complete(p, rc) on a producer's xwaiter (already unlinked by the
 * caller, who holds s->mu), up to and with the exchange of its word: part
 * of the caller's atomic step (state, rc, dozers and dozing are read by
 * the thread only under s->mu, or after it saw WORD_DONE: the exchange,
 * the last action here, is the only one another thread can see). `old`:
 * what the exchange returned. */
inline complete_thread(p, rc_, old)
{
    /* complete: w->state = DONE; w->rc = rc (a waiter is completed only
     * while PENDING: it was on a list) */
    assert(p_alive[p] && p_state[p] == PENDING);
    p_state[p] = DONE;
    p_rc[p] = rc_;
    /* complete: was = atomic_exchange(&w->word, WORD_DONE, release); if
     * (was == WORD_DOZING && rc == AQ_OK) { aq__list_push_back(
     * &w->s->dozers, &w->link); w->dozing = 1; } */
    old = p_word[p];
    p_word[p] = WORD_DONE;
    if
    :: old == WORD_DOZING && rc_ == OK ->
        dlist[dlen] = p; dlen++;
        p_dozing[p] = 1
    :: else -> skip
    fi
}

/* The rest of complete(p, rc) on a producer: else if (was == WORD_ASLEEP
 * || was == WORD_DOZING) syscall(SYS_futex, &w->word, FUTEX_WAKE_PRIVATE),
 * still under s->mu; a step of its own. */
inline complete_thread_wake(p, rc_, old)
{
    if
    :: old == WORD_ASLEEP || (old == WORD_DOZING && rc_ != OK) ->
        atomic { assert(p_alive[p]); p_futex[p] = 0 }
    :: else -> skip
    fi
}

/* wake_dozers(s), under s->mu: while (dozers) { w = pop(dozers);
 * w->dozing = 0; syscall(SYS_futex, &w->word, FUTEX_WAKE_PRIVATE); }.
 * The pops and the dozing stores are in the caller's atomic step
 * (dozers_take: nobody reads them without s->mu); each FUTEX_WAKE is a
 * step of its own (dozers_wake). wk1, wk2: the dozers popped, in order. */
inline dozers_take(wk1, wk2)
{
    wk1 = dlist[0];
    wk2 = dlist[1];
    assert(p_alive[wk1] && p_dozing[wk1]);
    p_dozing[wk1] = 0;
    if
    :: wk2 != 0 -> assert(p_alive[wk2] && p_dozing[wk2]); p_dozing[wk2] = 0
    :: else -> skip
    fi;
    dlist[0] = 0;
    dlist[1] = 0;
    dlen = 0
}

inline dozers_wake(wk1, wk2)
{
    atomic { assert(p_alive[wk1]); p_futex[wk1] = 0; wk1 = 0 };
    if
    :: wk2 != 0 -> atomic { assert(p_alive[wk2]); p_futex[wk2] = 0; wk2 = 0 }
    :: else -> skip
    fi
}

/* complete(g, rc) on the consumer's xwaiter (already unlinked by the
 * caller, who holds s->mu), by a thread (aq__cur NULL), up to and with
 * inbox_send's CAS. Part of the caller's atomic step: w's fields are
 * written under s->mu, and the loop reads them (task_abort, task_wait)
 * under s->mu or (deliver) only after it took the post; `senders` is read
 * only by inbox_free, which cannot run while the task waits; so the CAS,
 * the last action here, is the only one another thread can see. */
inline complete_task(rc_)
{
    /* complete: w->state = DONE; w->rc = rc (a waiter is completed only
     * while PENDING: it was on a list) */
    assert(g_alive && g_state == PENDING);
    g_state = DONE;
    g_rc = rc_;
    /* complete: w->task, not aq__cur's loop -> aq__post_send_owned(w->loop,
     * &w->post): in = atomic_load(&l->inbox, acquire);
     * atomic_fetch_add(&in->senders, 1) (seq_cst) */
    assert(inbox_alive);
    senders++;
    /* aq__post_send_owned: p->kind = AQ__POST_OWNED; inbox_send:
     * reserved = p->kind == AQ__POST_RESERVED;
     * top = atomic_load(&in->top, relaxed); do p->next = top; while
     * (!atomic_compare_exchange_weak(&in->top, &top, p, seq_cst)) */
    assert(!top);
    top = 1
}

/* The rest of aq__post_send_owned after the push: inbox_send's wake() and
 * the senders decrement, run by the completer, still under s->mu. */
inline owned_send_tail()
{
    /* inbox_send: !reserved -> wake(l, in): atomic_load(&in->sleeping)
     * (seq_cst) */
    atomic { assert(inbox_alive); sl = sleeping };
    /* wake: write(((aq__io *)l->io)->wakefd, &one, 8), only if it was
     * set */
    if
    :: sl -> atomic { assert(inbox_alive); efd = 1; sl = 0 }
    :: else -> skip
    fi;
    /* aq__post_send_owned: atomic_fetch_sub(&in->senders, 1) (seq_cst) */
    atomic { assert(inbox_alive); senders-- }
}

/* ---- a producer thread ------------------------------------------------- */

proctype Producer(byte t; bool has_dl)
{
    byte k, item, rc, path, err, sleepw;
    bool sl, fin, intr, dozeto;

    k = 0;
    do
    :: k == K -> break
    :: k < K ->
        item = (t - 1) * K + k + 1;
        fin = 0;
        intr = 0;
        /* aq_queue_thread_put[_until] -> put_op(h, item, NULL, AS_THREAD,
         * d): aq__spin_lock(&s->mu) */
        atomic {
            mu == 0 -> mu = t;
            if
            :: glinked ->
                /* put_op: !aq__list_empty(&s->getters): g = pop(getters);
                 * aq__queue_hand_over(s->q, g->buf, item) */
                glinked = 0;
                assert(g_alive);
                cbuf = item;
                /* put_op: complete(g, AQ_OK) */
                complete_task(OK);
                rc = OK;
                path = 1
            :: else ->
                /* put_op: aq__queue_put_one(s->q, item, NULL, AQ_NEVER) */
                if
                :: qshut -> rc = ESHUTDOWN; path = 0; mu = 0
                :: !qshut && qitem == 0 ->
                    qitem = item; rc = OK; path = 0;
                    mu = 0 /* put_op: aq__spin_unlock(&s->mu) */
                :: !qshut && qitem != 0 ->
                    /* AQ_EFULL: may_wait(NULL, AS_THREAD, &d) */
                    if
                    :: has_dl -> /* *d <= aq_now(): AQ_ETIMEDOUT */
                        rc = ETIMEDOUT; path = 0; mu = 0
                    :: true ->
                        /* put_op: xwaiter w; w.buf = item;
                         * aq__list_push_back(&s->putters, &w.link);
                         * wait(..., doze = 1): w->state = PENDING;
                         * thread_wait: w->task = NULL; w->s = s;
                         * w->dozing = 0; atomic_init(&w->word,
                         * WORD_WAITING); aq__spin_unlock(&s->mu) */
                        plist_push(t);
                        p_item[t] = item;
                        p_state[t] = PENDING;
                        p_rc[t] = OK;
                        p_word[t] = WORD_WAITING;
                        p_alive[t] = 1;
                        path = 2;
                        mu = 0
                    fi
                fi
            fi
        }
        if
        :: path == 1 ->
            /* complete -> aq__post_send_owned: the wake and the senders
             * decrement */
            owned_send_tail();
            /* put_op: aq__spin_unlock(&s->mu) */
            mu = 0
        :: path == 2 ->
            /* thread_wait(s, &w, d, doze = 1): watch(w, WATCH_PUT_NS): its
             * atomic_load(&w->word, acquire) == WORD_DONE -> return w->rc.
             * (Its reads are one: until the thread's own CAS below, the
             * word only moves from WORD_WAITING to WORD_DONE, and a read
             * that misses it is followed by that CAS.) */
            atomic {
                if
                :: p_word[t] == WORD_DONE -> rc = p_rc[t]; fin = 1
                :: else -> skip
                fi
            }
            if
            :: !fin ->
                /* thread_wait: sleep = doze ? WORD_DOZING : WORD_ASLEEP;
                 * atomic_compare_exchange_strong(&w->word, WORD_WAITING ->
                 * sleep); failure: return w->rc (WORD_DONE meanwhile) */
                atomic {
                    if
                    :: p_word[t] == WORD_WAITING ->
                        p_word[t] = WORD_DOZING; sleepw = WORD_DOZING;
                        /* thread_wait: until = d; if (doze) { end =
                         * aq_now() + DOZE_NS; if (d == AQ_NEVER || end <
                         * d) until = end; }  dozeto: until != d */
                        if
                        :: dozeto = 1 /* AQ_NEVER, or the doze ends first */
                        :: DL_IN_DOZE && has_dl ->
                            dozeto = 0 /* d within DOZE_NS: until = d */
                        fi
                    :: else -> rc = p_rc[t]; fin = 1
                    fi
                }
            :: else -> skip
            fi;
            do
            :: fin -> break
            :: !fin ->
                /* thread_wait: futex_wait(&w->word, sleep, until):
                 * syscall(SYS_futex, FUTEX_WAIT_BITSET_PRIVATE, sleep,
                 * until): compares the word and sleeps, or fails with
                 * EAGAIN */
                atomic {
                    if
                    :: p_word[t] == sleepw -> p_futex[t] = 1; err = OK
                    :: else -> err = EAGAIN
                    fi
                }
                if
                :: err == OK ->
                    if
                    :: atomic { !p_futex[t] -> skip } /* FUTEX_WAKE: 0 */
                    :: (dozeto && DOZE_TIMEOUT) || (!dozeto && has_dl) ->
                        /* `until` passes: the doze's end (at any time: a
                         * nondeterministic timeout), or the deadline */
                        atomic {
                            if
                            :: p_futex[t] -> p_futex[t] = 0; err = ETIMEDOUT
                            :: else -> skip /* woken first: returns 0 */
                            fi
                        }
                    :: atomic {
                           /* a signal (EINTR): at most once per put, so
                            * that a thread left asleep for ever is seen */
                           p_futex[t] && !intr ->
                           p_futex[t] = 0; err = EINTR; intr = 1
                       }
                    fi
                :: else -> skip
                fi;
                /* thread_wait: atomic_load(&w->word, acquire) ==
                 * WORD_DONE */
                if
                :: p_word[t] == WORD_DONE ->
                    /* thread_wait: aq__spin_lock(&s->mu); if (w->dozing)
                     * aq__list_remove(&w->link) (the doze ran out before
                     * wake_dozers); aq__spin_unlock(&s->mu); return
                     * w->rc */
                    atomic {
                        mu == 0 ->
                        if
                        :: p_dozing[t] -> dlist_remove(t)
                        :: else -> skip
                        fi;
                        rc = p_rc[t];
                        fin = 1
                    }
                :: else ->
                    if
                    :: err == ETIMEDOUT && dozeto ->
                        /* thread_wait: err == ETIMEDOUT && until != d: the
                         * doze is over: atomic_compare_exchange_strong(
                         * &w->word, WORD_DOZING -> WORD_ASLEEP); failure:
                         * continue (WORD_DONE meanwhile: futex_wait then
                         * fails with EAGAIN, and the DONE path above runs);
                         * success: sleep = WORD_ASLEEP; until = d */
                        atomic {
                            if
                            :: p_word[t] == WORD_DOZING ->
                                p_word[t] = WORD_ASLEEP;
                                sleepw = WORD_ASLEEP;
                                dozeto = 0
                            :: else -> skip
                            fi
                        }
                    :: err == ETIMEDOUT && !dozeto ->
                        /* thread_wait: the deadline: rc = AQ_ETIMEDOUT;
                         * aq__spin_lock(&s->mu); if (w->state == PENDING
                         * || w->dozing) aq__list_remove(&w->link); if
                         * (w->state != PENDING) rc = w->rc;
                         * aq__spin_unlock(&s->mu). (The word may be
                         * WORD_DOZING here, and a completer may have
                         * linked w on s->dozers since the load above:
                         * hence the dozing test, FIXED BUG in the
                         * header) */
                        atomic {
                            mu == 0 ->
                            if
                            :: p_state[t] == PENDING ->
                                plist_remove(t); rc = ETIMEDOUT
                            :: else ->
                                if
                                :: p_dozing[t] -> dlist_remove(t)
                                :: else -> skip
                                fi;
                                rc = p_rc[t]
                            fi;
                            fin = 1
                        }
                    :: else -> skip /* EINTR: futex_wait again (EAGAIN
                                     * and a wake-up, by complete or
                                     * wake_dozers, imply WORD_DONE) */
                    fi
                fi
            od;
            /* thread_wait returns, put_op's frame (w) is gone. Property 4:
             * completed beats timed out. Property 7: the record is on no
             * list of the queue (not on s->dozers: wake_dozers would write
             * into a dead frame) */
            atomic {
                assert(p_state[t] != DONE || rc == p_rc[t]);
                assert(dlist[0] != t && dlist[1] != t);
                assert(plist[0] != t && plist[1] != t);
                /* (the frame's fields are dead: cleared, so that the
                 * states differ only in what can still be read) */
                p_alive[t] = 0;
                p_state[t] = PENDING; p_rc[t] = OK; p_word[t] = 0;
                p_item[t] = 0; p_dozing[t] = 0;
                sleepw = 0; dozeto = 0; err = 0
            }
        :: else -> skip
        fi;
        /* Property 8: a put reported failed moved nothing */
        atomic {
            assert(rc == OK ||
                   got[item] == 0 && qitem != item && cbuf != item);
            put_rc[item] = rc
        };
        k++
    od;
    pdone[t] = 1
}

/* ---- the main thread: joins the producers, shuts the queue down -------- */

proctype Main()
{
    bool sl, sending;
    byte p, old, wk1, wk2, i;

#if !SHUT_RACE
    /* pthread_join(producer 1); pthread_join(producer 2) */
    (pdone[1] && pdone[2]);
#endif
    /* aq_queue_shutdown(q, 0) -> vt_shutdown: aq__spin_lock(&s->mu);
     * aq_queue_shutdown(s->q, 0) */
    atomic {
        mu == 0 -> mu = MAIN_ID;
        qshut = 1;
        /* vt_shutdown: complete_all(&s->getters, AQ_ESHUTDOWN): pop(l);
         * complete(w, AQ_ESHUTDOWN) */
        if
        :: glinked -> glinked = 0; complete_task(ESHUTDOWN); sending = 1
        :: else -> skip
        fi
    }
    if
    :: sending ->
        /* complete -> aq__post_send_owned: the wake and the senders
         * decrement */
        owned_send_tail()
    :: else -> skip
    fi;
#if !SHUT_RACE
    /* both producers have returned: no putter, no dozer (property 7) */
    assert(plen == 0 && dlen == 0);
#endif
    /* vt_shutdown: complete_all(&s->putters, AQ_ESHUTDOWN): pop(l);
     * complete(w, AQ_ESHUTDOWN) */
    do
    :: atomic { plen > 0 -> plist_pop(p); complete_thread(p, ESHUTDOWN, old) };
       complete_thread_wake(p, ESHUTDOWN, old)
    :: atomic { plen == 0 -> p = 0; old = 0 }; break
    od;
    /* vt_shutdown: wake_dozers(s) (nothing more to refill);
     * aq__spin_unlock(&s->mu) */
    atomic {
        if
        :: dlen > 0 -> dozers_take(wk1, wk2)
        :: else -> mu = 0
        fi
    }
    if
    :: wk1 != 0 -> dozers_wake(wk1, wk2); mu = 0
    :: else -> skip
    fi;

#if SHUT_RACE
    /* pthread_join(producer 1); pthread_join(producer 2) */
    (pdone[1] && pdone[2]);
#endif
    /* (ghost) once the producers and the consumer have returned.
     * Property 2: every put that returned AQ_OK was got exactly once; no
     * other item was got; nothing is left in the queue */
    atomic {
        cdone ->
        i = 1;
        do
        :: i > NITEMS -> break
        :: i <= NITEMS ->
            assert(put_rc[i] != NORC);
            assert((put_rc[i] == OK && got[i] == 1) ||
                   (put_rc[i] != OK && got[i] == 0));
            i++
        od;
        assert(qitem == 0 && plen == 0 && dlen == 0);
        i = 0
    }
}

/* ---- the loop thread and its one task, the consumer -------------------- */

/* run_posts(l) (io->after_poll), on the loop's thread. */
inline run_posts()
{
    /* run_posts: atomic_store_explicit(&in->sleeping, 0, relaxed) */
    sleeping = 0;
    /* run_posts: atomic_load_explicit(&in->top, relaxed) == NULL ->
     * return; else take_all(in): atomic_exchange(&in->top, NULL, acquire)
     * (and its reversal, of one post here) */
    atomic { taken = top; top = 0 };
    if
    :: taken ->
        /* run_posts: owned = p->kind == AQ__POST_OWNED; p->fn(p->arg) =
         * deliver(w): w->delivered = 1; if (w->task->state ==
         * AQ__WAITING) aq__task_wake(w->task, w->rc): aq__timer_remove,
         * t->wait_rc = rc, aq__ready_push. (owned: not aq__free'd) */
        assert(g_alive);
        g_delivered = 1;
        if
        :: tstate == T_WAITING ->
            timer_armed = 0; wait_rc = g_rc; tstate = T_READY
        :: else -> skip /* it stopped waiting first */
        fi;
        taken = 0
    :: else -> skip
    fi
}

/* io_poll(l, 0) (run: the poll of AQ__POLL_EVERY; or idle() with its
 * deadline due): timeout_ns == 0, so no may_sleep; io->unpolled = 0;
 * aq__poller_wait(io->poller, 0, dispatch, io): epoll_wait reports the
 * eventfd's edge if one is pending, and dispatch (AQ__IO_WAKE_TAG)
 * read(io->wakefd)s it; then io->after_poll(l) = run_posts */
inline poll0()
{
    efd = 0;
    run_posts()
}

proctype Loop()
{
    byte item, rc, p, old, wk1, wk2;
    bool has_dl, fin, blocking, direct, taken, done, yielded;
    /* the loop thread's own state */
    byte tstate = T_RUNNING; /* the consumer task's aq__task_state */
    byte wait_rc;            /* t->wait_rc */
    bool timer_armed;        /* the task is on the timer heap */
    bool g_delivered;        /* w->delivered (loop thread only) */

    do
    :: /* the consumer: one aq_queue_get_until(q, &out, d), with a
        * deadline or without (d == AQ_NEVER) */
        if
        :: has_dl = 1
        :: has_dl = 0
        fi;
        fin = 0; item = 0; p = 0;
        /* get_op(h, out, self, AS_TASK, d): task_ready_to_wait ->
         * aq__inbox_open (the inbox is open); aq__spin_lock(&s->mu) */
        atomic {
            mu == 0 -> mu = LOOP_ID;
            /* get_op: aq__queue_get_one(s->q, out, NULL, AQ_NEVER) */
            if
            :: qitem != 0 ->
                item = qitem; qitem = 0; rc = OK; fin = 1;
                if
                :: plen > 0 ->
                    /* get_op: rc == AQ_OK && putters: p = pop(putters);
                     * aq__queue_refill(s->q, p->buf) */
                    plist_pop(p);
                    assert(p_alive[p]);
                    qitem = p_item[p];
                    /* get_op: complete(p, AQ_OK) */
                    complete_thread(p, OK, old)
                :: plen == 0 && dlen > 0 ->
                    /* get_op: rc == AQ_OK && dozers && s->q->count (0) <=
                     * s->q->limit / 2 (1 / 2 == 0): wake_dozers(s) */
                    dozers_take(wk1, wk2)
                :: else ->
                    mu = 0 /* get_op: aq__spin_unlock(&s->mu) */
                fi
            :: qitem == 0 && qshut ->
                /* AQ_ESHUTDOWN */
                rc = ESHUTDOWN; fin = 1; mu = 0
            :: qitem == 0 && !qshut ->
                /* AQ_EEMPTY; putters wait only on a full queue, so the
                 * rendezvous branch (EEMPTY && putters) cannot apply */
                assert(plen == 0);
                /* may_wait -> aq__park_begin: d <= aq_now() */
                if
                :: has_dl -> rc = ETIMEDOUT; fin = 1; mu = 0
                :: true ->
                    /* get_op: xwaiter w; w.buf = out;
                     * aq__list_push_back(&s->getters); wait():
                     * w->state = PENDING; task_wait: w->s, w->task,
                     * w->loop; w->delivered = 0; w->post.fn = deliver;
                     * w->fw.abort = task_abort; self->foreign = 1;
                     * io->keep++; io->xwaits++; aq__spin_unlock(&s->mu) */
                    glinked = 1;
                    g_state = PENDING;
                    g_rc = OK;
                    g_delivered = 0;
                    g_alive = 1;
                    cbuf = 0;
                    mu = 0;
                    /* aq__park: aq__timer_add if d != AQ_NEVER;
                     * t->state = AQ__WAITING; aq__loop_suspend */
                    timer_armed = has_dl;
                    tstate = T_WAITING
                fi
            fi
        }
        if
        :: p != 0 ->
            /* complete: the FUTEX_WAKE, for a thread that sleeps and is
             * not left to doze */
            complete_thread_wake(p, OK, old);
            /* get_op: aq__spin_unlock(&s->mu) */
            atomic { mu = 0; p = 0; old = 0 }
        :: wk1 != 0 ->
            /* wake_dozers: the FUTEX_WAKEs */
            dozers_wake(wk1, wk2);
            /* get_op: aq__spin_unlock(&s->mu) */
            mu = 0
        :: else -> skip
        fi;
        if
        :: !fin ->
            /* the task is parked: the loop (run()) iterates until it is
             * ready again; has_work holds (io->keep > 0) */
            do
            :: tstate == T_READY -> break
            :: else ->
                /* run: a new iteration: aq__timer_expire(l, aq_now()):
                 * a deadline passed -> aq__timer_remove;
                 * aq__task_abort(t, AQ_ETIMEDOUT): t->foreign ->
                 * f->abort(f) = task_abort(w):
                 * aq__spin_lock(&w->s->mu); if (w->state == PENDING)
                 * { aq__list_remove(&w->link); w->state = ABORTED; }
                 * aq__spin_unlock(&w->s->mu) */
                if
                :: timer_armed ->
                    atomic {
                        mu == 0 ->
                        if
                        :: g_state == PENDING ->
                            assert(glinked);
                            glinked = 0;
                            g_state = ABORTED
                        :: else -> skip /* completed first */
                        fi
                    }
                    /* aq__task_abort: aq__task_wake(t, AQ_ETIMEDOUT):
                     * t->wait_rc = rc; aq__ready_push */
                    timer_armed = 0; wait_rc = ETIMEDOUT; tstate = T_READY
                :: true -> skip
                fi;
                /* run: if (++l->since_poll >= AQ__POLL_EVERY)
                 * l->src->poll(l, 0): abstracted as "may happen"; then,
                 * if nothing is ready, idle() -> poll(l, time to the
                 * deadline, or -1) */
                if
                :: blocking = 0 /* the poll(l, 0) of AQ__POLL_EVERY */
                :: tstate != T_READY -> blocking = 1 /* idle() */
                :: tstate == T_READY -> break /* run the task */
                fi;
                /* idle: wait = aq__timer_next_due(l) - aq_now(), 0 if the
                 * deadline is already due: io_poll then skips may_sleep */
                if
                :: blocking && timer_armed -> blocking = 0
                :: true -> skip
                fi;
                direct = 0;
                /* io_poll: if (timeout_ns != 0 && io->may_sleep) may =
                 * may_sleep(l, timeout_ns) */
                if
                :: blocking ->
                    if
                    :: top ->
                        /* may_sleep: io->xwaits > 0 (our task waits in
                         * task_wait): it watches
                         * atomic_load_explicit(&in->top, relaxed) and
                         * returns -1 when it sees a post. Its reads are
                         * this one read, or none (the next branch: all of
                         * them saw NULL). */
                        blocking = 0;
                        /* io_poll: may < 0: if (++io->unpolled <
                         * AQ__POLL_EVERY) { io->after_poll(l); return; }
                         * else timeout_ns = 0 (unpolled abstracted) */
                        if
                        :: direct = 1
                        :: direct = 0
                        fi
                    :: true ->
                        /* may_sleep: atomic_store(&in->sleeping, 1)
                         * (seq_cst) */
                        sleeping = 1;
                        /* may_sleep: return atomic_load(&in->top) == NULL
                         * (seq_cst); io_poll: may == 0 -> timeout_ns = 0 */
                        if
                        :: top -> blocking = 0
                        :: else -> skip
                        fi
                    fi
                :: else -> skip
                fi;
                if
                :: direct ->
                    /* io_poll: io->after_poll(l) without the poller */
                    skip
                :: else ->
                    /* io_poll: io->unpolled = 0;
                     * aq__poller_wait(io->poller, timeout_ns) ->
                     * epoll_pwait2 reports the eventfd's edge, and
                     * dispatch (AQ__IO_WAKE_TAG) read(io->wakefd)s it */
                    if
                    :: blocking && !timer_armed ->
                        atomic { efd -> efd = 0 } /* no limit */
                    :: blocking && timer_armed ->
                        efd = 0 /* an edge, or the deadline, at any time */
                    :: !blocking -> efd = 0 /* timeout 0 */
                    fi
                fi;
                /* io_poll: io->after_poll(l) = run_posts */
                run_posts()
            od;
            /* the loop switches to the task; aq__park returns
             * t->wait_rc */
            tstate = T_RUNNING;
            rc = wait_rc;
            /* task_wait: self->foreign = 0; io->keep--; io->xwaits--;
             * if (w->delivered) return outcome(self, w->rc) */
            if
            :: g_delivered -> rc = g_rc
            :: else ->
                /* task_wait: aq__spin_lock(&s->mu); done = w->state ==
                 * DONE; aq__spin_unlock(&s->mu) */
                atomic { mu == 0 -> done = (g_state == DONE) }
                if
                :: !done ->
                    /* task_wait: return rc (ABORTED by task_abort:
                     * unlinked, nothing moved) */
                    assert(g_state == ABORTED && rc == ETIMEDOUT)
                :: done ->
                    /* task_wait: completed as the timer fired: while
                     * (!w->delivered) { aq__ready_push(self->loop, self);
                     * aq__loop_suspend(self); } */
                    yielded = 0;
                    do
                    :: g_delivered -> break
                    :: else ->
                        /* Property 6: the first poll(l, 0) runs the post,
                         * which the completer pushed before it released
                         * s->mu */
                        assert(!yielded);
                        yielded = 1;
                        tstate = T_READY;
                        /* run: new iterations (nothing else is ready, no
                         * timer), and within AQ__POLL_EVERY of them
                         * l->src->poll(l, 0) */
                        poll0();
                        /* run: aq__ready_pop; aq__switch_to the task */
                        tstate = T_RUNNING
                    od;
                    /* task_wait: return outcome(self, w->rc) */
                    rc = g_rc
                fi
            fi;
            /* task_wait returns, get_op's frame (w, its post) is gone.
             * Property 4: completed beats timed out; property 5: no post
             * outlives the frame it lives in. */
            atomic {
                assert(g_state != DONE || rc == g_rc);
                assert(g_state != ABORTED || cbuf == 0);
                assert(!top);
                assert(!glinked);
                g_alive = 0;
                /* (dead fields cleared) */
                g_state = PENDING; g_rc = OK; g_delivered = 0;
                if
                :: rc == OK -> item = cbuf /* aq__queue_hand_over's copy */
                :: else -> skip
                fi;
                cbuf = 0
            }
        :: else -> skip
        fi;
        /* the consumer looks at what get returned */
        if
        :: rc == OK ->
            assert(item != 0);
            got[item]++;
            assert(got[item] == 1);
            /* each producer's items come out in its order */
            assert((item - 1) % K + 1 > last_got[(item - 1) / K + 1]);
            last_got[(item - 1) / K + 1] = (item - 1) % K + 1
        :: rc == ETIMEDOUT -> skip /* try again */
        :: rc == ESHUTDOWN -> break
        fi
    od;

    /* the consumer returns; the loop reaps aq_run's main task, returns,
     * and aq_loop_free -> io_destroy -> io->on_destroy = inbox_free runs */
    tstate = T_DONE;
    cdone = 1; /* ghost: main checks the accounting (property 2) */
    /* inbox_free: atomic_store(&in->open, 0); wait_senders(in): while
     * (atomic_load(&in->senders)) sched_yield() */
    (senders == 0);
    /* inbox_free: pthread_mutex_lock(&in->mu); promised == 0;
     * pthread_mutex_unlock(&in->mu); p = take_all(in): the list is empty
     * (an owned post left there would be read in a dead frame) */
    atomic { assert(!top); top = 0 };
    /* inbox_free: wait_senders(in) again */
    (senders == 0);
    /* inbox_free: close(io->wakefd); aq__free(in); then io_destroy frees
     * io, aq_loop_free the loop */
    inbox_alive = 0
}

init {
    byte j = 1;
    atomic {
        do
        :: j > NITEMS -> break
        :: j <= NITEMS -> put_rc[j] = NORC; j++
        od;
        run Producer(1, 0);  /* aq_queue_thread_put: no deadline */
        run Producer(2, 1);  /* aq_queue_thread_put_until: a deadline */
        run Main();
        run Loop()
    }
}
