/* mpi_init_probe.c — LD_PRELOAD shim for tests: MPI_Init / MPI_Init_thread
 * append a line to $MR_TEST_MPI_MARKER, then call the real ones. A plain run
 * must leave no marker; a run with --mpi must leave one (so the probe is
 * known to work). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void mark(void)
{
    const char *p = getenv("MR_TEST_MPI_MARKER");
    if (!p)
        return;
    const int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        if (write(fd, "MPI_Init\n", 9) != 9)
            _exit(99);
        close(fd);
    }
}

int MPI_Init(int *argc, char ***argv)
{
    int (*real)(int *, char ***);
    *(void **)&real = dlsym(RTLD_NEXT, "MPI_Init");
    mark();
    return real(argc, argv);
}

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    int (*real)(int *, char ***, int, int *);
    *(void **)&real = dlsym(RTLD_NEXT, "MPI_Init_thread");
    mark();
    return real(argc, argv, required, provided);
}
