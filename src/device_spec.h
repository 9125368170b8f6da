/* device_spec.h — the MR_OPT_DEVICE value: "cpu", "opencl", "opencl:P.D", "auto". */
#ifndef MR_DEVICE_SPEC_H
#define MR_DEVICE_SPEC_H

typedef enum { MR_DEV_CPU = 0, MR_DEV_OPENCL = 1, MR_DEV_AUTO = 2 } mr_device_kind;

typedef struct mr_device_spec {
    mr_device_kind kind;
    int platform, device; /* "opencl:P.D"; -1 when not given */
    char text[32];        /* as given, for reports */
} mr_device_spec;

/* Parse s into *out. Returns 0, or -1 (out unchanged) for anything else:
 * P and D are decimal numbers from 0 to 999, nothing around them. */
int mr_device_spec_parse(const char *s, mr_device_spec *out);

#endif
