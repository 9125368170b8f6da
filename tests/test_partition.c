/* test_partition.c — cli/partition.c: shard specs, the Slurm array and
 * launcher environment. (Cut points are the library's: test_input_part.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partition.h"

/* ---- a fake environment ---- */
static const char *const *fake_env;

static const char *fake_get(const char *name)
{
    for (const char *const *e = fake_env; e && *e; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

static void test_shard_spec(void **state)
{
    (void)state;
    uint64_t k, n;
    char why[256];
    assert_int_equal(part_parse_shard("0/1", &k, &n, why, sizeof why), 0);
    assert_int_equal(k, 0);
    assert_int_equal(n, 1);
    assert_int_equal(part_parse_shard("6/7", &k, &n, why, sizeof why), 0);
    assert_int_equal(k, 6);
    assert_int_equal(n, 7);
    const char *bad[] = { "7/7", "1", "a/b", "-1/3", "1/0", "1/3x", "/3", "1/", " 1/3", "0/1000001", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why[0] = 0;
        assert_int_equal(part_parse_shard(bad[i], &k, &n, why, sizeof why), -1);
        assert_true(strlen(why) > 0);
    }
}

static void test_slurm_env(void **state)
{
    (void)state;
    uint64_t k = 99, n = 99;
    char why[320];
    const char *plain[] = { "SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3",
                            "SLURM_ARRAY_TASK_STEP", "1", "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = plain;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), 0);
    assert_int_equal(k, 2);
    assert_int_equal(n, 4);
    const char *stepped[] = { "SLURM_ARRAY_TASK_ID", "14", "SLURM_ARRAY_TASK_MIN", "10", "SLURM_ARRAY_TASK_MAX", "16",
                              "SLURM_ARRAY_TASK_STEP", "2", "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = stepped;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), 0);
    assert_int_equal(k, 2);
    assert_int_equal(n, 4);
    /* --array=1,5,9: Slurm reports STEP=1; COUNT=3 gives it away */
    const char *list[] = { "SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "9",
                           "SLURM_ARRAY_TASK_STEP", "1", "SLURM_ARRAY_TASK_COUNT", "3", NULL };
    fake_env = list;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "not a plain range"));
    const char *off_step[] = { "SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "6",
                               "SLURM_ARRAY_TASK_STEP", "2", "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = off_step;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    const char *no_count[] = { "SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3", NULL };
    fake_env = no_count;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "SLURM_ARRAY_TASK_COUNT is not set"));
    const char *none[] = { NULL };
    fake_env = none;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "SLURM_ARRAY_TASK_ID is not set"));
    const char *junk[] = { "SLURM_ARRAY_TASK_ID", "x", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3",
                           "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = junk;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    const char *outside[] = { "SLURM_ARRAY_TASK_ID", "9", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3",
                              "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = outside;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
}

static void test_launcher_env(void **state)
{
    (void)state;
    const char *none[] = { "SLURM_JOB_ID", "5", "SLURM_ARRAY_TASK_ID", "1", NULL };
    fake_env = none;
    assert_int_equal(part_mpi_launched(fake_get), 0);
    const char *ompi[] = { "OMPI_COMM_WORLD_SIZE", "1", NULL };
    fake_env = ompi;
    assert_int_equal(part_mpi_launched(fake_get), 1);
    const char *pmix[] = { "PMIX_RANK", "0", NULL };
    fake_env = pmix;
    assert_int_equal(part_mpi_launched(fake_get), 1);
    const char *hydra[] = { "PMI_RANK", "3", NULL };
    fake_env = hydra;
    assert_int_equal(part_mpi_launched(fake_get), 1);
    const char *srun_nopmi[] = { "SLURM_STEP_NUM_TASKS", "4", "SLURM_PROCID", "1", NULL };
    fake_env = srun_nopmi;
    assert_int_equal(part_mpi_launched(fake_get), 0);
    const char *srun_pmi2[] = { "SLURM_STEP_NUM_TASKS", "4", "PMI_FD", "7", NULL };
    fake_env = srun_pmi2;
    assert_int_equal(part_mpi_launched(fake_get), 1);
    const char *srun_one[] = { "SLURM_STEP_NUM_TASKS", "1", "PMI_FD", "7", NULL };
    fake_env = srun_one;
    assert_int_equal(part_mpi_launched(fake_get), 0);
    const char *empty[] = { "OMPI_COMM_WORLD_SIZE", "", NULL };
    fake_env = empty;
    assert_int_equal(part_mpi_launched(fake_get), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shard_spec),
        cmocka_unit_test(test_slurm_env),
        cmocka_unit_test(test_launcher_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
