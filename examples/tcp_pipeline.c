/* The tutorial's producer/consumer over TCP: connection tasks read lines
 * from their sockets into one bounded queue, worker tasks consume them.
 *
 * Backpressure runs from the workers back to the clients. When the queue
 * is full, a connection task's aq_queue_put waits, so it stops calling
 * aq_reader_read_line: its reader's buffer fills, then the kernel's
 * receive buffer, then the client's send buffer, and the client's
 * aq_write_all parks until the workers catch up. No byte is dropped and
 * no memory grows: every buffer on the way is bounded (BUF bytes each,
 * set small so that they fill early).
 *
 * Self-contained and deterministic: the program listens on an ephemeral
 * loopback port and runs its own NCLIENTS client tasks, each sending
 * NLINES numbered lines; it prints what the workers saw per client (all
 * lines, in each connection's order) and the queue's high water mark
 * (aq_queue_statistics), which can never pass maxsize.
 *
 * Python twin: examples/python/tcp_pipeline.py (asyncio streams:
 * start_server, open_connection, readline, write + drain).
 */
#include "example.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define NCLIENTS 3
#define NLINES 1000
#define MAXSIZE 8
#define NWORKERS 2
#define LINE 64   /* bytes per line, '\n' included */
#define BUF 4096  /* socket buffers and the readers' size (limit) */

struct item {
    int client, seq;
};

static aq_queue *queue;
static int port;
static int received[NCLIENTS], expected[NCLIENTS];
static int in_order[NCLIENTS] = {1, 1, 1};

/* One connection (asyncio's handle(reader, writer)): its lines into the
 * queue, until end of file. A group child: 0 is success. */
static int handle(void *arg)
{
    aq_fd *c = arg;
    aq_reader *r = NULL;
    char line[LINE];
    long n = 0;
    int rc = check(aq_reader_new(&r, c, BUF), "aq_reader_new");
    while (rc == AQ_OK && (n = aq_reader_read_line(r, line, LINE)) > 0) {
        struct item it;
        line[n - 1] = '\0';
        if (sscanf(line, "%d %d", &it.client, &it.seq) != 2)
            rc = check(AQ_EINVAL, "a line");
        else /* full: this task waits, and stops reading its socket */
            rc = check(aq_queue_put(queue, &it), "aq_queue_put");
    }
    if (rc == AQ_OK && n < 0)
        rc = check((int)n, "aq_reader_read_line");
    aq_reader_free(r); /* NULL if it was never made: AQ_EINVAL, harmless */
    aq_fd_close(c);
    return rc;
}

static void *worker(void *arg)
{
    (void)arg;
    struct item it;
    while (aq_queue_get(queue, &it) == AQ_OK) { /* fails once cancelled */
        if (it.seq != expected[it.client])
            in_order[it.client] = 0;
        expected[it.client] = it.seq + 1;
        received[it.client]++;
        aq_yield(); /* simulate processing: await asyncio.sleep(0) */
        aq_queue_task_done(queue);
    }
    return NULL;
}

static struct sockaddr_in loopback(int p)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)p);
    return a;
}

/* A client: connects and sends NLINES lines of LINE bytes. */
static void *client(void *arg)
{
    int n = (int)(intptr_t)arg, buf = BUF;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    aq_fd *f;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    if (check(aq_fd_open(NULL, &f, s), "aq_fd_open"))
        return NULL;
    struct sockaddr_in a = loopback(port);
    int rc = check(aq_connect(f, (struct sockaddr *)&a, sizeof a),
                   "aq_connect");
    for (int seq = 0; rc == AQ_OK && seq < NLINES; seq++) {
        char line[LINE + 1];
        int len = snprintf(line, sizeof line, "%d %d ", n, seq);
        memset(line + len, '.', (size_t)(LINE - 1 - len));
        line[LINE - 1] = '\n';
        size_t done; /* waits while the kernel's buffers are full */
        rc = check(aq_write_all(f, line, LINE, &done), "aq_write_all");
    }
    aq_fd_close(f);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    /* The listener: ephemeral port; accepted sockets inherit its small
     * receive buffer. */
    int s = socket(AF_INET, SOCK_STREAM, 0), buf = BUF;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    aq_fd *listener;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, NCLIENTS) ||
        getsockname(s, (struct sockaddr *)&a, &len)) {
        perror("tcp_pipeline");
        exit_status = 1;
        return NULL;
    }
    port = ntohs(a.sin_port);
    if (check(aq_fd_open(NULL, &listener, s), "aq_fd_open"))
        return NULL;

    aq_task *workers[NWORKERS], *clients[NCLIENTS];
    aq_group *handlers;
    for (int i = 0; i < NWORKERS; i++)
        if (check(aq_spawn(&workers[i], worker, NULL), "aq_spawn"))
            return NULL; /* aq_run cancels and reaps what was spawned */
    printf("%d clients send %d lines each; queue maxsize %d, %d workers\n",
           NCLIENTS, NLINES, MAXSIZE, NWORKERS);
    for (int n = 0; n < NCLIENTS; n++)
        if (check(aq_spawn(&clients[n], client, (void *)(intptr_t)n),
                  "aq_spawn"))
            return NULL;
    /* The server: a handler task per connection, in a task group. */
    if (check(aq_group_new(&handlers), "aq_group_new"))
        return NULL;
    for (int n = 0; n < NCLIENTS; n++) {
        int fd = aq_accept(listener);
        aq_fd *c;
        if (check(fd < 0 ? fd : aq_fd_open(NULL, &c, fd), "accept"))
            break;
        if (check(aq_group_spawn(handlers, handle, c), "aq_group_spawn"))
            aq_fd_close(c);
    }
    int status;
    check(aq_group_wait(handlers, &status), "aq_group_wait");
    aq_group_free(handlers);
    check(aq_gather(clients, NCLIENTS, NULL), "aq_gather");
    check(aq_queue_join(queue), "aq_queue_join");
    for (int i = 0; i < NWORKERS; i++)
        aq_task_cancel(workers[i]);
    aq_gather(workers, NWORKERS, NULL);
    for (int i = 0; i < NWORKERS; i++)
        aq_task_release(workers[i]);
    for (int n = 0; n < NCLIENTS; n++)
        aq_task_release(clients[n]);
    aq_fd_close(listener);

    aq_queue_stats st;
    check(aq_queue_statistics(queue, &st), "aq_queue_statistics");
    for (int n = 0; n < NCLIENTS; n++)
        printf("client %d: %d lines received, %s\n", n, received[n],
               in_order[n] ? "in order" : "OUT OF ORDER");
    printf("queue high water: %zu (never above maxsize %d: %s)\n",
           st.high_water, MAXSIZE,
           st.high_water <= MAXSIZE ? "True" : "False");
    return NULL;
}

int main(void)
{
    if (check(aq_queue_new(&queue, AQ_FIFO, sizeof(struct item), MAXSIZE),
              "aq_queue_new"))
        return 1;
    check(aq_run(main_task, NULL, NULL), "aq_run");
    aq_queue_free(queue);
    return exit_status;
}
