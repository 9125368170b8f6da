/* plan.h — a model compiled once into a flat, block-wise evaluation plan.
 *
 * Every distinct sub-term (structurally equal trees are shared) becomes one
 * instruction writing one register of MR_BLOCK doubles; a top-level term is a
 * register. Evaluation runs instruction by instruction over a block of rows
 * held column-wise, so each instruction is a tight loop the compiler can
 * vectorise, and each row still sees exactly the IEEE operations of
 * docs/SEMANTICS.md §2/§5 in the same order (multiplications by the constant 1.0 are
 * dropped: 1.0*v == v for every v, NaN and -0.0 included). */
#ifndef MR_PLAN_H
#define MR_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define MR_BLOCK 128 /* rows per evaluation block */
/* Distance between consecutive registers / block columns, in doubles. Not a
 * multiple of 4 KiB / 8: arrays 4 KiB apart make loads wait on unrelated
 * stores (4K aliasing), which cost 2-3x in the column loops here. */
#define MR_STRIDE (MR_BLOCK + 24)

typedef enum {
    MR_OP_LINEAR,  /* r = x[a] */
    MR_OP_HINGE_R, /* d = x[a] - k; r = d <= 0 ? +0.0 : d (NaN stays NaN) */
    MR_OP_HINGE_L, /* d = k - x[a]; same */
    MR_OP_CAT,     /* r = isnan(x[a]) ? NaN : (x[a] == k) */
    MR_OP_MISS,    /* r = isnan(x[a]) */
    MR_OP_MUL      /* r = reg[a] * reg[b] */
} mr_opcode;

typedef struct mr_op {
    mr_opcode code;
    uint32_t a, b; /* feature index (loads) or registers (MUL) */
    double k;      /* knot or category */
} mr_op;

#define MR_REG_ONE UINT32_MAX /* a term equal to the constant 1.0 */

/* Where a CPU evaluator finds a column: base[src] + idx * step[src], with
 * src MR_COL_ONE (the 1.0 register), MR_COL_X (an input column, step = the
 * block stride) or MR_COL_SCRATCH (a packed slot, step = MR_STRIDE). */
enum { MR_COL_ONE, MR_COL_X, MR_COL_SCRATCH };

/* Terms 4i .. 4i+3, ready for one pass of the sum (see term_a below). */
typedef struct mr_term4 {
    uint8_t u_src[4], v_src[4];
    uint32_t u_idx[4], v_idx[4];
    double c[4], k[4], s[4];
    unsigned variant; /* bit t: term t computes its hinge */
    int plain;        /* every w is 1.0: only u is read */
} mr_term4;

typedef struct mr_plan {
    size_t n_features;
    size_t n_ops;   /* op i writes register i */
    mr_op *ops;
    size_t n_terms;
    uint32_t *term_reg; /* register of each top-level term, or MR_REG_ONE */
    double *coef;
    /* How the CPU block evaluators run the plan (other evaluators may ignore
     * this and run every op). Register n_ops is the constant 1.0. Not run, so
     * not stored (cpu_skip):
     *  - a LINEAR op: its register is the input column itself;
     *  - a MUL read by exactly one top-level term and by no op: the sum
     *    computes the product where it adds the term;
     *  - a hinge read only by such a product, or only by one term: the sum
     *    computes it too, from the input column.
     * Term i's value is reg[term_a[i]] * w, where w is
     *   reg[term_b[i]]                            term_hinge[i] == 0
     *   max0(s * (x[term_b[i]] - term_k[i]))      term_hinge[i] == 1 (s = +1) or 2 (s = -1)
     * (term_b a feature then). These are the plan's operations: a*b == b*a
     * exactly, s * (x - k) with s = -1 is k - x exactly (rounding to nearest
     * is symmetric; -0.0 and +0.0 both give max0 = +0.0), and u * 1.0 == u,
     * so the bits are the plan's, up to the sign and payload of a NaN, which
     * the evaluators make canonical anyway. */
    uint8_t *cpu_skip;  /* n_ops entries: 1 = not run by the CPU evaluators */
    uint32_t *cpu_slot; /* n_ops entries: where a run op's register lives in the
                           scratch (run ops only, packed: a small working set) */
    uint32_t cpu_slots; /* slots used */
    uint32_t *term_a, *term_b;
    uint8_t *term_hinge;
    double *term_k;
    /* The same, precomputed for the sum's passes of four terms. */
    size_t n_term4;
    struct mr_term4 *term4;
} mr_plan;

mr_status mr_plan_build(const mr_model *m, mr_plan **out);
void mr_plan_free(mr_plan *p);

/* Scratch doubles needed by the evaluators (their stored registers). */
size_t mr_plan_scratch_len(const mr_plan *p);

/* Block evaluators (eval_c.c). Feature f of row r is x[f*stride + r];
 * n <= MR_BLOCK; scratch holds mr_plan_scratch_len() doubles. mr_eval_predict
 * prefetches next_bytes from next (the caller's next rows; NULL: none) while
 * it computes. */
void mr_eval_predict(const mr_plan *p, const double *x, size_t stride, size_t n,
                     double *scratch, double *out, const void *next, size_t next_bytes);
/* One region of memory to prefetch: bytes from p. */
typedef struct mr_prefetch {
    const void *p;
    size_t bytes;
} mr_prefetch;
/* mr_eval_predict, prefetching several regions (in order, spread over the
 * computation as mr_eval_predict spreads its one): an Arrow batch's next
 * block is one region per column. */
void mr_eval_predict_pf(const mr_plan *p, const double *x, size_t stride, size_t n,
                        double *scratch, double *out, const mr_prefetch *next, size_t n_next);
/* Every NaN among v[0..n) becomes +NaN (0x7ff8000000000000), as the
 * evaluators leave their values; for values computed elsewhere (a device). */
void mr_canonical_nans(double *v, size_t n);
/* 1 if the evaluators run their AVX2 versions on this CPU (for mr_features). */
int mr_eval_simd(void);

/* out[r*ld_out + i] = value of term i for row r. */
void mr_eval_design(const mr_plan *p, const double *x, size_t stride, size_t n,
                    double *scratch, double *out, size_t ld_out);

#endif
