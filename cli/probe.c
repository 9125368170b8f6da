/* probe.c — `mars-replay probe [--json]`: the OpenCL platforms and devices
 * and whether each can run the replay kernel (mr_probe_devices). */
#include "probe.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli_io.h"
#include "exit_codes.h"
#include "marsreplay.h"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static int yes(const json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

static void text(const json_t *j)
{
    if (!yes(j, "opencl_compiled")) {
        printf("OpenCL: not compiled in (%s)\n", str(j, "reason"));
        return;
    }
    if (!yes(j, "available")) {
        printf("OpenCL: no device: %s\n", str(j, "reason"));
        return;
    }
    size_t i, k;
    json_t *p, *d;
    json_array_foreach(json_object_get(j, "platforms"), i, p) {
        printf("platform %lld: %s (%s, %s)\n", num(p, "index"), str(p, "name"), str(p, "vendor"),
               str(p, "version"));
        json_array_foreach(json_object_get(p, "devices"), k, d) {
            printf("  device %s: %s\n", str(d, "spec"), str(d, "name"));
            printf("    type %s, %lld compute units, %lld MiB global memory, %lld MiB max allocation\n",
                   str(d, "type"), num(d, "compute_units"), num(d, "global_mem_bytes") >> 20,
                   num(d, "max_alloc_bytes") >> 20);
            printf("    %s, driver %s, fp64 %s\n", str(d, "opencl_c_version"), str(d, "driver_version"),
                   yes(d, "fp64") ? "yes" : "no");
            if (yes(d, "usable_double"))
                printf("    usable: double and single precision%s\n",
                       yes(d, "auto_candidate") ? "; chosen by --device auto" : "; --device auto leaves CPU devices to the native CPU path");
            else if (yes(d, "usable_single"))
                printf("    usable: --precision single only (%s)\n", str(d, "why_not"));
            else
                printf("    not usable: %s\n", str(d, "why_not"));
        }
    }
}

int cli_probe(int as_json)
{
    char *s = NULL;
    mr_error err;
    if (mr_probe_devices(&s, &err) != MR_OK) {
        cli_msg("probe: %s", err.text);
        return MR_EXIT_INTERNAL;
    }
    if (as_json) {
        fputs(s, stdout);
        fputc('\n', stdout);
    } else {
        json_t *j = json_loads(s, 0, NULL);
        if (!j) {
            mr_string_free(s);
            cli_msg("probe: the library returned invalid JSON");
            return MR_EXIT_INTERNAL;
        }
        text(j);
        json_decref(j);
    }
    mr_string_free(s);
    if (fflush(stdout) != 0) {
        if (errno == EPIPE)
            return MR_EXIT_OK;
        cli_msg("write error: %s", strerror(errno));
        return MR_EXIT_IO;
    }
    return MR_EXIT_OK;
}

void cli_print_backend(const mr_backend_info *b)
{
    if (strcmp(b->used, "opencl") == 0)
        fprintf(stderr, "mars-replay: backend: opencl %d.%d (%s, %s), %s precision, kernel %s (%.3f s setup), %llu batches\n",
                b->platform_index, b->device_index, b->device, b->platform, b->precision,
                b->kernel_cached ? "loaded from cache" : "built", b->setup_seconds,
                (unsigned long long)b->batches);
    else if (b->fallback[0])
        fprintf(stderr, "mars-replay: backend: cpu (--device %s fell back: %s)\n", b->requested, b->fallback);
    else
        fprintf(stderr, "mars-replay: backend: cpu\n");
}

void cli_warn_cache(const mr_backend_info *b)
{
    if (strcmp(b->used, "opencl") == 0 && strncmp(b->cache, "untrusted", 9) == 0)
        cli_msg("warning: OpenCL program cache %s; the kernel was built from source "
                "(see --no-cache)", b->cache);
}
