/* test_device.c — MR_OPT_DEVICE / MR_OPT_PRECISION parsing, mr_engine_backend,
 * and at library level: a CPU run never touches the OpenCL loader; a device
 * run through the library API gives the CPU's bytes (PoCL in CI), and "auto"
 * without a loader falls back and says why. Built with and without OpenCL.
 *
 * With OpenCL, the library loads the fake loader tests/shim/ocl_pretend.c
 * (main() points MR_OPENCL_LIBRARY at it unless the variable is set): it
 * forwards to the real loader and counts its own loads in mr_test_ocl_loads.
 * MR_OPENCL_LIBRARY naming a file that does not exist runs the no-loader
 * checks instead (meson test device_no_loader). */
#include <stdio.h>

#include "config.h"
#include "device_spec.h"
#include "test_util.h"
#if MR_HAVE_OPENCL
#include <unistd.h>

/* Incremented by the fake loader each time it is loaded (this program is
 * linked with export_dynamic so that the loaded library finds it). */
__attribute__((visibility("default"))) int mr_test_ocl_loads;

/* This process runs without a loader: MR_OPENCL_LIBRARY names no file. */
static int no_loader(void)
{
    const char *lib = getenv("MR_OPENCL_LIBRARY");
    return lib && *lib && access(lib, F_OK) != 0;
}

/* The library loads the fake loader, which counts its loads. */
static int loads_counted(void)
{
    const char *lib = getenv("MR_OPENCL_LIBRARY");
    if (lib && strcmp(lib, MR_OCL_PRETEND) == 0)
        return 1;
    printf("# MR_OPENCL_LIBRARY=%s is not the fake loader: loads not counted\n", lib ? lib : "");
    return 0;
}
#endif

static const char *model_json =
    "{\"spec_version\":\"1.0\",\"params\":{\"allow_missing\":true},"
    "\"feature_schema\":{\"n_features\":2,\"feature_names\":[\"a\",\"b\"]},"
    "\"basis_terms\":[{\"kind\":\"constant\"},"
    "{\"kind\":\"hinge\",\"variable_idx\":0,\"knot_val\":0.25,\"is_right_hinge\":true},"
    "{\"kind\":\"missingness\",\"variable_idx\":1},"
    "{\"kind\":\"linear\",\"variable_idx\":1,\"parent1\":{\"kind\":\"hinge\",\"variable_idx\":0,"
    " \"knot_val\":-0.5,\"is_right_hinge\":false}}],"
    "\"coefficients\":[0.1,-2.5,3.25,0.7]}";

static const char *csv = "a,b\n0.25,1\n-1,NA\n3,-0\n1e-300,2.5\n,7\n";

static void spec_parsing(void **state)
{
    (void)state;
    mr_device_spec d;
    assert_int_equal(mr_device_spec_parse("cpu", &d), 0);
    assert_int_equal(d.kind, MR_DEV_CPU);
    assert_int_equal(mr_device_spec_parse("auto", &d), 0);
    assert_int_equal(d.kind, MR_DEV_AUTO);
    assert_int_equal(mr_device_spec_parse("opencl", &d), 0);
    assert_int_equal(d.kind, MR_DEV_OPENCL);
    assert_int_equal(d.platform, -1);
    assert_int_equal(mr_device_spec_parse("opencl:2.13", &d), 0);
    assert_int_equal(d.kind, MR_DEV_OPENCL);
    assert_int_equal(d.platform, 2);
    assert_int_equal(d.device, 13);
    assert_string_equal(d.text, "opencl:2.13");
    static const char *bad[] = { "", "CPU", "gpu", "opencl:", "opencl:1", "opencl:1.", "opencl:.1",
                                 "opencl:1.2.3", "opencl:-1.0", "opencl:+1.0", "opencl:1000.0",
                                 "opencl:1.2 ", " opencl", "opencl:a.b", "autox" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        d.kind = MR_DEV_AUTO;
        assert_int_equal(mr_device_spec_parse(bad[i], &d), -1);
        assert_int_equal(d.kind, MR_DEV_AUTO); /* unchanged */
    }
    assert_int_equal(mr_device_spec_parse(NULL, &d), -1);
}

