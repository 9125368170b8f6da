/* index.c — `mars-replay index` and `--shard --index`: checkpoints of a
 * CSV's record count, line count and quote parity every N bytes, kept in a
 * small JSON file beside the input, so that a job-array task alone reads
 * at most one step before its part instead of everything before it.
 *
 * The library makes and uses the checkpoints (mr_input_part_checkpoints,
 * mr_input_part_from); this file stores them with the input's identity
 * (size, modification time, header option) and refuses an index that does
 * not match. */
#include "index.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "exit_codes.h"

#define INDEX_VERSION 1

static int emit(void *ctx, const mr_part_state *st)
{
    json_t *row = json_pack("[IIIi]", (json_int_t)st->offset, (json_int_t)st->records, (json_int_t)st->lines,
                            st->in_quotes);
    return row ? json_array_append_new(ctx, row) : -1;
}

static json_t *identity(const cli_input *in)
{
    char mt[48];
    snprintf(mt, sizeof mt, "%lld.%09ld", (long long)in->mtime.tv_sec, in->mtime.tv_nsec);
    return json_pack("{sIss}", "size", (json_int_t)in->size, "mtime", mt);
}

int cli_index_build(const char *input, const char *output, const mr_options *opt, int has_header,
                    uint64_t every)
{
    cli_input in = { .fd = -1 };
    int rc = cli_input_open(&in, input);
    if (rc == 0 && in.size < 0) {
        cli_msg("%s: index needs a regular file (a pipe cannot be cut)", in.display);
        rc = MR_EXIT_USAGE;
    }
    json_t *rows = json_array();
    uint64_t head_end = 0;
    if (rc == 0) {
        mr_error err;
        int fd = in.fd;
        const mr_status st = mr_input_part_checkpoints(opt, dist_file_read_at, &fd, (uint64_t)in.size, every,
                                                       emit, rows, &head_end, &err);
        if (st != MR_OK) {
            cli_print_error(&err, in.display);
            rc = cli_exit_code(st);
        }
    }
    if (rc == 0)
        rc = cli_input_unchanged(&in);
    json_t *o = NULL;
    if (rc == 0) {
        o = json_pack("{sisosisIsIso}", "mars_replay_index", INDEX_VERSION, "input", identity(&in), "header",
                      has_header, "head_end", (json_int_t)head_end, "every", (json_int_t)every,
                      "checkpoints", rows);
        rows = NULL;
    }
    cli_output out = { .fd = -1 };
    if (rc == 0)
        rc = cli_output_open(&out, output);
    if (rc == 0) {
        char *text = json_dumps(o, JSON_COMPACT);
        if (!text || cli_write(&out, text, strlen(text)) != 0 || cli_write(&out, "\n", 1) != 0) {
            cli_msg("%s: write error: %s", output ? output : "<stdout>", strerror(errno));
            rc = MR_EXIT_IO;
        }
        free(text);
    }
    if (rc == 0 && out.fd >= 0)
        rc = cli_output_commit(&out);
    else if (out.fd >= 0 || out.tmp)
        cli_output_abort(&out);
    json_decref(o);
    json_decref(rows);
    cli_input_close(&in);
    return rc;
}

int cli_index_load(const char *path, const cli_input *in, int has_header, mr_part_state **states, size_t *n)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    *states = NULL;
    *n = 0;
    if (!o) {
        cli_msg("%s: cannot read the index: %s", path, je.text);
        return MR_EXIT_USAGE;
    }
    int rc = 0;
    json_int_t version = 0, header = -1;
    json_t *id = NULL, *rows = NULL;
    if (json_unpack(o, "{sI so sI so}", "mars_replay_index", &version, "input", &id, "header", &header,
                    "checkpoints", &rows) != 0 ||
        version != INDEX_VERSION || !json_is_array(rows)) {
        cli_msg("%s: not a mars-replay index (version %d)", path, INDEX_VERSION);
        rc = MR_EXIT_USAGE;
    }
    json_t *mine = identity(in);
    if (rc == 0 && !json_equal(id, mine)) {
        cli_msg("%s: the index is of another version of %s (size or modification time differ): rebuild it "
                "with mars-replay index", path, in->display);
        rc = MR_EXIT_USAGE;
    }
    if (rc == 0 && header != has_header) {
        cli_msg("%s: the index was made %s --no-header: rebuild it with the same options", path,
                header ? "without" : "with");
        rc = MR_EXIT_USAGE;
    }
    const size_t count = rc == 0 ? json_array_size(rows) : 0;
    if (rc == 0 && count && !(*states = calloc(count, sizeof **states)))
        rc = (cli_msg("out of memory"), MR_EXIT_INTERNAL);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        json_int_t off, rec, lines;
        int q;
        if (json_unpack(json_array_get(rows, i), "[IIIi]", &off, &rec, &lines, &q) != 0 || off < 0 || rec < 0 ||
            lines < 0 || (q != 0 && q != 1) || (i && (uint64_t)off <= (*states)[i - 1].offset)) {
            cli_msg("%s: checkpoint %zu is malformed", path, i);
            rc = MR_EXIT_USAGE;
            break;
        }
        (*states)[i] = (mr_part_state){ (uint64_t)off, (uint64_t)rec, (uint64_t)lines, q };
    }
    if (rc == 0)
        *n = count;
    else {
        free(*states);
        *states = NULL;
    }
    json_decref(mine);
    json_decref(o);
    return rc;
}
