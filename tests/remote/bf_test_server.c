/* bf_test_server.c: a minimal stand-in for bitfusiond for the remote tests (owner: tests/remote/):
 * listens on a local unix socket, forks one worker per connection that runs bf_session_run over a
 * plain (unencrypted, test-only) bf_conn with the software GPU. Usage:
 *   bf_test_server SOCKET_PATH EMU_LIB_PATH   (runs until killed; one line per session end) */
#include "session.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_un sa;
    if (argc != 3) {
        fprintf(stderr, "usage: bf_test_server SOCKET_PATH EMU_LIB_PATH\n");
        return 2;
    }
    signal(SIGCHLD, SIG_IGN);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
    unlink(argv[1]);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 64) != 0) {
        fprintf(stderr, "bf_test_server: cannot listen on %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) { if (errno == EINTR) continue; break; }
        pid_t pid = fork();
        if (pid == 0) {
            char why[512];
            close(ls);
            bf_conn *c = bf_conn_plain_for_tests(fd);
            long calls = bf_session_run(c, "emu", argv[2], why, sizeof why);
            bf_conn_close(c);
            fprintf(stderr, "bf_test_server: session end: calls=%ld reason=%s\n", calls, why);
            fflush(NULL);
            _exit(0);
        }
        close(fd);
    }
    return 1;
}
