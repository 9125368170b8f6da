/* test_ocl_cache.c — the program-binary cache (src/ocl_cache.c): keys, the
 * directory rule, atomic store, and every kind of bad file being a miss. */
#include <signal.h>
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
    assert_int_equal(mr_ocl_cache_trust(file, why, sizeof why), -1); /* unusable, not untrusted */
    assert_non_null(strstr(why, "not a directory"));
    assert_int_equal(mr_ocl_cache_load(file, key, &got, &len, why, sizeof why), -1);
    assert_int_equal(mr_ocl_cache_store(dir, key, bin, 0, why, sizeof why), -1); /* nothing to store */
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    assert_int_equal(system(cmd), 0);
}

/* The payload is native code the driver runs: a cache another user can write
 * (a world-writable or foreign directory, a symlink into one, a planted file
 * or FIFO) is never read. Each case first plants a valid file, so a load
 * that ignored the rule would succeed. */
static void trust(void **state)
{
    (void)state;
    alarm(20); /* a FIFO opened for reading blocks forever: fail, do not hang */
    char base[] = "/tmp/mr-ocl-trust-XXXXXX";
    assert_non_null(mkdtemp(base));
    char good[300], bad[300], path[600], why[400], cmd[700];
    const char *parts[] = { "k" };
    char key[65];
    mr_ocl_cache_key(parts, 1, key);
    unsigned char bin[100] = { 1, 2, 3 }, *got = NULL;
    size_t len = 0;
    snprintf(good, sizeof good, "%s/good/mars-replay", base);
    assert_int_equal(mr_ocl_cache_trust(good, why, sizeof why), 0);
    assert_int_equal(mr_ocl_cache_store(good, key, bin, sizeof bin, why, sizeof why), 0);
    assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), 0);
    free(got);
    got = NULL;

    /* the directory itself world-writable, or group-writable */
    const mode_t modes[] = { 0777, 0770, 0703 };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(chmod(good, modes[i]), 0);
        assert_int_equal(mr_ocl_cache_trust(good, why, sizeof why), -2); /* untrusted, not unusable */
        assert_non_null(strstr(why, "writable by group or others"));
        const int r = mr_ocl_cache_load(good, key, &got, &len, why, sizeof why);
        assert_int_equal(r, -1);
        assert_null(got);
        assert_int_equal(mr_ocl_cache_store(good, key, bin, sizeof bin, why, sizeof why), -1);
    }
    assert_int_equal(chmod(good, 0700), 0);

    /* an ancestor writable by others without the sticky bit; with it (/tmp) it is fine */
    snprintf(bad, sizeof bad, "%s/good", base);
    assert_int_equal(chmod(bad, 0777), 0);
    assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "writable by group or others"));
    assert_non_null(strstr(why, bad));
    assert_int_equal(chmod(bad, 01777), 0);
    assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), 0);
    free(got);
    got = NULL;
    assert_int_equal(chmod(bad, 0700), 0);

    /* a symlinked directory (to a good one), and a symlinked parent */
    snprintf(bad, sizeof bad, "%s/link", base);
    assert_int_equal(symlink(good, bad), 0);
    assert_int_equal(mr_ocl_cache_load(bad, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "symbolic link"));
    snprintf(bad, sizeof bad, "%s/plink", base);
    snprintf(path, sizeof path, "%s/good", base);
    assert_int_equal(symlink(path, bad), 0);
    snprintf(bad, sizeof bad, "%s/plink/mars-replay", base);
    assert_int_equal(mr_ocl_cache_load(bad, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "symbolic link"));
    assert_null(got);

    /* the cache file: a symlink to a valid file, group-writable, a FIFO */
    assert_int_equal(mr_ocl_cache_path(good, key, path, sizeof path), 0);
    snprintf(bad, sizeof bad, "%s/elsewhere.clbin", base);
    assert_int_equal(rename(path, bad), 0);
    assert_int_equal(symlink(bad, path), 0);
    assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "symbolic link"));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rename(bad, path), 0);
    assert_int_equal(chmod(path, 0620), 0);
    assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "writable by group or others"));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), -1);
    assert_non_null(strstr(why, "not a regular file"));
    assert_int_equal(unlink(path), 0);

    /* owned by another user (root can make one): the directory, then the file */
    if (geteuid() == 0) {
        assert_int_equal(mr_ocl_cache_store(good, key, bin, sizeof bin, why, sizeof why), 0);
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), -1);
        assert_non_null(strstr(why, "owned by another user"));
        assert_int_equal(chown(path, 0, 0), 0);
        assert_int_equal(chown(good, 65534, 65534), 0);
        assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), -1);
        assert_non_null(strstr(why, "owned by another user"));
        /* a parent owned by another user: refused too (root's own are fine) */
        assert_int_equal(chown(good, 0, 0), 0);
        snprintf(bad, sizeof bad, "%s/good", base);
        assert_int_equal(chown(bad, 65534, 65534), 0);
        assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), -1);
        assert_non_null(strstr(why, "owned by another user"));
        assert_int_equal(chown(bad, 0, 0), 0);
        assert_int_equal(mr_ocl_cache_load(good, key, &got, &len, why, sizeof why), 0);
        free(got);
    }
    alarm(0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys),
        cmocka_unit_test(directory),
        cmocka_unit_test(store_and_load),
        cmocka_unit_test(trust),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
