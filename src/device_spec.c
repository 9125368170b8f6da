/* device_spec.c — parsing MR_OPT_DEVICE (device_spec.h). Pure: no OpenCL. */
#include "device_spec.h"

#include <stdio.h>
#include <string.h>

/* A decimal number 0..999 at *p (no sign, no leading '+', at most 3 digits). */
static int number(const char **p, int *out)
{
    int v = 0, n = 0;
    while (**p >= '0' && **p <= '9') {
        if (++n > 3)
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    if (n == 0)
        return -1;
    *out = v;
    return 0;
}

int mr_device_spec_parse(const char *s, mr_device_spec *out)
{
    if (!s || !out || strlen(s) >= sizeof out->text)
        return -1;
    mr_device_spec d = { .platform = -1, .device = -1 };
    if (strcmp(s, "cpu") == 0) {
        d.kind = MR_DEV_CPU;
    } else if (strcmp(s, "auto") == 0) {
        d.kind = MR_DEV_AUTO;
    } else if (strcmp(s, "opencl") == 0) {
        d.kind = MR_DEV_OPENCL;
    } else if (strncmp(s, "opencl:", 7) == 0) {
        const char *p = s + 7;
        d.kind = MR_DEV_OPENCL;
        if (number(&p, &d.platform) != 0 || *p++ != '.' || number(&p, &d.device) != 0 || *p)
            return -1;
    } else {
        return -1;
    }
    snprintf(d.text, sizeof d.text, "%s", s);
    *out = d;
    return 0;
}
