/* Runs the README's echo server (examples/echo_server.c, its path in
 * argv[1]) on a free loopback port, talks to it over two connections at
 * once (a task per connection: neither waits for the other) and kills
 * it. Plain blocking sockets with a receive timeout: a server that does
 * not answer fails the test instead of hanging it.
 *
 * The free port is found by binding port 0 and closing the socket; if
 * another process takes it before the server binds, the server exits and
 * the test tries again with a new port (three times). */
#include "../test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *t_server_path; /* argv[1] */

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    ASSERT(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    close(s);
    return ntohs(a.sin_port);
}

/* Connects to the port, retrying while the server starts (up to 5 s);
 * -1 if the server died first. */
static int connect_to(int port, pid_t server)
{
    for (int i = 0; i < 500; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
            struct timeval tv = {5, 0};
            setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            return s;
        }
        close(s);
        if (waitpid(server, NULL, WNOHANG) == server)
            return -1; /* it could not bind: the port was taken */
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    t_fail(__FILE__, __LINE__, "the echo server never accepted");
    return -1;
}

static void send_str(int s, const char *str)
{
    ASSERT_EQ(send(s, str, strlen(str), 0), (long)strlen(str));
}

/* Reads until `want` has come back whole. */
static void expect_echo(int s, const char *want)
{
    char buf[256];
    size_t n = strlen(want), got = 0;
    while (got < n) {
        ssize_t k = recv(s, buf + got, n - got, 0);
        if (k <= 0)
            t_fail(__FILE__, __LINE__, "no echo of \"%s\" (got %zu bytes)",
                   want, got);
        got += (size_t)k;
    }
    ASSERT(memcmp(buf, want, n) == 0);
}

TEST(test_echo_server_example)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        char port[16];
        int p = free_port();
        snprintf(port, sizeof port, "%d", p);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            execl(t_server_path, t_server_path, port, (char *)NULL);
            _exit(127);
        }
        int a = connect_to(p, pid);
        if (a < 0)
            continue;
        int b = connect_to(p, pid);
        ASSERT(b >= 0);
        /* b is served while a's line is still incomplete. */
        send_str(a, "hel");
        send_str(b, "second connection\n");
        expect_echo(b, "second connection\n");
        send_str(a, "lo\nworld\n");
        expect_echo(a, "hello\nworld\n");
        /* A client that leaves does not disturb the others. */
        close(b);
        send_str(a, "still here\n");
        expect_echo(a, "still here\n");
        close(a);
        ASSERT(kill(pid, SIGTERM) == 0);
        int status;
        ASSERT(waitpid(pid, &status, 0) == pid);
        ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        return; /* it served until killed */
    }
    t_fail(__FILE__, __LINE__, "the echo server did not start");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH_TO_echo_server\n", argv[0]);
        return 2;
    }
    t_server_path = argv[1];
    argc = 1; /* no test name filter */
    RUN(test_echo_server_example);
    return t_done();
}