static void options(void **state)
{
    (void)state;
    mr_options *o;
    assert_int_equal(mr_options_create(&o), MR_OK);
    assert_int_equal(mr_options_set_str(o, MR_OPT_DEVICE, "opencl:0.0"), MR_OK);
    assert_int_equal(mr_options_set_str(o, MR_OPT_DEVICE, "cuda"), MR_E_INVAL);
    assert_int_equal(mr_options_set_str(o, MR_OPT_DEVICE, NULL), MR_E_INVAL);
    assert_int_equal(mr_options_set_str(o, MR_OPT_PRECISION, "single"), MR_OK);
    assert_int_equal(mr_options_set_str(o, MR_OPT_PRECISION, "double"), MR_OK);
    assert_int_equal(mr_options_set_str(o, MR_OPT_PRECISION, "half"), MR_E_INVAL);
    assert_int_equal(mr_options_set_int(o, MR_OPT_DEVICE, 1), MR_E_INVAL);
    mr_model *m = load_json(model_json);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
    mr_backend_info b;
    assert_int_equal(mr_engine_backend(e, &b), MR_OK); /* before any run */
    assert_string_equal(b.requested, "opencl:0.0");
    assert_string_equal(b.used, "cpu");
    assert_string_equal(b.precision, "double");
    assert_int_equal(b.platform_index, -1);
    assert_int_equal(mr_engine_backend(NULL, &b), MR_E_INVAL);
    assert_int_equal(mr_engine_backend(e, NULL), MR_E_INVAL);
    mr_engine_free(e);
    mr_model_free(m);
    mr_options_free(o);
}

static mr_status run_with(const char *device, mem_out *out, mr_backend_info *b, mr_error *err)
{
    mr_options *o;
    assert_int_equal(mr_options_create(&o), MR_OK);
    if (device)
        assert_int_equal(mr_options_set_str(o, MR_OPT_DEVICE, device), MR_OK);
    mr_model *m = load_json(model_json);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
    mem_in in = { .data = csv, .len = strlen(csv) };
    const mr_io io = { .read = mem_read, .read_cookie = &in, .source = "mem.csv",
                       .write = mem_write, .write_cookie = out };
    const mr_status st = mr_run(e, &io, NULL, NULL, NULL, err);
    assert_int_equal(mr_engine_backend(e, b), MR_OK);
    mr_engine_free(e);
    mr_model_free(m);
    mr_options_free(o);
    return st;
}

/* Must run first in this process: the loader is loaded at most once. */
static void cpu_runs_do_not_load_opencl(void **state)
{
    (void)state;
    mem_out out = { 0 };
    mr_backend_info b;
    assert_int_equal(run_with(NULL, &out, &b, NULL), MR_OK);
    assert_string_equal(b.used, "cpu");
    assert_string_equal(b.fallback, "");
    free(out.data);
    out = (mem_out){ 0 };
    assert_int_equal(run_with("cpu", &out, &b, NULL), MR_OK);
    free(out.data);
#if MR_HAVE_OPENCL
    if (loads_counted())
        assert_int_equal(mr_test_ocl_loads, 0);
#endif
}

