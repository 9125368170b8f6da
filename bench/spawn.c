/* spawn.c — run a command and record its wall time and peak RSS.
 *
 *   spawn STATFILE CMD [ARGS...]
 *
 * Writes "<wall seconds> <peak RSS bytes> <exit status>" to STATFILE and exits with the
 * command's status (128+signal if killed). stdin/stdout/stderr are inherited.
 *
 * Why not measure from Python directly: on Linux a process's ru_maxrss (and so
 * getrusage(RUSAGE_SELF) inside the command, which mars-replay's --report uses) starts at
 * the RSS of the process that exec'd it, because exec folds the old mm's high-water mark
 * into signal->maxrss. Forked from the large benchmark driver, every command would report
 * the driver's size. This helper is small, so what it forks starts near zero (as under
 * /usr/bin/time). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s STATFILE CMD [ARGS...]\n", argv[0]);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const pid_t pid = fork();
    if (pid < 0) {
        perror("spawn: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("spawn: wait4");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fprintf(f, "%.9f %lld %d\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
            (long long)ru.ru_maxrss * 1024, rc);
    fclose(f);
    return rc;
}
