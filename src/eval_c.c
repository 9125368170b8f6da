/* eval_c.c — the reference block evaluator: plain C, NaN rules spelled out.
 * Compiled with -ffp-contract=off (project-wide), so a*b+c is never fused. */
#include "plan.h"

#include <math.h>
#include <string.h>

#include "cpu_clones.h"

/* The loops below are plain C over columns of a block; the compiler
 * vectorises them across rows (one row per lane, so each row keeps its exact
 * operation order), and MR_CLONES adds an AVX2 copy (cpu_clones.h). */
int mr_eval_simd(void)
{
#if MR_CLONES_ON
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

/* The constant-1.0 register: read-only, shared by every evaluator. */
static const double ones[MR_BLOCK] __attribute__((aligned(64))) = {
#define MR_ONES8 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0
#define MR_ONES32 MR_ONES8, MR_ONES8, MR_ONES8, MR_ONES8
    MR_ONES32, MR_ONES32, MR_ONES32, MR_ONES32
#undef MR_ONES32
#undef MR_ONES8
};
_Static_assert(MR_BLOCK == 128, "ones[] spells out MR_BLOCK values");

/* Where register r lives: the 1.0 register, the input column of a LINEAR op
 * (not copied), or a packed scratch slot. */
static inline const double *reg_at(const mr_plan *p, uint32_t r, const double *x, size_t stride,
                                   const double *scratch)
{
    if (r == p->n_ops)
        return ones;
    if (p->ops[r].code == MR_OP_LINEAR)
        return x + (size_t)p->ops[r].a * stride;
    return scratch + (size_t)p->cpu_slot[r] * MR_STRIDE;
}

/* Each kernel below is written once as an always-inline body and
 * instantiated twice: for a full block (a constant trip count: no loop
 * epilogue, unrolled) and for the short last block of a chunk. */
#define MR_INLINE static inline __attribute__((always_inline))

MR_INLINE double max0(double d)
{
    return d <= 0.0 ? 0.0 : d; /* maximum(0, d): NaN stays, -0.0 -> +0.0 */
}

MR_INLINE void run_ops_body(const mr_plan *p, const double *x, size_t stride, size_t n, double *scratch)
{
    for (size_t i = 0; i < p->n_ops; i++) {
        if (p->cpu_skip[i])
            continue;
        const mr_op *o = &p->ops[i];
        double *restrict r = scratch + (size_t)p->cpu_slot[i] * MR_STRIDE;
        const double *restrict xa = x + (size_t)o->a * stride;
        const double k = o->k;
        switch (o->code) {
        case MR_OP_LINEAR: /* skipped: the register is the input column */
            break;
        case MR_OP_HINGE_R:
            for (size_t j = 0; j < n; j++)
                r[j] = max0(xa[j] - k);
            break;
        case MR_OP_HINGE_L:
            for (size_t j = 0; j < n; j++)
                r[j] = max0(k - xa[j]);
            break;
        case MR_OP_CAT:
            for (size_t j = 0; j < n; j++)
                r[j] = xa[j] != xa[j] ? xa[j] : (xa[j] == k ? 1.0 : 0.0);
            break;
        case MR_OP_MISS:
            for (size_t j = 0; j < n; j++)
                r[j] = xa[j] != xa[j] ? 1.0 : 0.0;
            break;
        case MR_OP_MUL: {
            const double *restrict a = reg_at(p, o->a, x, stride, scratch);
            const double *restrict b = reg_at(p, o->b, x, stride, scratch);
            for (size_t j = 0; j < n; j++)
                r[j] = a[j] * b[j];
            break;
        }
        }
    }
}

/* acc[j] = ((acc[j] + c0*b0[j]) + c1*b1[j]) + ...: four terms per pass over
 * the rows, the per-row order unchanged, a quarter of the acc traffic. */
MR_INLINE void accumulate4_body(double *restrict acc, const double *restrict b0, const double *restrict b1,
                                const double *restrict b2, const double *restrict b3, const double *c,
                                size_t n)
{
    const double c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
    for (size_t j = 0; j < n; j++) {
        double a = acc[j];
        a = a + c0 * b0[j];
        a = a + c1 * b1[j];
        a = a + c2 * b2[j];
        a = a + c3 * b3[j];
        acc[j] = a;
    }
}

/* Four consecutive terms, each u * w (plan.h): w = v[j], or, where bit t of
 * the variant is set, the hinge max0(s * (v[j] - k)) computed here from the
 * input column v. */
typedef struct {
    const double *u[4], *v[4];
    double c[4], k[4], s[4];
} term4;

#define MR_W(t) ((variant >> (t)) & 1 ? max0(s##t * (v##t[j] - k##t)) : v##t[j])

MR_INLINE void accumulate4_terms_body(double *restrict acc, const term4 *g, const unsigned variant, size_t n)
{
    const double c0 = g->c[0], c1 = g->c[1], c2 = g->c[2], c3 = g->c[3];
    const double k0 = g->k[0], k1 = g->k[1], k2 = g->k[2], k3 = g->k[3];
    const double s0 = g->s[0], s1 = g->s[1], s2 = g->s[2], s3 = g->s[3];
    const double *restrict u0 = g->u[0], *restrict u1 = g->u[1], *restrict u2 = g->u[2],
                           *restrict u3 = g->u[3];
    const double *restrict v0 = g->v[0], *restrict v1 = g->v[1], *restrict v2 = g->v[2],
                           *restrict v3 = g->v[3];
    for (size_t j = 0; j < n; j++) {
        double a = acc[j];
        a = a + c0 * (u0[j] * MR_W(0));
        a = a + c1 * (u1[j] * MR_W(1));
        a = a + c2 * (u2[j] * MR_W(2));
        a = a + c3 * (u3[j] * MR_W(3));
        acc[j] = a;
    }
}

MR_CLONES static void run_ops(const mr_plan *p, const double *x, size_t stride, size_t n, double *scratch)
{
    if (n == MR_BLOCK)
        run_ops_body(p, x, stride, MR_BLOCK, scratch);
    else
        run_ops_body(p, x, stride, n, scratch);
}

MR_CLONES static void accumulate4(double *restrict acc, const double *restrict b0, const double *restrict b1,
                                  const double *restrict b2, const double *restrict b3, const double *c,
                                  size_t n)
{
    if (n == MR_BLOCK)
        accumulate4_body(acc, b0, b1, b2, b3, c, MR_BLOCK);
    else
        accumulate4_body(acc, b0, b1, b2, b3, c, n);
}

/* One instance per variant (which of the four terms compute a hinge). */
typedef void accumulate4_fn(double *restrict acc, const term4 *g, size_t n);
#define MR_ACC4(m)                                                                     \
    MR_CLONES static void accumulate4_terms_##m(double *restrict acc, const term4 *g, size_t n) \
    {                                                                                  \
        if (n == MR_BLOCK)                                                             \
            accumulate4_terms_body(acc, g, m, MR_BLOCK);                               \
        else                                                                           \
            accumulate4_terms_body(acc, g, m, n);                                      \
    }
MR_ACC4(0) MR_ACC4(1) MR_ACC4(2) MR_ACC4(3) MR_ACC4(4) MR_ACC4(5) MR_ACC4(6) MR_ACC4(7)
MR_ACC4(8) MR_ACC4(9) MR_ACC4(10) MR_ACC4(11) MR_ACC4(12) MR_ACC4(13) MR_ACC4(14) MR_ACC4(15)
#undef MR_ACC4
static accumulate4_fn *const accumulate4_terms[16] = {
    accumulate4_terms_0,  accumulate4_terms_1,  accumulate4_terms_2,  accumulate4_terms_3,
    accumulate4_terms_4,  accumulate4_terms_5,  accumulate4_terms_6,  accumulate4_terms_7,
    accumulate4_terms_8,  accumulate4_terms_9,  accumulate4_terms_10, accumulate4_terms_11,
    accumulate4_terms_12, accumulate4_terms_13, accumulate4_terms_14, accumulate4_terms_15,
};

/* One NaN for every NaN: IEEE 754 leaves open which operand's NaN an
 * operation returns and the sign of a NaN it creates (x86: the first
 * operand's; -NaN for 0 * inf), and compilers commute a + b and a * b, so the
 * bits of a NaN result could depend on a row's place in a block or on the
 * device. Every NaN value leaves the evaluators as +NaN (0x7ff8000000000000):
 * binary output is then byte-identical whatever the threads, chunks or device. */
static const uint64_t canonical_nan = 0x7ff8000000000000u;

MR_CLONES static void canonical_nans(double *v, size_t n)
{
    const int64_t exp = 0x7ff0000000000000, abs = 0x7fffffffffffffff;
    for (size_t j = 0; j < n; j++) {
        int64_t u;
        memcpy(&u, &v[j], sizeof u);
        u = (u & abs) > exp ? (int64_t)canonical_nan : u;
        memcpy(&v[j], &u, sizeof u);
    }
}

/* Not cloned itself: clang (14) emits no external symbol for a
 * target_clones function that other files call. */
void mr_canonical_nans(double *v, size_t n)
{
    canonical_nans(v, n);
}

static inline double canonical(double v)
{
    if (v != v)
        memcpy(&v, &canonical_nan, sizeof v);
    return v;
}

/* Term i's u and v columns (plan.h), and s, k when it computes a hinge. */
static void term_columns(const mr_plan *p, size_t i, const double *x, size_t stride,
                         const double *scratch, const double **u, const double **v)
{
    *u = reg_at(p, p->term_a[i], x, stride, scratch);
    *v = p->term_hinge[i] ? x + (size_t)p->term_b[i] * stride : reg_at(p, p->term_b[i], x, stride, scratch);
}

static inline double term_sign(const mr_plan *p, size_t i)
{
    return p->term_hinge[i] == 2 ? -1.0 : 1.0;
}

/* Spreads prefetches of the next block's memory over the passes of one
 * block, a slice after each: the next block's rows arrive while this one
 * computes, instead of in one burst that stalls the transpose (bench_model
 * from memory: 27.6 -> 24.2 ns/row; all at once was slower than none: it
 * evicts this block from L1). The memory is one region (rows) or several
 * (an Arrow batch's columns), walked in order. */
typedef struct {
    const mr_prefetch *reg;   /* the regions; reg[0..nreg) */
    size_t nreg, i;           /* the region being walked */
    const char *next, *end;   /* what is left of it */
    size_t slice;             /* bytes per slice, a multiple of 64 */
} prefetcher;

static inline void prefetch_slice(prefetcher *pf)
{
    size_t budget = pf->slice; /* bytes, a multiple of 64 */
    while (pf->next && budget) {
        const char *const from = pf->next;
        const char *const stop = (size_t)(pf->end - from) > budget ? from + budget : pf->end;
        for (; pf->next < stop; pf->next += 64)
            __builtin_prefetch(pf->next, 0, 3);
        budget -= (size_t)(pf->next - from);
        if (pf->next >= pf->end) { /* the next region, or done */
            pf->next = NULL;
            while (++pf->i < pf->nreg && !pf->reg[pf->i].bytes)
                ;
            if (pf->i < pf->nreg) {
                pf->next = pf->reg[pf->i].p;
                pf->end = pf->next + pf->reg[pf->i].bytes;
            }
        }
    }
}

void mr_eval_predict(const mr_plan *p, const double *x, size_t stride, size_t n,
                     double *scratch, double *out, const void *next, size_t next_bytes)
{
    const mr_prefetch r = { next, next ? next_bytes : 0 };
    mr_eval_predict_pf(p, x, stride, n, scratch, out, &r, next ? 1 : 0);
}

void mr_eval_predict_pf(const mr_plan *p, const double *x, size_t stride, size_t n,
                        double *scratch, double *out, const mr_prefetch *next, size_t n_next)
{
    size_t next_bytes = 0;
    for (size_t r = 0; r < n_next; r++)
        next_bytes += next[r].bytes;
    prefetcher pf = { next, n_next, 0, NULL, NULL, 0 };
    if (next_bytes) {
        while (!next[pf.i].bytes)
            pf.i++;
        pf.next = next[pf.i].p;
        pf.end = pf.next + next[pf.i].bytes;
    }
    pf.slice = ((next_bytes / (p->n_term4 + 1)) + 64) & ~(size_t)63;
    run_ops(p, x, stride, n, scratch);
    prefetch_slice(&pf);
    for (size_t j = 0; j < n; j++)
        out[j] = 0.0;
    const double *const base[3] = { ones, x, scratch };
    const size_t step[3] = { 0, stride, MR_STRIDE };
    for (size_t g = 0; g < p->n_term4; g++) { /* canonical order: term by term */
        const mr_term4 *t4 = &p->term4[g];
        term4 w;
        for (unsigned t = 0; t < 4; t++) {
            w.u[t] = base[t4->u_src[t]] + t4->u_idx[t] * step[t4->u_src[t]];
            w.v[t] = base[t4->v_src[t]] + t4->v_idx[t] * step[t4->v_src[t]];
        }
        memcpy(w.c, t4->c, sizeof w.c);
        memcpy(w.k, t4->k, sizeof w.k);
        memcpy(w.s, t4->s, sizeof w.s);
        if (t4->plain) /* no v to read */
            accumulate4(out, w.u[0], w.u[1], w.u[2], w.u[3], w.c, n);
        else
            accumulate4_terms[t4->variant](out, &w, n);
        prefetch_slice(&pf);
    }
    size_t i = 4 * p->n_term4;
    pf.slice = (SIZE_MAX / 2) & ~(size_t)63; /* the rest */
    prefetch_slice(&pf);
    for (; i < p->n_terms; i++) {
        const double c = p->coef[i], k = p->term_k[i], s = term_sign(p, i);
        const double *uc, *vc;
        term_columns(p, i, x, stride, scratch, &uc, &vc);
        const double *restrict u = uc, *restrict v = vc;
        if (p->term_hinge[i])
            for (size_t j = 0; j < n; j++)
                out[j] = out[j] + c * (u[j] * max0(s * (v[j] - k)));
        else
            for (size_t j = 0; j < n; j++)
                out[j] = out[j] + c * (u[j] * v[j]);
    }
    canonical_nans(out, n);
}

void mr_eval_design(const mr_plan *p, const double *x, size_t stride, size_t n,
                    double *scratch, double *out, size_t ld_out)
{
    run_ops(p, x, stride, n, scratch);
    for (size_t i = 0; i < p->n_terms; i++) {
        const double k = p->term_k[i], s = term_sign(p, i);
        const double *u, *v;
        term_columns(p, i, x, stride, scratch, &u, &v);
        if (p->term_hinge[i])
            for (size_t j = 0; j < n; j++)
                out[j * ld_out + i] = canonical(u[j] * max0(s * (v[j] - k)));
        else
            for (size_t j = 0; j < n; j++)
                out[j * ld_out + i] = canonical(u[j] * v[j]);
    }
}
