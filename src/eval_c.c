/* eval_c.c — the reference block evaluator: plain C, NaN rules spelled out.
 * Compiled with -ffp-contract=off (project-wide), so a*b+c is never fused. */
#include "plan.h"

#include <math.h>

/* The loops below are plain C over columns of a block; the compiler
 * vectorises them across rows (one row per lane, so each row keeps its exact
 * operation order). On x86-64 a second copy is built for AVX2 and picked at
 * load time (ifunc): same IEEE operations, no FMA (-ffp-contract=off and no
 * "fma" target), so the bits are identical. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__) && !defined(MR_NO_CLONES)
#define MR_CLONES __attribute__((target_clones("avx2", "default")))
#define MR_CLONES_ON 1
#else
#define MR_CLONES
#define MR_CLONES_ON 0
#endif

int mr_eval_simd(void)
{
#if MR_CLONES_ON
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

MR_CLONES static void run_ops(const mr_plan *p, const double *x, size_t stride, size_t n, double *reg)
{
    for (size_t i = 0; i < p->n_ops; i++) {
        const mr_op *o = &p->ops[i];
        double *restrict r = reg + i * MR_STRIDE;
        const double *restrict xa = x + (size_t)o->a * stride;
        const double k = o->k;
        switch (o->code) {
        case MR_OP_LINEAR:
            for (size_t j = 0; j < n; j++)
                r[j] = xa[j];
            break;
        case MR_OP_HINGE_R:
            for (size_t j = 0; j < n; j++) {
                const double d = xa[j] - k;
                r[j] = d <= 0.0 ? 0.0 : d; /* maximum(0, d): NaN stays, -0.0 -> +0.0 */
            }
            break;
        case MR_OP_HINGE_L:
            for (size_t j = 0; j < n; j++) {
                const double d = k - xa[j];
                r[j] = d <= 0.0 ? 0.0 : d;
            }
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
            const double *restrict a = reg + (size_t)o->a * MR_STRIDE;
            const double *restrict b = reg + (size_t)o->b * MR_STRIDE;
            for (size_t j = 0; j < n; j++)
                r[j] = a[j] * b[j];
            break;
        }
        }
    }
}

static const double *term_values(const mr_plan *p, size_t i, const double *reg)
{
    return reg + (p->term_reg[i] == MR_REG_ONE ? p->n_ops : p->term_reg[i]) * MR_STRIDE;
}

static void fill_one(const mr_plan *p, double *reg)
{
    double *one = reg + p->n_ops * MR_STRIDE;
    for (size_t j = 0; j < MR_BLOCK; j++)
        one[j] = 1.0;
}

/* acc[j] = ((acc[j] + c0*b0[j]) + c1*b1[j]) + ...: four terms per pass over
 * the rows, the per-row order unchanged, a quarter of the acc traffic. */
MR_CLONES static void accumulate4(double *restrict acc, const double *restrict b0, const double *restrict b1,
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

void mr_eval_predict(const mr_plan *p, const double *x, size_t stride, size_t n,
                     double *scratch, double *out)
{
    run_ops(p, x, stride, n, scratch);
    fill_one(p, scratch);
    for (size_t j = 0; j < n; j++)
        out[j] = 0.0;
    size_t i = 0;
    for (; i + 4 <= p->n_terms; i += 4) /* canonical order: term by term */
        accumulate4(out, term_values(p, i, scratch), term_values(p, i + 1, scratch),
                    term_values(p, i + 2, scratch), term_values(p, i + 3, scratch), p->coef + i, n);
    for (; i < p->n_terms; i++) {
        const double c = p->coef[i];
        const double *restrict b = term_values(p, i, scratch);
        for (size_t j = 0; j < n; j++)
            out[j] = out[j] + c * b[j];
    }
}

void mr_eval_design(const mr_plan *p, const double *x, size_t stride, size_t n,
                    double *scratch, double *out, size_t ld_out)
{
    run_ops(p, x, stride, n, scratch);
    fill_one(p, scratch);
    for (size_t i = 0; i < p->n_terms; i++) {
        const double *b = term_values(p, i, scratch);
        for (size_t j = 0; j < n; j++)
            out[j * ld_out + i] = b[j];
    }
}