static void device_runs(void **state)
{
    (void)state;
    mem_out cpu = { 0 }, dev = { 0 };
    mr_backend_info b;
    mr_error err;
    assert_int_equal(run_with("cpu", &cpu, &b, NULL), MR_OK);
#if MR_HAVE_OPENCL
    if (no_loader()) { /* this process was started without a loader */
        assert_int_equal(run_with("auto", &dev, &b, &err), MR_OK);
        assert_string_equal(b.used, "cpu");
        assert_non_null(strstr(b.fallback, "no OpenCL ICD loader"));
        assert_int_equal(run_with("opencl", &dev, &b, &err), MR_E_BACKEND);
        assert_non_null(strstr(err.text, "no OpenCL ICD loader"));
        assert_string_equal(err.source, "device opencl");
        free(dev.data);
        free(cpu.data);
        return;
    }
    const mr_status st = run_with("opencl", &dev, &b, &err);
    if (st == MR_E_BACKEND) {
        printf("# no OpenCL device here (%s): the device comparison is left to the opencl suite\n", err.text);
    } else {
        assert_int_equal(st, MR_OK);
        assert_string_equal(b.used, "opencl");
        assert_true(b.batches == 1);
        assert_int_equal(dev.len, cpu.len);
        assert_memory_equal(dev.data, cpu.data, cpu.len);
    }
    if (loads_counted()) /* loaded once, kept for the process */
        assert_int_equal(mr_test_ocl_loads, 1);
#else
    assert_int_equal(run_with("opencl", &dev, &b, &err), MR_E_BACKEND);
    assert_non_null(strstr(err.text, "no OpenCL support"));
    free(dev.data);
    dev = (mem_out){ 0 };
    assert_int_equal(run_with("auto", &dev, &b, &err), MR_OK);
    assert_string_equal(b.used, "cpu");
    assert_non_null(strstr(b.fallback, "no OpenCL support"));
    assert_int_equal(dev.len, cpu.len);
    assert_memory_equal(dev.data, cpu.data, cpu.len);
#endif
    free(dev.data);
    free(cpu.data);
}

/* One engine, several runs: the device is set up once, the counters restart. */
static void engine_reuse(void **state)
{
    (void)state;
#if MR_HAVE_OPENCL
    if (no_loader())
        return; /* no loader: covered by device_runs */
    mr_options *o;
    assert_int_equal(mr_options_create(&o), MR_OK);
    assert_int_equal(mr_options_set_str(o, MR_OPT_DEVICE, "opencl"), MR_OK);
    assert_int_equal(mr_options_set_int(o, MR_OPT_CHUNK_ROWS, 2), MR_OK);
    assert_int_equal(mr_options_set_int(o, MR_OPT_THREADS, 2), MR_OK);
    mr_model *m = load_json(model_json);
    mr_engine *e;
    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
    mem_out ref = { 0 };
    mr_backend_info b;
    assert_int_equal(run_with("cpu", &ref, &b, NULL), MR_OK);
    for (int i = 0; i < 3; i++) {
        mem_out out = { 0 };
        mem_in in = { .data = csv, .len = strlen(csv) };
        const mr_io io = { .read = mem_read, .read_cookie = &in, .source = "mem.csv",
                           .write = mem_write, .write_cookie = &out };
        mr_error err;
        const mr_status st = mr_run(e, &io, NULL, NULL, NULL, &err);
        if (st == MR_E_BACKEND) { /* no device here */
            printf("# no OpenCL device (%s): engine reuse not tested\n", err.text);
            free(out.data);
            break;
        }
        assert_int_equal(st, MR_OK);
        assert_int_equal(mr_engine_backend(e, &b), MR_OK);
        assert_string_equal(b.used, "opencl");
        assert_true(b.batches == 3); /* 5 rows in chunks of 2: not summed over runs */
        assert_int_equal(out.len, ref.len);
        assert_memory_equal(out.data, ref.data, ref.len);
        free(out.data);
    }
    free(ref.data);
    mr_engine_free(e);
    mr_model_free(m);
    mr_options_free(o);
#endif
}

static void probe(void **state)
{
    (void)state;
    char *s = NULL;
    assert_int_equal(mr_probe_devices(NULL, NULL), MR_E_INVAL);
    assert_int_equal(mr_probe_devices(&s, NULL), MR_OK);
    assert_non_null(s);
    assert_non_null(strstr(s, "\"platforms\""));
    assert_non_null(strstr(s, MR_HAVE_OPENCL ? "\"opencl_compiled\": true" : "\"opencl_compiled\": false"));
    mr_string_free(s);
    mr_string_free(NULL);
}

int main(void)
{
#if MR_HAVE_OPENCL
    if (!getenv("MR_OPENCL_LIBRARY"))
        setenv("MR_OPENCL_LIBRARY", MR_OCL_PRETEND, 1);
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_parsing),
        cmocka_unit_test(options),
        cmocka_unit_test(cpu_runs_do_not_load_opencl),
        cmocka_unit_test(device_runs),
        cmocka_unit_test(engine_reuse),
        cmocka_unit_test(probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
