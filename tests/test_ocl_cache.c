/* test_ocl_cache.c — the program-binary cache (src/ocl_cache.c): keys, the
 * directory rule, atomic store, and every kind of bad file being a miss. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocl_cache.h"
#include "test_util.h"

static void keys(void **state)
{
    (void)state;
    const char *a[] = { "src", "opts", "dev" }, *b[] = { "src", "opts", "dev2" };
    const char *c[] = { "ab", "c" }, *d[] = { "a", "bc" };
    char ka[65], ka2[65], kb[65], kc[65], kd[65];
    mr_ocl_cache_key(a, 3, ka);
    mr_ocl_cache_key(a, 3, ka2);
    mr_ocl_cache_key(b, 3, kb);
    mr_ocl_cache_key(c, 2, kc);
    mr_ocl_cache_key(d, 2, kd);
    assert_int_equal(strlen(ka), 64);
    assert_string_equal(ka, ka2);
    assert_string_not_equal(ka, kb);
    assert_string_not_equal(kc, kd); /* parts are length-prefixed */
}

static void directory(void **state)
{
    (void)state;
    char buf[512];
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    setenv("HOME", "/home/u", 1);
    assert_int_equal(mr_ocl_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/x/cache/mars-replay");
    setenv("XDG_CACHE_HOME", "relative", 1); /* not absolute: ignored (XDG spec) */
    assert_int_equal(mr_ocl_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/home/u/.cache/mars-replay");
    unsetenv("XDG_CACHE_HOME");
    assert_int_equal(mr_ocl_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/home/u/.cache/mars-replay");
    unsetenv("HOME");
    assert_int_equal(mr_ocl_cache_dir(buf, sizeof buf), -1);
    setenv("HOME", "/home/u", 1);
    assert_int_equal(mr_ocl_cache_dir(buf, 8), -1); /* does not fit */
}

static void flip(const char *path, long off)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, off, off < 0 ? SEEK_END : SEEK_SET), 0);
    const int c = fgetc(fp);
    assert_int_equal(fseek(fp, -1, SEEK_CUR), 0);
    fputc(c ^ 0x20, fp);
    fclose(fp);
}

static void store_and_load(void **state)
{
    (void)state;
    char base[] = "/tmp/mr-ocl-cache-XXXXXX";
    assert_non_null(mkdtemp(base));
    char dir[256], path[512], why[400];
    snprintf(dir, sizeof dir, "%s/sub/mars-replay", base); /* two levels to create */
    const char *parts[] = { "k" };
    char key[65], other[65];
    mr_ocl_cache_key(parts, 1, key);
    const char *parts2[] = { "k2" };
    mr_ocl_cache_key(parts2, 1, other);
    unsigned char bin[3000];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7 + 3);
    unsigned char *got = NULL;
    size_t len = 0;
    assert_int_equal(mr_ocl_cache_load(dir, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "not cached yet"));
    assert_int_equal(mr_ocl_cache_store(dir, key, bin, sizeof bin, why, sizeof why), 0);
    assert_int_equal(mr_ocl_cache_load(dir, key, &got, &len, why, sizeof why), 0);
    assert_int_equal(len, sizeof bin);
    assert_memory_equal(got, bin, sizeof bin);
    free(got);
    assert_int_equal(mr_ocl_cache_path(dir, key, path, sizeof path), 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* a file under another key's name is a key mismatch */
    char opath[512];
    assert_int_equal(mr_ocl_cache_path(dir, other, opath, sizeof opath), 0);
    assert_int_equal(rename(path, opath), 0);
    assert_int_equal(mr_ocl_cache_load(dir, other, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "key mismatch"));
    assert_null(got);
    unlink(opath);
    /* one flipped payload byte: checksum */
    assert_int_equal(mr_ocl_cache_store(dir, key, bin, sizeof bin, why, sizeof why), 0);
    flip(path, -5);
    assert_int_equal(mr_ocl_cache_load(dir, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "checksum"));
    /* a flipped magic byte */
    assert_int_equal(mr_ocl_cache_store(dir, key, bin, sizeof bin, why, sizeof why), 0);
    flip(path, 2);
    assert_int_equal(mr_ocl_cache_load(dir, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "bad header"));
    /* truncated, and with trailing bytes */
    assert_int_equal(mr_ocl_cache_store(dir, key, bin, sizeof bin, why, sizeof why), 0);
    assert_int_equal(truncate(path, 1000), 0);
    assert_int_equal(mr_ocl_cache_load(dir, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "truncated"));
    assert_int_equal(mr_ocl_cache_store(dir, key, bin, sizeof bin, why, sizeof why), 0);
    FILE *fp = fopen(path, "ab");
    assert_non_null(fp);
    fputc('x', fp);
    fclose(fp);
    assert_int_equal(mr_ocl_cache_load(dir, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "trailing"));
    /* overwriting replaces, and leaves no temporary file */
    assert_int_equal(mr_ocl_cache_store(dir, key, bin, 10, why, sizeof why), 0);
    assert_int_equal(mr_ocl_cache_load(dir, key, &got, &len, why, sizeof why), 0);
    assert_int_equal(len, 10);
    free(got);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s | wc -l)\" = 1", dir);
    assert_int_equal(system(cmd), 0);
    /* an unusable directory: store fails with a reason, nothing crashes */
    char file[300];
    snprintf(file, sizeof file, "%s/plainfile", base);
    fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(mr_ocl_cache_store(file, key, bin, sizeof bin, why, sizeof why), -1);
    assert_true(why[0] != '\0');
    assert_int_equal(mr_ocl_cache_load(file, key, &got, &len, why, sizeof why), -1);
    assert_int_equal(mr_ocl_cache_store(dir, key, bin, 0, why, sizeof why), -1); /* nothing to store */
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys),
        cmocka_unit_test(directory),
        cmocka_unit_test(store_and_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
